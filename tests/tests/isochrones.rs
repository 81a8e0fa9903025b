//! Isochrones through the command line and, for every residence of the bundled
//! city and of every shared extract, validity after rounding to the written 7
//! decimals (geo's rules), nesting and reached nodes inside, in process.

use std::path::Path;

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{
    Area, BooleanOps, BoundingRect, Coord, CoordsIter, Intersects, LineString, MapCoords,
    MultiPolygon, Polygon, PreparedGeometry, Relate, Validation,
};
use livingcircle_analysis::homes_from_osm;
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_iso::{IsoOptions, IsoScratch, isochrones, reached_network};
use livingcircle_osm::{ReadOptions, read};
use livingcircle_reach::Spot;
use livingcircle_snap::Snapper;
use rayon::prelude::*;

use crate::util::{data, fails, json, listing, ok, shared_extracts, tmp};

/// geo's validity rules for a MultiPolygon (`Validation` for `Polygon` and
/// `MultiPolygon`: each ring at least 3 distinct points and simple; holes contained
/// in their exterior, touching it at points only; holes not overlapping nor touching
/// along a line; polygons not overlapping nor touching along a line), checked with
/// geo's own predicates — each ring alone through `Validation`, the relations
/// through `Relate` — with the exterior prepared once per polygon and pairs whose
/// bounding boxes do not meet skipped. `is_valid` itself relates the whole exterior
/// again for every hole, 5–6× slower on these polygons; `written_polygons_are_valid`
/// checks that the two agree.
fn geo_valid(mp: &MultiPolygon) -> Result<(), String> {
    let crossing = |im: &geo::relate::IntersectionMatrix| {
        im.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
            || im.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
    };
    for (k, p) in mp.0.iter().enumerate() {
        for (r, ring) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            Polygon::new(ring.clone(), vec![])
                .check_validation()
                .map_err(|e| format!("polygon {k} ring {r}: {e}"))?;
        }
        let exterior = Polygon::new(p.exterior().clone(), vec![]);
        let prepared = PreparedGeometry::from(&exterior);
        for (h, hole) in p.interiors().iter().enumerate() {
            let im = prepared.relate(hole);
            if !im.is_contains()
                || im.get(CoordPos::OnBoundary, CoordPos::Inside) == Dimensions::OneDimensional
            {
                return Err(format!("polygon {k} hole {h}: not inside the exterior"));
            }
        }
        let holes: Vec<(Polygon, geo::Rect)> = p
            .interiors()
            .iter()
            .map(|h| {
                let q = Polygon::new(h.clone(), vec![]);
                let b = q.bounding_rect().expect("a ring");
                (q, b)
            })
            .collect();
        for i in 0..holes.len() {
            for j in i + 1..holes.len() {
                if holes[i].1.intersects(&holes[j].1) && crossing(&holes[i].0.relate(&holes[j].0)) {
                    return Err(format!("polygon {k}: holes {i} and {j} meet"));
                }
            }
        }
    }
    let boxes: Vec<geo::Rect> =
        mp.0.iter()
            .map(|p| p.bounding_rect().expect("a ring"))
            .collect();
    for i in 0..mp.0.len() {
        for j in i + 1..mp.0.len() {
            if boxes[i].intersects(&boxes[j]) && crossing(&mp.0[i].relate(&mp.0[j])) {
                return Err(format!("polygons {i} and {j} overlap"));
            }
        }
    }
    Ok(())
}

/// A shape as written: lon/lat rounded to 7 decimals.
fn written(mp: &MultiPolygon, g: &WalkGraph) -> MultiPolygon {
    let r7 = |x: f64| (x * 1e7).round() / 1e7;
    mp.map_coords(|c| {
        let [lon, lat] = g.projection().unproject([c.x, c.y]);
        Coord {
            x: r7(lon),
            y: r7(lat),
        }
    })
}

/// Point-in-polygon for many points: the edges of a shape bucketed by rows, an
/// even–odd count over the edges of the point's row (independent of the engine).
struct Inside {
    y0: f64,
    h: f64,
    rows: Vec<Vec<[f64; 4]>>,
}

impl Inside {
    fn new(mp: &MultiPolygon) -> Self {
        let b = mp.bounding_rect().expect("a shape");
        let n = 64;
        let (y0, h) = (b.min().y, (b.height() / n as f64).max(1e-9));
        let mut rows = vec![Vec::new(); n];
        for ring in
            mp.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        {
            for l in ring.lines() {
                let (a, c) = (l.start, l.end);
                let lo = (((a.y.min(c.y) - y0) / h) as usize).min(n - 1);
                let hi = (((a.y.max(c.y) - y0) / h) as usize).min(n - 1);
                for row in &mut rows[lo..=hi] {
                    row.push([a.x, a.y, c.x, c.y]);
                }
            }
        }
        Inside { y0, h, rows }
    }

