// The menu on narrow screens: the "Menu" button shows and hides the nav (CSS hides it below 860 px).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("nav-toggle");
  var bar = button && button.closest(".topbar");
  if (!bar) return;
  button.addEventListener("click", function () {
    var open = bar.classList.toggle("nav-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
