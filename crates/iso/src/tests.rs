//! Isochrone checks against an exact reference: the buffered union of the reached
//! segments computed with `geo`'s `Buffer` (i_overlay), on a seeded irregular grid.

use geo::{
    Area, BooleanOps, Buffer, Contains, Coord, LineString, MultiLineString, Point, Validation,
};
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};
use livingcircle_reach::{Spot, stretches_within};

use super::*;

fn city(side: i64, seed: u64) -> WalkGraph {
    let mut x = seed | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let at = |i: i64, j: i64, r: f64| {
        [
            11.0 + (i as f64 + r * 0.2) * 0.0011,
            48.0 + j as f64 * 0.0008,
        ]
    };
    let mut ways = Vec::new();
    for j in 0..side {
        for i in 0..side {
            for (di, dj) in [(1, 0), (0, 1)] {
                if i + di >= side || j + dj >= side || rnd() < 0.2 {
                    continue;
                }
                ways.push(WalkWay {
                    way_id: ways.len() as i64,
                    nodes: vec![j * side + i, (j + dj) * side + i + di],
                    coords: vec![at(i, j, 0.0), at(i + di, j + dj, 0.0)],
                    direction: FootDirection::Both,
                    highway: "footway".into(),
                    name: None,
                });
            }
        }
    }
    WalkGraph::build(&ways, &BuildOptions::default()).unwrap().0
}

/// The exact buffered union of the reached network.
fn exact(g: &WalkGraph, spot: &Spot, s: &IsoScratch, t: u32, r: f64) -> MultiPolygon {
    let mut lines = Vec::new();
    let mut piece = Vec::new();
    for st in merge(stretches_within(g, spot, &s.search, t)) {
        cut(g.edge_xy(st.edge), st.start, st.end, &mut piece);
        if piece.len() >= 2 {
            lines.push(LineString::from(
                piece
                    .iter()
                    .map(|p| Coord { x: p[0], y: p[1] })
                    .collect::<Vec<_>>(),
            ));
        }
    }
    MultiLineString::new(lines).buffer(r)
}

#[test]
fn matches_the_exact_buffered_union_nests_and_is_valid() {
    let g = city(14, 7);
    let opts = IsoOptions::new(vec![300_000, 500_000, 800_000], 25.0);
    let mut s = IsoScratch::new(&g);
    let mut worst = [0.0f64; 2];
    for e in (0..g.edge_count() as u32).step_by(9) {
        let spot = Spot {
            edge: e,
            offset_mm: g.edge(e).length_mm / 3,
            leg_mm: 4_000,
        };
        let iso = isochrones(&g, &spot, &opts, &mut s);
        assert_eq!(iso.len(), 3);
        for (k, i) in iso.iter().enumerate() {
            assert!(
                i.shape.is_valid(),
                "edge {e} t{k}: {:?}",
                i.shape.validation_errors()
            );
            let reference = exact(&g, &spot, &s, opts.thresholds_mm[k], 25.0);
            let (a, b) = (i.shape.unsigned_area(), reference.unsigned_area());
            if b > 5_000.0 {
                assert!(
                    (a - b).abs() / b < 0.03,
                    "edge {e} t{k}: area {a} vs exact {b}"
                );
                let sym = i.shape.xor(&reference).unsigned_area();
                worst = [worst[0].max((a - b).abs() / b), worst[1].max(sym / b)];
                assert!(
                    sym / b < 0.05,
                    "edge {e} t{k}: symmetric difference {sym} of {b}"
                );
            }
            // Every node reached within the threshold lies inside.
            for n in 0..g.node_count() as u32 {
                if s.search.dist(n).is_some_and(|d| d <= opts.thresholds_mm[k]) {
                    let p = g.node_xy(n);
                    assert!(
                        i.shape.contains(&Point::new(p[0], p[1])),
                        "edge {e} t{k}: node {n} outside"
                    );
                }
            }
            if k > 0 {
                // Nested: the smaller lies inside the larger (up to float noise).
                let outside = iso[k - 1].shape.difference(&i.shape).unsigned_area();
                assert!(
                    outside < 1e-6,
                    "edge {e}: t{} sticks out of t{k} by {outside} m2",
                    k - 1
                );
            }
        }
    }
    // Printed for the README: the worst relative area and symmetric differences.
    println!(
        "worst area difference {:.4}, worst symmetric difference {:.4}",
        worst[0], worst[1]
    );
}

