// The call panel: live status through server-sent events, then the disposition with hotkeys.
(function () {
  "use strict";
  var FINAL = ["completed", "busy", "no_answer", "machine", "canceled", "failed", "abandoned"];

  function panel() { return document.getElementById("call-panel"); }

  function showDisposition(status) {
    var form = document.getElementById("disposition");
    if (form && FINAL.indexOf(status) >= 0) { form.hidden = false; }
  }

  function refresh() {
    var current = panel();
    if (!current || !window.htmx) { return; }
    window.htmx.ajax("GET", current.dataset.panel, { target: "#call-panel", swap: "outerHTML" });
  }

  function listen() {
    var current = panel();
    if (!current || !window.EventSource) { return; }
    showDisposition(current.dataset.status);
    if (FINAL.indexOf(current.dataset.status) >= 0) { return; }
    var source = new EventSource(current.dataset.events);
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      var shown = panel();
      if (shown && data.status !== shown.dataset.status) { refresh(); }
      showDisposition(data.status);
      if (FINAL.indexOf(data.status) >= 0) { source.close(); }
    });
  }

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("disposition");
    if (!form || form.hidden || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") { return; }
    var radio = form.querySelector('input[data-hotkey="' + CSS.escape(event.key) + '"]');
    if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", listen);
  } else {
    listen();
  }
})();
