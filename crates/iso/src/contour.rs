//! Nested isochrones as contours of a distance field.
//!
//! Each grid vertex holds, per threshold, its distance to the nearest reached
//! segment (only within `r + 1.05 cells`; farther vertices stay infinite). The area is
//! `{d <= r}`; its outline is traced with marching squares, crossing points
//! interpolated linearly along grid edges. The field of a larger threshold is
//! pointwise no larger (its reached network is a superset), every crossing moves
//! outwards or stays, and saddles are decided by the cell's mean distance, so the
//! areas nest by construction.
//!
//! Each segment is drawn into the grid of the threshold that first reaches it only;
//! `scan` folds the finished grid of threshold k - 1 into that of k (a `min` over the
//! window written so far) just before tracing k. Every grid is infinite outside the
//! window of vertices written to it, which bounds the scan and the next reset.

pub(crate) struct Field {
    /// Grid vertex `(i, j)` lies at `((ox + i)·cell, (oy + j)·cell)`: every field is a
    /// window of one global grid anchored at the projection's origin, so a vertex's
    /// distance to an edge is the same number in every field (see [`Stamp`]).
    pub(crate) ox: i64,
    pub(crate) oy: i64,
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) cell: f64,
    /// Vertices per row and per column.
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    /// Squared distances, one grid per threshold (see the module documentation).
    pub(crate) d2: Vec<Vec<f32>>,
    /// Per grid, the window of vertices written `[i0, j0, i1, j1]` (inclusive; empty
    /// when `i0 > i1`); infinite elsewhere.
    win: Vec<[usize; 4]>,
    /// One row's distances to the current segment.
    row: Vec<f32>,
    /// Per vertex, whether it is inside: bits, rows of whole words (reused by `scan`).
    inside: Vec<u64>,
    /// A row of crossings (local indices) on horizontal grid edges and the row each
    /// belongs to (reused by `scan`).
    hrow: Vec<u32>,
    hrow_pt: Vec<[f64; 2]>,
    hrow_at: Vec<usize>,
    /// The crossings of the last traced scan, by local index: position (relative to
    /// `(x0, y0)`), grid edge id, and the crossing that follows with the area on the
    /// left.
    xs_pt: Vec<[f64; 2]>,
    xs_id: Vec<u32>,
    xs_next: Vec<u32>,
    /// The cell (`j * (nx - 1) + i`) of the chord leaving each crossing.
    xs_cell: Vec<u32>,
}

/// `floor(x)` as an integer, without a libm call.
#[inline]
fn floor_i(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x { i - 1 } else { i }
}

/// `ceil(x)` as an integer, without a libm call.
#[inline]
fn ceil_i(x: f64) -> i64 {
    -floor_i(-x)
}

/// For every global grid row `gj` in `rows` that crosses the capsule of radius
/// `reach` around `a`–`b`, the squared distances of the row's vertices `gi` in
/// `cols` inside the capsule (widened by a millimetre): `f(gj, first gi, values)`.
/// The one distance kernel of the field and of the stamps.
#[allow(clippy::too_many_arguments)]
#[inline]
fn capsule_rows(
    a: [f64; 2],
    b: [f64; 2],
    reach: f64,
    c: f64,
    rows: (i64, i64),
    cols: (i64, i64),
    buf: &mut Vec<f32>,
    mut f: impl FnMut(i64, i64, &[f32]),
) {
    let j0 = ceil_i((a[1].min(b[1]) - reach) / c).max(rows.0);
    let j1 = floor_i((a[1].max(b[1]) + reach) / c).min(rows.1);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let inv_l2 = if l2 > 0.0 { 1.0 / l2 } else { 0.0 };
    let capsule = Capsule::new(a, b, l2, reach);
    for gj in j0..=j1 {
        let y = gj as f64 * c;
        let Some((xlo, xhi)) = capsule.row(y) else {
            continue;
        };
        let i0 = ceil_i((xlo - 1e-3) / c).max(cols.0);
        let i1 = floor_i((xhi + 1e-3) / c).min(cols.1);
        if i1 < i0 {
            continue;
        }
        let py = y - a[1];
        buf.clear();
        buf.extend((i0..=i1).map(|gi| {
            // Vertex relative to a; t along the segment, clamped.
            let px = gi as f64 * c - a[0];
            let t = ((px * dx + py * dy) * inv_l2).clamp(0.0, 1.0);
            let (qx, qy) = (t * dx - px, t * dy - py);
            (qx * qx + qy * qy) as f32
        }));
        f(gj, i0, buf);
    }
}

