//! Topology-preserving simplification of every level's outline at once.
//!
//! The rings of all levels form one planar arrangement on the output lattice (see
//! `shape.rs`): where levels share an outline they share its vertices. A vertex whose
//! neighbours differ between the rings through it is a *junction* and stays; the
//! stretches between junctions (*chains*, or whole rings without one) are simplified
//! once each, greedily within the tolerance (`greedy`: from each kept vertex, the
//! farthest vertex the whole stretch between stays within the tolerance of), so every
//! level that uses a chain gets the same simplified line and shared outlines stay
//! shared.
//!
//! A shortcut `a → b` replacing the chain's vertices between them is taken only if no
//! other live vertex and no protected point (the reached nodes) lies inside or on the
//! region between the old vertices and the shortcut (Saalfeld's test; the region lies
//! within the tolerance of the shortcut, so only points that close are tested, exactly,
//! in integer lattice coordinates). Any segment the shortcut would cross, touch or
//! overlap has an end point there, so the arrangement stays planar with the same
//! topology: rings stay simple and disjoint, holes stay in their exteriors, every
//! level stays inside the next (5 ⊂ 10 ⊂ 15), and protected points stay on the same
//! side of every ring. Whole rings keep at least three vertices (three anchors), two
//! junctions are never joined by two identical segments, and a hole ring that lies
//! within the tolerance of one segment is dropped when nothing lies inside it.
//!
//! Afterwards, corners the grid cut off are restored (`restore_corners`): where the
//! outline turns right (a notch of the area, such as a hole's corner) at both ends of
//! a short segment, that segment is replaced by the point where the lines of the
//! segments before and after it meet, through steps the same topology test allows.
//!
//! # Complexity
//! O(n) for n vertices to find shortcuts (a sleeve of directions), plus, per
//! shortcut, the vertices it spans and the points near it (a bucket grid) times that
//! length for the points that are that close.

use std::collections::HashSet;

use crate::shape::{Arrangement, Lattice, area2, round_i};

const SEEN: u8 = 1;
const JUNCTION: u8 = 2;
const DONE: u8 = 4;
/// A vertex removed by the simplification.
pub(crate) const DEAD: u8 = 8;
/// On a counter-clockwise ring of some level (an exterior): not in a droppable hole.
const OUTER: u8 = 16;
/// Moved to a restored corner.
const MOVED: u8 = 32;

/// The distance-field grid the traced chords lie in: cell `j * nx + i` spans
/// `x0 + i·cell ..` and `y0 + j·cell ..` (projected metres).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellGrid {
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) cell: f64,
    pub(crate) nx: usize,
    pub(crate) ny: usize,
}

/// Reusable state.
#[derive(Default)]
pub(crate) struct Simplifier {
    /// Per vertex, [`DEAD`] and bookkeeping bits.
    pub(crate) flags: Vec<u8>,
    /// Vertex positions on the lattice (restored corners move vertices).
    pub(crate) pos: Vec<[i32; 2]>,
    nb: Vec<[u32; 2]>,
    /// Vertices and then protected points, in metres from the first vertex.
    m: Vec<[f64; 2]>,
    /// Protected points on the lattice.
    prot: Vec<[i64; 2]>,
    mark: Vec<u32>,
    stamp: u32,
    bucket_m: f64,
    b0: [f64; 2],
    bn: [usize; 2],
    /// Points by bucket (CSR: bucket `c` holds `bitems[bstart[c]..bstart[c + 1]]`),
    /// plus points filed later (moved vertices): per bucket a list chained through
    /// `onext` naming `opoint`.
    bstart: Vec<u32>,
    bitems: Vec<u32>,
    ohead: Vec<u32>,
    onext: Vec<u32>,
    opoint: Vec<u32>,
    near: Vec<u32>,
    chain: Vec<u32>,
    cands: Vec<usize>,
    direct: HashSet<(u32, u32)>,
    poly: Vec<[i64; 2]>,
    /// The traced chords `(cell, from, to)` sorted by cell (restoring corners), and a
    /// buffer for sorting them.
    chords: Vec<(u32, u32, u32)>,
    chords_tmp: Vec<(u32, u32, u32)>,
    /// Cells where a corner was restored (no further corner there).
    taken: HashSet<u32>,
    inv_bucket: f64,
    tol2: f64,
}

