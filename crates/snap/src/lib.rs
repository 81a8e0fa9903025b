/*!
Snapping to the walking network.

A [`Snapper`] indexes every straight segment of every edge in an `rstar` R-tree, in
the graph's local metric projection (never in lon/lat). A point snaps to the nearest
point of the nearest *edge*, not to the nearest node: the [`Snap`] keeps the edge, the
distance along it from its `u` end (in the edge's own millimetre length), and the
off-network distance.

Walking distance between two snapped places is
`leg(a) + network distance between the two snapped points + leg(b)`, where the network
part starts with the partial edge from the snapped point to either end of its edge
(or runs along the edge when both lie on the same one).

# Example
```
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};
use livingcircle_snap::Snapper;
let way = WalkWay { way_id: 1, nodes: vec![1, 2], coords: vec![[11.0, 48.0], [11.001, 48.0]],
    direction: FootDirection::Both, highway: "footway".into(), name: None };
let (g, _) = WalkGraph::build(&[way], &BuildOptions::default()).unwrap();
let s = Snapper::new(&g);
let p = g.projection().project([11.0005, 48.0001]);
let snap = s.snap_point(p, 200.0).unwrap();
assert_eq!(snap.edge, 0);
assert!((snap.dist_m - 11.1).abs() < 0.2);
let e = g.edge(0);
assert!((i64::from(snap.offset_mm) - i64::from(e.length_mm) / 2).abs() < 100);
```
*/

use livingcircle_graph::{EdgeId, WalkGraph};
use rayon::prelude::*;
use rstar::primitives::Line;
use rstar::{AABB, PointDistance, RStarInsertionStrategy, RTree, RTreeObject, RTreeParams};

/// Where a point meets the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge.
    pub edge: EdgeId,
    /// Distance along the edge from its `u` end, in millimetres of the edge's length
    /// (`0 ..= length_mm`).
    pub offset_mm: u32,
    /// Off-network distance in metres on the ground (the frame distance divided by
    /// the frame's scale there).
    pub dist_m: f64,
    /// The snapped point in projected metres.
    pub xy: [f64; 2],
}

impl Snap {
    /// The off-network leg in whole millimetres.
    pub fn leg_mm(&self) -> u32 {
        (self.dist_m * 1000.0).round() as u32
    }
}

/// Segments an index entry holds: a run of up to this many consecutive segments of
/// one edge (fewer entries than one per segment make the index faster to build and
/// to search; the nearest segment within a run is found by a scan).
const RUN: usize = 8;

/// Edges whose distances from a point differ by at most this (ground metres) are
/// equally near: the lowest edge id wins. A millimetre is below what any input
/// position means, and above the frame's own rounding, so the choice does not hang
/// on floating-point noise or on the projection.
pub const TIE_M: f64 = 0.001;

/// A run of consecutive segments of one edge.
struct Run<'g> {
    edge: EdgeId,
    /// Index of the run's first segment in the edge.
    first: u32,
    /// The run's points (one more than its segments), borrowed from the graph.
    pts: &'g [[f64; 2]],
    envelope: AABB<[f64; 2]>,
}

impl Run<'_> {
    /// The nearest segment to `p`: squared distance and segment index (the lowest of
    /// equally near ones).
    #[inline]
    fn nearest(&self, p: &[f64; 2]) -> (f64, u32) {
        let mut best = (f64::INFINITY, 0);
        for (i, w) in self.pts.windows(2).enumerate() {
            let d2 = Line::new(w[0], w[1]).distance_2(p);
            if d2 < best.0 {
                best = (d2, self.first + i as u32);
            }
        }
        best
    }
}

impl RTreeObject for Run<'_> {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PointDistance for Run<'_> {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        self.nearest(p).0
    }
}

/// R-tree nodes of up to 16 entries: shallower than rstar's default of 6, which
/// makes both the bulk load and nearest-neighbour queries faster here.
struct Params;

impl RTreeParams for Params {
    const MIN_SIZE: usize = 3;
    const MAX_SIZE: usize = 8;
    const REINSERTION_COUNT: usize = 2;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// An R-tree over the graph's edge segments.
pub struct Snapper<'g> {
    graph: &'g WalkGraph,
    tree: RTree<Run<'g>, Params>,
}

impl<'g> Snapper<'g> {
    /// Indexes every segment of every edge (`bulk_load`), in runs of up to 8
    /// consecutive segments of an edge.
    ///
    /// # Complexity
    /// O(S log S) for S segments.
    pub fn new(graph: &'g WalkGraph) -> Self {
        let runs: Vec<Run<'g>> = (0..graph.edge_count() as EdgeId)
            .into_par_iter()
            .flat_map_iter(|e| {
                let xy = graph.edge_xy(e);
                let segments = xy.len().saturating_sub(1);
                (0..segments).step_by(RUN).map(move |first| {
                    let pts = &xy[first..(first + RUN + 1).min(xy.len())];
                    Run {
                        edge: e,
                        first: first as u32,
                        pts,
                        envelope: AABB::from_points(pts),
                    }
                })
            })
            .collect();
        Snapper {
            graph,
            tree: RTree::bulk_load_with_params(runs),
        }
    }