/// Stamp runs come in whole groups of this many values.
const LANES: usize = 8;

/// Lowers row `j` of a grid `nx` wide from column `i` by `vals`, growing the written
/// extent `ext` (`[x0, y0, x1, y1]`).
#[inline]
fn lower_run(g: &mut [f32], nx: usize, i: usize, j: usize, vals: &[f32], ext: &mut [usize; 4]) {
    let at = j * nx + i;
    lower(&mut g[at..at + vals.len()], vals);
    *ext = [
        ext[0].min(i),
        ext[1].min(j),
        ext[2].max(i + vals.len() - 1),
        ext[3].max(j),
    ];
}

/// `v = min(v, d)` element by element (equal lengths), in groups of [`LANES`] and a
/// scalar rest (the compiler turns each group into SIMD `min`s; stamp runs have no
/// rest).
#[inline]
fn lower(v: &mut [f32], d: &[f32]) {
    debug_assert_eq!(v.len(), d.len());
    let mut vc = v.chunks_exact_mut(LANES);
    let mut dc = d.chunks_exact(LANES);
    for (a, b) in (&mut vc).zip(&mut dc) {
        for k in 0..LANES {
            a[k] = if b[k] < a[k] { b[k] } else { a[k] };
        }
    }
    for (a, &b) in vc.into_remainder().iter_mut().zip(dc.remainder()) {
        *a = if b < *a { b } else { *a };
    }
}

/// One edge's precomputed distances: for every global grid vertex within `reach` of
/// the whole (simplified) edge, the squared distance to it, as row runs. Drawing a
/// fully reached edge is then a `min` over these values instead of recomputing the
/// distances to each of its segments — and vertices shared by consecutive segments
/// are stored once.
pub(crate) struct Stamp {
    /// `(gj, first gi, start in values, length)`.
    runs: Vec<(i64, i64, u32, u32)>,
    values: Vec<f32>,
}

impl Stamp {
    /// The stamp of polyline `xy` (projected metres) for grid spacing `c`.
    pub(crate) fn new(xy: &[[f64; 2]], reach: f64, c: f64) -> Self {
        debug_assert!(!xy.is_empty(), "a stamp needs a point");
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in xy {
            minx = minx.min(p[0]);
            miny = miny.min(p[1]);
            maxx = maxx.max(p[0]);
            maxy = maxy.max(p[1]);
        }
        let (gi0, gj0) = (
            floor_i((minx - reach) / c) - 1,
            floor_i((miny - reach) / c) - 1,
        );
        let (gi1, gj1) = (
            ceil_i((maxx + reach) / c) + 1,
            ceil_i((maxy + reach) / c) + 1,
        );
        let w = (gi1 - gi0 + 1) as usize;
        let h = (gj1 - gj0 + 1) as usize;
        let mut grid = vec![f32::INFINITY; w * h];
        let mut buf = Vec::new();
        let mut draw = |a: [f64; 2], b: [f64; 2]| {
            capsule_rows(
                a,
                b,
                reach,
                c,
                (gj0, gj1),
                (gi0, gi1),
                &mut buf,
                |gj, i0, vals| {
                    let at = (gj - gj0) as usize * w + (i0 - gi0) as usize;
                    for (v, &d) in grid[at..at + vals.len()].iter_mut().zip(vals) {
                        *v = v.min(d);
                    }
                },
            );
        };
        if xy.len() == 1 {
            draw(xy[0], xy[0]);
        }
        for s in xy.windows(2) {
            draw(s[0], s[1]);
        }
        let mut runs = Vec::new();
        let mut values = Vec::new();
        for (r, row) in grid.chunks(w).enumerate() {
            let Some(first) = row.iter().position(|v| v.is_finite()) else {
                continue;
            };
            let last = row
                .iter()
                .rposition(|v| v.is_finite())
                .expect("one is finite");
            // Padded with infinity to whole groups of `LANES` (a `min` with infinity
            // changes nothing), so drawing a run needs no scalar tail.
            let len = (last - first + 1).next_multiple_of(LANES);
            runs.push((
                gj0 + r as i64,
                gi0 + first as i64,
                values.len() as u32,
                len as u32,
            ));
            values.extend_from_slice(&row[first..=last]);
            values.resize(values.len() + len - (last - first + 1), f32::INFINITY);
        }
        values.shrink_to_fit();
        Stamp { runs, values }
    }