#[inline]
fn key(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// A segment prepared for many distance queries.
#[derive(Clone, Copy)]
struct Seg {
    a: [f64; 2],
    d: [f64; 2],
    inv_l2: f64,
}

impl Seg {
    #[inline]
    fn new(a: [f64; 2], b: [f64; 2]) -> Self {
        let d = [b[0] - a[0], b[1] - a[1]];
        let l2 = d[0] * d[0] + d[1] * d[1];
        Seg {
            a,
            d,
            inv_l2: if l2 > 0.0 { 1.0 / l2 } else { 0.0 },
        }
    }

    /// Squared distance from `p` to the segment.
    #[inline]
    fn dist2(&self, p: [f64; 2]) -> f64 {
        let (px, py) = (p[0] - self.a[0], p[1] - self.a[1]);
        let t = ((px * self.d[0] + py * self.d[1]) * self.inv_l2).clamp(0.0, 1.0);
        let (qx, qy) = (t * self.d[0] - px, t * self.d[1] - py);
        qx * qx + qy * qy
    }
}

#[inline]
fn seg_dist2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (px, py) = (p[0] - a[0], p[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        ((px * dx + py * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (t * dx - px, t * dy - py);
    qx * qx + qy * qy
}

#[inline]
fn orient(a: [i64; 2], b: [i64; 2], p: [i64; 2]) -> i128 {
    i128::from(b[0] - a[0]) * i128::from(p[1] - a[1])
        - i128::from(b[1] - a[1]) * i128::from(p[0] - a[0])
}

#[inline]
fn wide(q: [i32; 2]) -> [i64; 2] {
    [i64::from(q[0]), i64::from(q[1])]
}

/// Whether `p` lies inside or on the closed polyline `poly` (first point repeated at
/// the end; even–odd rule for a polyline that may cross itself), exactly.
fn inside_or_on(poly: &[[i64; 2]], p: [i64; 2]) -> bool {
    let mut c = false;
    for w in poly.windows(2) {
        let (a, b) = (w[0], w[1]);
        let o = orient(a, b, p);
        if o == 0
            && p[0] >= a[0].min(b[0])
            && p[0] <= a[0].max(b[0])
            && p[1] >= a[1].min(b[1])
            && p[1] <= a[1].max(b[1])
        {
            return true;
        }
        if (a[1] > p[1]) != (b[1] > p[1]) && (b[1] > a[1]) == (o > 0) {
            c = !c;
        }
    }
    c
}

impl Simplifier {
    /// Simplifies `a` within `tol_m` metres (0: only drops vertices in the middle of
    /// straight runs), keeping `protected` lattice points on their side of every ring.
    /// `bucket_m` is the size of the search buckets (about the spacing of the
    /// vertices). With `corners` (the grid of the chords in `a.chords`), afterwards
    /// restores corners the grid cut off. Then `flags[v] & DEAD` tells the removed
    /// vertices and `pos` the positions of the others.
    pub(crate) fn run(
        &mut self,
        a: &Arrangement,
        protected: &[[i32; 2]],
        tol_m: f64,
        lattice: &Lattice,
        bucket_m: f64,
        corners: Option<CellGrid>,
    ) {
        let n = a.pts.len();
        self.flags.clear();
        self.flags.resize(n, 0);
        self.pos.clear();
        self.pos.extend_from_slice(&a.pts);
        self.nb.resize(n, [u32::MAX; 2]);
        // Neighbours, junctions, and which vertices lie on an exterior.
        for r in 0..a.rings.len() {
            let ring = a.ring(r);
            let len = ring.len();
            for i in 0..len {
                let v = ring[i] as usize;
                let (p, q) = (ring[(i + len - 1) % len], ring[(i + 1) % len]);
                if self.flags[v] & SEEN == 0 {
                    self.nb[v] = [p, q];
                    self.flags[v] |= SEEN;
                } else if self.nb[v] != [p, q] && self.nb[v] != [q, p] {
                    self.flags[v] |= JUNCTION;
                }
            }
            self.poly.clear();
            self.poly
                .extend(ring.iter().map(|&v| wide(a.pts[v as usize])));
            self.poly.push(wide(a.pts[ring[0] as usize]));
            if area2(&self.poly) > 0 {
                for &v in ring {
                    self.flags[v as usize] |= OUTER;
                }
            }
        }
        if n == 0 {
            return;
        }
        self.tol2 = tol_m * tol_m;
        // Metric positions: vertices, then protected points.
        let o = a.pts[0];
        let scale = lattice.scale;
        let to_m = move |q: [i32; 2]| {
            [
                f64::from(q[0] - o[0]) * scale[0],
                f64::from(q[1] - o[1]) * scale[1],
            ]
        };
        self.m.clear();
        self.m.extend(a.pts.iter().map(|&q| to_m(q)));
        self.m.extend(protected.iter().map(|&q| to_m(q)));
        self.prot.clear();
        self.prot.extend(protected.iter().map(|&q| wide(q)));
        self.mark.clear();
        self.mark.resize(n, 0);
        self.stamp = 0;
        if tol_m > 0.0 {
            self.buckets(bucket_m.max(2.0 * tol_m));
        }
        // Vertices in the middle of a straight run go: nothing changes shape.
        for v in 0..n {
            if self.flags[v] & (SEEN | JUNCTION | DEAD) != SEEN {
                continue;
            }
            let [p, q] = self.nb[v];
            let (p, c, q) = (
                wide(self.pos[p as usize]),
                wide(self.pos[v]),
                wide(self.pos[q as usize]),
            );
            if orient(p, q, c) == 0
                && (c[0] - p[0]) * (q[0] - c[0]) + (c[1] - p[1]) * (q[1] - c[1]) > 0
            {
                self.flags[v] |= DEAD;
            }
        }
        if tol_m <= 0.0 {
            return;
        }
        // Segments joining two junctions directly.
        self.direct.clear();
        for r in 0..a.rings.len() {
            let ring = a.ring(r);
            let mut last = None;
            for &v in ring.iter().chain(ring.first()) {
                let f = self.flags[v as usize];
                if f & DEAD != 0 {
                    continue;
                }
                let j = f & JUNCTION != 0;
                if let Some((u, true)) = last
                    && j
                {
                    self.direct.insert(key(u, v));
                }
                last = Some((v, j));
            }
        }
        // Chains between junctions, and rings without one.
        let mut chain = std::mem::take(&mut self.chain);
        for r in 0..a.rings.len() {
            let ring = a.ring(r);
            let len = ring.len();
            let Some(j0) = ring
                .iter()
                .position(|&v| self.flags[v as usize] & JUNCTION != 0)
            else {
                chain.clear();
                chain.extend(
                    ring.iter()
                        .copied()
                        .filter(|&v| self.flags[v as usize] & DEAD == 0),
                );
                if chain.len() >= 4 && self.flags[chain[0] as usize] & DONE == 0 {
                    self.closed(&mut chain, false);
                }
                continue;
            };
            chain.clear();
            chain.push(ring[j0]);
            for step in 1..=len {
                let v = ring[(j0 + step) % len];
                if self.flags[v as usize] & DEAD != 0 {
                    continue;
                }
                chain.push(v);
                if self.flags[v as usize] & JUNCTION == 0 {
                    continue;
                }
                if chain.len() > 2 && self.flags[chain[1] as usize] & DONE == 0 {
                    if chain[0] == v {
                        chain.pop();
                        if chain.len() >= 4 {
                            self.closed(&mut chain, true);
                        }
                    } else {
                        self.open(&chain);
                    }
                }
                chain.clear();
                chain.push(v);
            }
        }
        self.chain = chain;
        if let Some(grid) = corners {
            self.chord_cells(a);
            self.restore_corners(a, lattice, grid);
        }
    }

    /// Buckets of about `bucket_m` metres holding the vertices (ids below the vertex
    /// count) and the protected points (ids above).
    fn buckets(&mut self, bucket_m: f64) {
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &self.m {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
        // Room for points moved up to a few cells away.
        let (lo, hi) = (
            [lo[0] - 4.0 * bucket_m, lo[1] - 4.0 * bucket_m],
            [hi[0] + 4.0 * bucket_m, hi[1] + 4.0 * bucket_m],
        );
        let items = self.m.len();
        let mut b = bucket_m;
        // At most about four buckets per item.
        let cap = (4 * items + 64) as f64;
        while ((hi[0] - lo[0]) / b + 1.0) * ((hi[1] - lo[1]) / b + 1.0) > cap {
            b *= 1.5;
        }
        self.bucket_m = b;
        self.inv_bucket = 1.0 / b;
        self.b0 = lo;
        self.bn = [
            ((hi[0] - lo[0]) / b) as usize + 1,
            ((hi[1] - lo[1]) / b) as usize + 1,
        ];
        let cells = self.bn[0] * self.bn[1];
        self.bstart.clear();
        self.bstart.resize(cells + 1, 0);
        // Each point's bucket, kept in `bitems` until the points are placed.
        let mut of = std::mem::take(&mut self.near);
        of.clear();
        for i in 0..items {
            let c = self.cell_of(self.m[i]);
            of.push(c as u32);
            self.bstart[c + 1] += 1;
        }
        for c in 0..cells {
            self.bstart[c + 1] += self.bstart[c];
        }
        self.bitems.clear();
        self.bitems.resize(items, 0);
        let mut fill = std::mem::take(&mut self.chain);
        fill.clear();
        fill.extend_from_slice(&self.bstart[..cells]);
        for (i, &c) in of.iter().enumerate() {
            self.bitems[fill[c as usize] as usize] = i as u32;
            fill[c as usize] += 1;
        }
        self.near = of;
        self.chain = fill;
        self.ohead.clear();
        self.ohead.resize(cells, u32::MAX);
        self.onext.clear();
        self.opoint.clear();
    }

    #[inline]
    fn cell_of(&self, p: [f64; 2]) -> usize {
        self.bucket(p[0], 0) + self.bucket(p[1], 1) * self.bn[0]
    }

    /// Files point `i` (at its new `m[i]`) in its bucket.
    fn insert(&mut self, i: u32) {
        let c = self.cell_of(self.m[i as usize]);
        self.onext.push(self.ohead[c]);
        self.opoint.push(i);
        self.ohead[c] = (self.opoint.len() - 1) as u32;
    }

    #[inline]
    fn bucket(&self, x: f64, axis: usize) -> usize {
        (((x - self.b0[axis]) * self.inv_bucket).max(0.0) as usize).min(self.bn[axis] - 1)
    }

    /// Collects into `near` the points filed in buckets `cols` of row `row`.
    fn collect(&mut self, row: usize, cols: (usize, usize)) {
        let base = row * self.bn[0];
        let (s, e) = (
            self.bstart[base + cols.0] as usize,
            self.bstart[base + cols.1 + 1] as usize,
        );
        self.near.extend_from_slice(&self.bitems[s..e]);
        for col in cols.0..=cols.1 {
            let mut it = self.ohead[base + col];
            while it != u32::MAX {
                self.near.push(self.opoint[it as usize]);
                it = self.onext[it as usize];
            }
        }
    }

    /// Whether point `it` (a vertex or a protected point) is a live vertex not marked
    /// with the current stamp, or a protected point; with its lattice position.
    #[inline]
    fn obstacle(&self, it: usize) -> Option<[i64; 2]> {
        let n = self.flags.len();
        if it < n {
            if self.flags[it] & DEAD != 0 || self.mark[it] == self.stamp {
                return None;
            }
            Some(wide(self.pos[it]))
        } else {
            Some(self.prot[it - n])
        }
    }

    fn next_stamp(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
    }

    /// Whether no live vertex other than `chain[i..=j]` and no protected point lies
    /// inside or on the polygon `chain[i..=j]` closed by the shortcut, given that every
    /// vertex of the chain lies within `sqrt(d2)` metres of segment
    /// `chain[i]`–`chain[j]`.
    fn clear_of_points(&mut self, chain: &[u32], i: usize, j: usize, d2: f64) -> bool {
        self.next_stamp();
        for &v in &chain[i..=j] {
            self.mark[v as usize] = self.stamp;
        }
        let (pa, pb) = (self.m[chain[i] as usize], self.m[chain[j] as usize]);
        let r2 = self.gather_near(pa, pb, d2);
        self.poly.clear();
        let seg = Seg::new(pa, pb);
        for k in 0..self.near.len() {
            let it = self.near[k] as usize;
            if seg.dist2(self.m[it]) > r2 {
                continue;
            }
            let Some(q) = self.obstacle(it) else {
                continue;
            };
            if self.poly.is_empty() {
                for &v in &chain[i..=j] {
                    self.poly.push(wide(self.pos[v as usize]));
                }
                let first = self.poly[0];
                self.poly.push(first);
            }
            if inside_or_on(&self.poly, q) {
                return false;
            }
        }
        true
    }

    /// The vertex of `chain[i + 1..j]` farthest from segment `chain[i]`–`chain[j]`,
    /// and its squared distance.
    fn farthest(&self, chain: &[u32], i: usize, j: usize) -> (usize, f64) {
        let seg = Seg::new(self.m[chain[i] as usize], self.m[chain[j] as usize]);
        let mut best = (i + 1, -1.0);
        for (k, &v) in chain[i + 1..j].iter().enumerate() {
            let d = seg.dist2(self.m[v as usize]);
            if d > best.1 {
                best = (i + 1 + k, d);
            }
        }
        best
    }

    /// Simplifies `chain[lo..=hi]` greedily in one pass: from each kept vertex `a`,
    /// the farthest vertex `b` such that every vertex between lies within the
    /// tolerance of segment `a`–`b` and the topology test passes. The candidates come
    /// from a sleeve: the directions from `a` that pass within the tolerance of every
    /// vertex so far form a wedge (each vertex farther than the tolerance narrows it
    /// to the directions within `asin(tol / distance)` of its own), and a vertex
    /// whose direction lies in the wedge is a candidate end; each candidate, farthest
    /// first, is checked exactly (distance to the segment, topology). `open`: the
    /// chain joins two junctions, so collapsing it whole must not duplicate a segment.
    ///
    /// # Complexity
    /// O(n) for the sleeve; each tried candidate costs the vertices it spans.
    fn greedy(&mut self, chain: &[u32], lo: usize, hi: usize, open: bool) {
        let tol2 = self.tol2;
        let tol = tol2.sqrt();
        let cross = |p: [f64; 2], q: [f64; 2]| p[0] * q[1] - p[1] * q[0];
        let mut cands = std::mem::take(&mut self.cands);
        let mut i = lo;
        while i < hi {
            let a = self.m[chain[i] as usize];
            cands.clear();
            // The wedge's right and left bounds (unit vectors), once bounded.
            let (mut r, mut l) = ([0.0; 2], [0.0; 2]);
            let mut bounded = false;
            for (k, &vk) in chain.iter().enumerate().take(hi + 1).skip(i + 1) {
                let p = self.m[vk as usize];
                let v = [p[0] - a[0], p[1] - a[1]];
                if k > i + 1 && (!bounded || (cross(r, v) >= 0.0 && cross(v, l) >= 0.0)) {
                    cands.push(k);
                }
                let d2 = v[0] * v[0] + v[1] * v[1];
                if d2 > tol2 {
                    let inv = 1.0 / d2.sqrt();
                    let (ux, uy) = (v[0] * inv, v[1] * inv);
                    let sn = tol * inv;
                    let cs = (1.0 - sn * sn).sqrt();
                    let lk = [ux * cs - uy * sn, ux * sn + uy * cs];
                    let rk = [ux * cs + uy * sn, -ux * sn + uy * cs];
                    if !bounded {
                        (r, l, bounded) = (rk, lk, true);
                    } else {
                        if cross(l, lk) < 0.0 {
                            l = lk;
                        }
                        if cross(r, rk) > 0.0 {
                            r = rk;
                        }
                        if cross(r, l) < 0.0 {
                            break;
                        }
                    }
                }
            }
            let mut next = i + 1;
            while let Some(k) = cands.pop() {
                let (_, d2) = self.farthest(chain, i, k);
                let whole = open && i == lo && k == hi;
                if d2 <= tol2
                    && !(whole && self.direct.contains(&key(chain[i], chain[k])))
                    && self.clear_of_points(chain, i, k, d2)
                {
                    for &v in &chain[i + 1..k] {
                        self.flags[v as usize] |= DEAD;
                    }
                    if whole {
                        self.direct.insert(key(chain[i], chain[k]));
                    }
                    next = k;
                    break;
                }
            }
            i = next;
        }
        self.cands = cands;
    }

    /// A chain between two different junctions.
    fn open(&mut self, chain: &[u32]) {
        for &v in &chain[1..chain.len() - 1] {
            self.flags[v as usize] |= DONE;
        }
        self.greedy(chain, 0, chain.len() - 1, true);
    }

    /// A whole ring (`anchored`: its first vertex is a junction and stays), at least
    /// four vertices: it keeps three anchors — the first vertex, the one farthest from
    /// it and the one farthest from the segment between those two — so it stays a
    /// ring. A hole ring within the tolerance of that segment, with nothing inside,
    /// is dropped.
    fn closed(&mut self, chain: &mut Vec<u32>, anchored: bool) {
        for &v in chain.iter() {
            self.flags[v as usize] |= DONE;
        }
        let n = chain.len();
        let p0 = self.m[chain[0] as usize];
        let d0 = |v: u32| {
            let p = self.m[v as usize];
            (p[0] - p0[0]).powi(2) + (p[1] - p0[1]).powi(2)
        };
        let mut f = 1;
        for k in 2..n {
            if d0(chain[k]) > d0(chain[f]) {
                f = k;
            }
        }
        chain.push(chain[0]);
        let pf = self.m[chain[f] as usize];
        let (mut g, mut dg) = (0, -1.0);
        for (k, &v) in chain.iter().enumerate().take(n).skip(1) {
            if k == f {
                continue;
            }
            let d = seg_dist2(self.m[v as usize], p0, pf);
            if d > dg {
                (g, dg) = (k, d);
            }
        }
        if dg <= 0.0 {
            // Degenerate (never for a ring with an area): leave it.
            return;
        }
        let hole = !anchored && chain.iter().all(|&v| self.flags[v as usize] & OUTER == 0);
        if hole && dg <= self.tol2 {
            // The ring itself as the region: `clear_of_points` over chain[0..=n] plus
            // chain[f] walks the segment chain[0]–chain[f] there and back, which
            // changes the parity of no point off it and counts points on it as
            // inside (conservative), and searches near that segment.
            chain.push(chain[f]);
            let clear = self.clear_of_points(chain, 0, n + 1, dg);
            chain.pop();
            if clear {
                for &v in chain.iter() {
                    self.flags[v as usize] |= DEAD;
                }
                return;
            }
        }
        let (lo, hi) = (f.min(g), f.max(g));
        let all = std::mem::take(chain);
        for (s, e) in [(0, lo), (lo, hi), (hi, n)] {
            self.greedy(&all, s, e, false);
        }
        *chain = all;
    }

    /// Restores corners the grid cut off (see the module documentation), after
    /// the greedy pass: where the outline turns right at both ends of a segment
    /// `b → c` no longer than 1.5 cells, and the lines of the segments before and
    /// after it meet at `p` beyond `b` and `c`, no farther from the middle of `b → c`
    /// than its length, `b` moves to `p` and `c` goes. That is three steps the
    /// topology test allows: `p` inserted between `b` and `c`, then `b` and `c`
    /// dropped by shortcuts `a → p` and `p → d` (no point inside or on their
    /// triangles). For the first, no segment may cross the new sides of triangle
    /// `b p c`: every current segment lies within the tolerance of the traced chords
    /// it replaced (or of a restored corner), so it suffices that the grid cells
    /// within the tolerance of the triangle hold no traced chord but those between
    /// `a` and `d` and no restored corner.
    fn restore_corners(&mut self, a: &Arrangement, lattice: &Lattice, grid: CellGrid) {
        let max_m = 1.5 * grid.cell;
        let tol = self.tol2.sqrt();
        let n = a.pts.len();
        // Live vertices of a ring and their positions in it.
        let mut alive: Vec<(u32, usize)> = Vec::new();
        for r in 0..a.rings.len() {
            let ring = a.ring(r);
            alive.clear();
            alive.extend(
                ring.iter()
                    .enumerate()
                    .filter(|&(_, &v)| self.flags[v as usize] & DEAD == 0)
                    .map(|(i, &v)| (v, i)),
            );
            let len = alive.len();
            if len < 4 {
                continue;
            }
            let mut i = 0;
            while i < len {
                let [(pa, ia), (pb, _), (pc, _), (pd, id)] =
                    [0, 1, 2, 3].map(|k| alive[(i + k) % len]);
                i += 1;
                let fl = |v: u32| self.flags[v as usize];
                if fl(pb) & (JUNCTION | DEAD | MOVED) != 0
                    || fl(pc) & (JUNCTION | DEAD | MOVED) != 0
                    || fl(pa) & DEAD != 0
                    || fl(pd) & DEAD != 0
                    || pa == pd
                {
                    continue;
                }
                let [qa, qb, qc, qd] = [pa, pb, pc, pd].map(|v| wide(self.pos[v as usize]));
                if orient(qa, qb, qc) >= 0 || orient(qb, qc, qd) >= 0 {
                    continue;
                }
                let [ma, mb, mc, md] = [pa, pb, pc, pd].map(|v| self.m[v as usize]);
                let bc2 = (mc[0] - mb[0]).powi(2) + (mc[1] - mb[1]).powi(2);
                if bc2 > max_m * max_m {
                    continue;
                }
                // Where the lines a-b and d-c meet, beyond b and beyond c.
                let (r1, r2) = (
                    [mb[0] - ma[0], mb[1] - ma[1]],
                    [mc[0] - md[0], mc[1] - md[1]],
                );
                let den = r1[0] * r2[1] - r1[1] * r2[0];
                if den.abs() < 1e-12 {
                    continue;
                }
                let w = [md[0] - ma[0], md[1] - ma[1]];
                let t = (w[0] * r2[1] - w[1] * r2[0]) / den;
                let sd = (w[0] * r1[1] - w[1] * r1[0]) / den;
                if t <= 1.0 || sd <= 1.0 {
                    continue;
                }
                let pm = [ma[0] + t * r1[0], ma[1] + t * r1[1]];
                let mid = [(mb[0] + mc[0]) / 2.0, (mb[1] + mc[1]) / 2.0];
                if (pm[0] - mid[0]).powi(2) + (pm[1] - mid[1]).powi(2) >= bc2 {
                    continue;
                }
                // The corner on the lattice (metres back from the first vertex).
                let o = a.pts[0];
                let q = [
                    o[0] + round_i(pm[0] / lattice.scale[0]) as i32,
                    o[1] + round_i(pm[1] / lattice.scale[1]) as i32,
                ];
                let qw = wide(q);
                if qw == qb || qw == qc {
                    continue;
                }
                let qm = [
                    f64::from(q[0] - o[0]) * lattice.scale[0],
                    f64::from(q[1] - o[1]) * lattice.scale[1],
                ];
                // The grid cells within the tolerance of triangle b p c.
                let [xb, xc, xq] = [qb, qc, qw].map(|p| lattice.xy([p[0] as i32, p[1] as i32]));
                let (lo, hi) = (
                    [
                        xb[0].min(xc[0]).min(xq[0]) - tol,
                        xb[1].min(xc[1]).min(xq[1]) - tol,
                    ],
                    [
                        xb[0].max(xc[0]).max(xq[0]) + tol,
                        xb[1].max(xc[1]).max(xq[1]) + tol,
                    ],
                );
                let cell = |x: f64, o: f64, nmax: usize| {
                    // Truncation is the floor here: negative values clamp to 0.
                    (((x - o) / grid.cell).max(0.0) as usize).min(nmax - 1)
                };
                let (ci0, ci1) = (cell(lo[0], grid.x0, grid.nx), cell(hi[0], grid.x0, grid.nx));
                let (cj0, cj1) = (cell(lo[1], grid.y0, grid.ny), cell(hi[1], grid.y0, grid.ny));
                // Own chords: those between a and d along this ring.
                self.next_stamp();
                let mut k = ia;
                loop {
                    self.mark[ring[k] as usize] = self.stamp;
                    if k == id {
                        break;
                    }
                    k = (k + 1) % ring.len();
                }
                let stamp = self.stamp;
                let mut clear = true;
                'cells: for cj in cj0..=cj1 {
                    let (c0, c1) = ((cj * grid.nx + ci0) as u32, (cj * grid.nx + ci1) as u32);
                    if (c0..=c1).any(|t| self.taken.contains(&t)) {
                        clear = false;
                        break;
                    }
                    let from = self.chords.partition_point(|c| c.0 < c0);
                    for c in &self.chords[from..] {
                        if c.0 > c1 {
                            break;
                        }
                        if self.mark[c.1 as usize] != stamp || self.mark[c.2 as usize] != stamp {
                            clear = false;
                            break 'cells;
                        }
                    }
                }
                if !clear {
                    continue;
                }
                // Triangle b p c: no protected point in or on it (vertices there have
                // chords in those cells); triangles a b p and p c d: no point in or
                // on them.
                self.next_stamp();
                self.mark[pb as usize] = self.stamp;
                self.mark[pc as usize] = self.stamp;
                if !self.prot.is_empty()
                    && !self.points_clear(mb, mc, seg_dist2(qm, mb, mc), &[qb, qw, qc, qb])
                {
                    continue;
                }
                self.next_stamp();
                self.mark[pa as usize] = self.stamp;
                self.mark[pb as usize] = self.stamp;
                if !self.points_clear(ma, qm, seg_dist2(mb, ma, qm), &[qa, qb, qw, qa]) {
                    continue;
                }
                self.next_stamp();
                self.mark[pc as usize] = self.stamp;
                self.mark[pd as usize] = self.stamp;
                if !self.points_clear(qm, md, seg_dist2(mc, qm, md), &[qw, qc, qd, qw]) {
                    continue;
                }
                // b moves to the corner, c goes; the cells around it are taken.
                self.pos[pb as usize] = q;
                self.m[pb as usize] = qm;
                self.flags[pb as usize] |= MOVED;
                self.flags[pc as usize] |= DEAD;
                self.insert(pb);
                for cj in cj0..=cj1 {
                    for ci in ci0..=ci1 {
                        self.taken.insert((cj * grid.nx + ci) as u32);
                    }
                }
                debug_assert!((pb as usize) < n);
                // The next windows hold b or c.
                i += 1;
            }
        }
    }

    /// Whether no live unmarked vertex and no protected point lies inside or on the
    /// closed polygon `poly`, which lies within `sqrt(d2)` metres of segment `pa–pb`
    /// (metres).
    /// Fills `near` with the bucketed items within `sqrt(d2)` (and a hair) of segment
    /// `pa`–`pb`'s rows and columns; returns the squared radius to test them against.
    fn gather_near(&mut self, pa: [f64; 2], pb: [f64; 2], d2: f64) -> f64 {
        let r2 = d2 * (1.0 + 1e-9) + 1e-9;
        let r = r2.sqrt();
        self.near.clear();
        for row in self.bucket(pa[1].min(pb[1]) - r, 1)..=self.bucket(pa[1].max(pb[1]) + r, 1) {
            let cols = self.cols(row, pa, pb, r);
            self.collect(row, cols);
        }
        r2
    }

    fn points_clear(&mut self, pa: [f64; 2], pb: [f64; 2], d2: f64, poly: &[[i64; 2]]) -> bool {
        let r2 = self.gather_near(pa, pb, d2);
        let seg = Seg::new(pa, pb);
        for k in 0..self.near.len() {
            let it = self.near[k] as usize;
            if seg.dist2(self.m[it]) > r2 {
                continue;
            }
            let Some(q) = self.obstacle(it) else {
                continue;
            };
            if inside_or_on(poly, q) {
                return false;
            }
        }
        true
    }

    /// The bucket columns of row `row` that segment `pa–pb` widened by `r` meets.
    fn cols(&self, row: usize, pa: [f64; 2], pb: [f64; 2], r: f64) -> (usize, usize) {
        let b = self.bucket_m;
        let y0 = self.b0[1];
        let (ylo, yhi) = (y0 + row as f64 * b - r, y0 + (row + 1) as f64 * b + r);
        let (xlo, xhi) = if pb[1] == pa[1] {
            (pa[0].min(pb[0]), pa[0].max(pb[0]))
        } else {
            let inv = 1.0 / (pb[1] - pa[1]);
            let t0 = ((ylo - pa[1]) * inv).clamp(0.0, 1.0);
            let t1 = ((yhi - pa[1]) * inv).clamp(0.0, 1.0);
            let (xa, xb) = (pa[0] + t0 * (pb[0] - pa[0]), pa[0] + t1 * (pb[0] - pa[0]));
            (xa.min(xb), xa.max(xb))
        };
        (self.bucket(xlo - r, 0), self.bucket(xhi + r, 0))
    }

    /// The traced chords, sorted by their grid cell (an LSD radix sort, 11 bits a
    /// pass).
    fn chord_cells(&mut self, a: &Arrangement) {
        self.chords.clear();
        for r in 0..a.rings.len() {
            let ring = a.ring(r);
            let start = if r == 0 { 0 } else { a.rings[r - 1].1 as usize };
            for (i, &v) in ring.iter().enumerate() {
                let c = a.chords[start + i];
                if c != u32::MAX {
                    self.chords.push((c, v, ring[(i + 1) % ring.len()]));
                }
            }
        }
        let max = self.chords.iter().map(|c| c.0).max().unwrap_or(0);
        let mut shift = 0;
        while shift == 0 || (shift < 32 && max >> shift != 0) {
            let mut count = [0u32; 2049];
            for c in &self.chords {
                count[((c.0 >> shift) & 2047) as usize + 1] += 1;
            }
            for k in 0..2048 {
                count[k + 1] += count[k];
            }
            self.chords_tmp.clear();
            self.chords_tmp.resize(self.chords.len(), (0, 0, 0));
            for c in &self.chords {
                let d = ((c.0 >> shift) & 2047) as usize;
                self.chords_tmp[count[d] as usize] = *c;
                count[d] += 1;
            }
            std::mem::swap(&mut self.chords, &mut self.chords_tmp);
            shift += 11;
        }
        self.taken.clear();
    }
}
