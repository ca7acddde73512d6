// Draws every element with a data-figure attribute (Plotly figure JSON built server-side).
function drawCharts(root) {
  (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
    if (el.dataset.drawn) return;
    var fig = JSON.parse(el.dataset.figure);
    Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
    el.dataset.drawn = "1";
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
