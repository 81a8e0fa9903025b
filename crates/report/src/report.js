// livingcircle report: draws the embedded analysis with a canvas map and SVG charts.
// No third-party code; everything the page needs is in this file and the data block.
"use strict";
(function () {
  const status = { errors: [] };
  window.addEventListener("error", (e) => {
    status.errors.push(String(e.message || e));
    writeStatus();
  });
  function writeStatus() {
    const el = document.getElementById("lc-status");
    if (el) el.textContent = JSON.stringify(status);
  }

  const D = JSON.parse(document.getElementById("lc-data").textContent);
  const LANG = D.lang === "zh" ? "zh" : "en";
  const T = {
    en: {
      layers: "Layers", network: "Street network", residences: "Residences", sites: "Proposed sites",
      facilities: "Facilities", gaps: "Gaps", none: "none", all: "all categories",
      click_hint: "Click a residence for its walking distances and its 5/10/15-minute area.",
      coverage_title: "Coverage by category (% within the threshold)",
      levels_title: "Living-circle levels (% meeting every category of the level)",
      dist_title: "Walking distance to the nearest facility", worst_gaps: "Worst gaps (people missing a category, per H3 cell)",
      proposed_sites: "Proposed sites", by_pop: "population", by_res: "residences",
      met_legend: "Categories met",
      preset: "Preset", speed: "walking speed", data_date: "data", thresholds: "thresholds",
      c_res: "residences", c_pop: "population", c_fac: "facilities", c_net: "network",
      level: "{n}-minute circle", category: "Category", cell: "H3 cell", missing_res: "Residences missing",
      missing_pop: "People missing", nearest: "Nearest (m)", rank: "Rank", name: "Name",
      gain_res: "+ Residences", gain_pop: "+ People", after: "Covered after (%)",
      distance: "Distance (m)", limit: "Threshold (m)", beyond: "beyond search",
      residence: "Residence", population: "population", met: "met", of: "of", iso: "Area reached in {m} min",
      unsnapped: "not on the walking network", count: "residences", threshold: "threshold",
      credit: "Map data © OpenStreetMap contributors, ODbL 1.0. Walking network drawn from the same data; no tiles.",
      tool: "Made with {tool}. Command:", no_sites: "No site results given (analyze --sites FILE).",
      no_gaps: "No gaps: every residence meets every category.", site: "new site",
    },
    zh: {
      layers: "图层", network: "步行路网", residences: "居住建筑", sites: "建议选址",
      facilities: "设施", gaps: "缺口", none: "不显示", all: "全部类别",
      click_hint: "点击居住建筑，查看到各类设施的步行距离及其 5/10/15 分钟可达范围。",
      coverage_title: "各类设施覆盖率（阈值内的比例，%）",
      levels_title: "生活圈层级（满足该层级全部设施的比例，%）",
      dist_title: "到最近设施的步行距离分布", worst_gaps: "缺口最严重的网格（按 H3 网格统计缺少某类设施的人口）",
      proposed_sites: "建议选址", by_pop: "按人口", by_res: "按居住建筑",
      met_legend: "满足的设施类别数",
      preset: "标准", speed: "步行速度", data_date: "数据日期", thresholds: "阈值",
      c_res: "居住建筑", c_pop: "人口", c_fac: "设施", c_net: "路网",
      level: "{n} 分钟生活圈", category: "类别", cell: "H3 网格", missing_res: "缺少的居住建筑",
      missing_pop: "缺少的人口", nearest: "最近距离（米）", rank: "序号", name: "名称",
      gain_res: "新增覆盖建筑", gain_pop: "新增覆盖人口", after: "选址后覆盖率（%）",
      distance: "距离（米）", limit: "阈值（米）", beyond: "超出搜索范围",
      residence: "居住建筑", population: "人口", met: "满足", of: "/", iso: "{m} 分钟可达范围",
      unsnapped: "不在步行路网附近", count: "栋", threshold: "阈值",
      credit: "地图数据 © OpenStreetMap 贡献者，ODbL 1.0。底图即同一数据中的步行路网，无需在线瓦片。",
      tool: "由 {tool} 生成。命令：", no_sites: "未提供选址结果（analyze --sites FILE）。",
      no_gaps: "没有缺口：所有居住建筑均满足全部类别。", site: "新选址",
    },
  }[LANG];
  const tr = (k, vars) => {
    let s = T[k] || k;
    for (const v in vars || {}) s = s.replace("{" + v + "}", vars[v]);
    return s;
  };
  const NF = new Intl.NumberFormat(LANG === "zh" ? "zh-CN" : "en-US", { maximumFractionDigits: 1 });
  const fmt = (x) => (x === null || x === undefined ? "–" : NF.format(x));
  const catName = (c) => (LANG === "zh" && c.name_zh ? c.name_zh : c.name);
  const esc = (s) => String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[ch]));

  // ---- geometry: integer micro-degrees → local metres (equirectangular) ----
  const M_PER_DEG = (Math.PI / 180) * 6371008.8;
  const lat0 = D.origin[1];
  const kx = M_PER_DEG * Math.cos((lat0 * Math.PI) / 180) * 1e-6;
  const ky = M_PER_DEG * 1e-6;
  const NC = D.categories.length;
  // Polylines come as a first point and then steps (integer micro-degrees).
  function undelta(a) {
    const g = new Float64Array(a.length);
    let x = 0, y = 0;
    for (let i = 0; i < a.length; i += 2) { x += a[i]; y += a[i + 1]; g[i] = x * kx; g[i + 1] = y * ky; }
    return g;
  }
  const nodes = undelta(D.nodes);
  const edges = D.edges.map((e) => ({ u: e[0], v: e[1], len: e[2], oneway: e[3] === 1, g: undelta(e[4]) }));
  const homes = D.homes.map((h, i) => ({
    i, x: h[0] * kx, y: h[1] * ky, pop: h[2], met: h[3], mask: h[4], edge: h[5], off: h[6], leg: h[7],
    dist: h.slice(8), name: D.home_names[i],
  }));
  const facs = D.facilities.map((f) => ({ x: f[0] * kx, y: f[1] * ky, cat: f[2], edge: f[3], off: f[4], leg: f[5], name: f[6] }));
  const gaps = D.gaps.map((g) => {
    const r = [], flat = undelta(g[4]);
    for (let i = 0; i < flat.length; i += 2) r.push([flat[i], flat[i + 1]]);
    return { cat: g[0], res: g[1], pop: g[2], nearest: g[3], ring: r, cell: g[5] };
  });
  const sites = D.sites.map((s) => Object.assign({}, s, { x: s.x * kx, y: s.y * ky, cat: D.categories.findIndex((c) => c.key === s.category) }));
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];
  const catColor = (c) => PALETTE[c % PALETTE.length];
  function metColor(met) {
    const f = NC ? met / NC : 1;
    const stops = [[0, [215, 25, 28]], [0.5, [253, 174, 97]], [0.75, [166, 217, 106]], [1, [26, 150, 65]]];
    for (let k = 1; k < stops.length; k++) {
      if (f <= stops[k][0]) {
        const [a, ca] = stops[k - 1], [b, cb] = stops[k];
        const t = (f - a) / (b - a || 1);
        return "rgb(" + ca.map((x, j) => Math.round(x + (cb[j] - x) * t)).join(",") + ")";
      }
    }
    return "rgb(26,150,65)";
  }

  // ---- the walking graph, for isochrones on click ----
  const nNodes = nodes.length / 2;
  const adjStart = new Int32Array(nNodes + 1);
  for (const e of edges) { adjStart[e.u + 1]++; if (!e.oneway) adjStart[e.v + 1]++; }
  for (let i = 0; i < nNodes; i++) adjStart[i + 1] += adjStart[i];
  const adjTo = new Int32Array(adjStart[nNodes]), adjEdge = new Int32Array(adjStart[nNodes]);
  { const fill = adjStart.slice(0, nNodes);
    edges.forEach((e, k) => {
      adjTo[fill[e.u]] = e.v; adjEdge[fill[e.u]++] = k;
      if (!e.oneway) { adjTo[fill[e.v]] = e.u; adjEdge[fill[e.v]++] = k; }
    }); }
  const dist = new Float64Array(nNodes).fill(Infinity);
  let touched = [];
  // Bounded Dijkstra from a place on an edge (integer millimetres, as the engine).
  function search(h, budget) {
    for (const n of touched) dist[n] = Infinity;
    touched = [];
    const heap = [];
    const push = (d, n) => {
      heap.push([d, n]);
      let i = heap.length - 1;
      while (i > 0) { const p = (i - 1) >> 1; if (heap[p][0] <= heap[i][0]) break; [heap[p], heap[i]] = [heap[i], heap[p]]; i = p; }
    };
    const pop = () => {
      const top = heap[0], last = heap.pop();
      if (heap.length) {
        heap[0] = last; let i = 0;
        for (;;) { const l = 2 * i + 1, r = l + 1; let m = i;
          if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
          if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
          if (m === i) break; [heap[m], heap[i]] = [heap[i], heap[m]]; i = m; }
      }
      return top;
    };
    const relax = (n, d) => { if (d <= budget && d < dist[n]) { if (dist[n] === Infinity) touched.push(n); dist[n] = d; push(d, n); } };
    const e = edges[h.edge];
    if (!e.oneway) relax(e.u, h.leg + h.off);
    relax(e.v, h.leg + e.len - h.off);
    const settled = [];
    while (heap.length) {
      const [d, n] = pop();
      if (d > dist[n]) continue;
      settled.push(n);
      for (let k = adjStart[n]; k < adjStart[n + 1]; k++) relax(adjTo[k], d + edges[adjEdge[k]].len);
    }
    return settled;
  }
  // Reached stretches within `budget` (fractions of each edge from u), after `search`.
  function stretches(h, settled, budget) {
    const out = [];
    if (h.leg > budget) return out;
    const own = edges[h.edge], left = budget - h.leg;
    if (own.len > 0) {
      const lo = own.oneway ? h.off : Math.max(0, h.off - left);
      const hi = Math.min(own.len, h.off + left);
      out.push([h.edge, lo / own.len, hi / own.len]);
    }
    for (const n of settled) {
      const d = dist[n];
      if (d > budget) break;
      for (let k = adjStart[n]; k < adjStart[n + 1]; k++) {
        const ei = adjEdge[k], e = edges[ei];
        if (e.len === 0) { out.push([ei, 0, 1]); continue; }
        const f = Math.min(1, (budget - d) / e.len);
        if (e.u === n) out.push([ei, 0, f]);
        if (e.v === n) out.push([ei, 1 - f, 1]);
      }
    }
    return out;
  }
  // The nearest facility of each category, by the same sums as the engine (mm).
  function nearestByCategory(h) {
    const best = new Array(NC).fill(Infinity);
    const budget = Math.round(D.search_budget_m * 1000);
    for (const f of facs) {
      if (f.edge < 0) continue;
      const e = edges[f.edge];
      let d = Infinity;
      if (dist[e.u] !== Infinity) d = Math.min(d, dist[e.u] + f.leg + f.off);
      if (!e.oneway && dist[e.v] !== Infinity) d = Math.min(d, dist[e.v] + f.leg + e.len - f.off);
      if (f.edge === h.edge) {
        let along = null;
        if (f.off >= h.off) along = f.off - h.off; else if (!e.oneway) along = h.off - f.off;
        if (along !== null) d = Math.min(d, h.leg + along + f.leg);
      }
      if (d <= budget && d < best[f.cat]) best[f.cat] = d;
    }
    return best;
  }

  // ---- map ----
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const view = { cx: 0, cy: 0, s: 1 };
  let selected = null, isoCanvas = null;
  const ui = {
    network: document.getElementById("show-network"), homes: document.getElementById("show-homes"),
    sites: document.getElementById("show-sites"), fac: document.getElementById("fac-cat"), gap: document.getElementById("gap-cat"),
  };
  function bounds() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const add = (x, y) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
    for (let i = 0; i < nodes.length; i += 2) add(nodes[i], nodes[i + 1]);
    for (const h of homes) add(h.x, h.y);
    if (!isFinite(x0)) return [0, 0, 1, 1];
    return [x0, y0, x1, y1];
  }
  function fit(b) {
    const w = canvas.clientWidth || 800, h = canvas.clientHeight || 600;
    view.cx = (b[0] + b[2]) / 2; view.cy = (b[1] + b[3]) / 2;
    view.s = 0.92 * Math.min(w / Math.max(b[2] - b[0], 50), h / Math.max(b[3] - b[1], 50));
  }
  const sx = (x) => (x - view.cx) * view.s + canvas.clientWidth / 2;
  const sy = (y) => -(y - view.cy) * view.s + canvas.clientHeight / 2;
  function resize() {
    const r = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(canvas.clientWidth * r));
    canvas.height = Math.max(1, Math.round(canvas.clientHeight * r));
    ctx.setTransform(r, 0, 0, r, 0, 0);
  }
  function pathPolyline(c, g, a, b) {
    // The part of polyline g between fractions a..b of its planar length.
    let total = 0;
    for (let i = 2; i < g.length; i += 2) total += Math.hypot(g[i] - g[i - 2], g[i + 1] - g[i - 1]);
    const from = a * total, to = b * total;
    let acc = 0, started = false;
    for (let i = 2; i < g.length; i += 2) {
      const x0 = g[i - 2], y0 = g[i - 1], x1 = g[i], y1 = g[i + 1];
      const l = Math.hypot(x1 - x0, y1 - y0);
      if (acc + l >= from && acc <= to) {
        const t0 = l > 0 ? Math.max(0, (from - acc) / l) : 0, t1 = l > 0 ? Math.min(1, (to - acc) / l) : 1;
        if (!started) { c.moveTo(sx(x0 + (x1 - x0) * t0), sy(y0 + (y1 - y0) * t0)); started = true; }
        c.lineTo(sx(x0 + (x1 - x0) * t1), sy(y0 + (y1 - y0) * t1));
      }
      acc += l;
    }
    if (!started && g.length >= 2) { c.moveTo(sx(g[0]), sy(g[1])); c.lineTo(sx(g[0]), sy(g[1])); }
  }
  const ISO_COLORS = ["#08519c", "#3182bd", "#9ecae1"];
  function thresholdsMm() {
    return [5, 10, 15].map((m) => Math.round((m * D.speed_kmh * 1000) / 60 * 1000));
  }
  function drawIso() {
    isoCanvas = null;
    if (!selected || selected.edge < 0) return;
    const ts = thresholdsMm();
    const settled = search(selected, ts[2]);
    const off = document.createElement("canvas");
    off.width = canvas.width; off.height = canvas.height;
    const c = off.getContext("2d");
    const r = window.devicePixelRatio || 1;
    c.setTransform(r, 0, 0, r, 0, 0);
    c.lineCap = "round"; c.lineJoin = "round";
    c.lineWidth = Math.max(2, 2 * D.buffer_m * view.s);
    for (let k = 2; k >= 0; k--) {
      c.strokeStyle = ISO_COLORS[k];
      c.beginPath();
      for (const [ei, a, b] of stretches(selected, settled, ts[k])) pathPolyline(c, edges[ei].g, a, b);
      c.stroke();
    }
    isoCanvas = off;
  }
  function draw() {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    ctx.clearRect(0, 0, w, h);
    const gc = ui.gap.value;
    if (gc !== "none") {
      for (const g of gaps) {
        if (gc !== "all" && String(g.cat) !== gc) continue;
        ctx.beginPath();
        g.ring.forEach(([x, y], k) => (k ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
        ctx.closePath();
        const a = Math.min(0.55, 0.12 + g.pop / 400);
        ctx.fillStyle = gc === "all" ? "rgba(215,25,28," + (a / 2).toFixed(3) + ")" : hexA(catColor(g.cat), a);
        ctx.fill();
        ctx.strokeStyle = "rgba(120,20,20,0.35)"; ctx.lineWidth = 0.7; ctx.stroke();
      }
    }
    if (isoCanvas) { ctx.save(); ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.globalAlpha = 0.45; ctx.drawImage(isoCanvas, 0, 0); ctx.restore(); }
    if (ui.network.checked) {
      ctx.strokeStyle = "#8a9299"; ctx.lineWidth = view.s > 2 ? 1.4 : 0.8; ctx.beginPath();
      for (const e of edges) pathPolyline(ctx, e.g, 0, 1);
      ctx.stroke();
    }
    const fc = ui.fac.value;
    if (fc !== "none") {
      for (const f of facs) {
        if (fc !== "all" && String(f.cat) !== fc) continue;
        ctx.fillStyle = catColor(f.cat); ctx.strokeStyle = "#fff"; ctx.lineWidth = 1;
        ctx.fillRect(sx(f.x) - 4, sy(f.y) - 4, 8, 8); ctx.strokeRect(sx(f.x) - 4, sy(f.y) - 4, 8, 8);
      }
    }
    if (ui.homes.checked) {
      const r = Math.max(2, Math.min(5, view.s * 4));
      for (const hm of homes) {
        ctx.beginPath(); ctx.arc(sx(hm.x), sy(hm.y), r, 0, 2 * Math.PI);
        ctx.fillStyle = hm.edge < 0 ? "#999" : metColor(hm.met); ctx.fill();
        ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.lineWidth = 0.5; ctx.stroke();
      }
    }
    if (ui.sites.checked) {
      for (const s of sites) {
        const x = sx(s.x), y = sy(s.y);
        ctx.beginPath(); ctx.moveTo(x, y - 9); ctx.lineTo(x + 7, y); ctx.lineTo(x, y + 9); ctx.lineTo(x - 7, y); ctx.closePath();
        ctx.fillStyle = catColor(Math.max(0, s.cat)); ctx.fill(); ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.stroke();
        ctx.fillStyle = "#000"; ctx.font = "bold 11px sans-serif"; ctx.fillText(String(s.rank), x + 9, y - 6);
      }
    }
    if (selected) {
      ctx.beginPath(); ctx.arc(sx(selected.x), sy(selected.y), 8, 0, 2 * Math.PI);
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2.5; ctx.stroke();
    }
    // Scale bar.
    const target = 120 / view.s, p = Math.pow(10, Math.floor(Math.log10(target)));
    const m = [1, 2, 5, 10].map((k) => k * p).filter((v) => v <= target).pop() || p;
    ctx.fillStyle = "#333"; ctx.fillRect(12, h - 22, m * view.s, 3);
    ctx.font = "11px sans-serif"; ctx.fillText(m >= 1000 ? m / 1000 + " km" : m + " m", 12, h - 27);
  }
  function hexA(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return "rgba(" + [(n >> 16) & 255, (n >> 8) & 255, n & 255].join(",") + "," + a.toFixed(3) + ")";
  }
  function redraw(iso) { if (iso) drawIso(); draw(); }

  // Interaction: drag to pan, wheel to zoom, click to select.
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, cx: view.cx, cy: view.cy, moved: false }; canvas.setPointerCapture(e.pointerId); canvas.classList.add("dragging"); });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.cx = drag.cx - dx / view.s; view.cy = drag.cy + dy / view.s;
    isoCanvas = null; // redrawn when the drag ends
    redraw(false);
  });
  canvas.addEventListener("pointerup", (e) => {
    canvas.classList.remove("dragging");
    const d = drag; drag = null;
    if (d && d.moved) { redraw(true); return; }
    const rect = canvas.getBoundingClientRect();
    select(pick(e.clientX - rect.left, e.clientY - rect.top));
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect();
    zoomAt(e.clientX - rect.left, e.clientY - rect.top, e.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  function zoomAt(px, py, f) {
    const wx = view.cx + (px - canvas.clientWidth / 2) / view.s, wy = view.cy - (py - canvas.clientHeight / 2) / view.s;
    view.s *= f;
    view.cx = wx - (px - canvas.clientWidth / 2) / view.s; view.cy = wy + (py - canvas.clientHeight / 2) / view.s;
    redraw(true);
  }
  document.getElementById("zoom-in").onclick = () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1.5);
  document.getElementById("zoom-out").onclick = () => zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1 / 1.5);
  document.getElementById("zoom-fit").onclick = () => { fit(bounds()); redraw(true); };
  function pick(px, py) {
    let best = null, bd = 100;
    for (const h of homes) {
      const d = (sx(h.x) - px) ** 2 + (sy(h.y) - py) ** 2;
      if (d < bd) { bd = d; best = h; }
    }
    return best;
  }
  function select(h) {
    selected = h;
    const info = document.getElementById("info");
    if (!h) { info.innerHTML = "<p>" + esc(tr("click_hint")) + "</p>"; redraw(true); return; }
    let html = "<h3>" + esc(h.name || tr("residence") + " #" + h.i) + "</h3><p>" + esc(tr("population")) + " " + fmt(h.pop) +
      " · " + esc(tr("met")) + " " + h.met + " " + esc(tr("of")) + " " + NC + "</p>";
    if (h.edge < 0) html += "<p class='no'>" + esc(tr("unsnapped")) + "</p>";
    else {
      html += "<p>" + ISO_COLORS.map((c, k) => "<span class='swatch sq' style='background:" + c + "'></span>" + esc(tr("iso", { m: [5, 10, 15][k] }))).join("<br>") + "</p>";
      html += "<table><tr><th>" + esc(tr("category")) + "</th><th>" + esc(tr("distance")) + "</th><th>" + esc(tr("limit")) + "</th><th></th></tr>";
      D.categories.forEach((c, k) => {
        const d = h.dist[k];
        const ok = (h.mask / Math.pow(2, k)) % 2 >= 1;
        html += "<tr><td>" + esc(catName(c)) + "</td><td class='num'>" + (d < 0 ? esc(tr("beyond")) : fmt(d / 10)) + "</td><td class='num'>" +
          fmt(c.threshold_m) + "</td><td class='" + (ok ? "ok'>✓" : "no'>✗") + "</td></tr>";
      });
      html += "</table>";
    }
    info.innerHTML = html;
    redraw(true);
  }

  // ---- header, controls, legend ----
  function setup() {
    document.querySelectorAll("[data-t]").forEach((el) => (el.textContent = tr(el.getAttribute("data-t"))));
    const presetName = LANG === "zh" && D.preset.name_zh ? D.preset.name_zh : D.preset.name;
    document.getElementById("title").textContent = D.city + " — " + presetName;
    const th = D.categories.map((c) => c.threshold_m);
    document.getElementById("subtitle").textContent = tr("preset") + ": " + presetName + " · " + tr("speed") + " " + fmt(D.speed_kmh) +
      " km/h · " + tr("thresholds") + " " + fmt(Math.min(...th)) + "–" + fmt(Math.max(...th)) + " m · " + tr("data_date") + " " + (D.data_timestamp || "–");
    const c = D.counts;
    const lv = D.levels.map((l) => [tr("level", { n: l.level }), l.population_pct + "%"]);
    document.getElementById("cards").innerHTML = [[tr("c_res"), fmt(c.residences)], [tr("c_pop"), fmt(c.population)], [tr("c_fac"), fmt(c.facilities)],
      [tr("c_net"), fmt(c.graph_edges)]].concat(lv).map(([k, v]) => "<div class='card'><b>" + esc(v) + "</b><span>" + esc(k) + "</span></div>").join("");
    const opts = (sel, allLabel) => {
      sel.innerHTML = "<option value='none'>" + esc(tr("none")) + "</option><option value='all'>" + esc(allLabel) + "</option>" +
        D.categories.map((cat, k) => "<option value='" + k + "'>" + esc(catName(cat)) + "</option>").join("");
    };
    opts(ui.fac, tr("all")); opts(ui.gap, tr("all"));
    // By default: the category with the most people missing among those that have
    // facilities (where new ones would add to a network), its gaps and facilities.
    const miss = new Array(NC).fill(0);
    for (const g of gaps) miss[g.cat] += g.pop;
    let worst = -1;
    for (let k = 0; k < NC; k++) if (D.categories[k].facilities > 0 && miss[k] > 0 && (worst < 0 || miss[k] > miss[worst])) worst = k;
    if (worst < 0 && gaps.length) worst = miss.indexOf(Math.max(...miss));
    defaultCat = Math.max(0, worst);
    ui.gap.value = worst >= 0 ? String(worst) : "none";
    ui.fac.value = worst >= 0 ? String(worst) : "all";
    for (const el of [ui.network, ui.homes, ui.sites, ui.fac, ui.gap]) el.addEventListener("change", () => redraw(false));
    const steps = [0, Math.round(NC / 4), Math.round(NC / 2), Math.round((3 * NC) / 4), NC].filter((v, k, a) => a.indexOf(v) === k);
    document.getElementById("legend").innerHTML = "<b>" + esc(tr("met_legend")) + "</b><br>" +
      steps.map((m) => "<span class='swatch' style='background:" + metColor(m) + "'></span>" + m + "/" + NC).join(" &nbsp;");
    document.getElementById("foot-credit").textContent = tr("credit");
    document.getElementById("foot-tool").textContent = tr("tool", { tool: D.tool });
    document.getElementById("foot-command").textContent = D.command;
  }
  let defaultCat = 0;

  // ---- charts (SVG) ----
  const SVGNS = "http://www.w3.org/2000/svg";
  function svg(w, h) { const s = document.createElementNS(SVGNS, "svg"); s.setAttribute("viewBox", "0 0 " + w + " " + h); return s; }
  function el(s, name, attrs, text) {
    const e = document.createElementNS(SVGNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    s.appendChild(e); return e;
  }
  function bars(container, rows, colors, labels) {
    // rows: [label, [v0, v1]] with values in %.
    const rowH = 26, left = 170, w = 560, h = rows.length * rowH + 34;
    const s = svg(w, h);
    const xs = (v) => left + ((w - left - 40) * v) / 100;
    for (const v of [0, 25, 50, 75, 100]) { el(s, "line", { x1: xs(v), x2: xs(v), y1: 4, y2: h - 26, class: "axis" }); el(s, "text", { x: xs(v), y: h - 14, "text-anchor": "middle" }, v + "%"); }
    rows.forEach(([label, vals], r) => {
      el(s, "text", { x: left - 6, y: 8 + r * rowH + 12, "text-anchor": "end" }, label);
      vals.forEach((v, k) => {
        el(s, "rect", { x: xs(0), y: 6 + r * rowH + k * 10, width: Math.max(0.5, xs(v) - xs(0)), height: 9, fill: colors[k] });
        el(s, "text", { x: xs(v) + 3, y: 6 + r * rowH + k * 10 + 8 }, fmt(v));
      });
    });
    labels.forEach((l, k) => { el(s, "rect", { x: left + k * 120, y: h - 10, width: 9, height: 9, fill: colors[k] }); el(s, "text", { x: left + k * 120 + 13, y: h - 2 }, l); });
    container.innerHTML = ""; container.appendChild(s);
  }
  function charts() {
    const colors = ["#2b6cb0", "#90cdf4"];
    bars(document.getElementById("chart-coverage"),
      D.categories.map((cat) => [catName(cat) + " (" + fmt(cat.threshold_m) + " m)", [cat.population_pct, cat.residences_pct]]),
      colors, [tr("by_pop"), tr("by_res")]);
    bars(document.getElementById("chart-levels"),
      D.levels.map((l) => [tr("level", { n: l.level }), [l.population_pct, l.residences_pct]]),
      colors, [tr("by_pop"), tr("by_res")]);
    const sel = document.getElementById("dist-cat");
    sel.innerHTML = D.categories.map((cat, k) => "<option value='" + k + "'>" + esc(catName(cat)) + "</option>").join("");
    sel.value = String(defaultCat);
    sel.addEventListener("change", () => histogram(+sel.value));
    histogram(defaultCat);
  }
  function histogram(k) {
    const cat = D.categories[k];
    const maxM = D.search_budget_m, bin = maxM / 20;
    const counts = new Array(21).fill(0);
    for (const h of homes) {
      if (h.edge < 0) continue;
      const d = h.dist[k];
      counts[d < 0 ? 20 : Math.min(19, Math.floor(d / 10 / bin))]++;
    }
    const w = 560, h = 220, left = 40, bottom = 30, bw = (w - left - 10) / 21;
    const top = Math.max(1, ...counts);
    const s = svg(w, h);
    el(s, "line", { x1: left, x2: w - 10, y1: h - bottom, y2: h - bottom, class: "axis" });
    counts.forEach((n, i) => {
      const bh = ((h - bottom - 20) * n) / top;
      const isOk = i < 20 && (i + 1) * bin <= cat.threshold_m + 1e-9;
      el(s, "rect", { x: left + i * bw + 1, y: h - bottom - bh, width: bw - 2, height: bh, fill: i === 20 ? "#999" : isOk ? "#1a9641" : "#d7191c" });
      if (n) el(s, "text", { x: left + i * bw + bw / 2, y: h - bottom - bh - 3, "text-anchor": "middle" }, fmt(n));
    });
    for (let i = 0; i <= 20; i += 4) el(s, "text", { x: left + i * bw, y: h - bottom + 14, "text-anchor": "middle" }, fmt(i * bin));
    el(s, "text", { x: left + 20 * bw + bw / 2, y: h - bottom + 14, "text-anchor": "middle" }, ">" );
    const tx = left + (cat.threshold_m / bin) * bw;
    el(s, "line", { x1: tx, x2: tx, y1: 10, y2: h - bottom, stroke: "#000", "stroke-dasharray": "4 3" });
    el(s, "text", { x: tx + 4, y: 18 }, tr("threshold") + " " + fmt(cat.threshold_m) + " m");
    el(s, "text", { x: left, y: h - 4 }, tr("distance") + " · " + tr("count") + ": " + fmt(homes.filter((x) => x.edge >= 0).length));
    const box = document.getElementById("chart-dist"); box.innerHTML = ""; box.appendChild(s);
  }

  // ---- tables ----
  function tables() {
    const gt = document.getElementById("gap-table");
    const worst = gaps.slice().sort((a, b) => b.pop - a.pop || b.res - a.res).slice(0, 20);
    if (!worst.length) gt.outerHTML = "<p>" + esc(tr("no_gaps")) + "</p>";
    else {
      gt.innerHTML = "<tr><th>" + [tr("category"), tr("cell")].map(esc).join("</th><th>") + "</th><th class='num'>" +
        [tr("missing_res"), tr("missing_pop"), tr("nearest")].map(esc).join("</th><th class='num'>") + "</th></tr>" +
        worst.map((g, r) => "<tr class='clickable' data-gap='" + r + "'><td>" + esc(catName(D.categories[g.cat])) + "</td><td>" + esc(g.cell) +
          "</td><td class='num'>" + fmt(g.res) + "</td><td class='num'>" + fmt(g.pop) + "</td><td class='num'>" + fmt(g.nearest) + "</td></tr>").join("");
      gt.querySelectorAll("tr[data-gap]").forEach((row) => row.addEventListener("click", () => {
        const g = worst[+row.getAttribute("data-gap")];
        const xs = g.ring.map((p) => p[0]), ys = g.ring.map((p) => p[1]);
        ui.gap.value = String(g.cat);
        fit([Math.min(...xs) - 300, Math.min(...ys) - 300, Math.max(...xs) + 300, Math.max(...ys) + 300]);
        redraw(true);
        canvas.scrollIntoView({ behavior: "smooth", block: "center" });
      }));
    }
    const st = document.getElementById("site-table");
    if (!sites.length) st.outerHTML = "<p>" + esc(tr("no_sites")) + "</p>";
    else {
      st.innerHTML = "<tr><th>" + [tr("rank"), tr("category"), tr("name")].map(esc).join("</th><th>") + "</th><th class='num'>" +
        [tr("gain_res"), tr("gain_pop"), tr("after")].map(esc).join("</th><th class='num'>") + "</th></tr>" +
        sites.map((s) => "<tr><td>" + s.rank + "</td><td>" + esc(s.cat >= 0 ? catName(D.categories[s.cat]) : s.category) + "</td><td>" + esc(s.name || tr("site") + " #" + s.rank) +
          "</td><td class='num'>" + fmt(s.gain_residents) + "</td><td class='num'>" + fmt(s.gain_population) + "</td><td class='num'>" + fmt(s.covered_after_pct) + "</td></tr>").join("");
    }
  }

  // ---- self-check: the page's distances equal the engine's ----
  function selfCheck(limit) {
    const snapped = homes.filter((h) => h.edge >= 0);
    const step = Math.max(1, Math.floor(snapped.length / limit));
    let checked = 0, mismatches = 0;
    for (let k = 0; k < snapped.length; k += step) {
      const h = snapped[k];
      search(h, Math.round(D.search_budget_m * 1000));
      const best = nearestByCategory(h);
      for (let c = 0; c < NC; c++) {
        const js = best[c] === Infinity ? -1 : Math.floor(best[c] / 100) + (best[c] % 100 >= 50 ? 1 : 0);
        if (js !== h.dist[c]) mismatches++;
      }
      checked++;
    }
    return { checked, mismatches };
  }

  setup();
  resize();
  fit(bounds());
  charts();
  tables();
  draw();
  window.addEventListener("resize", () => { resize(); redraw(true); });
  status.residences = homes.length;
  status.gaps = gaps.length;
  status.facilities = facs.length;
  status.edges = edges.length;
  status.categories = D.categories.map(catName);
  // `report.html#selfcheck`: the page's own search against the engine's distances
  // (the tests open it so; a reader's page does not pay for it).
  status.self_check = /selfcheck/.test(location.hash) ? selfCheck(200) : null;
  status.ready = true;
  writeStatus();
  // `report.html#home=N` opens with residence N selected (links, screenshots).
  const m = /home=(\d+)/.exec(location.hash);
  if (m && homes[+m[1]]) {
    const h = homes[+m[1]];
    select(h);
    status.selected = { home: h.i, iso_drawn: isoCanvas !== null };
    writeStatus();
  }
})();
