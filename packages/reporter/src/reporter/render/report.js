// Sortable and filterable tables. A fragment such as #sort=t2:3:desc sorts table t2 by
// its fourth column on load, so a sorted view can be linked to.
(function () {
  "use strict";
  function value(cell, numeric) {
    var raw = cell.getAttribute("data-v");
    if (raw === null) raw = cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var n = parseFloat(raw);
    return isNaN(n) ? -Infinity : n;
  }
  function sortTable(table, column, descending) {
    var header = table.tHead.rows[0].cells[column];
    var numeric = header.classList.contains("num");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, index) {
      return { row: row, key: value(row.cells[column], numeric), index: index };
    });
    keyed.sort(function (a, b) {
      if (a.key < b.key) return descending ? 1 : -1;
      if (a.key > b.key) return descending ? -1 : 1;
      return a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  function filterTable(table, text, counter) {
    var needle = text.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var match = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
      row.hidden = !match;
      if (match) shown += 1;
    });
    if (counter) counter.textContent = shown + " of " + table.tBodies[0].rows.length;
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.classList.add("sortable");
      th.tabIndex = 0;
      function activate() {
        sortTable(table, column, th.getAttribute("aria-sort") === "ascending");
      }
      th.addEventListener("click", activate);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
      });
    });
    var input = document.querySelector('input.filter[data-table="' + table.id + '"]');
    if (input) {
      var counter = document.getElementById(table.id + "-count");
      input.addEventListener("input", function () { filterTable(table, input.value, counter); });
    }
  });
  var match = /(?:^#|&)sort=([\w-]+):(\d+):(asc|desc)/.exec(window.location.hash);
  if (match) {
    var target = document.getElementById(match[1]);
    if (target && target.tHead) sortTable(target, parseInt(match[2], 10), match[3] === "desc");
  }
  document.documentElement.setAttribute("data-ready", "1");
})();
