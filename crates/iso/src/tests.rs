//! Isochrone checks against an exact reference: the buffered union of the reached
//! segments computed with `geo`'s `Buffer` (i_overlay), on a seeded irregular grid.

use geo::{
    Area, BooleanOps, Buffer, Contains, Coord, CoordsIter, LineString, MapCoords, MultiLineString,
    Point, Validation,
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

/// A shape as written: lon/lat rounded to 7 decimals.
fn lonlat7(i: &Isochrone) -> MultiPolygon {
    let r7 = |x: f64| (x * 1e7).round() / 1e7;
    i.shape.map_coords(|c| {
        let [lon, lat] = i.frame.unproject([c.x, c.y]);
        Coord {
            x: r7(lon),
            y: r7(lat),
        }
    })
}

/// Every node reached within threshold `k` lies inside isochrone `k`, and isochrone
/// `k - 1` lies inside it (up to float noise).
fn holds_nodes_and_nests(
    g: &WalkGraph,
    s: &IsoScratch,
    opts: &IsoOptions,
    iso: &[Isochrone],
    k: usize,
    what: &str,
) {
    let shape = &iso[k].shape;
    for n in 0..g.node_count() as u32 {
        if s.search.dist(n).is_some_and(|d| d <= opts.thresholds_mm[k]) {
            let p = g.node_xy(n);
            assert!(
                shape.contains(&Point::new(p[0], p[1])),
                "{what} t{k}: node {n} outside"
            );
        }
    }
    if k > 0 {
        let out = iso[k - 1].shape.difference(shape).unsigned_area();
        assert!(
            out < 1e-6,
            "{what}: t{} sticks out of t{k} by {out} m2",
            k - 1
        );
    }
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
            let written = lonlat7(i);
            assert!(
                written.is_valid(),
                "edge {e} t{k} as written: {:?}",
                written.validation_errors()
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
            holds_nodes_and_nests(&g, &s, &opts, &iso, k, &format!("edge {e}"));
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

#[test]
fn every_vertex_lies_on_the_output_lattice() {
    let g = city(10, 9);
    let mut s = IsoScratch::new(&g);
    for opts in [
        IsoOptions::new(vec![250_000, 600_000], 25.0),
        IsoOptions {
            rings: true,
            ..IsoOptions::new(vec![250_000, 600_000], 25.0)
        },
        IsoOptions {
            simplify_m: 0.0,
            ..IsoOptions::new(vec![250_000, 600_000], 13.0)
        },
    ] {
        for e in (0..g.edge_count() as u32).step_by(11) {
            let spot = Spot {
                edge: e,
                offset_mm: 1_000,
                leg_mm: 0,
            };
            for i in isochrones(&g, &spot, &opts, &mut s) {
                assert!(i.shape.coords_count() >= 4);
                for c in i.shape.coords_iter() {
                    for v in i.frame.unproject([c.x, c.y]) {
                        let q = v * 1e7;
                        assert!((q - q.round()).abs() < 1e-6, "{v} is not on the lattice");
                    }
                }
            }
        }
    }
}

#[test]
fn areas_and_lengths_are_the_same_without_geometry() {
    let g = city(12, 13);
    let mut s = IsoScratch::new(&g);
    for rings in [false, true] {
        let with = IsoOptions {
            rings,
            ..IsoOptions::new(vec![200_000, 450_000, 700_000], 25.0)
        };
        let without = IsoOptions {
            geometry: false,
            ..with.clone()
        };
        for e in (0..g.edge_count() as u32).step_by(13) {
            let spot = Spot {
                edge: e,
                offset_mm: 0,
                leg_mm: 2_000,
            };
            let a = isochrones(&g, &spot, &with, &mut s);
            let b = isochrones(&g, &spot, &without, &mut s);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!((x.area_m2, x.network_m), (y.area_m2, y.network_m));
                assert!(y.shape.0.is_empty());
                // The traced area, not the simplified shape's (restored corners make
                // holes larger), within 1.5 %.
                let drawn = x.shape.unsigned_area();
                assert!(
                    (drawn - x.area_m2).abs() <= 0.015 * x.area_m2,
                    "rings {rings}: {drawn} {}",
                    x.area_m2
                );
            }
        }
    }
}

#[test]
fn options_are_checked_before_anything_is_allocated() {
    let ok = IsoOptions::new(vec![400_000, 800_000, 1_200_000], 25.0);
    assert_eq!(ok.check(), Ok(()));
    let tiny = IsoOptions::new(vec![1_080_000], 0.0001);
    assert_eq!(
        tiny.check(),
        Err(IsoError::BufferTooSmall { buffer_m: 0.0001 })
    );
    // 100 km at a 5 m buffer: a grid far over the limit; the suggested buffer fits
    // and a tenth less does not.
    let huge = IsoOptions::new(vec![100_000_000], 5.0);
    let Err(IsoError::GridTooLarge {
        cells,
        limit,
        min_buffer_m,
    }) = huge.check()
    else {
        panic!("{:?}", huge.check());
    };
    assert!(cells > limit);
    assert_eq!(
        IsoOptions::new(vec![100_000_000], min_buffer_m).check(),
        Ok(())
    );
    assert!(
        IsoOptions::new(vec![100_000_000], 0.9 * min_buffer_m)
            .check()
            .is_err()
    );
    let many = IsoOptions {
        rings: true,
        ..IsoOptions::new((1..=300).map(|m| m * 1000).collect(), 25.0)
    };
    assert_eq!(
        many.check(),
        Err(IsoError::TooManyThresholds { count: 300 })
    );
    let negative = IsoOptions {
        simplify_m: -1.0,
        ..ok.clone()
    };
    assert!(matches!(
        negative.check(),
        Err(IsoError::BadSimplify { .. })
    ));
}

#[test]
fn simplification_keeps_the_nodes_inside_even_at_large_tolerances() {
    let g = city(14, 21);
    let mut s = IsoScratch::new(&g);
    for tol in [3.0, 8.0, 20.0] {
        let opts = IsoOptions {
            simplify_m: tol,
            ..IsoOptions::new(vec![300_000, 600_000, 900_000], 25.0)
        };
        for e in (0..g.edge_count() as u32).step_by(10) {
            let spot = Spot {
                edge: e,
                offset_mm: g.edge(e).length_mm / 2,
                leg_mm: 0,
            };
            let iso = isochrones(&g, &spot, &opts, &mut s);
            for (k, i) in iso.iter().enumerate() {
                assert!(lonlat7(i).is_valid(), "tol {tol} edge {e} t{k}");
                holds_nodes_and_nests(&g, &s, &opts, &iso, k, &format!("tol {tol} edge {e}"));
            }
        }
    }
}

/// On a graph 20 degrees wide (short streets at 100°E 25°N, 110°E 35°N and 120°E
/// 45°N), a place's buffer is the same on the ground wherever it is: every vertex of
/// a 200 m disc lies 200 m from the place on the ellipsoid (`geo`'s geodesic), and
/// its area is the disc's, within 0.1 %.
#[test]
fn buffers_are_true_on_the_ground_across_a_wide_extract() {
    use geo::{Distance, Geodesic};
    let places = [[100.0, 25.0], [110.0, 35.0], [120.0, 45.0]];
    let ways: Vec<WalkWay> = places
        .iter()
        .enumerate()
        .map(|(i, &[lon, lat])| WalkWay {
            way_id: i as i64,
            nodes: vec![10 * i as i64 + 1, 10 * i as i64 + 2],
            coords: vec![[lon, lat], [lon + 0.01, lat]],
            direction: FootDirection::Both,
            highway: "footway".into(),
            name: None,
        })
        .collect();
    let opts = BuildOptions {
        keep_all_components: true,
    };
    let g = WalkGraph::build(&ways, &opts).unwrap().0;
    assert_eq!(g.edge_count(), 3);
    let r = 200.0;
    let iso = IsoOptions {
        cell_m: 4.0,
        simplify_m: 0.0,
        ..IsoOptions::new(vec![0], r)
    };
    let mut s = IsoScratch::new(&g);
    for e in 0..3 {
        let len = g.edge(e).length_mm;
        let spot = Spot {
            edge: e,
            offset_mm: len / 2,
            leg_mm: 0,
        };
        let place = {
            let xy = g.edge_xy(e);
            g.projection()
                .unproject([(xy[0][0] + xy[1][0]) / 2.0, (xy[0][1] + xy[1][1]) / 2.0])
        };
        let out = isochrones(&g, &spot, &iso, &mut s);
        let disc = std::f64::consts::PI * r * r;
        assert!(
            (out[0].area_m2 - disc).abs() / disc < 1e-3,
            "{place:?}: {} vs {disc}",
            out[0].area_m2
        );
        let shape = lonlat(&out[0]);
        for c in shape.coords_iter() {
            let d = Geodesic.distance(Point::new(place[0], place[1]), Point::new(c.x, c.y));
            assert!((d - r).abs() < 0.2 + 1e-3 * r, "{place:?}: vertex at {d} m");
        }
    }
}
