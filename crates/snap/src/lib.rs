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
    /// frame's scale at `p` (see [`livingcircle_osm::proj`]).
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

    /// Snaps an area (outline rings in projected metres): the outline vertex nearest
    /// to the network decides, so a park is reached at its edge, not at its centroid.
    pub fn snap_outline(&self, rings: &[Vec<[f64; 2]>], max_m: f64) -> Option<Snap> {
        self.snap_outline_vertex(rings, max_m).map(|(_, s)| s)
    }

    /// [`Snapper::snap_outline`], also giving the deciding vertex as an index into
    /// the rings' vertices taken in order (`rings.iter().flatten()`). Snapping that
    /// vertex alone with [`Snapper::snap_point`] gives the same snap.
    pub fn snap_outline_vertex(
        &self,
        rings: &[Vec<[f64; 2]>],
        max_m: f64,
    ) -> Option<(usize, Snap)> {
        let mut best: Option<(usize, Snap)> = None;
        for (i, p) in rings.iter().flatten().enumerate() {
            let limit = best.map_or(max_m, |b| (b.1.dist_m + TIE_M).min(max_m));
            if let Some(s) = self.snap_point(*p, limit)
                && best.is_none_or(|b| {
                    // Within TIE_M the lower edge wins, then the first vertex.
                    s.dist_m < b.1.dist_m - TIE_M
                        || (s.dist_m <= b.1.dist_m + TIE_M && s.edge < b.1.edge)
                })
            {
                best = Some((i, s));
            }
        }
        best
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

    #[test]
    fn outline_snaps_at_its_nearest_vertex() {
        let g = grid(3);
        let s = Snapper::new(&g);
        let o = g.projection().project([11.0, 48.0]);
        // A square west of the grid; its east side is 30 m from the first street.
        let ring = vec![
            [o[0] - 130.0, o[1] + 10.0],
            [o[0] - 30.0, o[1] + 10.0],
            [o[0] - 30.0, o[1] + 60.0],
            [o[0] - 130.0, o[1] + 60.0],
            [o[0] - 130.0, o[1] + 10.0],
        ];
        let snap = s.snap_outline(&[ring], 200.0).unwrap();
        assert!((snap.dist_m - 30.0).abs() < 2.0, "{}", snap.dist_m);
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
