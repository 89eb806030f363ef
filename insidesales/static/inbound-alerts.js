/* Live alerts on every signed-in page: new inbound leads arrive over server-sent events; the bell counts them,
   a pop-up shows each, a short tone plays, and a desktop notification appears when the person allowed it. */
(function () {
  "use strict";
  var bell = document.querySelector(".bell[data-stream]");
  if (!bell || !window.EventSource) return;
  var counter = bell.querySelector(".bell-count");
  var count = parseInt(bell.getAttribute("data-count"), 10) || 0;
  var box = null;

  function setCount(n) {
    count = n;
    counter.textContent = n > 99 ? "99+" : String(n);
    counter.hidden = n === 0;
  }

  function tone() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      var audio = new Context(), osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, audio.currentTime);
      osc.frequency.setValueAtTime(1320, audio.currentTime + 0.12);
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound: the pop-up still shows */ }
  }

  function toast(alert) {
    if (!box) {
      box = document.createElement("div");
      box.className = "alert-toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    var item = document.createElement("div");
    item.className = "alert-toast";
    var title = document.createElement("strong");
    title.textContent = alert.title || "";
    item.appendChild(title);
    if (alert.body) {
      var body = document.createElement("span");
      body.className = "muted";
      body.textContent = alert.body;
      item.appendChild(body);
    }
    var actions = document.createElement("div");
    actions.className = "actions";
    if (alert.url) {
      var open = document.createElement("a");
      open.className = "btn btn-primary btn-small";
      open.href = alert.url;
      open.textContent = bell.getAttribute("data-open");
      actions.appendChild(open);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-small";
    close.textContent = bell.getAttribute("data-dismiss");
    close.addEventListener("click", function () { item.remove(); });
    actions.appendChild(close);
    item.appendChild(actions);
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 60000);
  }

  function desktop(alert) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    var shown = new Notification(alert.title || "", { body: alert.body || "", tag: "alert-" + alert.id });
    shown.onclick = function () { window.focus(); if (alert.url) location.href = alert.url; };
  }

  var source = new EventSource(bell.getAttribute("data-stream"));
  source.addEventListener("notify", function (event) {
    var alert;
    try { alert = JSON.parse(event.data); } catch (e) { return; }
    setCount(count + 1);
    toast(alert);
    tone();
    desktop(alert);
    document.dispatchEvent(new CustomEvent("insidesales:alert", { detail: alert }));
  });

  var enable = document.querySelector("[data-enable-desktop-alerts]");
  if (enable && "Notification" in window) {
    enable.hidden = Notification.permission !== "default";
    enable.addEventListener("click", function () {
      Notification.requestPermission().then(function () { enable.hidden = Notification.permission !== "default"; });
    });
  }
})();
