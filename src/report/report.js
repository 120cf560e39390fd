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

// Crops: hold the mouse (or a finger) on a codec crop, or press its "flip" button, to show
// the original in its place; "zoom 2x" doubles the crops of one image.
document.querySelectorAll("img.codec").forEach(function (img) {
  var orig = document.getElementById(img.dataset.orig);
  if (!orig) { return; }
  var codec = img.src;
  var label = img.parentNode.querySelector(".shown");
  var show = function (original) {
    img.src = original ? orig.src : codec;
    img.dataset.showing = original ? "original" : "codec";
    if (label) { label.textContent = "showing: " + img.dataset.showing; }
  };
  img.addEventListener("mousedown", function (e) { e.preventDefault(); show(true); });
  img.addEventListener("touchstart", function () { show(true); }, { passive: true });
  ["mouseup", "mouseleave", "touchend", "touchcancel"].forEach(function (ev) {
    img.addEventListener(ev, function () { show(false); });
  });
  var button = img.parentNode.querySelector("button.flip");
  if (button) {
    button.addEventListener("click", function () {
      show(img.dataset.showing !== "original");
    });
  }
});
document.querySelectorAll("button.zoom").forEach(function (button) {
  button.addEventListener("click", function () {
    var set = button.closest(".crops");
    var on = !set.classList.contains("zoomed");
    set.classList.toggle("zoomed", on);
    button.textContent = on ? "zoom 1\u00d7" : "zoom 2\u00d7";
    set.querySelectorAll("figure.crop img").forEach(function (img) {
      var w = parseInt(img.getAttribute("width"), 10);
      var h = parseInt(img.getAttribute("height"), 10);
      img.style.width = on ? 2 * w + "px" : "";
      img.style.height = on ? 2 * h + "px" : "";
    });
  });
});
