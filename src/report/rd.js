// Interactive rate-distortion view: one curve per configuration, for the chosen metric and
// image (or the mean over images per setting); hover a point for its cell, click a legend
// entry to hide or show a configuration. Data: #rd-data (JSON).
(function () {
  var svg = document.getElementById("rd-plot");
  if (!svg) { return; }
  var data = JSON.parse(document.getElementById("rd-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var W = 900, H = 420, L = 64, R = 16, T = 14, B = 44;
  var metricSel = document.getElementById("rd-metric"), imageSel = document.getElementById("rd-image");
  var full = document.getElementById("rd-full"), tip = document.getElementById("rd-tip");
  var hidden = {};
  data.metrics.forEach(function (m, k) { var o = document.createElement("option"); o.value = k; o.textContent = m.label; metricSel.appendChild(o); });
  metricSel.value = data.metric;
  data.images.forEach(function (im, k) { var o = document.createElement("option"); o.value = k; o.textContent = im; imageSel.appendChild(o); });
  var side = document.getElementById("rd-toggles");
  data.curves.forEach(function (c, k) {
    var b = document.createElement("button");
    b.type = "button"; b.dataset.curve = k; b.title = c.name;
    b.innerHTML = "<span class=\"sw\"></span>"; b.firstChild.style.background = c.color;
    b.appendChild(document.createTextNode(c.label));
    b.addEventListener("click", function () { hidden[k] = !hidden[k]; b.classList.toggle("off", !!hidden[k]); draw(); });
    side.appendChild(b);
  });
  var el = function (name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var a in attrs) { e.setAttribute(a, attrs[a]); }
    (parent || svg).appendChild(e); return e;
  };
  // Points of curve k: [bpp, value, tooltip text].
  var points = function (k, m, image) {
    var met = data.metrics[m], groups = {}, order = [];
    data.cells.forEach(function (c) {
      if (c[0] !== k || c[5][m] === null || (image >= 0 && c[1] !== image)) { return; }
      var key = image >= 0 ? c[1] + "/" + c[6] : c[6];
      if (!groups[key]) { groups[key] = []; order.push(key); }
      groups[key].push(c);
    });
    return order.map(function (key) {
      var g = groups[key], n = g.length;
      var mean = function (f) { return g.reduce(function (s, c) { return s + f(c); }, 0) / n; };
      var bpp = mean(function (c) { return c[4]; }), v = mean(function (c) { return c[5][m]; });
      var c0 = g[0], lines = [];
      if (image >= 0) {
        lines.push(data.images[c0[1]], data.specs[c0[6]], c0[3] + " bytes, " + bpp.toFixed(4) + " bpp");
        data.metrics.forEach(function (mm, j) { if (c0[5][j] !== null) { lines.push(mm.label + " " + c0[5][j].toFixed(mm.decimals)); } });
      } else {
        var bytes = g.reduce(function (s, c) { return s + (c[3] || 0); }, 0);
        lines.push("mean over " + n + " image(s)", data.specs[c0[6]], "total " + bytes + " bytes, mean " + bpp.toFixed(4) + " bpp");
        data.metrics.forEach(function (mm, j) {
          var vals = g.filter(function (c) { return c[5][j] !== null; });
          if (vals.length) { lines.push(mm.label + " " + (vals.reduce(function (s, c) { return s + c[5][j]; }, 0) / vals.length).toFixed(mm.decimals)); }
        });
      }
      return [bpp, v, lines.join("\n"), met];
    }).sort(function (a, b) { return a[0] - b[0]; });
  };
  var ticks = function (lo, hi, n) {
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    [1, 2, 5, 10].some(function (f) { if ((hi - lo) / (step * f) <= n) { step *= f; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) { out.push(+v.toFixed(10)); }
    return out;
  };
  var draw = function () {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var m = +metricSel.value, image = +imageSel.value, met = data.metrics[m];
    var series = data.curves.map(function (c, k) { return hidden[k] ? [] : points(k, m, image); });
    var all = [].concat.apply([], series);
    var band = met.band && !full.checked ? met.band : null;
    var ys = all.map(function (p) { return p[1]; });
    var y0 = band ? band[0] : Math.min.apply(null, ys), y1 = band ? band[1] : Math.max.apply(null, ys);
    if (band) { var pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad; }
    var inY = all.filter(function (p) { return p[1] >= y0 && p[1] <= y1; });
    var xs = (inY.length ? inY : all).map(function (p) { return p[0]; });
    var x0 = 0, x1 = xs.length ? Math.max.apply(null, xs) * 1.05 : 1;
    if (!all.length || !(y1 > y0)) { y0 = 0; y1 = 1; }
    var X = function (v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
    var Y = function (v) { return T + (y1 - v) / (y1 - y0) * (H - T - B); };
    el("clipPath", { id: "rd-clip" }).appendChild(document.createElementNS(NS, "rect"));
    var cr = svg.querySelector("#rd-clip rect");
    cr.setAttribute("x", L); cr.setAttribute("y", T); cr.setAttribute("width", W - L - R); cr.setAttribute("height", H - T - B);
    if (band) { el("rect", { "class": "band", x: L, y: Y(band[1]), width: W - L - R, height: Y(band[0]) - Y(band[1]) }); }
    ticks(x0, x1, 8).forEach(function (v) {
      el("line", { "class": "grid", x1: X(v), x2: X(v), y1: T, y2: H - B });
      el("text", { x: X(v), y: H - B + 16, "text-anchor": "middle" }).textContent = v;
    });
    ticks(y0, y1, 7).forEach(function (v) {
      el("line", { "class": "grid", x1: L, x2: W - R, y1: Y(v), y2: Y(v) });
      el("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }).textContent = v;
    });
    el("line", { "class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B });
    el("line", { "class": "axis", x1: L, x2: L, y1: T, y2: H - B });
    el("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" }).textContent = image >= 0 ? "bits per pixel" : "bits per pixel, mean over images";
    el("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }).textContent = met.label + (met.higher_better ? " (higher is better)" : " (lower is better)");
    var plot = el("g", { "clip-path": "url(#rd-clip)" });
    series.forEach(function (pts, k) {
      if (!pts.length) { return; }
      var c = data.curves[k];
      var g = el("g", { "class": "curve", "data-curve": k }, plot);
      el("polyline", { fill: "none", stroke: c.color, "stroke-width": 2, points: pts.map(function (p) { return X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1); }).join(" ") }, g);
      pts.forEach(function (p) {
        var dot = el("circle", { cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: 4, fill: c.color, stroke: "#fff" }, g);
        dot.addEventListener("mouseenter", function (e) { tip.textContent = c.name + "\n" + p[2]; tip.hidden = false; tip.style.left = e.clientX + 14 + "px"; tip.style.top = e.clientY + 10 + "px"; });
        dot.addEventListener("mouseleave", function () { tip.hidden = true; });
      });
    });
  };
  [metricSel, imageSel, full].forEach(function (s) { s.addEventListener("change", draw); });
  draw();
})();