    /// Heap bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.runs.capacity() * 24 + self.values.capacity() * 4
    }
}

impl Field {
    pub(crate) fn new() -> Self {
        Field {
            ox: 0,
            oy: 0,
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            nx: 0,
            ny: 0,
            d2: Vec::new(),
            win: Vec::new(),
            row: Vec::new(),
            inside: Vec::new(),
            hrow: Vec::new(),
            hrow_pt: Vec::new(),
            hrow_at: Vec::new(),
            xs_pt: Vec::new(),
            xs_id: Vec::new(),
            xs_next: Vec::new(),
            xs_cell: Vec::new(),
        }
    }

    /// A field over `[minx, miny, maxx, maxy]` (already including the buffer) with a
    /// margin of two cells, for `levels` thresholds. Only what the last field wrote
    /// is cleared.
    pub(crate) fn reset(&mut self, bbox: [f64; 4], cell: f64, levels: usize) {
        for (g, w) in self.d2.iter_mut().zip(&self.win) {
            if w[0] <= w[2] {
                for j in w[1]..=w[3] {
                    g[j * self.nx + w[0]..=j * self.nx + w[2]].fill(f32::INFINITY);
                }
            }
        }
        self.cell = cell;
        self.ox = floor_i((bbox[0] - 2.0 * cell) / cell);
        self.oy = floor_i((bbox[1] - 2.0 * cell) / cell);
        self.x0 = self.ox as f64 * cell;
        self.y0 = self.oy as f64 * cell;
        self.nx = (ceil_i((bbox[2] + 2.0 * cell) / cell) - self.ox) as usize + 1;
        self.ny = (ceil_i((bbox[3] + 2.0 * cell) / cell) - self.oy) as usize + 1;
        if self.d2.len() < levels {
            self.d2.resize_with(levels, Vec::new);
        }
        for g in &mut self.d2 {
            if g.len() < self.nx * self.ny {
                g.resize(self.nx * self.ny, f32::INFINITY);
            }
        }
        self.win.clear();
        self.win
            .resize(self.d2.len(), [usize::MAX, usize::MAX, 0, 0]);
    }

    /// Widens grid `k`'s written window by rows `j0..=j1`, columns `i0..=i1`.
    #[inline]
    fn wrote(&mut self, k: usize, i0: usize, j0: usize, i1: usize, j1: usize) {
        let w = &mut self.win[k];
        *w = [w[0].min(i0), w[1].min(j0), w[2].max(i1), w[3].max(j1)];
    }

    /// How many crossing ids (grid edges) the field has.
    pub(crate) fn edge_ids(&self) -> usize {
        (self.nx - 1) * self.ny + self.nx * (self.ny - 1)
    }

