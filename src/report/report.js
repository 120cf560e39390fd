// Click a column header of a .sortable table to sort by it (numbers numerically).
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var key = function (r) {
        var t = r.cells[col].textContent.trim();
        var n = t === "inf" ? Infinity : parseFloat(t);
        return isNaN(n) ? t : n;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x > y ? 1 : x < y ? -1 : 0) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});

// A link to a section inside a closed <details> opens it.
function openTarget() {
  var t = location.hash && document.getElementById(location.hash.slice(1));
  for (var e = t; e; e = e.parentElement) { if (e.tagName === "DETAILS") { e.open = true; } }
}
window.addEventListener("hashchange", openTarget);
openTarget();
