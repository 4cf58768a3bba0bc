/* O6, on the organization's own site: Apo's booking page inline or in a pop-up.

   Inline:  <iframe data-apo-embed src="https://apo.example/p/demo?embed=1" ...></iframe>
   Pop-up:  <a data-apo-popup href="https://apo.example/p/demo">Book a meeting</a>
   and once: <script src="https://apo.example/static/embed.js" async></script>

   No inline script or style is needed on the site, and nothing here evaluates code: styles
   are set through the DOM, and messages are accepted only from this script's own origin and
   from a frame this script knows. The site hears of a booking as an "apo:booked" event on
   the frame (it bubbles to document), with the page's slug and nothing personal. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var apo = new URL(script.src).origin;
  var registry = (window.ApoEmbed = window.ApoEmbed || { origins: [] });
  if (registry.origins.indexOf(apo) !== -1) return; // the script was included twice
  registry.origins.push(apo);
  var english = !/^ja\b/i.test(document.documentElement.lang || navigator.language || "");

  function frameUrl(href) {
    var url = new URL(href, document.baseURI);
    if (url.origin !== apo) return null;
    url.searchParams.set("embed", "1");
    return url.href;
  }

  function ourFrame(source) {
    var frames = document.querySelectorAll("iframe[data-apo-embed], iframe[data-apo-popup-frame]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === source) return frames[i];
    }
    return null;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== apo) return;
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    var frame = ourFrame(event.source);
    if (!frame) return;
    if (data.type === "apo:resize") {
      var height = Number(data.height);
      if (isFinite(height) && height > 0 && height < 20000) {
        frame.style.height = Math.ceil(height) + "px";
      }
    } else if (data.type === "apo:booked") {
      frame.dispatchEvent(new CustomEvent("apo:booked", {
        bubbles: true, detail: { page: String(data.page || "") }
      }));
    }
  });

  function styleFrame(frame) {
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.display = "block";
  }

  function prepareInline() {
    var frames = document.querySelectorAll("iframe[data-apo-embed]");
    for (var i = 0; i < frames.length; i++) styleFrame(frames[i]);
  }

  var open = null;

  function closePopup() {
    if (!open) return;
    open.overlay.remove();
    open.inerted.forEach(function (element) { element.inert = false; });
    document.documentElement.style.overflow = open.overflow;
    document.removeEventListener("keydown", open.onKey, true);
    if (open.opener && open.opener.focus) open.opener.focus();
    open = null;
  }

  function openPopup(link, src) {
    closePopup();
    var overlay = document.createElement("div");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", link.textContent.trim() || (english ? "Booking" : "予約"));
    overlay.setAttribute("data-apo-overlay", "");
    var s = overlay.style;
    s.position = "fixed"; s.inset = "0"; s.zIndex = "2147483647"; s.background = "rgba(15, 23, 42, .55)";
    s.display = "flex"; s.alignItems = "flex-start"; s.justifyContent = "center";
    s.overflowY = "auto"; s.padding = "3vh 12px";

    var panel = document.createElement("div");
    var p = panel.style;
    p.position = "relative"; p.width = "100%"; p.maxWidth = "980px"; p.background = "#eef2f7";
    p.borderRadius = "10px"; p.boxShadow = "0 10px 30px rgba(0, 0, 0, .3)"; p.overflow = "hidden";

    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", english ? "Close" : "閉じる");
    var c = close.style;
    c.position = "absolute"; c.top = "6px"; c.right = "8px"; c.width = "44px"; c.height = "44px";
    c.border = "0"; c.borderRadius = "22px"; c.background = "#fff"; c.color = "#1f2933";
    c.fontSize = "26px"; c.lineHeight = "1"; c.cursor = "pointer"; c.zIndex = "1";
    close.addEventListener("click", closePopup);

    var frame = document.createElement("iframe");
    frame.src = src;
    frame.title = link.textContent.trim() || (english ? "Booking" : "予約");
    frame.setAttribute("data-apo-popup-frame", "");
    frame.setAttribute("allow", "clipboard-write");
    styleFrame(frame);
    frame.style.height = "80vh";

    panel.appendChild(close);
    panel.appendChild(frame);
    overlay.appendChild(panel);
    overlay.addEventListener("click", function (event) {
      if (event.target === overlay) closePopup();
    });
    function onKey(event) {
      if (event.key === "Escape") closePopup();
    }
    document.addEventListener("keydown", onKey, true);
    // A modal dialog: the rest of the site is inert (not focusable, not read out) meanwhile.
    var inerted = Array.prototype.filter.call(document.body.children, function (element) {
      return !element.inert;
    });
    inerted.forEach(function (element) { element.inert = true; });
    open = { overlay: overlay, opener: link, onKey: onKey, inerted: inerted,
             overflow: document.documentElement.style.overflow };
    document.documentElement.style.overflow = "hidden";
    document.body.appendChild(overlay);
    close.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-apo-popup]");
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var src = frameUrl(link.href);
    if (!src) return; // not one of this Apo's pages: the link works as a plain link
    event.preventDefault();
    openPopup(link, src);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepareInline);
  } else {
    prepareInline();
  }
})();
