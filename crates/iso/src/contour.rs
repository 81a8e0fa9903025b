//! Nested isochrones as contours of a distance field.
//!
//! Each grid vertex holds, per threshold, its distance to the nearest reached
//! segment (only within `r + 1.05 cells`; farther vertices stay infinite). The area is
//! `{d <= r}`; its outline is traced with marching squares, crossing points
//! interpolated linearly along grid edges. The field of a larger threshold is
//! pointwise no larger (its reached network is a superset), every crossing moves
//! outwards or stays, and saddles are decided by the cell's mean distance, so the
//! areas nest by construction.

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
    /// Squared distances, one grid per threshold.
    pub(crate) d2: Vec<Vec<f32>>,
    /// One row's distances to the current segment.
    row: Vec<f32>,
    /// Per vertex, whether it is inside (reused by `scan`).
    inside: Vec<u8>,
    /// Crossing links (reused by `scan`).
    next: Vec<u32>,
    /// Crossing positions relative to `(x0, y0)`, by crossing id (reused by `scan`).
    pt: Vec<[f64; 2]>,
    /// Crossings that start a link (reused by `scan`).
    starts: Vec<u32>,
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
            runs.push((
                gj0 + r as i64,
                gi0 + first as i64,
                values.len() as u32,
                (last - first + 1) as u32,
            ));
            values.extend_from_slice(&row[first..=last]);
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
            row: Vec::new(),
            inside: Vec::new(),
            next: Vec::new(),
            pt: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// A field over `[minx, miny, maxx, maxy]` (already including the buffer) with a
    /// margin of two cells, for `levels` thresholds.
    pub(crate) fn reset(&mut self, bbox: [f64; 4], cell: f64, levels: usize) {
        self.cell = cell;
        self.ox = floor_i((bbox[0] - 2.0 * cell) / cell);
        self.oy = floor_i((bbox[1] - 2.0 * cell) / cell);
        self.x0 = self.ox as f64 * cell;
        self.y0 = self.oy as f64 * cell;
        self.nx = (ceil_i((bbox[2] + 2.0 * cell) / cell) - self.ox) as usize + 1;
        self.ny = (ceil_i((bbox[3] + 2.0 * cell) / cell) - self.oy) as usize + 1;
        self.d2.resize_with(levels, Vec::new);
        self.d2.truncate(levels);
        for g in &mut self.d2 {
            g.clear();
            g.resize(self.nx * self.ny, f32::INFINITY);
        }
    }

    /// How many crossing ids (grid edges) the field has.
    pub(crate) fn edge_ids(&self) -> usize {
        (self.nx - 1) * self.ny + self.nx * (self.ny - 1)
    }

    /// Lowers the distances of levels `k..` to segment `a`–`b`, for the vertices
    /// within `reach` metres of it. Each grid row is visited only over the interval
    /// where it crosses the segment's capsule (computed exactly), so no vertex is
    /// tested and skipped, and the row loops have no branches.
    pub(crate) fn segment(&mut self, k: usize, a: [f64; 2], b: [f64; 2], reach: f64) {
        let (nx, ny, ox, oy) = (self.nx, self.ny, self.ox, self.oy);
        let mut row = std::mem::take(&mut self.row);
        let d2 = &mut self.d2[k..];
        capsule_rows(
            a,
            b,
            reach,
            self.cell,
            (oy, oy + ny as i64 - 1),
            (ox, ox + nx as i64 - 1),
            &mut row,
            |gj, gi, vals| {
                let at = (gj - oy) as usize * nx + (gi - ox) as usize;
                for g in d2.iter_mut() {
                    for (v, &d) in g[at..at + vals.len()].iter_mut().zip(vals) {
                        *v = v.min(d);
                    }
                }
            },
        );
        self.row = row;
    }

    /// Lowers the distances of levels `k..` by a whole edge's [`Stamp`] (made with
    /// this field's cell size and reach): the same values [`Field::segment`] gives
    /// for each of the edge's segments.
    pub(crate) fn stamp(&mut self, k: usize, st: &Stamp) {
        let (nx, ny, ox, oy) = (self.nx as i64, self.ny as i64, self.ox, self.oy);
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
            let at = ((gj - oy) * nx + (lo - ox)) as usize;
            for g in &mut self.d2[k..] {
                for (v, &d) in g[at..at + vals.len()].iter_mut().zip(vals) {
                    *v = v.min(d);
                }
            }
        }
    }

    /// Marching squares on level `k`: the area of `{d <= r}` in square metres and,
    /// when `rings` is given, its outline as closed rings of crossing ids (the area on
    /// their left: exteriors counter-clockwise, holes clockwise); [`Field::point`]
    /// then gives each crossing's position. A crossing is kept at least `clear_m`
    /// from both ends of its grid edge, so distinct crossings never coincide after
    /// rounding to a lattice finer than `clear_m` (see `shape.rs`).
    pub(crate) fn scan(
        &mut self,
        k: usize,
        r: f64,
        clear_m: f64,
        rings: Option<&mut Rings>,
    ) -> f64 {
        let (nx, ny, c) = (self.nx, self.ny, self.cell);
        let g = &self.d2[k];
        let r2 = (r * r) as f32;
        // One comparison per vertex (each is a corner of up to four cells).
        let mut ins = std::mem::take(&mut self.inside);
        ins.clear();
        ins.extend(g.iter().map(|&d| u8::from(d <= r2)));
        let dist = |i: usize, j: usize| f64::from(g[j * nx + i]).sqrt();
        // Grid edges: horizontal (i, j)-(i+1, j) have ids j * (nx - 1) + i; vertical
        // (i, j)-(i, j+1) have ids h + j * nx + i.
        let h = (nx - 1) * ny;
        let hid = |i: usize, j: usize| (j * (nx - 1) + i) as u32;
        let vid = |i: usize, j: usize| (h + j * nx + i) as u32;
        let tmin = (clear_m / c).min(0.25);
        // A crossing's position relative to the field's corner (x0, y0).
        let point = |id: u32| -> [f64; 2] {
            let id = id as usize;
            let (a, b) = if id < h {
                let (i, j) = (id % (nx - 1), id / (nx - 1));
                ((i, j), (i + 1, j))
            } else {
                let (i, j) = ((id - h) % nx, (id - h) / nx);
                ((i, j), (i, j + 1))
            };
            let (da, db) = (dist(a.0, a.1), dist(b.0, b.1));
            // The crossing of d = r between the two vertices, kept off the vertices.
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
        // next[crossing] = the crossing that follows it with the area on the left.
        let mut next = std::mem::take(&mut self.next);
        let mut pt = std::mem::take(&mut self.pt);
        let mut starts = std::mem::take(&mut self.starts);
        starts.clear();
        if tracing {
            next.clear();
            next.resize(h + nx * (ny - 1), u32::MAX);
            if pt.len() < next.len() {
                pt.resize(next.len(), [0.0; 2]);
            }
        }
        // Twice the area: the shoelace sum over every chord (Green's theorem), so no
        // ring has to be traced for it.
        let mut area2 = 0.0;
        let mut link = |area2: &mut f64, (from, p): (u32, [f64; 2]), (to, q): (u32, [f64; 2])| {
            *area2 += p[0] * q[1] - q[0] * p[1];
            if tracing {
                next[from as usize] = to;
                pt[from as usize] = p;
                starts.push(from);
            }
        };
        for j in 0..ny - 1 {
            let (lo, hi) = (&ins[j * nx..(j + 1) * nx], &ins[(j + 1) * nx..(j + 2) * nx]);
            for i in 0..nx - 1 {
                // Cells with four equal corners hold no outline.
                let sum = lo[i] + lo[i + 1] + hi[i] + hi[i + 1];
                if sum == 0 || sum == 4 {
                    if sum == 4 {
                        // A full cell: (its corner at (i, j)) x (its other corner) terms
                        // of the shoelace sum over its boundary.
                        area2 += 2.0 * c * c;
                    }
                    continue;
                }
                let corners = [lo[i] != 0, lo[i + 1] != 0, hi[i + 1] != 0, hi[i] != 0];
                // Cell edges counter-clockwise: bottom, right, top, left.
                let ids = [hid(i, j), vid(i + 1, j), hid(i, j + 1), vid(i, j)];
                // The inside corners' part of the cell boundary, in the shoelace sum:
                // each boundary edge of the cell that is inside from corner to corner.
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
                // Crossings in counter-clockwise order, marked leaving (in -> out).
                let mut cross: [(u32, [f64; 2]); 4] = [(0, [0.0; 2]); 4];
                let mut leaving0 = false;
                let mut n = 0;
                for e in 0..4 {
                    let (a, b) = (corners[e], corners[(e + 1) % 4]);
                    let f = (e + 1) % 4;
                    if a && b {
                        area2 += cx[e] * cy[f] - cx[f] * cy[e];
                    }
                    if a != b {
                        let p = point(ids[e]);
                        if n == 0 {
                            leaving0 = a;
                        }
                        cross[n] = (ids[e], p);
                        n += 1;
                        // The inside part of a crossed edge.
                        if a {
                            area2 += cx[e] * p[1] - p[0] * cy[e];
                        } else {
                            area2 += p[0] * cy[f] - cx[f] * p[1];
                        }
                    }
                }
                if n == 2 {
                    if leaving0 {
                        link(&mut area2, cross[0], cross[1]);
                    } else {
                        link(&mut area2, cross[1], cross[0]);
                    }
                } else {
                    // Saddle: rotate so cross[0] is leaving (crossings alternate), then
                    // decide by the mean.
                    let s = if leaving0 { 0 } else { 1 };
                    let c4 = [
                        cross[s],
                        cross[(s + 1) % 4],
                        cross[(s + 2) % 4],
                        cross[(s + 3) % 4],
                    ];
                    let mean =
                        (dist(i, j) + dist(i + 1, j) + dist(i + 1, j + 1) + dist(i, j + 1)) / 4.0;
                    if mean <= r {
                        link(&mut area2, c4[0], c4[1]);
                        link(&mut area2, c4[2], c4[3]);
                    } else {
                        link(&mut area2, c4[0], c4[3]);
                        link(&mut area2, c4[2], c4[1]);
                    }
                }
            }
        }
        if let Some(out) = rings {
            // Follow the links into rings.
            out.ids.clear();
            out.ends.clear();
            for &s in &starts {
                if next[s as usize] == u32::MAX {
                    continue;
                }
                let begin = out.ids.len();
                let mut at = s;
                loop {
                    out.ids.push(at);
                    let n = next[at as usize];
                    next[at as usize] = u32::MAX;
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
        self.inside = ins;
        self.next = next;
        self.pt = pt;
        self.starts = starts;
        area2 / 2.0
    }

    /// The position (projected metres) of crossing `id` of the last traced
    /// [`Field::scan`].
    #[inline]
    pub(crate) fn point(&self, id: u32) -> [f64; 2] {
        let p = self.pt[id as usize];
        [self.x0 + p[0], self.y0 + p[1]]
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