    fn contains(&self, p: [f64; 2]) -> bool {
        if p[1] < self.y0 {
            return false;
        }
        let row = ((p[1] - self.y0) / self.h) as usize;
        let Some(edges) = self.rows.get(row) else {
            return false;
        };
        let mut inside = false;
        for e in edges {
            if (e[1] > p[1]) != (e[3] > p[1])
                && p[0] < e[0] + (p[1] - e[1]) * (e[2] - e[0]) / (e[3] - e[1])
            {
                inside = !inside;
            }
        }
        inside
    }
}

/// Every place's isochrones checked: valid as written, each level inside the next
/// (projected, where the lattice is affine), every node reached within a level
/// inside it. Returns the polygons checked and the problems found.
fn check_places(
    g: &WalkGraph,
    spots: &[Spot],
    opts: &IsoOptions,
    full_every: usize,
) -> (usize, Vec<String>) {
    let problems: Vec<Vec<String>> = spots
        .par_iter()
        .enumerate()
        .map_init(
            || IsoScratch::new(g),
            |s, (i, spot)| {
                let mut bad = Vec::new();
                let iso = isochrones(g, spot, opts, s);
                for (k, poly) in iso.iter().enumerate() {
                    let ll = written(&poly.shape, g);
                    if let Err(e) = geo_valid(&ll) {
                        bad.push(format!("place {i} level {k}: {e}"));
                    }
                    if (i * iso.len() + k).is_multiple_of(full_every) && !ll.is_valid() {
                        bad.push(format!("place {i} level {k}: geo's is_valid disagrees"));
                    }
                    if k > 0 && !opts.rings {
                        let out = iso[k - 1].shape.difference(&poly.shape).unsigned_area();
                        if out > 1e-6 {
                            bad.push(format!(
                                "place {i}: level {} sticks out of {k} by {out} m2",
                                k - 1
                            ));
                        }
                    }
                    if !opts.rings {
                        let inside = Inside::new(&poly.shape);
                        for &n in s.search.settled() {
                            if s.search.dist(n).is_some_and(|d| d <= opts.thresholds_mm[k])
                                && !inside.contains(g.node_xy(n))
                            {
                                bad.push(format!("place {i} level {k}: reached node {n} outside"));
                            }
                        }
                    }
                }
                if opts.rings {
                    for a in 0..iso.len() {
                        for b in a + 1..iso.len() {
                            let both = iso[a].shape.intersection(&iso[b].shape).unsigned_area();
                            if both > 1e-6 {
                                bad.push(format!(
                                    "place {i}: bands {a} and {b} overlap by {both} m2"
                                ));
                            }
                        }
                    }
                }
                bad
            },
        )
        .collect();
    (
        spots.len() * opts.thresholds_mm.len(),
        problems.into_iter().flatten().collect(),
    )
}

/// The places of an extract: its snapped residences, or every 10th graph edge's
/// middle where it has none.
fn places(path: &Path) -> (WalkGraph, Vec<Spot>) {
    let d = read(path, &ReadOptions::default()).unwrap();
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let snapper = Snapper::new(&g);
    let mut spots: Vec<Spot> = homes_from_osm(&d, &Default::default())
        .iter()
        .filter_map(|h| snapper.snap_point(g.projection().project(h.lonlat), 200.0))
        .map(|s| Spot {
            edge: s.edge,
            offset_mm: s.offset_mm,
            leg_mm: s.leg_mm(),
        })
        .collect();
    if spots.is_empty() {
        spots = (0..g.edge_count() as u32)
            .step_by(10)
            .map(|e| Spot {
                edge: e,
                offset_mm: g.edge(e).length_mm / 2,
                leg_mm: 0,
            })
            .collect();
    }
    (g, spots)
}

