// Split-slider crop comparison: any two of {original, each configuration's crop}, pan and
// integer zoom with sharp pixels, and an error-map toggle. Data: #viewer-data (JSON).
(function () {
  var el = document.getElementById("viewer");
  var data = JSON.parse(document.getElementById("viewer-data").textContent);
  if (!el || !data.images.length) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var stage = $("v-stage"), imgA = $("v-a-img"), imgB = $("v-b-img"), layerB = $("v-b");
  var heatA = $("v-a-heat"), heatB = $("v-b-heat"), missing = $("v-missing");
  var split = $("v-split"), pos = $("v-pos"), heat = $("v-heat");
  var state = { image: 0, zoom: 1, x: 0, y: 0, split: 0.5 };
  var cur = function () { return data.images[state.image]; };
  var url = function (k) { return k === null || k === undefined ? "" : data.files[k]; };
  // The error map is coloured by an SVG filter (no canvas, so crops loaded from files work
  // too): its gray value is 64 x butteraugli distance; transparent below 0.5, blue at 1,
  // yellow at 2, red from 3, over the original in dimmed gray.
  var STOPS = [[0.5, [40, 60, 255]], [1, [0, 170, 255]], [2, [255, 230, 0]], [3, [255, 0, 0]]];
  var colour = function (d) {
    if (!(d > 0.5)) { return [0, 0, 0, 0]; }
    var a = Math.min(1, d - 0.5) * 0.85 + 0.15;
    for (var k = 1; k < STOPS.length; k++) {
      if (d <= STOPS[k][0]) {
        var t = (d - STOPS[k - 1][0]) / (STOPS[k][0] - STOPS[k - 1][0]), c0 = STOPS[k - 1][1], c1 = STOPS[k][1];
        return [c0[0] + (c1[0] - c0[0]) * t, c0[1] + (c1[1] - c0[1]) * t, c0[2] + (c1[2] - c0[2]) * t, a];
      }
    }
    return STOPS[3][1].concat([a]);
  };
  (function () {
    // Tables over the stored value 0..255 (distance 0..~4) in steps of 1/16 unit.
    var n = 65, tables = [[], [], [], []];
    for (var k = 0; k < n; k++) {
      var c = colour(k / (n - 1) * 255 / 64);
      tables[0].push((c[0] / 255).toFixed(3)); tables[1].push((c[1] / 255).toFixed(3));
      tables[2].push((c[2] / 255).toFixed(3)); tables[3].push(c[3].toFixed(3));
    }
    ["R", "G", "B", "A"].forEach(function (ch, i) { $("v-heat-" + ch).setAttribute("tableValues", tables[i].join(" ")); });
  })();
  // Crops not embedded are loaded from the run folder: say so when they cannot be.
  var failed = function () {
    var im = cur();
    if (im.embedded) { return; }
    missing.hidden = false;
    missing.textContent = "The crops of " + im.id + " are not embedded in this page (it keeps under " + data.max_mb +
      " MB) and could not be loaded from " + data.crops_url + ": open report.html inside its run folder, " +
      "or make the report again with `codecbench report RUN_FOLDER --max-report-mb " + Math.ceil(data.all_mb) + "` to embed every crop.";
  };
  [imgA, imgB, heatA, heatB].forEach(function (i) { i.addEventListener("error", function () { if (i.getAttribute("src")) { failed(); } }); });
  // Sides: -1 is the original, k the image's k-th cell: [picture, error map or ""].
  var src = function (side) {
    var im = cur();
    if (side < 0) { return [url(im.original), ""]; }
    var c = im.cells[side];
    if (heat.checked && c.heat !== null) { return [url(im.original), url(c.heat)]; }
    return [url(c.src), ""];
  };
  var set = function (img, over, s) {
    var im = cur();
    if (img.getAttribute("src") !== s[0]) { img.src = s[0]; }
    img.classList.toggle("dim", !!s[1]);
    over.hidden = !s[1];
    if (s[1]) { over.width = im.rect[2]; over.height = im.rect[3]; if (over.getAttribute("src") !== s[1]) { over.src = s[1]; } }
  };
  var kib = function (b) { return b >= 1048576 ? (b / 1048576).toFixed(2) + " MiB" : (b / 1024).toFixed(1) + " KiB"; };
  var caption = function (side) {
    var im = cur();
    if (side < 0) { return "<span class=\"big\">original</span><br>" + im.id + ", region x=" + im.rect[0] + " y=" + im.rect[1] + ", " + im.rect[2] + "\u00d7" + im.rect[3] + " px"; }
    var c = im.cells[side];
    var esc = function (s) { var d = document.createElement("span"); d.textContent = s; return d.innerHTML; };
    var pct = c.vs_anchor === null ? "" : (c.curve === data.anchor ? " (the anchor)" : ", " + (c.vs_anchor > 0 ? "+" : "\u2212") + Math.abs(c.vs_anchor).toFixed(0) + "% against the anchor");
    var m = c.metrics.map(function (p) { return esc(p[0]) + " " + esc(p[1]); }).join(", ");
    return "<span class=\"big\" title=\"" + esc(c.spec) + "\"><span class=\"sw\" style=\"background:" + c.color + "\"></span>" + esc(c.label) + "</span><br>" +
      (c.bytes === null ? "-" : c.bytes + " bytes (" + kib(c.bytes) + ")") + ", " + c.bpp.toFixed(3) + " bpp" + esc(pct) + "<br>" + m +
      "<br><small>" + esc(c.role) + ": " + esc(c.chosen) + "; " + esc(c.source) + "</small>";
  };
  var fill = function (select, chosen) {
    var im = cur();
    select.innerHTML = "";
    var add = function (v, t, title) { var o = document.createElement("option"); o.value = v; o.textContent = t; if (title) { o.title = title; } select.appendChild(o); };
    add(-1, "original");
    im.cells.forEach(function (c, k) { add(k, c.label, c.spec); });
    select.value = chosen;
  };
  var defaults = function () {
    var im = cur(), right = 0;
    im.cells.forEach(function (c, k) { if (c.curve === data.default_curve && c.role === "uniform setting") { right = k; } });
    return [-1, im.cells.length ? right : -1];
  };
  var place = function () {
    var w = stage.clientWidth, h = stage.clientHeight, im = cur();
    var iw = im.rect[2] * state.zoom, ih = im.rect[3] * state.zoom;
    // Keep the picture in view: centred when smaller than the stage, else clamped.
    state.x = iw <= w ? (w - iw) / 2 : Math.min(0, Math.max(w - iw, state.x));
    state.y = ih <= h ? (h - ih) / 2 : Math.min(0, Math.max(h - ih, state.y));
    var t = "translate(" + Math.round(state.x) + "px," + Math.round(state.y) + "px) scale(" + state.zoom + ")";
    imgA.style.transform = t; imgB.style.transform = t; heatA.style.transform = t; heatB.style.transform = t;
    var sx = Math.round(state.split * w);
    layerB.style.clipPath = "inset(0 0 0 " + sx + "px)";
    split.style.left = sx + "px";
    pos.value = Math.round(state.split * 1000);
    el.querySelectorAll(".zoom button").forEach(function (b) { b.classList.toggle("on", +b.dataset.zoom === state.zoom); });
  };
  var show = function () {
    var a = +$("v-left").value, b = +$("v-right").value;
    missing.hidden = true;
    set(imgA, heatA, src(a));
    set(imgB, heatB, src(b));
    $("v-cap-a").innerHTML = caption(a); $("v-cap-b").innerHTML = caption(b);
    $("v-notes").textContent = cur().notes.join(" ") + (cur().embedded ? "" : " These crops are loaded from " + data.crops_url + " (not embedded: the page keeps under " + data.max_mb + " MB).");
    place();
  };
  var pick = function (k) {
    state.image = k;
    var d = defaults();
    fill($("v-left"), d[0]); fill($("v-right"), d[1]);
    var im = cur();
    // Default: the whole crop when it fits, else its centre at 1x.
    state.zoom = Math.max(1, Math.min(8, Math.floor(Math.min(stage.clientWidth / im.rect[2], stage.clientHeight / im.rect[3])) || 1));
    state.x = (stage.clientWidth - im.rect[2] * state.zoom) / 2;
    state.y = (stage.clientHeight - im.rect[3] * state.zoom) / 2;
    show();
  };
  var zoomAt = function (z, cx, cy) {
    z = Math.max(1, Math.min(8, z));
    // Keep the pixel under (cx, cy) in place.
    state.x = cx - (cx - state.x) * z / state.zoom;
    state.y = cy - (cy - state.y) * z / state.zoom;
    state.zoom = z; place();
  };
  $("v-image").addEventListener("change", function () { pick(+this.value); });
  $("v-left").addEventListener("change", show);
  $("v-right").addEventListener("change", show);
  heat.addEventListener("change", show);
  pos.addEventListener("input", function () { state.split = pos.value / 1000; place(); });
  el.querySelectorAll(".zoom button").forEach(function (b) {
    b.addEventListener("click", function () { zoomAt(+b.dataset.zoom, stage.clientWidth / 2, stage.clientHeight / 2); });
  });
  var zooms = [1, 2, 3, 4, 6, 8];
  stage.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = stage.getBoundingClientRect(), i = zooms.indexOf(state.zoom);
    var next = zooms[Math.max(0, Math.min(zooms.length - 1, (i < 0 ? 0 : i) + (e.deltaY < 0 ? 1 : -1)))];
    zoomAt(next, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  var drag = null;
  stage.addEventListener("pointerdown", function (e) {
    var r = stage.getBoundingClientRect();
    var onLine = Math.abs(e.clientX - r.left - state.split * stage.clientWidth) < 14;
    drag = { line: onLine, x: e.clientX, y: e.clientY, ox: state.x, oy: state.y };
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var r = stage.getBoundingClientRect();
    if (drag.line) { state.split = Math.max(0, Math.min(1, (e.clientX - r.left) / stage.clientWidth)); }
    else { state.x = drag.ox + e.clientX - drag.x; state.y = drag.oy + e.clientY - drag.y; }
    place();
  });
  stage.addEventListener("pointerup", function () { drag = null; });
  stage.addEventListener("keydown", function (e) {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      state.split = Math.max(0, Math.min(1, state.split + (e.key === "ArrowLeft" ? -0.05 : 0.05))); place();
    }
  });
  window.addEventListener("resize", place);
  // Start on the first image whose crops are in the page.
  var first = 0;
  data.images.forEach(function (im, k) { if (im.embedded && !data.images[first].embedded) { first = k; } });
  $("v-image").value = first;
  pick(first);
})();
