/* γ slider for the loss-weights chapter: draws with SVG in the page, no kernel, no network.
 *
 * Each element <div class="sedlib-gamma-slider"> holds a <script type="application/json">
 * with {gammas: [...], classes: [...], shares: {gamma: {e1: [...], e3: [...]}}} (per-class
 * shares precomputed by sedlib for each γ of the grid). The per-frame curves are computed
 * here from the formulas of E1 and E3.
 */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function lossE3(p, z, gamma) {
    // -((1-p)^γ z log p + p^γ (1-z) log(1-p))
    return z === 1 ? -Math.pow(1 - p, gamma) * Math.log(p) : -Math.pow(p, gamma) * Math.log(1 - p);
  }

  // The book's palette (sedlib.report.figures), passed in the data: BCE's colour for E1,
  // the colour of DR at this γ for E3 (a γ the study did not run is drawn in grey).
  function colours(data, gamma) {
    var c = data.colours || {};
    return {e1: c.bce || "#999", e3: (c.gamma && c.gamma[String(gamma)]) || c.other || "#1f77b4"};
  }

  function drawCurves(svg, gamma, data) {
    var c = colours(data || {}, gamma);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var W = 460, H = 260, L = 45, B = 35, T = 25, R = 10, ymax = 4;
    function x(p) { return L + p * (W - L - R); }
    function y(v) { return H - B - Math.min(v, ymax) / ymax * (H - B - T); }
    el("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#333"}, svg);
    el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#333"}, svg);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      var label = el("text", {x: x(t), y: H - B + 16, "text-anchor": "middle", "font-size": 11}, svg);
      label.textContent = t;
    });
    [0, 1, 2, 3, 4].forEach(function (t) {
      var label = el("text", {x: L - 8, y: y(t) + 4, "text-anchor": "end", "font-size": 11}, svg);
      label.textContent = t;
    });
    var xl = el("text", {x: (L + W) / 2, y: H - 4, "text-anchor": "middle", "font-size": 12}, svg);
    xl.textContent = "predicted probability p";
    var series = [
      {z: 1, g: 0, color: c.e1, dash: "4 3", name: "E1, active frame"},
      {z: 0, g: 0, color: c.e1, dash: "1 3", name: "E1, inactive frame"},
      {z: 1, g: gamma, color: c.e3, dash: "", name: "E3, active frame"},
      {z: 0, g: gamma, color: c.e3, dash: "8 2 2 2", name: "E3, inactive frame"}
    ];
    series.forEach(function (s, k) {
      var pts = [];
      for (var i = 1; i < 200; i++) {
        var p = i / 200;
        pts.push(x(p).toFixed(1) + "," + y(lossE3(p, s.z, s.g)).toFixed(1));
      }
      el("polyline", {points: pts.join(" "), fill: "none", stroke: s.color, "stroke-width": 2,
                      "stroke-dasharray": s.dash, "class": "curve-" + k}, svg);
      var legend = el("text", {x: W - R - 5, y: T + 14 * k, "text-anchor": "end", "font-size": 11,
                               fill: s.color}, svg);
      legend.textContent = s.name;
    });
  }

  function drawShares(svg, data, gamma) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var key = String(gamma), shares = data.shares[key];
    if (!shares) return;
    var n = data.classes.length, rowH = 14, L = 130, W = 460, T = 20;
    var max = 0;
    for (var i = 0; i < n; i++) max = Math.max(max, shares.e1[i], shares.e3[i]);
    var title = el("text", {x: L, y: 12, "font-size": 12}, svg);
    var c = colours(data, gamma);
    title.textContent = "share of the gradient per class: E1 (upper bar), E3 at γ = " + gamma + " (lower)";
    for (var j = 0; j < n; j++) {
      var top = T + j * rowH;
      var name = el("text", {x: L - 5, y: top + 10, "text-anchor": "end", "font-size": 10}, svg);
      name.textContent = data.classes[j];
      el("rect", {x: L, y: top + 1, width: (W - L - 10) * shares.e1[j] / max, height: 5, fill: c.e1}, svg);
      el("rect", {x: L, y: top + 6, width: (W - L - 10) * shares.e3[j] / max, height: 6, fill: c.e3,
                  "class": "share-e3"}, svg);
    }
    svg.setAttribute("height", T + n * rowH + 5);
  }

  function init(root) {
    if (root.getAttribute("data-ready")) return;
    root.setAttribute("data-ready", "1");
    var data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
    var input = root.querySelector("input[type=range]");
    var label = root.querySelector(".gamma-value");
    var curves = root.querySelector("svg.curves");
    var bars = root.querySelector("svg.shares");
    function update() {
      var gamma = data.gammas[Number(input.value)];
      label.textContent = gamma;
      drawCurves(curves, gamma, data);
      if (bars) drawShares(bars, data, gamma);
      root.setAttribute("data-gamma", gamma);
    }
    input.addEventListener("input", update);
    update();
  }

  function initAll() {
    var roots = document.querySelectorAll(".sedlib-gamma-slider");
    for (var i = 0; i < roots.length; i++) init(roots[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
