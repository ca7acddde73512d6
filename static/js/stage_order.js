// Journey change form: drag a stage row by its handle to reorder; the position fields follow the rows.
(function () {
  "use strict";

  function rows(tbody) {
    return Array.prototype.filter.call(tbody.querySelectorAll("tr.form-row"), function (tr) {
      return !tr.classList.contains("empty-form") && tr.querySelector("input.stage-position");
    });
  }

  function renumber(tbody) {
    rows(tbody).forEach(function (tr, i) { tr.querySelector("input.stage-position").value = i; });
  }

  function addHandle(tr) {
    var input = tr.querySelector("input.stage-position");
    if (!input || tr.querySelector(".stage-handle")) return;
    var handle = document.createElement("span");
    handle.className = "stage-handle";
    handle.textContent = "⠿";
    handle.title = "Drag to reorder";
    input.parentNode.insertBefore(handle, input);
    tr.draggable = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var input = document.querySelector("input.stage-position");
    if (!input) return;
    var tbody = input.closest("tbody");
    var dragged = null;
    rows(tbody).forEach(addHandle);
    document.addEventListener("formset:added", function (event) {
      if (event.target.querySelector && event.target.querySelector("input.stage-position")) {
        addHandle(event.target);
        renumber(tbody);
      }
    });
    tbody.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("tr.form-row");
      if (dragged) dragged.classList.add("stage-dragging");
    });
    tbody.addEventListener("dragover", function (event) {
      var over = event.target.closest("tr.form-row");
      if (!dragged || !over || over === dragged || over.classList.contains("empty-form")) return;
      event.preventDefault();
      var after = event.clientY > over.getBoundingClientRect().top + over.offsetHeight / 2;
      tbody.insertBefore(dragged, after ? over.nextSibling : over);
    });
    tbody.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("stage-dragging");
      dragged = null;
      renumber(tbody);
    });
  });
})();