    /// Lowers the distances of grid `k` to segment `a`–`b`, for the vertices within
    /// `reach` metres of it. Each grid row is visited only over the interval where it
    /// crosses the segment's capsule (computed exactly), so no vertex is tested and
    /// skipped, and the row loops have no branches.
    pub(crate) fn segment(&mut self, k: usize, a: [f64; 2], b: [f64; 2], reach: f64) {
        let (nx, ny, ox, oy) = (self.nx, self.ny, self.ox, self.oy);
        let mut row = std::mem::take(&mut self.row);
        let g = &mut self.d2[k];
        let mut ext = [usize::MAX, usize::MAX, 0, 0];
        capsule_rows(
            a,
            b,
            reach,
            self.cell,
            (oy, oy + ny as i64 - 1),
            (ox, ox + nx as i64 - 1),
            &mut row,
            |gj, gi, vals| {
                lower_run(
                    g,
                    nx,
                    (gi - ox) as usize,
                    (gj - oy) as usize,
                    vals,
                    &mut ext,
                );
            },
        );
        if ext[0] <= ext[2] {
            self.wrote(k, ext[0], ext[1], ext[2], ext[3]);
        }
        self.row = row;
    }

    /// Lowers the distances of grid `k` by a whole edge's [`Stamp`] (made with this
    /// field's cell size and reach): the same values [`Field::segment`] gives for each
    /// of the edge's segments.
    pub(crate) fn stamp(&mut self, k: usize, st: &Stamp) {
        let (nx, ny, ox, oy) = (self.nx as i64, self.ny as i64, self.ox, self.oy);
        let g = &mut self.d2[k];
        let mut ext = [usize::MAX, usize::MAX, 0, 0];
        for &(gj, gi, start, len) in &st.runs {
            if gj < oy || gj >= oy + ny {
                continue;
            }
            // Clip the run to the field (it always fits when the field covers the
            // edge and its reach, as `isochrones` makes it).
            let lo = gi.max(ox);
            let hi = (gi + i64::from(len)).min(ox + nx);
            if hi <= lo {
                continue;
            }
            let vals =
                &st.values[(start as i64 + lo - gi) as usize..(start as i64 + hi - gi) as usize];
            let (i, j) = ((lo - ox) as usize, (gj - oy) as usize);
            lower_run(g, nx as usize, i, j, vals, &mut ext);
        }
        if ext[0] <= ext[2] {
            self.wrote(k, ext[0], ext[1], ext[2], ext[3]);
        }
    }

    /// Folds grid `k - 1` (complete) into grid `k`: afterwards grid `k` holds the
    /// distances to everything reached within threshold `k`.
    fn fold(&mut self, k: usize) {
        let w = self.win[k - 1];
        if w[0] > w[2] {
            return;
        }
        let nx = self.nx;
        let (lo, hi) = self.d2.split_at_mut(k);
        let (src, dst) = (&lo[k - 1], &mut hi[0]);
        for j in w[1]..=w[3] {
            let (a, b) = (j * nx + w[0], j * nx + w[2] + 1);
            lower(&mut dst[a..b], &src[a..b]);
        }
        self.wrote(k, w[0], w[1], w[2], w[3]);
    }

