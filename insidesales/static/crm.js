/* Record pages: small enhancements. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("crm-js");

  // "Select all on this page" in a list's header.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("[data-select-all]")) {
      var form = box.closest("form");
      form.querySelectorAll('input[name="ids"]').forEach(function (item) { item.checked = box.checked; });
    }
    // Selects marked data-autosubmit submit their form on change (the saved-view picker).
    if (box.matches && box.matches("[data-autosubmit]")) {
      box.form.submit();
    }
    if (box.matches && box.matches('[data-bulk] select[name="action"]')) {
      showBulkInputs(box.closest("[data-bulk]"));
    }
  });

  // Show only the inputs that belong to the chosen bulk action.
  function showBulkInputs(bar) {
    if (!bar) return;
    var action = bar.querySelector('select[name="action"]').value;
    bar.querySelectorAll("[data-show-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-show-for") !== action;
    });
  }

  function init(root) {
    (root || document).querySelectorAll("[data-bulk]").forEach(showBulkInputs);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // htmx swaps in a new table (and bulk bar) when filters change.
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