    /// The graph it snaps to.
    pub fn graph(&self) -> &'g WalkGraph {
        self.graph
    }

    /// Snaps a projected point to the nearest point of the nearest edge, if it lies
    /// within `max_m` metres on the ground. Ties go to the lowest edge id, then
    /// segment.
    ///
    /// The graph's frame is conformal, so the nearest point in the frame is the
    /// nearest on the ground; frame distances are turned into ground metres by the
    /// frame's scale at `p` (see `livingcircle_osm::proj`).
    pub fn snap_point(&self, p: [f64; 2], max_m: f64) -> Option<Snap> {
        let scale = self.graph.projection().scale_at_y(p[1]);
        let max_frame = max_m * scale;
        let tie = TIE_M * scale;
        // Runs come nearest first: the first is the nearest; those within `tie` of it
        // are ties, and the lowest (edge, segment) among them wins.
        let mut best: Option<(f64, (EdgeId, u32))> = None;
        for (run, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&p) {
            let d = d2.sqrt();
            if d > max_frame {
                break;
            }
            let key = (run.edge, run.nearest(&p).1);
            match best {
                None => best = Some((d, key)),
                Some((nearest, bk)) if d <= nearest + tie => {
                    if key < bk {
                        best = Some((nearest, key));
                    }
                }
                Some(_) => break,
            }
        }
        let (_, (edge, seg)) = best?;
        let snap = self.locate(p, edge, seg as usize, scale);
        // The cut is on ground metres (the frame's squared distance can round the
        // other way at the very edge).
        (snap.dist_m <= max_m).then_some(snap)
    }

    /// [`Snapper::snap_point`] for many points, in parallel; results in input order.
    /// Points are searched in Z order (nearby points one after another), which keeps
    /// the index's nodes in cache.
    pub fn snap_points(&self, points: &[[f64; 2]], max_m: f64) -> Vec<Option<Snap>> {
        let env = self.tree.root().envelope();
        let (lo, hi) = (env.lower(), env.upper());
        let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1.0);
        let cell = |v: f64, o: f64| (((v - o) / span).clamp(0.0, 1.0) * 65535.0) as u32;
        let mut order: Vec<(u64, u32)> = points
            .par_iter()
            .enumerate()
            .map(|(i, p)| (z_order(cell(p[0], lo[0]), cell(p[1], lo[1])), i as u32))
            .collect();
        order.par_sort_unstable();
        let found: Vec<Option<Snap>> = order
            .par_iter()
            .with_min_len(256)
            .map(|&(_, i)| self.snap_point(points[i as usize], max_m))
            .collect();
        let mut out = vec![None; points.len()];
        for (&(_, i), s) in order.iter().zip(found) {
            out[i as usize] = s;
        }
        out
    }

    /// Where an area facility (outline rings in projected metres) meets the network,
    /// as [`Access`] describes: its entrances when any of them snaps, else every
    /// stretch of network within [`ACCESS_NEAR_M`] of its outline (crossings
    /// included), else its outline sampled every [`SAMPLE_M`] and snapped. Each
    /// access point is a [`Snap`] whose `dist_m` is the leg from it to the area.
    /// Points are sorted by edge and offset, one per meeting point (the smallest leg).
    ///
    /// `entrances` are projected points (the area's tagged entrance or gate nodes on
    /// its outline); they are snapped like any point, within `max_m`. `places` are
    /// where the searches will start (residences' snaps): one inside a stretch near
    /// the outline gets an access point of its own there, so that its distance is
    /// exact too.
    pub fn access_points(
        &self,
        rings: &[Vec<[f64; 2]>],
        entrances: &[[f64; 2]],
        max_m: f64,
        places: &EdgePoints,
    ) -> Access {
        let mut snaps: Vec<Snap> = entrances
            .iter()
            .filter_map(|&p| self.snap_point(p, max_m))
            .collect();
        if !snaps.is_empty() {
            return Access::new(AccessKind::Entrances, snaps);
        }
        let (near, closest) = self.near_outline(rings, places);
        if !near.is_empty() {
            let mut access = Access::new(AccessKind::Outline, near);
            access.closest = closest;
            return access;
        }
        for ring in rings {
            for w in ring.windows(2) {
                let scale = self.graph.projection().scale_at_y(w[0][1]);
                let len_m = dist(w[0], w[1]) / scale;
                let n = (len_m / SAMPLE_M).ceil().max(1.0) as usize;
                for k in 0..n {
                    let t = k as f64 / n as f64;
                    snaps.extend(self.snap_point(lerp(w[0], w[1], t), max_m));
                }
            }
            // An open ring's last vertex (a closed ring's is its first).
            if let Some(&last) = ring.last()
                && ring.first() != ring.last()
            {
                snaps.extend(self.snap_point(last, max_m));
            }
        }
        Access::new(AccessKind::Sampled, snaps)
    }

    /// Access points of the network within [`ACCESS_NEAR_M`] of an outline: on each
    /// edge, the two ends of every stretch within that distance, and the point of
    /// each of `places` that lies inside a stretch; legs are the distances to the
    /// outline (0 where an edge crosses it).
    ///
    /// Walking along an edge changes the distance to the outline by at most the
    /// distance walked, so a walk that enters a stretch from either end reaches the
    /// area no sooner anywhere in the stretch than at the end it enters by, and a
    /// walk that starts inside a stretch no sooner than where it starts: the ends and
    /// the places' own points give exact distances for every walk.
    ///
    /// Also returns the network's point closest to the outline (a crossing when there
    /// is one): reported as where the area meets the network, never needed as a start
    /// (by the same argument, an end of its stretch is never worse).
    fn near_outline(
        &self,
        rings: &[Vec<[f64; 2]>],
        places: &EdgePoints,
    ) -> (Vec<Snap>, Option<Snap>) {
        let Some(first) = rings.iter().flatten().next() else {
            return (Vec::new(), None);
        };
        let scale = self.graph.projection().scale_at_y(first[1]);
        let near = ACCESS_NEAR_M * scale;
        let segments: Vec<[[f64; 2]; 2]> = rings
            .iter()
            .flat_map(|r| r.windows(2).map(|w| [w[0], w[1]]))
            .filter(|s| s[0] != s[1])
            .collect();
        // Stretches within `near` of each outline segment, as (edge, start, end)
        // in frame units along the edge.
        let mut stretches: Vec<(EdgeId, f64, f64)> = Vec::new();
        // The closest approach: (frame distance, edge, frame position along it).
        let mut best: Option<(f64, EdgeId, f64)> = None;
        for &[a, b] in &segments {
            let env = AABB::from_corners(
                [a[0].min(b[0]) - near, a[1].min(b[1]) - near],
                [a[0].max(b[0]) + near, a[1].max(b[1]) + near],
            );
            for run in self.tree.locate_in_envelope_intersecting(&env) {
                let mut base: Option<f64> = None;
                // The run's length before segment `w`, summed as it goes.
                let mut before = 0.0;
                for w in run.pts.windows(2) {
                    let l = dist(w[0], w[1]);
                    let here = before;
                    before += l;
                    let Some((t0, t1)) = within(w[0], w[1], a, b, near) else {
                        continue;
                    };
                    let b0 = *base.get_or_insert_with(|| self.along(run.edge, run.first as usize));
                    let before = here;
                    stretches.push((run.edge, b0 + before + t0 * l, b0 + before + t1 * l));
                    let (t, d) = closest(w[0], w[1], a, b);
                    let key = (d, run.edge, b0 + before + t * l);
                    if best.is_none_or(|x| (key.0, key.1, key.2) < (x.0, x.1, x.2)) {
                        best = Some(key);
                    }
                }
            }
        }
        stretches.sort_by(|x, y| {
            (x.0, x.1, x.2)
                .partial_cmp(&(y.0, y.1, y.2))
                .expect("finite")
        });
        let mut merged: Vec<(EdgeId, f64, f64)> = Vec::new();
        for s in stretches {
            match merged.last_mut() {
                Some(m) if m.0 == s.0 && s.1 <= m.2 + 1e-9 => m.2 = m.2.max(s.2),
                _ => merged.push(s),
            }
        }
        // The leg from a point to the outline: its nearest segment, found through an
        // R-tree when the outline is long (the same distance either way).
        let mut lines: Vec<Line<[f64; 2]>> =
            segments.iter().map(|s| Line::new(s[0], s[1])).collect();
        let tree =
            (lines.len() > LINEAR_LEGS).then(|| RTree::bulk_load(std::mem::take(&mut lines)));
        let leg_to = |p: [f64; 2]| {
            let d2 = match &tree {
                Some(t) => t
                    .nearest_neighbor(&p)
                    .map_or(f64::INFINITY, |l| l.distance_2(&p)),
                None => lines
                    .iter()
                    .map(|l| l.distance_2(&p))
                    .fold(f64::INFINITY, f64::min),
            };
            d2.sqrt() / self.graph.projection().scale_at_y(p[1])
        };
        let mut out = Vec::new();
        for (edge, s0, s1) in merged {
            let total = self.along(edge, self.graph.edge_xy(edge).len() - 1);
            let len = f64::from(self.graph.edge(edge).length_mm);
            let mut at = vec![s0, s1];
            if total > 0.0 {
                let (o0, o1) = (s0 / total * len, s1 / total * len);
                at.extend(
                    places
                        .on(edge)
                        .filter(|&o| f64::from(o) > o0 && f64::from(o) < o1)
                        .map(|o| f64::from(o) / len * total),
                );
            }
            for a in at {
                let (xy, offset_mm) = self.point_along(edge, a);
                out.push(Snap {
                    edge,
                    offset_mm,
                    dist_m: leg_to(xy),
                    xy,
                });
            }
        }
        let closest = best.map(|(_, edge, a)| {
            let (xy, offset_mm) = self.point_along(edge, a);
            Snap {
                edge,
                offset_mm,
                dist_m: leg_to(xy),
                xy,
            }
        });
        (out, closest)
    }

    /// Frame length of edge `e` before its segment `seg`.
    fn along(&self, e: EdgeId, seg: usize) -> f64 {
        self.graph.edge_xy(e)[..=seg]
            .windows(2)
            .map(|w| dist(w[0], w[1]))
            .sum()
    }

    /// The point `at` frame units along edge `e` from `u`, and its offset in the
    /// edge's millimetres.
    fn point_along(&self, e: EdgeId, at: f64) -> ([f64; 2], u32) {
        let xy = self.graph.edge_xy(e);
        let total: f64 = xy.windows(2).map(|w| dist(w[0], w[1])).sum();
        let len = self.graph.edge(e).length_mm;
        let offset = |a: f64| {
            if total > 0.0 {
                ((f64::from(len) * a / total).round().max(0.0) as u32).min(len)
            } else {
                0
            }
        };
        let mut walked = 0.0;
        for w in xy.windows(2) {
            let l = dist(w[0], w[1]);
            if walked + l >= at && l > 0.0 {
                let t = ((at - walked) / l).clamp(0.0, 1.0);
                return (lerp(w[0], w[1], t), offset(at));
            }
            walked += l;
        }
        (*xy.last().expect("an edge has points"), offset(at))
    }

    fn locate(&self, p: [f64; 2], edge: EdgeId, seg: usize, scale: f64) -> Snap {
        let xy = self.graph.edge_xy(edge);
        let line = Line::new(xy[seg], xy[seg + 1]);
        let q = line.nearest_point(&p);
        let mut along = 0.0;
        let mut total = 0.0;
        for (i, w) in xy.windows(2).enumerate() {
            let l = dist(w[0], w[1]);
            if i < seg {
                along += l;
            } else if i == seg {
                along += dist(w[0], q);
            }
            total += l;
        }
        let len = self.graph.edge(edge).length_mm;
        let offset_mm = if total > 0.0 {
            ((f64::from(len) * along / total).round() as u32).min(len)
        } else {
            0
        };
        Snap {
            edge,
            offset_mm,
            dist_m: line.distance_2(&p).sqrt() / scale,
            xy: q,
        }
    }
}