    /// Marching squares on level `k`: the area of `{d <= r}` in square metres and,
    /// when `rings` is given, its outline as closed rings of crossings (the area on
    /// their left: exteriors counter-clockwise, holes clockwise); [`Field::crossing`]
    /// then gives each crossing's grid edge and position. A crossing is kept at least `clear_m`
    /// from both ends of its grid edge, so distinct crossings never coincide after
    /// rounding to a lattice finer than `clear_m` (see `shape.rs`).
    ///
    /// Whether each vertex is inside is kept as bits, 64 to a word, so runs of cells
    /// that are all inside or all outside cost one word operation; only cells with
    /// both kinds of corners are visited one by one.
    pub(crate) fn scan(
        &mut self,
        k: usize,
        r: f64,
        clear_m: f64,
        mut rings: Option<&mut Rings>,
    ) -> f64 {
        if k > 0 {
            self.fold(k);
        }
        if let Some(out) = rings.as_deref_mut() {
            out.ids.clear();
            out.ends.clear();
        }
        let (nx, ny, c) = (self.nx, self.ny, self.cell);
        let w = self.win[k];
        if w[0] > w[2] {
            return 0.0;
        }
        // Vertices (vi0..=vi1, vj0..=vj1): the written window and one more all round,
        // so every cell with a vertex inside is scanned.
        let (vi0, vj0) = (w[0].saturating_sub(1), w[1].saturating_sub(1));
        let (vi1, vj1) = ((w[2] + 1).min(nx - 1), (w[3] + 1).min(ny - 1));
        if vi1 == vi0 || vj1 == vj0 {
            return 0.0;
        }
        let g = &self.d2[k];
        let r2 = (r * r) as f32;
        let wpr = (vi1 - vi0 + 1).div_ceil(64);
        let mut bits = std::mem::take(&mut self.inside);
        bits.clear();
        bits.resize(wpr * (vj1 - vj0 + 1), 0);
        for (j, out) in (vj0..=vj1).zip(bits.chunks_exact_mut(wpr)) {
            let row = &g[j * nx + vi0..=j * nx + vi1];
            for (chunk, w) in row.chunks(64).zip(out.iter_mut()) {
                let mut x = 0u64;
                for (b, &d) in chunk.iter().enumerate() {
                    x |= u64::from(d <= r2) << b;
                }
                *w = x;
            }
        }
        let dist = |i: usize, j: usize| f64::from(g[j * nx + i]).sqrt();
        // Grid edges: horizontal (i, j)-(i+1, j) have ids j * (nx - 1) + i; vertical
        // (i, j)-(i, j+1) have ids h + j * nx + i.
        let h = (nx - 1) * ny;
        let tmin = (clear_m / c).min(0.25);
        // The crossing of d = r between two vertices (one inside, one outside; always
        // from the lower to the higher index, so each edge gives one answer),
        // relative to the field's corner, kept off the vertices.
        let cross = |a: (usize, usize), b: (usize, usize)| -> [f64; 2] {
            let (da, db) = (dist(a.0, a.1), dist(b.0, b.1));
            let t = if db == da {
                0.5
            } else {
                ((r - da) / (db - da)).clamp(tmin, 1.0 - tmin)
            };
            let (ax, ay) = (a.0 as f64 * c, a.1 as f64 * c);
            let (bx, by) = (b.0 as f64 * c, b.1 as f64 * c);
            [ax + t * (bx - ax), ay + t * (by - ay)]
        };
        let tracing = rings.is_some();
        // Crossings get local indices as they are computed; each is computed once
        // (the cell below or to the left hands it on).
        let mut xs_pt = std::mem::take(&mut self.xs_pt);
        let mut xs_id = std::mem::take(&mut self.xs_id);
        let mut xs_next = std::mem::take(&mut self.xs_next);
        let mut xs_cell = std::mem::take(&mut self.xs_cell);
        xs_pt.clear();
        xs_id.clear();
        xs_next.clear();
        xs_cell.clear();
        let mut made = |id: u32, p: [f64; 2]| -> u32 {
            xs_pt.push(p);
            xs_id.push(id);
            (xs_pt.len() - 1) as u32
        };
        let mut hrow = std::mem::take(&mut self.hrow);
        let mut hrow_at = std::mem::take(&mut self.hrow_at);
        let mut hrow_pt = std::mem::take(&mut self.hrow_pt);
        hrow.resize(nx, 0);
        hrow_pt.resize(nx, [0.0; 2]);
        hrow_at.clear();
        hrow_at.resize(nx, usize::MAX);
        // Twice the area: the shoelace sum over the boundary of every cell's inside
        // part (Green's theorem), so no ring has to be traced for it.
        let mut area2 = 0.0;
        // Chords `(from, to, cell)` as local indices, the area on their left.
        let mut links: Vec<(u32, u32, u32)> = Vec::new();
        let mut link =
            |area2: &mut f64, cell: u32, (from, p): (u32, [f64; 2]), (to, q): (u32, [f64; 2])| {
                *area2 += p[0] * q[1] - q[0] * p[1];
                if tracing {
                    links.push((from, to, cell));
                }
            };
        let last = vi1 - vi0; // cells per window row
        for j in vj0..vj1 {
            let wj = j - vj0;
            let (lo, hi) = (
                &bits[wj * wpr..(wj + 1) * wpr],
                &bits[(wj + 1) * wpr..(wj + 2) * wpr],
            );
            // The right edge of the last mixed cell visited in this row: (its cell
            // index, the crossing) for the next cell's left edge.
            let mut vprev: (usize, u32, [f64; 2]) = (usize::MAX, 0, [0.0; 2]);
            for w in 0..wpr {
                // Corner bits: (i, j), (i+1, j), (i, j+1), (i+1, j+1) for cell i.
                let a = lo[w];
                let b = hi[w];
                let a1 = (a >> 1) | (lo.get(w + 1).copied().unwrap_or(0) << 63);
                let b1 = (b >> 1) | (hi.get(w + 1).copied().unwrap_or(0) << 63);
                let valid = if (w + 1) * 64 <= last {
                    u64::MAX
                } else if w * 64 >= last {
                    0
                } else {
                    (1u64 << (last - w * 64)) - 1
                };
                let full = a & a1 & b & b1 & valid;
                let any = (a | a1 | b | b1) & valid;
                // A full cell: the shoelace sum over its boundary is twice its area.
                area2 += f64::from(full.count_ones()) * 2.0 * c * c;
                let mut mixed = any & !full;
                while mixed != 0 {
                    let bit = mixed.trailing_zeros() as usize;
                    mixed &= mixed - 1;
                    let i = vi0 + w * 64 + bit;
                    let corners = [
                        a >> bit & 1 != 0,
                        a1 >> bit & 1 != 0,
                        b1 >> bit & 1 != 0,
                        b >> bit & 1 != 0,
                    ];
                    // Cell edges counter-clockwise: bottom, right, top, left.
                    let ids = [
                        (j * (nx - 1) + i) as u32,
                        (h + j * nx + i + 1) as u32,
                        ((j + 1) * (nx - 1) + i) as u32,
                        (h + j * nx + i) as u32,
                    ];
                    let cx = [
                        i as f64 * c,
                        (i + 1) as f64 * c,
                        (i + 1) as f64 * c,
                        i as f64 * c,
                    ];
                    let cy = [
                        j as f64 * c,
                        j as f64 * c,
                        (j + 1) as f64 * c,
                        (j + 1) as f64 * c,
                    ];
                    let cell = (j * (nx - 1) + i) as u32;
                    // The left edge's crossing, if the cell to the left made it (before
                    // this cell's right edge replaces it).
                    let left = vprev;
                    // Crossings in counter-clockwise order.
                    let mut xs: [(u32, [f64; 2]); 4] = [(0, [0.0; 2]); 4];
                    let mut leaving0 = false;
                    let mut n = 0;
                    for e in 0..4 {
                        let (ca, cb) = (corners[e], corners[(e + 1) % 4]);
                        let f = (e + 1) % 4;
                        if ca && cb {
                            area2 += cx[e] * cy[f] - cx[f] * cy[e];
                        }
                        if ca == cb {
                            continue;
                        }
                        let (x, p) = match e {
                            0 if hrow_at[i] == j => (hrow[i], hrow_pt[i]),
                            0 => {
                                let p = cross((i, j), (i + 1, j));
                                (made(ids[0], p), p)
                            }
                            1 => {
                                let p = cross((i + 1, j), (i + 1, j + 1));
                                let x = made(ids[1], p);
                                vprev = (i + 1, x, p);
                                (x, p)
                            }
                            2 => {
                                let p = cross((i, j + 1), (i + 1, j + 1));
                                let x = made(ids[2], p);
                                hrow[i] = x;
                                hrow_at[i] = j + 1;
                                hrow_pt[i] = p;
                                (x, p)
                            }
                            _ if left.0 == i => (left.1, left.2),
                            _ => {
                                let p = cross((i, j), (i, j + 1));
                                (made(ids[3], p), p)
                            }
                        };
                        if n == 0 {
                            leaving0 = ca;
                        }
                        xs[n] = (x, p);
                        n += 1;
                        // The inside part of a crossed edge.
                        if ca {
                            area2 += cx[e] * p[1] - p[0] * cy[e];
                        } else {
                            area2 += p[0] * cy[f] - cx[f] * p[1];
                        }
                    }
                    if n == 2 {
                        if leaving0 {
                            link(&mut area2, cell, xs[0], xs[1]);
                        } else {
                            link(&mut area2, cell, xs[1], xs[0]);
                        }
                    } else {
                        // Saddle: rotate so xs[0] is leaving (crossings alternate),
                        // then decide by the mean.
                        let s = if leaving0 { 0 } else { 1 };
                        let c4 = [xs[s], xs[(s + 1) % 4], xs[(s + 2) % 4], xs[(s + 3) % 4]];
                        let mean =
                            (dist(i, j) + dist(i + 1, j) + dist(i + 1, j + 1) + dist(i, j + 1))
                                / 4.0;
                        if mean <= r {
                            link(&mut area2, cell, c4[0], c4[1]);
                            link(&mut area2, cell, c4[2], c4[3]);
                        } else {
                            link(&mut area2, cell, c4[0], c4[3]);
                            link(&mut area2, cell, c4[2], c4[1]);
                        }
                    }
                }
            }
        }
        if let Some(out) = rings {
            // Follow the links into rings.
            xs_next.resize(xs_pt.len(), u32::MAX);
            xs_cell.resize(xs_pt.len(), u32::MAX);
            for &(f, t, cell) in &links {
                xs_next[f as usize] = t;
                xs_cell[f as usize] = cell;
            }
            for &(s, _, _) in &links {
                if xs_next[s as usize] == u32::MAX {
                    continue;
                }
                let begin = out.ids.len();
                let mut at = s;
                loop {
                    out.ids.push(at);
                    let n = xs_next[at as usize];
                    xs_next[at as usize] = u32::MAX;
                    at = n;
                    if at == s || at == u32::MAX {
                        break;
                    }
                }
                if out.ids.len() - begin >= 3 {
                    out.ends.push(out.ids.len() as u32);
                } else {
                    out.ids.truncate(begin);
                }
            }
        }
        self.inside = bits;
        self.xs_pt = xs_pt;
        self.xs_id = xs_id;
        self.xs_next = xs_next;
        self.xs_cell = xs_cell;
        self.hrow = hrow;
        self.hrow_pt = hrow_pt;
        self.hrow_at = hrow_at;
        area2 / 2.0
    }

