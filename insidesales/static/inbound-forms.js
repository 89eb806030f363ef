/* The web form field editor: reorder rows by dragging or with the arrow buttons, and keep the position
   numbers (which the server reads, so the page also works without this script) in step with the rows. */
(function () {
  "use strict";

  function rows(tbody) {
    return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-field-row]"));
  }

  function renumber(tbody) {
    var n = 0;
    rows(tbody).forEach(function (row) {
      var on = row.querySelector('input[type="checkbox"][name$="-on"]');
      var position = row.querySelector('input[name$="-position"]');
      if (on && on.checked) {
        n += 1;
        position.value = n;
      } else if (position) {
        position.value = "";
      }
      row.classList.toggle("is-on", !!(on && on.checked));
    });
  }

  function button(label, text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-small";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function setUp(table) {
    var tbody = table.tBodies[0];
    var up = table.getAttribute("data-label-up") || "Move up";
    var down = table.getAttribute("data-label-down") || "Move down";
    var dragged = null;
    rows(tbody).forEach(function (row) {
      var slot = row.querySelector("[data-move]");
      if (!slot) return;
      var handle = document.createElement("span");
      handle.className = "drag-handle";
      handle.setAttribute("aria-hidden", "true");
      handle.textContent = "⋮⋮";
      slot.appendChild(handle);
      slot.appendChild(button(up, "↑", function () {
        var prev = row.previousElementSibling;
        if (prev) { tbody.insertBefore(row, prev); renumber(tbody); this.focus(); }
      }));
      slot.appendChild(button(down, "↓", function () {
        var next = row.nextElementSibling;
        if (next) { tbody.insertBefore(next, row); renumber(tbody); this.focus(); }
      }));
      row.draggable = true;
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        row.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", "");
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("dragging");
        rows(tbody).forEach(function (r) { r.classList.remove("drop-target"); });
        dragged = null;
        renumber(tbody);
      });
      row.addEventListener("dragover", function (event) {
        if (!dragged || dragged === row) return;
        event.preventDefault();
        rows(tbody).forEach(function (r) { r.classList.toggle("drop-target", r === row); });
      });
      row.addEventListener("drop", function (event) {
        if (!dragged || dragged === row) return;
        event.preventDefault();
        var before = rows(tbody).indexOf(dragged) > rows(tbody).indexOf(row) ? row : row.nextElementSibling;
        tbody.insertBefore(dragged, before);
      });
      var on = row.querySelector('input[type="checkbox"][name$="-on"]');
      if (on) on.addEventListener("change", function () { renumber(tbody); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-field-rows]").forEach(setUp);
  });
})();