#[test]
fn points_file_gives_nested_valid_layers_and_lists_unsnapped_points() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("p.csv"),
        "name,lon,lat\nMarienplatz,11.5755,48.1372\nfar away,11.0,48.0\n",
    )
    .unwrap();
    let out = ok(
        dir.path(),
        &["isochrones", "--points", "p.csv", "--out", "iso.geojson"],
    );
    assert!(out.contains("1 unsnapped: 1"), "{out}");
    let v = json(&dir.path().join("iso.geojson"));
    let f = v["features"].as_array().unwrap();
    assert_eq!(
        f.len(),
        3,
        "three thresholds for the snapped point, none for the other"
    );
    let mut last = 0.0;
    for (k, minutes) in [5.0, 10.0, 15.0].into_iter().enumerate() {
        let p = &f[k]["properties"];
        assert_eq!(p["threshold_min"], minutes);
        assert_eq!(p["name"], "Marienplatz");
        let area = p["area_m2"].as_f64().unwrap();
        assert!(area > last, "areas grow with the threshold");
        last = area;
        assert!(p["population"].as_f64().unwrap() > 0.0);
        assert!(p["network_m"].as_f64().unwrap() > 0.0);
        assert!(p["kindergarten_count"].as_u64().is_some());
    }
    crate::analyze::check_layer(&dir.path().join("iso.geojson"));
    // Rings are disjoint bands whose areas add up to the 15-minute area.
    ok(
        dir.path(),
        &[
            "isochrones",
            "--points",
            "p.csv",
            "--rings",
            "--out",
            "rings.geojson",
        ],
    );
    let r = json(&dir.path().join("rings.geojson"));
    let sum: f64 = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["area_m2"].as_f64().unwrap())
        .sum();
    // Bands (level raster) and nested areas (distance field) agree to within 2 %.
    assert!((sum - last).abs() / last < 0.02, "{sum} vs {last}");
}

/// Every residence of the bundled city at the defaults (5/10/15 minutes at 4.8 km/h,
/// 25 m buffer, 1 m simplification), as nested areas and as rings, and with a 6 m
/// tolerance (where the reached nodes must be protected explicitly).
#[test]
fn every_residence_of_the_bundled_city_is_valid_nested_and_holds_its_nodes() {
    let (g, spots) = places(&data("munchen.osm.pbf"));
    let mm = |m: f64| (m * 4.8 * 1000.0 / 60.0 * 1000.0) as u32;
    let nested = IsoOptions::new(vec![mm(5.0), mm(10.0), mm(15.0)], 25.0);
    let rings = IsoOptions {
        rings: true,
        ..nested.clone()
    };
    let coarse = IsoOptions {
        simplify_m: 6.0,
        ..nested.clone()
    };
    for (name, opts, every) in [
        ("nested", &nested, 1),
        ("rings", &rings, 1),
        ("6 m", &coarse, 7),
    ] {
        let sample: Vec<Spot> = spots.iter().copied().step_by(every).collect();
        let (n, bad) = check_places(&g, &sample, opts, 25);
        assert!(
            bad.is_empty(),
            "{name}: {} of {n} polygons: {:?}",
            bad.len(),
            &bad[..bad.len().min(20)]
        );
        assert!(n >= 3 * 2000 / every, "{name}: {n}");
    }
}

/// Every polygon of every residence of every extract in ../shared/data (every 10th
/// edge's middle for extracts without residences), at 300/500/1000 m with a 25 m
/// buffer.
#[test]
fn every_polygon_of_every_shared_extract_is_valid_nested_and_holds_its_nodes() {
    for path in shared_extracts() {
        let (g, spots) = places(&path);
        let opts = IsoOptions::new(vec![300_000, 500_000, 1_000_000], 25.0);
        let (n, bad) = check_places(&g, &spots, &opts, 50);
        assert!(
            bad.is_empty(),
            "{}: {} of {n} polygons: {:?}",
            path.display(),
            bad.len(),
            &bad[..bad.len().min(20)]
        );
        eprintln!("{}: {n} polygons valid and nested", path.display());
    }
}

