// Scorecard change form: the metric's meaning under each picker, and the band preview (POSTs the form as edited).
(function () {
  "use strict";

  function showMeaning(select) {
    var cell = select.parentNode;
    var note = cell.querySelector(".metric-meaning");
    if (!note) {
      note = document.createElement("div");
      note.className = "metric-meaning";
      cell.appendChild(note);
    }
    var option = select.options[select.selectedIndex];
    note.textContent = option && option.dataset.meaning ? option.dataset.meaning : "";
  }

  function isMetricPicker(el) {
    return el && el.tagName === "SELECT" && /-metric$/.test(el.name) && !/__prefix__/.test(el.name);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select").forEach(function (s) { if (isMetricPicker(s)) showMeaning(s); });
    document.addEventListener("change", function (event) { if (isMetricPicker(event.target)) showMeaning(event.target); });
    document.addEventListener("formset:added", function (event) {
      event.target.querySelectorAll("select").forEach(function (s) { if (isMetricPicker(s)) showMeaning(s); });
    });

    var button = document.getElementById("scorecard-preview-button");
    var target = document.getElementById("scorecard-preview");
    if (!button || !target) return;
    button.addEventListener("click", function () {
      var form = document.getElementById("scorecard_form");
      target.setAttribute("aria-busy", "true");
      target.textContent = "Computing…";
      fetch(button.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("the server answered " + response.status);
          return response.text();
        })
        .then(function (html) { target.innerHTML = html; })
        .catch(function (error) {
          target.innerHTML = "";
          var p = document.createElement("p");
          p.className = "errornote";
          p.textContent = "Preview failed: " + error.message;
          target.appendChild(p);
        })
        .finally(function () { target.removeAttribute("aria-busy"); });
    });
  });
})();
