// The agent desktop: server-sent events (a call connected, a lead offered, a state change) refresh
// the desk at once; disposition hotkeys as on the call page.
(function () {
  "use strict";
  var source = null;

  function desk() { return document.getElementById("desk"); }

  function refresh() {
    var current = desk();
    if (!current || !window.htmx) { return; }
    window.htmx.ajax("GET", current.dataset.panel, { target: "#desk", swap: "outerHTML" });
  }

  function listen() {
    var current = desk();
    if (!current || !window.EventSource || source) { return; }
    source = new EventSource(current.dataset.events);
    source.addEventListener("desk", refresh);
  }

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("disposition");
    if (!form || event.ctrlKey || event.metaKey || event.altKey) { return; }
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