/// The written file itself: every polygon of the benchmark job (one 1,080 m polygon
/// per residence, 20 m buffer) parses and is valid for geo's `is_valid` as written;
/// the same job without simplification has the same properties and at least 3× the
/// bytes.
#[test]
fn written_polygons_are_valid_and_three_times_smaller() {
    let dir = tmp();
    let job = [
        "isochrones",
        "--meters",
        "1080",
        "--buffer-m",
        "20",
        "--out",
    ];
    ok(dir.path(), &[&job[..], &["s.geojson"]].concat());
    ok(
        dir.path(),
        &[&job[..], &["raw.geojson", "--simplify-m", "0"]].concat(),
    );
    let simple = json(&dir.path().join("s.geojson"));
    let raw = json(&dir.path().join("raw.geojson"));
    let (fs, fr) = (
        simple["features"].as_array().unwrap(),
        raw["features"].as_array().unwrap(),
    );
    assert_eq!(fs.len(), 2155);
    let polys: Vec<MultiPolygon> = fs.iter().map(|f| shape(&f["geometry"])).collect();
    let bad: Vec<String> = polys
        .par_iter()
        .enumerate()
        .filter_map(|(i, mp)| {
            let full = i.is_multiple_of(20);
            match (geo_valid(mp), full && !mp.is_valid()) {
                (Ok(()), false) => None,
                (r, _) => Some(format!("feature {i}: {r:?} (is_valid checked: {full})")),
            }
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    for (a, b) in fs.iter().zip(fr) {
        assert_eq!(a["properties"], b["properties"]);
    }
    let size = |f: &str| std::fs::metadata(dir.path().join(f)).unwrap().len();
    let vs: usize = polys.iter().map(|p| p.coords_count()).sum();
    let vr = raw_vertices(fr);
    assert!(
        size("raw.geojson") >= 3 * size("s.geojson"),
        "{} vs {}",
        size("raw.geojson"),
        size("s.geojson")
    );
    eprintln!(
        "munchen 1,080 m / 20 m: {} bytes, {} vertices per polygon (without simplification {} bytes, {})",
        size("s.geojson"),
        vs / fs.len(),
        size("raw.geojson"),
        vr / fr.len()
    );
}

/// A GeoJSON Polygon or MultiPolygon geometry as a MultiPolygon.
fn shape(g: &serde_json::Value) -> MultiPolygon {
    let ring = |r: &serde_json::Value| {
        LineString::from(
            r.as_array()
                .unwrap()
                .iter()
                .map(|p| Coord {
                    x: p[0].as_f64().unwrap(),
                    y: p[1].as_f64().unwrap(),
                })
                .collect::<Vec<_>>(),
        )
    };
    let poly = |p: &serde_json::Value| {
        let rings = p.as_array().unwrap();
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    match g["type"].as_str().unwrap() {
        "Polygon" => MultiPolygon::new(vec![poly(&g["coordinates"])]),
        "MultiPolygon" => MultiPolygon::new(
            g["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .map(poly)
                .collect(),
        ),
        t => panic!("{t}"),
    }
}

/// Vertices of GeoJSON polygon features.
fn raw_vertices(features: &[serde_json::Value]) -> usize {
    features
        .iter()
        .map(|f| {
            let g = &f["geometry"];
            let polys: Vec<&serde_json::Value> = if g["type"] == "Polygon" {
                vec![&g["coordinates"]]
            } else {
                g["coordinates"].as_array().unwrap().iter().collect()
            };
            polys
                .iter()
                .flat_map(|p| p.as_array().unwrap())
                .map(|r| r.as_array().unwrap().len())
                .sum::<usize>()
        })
        .sum()
}

/// A buffer too small for the grid is refused before anything is allocated or
/// written (it once tried to allocate 11 TB and aborted, leaving a temporary file).
#[test]
fn tiny_buffers_and_huge_grids_are_refused_before_allocating() {
    let dir = tmp();
    let err = fails(
        dir.path(),
        &["isochrones", "--buffer-m", "0.0001", "--out", "x.geojson"],
    );
    assert!(
        err.contains("--buffer-m 0.0001") && err.contains("0.25 m"),
        "{err}"
    );
    let err = fails(
        dir.path(),
        &[
            "isochrones",
            "--meters",
            "100000",
            "--buffer-m",
            "5",
            "--out",
            "x.geojson",
        ],
    );
    assert!(
        err.contains("--buffer-m 5") && err.contains("limit") && err.contains("at least"),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

/// Ring levels are bytes: more thresholds than they hold are an error, not an
/// overflow.
#[test]
fn too_many_ring_levels_are_refused() {
    let dir = tmp();
    let many: Vec<String> = (1..=300).map(|m| m.to_string()).collect();
    let err = fails(
        dir.path(),
        &[
            "isochrones",
            "--rings",
            "--meters",
            &many.join(","),
            "--out",
            "x.geojson",
        ],
    );
    assert!(
        err.contains("--minutes/--meters") && err.contains("254"),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty());
}

/// `--stats-only` writes the very numbers of the full layer, without geometry; a
/// CSV needs it.
#[test]
fn stats_only_csv_has_the_numbers_of_the_geojson() {
    let dir = tmp();
    ok(dir.path(), &["isochrones", "--out", "full.geojson", "-q"]);
    ok(dir.path(), &["isochrones", "--stats-only", "-q"]);
    let full = json(&dir.path().join("full.geojson"));
    let csv = std::fs::read_to_string(dir.path().join("isochrones.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..4], ["id", "name", "threshold_min", "threshold_m"]);
    let feats = full["features"].as_array().unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), feats.len());
    for (row, f) in rows.iter().zip(feats) {
        // Names may hold commas (quoted); the numbers are the last columns.
        let cells: Vec<&str> = row.rsplitn(header.len() - 2, ',').collect();
        for (name, cell) in header.iter().rev().zip(&cells[..cells.len() - 1]) {
            let want = &f["properties"][*name];
            assert_eq!(
                cell.parse::<f64>().unwrap(),
                want.as_f64().unwrap(),
                "{name}: {row}"
            );
        }
    }
    let err = fails(dir.path(), &["isochrones", "--out", "x.csv"]);
    assert!(err.contains("--stats-only"), "{err}");
}

#[test]
fn analyze_writes_isochrones_beside_the_other_layers() {
    let dir = tmp();
    let fixture = data("fixtures/features.osm.pbf");
    ok(
        dir.path(),
        &[
            "analyze",
            "--osm",
            crate::util::s(&fixture),
            "--isochrones",
            "--out",
            "o",
            "-q",
        ],
    );
    let v = json(&dir.path().join("o/isochrones.geojson"));
    assert_eq!(
        v["features"].as_array().unwrap().len(),
        9,
        "3 residences x 3 thresholds"
    );
    crate::analyze::check_layer(&dir.path().join("o/isochrones.geojson"));
}

/// The drawn areas against the exact buffered union of the reached network (geo's
/// `Buffer`), on every 150th residence of the bundled city (15 places, 45 polygons),
/// simplified (the default, 1 m) and not: worst relative area difference and
/// symmetric difference, printed for the README.
#[test]
fn bundled_city_sample_matches_the_exact_buffered_union() {
    use geo::{Buffer, MultiLineString};
    let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).unwrap();
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let snapper = Snapper::new(&g);
    let homes = homes_from_osm(&d, &Default::default());
    let mm_per_min = 4.8 * 1000.0 / 60.0 * 1000.0;
    let simplified = IsoOptions::new(
        [5.0, 10.0, 15.0]
            .iter()
            .map(|m| (m * mm_per_min) as u32)
            .collect(),
        25.0,
    );
    let traced = IsoOptions {
        simplify_m: 0.0,
        ..simplified.clone()
    };
    let mut s = IsoScratch::new(&g);
    // Per option set: worst area difference, worst symmetric difference.
    let mut worst = [[0.0f64; 2]; 2];
    for h in homes.iter().step_by(150) {
        let snap = snapper
            .snap_point(g.projection().project(h.lonlat), 200.0)
            .unwrap();
        let spot = Spot {
            edge: snap.edge,
            offset_mm: snap.offset_mm,
            leg_mm: snap.leg_mm(),
        };
        for (w, opts) in [&simplified, &traced].into_iter().enumerate() {
            let iso = isochrones(&g, &spot, opts, &mut s);
            for (k, i) in iso.iter().enumerate() {
                // The exact shape: the reached lines and the snapped point, buffered.
                let mut lines: Vec<LineString> =
                    reached_network(&g, &spot, &s, opts.thresholds_mm[k])
                        .into_iter()
                        .filter(|p| p.len() >= 2)
                        .map(|p| {
                            LineString::from(
                                p.iter()
                                    .map(|q| Coord { x: q[0], y: q[1] })
                                    .collect::<Vec<_>>(),
                            )
                        })
                        .collect();
                lines.push(LineString::from(vec![
                    Coord {
                        x: snap.xy[0],
                        y: snap.xy[1],
                    },
                    Coord {
                        x: snap.xy[0] + 1e-6,
                        y: snap.xy[1],
                    },
                ]));
                let exact = MultiLineString::new(lines).buffer(25.0);
                let (a, b) = (i.shape.unsigned_area(), exact.unsigned_area());
                let sym = i.shape.xor(&exact).unsigned_area();
                worst[w] = [worst[w][0].max((a - b).abs() / b), worst[w][1].max(sym / b)];
            }
        }
    }
    for (w, name) in ["simplified 1 m", "traced"].into_iter().enumerate() {
        assert!(
            worst[w][0] < 0.03,
            "{name}: area differs by {:.4}",
            worst[w][0]
        );
        assert!(
            worst[w][1] < 0.05,
            "{name}: symmetric difference {:.4}",
            worst[w][1]
        );
        println!(
            "munchen sample, {name}: worst area difference {:.4}, symmetric difference {:.4}",
            worst[w][0], worst[w][1]
        );
    }
}