    /// The grid edge id, the position (projected metres) and the cell of the chord
    /// leaving crossing `x` (a local index, as in the rings) of the last traced
    /// [`Field::scan`].
    #[inline]
    pub(crate) fn crossing(&self, x: u32) -> (u32, [f64; 2], u32) {
        let p = self.xs_pt[x as usize];
        (
            self.xs_id[x as usize],
            [self.x0 + p[0], self.y0 + p[1]],
            self.xs_cell[x as usize],
        )
    }
}

/// Closed rings of crossing (or corner) ids, one after another.
#[derive(Default)]
pub(crate) struct Rings {
    pub(crate) ids: Vec<u32>,
    /// Where each ring ends in `ids`.
    pub(crate) ends: Vec<u32>,
}

impl Rings {
    /// The rings, each as a slice of ids.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u32]> {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let r = &self.ids[start..e as usize];
            start = e as usize;
            r
        })
    }
}

/// A segment prepared for [`Capsule::row`]: everything that does not depend on the
/// row.
struct Capsule {
    a: [f64; 2],
    b: [f64; 2],
    dx: f64,
    dy: f64,
    r2: f64,
    /// `1 / dx`, `1 / dy` (0 when the segment is parallel to that axis).
    inv_dx: f64,
    inv_dy: f64,
    /// `r·|d|`.
    rl: f64,
    l2: f64,
}

