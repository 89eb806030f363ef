// In a frame on the organization's site: tell the embedding script how tall the form is, and leave the
// frame for the thank-you redirect.
(function () {
  function report() {
    parent.postMessage({ insidesalesFormHeight: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  new ResizeObserver(report).observe(document.body);
  var redirect = document.querySelector("[data-redirect]");
  if (redirect) { try { window.top.location.href = redirect.href; } catch (e) { /* the link stays */ } }
})();