/// An outline is reached from network within this many metres of it.
pub const ACCESS_NEAR_M: f64 = 10.0;
/// An outline with no network near it is sampled at most this many metres apart.
pub const SAMPLE_M: f64 = 25.0;

/// Points on edges, `(edge, offset_mm)`, looked up by edge: where searches start
/// (see [`Snapper::access_points`]).
#[derive(Debug, Clone, Default)]
pub struct EdgePoints(Vec<(EdgeId, u32)>);

impl EdgePoints {
    /// Indexes the points (duplicates are kept once).
    pub fn new(mut points: Vec<(EdgeId, u32)>) -> Self {
        points.sort_unstable();
        points.dedup();
        EdgePoints(points)
    }

    /// The offsets of the points on edge `e`, ascending (no allocation).
    pub fn on(&self, e: EdgeId) -> impl Iterator<Item = u32> + '_ {
        let lo = self.0.partition_point(|p| p.0 < e);
        let hi = self.0.partition_point(|p| p.0 <= e);
        self.0[lo..hi].iter().map(|p| p.1)
    }
}

/// Outlines of at most this many segments find a point's leg by scanning them; longer
/// ones through an R-tree of their segments.
const LINEAR_LEGS: usize = 32;

/// How an area's access points were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// A point facility: its snap.
    Point,
    /// Its tagged entrances or gates.
    Entrances,
    /// Network crossing it or within [`ACCESS_NEAR_M`] of its outline.
    Outline,
    /// Its outline sampled every [`SAMPLE_M`] and snapped.
    Sampled,
}