impl Capsule {
    fn new(a: [f64; 2], b: [f64; 2], l2: f64, r: f64) -> Self {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        Capsule {
            a,
            b,
            dx,
            dy,
            r2: r * r,
            inv_dx: if dx != 0.0 { 1.0 / dx } else { 0.0 },
            inv_dy: if dy != 0.0 { 1.0 / dy } else { 0.0 },
            rl: r * l2.sqrt(),
            l2,
        }
    }

    /// Where the horizontal line at `y` crosses the capsule: `(x_min, x_max)`, or
    /// `None`. The capsule is convex, so the crossing is one interval: the hull of
    /// the crossings of the two end discs and of the band between them.
    #[inline]
    fn row(&self, y: f64) -> Option<(f64, f64)> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for p in [self.a, self.b] {
            let h = self.r2 - (y - p[1]) * (y - p[1]);
            if h >= 0.0 {
                let w = h.sqrt();
                lo = lo.min(p[0] - w);
                hi = hi.max(p[0] + w);
            }
        }
        if self.l2 > 0.0 {
            // Band: 0 <= (p - a)·d <= l2 and |(p - a) × d| <= r·|d|, both linear in
            // u = x - ax.
            let ey = y - self.a[1];
            let mut blo = f64::NEG_INFINITY;
            let mut bhi = f64::INFINITY;
            // u·dx + ey·dy in [0, l2]
            let k = ey * self.dy;
            if self.dx == 0.0 {
                if k < 0.0 || k > self.l2 {
                    return (lo <= hi).then_some((lo, hi));
                }
            } else {
                let (u0, u1) = (-k * self.inv_dx, (self.l2 - k) * self.inv_dx);
                blo = blo.max(u0.min(u1));
                bhi = bhi.min(u0.max(u1));
            }
            // u·dy - ey·dx in [-rl, rl]
            let k = -ey * self.dx;
            if self.dy == 0.0 {
                if k < -self.rl || k > self.rl {
                    return (lo <= hi).then_some((lo, hi));
                }
            } else {
                let (u0, u1) = ((-self.rl - k) * self.inv_dy, (self.rl - k) * self.inv_dy);
                blo = blo.max(u0.min(u1));
                bhi = bhi.min(u0.max(u1));
            }
            if blo <= bhi {
                lo = lo.min(self.a[0] + blo);
                hi = hi.max(self.a[0] + bhi);
            }
        }
        (lo <= hi).then_some((lo, hi))
    }
}

