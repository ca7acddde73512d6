// Draws every element with a data-figure attribute (Plotly figure JSON built server-side).
// With data-click-url="customdata", clicking a point opens the URL in that point's customdata.
function drawCharts(root) {
  (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
    if (el.dataset.drawn) return;
    var fig = JSON.parse(el.dataset.figure);
    Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
    if (el.dataset.clickUrl === "customdata") {
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && typeof point.customdata === "string" && point.customdata.charAt(0) === "/") {
          window.location.href = point.customdata;
        }
      });
    }
    el.dataset.drawn = "1";
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); });
