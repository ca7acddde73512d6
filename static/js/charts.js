// Draws every element with a data-figure attribute (Plotly figure JSON built server-side).
// With data-click-url="customdata", clicking a point opens the URL in that point's customdata.
// On narrow screens the toolbar is hidden (it covered the chart) and wide label margins shrink to
// what the labels need; every chart follows the width of its card (responsive).
var NARROW = 700;

function fitToScreen(layout) {
  if (window.innerWidth >= NARROW) return layout;
  layout.margin = Object.assign({}, layout.margin || {});
  if ((layout.margin.l || 0) > 50) layout.margin.l = 50;
  ["yaxis", "yaxis2"].forEach(function (axis) {
    if (layout[axis]) layout[axis].automargin = true;
  });
  if (!layout.yaxis) layout.yaxis = { automargin: true };
  return layout;
}

function drawCharts(root) {
  (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
    if (el.dataset.drawn) return;
    var fig = JSON.parse(el.dataset.figure);
    Plotly.newPlot(el, fig.data, fitToScreen(fig.layout || {}), {
      responsive: true,
      displaylogo: false,
      displayModeBar: window.innerWidth < NARROW ? false : "hover",
    });
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
