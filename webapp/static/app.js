// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function toast(message) {
    var el = document.getElementById("toast");
    if (!el || !message) return;
    el.textContent = message;
    el.classList.add("show");
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.classList.remove("show"); }, 2500);
  }
  // Server partials send HX-Trigger: {"saved": "<message>"} after a successful save.
  document.addEventListener("saved", function (event) {
    toast(event.detail && event.detail.value);
  });
  // Copy buttons only appear where the Clipboard API can work (they do nothing without it).
  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) return;
    document.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (target && navigator.clipboard) {
      navigator.clipboard.writeText(target.value || target.textContent).then(function () {
        toast(button.getAttribute("data-copied") || "Copied");
      });
    }
  });
})();