impl AccessKind {
    /// The name written in layers: `point`, `entrances`, `outline` or `sampled`.
    pub fn name(self) -> &'static str {
        match self {
            AccessKind::Point => "point",
            AccessKind::Entrances => "entrances",
            AccessKind::Outline => "outline",
            AccessKind::Sampled => "sampled",
        }
    }
}

/// Where an area meets the network: every point a walk may reach it at, with the
/// leg from there (`Snap::dist_m`). Empty when nothing is within reach.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// How they were found.
    pub kind: AccessKind,
    /// The access points, by edge and offset, one per meeting point.
    pub snaps: Vec<Snap>,
    /// For [`AccessKind::Outline`], the network's point closest to the outline (a
    /// crossing, leg 0, when a path crosses it). Reported, not searched from: a walk
    /// reaches the area no sooner there than at an access point.
    pub closest: Option<Snap>,
}

impl Access {
    /// Access points found by `kind`, sorted and made one per meeting point.
    pub fn new(kind: AccessKind, mut snaps: Vec<Snap>) -> Self {
        snaps.sort_by(|a, b| {
            (a.edge, a.offset_mm)
                .cmp(&(b.edge, b.offset_mm))
                .then(a.dist_m.total_cmp(&b.dist_m))
        });
        snaps.dedup_by_key(|s| (s.edge, s.offset_mm));
        Access {
            kind,
            snaps,
            closest: None,
        }
    }