#[cfg(test)]
mod capsule_tests {
    use super::Capsule;

    fn brute(a: [f64; 2], b: [f64; 2], r: f64, y: f64) -> Option<(f64, f64)> {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let l2 = dx * dx + dy * dy;
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        let mut x = -200.0;
        while x <= 200.0 {
            let (px, py) = (x - a[0], y - a[1]);
            let t = if l2 > 0.0 {
                ((px * dx + py * dy) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let d = ((t * dx - px).powi(2) + (t * dy - py).powi(2)).sqrt();
            if d <= r {
                lo = lo.min(x);
                hi = hi.max(x);
            }
            x += 0.01;
        }
        (lo <= hi).then_some((lo, hi))
    }

    #[test]
    fn rows_cross_the_capsule_where_brute_force_says() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..300 {
            let a = [rnd() * 100.0 - 50.0, rnd() * 100.0 - 50.0];
            let b = if rnd() < 0.1 {
                a
            } else {
                [rnd() * 100.0 - 50.0, rnd() * 100.0 - 50.0]
            };
            let r = 1.0 + rnd() * 30.0;
            let y = rnd() * 180.0 - 90.0;
            let l2 = (b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2);
            let got = Capsule::new(a, b, l2, r).row(y);
            let want = brute(a, b, r, y);
            match (got, want) {
                (Some(g), Some(w)) => {
                    assert!(
                        g.0 <= w.0 + 1e-9 && g.0 > w.0 - 0.011,
                        "{a:?} {b:?} {r} {y}: {g:?} {w:?}"
                    );
                    assert!(
                        g.1 >= w.1 - 1e-9 && g.1 < w.1 + 0.011,
                        "{a:?} {b:?} {r} {y}: {g:?} {w:?}"
                    );
                }
                (None, None) => {}
                // A row grazing the capsule may fall between the brute-force samples.
                (Some(g), None) => assert!(g.1 - g.0 < 0.03, "{g:?}"),
                (None, Some(w)) => panic!("{a:?} {b:?} {r} {y}: missed {w:?}"),
            }
        }
    }
}
