// livingcircle report: draws the embedded analysis with a canvas map and SVG charts.
// No third-party code; everything the page needs is in this file and the data blocks.
"use strict";
(function () {
  const status = { errors: [], timing: { script_ms: Math.round(performance.now()) } };
  window.addEventListener("error", (e) => {
    status.errors.push(String(e.message || e));
    writeStatus();
  });
  function writeStatus() {
    const el = document.getElementById("lc-status");
    if (el) el.textContent = JSON.stringify(status);
  }
  // `#selfcheck`, `#home=N`, `#zoomtest`, `#bench`, `#glyphs`, joined by `&`;
  // `points=N` and `edges=N` change the level-of-detail limits (tests).
  const HASH = {};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    if (!part) continue;
    const [k, v] = part.split("=");
    HASH[k] = v === undefined ? true : v;
  }

  // ---- data: a JSON block and binary columns (base64), decoded once ----
  const D = JSON.parse(document.getElementById("lc-data").textContent);
  const BIN = (() => {
    const text = document.getElementById("lc-bin").textContent.trim();
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
    const s = atob(text), b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  })();
  status.timing.base64_ms = Math.round(performance.now());
  function column(name) {
    const c = D.columns[name];
    if (!c) throw new Error("report data: no column " + name);
    return c;
  }
  const bytesOf = (name) => { const c = column(name); return BIN.subarray(c.offset, c.offset + c.len); };
  // A column of varints: as is ("u"), zigzag ("s"), or zigzag steps summed up ("z");
  // each value times `scale`, in a Float64Array (one array type keeps this loop fast).
  function read(name, scale) {
    const c = column(name), n = c.count, out = new Float64Array(n), k = scale || 1, kind = c.kind, B = BIN;
    let p = c.offset, acc = 0;
    for (let i = 0; i < n; i++) {
      let b = B[p++], v = b & 127;
      if (b > 127) { let m = 128; do { b = B[p++]; v += (b & 127) * m; m *= 128; } while (b > 127); }
      if (kind !== "u") { v = v % 2 ? -(v + 1) / 2 : v / 2; if (kind === "z") v = acc += v; }
      out[i] = v * k;
    }
    if (p !== c.offset + c.len) throw new Error("report data: column " + name + " is malformed");
    return out;
  }
  const bit = (plane, off, i) => (plane[off + (i >> 3)] >> (i & 7)) & 1;
  // Reads values stored in a given number of bits, most significant first.
  function bitReader(b) {
    return { b, pos: 0 };
  }
  function take(r, w) {
    const b = r.b;
    let v = 0, pos = r.pos;
    while (w > 0) {
      const off = pos & 7, n = Math.min(8 - off, w);
      v = v * (1 << n) + ((b[pos >> 3] >> (8 - off - n)) & ((1 << n) - 1));
      pos += n; w -= n;
    }
    r.pos = pos;
    return v;
  }

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
      cells_legend: "Zoomed out: one dot per H3 cell (resolution {r}); size: people, colour: share of categories met. Zoom in for residences.",
      gaps_legend: "Gap cells: people missing {c}", gaps_all: "the people missing at least one category",
      preset: "Preset", speed: "walking speed", data_date: "data", thresholds: "thresholds",
      c_res: "residences", c_pop: "population", c_fac: "facilities", c_net: "network",
      level: "{n}-minute circle", category: "Category", cell: "H3 cell", missing_res: "Residences missing",
      missing_pop: "People missing", nearest: "Nearest (m)", rank: "Rank", name: "Name",
      gain_res: "+ Residences", gain_pop: "+ People", after: "Covered after (%)",
      distance: "Distance (m)", limit: "Threshold (m)", beyond: "beyond search",
      residence: "Residence", population: "population", met: "met", of: "of", iso: "Area reached in {m} min",
      unsnapped: "not on the walking network", count: "residences", threshold: "threshold",
      cell_title: "H3 cell, resolution {r}", share: "share of categories met (by people)",
      missing_any: "people missing at least one category", cell_hint: "Zoom in to see and click its residences.",
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
      cells_legend: "缩小时每个 H3 网格（{r} 级）显示为一个圆点：大小表示人口，颜色表示满足的设施类别比例。放大可查看居住建筑。",
      gaps_legend: "缺口网格：缺少{c}的人口", gaps_all: "至少缺少一类设施的人口",
      preset: "标准", speed: "步行速度", data_date: "数据日期", thresholds: "阈值",
      c_res: "居住建筑", c_pop: "人口", c_fac: "设施", c_net: "路网",
      level: "{n} 分钟生活圈", category: "类别", cell: "H3 网格", missing_res: "缺少的居住建筑",
      missing_pop: "缺少的人口", nearest: "最近距离（米）", rank: "序号", name: "名称",
      gain_res: "新增覆盖建筑", gain_pop: "新增覆盖人口", after: "选址后覆盖率（%）",
      distance: "距离（米）", limit: "阈值（米）", beyond: "超出搜索范围",
      residence: "居住建筑", population: "人口", met: "满足", of: "/", iso: "{m} 分钟可达范围",
      unsnapped: "不在步行路网附近", count: "栋", threshold: "阈值",
      cell_title: "H3 网格（{r} 级）", share: "满足的设施类别比例（按人口）",
      missing_any: "至少缺少一类设施的人口", cell_hint: "放大后可查看并点击其中的居住建筑。",
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
  const kx = M_PER_DEG * Math.cos((D.lat_ref * Math.PI) / 180) * 1e-6;
  const ky = M_PER_DEG * 1e-6;
  const NC = D.categories.length;
  const LOD = {
    points: HASH.points !== undefined ? +HASH.points : D.lod.point_limit,
    edges: HASH.edges !== undefined ? +HASH.edges : D.lod.edge_limit,
    cellPx: D.lod.min_cell_px,
  };

  // Nodes and edges (the full network: the page searches on it).
  // Nodes, residences and inner vertices are on a grid of G micro-degrees.
  const G = D.geom_step;
  const NN = D.network.nodes, NE = D.network.edges;
  const nodeQx = read("node.x"), nodeQy = read("node.y");
  const nodeX = new Float64Array(NN), nodeY = new Float64Array(NN);
  for (let i = 0; i < NN; i++) { nodeX[i] = nodeQx[i] * G * kx; nodeY[i] = nodeQy[i] * G * ky; }
  const eu = new Int32Array(NE), ev = new Int32Array(NE), elen = read("edge.len"), eone = new Uint8Array(NE);
  const gStart = new Int32Array(NE + 1);
  let gX, gY;
  const ebb = new Float64Array(4 * NE);
  {
    const a = read("edge.a"), b = read("edge.b"), nv = read("edge.nv");
    const rev = bytesOf("edge.rev"), one = bytesOf("edge.oneway");
    let lo = 0;
    for (let e = 0; e < NE; e++) {
      lo += a[e];
      const hi = lo + b[e], r = bit(rev, 0, e);
      eu[e] = r ? hi : lo; ev[e] = r ? lo : hi; eone[e] = bit(one, 0, e);
      gStart[e + 1] = gStart[e] + nv[e] + 2;
    }
    gX = new Float64Array(gStart[NE]); gY = new Float64Array(gStart[NE]);
    const dx = read("edge.gx"), dy = read("edge.gy");
    let j = 0;
    for (let e = 0; e < NE; e++) {
      let k = gStart[e], qx = nodeQx[eu[e]], qy = nodeQy[eu[e]];
      gX[k] = nodeX[eu[e]]; gY[k] = nodeY[eu[e]];
      for (let i = 0; i < nv[e]; i++, j++) { qx += dx[j]; qy += dy[j]; k++; gX[k] = qx * G * kx; gY[k] = qy * G * ky; }
      k++; gX[k] = nodeX[ev[e]]; gY[k] = nodeY[ev[e]];
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let q = gStart[e]; q < gStart[e + 1]; q++) { x0 = Math.min(x0, gX[q]); x1 = Math.max(x1, gX[q]); y0 = Math.min(y0, gY[q]); y1 = Math.max(y1, gY[q]); }
      ebb[4 * e] = x0; ebb[4 * e + 1] = y0; ebb[4 * e + 2] = x1; ebb[4 * e + 3] = y1;
    }
  }

  // Residences: position, people, snap (edge -1: unsnapped), categories met.
  const NH = D.n.residences;
  const hx = read("res.x", G * kx), hy = read("res.y", G * ky);
  const hpop = read("res.pop", 0.1);
  const hedge = read("res.edge"), hoff = new Float64Array(NH), hleg = new Float64Array(NH);
  {
    // Offsets in as many bits as their edge's length needs; legs as Exp-Golomb codes.
    const offs = bitReader(bytesOf("res.off")), legs = bitReader(bytesOf("res.leg")), K = D.leg_order;
    for (let i = 0; i < NH; i++) {
      if (hedge[i] < 0) continue;
      hoff[i] = take(offs, 32 - Math.clz32(elen[hedge[i]]));
      let z = 0;
      while (take(legs, 1) === 0) z++;
      hleg[i] = 2 ** (z + K) + take(legs, z + K) - 2 ** K;
    }
  }
  const PB = (NH + 7) >> 3;
  const planes = new Uint8Array(NC * PB), hmet = new Uint8Array(NH);
  {
    const runs = read("res.met");
    let r = 0;
    for (let c = 0; c < NC; c++) {
      let i = 0, set = false;
      do {
        const n = runs[r++];
        if (set) for (let j = i; j < i + n; j++) { planes[c * PB + (j >> 3)] |= 1 << (j & 7); hmet[j]++; }
        i += n; set = !set;
      } while (i < NH);
    }
  }
  const nameOf = new Map();
  read("res.name_id").forEach((id, k) => nameOf.set(id, D.names[k]));

  // Facilities.
  const NFAC = D.n.facilities;
  const fx = read("fac.x", kx), fy = read("fac.y", ky), fcat = read("fac.cat");
  // Access points (an area has many): facility, edge, offset and leg of each.
  const afac = read("acc.fac"), aedge = read("acc.edge"), aoff = read("acc.off"), aleg = read("acc.leg");
  const NACC = afac.length;

  // H3 levels, finest first: per cell its centre, outline, people and gaps.
  const cellLevels = D.h3.map((meta, k) => {
    const p = "h3." + k + ".", n = meta.cells;
    const L = { res: meta.res, n, diam: meta.diam_m, maxPop: meta.max_pop };
    L.cx = read(p + "cx", kx); L.cy = read(p + "cy", ky);
    const nv = read(p + "nv"), vx = read(p + "vx", kx), vy = read(p + "vy", ky);
    L.vStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) L.vStart[i + 1] = L.vStart[i] + nv[i];
    L.vx = new Float64Array(vx.length); L.vy = new Float64Array(vy.length);
    L.bb = new Float64Array(4 * n);
    for (let i = 0; i < n; i++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let q = L.vStart[i]; q < L.vStart[i + 1]; q++) {
        const x = (L.vx[q] = L.cx[i] + vx[q]), y = (L.vy[q] = L.cy[i] + vy[q]);
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
      L.bb[4 * i] = x0; L.bb[4 * i + 1] = y0; L.bb[4 * i + 2] = x1; L.bb[4 * i + 3] = y1;
    }
    L.res_n = read(p + "res"); L.pop = read(p + "pop", 0.1);
    L.share = read(p + "share", 0.001);
    L.missRes = read(p + "miss_res"); L.missPop = read(p + "miss_pop", 0.1);
    L.gapPop = new Float64Array(n * NC);
    const mask = (L.mask = bytesOf(p + "gap_mask")), vals = read(p + "gap_pop", 0.1), MB = (L.MB = (n + 7) >> 3);
    let j = 0;
    for (let i = 0; i < n; i++) for (let c = 0; c < NC; c++) if (bit(mask, c * MB, i)) L.gapPop[i * NC + c] = vals[j++];
    return L;
  });
  const finest = cellLevels[0];

  // Simplified network levels (zoomed out), finest first.
  const netLevels = D.net_levels.map((meta, k) => {
    const p = "net." + k + ".", nv = read(p + "nv");
    const L = { p: meta.p_m, n: nv.length };
    L.start = new Int32Array(L.n + 1);
    for (let i = 0; i < L.n; i++) L.start[i + 1] = L.start[i] + nv[i];
    L.x = read(p + "x", meta.step[0] * kx); L.y = read(p + "y", meta.step[1] * ky);
    L.bb = new Float64Array(4 * L.n);
    for (let i = 0; i < L.n; i++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let q = L.start[i]; q < L.start[i + 1]; q++) { x0 = Math.min(x0, L.x[q]); x1 = Math.max(x1, L.x[q]); y0 = Math.min(y0, L.y[q]); y1 = Math.max(y1, L.y[q]); }
      L.bb[4 * i] = x0; L.bb[4 * i + 1] = y0; L.bb[4 * i + 2] = x1; L.bb[4 * i + 3] = y1;
    }
    return L;
  });
  const sites = D.sites.map((s) => Object.assign({}, s, { x: s.x * kx, y: s.y * ky, cat: D.categories.findIndex((c) => c.key === s.category) }));
  status.timing.decode_ms = Math.round(performance.now());

  // ---- tile indexes: a uniform grid over the data; each item in the tiles its box meets ----
  const BX0 = D.bounds[0] * kx, BY0 = D.bounds[1] * ky, BX1 = D.bounds[2] * kx, BY1 = D.bounds[3] * ky;
  function tiling(n, per) {
    const w = Math.max(BX1 - BX0, 1), h = Math.max(BY1 - BY0, 1);
    const tiles = Math.min(1 << 16, Math.max(1, Math.ceil(n / per)));
    const size = Math.sqrt((w * h) / tiles);
    return { size, cols: Math.max(1, Math.ceil(w / size)), rows: Math.max(1, Math.ceil(h / size)) };
  }
  const clampT = (v, n) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  function tileRange(t, x0, y0, x1, y1) {
    return [clampT(Math.floor((x0 - BX0) / t.size), t.cols), clampT(Math.floor((y0 - BY0) / t.size), t.rows),
      clampT(Math.floor((x1 - BX0) / t.size), t.cols), clampT(Math.floor((y1 - BY0) / t.size), t.rows)];
  }
  // Items with boxes `bb` (4 per item).
  function boxIndex(n, bb, per) {
    const t = tiling(n, per), nt = t.cols * t.rows, start = new Int32Array(nt + 1);
    const each = (f) => {
      for (let i = 0; i < n; i++) {
        const r = tileRange(t, bb[4 * i], bb[4 * i + 1], bb[4 * i + 2], bb[4 * i + 3]);
        for (let ty = r[1]; ty <= r[3]; ty++) for (let tx = r[0]; tx <= r[2]; tx++) f(ty * t.cols + tx, i);
      }
    };
    each((k) => start[k + 1]++);
    for (let k = 0; k < nt; k++) start[k + 1] += start[k];
    const items = new Int32Array(start[nt]), fill = start.slice(0, nt);
    each((k, i) => { items[fill[k]++] = i; });
    return { t, start, items, bb, stamp: new Uint32Array(n), gen: 0 };
  }
  const meets = (bb, i, b) => bb[4 * i] <= b[2] && bb[4 * i + 2] >= b[0] && bb[4 * i + 1] <= b[3] && bb[4 * i + 3] >= b[1];
  // Calls f(i) once for each item whose box meets box b.
  function visitBoxes(ix, b, f) {
    const r = tileRange(ix.t, b[0], b[1], b[2], b[3]), gen = ++ix.gen;
    for (let ty = r[1]; ty <= r[3]; ty++) for (let tx = r[0]; tx <= r[2]; tx++) {
      const k = ty * ix.t.cols + tx;
      for (let q = ix.start[k]; q < ix.start[k + 1]; q++) {
        const i = ix.items[q];
        if (ix.stamp[i] === gen) continue;
        ix.stamp[i] = gen;
        if (meets(ix.bb, i, b)) f(i);
      }
    }
  }
  // Items in the tiles box b meets (boxes spanning tiles count once per tile).
  function roughCount(ix, b) {
    const r = tileRange(ix.t, b[0], b[1], b[2], b[3]);
    let n = 0;
    for (let ty = r[1]; ty <= r[3]; ty++) n += ix.start[ty * ix.t.cols + r[2] + 1] - ix.start[ty * ix.t.cols + r[0]];
    return n;
  }
  // Points: each in one tile.
  function pointIndex(xs, ys, per) {
    const n = xs.length, t = tiling(n, per), nt = t.cols * t.rows, start = new Int32Array(nt + 1), tile = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      tile[i] = clampT(Math.floor((ys[i] - BY0) / t.size), t.rows) * t.cols + clampT(Math.floor((xs[i] - BX0) / t.size), t.cols);
      start[tile[i] + 1]++;
    }
    for (let k = 0; k < nt; k++) start[k + 1] += start[k];
    const items = new Int32Array(n), fill = start.slice(0, nt);
    for (let i = 0; i < n; i++) items[fill[tile[i]]++] = i;
    return { t, start, items, xs, ys };
  }
  const inside = (x, y, b) => x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
  // Calls f(i) for each point in box b; stops (returning false) when f returns false.
  function visitPoints(ix, b, f) {
    const r = tileRange(ix.t, b[0], b[1], b[2], b[3]), s = ix.t.size, eps = 1e-6;
    for (let ty = r[1]; ty <= r[3]; ty++) for (let tx = r[0]; tx <= r[2]; tx++) {
      const k = ty * ix.t.cols + tx;
      // A tile well inside the box needs no test per point.
      const whole = BX0 + tx * s - eps >= b[0] && BX0 + (tx + 1) * s + eps <= b[2] && BY0 + ty * s - eps >= b[1] && BY0 + (ty + 1) * s + eps <= b[3];
      for (let q = ix.start[k]; q < ix.start[k + 1]; q++) {
        const i = ix.items[q];
        if ((whole || inside(ix.xs[i], ix.ys[i], b)) && f(i) === false) return false;
      }
    }
    return true;
  }
  function countPoints(ix, b, limit) {
    const r = tileRange(ix.t, b[0], b[1], b[2], b[3]), s = ix.t.size, eps = 1e-6;
    let n = 0;
    for (let ty = r[1]; ty <= r[3]; ty++) for (let tx = r[0]; tx <= r[2]; tx++) {
      const k = ty * ix.t.cols + tx;
      if (BX0 + tx * s - eps >= b[0] && BX0 + (tx + 1) * s + eps <= b[2] && BY0 + ty * s - eps >= b[1] && BY0 + (ty + 1) * s + eps <= b[3]) n += ix.start[k + 1] - ix.start[k];
      else for (let q = ix.start[k]; q < ix.start[k + 1]; q++) if (inside(ix.xs[ix.items[q]], ix.ys[ix.items[q]], b)) n++;
      if (n > limit) return n;
    }
    return n;
  }
  const homeIx = pointIndex(hx, hy, 64);
  const facIx = pointIndex(fx, fy, 64);
  const edgeIx = boxIndex(NE, ebb, 32);
  for (const L of cellLevels) L.ix = boxIndex(L.n, L.bb, 8);
  for (const L of netLevels) L.ix = boxIndex(L.n, L.bb, 16);
  status.timing.index_ms = Math.round(performance.now());

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];
  const catColor = (c) => PALETTE[c % PALETTE.length];
  // Red (none met) → green (all met), by the share of categories met.
  function shareRgb(f) {
    const stops = [[0, [215, 25, 28]], [0.5, [253, 174, 97]], [0.75, [166, 217, 106]], [1, [26, 150, 65]]];
    for (let k = 1; k < stops.length; k++) {
      if (f <= stops[k][0]) {
        const [a, ca] = stops[k - 1], [b, cb] = stops[k];
        const t = (f - a) / (b - a || 1);
        return ca.map((x, j) => Math.round(x + (cb[j] - x) * t));
      }
    }
    return [26, 150, 65];
  }
  const metColor = (met) => "rgb(" + shareRgb(NC ? met / NC : 1).join(",") + ")";
  // Packed pixels (little-endian RGBA) for the point layer.
  const px32 = (rgb, k) => (255 << 24 | Math.round(rgb[2] * (k || 1)) << 16 | Math.round(rgb[1] * (k || 1)) << 8 | Math.round(rgb[0] * (k || 1))) >>> 0;
  const hexRgb = (hex) => { const n = parseInt(hex.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; };
  const MET_FILL = [], MET_EDGE = [];
  for (let m = 0; m <= NC; m++) { const c = shareRgb(NC ? m / NC : 1); MET_FILL.push(px32(c)); MET_EDGE.push(px32(c, 0.65)); }
  const SHARE_FILL = [], SHARE_EDGE = [];
  for (let k = 0; k <= 100; k++) { const c = shareRgb(k / 100); SHARE_FILL.push(px32(c)); SHARE_EDGE.push(px32(c, 0.65)); }
  const GREY = px32([153, 153, 153]), GREY_EDGE = px32([153, 153, 153], 0.65), WHITE = px32([255, 255, 255]);
  const CAT_FILL = PALETTE.map((h) => px32(hexRgb(h)));

  // ---- the walking graph, for distances and isochrones on click ----
  const adjStart = new Int32Array(NN + 1);
  for (let e = 0; e < NE; e++) { adjStart[eu[e] + 1]++; if (!eone[e]) adjStart[ev[e] + 1]++; }
  for (let i = 0; i < NN; i++) adjStart[i + 1] += adjStart[i];
  const adjTo = new Int32Array(adjStart[NN]), adjEdge = new Int32Array(adjStart[NN]);
  { const fill = adjStart.slice(0, NN);
    for (let e = 0; e < NE; e++) {
      adjTo[fill[eu[e]]] = ev[e]; adjEdge[fill[eu[e]]++] = e;
      if (!eone[e]) { adjTo[fill[ev[e]]] = eu[e]; adjEdge[fill[ev[e]]++] = e; }
    } }
  const dist = new Float64Array(NN).fill(Infinity);
  let touched = [];
  let heapD = new Float64Array(1024), heapN = new Int32Array(1024), heapSize = 0;
  function heapPush(d, n) {
    if (heapSize === heapD.length) {
      const d2 = new Float64Array(2 * heapSize), n2 = new Int32Array(2 * heapSize);
      d2.set(heapD); n2.set(heapN); heapD = d2; heapN = n2;
    }
    let i = heapSize++;
    while (i > 0) { const p = (i - 1) >> 1; if (heapD[p] <= d) break; heapD[i] = heapD[p]; heapN[i] = heapN[p]; i = p; }
    heapD[i] = d; heapN[i] = n;
  }
  function heapPop() {
    const top = heapN[0], d = heapD[--heapSize], n = heapN[heapSize];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = -1;
      if (l < heapSize) m = r < heapSize && heapD[r] < heapD[l] ? r : l;
      if (m < 0 || heapD[m] >= d) break;
      heapD[i] = heapD[m]; heapN[i] = heapN[m]; i = m;
    }
    heapD[i] = d; heapN[i] = n;
    return top;
  }
  // Bounded Dijkstra from a place on an edge (integer millimetres, as the engine).
  function search(h, budget) {
    for (const n of touched) dist[n] = Infinity;
    touched = [];
    heapSize = 0;
    const relax = (n, d) => { if (d <= budget && d < dist[n]) { if (dist[n] === Infinity) touched.push(n); dist[n] = d; heapPush(d, n); } };
    const e = h.edge;
    if (!eone[e]) relax(eu[e], h.leg + h.off);
    relax(ev[e], h.leg + elen[e] - h.off);
    const settled = [];
    while (heapSize) {
      const d = heapD[0], n = heapPop();
      if (d > dist[n]) continue;
      settled.push(n);
      for (let k = adjStart[n]; k < adjStart[n + 1]; k++) relax(adjTo[k], d + elen[adjEdge[k]]);
    }
    return settled;
  }
  // Reached stretches within `budget` (fractions of each edge from u), after `search`.
  function stretches(h, settled, budget) {
    const out = [];
    if (h.leg > budget) return out;
    const own = h.edge, len = elen[own], left = budget - h.leg;
    if (len > 0) {
      const lo = eone[own] ? h.off : Math.max(0, h.off - left);
      const hi = Math.min(len, h.off + left);
      out.push([own, lo / len, hi / len]);
    }
    for (const n of settled) {
      const d = dist[n];
      if (d > budget) break;
      for (let k = adjStart[n]; k < adjStart[n + 1]; k++) {
        const e = adjEdge[k];
        if (elen[e] === 0) { out.push([e, 0, 1]); continue; }
        const f = Math.min(1, (budget - d) / elen[e]);
        if (eu[e] === n) out.push([e, 0, f]);
        if (ev[e] === n) out.push([e, 1 - f, 1]);
      }
    }
    return out;
  }
  // The nearest facility of each category, by the same sums as the engine (mm).
  function nearestByCategory(h) {
    const best = new Array(NC).fill(Infinity);
    const budget = D.budget_mm;
    for (let a = 0; a < NACC; a++) {
      const e = aedge[a], off = aoff[a], leg = aleg[a], c = fcat[afac[a]];
      let d = Infinity;
      if (dist[eu[e]] !== Infinity) d = Math.min(d, dist[eu[e]] + leg + off);
      if (!eone[e] && dist[ev[e]] !== Infinity) d = Math.min(d, dist[ev[e]] + leg + elen[e] - off);
      if (e === h.edge) {
        let along = null;
        if (off >= h.off) along = off - h.off; else if (!eone[e]) along = h.off - off;
        if (along !== null) d = Math.min(d, h.leg + along + leg);
      }
      if (d <= budget && d < best[c]) best[c] = d;
    }
    return best;
  }
  const toDm = (mm) => Math.floor(mm / 100) + (mm % 100 >= 50 ? 1 : 0);
  const home = (i) => ({ i, x: hx[i], y: hy[i], pop: hpop[i], met: hmet[i], edge: hedge[i], off: hoff[i], leg: hleg[i], name: nameOf.get(i) });
  const metOk = (i, c) => bit(planes, c * PB, i) === 1;

  // ---- map ----
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const view = { cx: 0, cy: 0, s: 1 };
  // The canvas' size in CSS pixels (read from the layout only on resize: reading it
  // per point would cost a layout query each time).
  let CW = canvas.clientWidth, CH = canvas.clientHeight;
  let fitScale = 1;
  let selected = null, isoCanvas = null, lastFrame = null;
  const ui = {
    network: document.getElementById("show-network"), homes: document.getElementById("show-homes"),
    sites: document.getElementById("show-sites"), fac: document.getElementById("fac-cat"), gap: document.getElementById("gap-cat"),
  };
  const bounds = () => (BX1 > BX0 || BY1 > BY0 ? [BX0, BY0, BX1, BY1] : [BX0 - 500, BY0 - 500, BX0 + 500, BY0 + 500]);
  function fit(b) {
    const w = CW || 800, h = CH || 600;
    view.cx = (b[0] + b[2]) / 2; view.cy = (b[1] + b[3]) / 2;
    view.s = 0.92 * Math.min(w / Math.max(b[2] - b[0], 50), h / Math.max(b[3] - b[1], 50));
  }
  const sx = (x) => (x - view.cx) * view.s + CW / 2;
  const sy = (y) => -(y - view.cy) * view.s + CH / 2;
  function viewBox() {
    const w = CW / 2 / view.s, h = CH / 2 / view.s;
    return [view.cx - w, view.cy - h, view.cx + w, view.cy + h];
  }
  const DPR = () => window.devicePixelRatio || 1;
  const layer = { canvas: document.createElement("canvas"), img: null, buf: null };
  function resize() {
    const r = DPR();
    CW = CW; CH = CH;
    canvas.width = Math.max(1, Math.round(CW * r));
    canvas.height = Math.max(1, Math.round(CH * r));
    ctx.setTransform(r, 0, 0, r, 0, 0);
    layer.canvas.width = canvas.width; layer.canvas.height = canvas.height;
    layer.img = layer.canvas.getContext("2d").createImageData(canvas.width, canvas.height);
    layer.buf = new Uint32Array(layer.img.data.buffer);
  }
  // Pixel stamps (device pixels): a disc with a darker rim, a square with a white rim.
  const discs = new Map();
  function discStamp(r) {
    const key = Math.round(r * 2) / 2;
    if (discs.has(key)) return discs.get(key);
    const R = Math.ceil(key), o = [];
    for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 <= key * key) o.push(dx, dy, d2 > (key - 1) * (key - 1) ? 1 : 0);
    }
    discs.set(key, o);
    return o;
  }
  function stamp(o, x, y, fill, rim) {
    const W = layer.img.width, H = layer.img.height, b = layer.buf;
    x = Math.round(x); y = Math.round(y);
    for (let k = 0; k < o.length; k += 3) {
      const X = x + o[k], Y = y + o[k + 1];
      if (X >= 0 && Y >= 0 && X < W && Y < H) b[Y * W + X] = o[k + 2] ? rim : fill;
    }
  }
  function square(x, y, half, fill) {
    const W = layer.img.width, H = layer.img.height, b = layer.buf;
    x = Math.round(x); y = Math.round(y);
    for (let Y = Math.max(0, y - half); Y < Math.min(H, y + half); Y++) for (let X = Math.max(0, x - half); X < Math.min(W, x + half); X++) {
      b[Y * W + X] = X === x - half || Y === y - half || X === x + half - 1 || Y === y + half - 1 ? WHITE : fill;
    }
  }
  function polyline(c, xs, ys, a, b) {
    c.moveTo(sx(xs[a]), sy(ys[a]));
    for (let q = a + 1; q < b; q++) c.lineTo(sx(xs[q]), sy(ys[q]));
  }
  function edgePart(c, e, a, b) {
    // The part of edge e between fractions a..b of its planar length.
    const g0 = gStart[e], g1 = gStart[e + 1];
    let total = 0;
    for (let q = g0 + 1; q < g1; q++) total += Math.hypot(gX[q] - gX[q - 1], gY[q] - gY[q - 1]);
    const from = a * total, to = b * total;
    let acc = 0, started = false;
    for (let q = g0 + 1; q < g1; q++) {
      const x0 = gX[q - 1], y0 = gY[q - 1], x1 = gX[q], y1 = gY[q];
      const l = Math.hypot(x1 - x0, y1 - y0);
      if (acc + l >= from && acc <= to) {
        const t0 = l > 0 ? Math.max(0, (from - acc) / l) : 0, t1 = l > 0 ? Math.min(1, (to - acc) / l) : 1;
        if (!started) { c.moveTo(sx(x0 + (x1 - x0) * t0), sy(y0 + (y1 - y0) * t0)); started = true; }
        c.lineTo(sx(x0 + (x1 - x0) * t1), sy(y0 + (y1 - y0) * t1));
      }
      acc += l;
    }
    if (!started) { c.moveTo(sx(gX[g0]), sy(gY[g0])); c.lineTo(sx(gX[g0]), sy(gY[g0])); }
  }
  const ISO_COLORS = ["#08519c", "#3182bd", "#9ecae1"];
  const thresholdsMm = () => [5, 10, 15].map((m) => Math.round(((m * D.speed_kmh * 1000) / 60) * 1000));
  function drawIso() {
    isoCanvas = null;
    if (!selected || selected.edge < 0) return;
    const ts = thresholdsMm();
    const settled = search(selected, ts[2]);
    const off = document.createElement("canvas");
    off.width = canvas.width; off.height = canvas.height;
    const c = off.getContext("2d");
    const r = DPR();
    c.setTransform(r, 0, 0, r, 0, 0);
    c.lineCap = "round"; c.lineJoin = "round";
    c.lineWidth = Math.max(2, 2 * D.buffer_m * view.s);
    for (let k = 2; k >= 0; k--) {
      c.strokeStyle = ISO_COLORS[k];
      c.beginPath();
      for (const [e, a, b] of stretches(selected, settled, ts[k])) edgePart(c, e, a, b);
      c.stroke();
    }
    isoCanvas = off;
  }
  // The H3 level whose cells are at least min_cell_px wide at scale s (else the coarsest).
  function cellLevel(s) {
    for (const L of cellLevels) if (L.diam * s >= LOD.cellPx) return L;
    return cellLevels[cellLevels.length - 1] || null;
  }
  const homeRadius = () => Math.max(2, Math.min(5, view.s * 4));
  // What a frame draws, decided from the view alone.
  function plan() {
    const box = viewBox(), pad = homeRadius() / view.s;
    const pbox = [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad];
    const L = cellLevel(view.s);
    const points = !L || countPoints(homeIx, pbox, LOD.points) <= LOD.points;
    const full = !netLevels.length || roughCount(edgeIx, box) <= LOD.edges;
    let N = null;
    if (!full) { N = netLevels[0]; for (const l of netLevels) if (l.p <= 1 / view.s) N = l; }
    return { box, pbox, L, points, net: N };
  }
  const gapOf = (L, i, gc) => (gc === "all" ? L.missPop[i] : L.gapPop[i * NC + +gc]);
  // A gap cell: some residence in it misses the category (or any category).
  const isGap = (L, i, gc) => (gc === "all" ? L.missRes[i] > 0 : bit(L.mask, +gc * L.MB, i) === 1);
  function draw() {
    const t0 = performance.now();
    const w = CW, h = CH;
    ctx.clearRect(0, 0, w, h);
    const P = plan(), box = P.box, L = P.L;
    const st = { s: view.s, mode: P.points ? "points" : "cells", res: L ? L.res : null, gap_cat: ui.gap.value,
      homes: 0, cells: 0, gap_cells: 0, facilities: 0, net: P.net ? P.net.p : "full", edges: 0 };
    // Gap cells of the chosen category (or people missing any), at the level that fits.
    const gc = ui.gap.value;
    if (gc !== "none" && L) {
      const norm = Math.pow(7, cellLevels[0].res - L.res);
      const byAlpha = new Map(), outline = new Path2D();
      visitBoxes(L.ix, box, (i) => {
        if (!isGap(L, i, gc)) return;
        const v = gapOf(L, i, gc);
        st.gap_cells++;
        const a = Math.round(100 * Math.min(0.55, 0.12 + v / norm / 400)) / 100;
        if (!byAlpha.has(a)) byAlpha.set(a, new Path2D());
        const p = byAlpha.get(a);
        for (const path of [p, outline]) {
          for (let q = L.vStart[i]; q < L.vStart[i + 1]; q++) (q === L.vStart[i] ? path.moveTo : path.lineTo).call(path, sx(L.vx[q]), sy(L.vy[q]));
          path.closePath();
        }
      });
      const rgb = gc === "all" ? [215, 25, 28] : hexRgb(catColor(+gc));
      for (const [a, p] of byAlpha) { ctx.fillStyle = "rgba(" + rgb.join(",") + "," + a + ")"; ctx.fill(p); }
      ctx.strokeStyle = "rgba(120,20,20,0.35)"; ctx.lineWidth = 0.7; ctx.stroke(outline);
    }
    st.t_gaps = performance.now() - t0;
    if (isoCanvas) { ctx.save(); ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.globalAlpha = 0.45; ctx.drawImage(isoCanvas, 0, 0); ctx.restore(); }
    if (ui.network.checked) {
      ctx.strokeStyle = "#8a9299"; ctx.lineWidth = view.s > 2 ? 1.4 : 0.8; ctx.beginPath();
      if (!P.net) visitBoxes(edgeIx, box, (e) => { st.edges++; polyline(ctx, gX, gY, gStart[e], gStart[e + 1]); });
      else visitBoxes(P.net.ix, box, (i) => { st.edges++; polyline(ctx, P.net.x, P.net.y, P.net.start[i], P.net.start[i + 1]); });
      ctx.stroke();
    }
    st.t_net = performance.now() - t0;
    // Facilities and residences (or cells) as pixels, drawn over the vector layers.
    layer.buf.fill(0);
    const r = DPR(), ox = (w / 2 - view.cx * view.s) * r, oy = (h / 2 + view.cy * view.s) * r, k = view.s * r;
    const fc = ui.fac.value;
    if (fc !== "none") {
      const fpad = 4 / view.s, fbox = [box[0] - fpad, box[1] - fpad, box[2] + fpad, box[3] + fpad], half = Math.round(4 * r);
      visitPoints(facIx, fbox, (f) => {
        if (fc !== "all" && fcat[f] !== +fc) return;
        st.facilities++;
        square(fx[f] * k + ox, oy - fy[f] * k, half, CAT_FILL[fcat[f] % CAT_FILL.length]);
      });
    }
    if (ui.homes.checked) {
      if (P.points) {
        const o = discStamp(homeRadius() * r);
        visitPoints(homeIx, P.pbox, (i) => {
          st.homes++;
          const unsn = hedge[i] < 0;
          stamp(o, hx[i] * k + ox, oy - hy[i] * k, unsn ? GREY : MET_FILL[hmet[i]], unsn ? GREY_EDGE : MET_EDGE[hmet[i]]);
        });
      } else {
        const rmax = Math.max(1.5, 0.42 * L.diam * view.s);
        visitBoxes(L.ix, box, (i) => {
          st.cells++;
          const rr = Math.max(1.5, rmax * Math.sqrt(L.pop[i] / (L.maxPop || 1)));
          const q = Math.round(100 * L.share[i]);
          stamp(discStamp(rr * r), L.cx[i] * k + ox, oy - L.cy[i] * k, SHARE_FILL[q], SHARE_EDGE[q]);
        });
      }
    }
    layer.canvas.getContext("2d").putImageData(layer.img, 0, 0);
    ctx.save(); ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.drawImage(layer.canvas, 0, 0); ctx.restore();
    st.t_pix = performance.now() - t0;
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
    const m = [1, 2, 5, 10].map((v) => v * p).filter((v) => v <= target).pop() || p;
    ctx.fillStyle = "#333"; ctx.fillRect(12, h - 22, m * view.s, 3);
    ctx.font = "11px sans-serif"; ctx.fillText(m >= 1000 ? m / 1000 + " km" : m + " m", 12, h - 27);
    if (!lastFrame || lastFrame.mode !== st.mode || lastFrame.res !== st.res || lastFrame.gap_cat !== st.gap_cat) legend(st);
    st.ms = performance.now() - t0;
    st.box = box; st.pbox = P.pbox;
    lastFrame = st;
    return st;
  }
  function redraw(iso) { if (iso) drawIso(); draw(); }
  let pending = null;
  // Interaction redraws wait for the next animation frame (one per frame).
  function scheduleRedraw(iso) {
    if (pending) { pending.iso = pending.iso || iso; return; }
    pending = { iso };
    requestAnimationFrame(() => { const p = pending; pending = null; redraw(p.iso); });
  }

  // Interaction: drag to pan, wheel to zoom, click to select.
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, cx: view.cx, cy: view.cy, moved: false }; canvas.setPointerCapture(e.pointerId); canvas.classList.add("dragging"); });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.cx = drag.cx - dx / view.s; view.cy = drag.cy + dy / view.s;
    isoCanvas = null; // redrawn when the drag ends
    scheduleRedraw(false);
  });
  canvas.addEventListener("pointerup", (e) => {
    canvas.classList.remove("dragging");
    const d = drag; drag = null;
    if (d && d.moved) { scheduleRedraw(true); return; }
    const rect = canvas.getBoundingClientRect();
    click(e.clientX - rect.left, e.clientY - rect.top);
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect();
    zoomAt(e.clientX - rect.left, e.clientY - rect.top, e.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  function zoomTo(px, py, f) {
    const ns = Math.min(50, Math.max(fitScale / 8, view.s * f));
    const wx = view.cx + (px - CW / 2) / view.s, wy = view.cy - (py - CH / 2) / view.s;
    view.s = ns;
    view.cx = wx - (px - CW / 2) / view.s; view.cy = wy + (py - CH / 2) / view.s;
  }
  function zoomAt(px, py, f) { zoomTo(px, py, f); scheduleRedraw(true); }
  document.getElementById("zoom-in").onclick = () => zoomAt(CW / 2, CH / 2, 1.5);
  document.getElementById("zoom-out").onclick = () => zoomAt(CW / 2, CH / 2, 1 / 1.5);
  document.getElementById("zoom-fit").onclick = () => { fit(bounds()); scheduleRedraw(true); };
  function click(px, py) {
    const x = view.cx + (px - CW / 2) / view.s, y = view.cy - (py - CH / 2) / view.s;
    const P = plan();
    if (P.points || !ui.homes.checked) {
      let best = -1, bd = 100;
      const rad = 10 / view.s;
      visitPoints(homeIx, [x - rad, y - rad, x + rad, y + rad], (i) => {
        const d = (sx(hx[i]) - px) ** 2 + (sy(hy[i]) - py) ** 2;
        if (d < bd) { bd = d; best = i; }
      });
      select(best < 0 ? null : best);
      return;
    }
    let hit = -1;
    visitBoxes(P.L.ix, [x, y, x, y], (i) => { if (hit < 0 && inPolygon(P.L, i, x, y)) hit = i; });
    if (hit < 0) select(null); else showCell(P.L, hit);
  }
  function inPolygon(L, i, x, y) {
    let inside = false;
    for (let q = L.vStart[i], p = L.vStart[i + 1] - 1; q < L.vStart[i + 1]; p = q++) {
      if ((L.vy[q] > y) !== (L.vy[p] > y) && x < ((L.vx[p] - L.vx[q]) * (y - L.vy[q])) / (L.vy[p] - L.vy[q]) + L.vx[q]) inside = !inside;
    }
    return inside;
  }
  function showCell(L, i) {
    selected = null;
    const rows = D.categories.map((c, k) => [catName(c), L.gapPop[i * NC + k]]).filter((r) => r[1] > 0).sort((a, b) => b[1] - a[1]);
    let html = "<h3>" + esc(tr("cell_title", { r: L.res })) + "</h3><p>" + esc(tr("count")) + " " + fmt(L.res_n[i]) + " · " + esc(tr("population")) + " " + fmt(L.pop[i]) +
      "<br>" + esc(tr("share")) + " " + fmt(100 * L.share[i]) + "%<br>" + esc(tr("missing_any")) + " " + fmt(L.missPop[i]) + "</p>";
    if (rows.length) html += "<table><tr><th>" + esc(tr("category")) + "</th><th>" + esc(tr("missing_pop")) + "</th></tr>" +
      rows.map((r) => "<tr><td>" + esc(r[0]) + "</td><td class='num'>" + fmt(r[1]) + "</td></tr>").join("") + "</table>";
    html += "<p>" + esc(tr("cell_hint")) + "</p>";
    document.getElementById("info").innerHTML = html;
    redraw(true);
  }
  function select(i) {
    selected = i === null || i === undefined ? null : home(i);
    const h = selected;
    const info = document.getElementById("info");
    if (!h) { info.innerHTML = "<p>" + esc(tr("click_hint")) + "</p>"; redraw(true); return; }
    let html = "<h3>" + esc(h.name || tr("residence") + " #" + h.i) + "</h3><p>" + esc(tr("population")) + " " + fmt(h.pop) +
      " · " + esc(tr("met")) + " " + h.met + " " + esc(tr("of")) + " " + NC + "</p>";
    if (h.edge < 0) html += "<p class='no'>" + esc(tr("unsnapped")) + "</p>";
    else {
      // Distances from the page's own search (the engine's, see #selfcheck).
      search(h, D.budget_mm);
      const best = nearestByCategory(h);
      html += "<p>" + ISO_COLORS.map((c, k) => "<span class='swatch sq' style='background:" + c + "'></span>" + esc(tr("iso", { m: [5, 10, 15][k] }))).join("<br>") + "</p>";
      html += "<table><tr><th>" + esc(tr("category")) + "</th><th>" + esc(tr("distance")) + "</th><th>" + esc(tr("limit")) + "</th><th></th></tr>";
      D.categories.forEach((c, k) => {
        const ok = metOk(h.i, k);
        html += "<tr><td>" + esc(catName(c)) + "</td><td class='num'>" + (best[k] === Infinity ? esc(tr("beyond")) : fmt(toDm(best[k]) / 10)) + "</td><td class='num'>" +
          fmt(c.threshold_m) + "</td><td class='" + (ok ? "ok'>✓" : "no'>✗") + "</td></tr>";
      });
      html += "</table>";
    }
    info.innerHTML = html;
    redraw(true);
  }

  // ---- header, controls, legend ----
  let defaultCat = 0;
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
    if (finest) for (let i = 0; i < finest.n; i++) for (let k = 0; k < NC; k++) miss[k] += finest.gapPop[i * NC + k];
    let worst = -1;
    for (let k = 0; k < NC; k++) if (D.categories[k].facilities > 0 && miss[k] > 0 && (worst < 0 || miss[k] > miss[worst])) worst = k;
    if (worst < 0 && D.gap_cells) worst = miss.indexOf(Math.max(...miss));
    defaultCat = Math.max(0, worst);
    ui.gap.value = worst >= 0 ? String(worst) : "none";
    ui.fac.value = worst >= 0 ? String(worst) : "all";
    for (const el of [ui.network, ui.homes, ui.sites, ui.fac, ui.gap]) el.addEventListener("change", () => redraw(false));
    document.getElementById("foot-credit").textContent = tr("credit");
    document.getElementById("foot-tool").textContent = tr("tool", { tool: D.tool });
    document.getElementById("foot-command").textContent = D.command;
  }
  function legend(st) {
    const steps = [0, Math.round(NC / 4), Math.round(NC / 2), Math.round((3 * NC) / 4), NC].filter((v, k, a) => a.indexOf(v) === k);
    let html = "<b>" + esc(tr("met_legend")) + "</b><br>" +
      steps.map((m) => "<span class='swatch' style='background:" + metColor(m) + "'></span>" + m + "/" + NC).join(" &nbsp;");
    if (st.mode === "cells") html += "<p>" + esc(tr("cells_legend", { r: st.res })) + "</p>";
    if (st.gap_cat !== "none") {
      const what = st.gap_cat === "all" ? tr("gaps_all") : catName(D.categories[+st.gap_cat]);
      const col = st.gap_cat === "all" ? "#d7191c" : catColor(+st.gap_cat);
      html += "<p><span class='swatch sq' style='background:" + col + "'></span>" + esc(st.gap_cat === "all" ? what : tr("gaps_legend", { c: what })) + "</p>";
    }
    document.getElementById("legend").innerHTML = html;
  }

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
    if (NC) histogram(defaultCat);
  }
  function histogram(k) {
    // Counted while the report was written: 20 bins up to the search budget, then beyond.
    const cat = D.categories[k], counts = D.hist[k], bin = D.hist_bin_m;
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
    el(s, "text", { x: left + 20 * bw + bw / 2, y: h - bottom + 14, "text-anchor": "middle" }, ">");
    const tx = left + (cat.threshold_m / bin) * bw;
    el(s, "line", { x1: tx, x2: tx, y1: 10, y2: h - bottom, stroke: "#000", "stroke-dasharray": "4 3" });
    el(s, "text", { x: tx + 4, y: 18 }, tr("threshold") + " " + fmt(cat.threshold_m) + " m");
    el(s, "text", { x: left, y: h - 4 }, tr("distance") + " · " + tr("count") + ": " + fmt(D.n.snapped));
    const box = document.getElementById("chart-dist"); box.innerHTML = ""; box.appendChild(s);
  }

  // ---- tables ----
  function tables() {
    const gt = document.getElementById("gap-table");
    const worst = D.worst_gaps;
    if (!worst.length) gt.outerHTML = "<p>" + esc(tr("no_gaps")) + "</p>";
    else {
      gt.innerHTML = "<tr><th>" + [tr("category"), tr("cell")].map(esc).join("</th><th>") + "</th><th class='num'>" +
        [tr("missing_res"), tr("missing_pop"), tr("nearest")].map(esc).join("</th><th class='num'>") + "</th></tr>" +
        worst.map((g, r) => "<tr class='clickable' data-gap='" + r + "'><td>" + esc(catName(D.categories[g.cat])) + "</td><td>" + esc(g.cell) +
          "</td><td class='num'>" + fmt(g.res) + "</td><td class='num'>" + fmt(g.pop) + "</td><td class='num'>" + fmt(g.nearest) + "</td></tr>").join("");
      gt.querySelectorAll("tr[data-gap]").forEach((row) => row.addEventListener("click", () => {
        const g = worst[+row.getAttribute("data-gap")];
        const xs = g.ring.map((p) => p[0] * kx), ys = g.ring.map((p) => p[1] * ky);
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

  // ---- checks the tests and benchmarks run (by the page's hash) ----
  // The page's distances against the engine's, for the sample written with the data.
  function selfCheck() {
    const ids = read("check.id"), want = read("check.dm");
    let checked = 0, mismatches = 0;
    ids.forEach((i, k) => {
      const h = home(i);
      search(h, D.budget_mm);
      const best = nearestByCategory(h);
      for (let c = 0; c < NC; c++) {
        const js = best[c] === Infinity ? 0 : toDm(best[c]) + 1;
        if (js !== want[k * NC + c]) mismatches++;
      }
      checked++;
    });
    return { checked, mismatches };
  }
  // What the current frame should hold, counted over all the data (no index).
  function bruteCounts(st) {
    const P = plan(), out = { homes: 0, cells: 0, gap_cells: 0, edges: 0, facilities: 0 };
    const L = P.L, gc = ui.gap.value, fc = ui.fac.value;
    if (P.points) { for (let i = 0; i < NH; i++) if (inside(hx[i], hy[i], P.pbox)) out.homes++; }
    else for (let i = 0; i < L.n; i++) if (meets(L.bb, i, P.box)) out.cells++;
    if (L && gc !== "none") for (let i = 0; i < L.n; i++) if (meets(L.bb, i, P.box) && isGap(L, i, gc)) out.gap_cells++;
    if (!P.net) { for (let e = 0; e < NE; e++) if (meets(ebb, e, P.box)) out.edges++; }
    else for (let i = 0; i < P.net.n; i++) if (meets(P.net.bb, i, P.box)) out.edges++;
    const f4 = 4 / view.s, fbox = [P.box[0] - f4, P.box[1] - f4, P.box[2] + f4, P.box[3] + f4];
    if (fc !== "none") for (let f = 0; f < NFAC; f++) if ((fc === "all" || fcat[f] === +fc) && inside(fx[f], fy[f], fbox)) out.facilities++;
    if (!ui.homes.checked) { out.homes = 0; out.cells = 0; }
    if (!ui.network.checked) out.edges = 0;
    return out;
  }
  const udeg = (b) => [b[0] / kx, b[1] / ky, b[2] / kx, b[3] / ky];
  // The densest tile of residences: where frames are heaviest.
  function densest() {
    let best = 0, k = 0;
    for (let t = 0; t < homeIx.start.length - 1; t++) if (homeIx.start[t + 1] - homeIx.start[t] > best) { best = homeIx.start[t + 1] - homeIx.start[t]; k = t; }
    const i = homeIx.items[homeIx.start[k]];
    return NH ? [hx[i], hy[i]] : [view.cx, view.cy];
  }
  const flush = () => ctx.getImageData(0, 0, 1, 1);
  // From beyond the whole area down to street level around a point, by factors of 1.5.
  function zoomSteps(target, each) {
    fit(bounds());
    zoomTo(CW / 2, CH / 2, 1 / 1.5);
    view.cx = target[0]; view.cy = target[1];
    for (let k = 0; k < 80; k++) {
      each(k);
      if (view.s >= 8) break;
      zoomTo(CW / 2, CH / 2, 1.5);
    }
  }
  function zoomTest() {
    const steps = [];
    const t = HASH.home !== undefined && +HASH.home < NH ? [hx[+HASH.home], hy[+HASH.home]] : densest();
    zoomSteps(t, () => {
      const st = draw();
      steps.push({ s: st.s, mode: st.mode, res: st.res, net: st.net, gap_cat: st.gap_cat, box: udeg(st.box), pbox: udeg(st.pbox),
        drawn: { homes: st.homes, cells: st.cells, gap_cells: st.gap_cells, edges: st.edges, facilities: st.facilities }, all: bruteCounts(st) });
    });
    return steps;
  }
  // Frame times (ms, each flushed to pixels): zooming in on the densest place, panning
  // there, zooming back out.
  function bench() {
    const times = [], modes = [];
    const one = () => { const t0 = performance.now(); const st = draw(); flush(); times.push(performance.now() - t0); modes.push(st.mode + "/" + st.net + "/" + st.edges + "/" + [st.t_gaps, st.t_net, st.t_pix].map(Math.round).join(":")); };
    zoomSteps(densest(), one);
    for (let k = 0; k < 8; k++) { view.cx += CW / 4 / view.s * (k % 2 ? -1 : 1); view.cy += CH / 8 / view.s; one(); }
    for (let k = 0; k < 8; k++) { zoomTo(CW / 2, CH / 2, 1 / 1.5); one(); }
    const sorted = times.slice().sort((a, b) => a - b);
    return { frames: times.length, median_ms: sorted[sorted.length >> 1], max_ms: sorted[sorted.length - 1], times_ms: times.map((x) => Math.round(x * 10) / 10), modes };
  }
  // Chinese glyphs beside a code point no font has, in the page's fonts: a screenshot
  // tells real glyphs from the empty boxes drawn when a font is missing.
  function glyphStrip() {
    const strip = document.createElement("div");
    strip.id = "lc-glyphs";
    const chars = ["步", "行", "路", "网", "\u0378"];
    strip.innerHTML = chars.map((c) => "<span>" + c + "</span>").join("");
    document.body.appendChild(strip);
    return Array.from(strip.children).map((s, k) => { const r = s.getBoundingClientRect(); return { char: chars[k], x: r.left, y: r.top, w: r.width, h: r.height }; });
  }

  setup();
  resize();
  fit(bounds());
  fitScale = view.s;
  charts();
  tables();
  const first = draw();
  flush();
  status.timing.first_paint_ms = Math.round(performance.now());
  window.addEventListener("resize", () => { resize(); redraw(true); });
  status.residences = NH;
  status.gaps = D.gap_cells;
  status.facilities = NFAC;
  status.edges = NE;
  status.categories = D.categories.map(catName);
  status.category_keys = D.categories.map((c) => c.key);
  status.origin = D.origin;
  status.geom_step = G;
  status.view = { mode: first.mode, res: first.res, net: first.net, homes: first.homes, cells: first.cells };
  status.self_check = HASH.selfcheck ? selfCheck() : null;
  if (HASH.zoomtest) { status.zoom = zoomTest(); fit(bounds()); draw(); }
  if (HASH.bench) { status.bench = bench(); fit(bounds()); draw(); }
  if (HASH.glyphs) status.glyphs = glyphStrip();
  status.ready = true;
  writeStatus();
  // `report.html#home=N` opens with residence N selected (links, screenshots), zoomed
  // to it when the map shows cells.
  if (HASH.home !== undefined && !HASH.zoomtest && +HASH.home < NH) {
    const i = +HASH.home;
    if (!plan().points || !inside(hx[i], hy[i], viewBox())) { view.cx = hx[i]; view.cy = hy[i]; view.s = Math.max(view.s, CW / 2000); }
    select(i);
    status.selected = { home: i, iso_drawn: isoCanvas !== null, mode: lastFrame.mode };
    writeStatus();
  }
})();