    /// Where the area is nearest to the network: [`Access::closest`] when known,
    /// else the access point with the smallest leg (the first of equal ones).
    pub fn nearest(&self) -> Option<&Snap> {
        if self.snaps.is_empty() {
            return None;
        }
        self.closest.as_ref().or_else(|| {
            self.snaps
                .iter()
                .reduce(|a, b| if b.dist_m < a.dist_m { b } else { a })
        })
    }
}

/// The stretch `t0..=t1` (fractions of `p..q`) within `near` of segment `a..b`, if
/// any. The points within `near` of a segment are the union of two discs (around its
/// ends) and a rectangle (along it): a convex set, so its trace on a line is one
/// interval, the hull of the three traces, each solved exactly.
fn within(p: [f64; 2], q: [f64; 2], a: [f64; 2], b: [f64; 2], near: f64) -> Option<(f64, f64)> {
    let d = [q[0] - p[0], q[1] - p[1]];
    let dd = d[0] * d[0] + d[1] * d[1];
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut take = |t0: f64, t1: f64| {
        let (t0, t1) = (t0.max(0.0), t1.min(1.0));
        if t0 <= t1 {
            lo = lo.min(t0);
            hi = hi.max(t1);
        }
    };
    // Discs: |p + t d - c|² <= near².
    for c in [a, b] {
        let w = [p[0] - c[0], p[1] - c[1]];
        let cc = w[0] * w[0] + w[1] * w[1] - near * near;
        if dd == 0.0 {
            if cc <= 0.0 {
                take(0.0, 1.0);
            }
            continue;
        }
        let bb = d[0] * w[0] + d[1] * w[1];
        let disc = bb * bb - dd * cc;
        if disc >= 0.0 {
            let r = disc.sqrt();
            take((-bb - r) / dd, (-bb + r) / dd);
        }
    }
    // Rectangle: 0 <= along <= |ab| and |across| <= near, each linear in t.
    let ab = [b[0] - a[0], b[1] - a[1]];
    let l = (ab[0] * ab[0] + ab[1] * ab[1]).sqrt();
    if l > 0.0 {
        let u = [ab[0] / l, ab[1] / l];
        let w = [p[0] - a[0], p[1] - a[1]];
        let (s0, s1) = (w[0] * u[0] + w[1] * u[1], d[0] * u[0] + d[1] * u[1]);
        let (h0, h1) = (w[0] * u[1] - w[1] * u[0], d[0] * u[1] - d[1] * u[0]);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut clip = |v0: f64, v1: f64, lo_v: f64, hi_v: f64| {
            // lo_v <= v0 + t v1 <= hi_v
            if v1 == 0.0 {
                if v0 < lo_v || v0 > hi_v {
                    t1 = -1.0;
                }
            } else {
                let (x, y) = ((lo_v - v0) / v1, (hi_v - v0) / v1);
                t0 = t0.max(x.min(y));
                t1 = t1.min(x.max(y));
            }
        };
        clip(s0, s1, 0.0, l);
        clip(h0, h1, -near, near);
        take(t0, t1);
    }
    (lo <= hi).then_some((lo, hi))
}

