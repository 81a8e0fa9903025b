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
use rstar::primitives::{GeomWithData, Line};
use rstar::{PointDistance, RTree};

/// Where a point meets the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge.
    pub edge: EdgeId,
    /// Distance along the edge from its `u` end, in millimetres of the edge's length
    /// (`0 ..= length_mm`).
    pub offset_mm: u32,
    /// Off-network distance in metres (projected).
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

type Seg = GeomWithData<Line<[f64; 2]>, (EdgeId, u32)>;

/// An R-tree over the graph's edge segments.
pub struct Snapper<'g> {
    graph: &'g WalkGraph,
    tree: RTree<Seg>,
}

impl<'g> Snapper<'g> {
    /// Indexes every segment of every edge (`bulk_load`).
    ///
    /// # Complexity
    /// O(S log S) for S segments.
    pub fn new(graph: &'g WalkGraph) -> Self {
        let mut segs = Vec::new();
        for e in 0..graph.edge_count() as EdgeId {
            for (i, w) in graph.edge_xy(e).windows(2).enumerate() {
                segs.push(GeomWithData::new(Line::new(w[0], w[1]), (e, i as u32)));
            }
        }
        Snapper {
            graph,
            tree: RTree::bulk_load(segs),
        }
    }

    /// The graph it snaps to.
    pub fn graph(&self) -> &'g WalkGraph {
        self.graph
    }

    /// Snaps a projected point to the nearest point of the nearest edge, if it lies
    /// within `max_m` metres. Ties go to the lowest edge id, then segment.
    pub fn snap_point(&self, p: [f64; 2], max_m: f64) -> Option<Snap> {
        let max2 = max_m * max_m;
        let mut best: Option<(f64, (EdgeId, u32))> = None;
        for (seg, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&p) {
            if d2 > max2 {
                break;
            }
            match best {
                None => best = Some((d2, seg.data)),
                Some((bd, bk)) if d2 <= bd => {
                    if d2 < bd || seg.data < bk {
                        best = Some((d2, seg.data));
                    }
                }
                Some(_) => break,
            }
        }
        let (_, (edge, seg)) = best?;
        Some(self.locate(p, edge, seg as usize))
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
            let limit = best.map_or(max_m, |b| b.1.dist_m);
            if let Some(s) = self.snap_point(*p, limit)
                && best.is_none_or(|b| (s.dist_m, s.edge) < (b.1.dist_m, b.1.edge))
            {
                best = Some((i, s));
            }
        }
        best
    }

    fn locate(&self, p: [f64; 2], edge: EdgeId, seg: usize) -> Snap {
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
            dist_m: line.distance_2(&p).sqrt(),
            xy: q,
        }
    }
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
        // An n x n street grid with 0.001 degree spacing and a kink in every street.
        let id = |x: i64, y: i64| y * 1000 + x + 1;
        let at = |x: i64, y: i64| [11.0 + x as f64 * 0.001, 48.0 + y as f64 * 0.001];
        let mut ways = Vec::new();
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
                            nodes: vec![id(x, y), 900_000 + ways.len() as i64, id(x + dx, y + dy)],
                            coords: vec![a, mid, b],
                            direction: FootDirection::Both,
                            highway: "footway".into(),
                            name: None,
                        });
                    }
                }
            }
        }
        WalkGraph::build(&ways, &BuildOptions::default()).unwrap().0
    }

    fn brute(g: &WalkGraph, p: [f64; 2]) -> f64 {
        let mut best = f64::MAX;
        for e in 0..g.edge_count() as EdgeId {
            for w in g.edge_xy(e).windows(2) {
                best = best.min(Line::new(w[0], w[1]).distance_2(&p).sqrt());
            }
        }
        best
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
            prop_assert!((snap.dist_m - brute(&g, p)).abs() < 1e-9);
            prop_assert!(snap.offset_mm <= g.edge(snap.edge).length_mm);
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
}
