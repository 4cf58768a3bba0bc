// ARIA 1.2 combobox with a listbox popup ("list" autocomplete) for inputs whose suggestions
// htmx swaps in (the Salesforce field name, M5). Without this file the input stays a plain
// text input and the suggestions are not shown.
(function () {
  "use strict";

  function listFor(input) { return document.getElementById(input.getAttribute("aria-controls")); }
  function options(list) { return list ? Array.prototype.slice.call(list.querySelectorAll("[role=option]")) : []; }

  function setActive(input, option) {
    options(listFor(input)).forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open(input, show) {
    var list = listFor(input);
    var can = show && options(list).length > 0;
    if (list) list.hidden = !can;
    input.setAttribute("aria-expanded", can ? "true" : "false");
    if (!can) setActive(input, null);
  }

  function choose(input, option) {
    input.value = option.getAttribute("data-value");
    open(input, false);
    input.focus();
  }

  function comboOf(el) { return el && el.closest && el.closest("[role=combobox]"); }

  document.addEventListener("keydown", function (event) {
    var input = comboOf(event.target);
    if (!input) return;
    var all = options(listFor(input));
    var current = document.getElementById(input.getAttribute("aria-activedescendant") || "");
    var index = all.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      open(input, true);
      var step = event.key === "ArrowDown" ? 1 : -1;
      setActive(input, all[(index + step + all.length) % all.length] || all[0]);
    } else if (event.key === "Enter" && current && input.getAttribute("aria-expanded") === "true") {
      event.preventDefault();  // choosing a suggestion does not submit the form
      choose(input, current);
    } else if (event.key === "Enter" && input.getAttribute("aria-expanded") === "true" && all.length &&
               !all.some(function (o) { return o.getAttribute("data-value") === input.value.trim(); })) {
      // A fragment ("empl") with suggestions open: Enter points at the first one instead of
      // saving the fragment as a field name; a second Enter takes it.
      event.preventDefault();
      setActive(input, all[0]);
    } else if (event.key === "Escape" && input.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      open(input, false);
    }
  });

  // Keep the focus in the input while an option is clicked.
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("[role=listbox] [role=option]");
    if (!option) return;
    event.preventDefault();
    var input = document.querySelector("[role=combobox][aria-controls='" + option.parentNode.id + "']");
    if (input) choose(input, option);
  });

  // While a new query is on its way, the previous (unfiltered) list is not shown.
  document.addEventListener("input", function (event) {
    var input = comboOf(event.target);
    if (input) open(input, false);
  });

  document.addEventListener("focusout", function (event) {
    var input = comboOf(event.target);
    if (input) open(input, false);
  });

  // New suggestions arrived: show them while the input has the focus and say how many.
  document.addEventListener("htmx:afterSettle", function (event) {
    var input = comboOf(event.detail && event.detail.requestConfig && event.detail.requestConfig.elt);
    if (!input) return;
    var count = options(listFor(input)).length;
    open(input, document.activeElement === input);
    var status = document.getElementById(input.getAttribute("aria-controls").replace("sf-fields-", "sf-fields-status-"));
    if (status && status.dataset.template) status.textContent = status.dataset.template.replace("{n}", count);
  });
})();