#[test]
fn unreached_far_nodes_are_outside() {
    let g = city(12, 3);
    let opts = IsoOptions::new(vec![400_000], 25.0);
    let mut s = IsoScratch::new(&g);
    let spot = Spot {
        edge: 5,
        offset_mm: 0,
        leg_mm: 0,
    };
    let iso = isochrones(&g, &spot, &opts, &mut s);
    let reached = exact(&g, &spot, &s, 400_000, 25.0 + 2.0 * opts.cell_m);
    for n in 0..g.node_count() as u32 {
        let p = Point::new(g.node_xy(n)[0], g.node_xy(n)[1]);
        if s.search.dist(n).is_none() && !reached.contains(&p) {
            assert!(!iso[0].shape.contains(&p), "node {n} drawn but not reached");
        }
    }
}

#[test]
fn rings_are_disjoint_and_add_up() {
    let g = city(10, 11);
    let nested = IsoOptions::new(vec![200_000, 400_000, 600_000], 25.0);
    let rings = IsoOptions {
        rings: true,
        ..nested.clone()
    };
    let mut s = IsoScratch::new(&g);
    let spot = Spot {
        edge: 3,
        offset_mm: 10,
        leg_mm: 0,
    };
    let n = isochrones(&g, &spot, &nested, &mut s);
    let r = isochrones(&g, &spot, &rings, &mut s);
    // Bands come from the level raster, nested areas from the distance field: the
    // two methods agree to within 2 %.
    let sum: f64 = r.iter().map(|i| i.area_m2).sum();
    assert!(
        (sum - n[2].area_m2).abs() / sum < 0.02,
        "{sum} vs {}",
        n[2].area_m2
    );
    assert!(r[0].shape.intersection(&r[1].shape).unsigned_area() < 1e-6);
}

#[test]
fn a_place_that_reaches_nothing_still_gets_a_small_valid_polygon() {
    let g = city(4, 1);
    let opts = IsoOptions::new(vec![1_000], 25.0);
    let mut s = IsoScratch::new(&g);
    // The leg alone exceeds the budget.
    let spot = Spot {
        edge: 0,
        offset_mm: 0,
        leg_mm: 50_000,
    };
    let iso = isochrones(&g, &spot, &opts, &mut s);
    assert!(iso[0].shape.is_valid());
    let a = iso[0].shape.unsigned_area();
    assert!((a - std::f64::consts::PI * 625.0).abs() < 200.0, "{a}");
}

#[test]
fn edge_stamps_give_exactly_the_directly_computed_areas() {
    let g = city(14, 5);
    let mut with = IsoScratch::new(&g);
    let mut without = IsoScratch::new(&g);
    without.use_stamps = false;
    for opts in [
        IsoOptions::new(vec![150_000, 400_000, 700_000], 25.0),
        IsoOptions::new(vec![300_000], 12.0),
    ] {
        for e in (0..g.edge_count() as u32).step_by(7) {
            let spot = Spot {
                edge: e,
                offset_mm: g.edge(e).length_mm / 3,
                leg_mm: 4_000,
            };
            let a = isochrones(&g, &spot, &opts, &mut with);
            let b = isochrones(&g, &spot, &opts, &mut without);
            assert_eq!(a, b, "edge {e}");
        }
    }
    // The comparison means something only if one side drew stamps and the other
    // really computed every edge directly.
    assert!(with.stamp_bytes() > 0);
    assert_eq!(without.stamp_bytes(), 0);
}
