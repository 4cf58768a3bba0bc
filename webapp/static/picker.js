// Date-first picker: the customer's time zone and arrow keys in the month grid.
// The page works without this file (every day and month is a plain link).
(function () {
  "use strict";

  function detectedZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function withZone(href, zone) {
    var url = new URL(href, window.location.href);
    url.searchParams.set("tz", zone);
    return url.pathname + url.search;
  }

  // Times follow the customer's zone unless they chose one (a tz in the address); a link
  // then switches to the device's zone in one click.
  function applyZone(picker) {
    var zone = detectedZone();
    if (!zone || zone === picker.dataset.tz) return;
    var chosen = new URLSearchParams(window.location.search).has("tz");
    var href = withZone(picker.dataset.tzUrl, zone);
    if (!chosen && window.htmx && !picker.dataset.tzApplied) {
      picker.dataset.tzApplied = "1";
      window.htmx.ajax("GET", href, { target: "#picker", swap: "outerHTML" }).then(function () {
        window.history.replaceState(null, "", href);
      });
      return;
    }
    var link = picker.querySelector("[data-tz-local]");
    if (!link) return;
    link.href = href;
    link.textContent = link.textContent + " (" + zone + ")";
    link.hidden = false;
  }

  // One tab stop for the month grid (the chosen day); arrows move between bookable days.
  function rove(picker) {
    var days = Array.prototype.slice.call(picker.querySelectorAll("a.cal-day"));
    if (!days.length) return;
    var current = picker.querySelector("a.cal-day[aria-current]") || days[0];
    days.forEach(function (day) { day.tabIndex = day === current ? 0 : -1; });
  }

  function dayOf(link) {
    return new Date(link.id.slice(4) + "T00:00:00Z").getTime();
  }

  function onKey(event) {
    var link = event.target.closest && event.target.closest("a.cal-day");
    if (!link) return;
    var steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
    var days = Array.prototype.slice.call(document.querySelectorAll("#picker a.cal-day"));
    var index = days.indexOf(link), next = null;
    if (event.key === "Home") next = days[0];
    else if (event.key === "End") next = days[days.length - 1];
    else if (steps[event.key]) {
      var target = dayOf(link) + steps[event.key] * 86400000;
      var forward = steps[event.key] > 0;
      // The nearest bookable day at or beyond the target, in the key's direction.
      for (var i = forward ? index + 1 : index - 1; i >= 0 && i < days.length; i += forward ? 1 : -1) {
        if (forward ? dayOf(days[i]) >= target : dayOf(days[i]) <= target) { next = days[i]; break; }
      }
    }
    if (!next) return;
    event.preventDefault();
    link.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  // A swapped picker takes the focus along (htmx keeps it on elements with the same id);
  // when that element is gone (the last month has no "next"), the chosen day gets it.
  var refocus = false;
  document.addEventListener("htmx:beforeRequest", function () {
    var picker = document.getElementById("picker");
    refocus = !!(picker && picker.contains(document.activeElement));
  });
  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (!refocus || (active && active !== document.body && document.contains(active))) return;
    var picker = document.getElementById("picker");
    var target = picker && picker.querySelector("a.cal-day[aria-current]");
    if (target) target.focus();
  });

  function init(root) {
    var picker = root.id === "picker" ? root : root.querySelector && root.querySelector("#picker");
    if (!picker) return;
    rove(picker);
    applyZone(picker);
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
