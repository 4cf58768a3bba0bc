/* O6, inside the frame: tell the organization's site how tall the page is, and that a booking
   was made. Messages go to the listed origins only (the browser drops a message whose target
   origin is not the parent's), and carry no personal data: the page's slug and a height. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var body = document.body;
  var origins;
  try {
    origins = JSON.parse(body.getAttribute("data-embed-origins") || "[]");
  } catch (e) {
    return;
  }
  if (!Array.isArray(origins) || !origins.length) return;
  var page = body.getAttribute("data-apo-page") || "";

  function post(message) {
    origins.forEach(function (origin) {
      window.parent.postMessage(message, origin);
    });
  }

  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      post({ type: "apo:resize", page: page, height: height });
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(report).observe(document.documentElement);
  }
  window.addEventListener("load", report);
  document.addEventListener("htmx:afterSettle", report);
  report();

  if (body.hasAttribute("data-apo-booked")) {
    post({ type: "apo:booked", page: page });
  }
})();