/// The point of segment `p..q` closest to segment `a..b`: its fraction `t` of `p..q`
/// and the distance. Where they cross, the crossing (distance 0); else the closest
/// pair has an end of one segment in it, so four candidates decide.
fn closest(p: [f64; 2], q: [f64; 2], a: [f64; 2], b: [f64; 2]) -> (f64, f64) {
    let cross = |o: [f64; 2], u: [f64; 2], v: [f64; 2]| {
        (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])
    };
    let (d1, d2) = (cross(a, b, p), cross(a, b, q));
    let (d3, d4) = (cross(p, q, a), cross(p, q, b));
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return (d1 / (d1 - d2), 0.0);
    }
    let d = [q[0] - p[0], q[1] - p[1]];
    let dd = d[0] * d[0] + d[1] * d[1];
    let to_ab = |t: f64| Line::new(a, b).distance_2(&lerp(p, q, t)).sqrt();
    let proj = |c: [f64; 2]| {
        if dd == 0.0 {
            0.0
        } else {
            (((c[0] - p[0]) * d[0] + (c[1] - p[1]) * d[1]) / dd).clamp(0.0, 1.0)
        }
    };
    [0.0, 1.0, proj(a), proj(b)]
        .into_iter()
        .map(|t| (t, to_ab(t)))
        .fold((0.0, f64::INFINITY), |m, x| if x.1 < m.1 { x } else { m })
}

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// The Z-order (Morton) position of a 16-bit grid cell.
fn z_order(x: u32, y: u32) -> u64 {
    let spread = |v: u32| {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    };
    spread(x) | (spread(y) << 1)
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use livingcircle_graph::BuildOptions;
    use livingcircle_osm::{WalkWay, rules::FootDirection};
    use proptest::prelude::*;

    fn grid(n: i64) -> WalkGraph {
        let mut ways = Vec::new();
        grid_ways(n, [11.0, 48.0], 0, &mut ways);
        WalkGraph::build(&ways, &BuildOptions::default()).unwrap().0
    }

    /// An n x n street grid with 0.001 degree spacing and a kink in every street,
    /// south-west corner at `sw`, node ids from `base`.
    fn grid_ways(n: i64, sw: [f64; 2], base: i64, ways: &mut Vec<WalkWay>) {
        let id = |x: i64, y: i64| base + y * 1000 + x + 1;
        let at = |x: i64, y: i64| {
            let mut lon = sw[0] + x as f64 * 0.001;
            if lon > 180.0 {
                lon -= 360.0;
            }
            [lon, sw[1] + y as f64 * 0.001]
        };
        for y in 0..n {
            for x in 0..n {
                for (dx, dy) in [(1, 0), (0, 1)] {
                    if x + dx < n && y + dy < n {
                        let (a, b) = (at(x, y), at(x + dx, y + dy));
                        let mid = [
                            (a[0] + b[0]) / 2.0 + 0.0001 * dy as f64,
                            (a[1] + b[1]) / 2.0 + 0.0001 * dx as f64,
                        ];
                        ways.push(WalkWay {
                            way_id: ways.len() as i64,
                            nodes: vec![
                                id(x, y),
                                900_000_000 + ways.len() as i64,
                                id(x + dx, y + dy),
                            ],
                            coords: vec![a, mid, b],
                            direction: FootDirection::Both,
                            highway: "footway".into(),
                            name: None,
                        });
                    }
                }
            }
        }
    }

    /// The nearest segment by brute force: distance, then the lowest edge and
    /// segment among equally near ones.
    fn brute(g: &WalkGraph, p: [f64; 2]) -> (f64, EdgeId) {
        let mut all = Vec::new();
        for e in 0..g.edge_count() as EdgeId {
            for (i, w) in g.edge_xy(e).windows(2).enumerate() {
                all.push((Line::new(w[0], w[1]).distance_2(&p).sqrt(), e, i));
            }
        }
        let nearest = all.iter().map(|a| a.0).fold(f64::INFINITY, f64::min);
        let tie = TIE_M * g.projection().scale_at_y(p[1]);
        let (_, e, _) = all
            .iter()
            .filter(|a| a.0 <= nearest + tie)
            .min_by_key(|a| (a.1, a.2))
            .unwrap();
        (nearest, *e)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
        #[test]
        fn nearest_edge_matches_brute_force(x in -100.0f64..500.0, y in -100.0f64..500.0) {
            let g = grid(6);
            let s = Snapper::new(&g);
            let o = g.projection().project([11.0, 48.0]);
            let p = [o[0] + x, o[1] + y];
            let snap = s.snap_point(p, 1e9).unwrap();
            let (d, e) = brute(&g, p);
            let d = d / g.projection().scale_at_y(p[1]);
            prop_assert!((snap.dist_m - d).abs() < 1e-9);
            prop_assert_eq!(snap.edge, e);
            prop_assert!(snap.offset_mm <= g.edge(snap.edge).length_mm);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]
        /// Each access point's leg is its distance to the outline, whether the outline
        /// is short (scanned) or long (an R-tree of its segments).
        #[test]
        fn access_legs_are_the_distance_to_the_outline(
            n in 3usize..120, cx in 0.0f64..300.0, cy in 0.0f64..300.0, r in 5.0f64..120.0,
            wobble in proptest::collection::vec(0.6f64..1.0, 120),
        ) {
            let g = grid(5);
            let s = Snapper::new(&g);
            let o = g.projection().project([11.0, 48.0]);
            let mut ring: Vec<[f64; 2]> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * wobble[k];
                    [o[0] + cx + rr * a.cos(), o[1] + cy + rr * a.sin()]
                })
                .collect();
            ring.push(ring[0]);
            let access = s.access_points(std::slice::from_ref(&ring), &[], 500.0, &EdgePoints::new(Vec::new()));
            for p in &access.snaps {
                let d2 = ring
                    .windows(2)
                    .map(|w| Line::new(w[0], w[1]).distance_2(&p.xy))
                    .fold(f64::INFINITY, f64::min);
                let want = d2.sqrt() / g.projection().scale_at_y(p.xy[1]);
                if access.kind == AccessKind::Outline {
                    prop_assert!((p.dist_m - want).abs() < 1e-9, "{} vs {want} ({n} segments)", p.dist_m);
                }
            }
        }
    }

    fn seg_dist(t: f64, p: [f64; 2], q: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
        Line::new(a, b).distance_2(&lerp(p, q, t)).sqrt()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]
        /// The stretch within `near` of a segment, solved exactly, against the
        /// distance sampled every 1/4000 of the edge segment.
        #[test]
        fn within_matches_sampling(c in proptest::array::uniform8(-30.0f64..30.0), near in 0.5f64..15.0) {
            let (p, q, a, b) = ([c[0], c[1]], [c[2], c[3]], [c[4], c[5]], [c[6], c[7]]);
            let n = 4000;
            let inside: Vec<f64> = (0..=n)
                .map(|k| f64::from(k) / f64::from(n))
                .filter(|&t| seg_dist(t, p, q, a, b) <= near)
                .collect();
            match within(p, q, a, b, near) {
                None => prop_assert!(inside.is_empty(), "{inside:?}"),
                Some((t0, t1)) => {
                    prop_assert!(t0 <= t1);
                    // Its ends are at most `near` away and every sample inside is in it.
                    prop_assert!(seg_dist(t0, p, q, a, b) <= near + 1e-9);
                    prop_assert!(seg_dist(t1, p, q, a, b) <= near + 1e-9);
                    for t in inside {
                        prop_assert!(t >= t0 - 1e-9 && t <= t1 + 1e-9);
                    }
                }
            }
        }

        /// The closest point of one segment to another, against sampling.
        #[test]
        fn closest_matches_sampling(c in proptest::array::uniform8(-30.0f64..30.0)) {
            let (p, q, a, b) = ([c[0], c[1]], [c[2], c[3]], [c[4], c[5]], [c[6], c[7]]);
            let (t, d) = closest(p, q, a, b);
            prop_assert!((0.0..=1.0).contains(&t));
            prop_assert!((seg_dist(t, p, q, a, b) - d).abs() < 1e-9);
            let n = 4000;
            let sampled = (0..=n)
                .map(|k| seg_dist(f64::from(k) / f64::from(n), p, q, a, b))
                .fold(f64::INFINITY, f64::min);
            prop_assert!(d <= sampled + 1e-9);
        }
    }

    /// Points on junctions are as near to each of their edges: the lowest edge id
    /// wins, whichever run the index returns first; many points at once give what
    /// one at a time gives.
    #[test]
    fn ties_go_to_the_lowest_edge_and_batches_equal_single_snaps() {
        let g = grid(7);
        let s = Snapper::new(&g);
        let mut pts: Vec<[f64; 2]> = (0..g.node_count() as u32).map(|n| g.node_xy(n)).collect();
        let o = g.projection().project([11.0, 48.0]);
        pts.extend((0..200).map(|i| {
            [
                o[0] + f64::from(i) * 2.7 - 50.0,
                o[1] + f64::from(i % 17) * 31.0,
            ]
        }));
        let one: Vec<Option<Snap>> = pts.iter().map(|&p| s.snap_point(p, 500.0)).collect();
        assert_eq!(s.snap_points(&pts, 500.0), one);
        for (p, snap) in pts.iter().zip(&one) {
            assert_eq!(snap.unwrap().edge, brute(&g, *p).1, "{p:?}");
        }
    }

    #[test]
    fn beyond_max_is_none() {
        let g = grid(2);
        let s = Snapper::new(&g);
        let o = g.projection().project([11.0, 48.0]);
        assert!(s.snap_point([o[0] - 300.0, o[1]], 200.0).is_none());
        assert!(s.snap_point([o[0] - 150.0, o[1]], 200.0).is_some());
    }

    #[test]
    fn snapping_a_node_gives_offset_zero_or_length() {
        let g = grid(3);
        let s = Snapper::new(&g);
        for n in 0..g.node_count() as u32 {
            let snap = s.snap_point(g.node_xy(n), 1.0).unwrap();
            let e = g.edge(snap.edge);
            assert!(snap.dist_m < 1e-9);
            if e.u == n {
                assert_eq!(snap.offset_mm, 0);
            } else {
                assert_eq!(e.v, n);
                assert_eq!(snap.offset_mm, e.length_mm);
            }
        }
    }

    /// On a graph 20 degrees wide (grids from 100°E 25°N to 120°E 45°N, one across
    /// the ±180° meridian), snap distances and the max-snap cut agree with the
    /// ellipsoidal geodesic (`geo`'s Karney) within 0.01 %.
    #[test]
    fn snap_distances_are_geodesic_on_a_wide_extract() {
        use geo::{Distance, Geodesic, Point};
        let mut ways = Vec::new();
        let corners = [
            [100.0, 25.0],
            [110.0, 35.0],
            [120.0, 45.0],
            [100.0, 45.0],
            [120.0, 25.0],
        ];
        for (i, &sw) in corners.iter().enumerate() {
            grid_ways(4, sw, (i as i64 + 1) * 1_000_000, &mut ways);
        }
        let opts = BuildOptions {
            keep_all_components: true,
        };
        let g = WalkGraph::build(&ways, &opts).unwrap().0;
        let s = Snapper::new(&g);
        let proj = g.projection();
        let mut checked = 0;
        for sw in corners {
            for k in 0..40 {
                let f = f64::from(k);
                // Points up to ~500 m around the grid, in every direction.
                let q = [
                    sw[0] - 0.002 + (f * 0.37).fract() * 0.008,
                    sw[1] - 0.002 + (f * 0.61).fract() * 0.008,
                ];
                let p = proj.project(q);
                let snap = s.snap_point(p, 1e9).unwrap();
                let on = proj.unproject(snap.xy);
                let truth = Geodesic.distance(Point::new(q[0], q[1]), Point::new(on[0], on[1]));
                assert!(
                    (snap.dist_m - truth).abs() <= 1e-4 * truth + 1e-6,
                    "{q:?}: {} vs {truth}",
                    snap.dist_m
                );
                if truth > 1.0 {
                    assert!(s.snap_point(p, truth * 1.001).is_some(), "{q:?}");
                    assert!(s.snap_point(p, truth * 0.999).is_none(), "{q:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150, "{checked}");
    }

    #[test]
    fn snapping_across_the_antimeridian() {
        use geo::{Distance, Geodesic, Point};
        let mut ways = Vec::new();
        // Streets from 179.998°E to 179.999°W.
        grid_ways(4, [179.998, 60.0], 0, &mut ways);
        let g = WalkGraph::build(&ways, &BuildOptions::default()).unwrap().0;
        let mut ok = Vec::new();
        grid_ways(4, [11.0, 48.0], 0, &mut ok);
        let plain = WalkGraph::build(&ok, &BuildOptions::default()).unwrap().0;
        assert_eq!(g.node_count(), plain.node_count());
        assert_eq!(g.edge_count(), plain.edge_count());
        let s = Snapper::new(&g);
        for q in [
            [-179.9995, 60.0012],
            [179.9985, 59.9995],
            [-179.9989, 60.0031],
        ] {
            let p = g.projection().project(q);
            let snap = s.snap_point(p, 1000.0).unwrap();
            let on = g.projection().unproject(snap.xy);
            let truth = Geodesic.distance(Point::new(q[0], q[1]), Point::new(on[0], on[1]));
            assert!(
                truth < 100.0 && (snap.dist_m - truth).abs() <= 1e-4 * truth + 1e-6,
                "{q:?} {on:?}"
            );
        }
    }

    /// A point midway in latitude between two streets is equally near both (on the
    /// ellipsoid they differ by micrometres; the frame's own scale change by a tenth
    /// of a millimetre): the lowest edge id wins, on either side of the centre.
    #[test]
    fn sub_millimetre_differences_are_ties() {
        let street = |id: i64, lat: f64| WalkWay {
            way_id: id,
            nodes: vec![id * 10, id * 10 + 1],
            coords: vec![[11.0, lat], [11.002, lat]],
            direction: FootDirection::Both,
            highway: "footway".into(),
            name: None,
        };
        let ways = vec![
            street(1, 48.0),
            street(2, 48.001),
            street(3, 49.0),
            street(4, 49.001),
        ];
        let opts = BuildOptions {
            keep_all_components: true,
        };
        let g = WalkGraph::build(&ways, &opts).unwrap().0;
        let s = Snapper::new(&g);
        // Midway, and 0.3 mm north and south of it.
        let shifts = [0.0, 2.7e-9, -2.7e-9];
        for (lat, pair) in shifts
            .iter()
            .flat_map(|d| [(48.0005 + d, [48.0, 48.001]), (49.0005 + d, [49.0, 49.001])])
        {
            let snap = s
                .snap_point(g.projection().project([11.001, lat]), 100.0)
                .unwrap();
            let ids: Vec<EdgeId> = (0..4)
                .filter(|&e| pair.contains(&g.edge_lonlat(e)[0][1]))
                .collect();
            assert_eq!(ids.len(), 2);
            assert_eq!(snap.edge, ids[0].min(ids[1]), "at {lat}");
            assert!((snap.dist_m - 55.6).abs() < 0.1, "{}", snap.dist_m);
        }
    }
}
