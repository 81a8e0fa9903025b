//! Isochrones through the command line and, for every residence of the bundled
//! city, nesting and validity in process.

use geo::{Area, BooleanOps, Validation};
use livingcircle_analysis::homes_from_osm;
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_iso::{IsoOptions, IsoScratch, isochrones, reached_network};
use livingcircle_osm::{ReadOptions, read};
use livingcircle_reach::Spot;
use livingcircle_snap::Snapper;
use rayon::prelude::*;

use crate::util::{data, json, ok, tmp};

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

#[test]
fn every_residence_of_the_bundled_city_nests_5_in_10_in_15() {
    let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).unwrap();
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let snapper = Snapper::new(&g);
    let homes = homes_from_osm(&d);
    let speed_mm_per_min = 4.8 * 1000.0 / 60.0 * 1000.0;
    let opts = IsoOptions::new(
        [5.0, 10.0, 15.0]
            .iter()
            .map(|m| (m * speed_mm_per_min) as u32)
            .collect(),
        25.0,
    );
    let bad: Vec<String> = homes
        .par_iter()
        .enumerate()
        .map_init(
            || IsoScratch::new(&g),
            |s, (i, h)| {
                let snap = snapper.snap_point(g.projection().project(h.lonlat), 200.0)?;
                let spot = Spot {
                    edge: snap.edge,
                    offset_mm: snap.offset_mm,
                    leg_mm: snap.leg_mm(),
                };
                let iso = isochrones(&g, &spot, &opts, s);
                for k in 0..3 {
                    // Validity is checked on every tenth residence (it is the slow part;
                    // the iso crate's own tests check it on every case).
                    if i % 10 == 0 && !iso[k].shape.is_valid() {
                        return Some(format!("residence {i}: threshold {k} invalid"));
                    }
                    if k > 0 {
                        let out = iso[k - 1].shape.difference(&iso[k].shape).unsigned_area();
                        if out > 1e-6 {
                            return Some(format!("residence {i}: {k} sticks out by {out} m2"));
                        }
                    }
                }
                None
            },
        )
        .flatten()
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
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

#[test]
fn bundled_city_sample_matches_the_exact_buffered_union() {
    use geo::{BooleanOps, Buffer, Coord, LineString, MultiLineString};
    let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).unwrap();
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let snapper = Snapper::new(&g);
    let homes = homes_from_osm(&d);
    let mm_per_min = 4.8 * 1000.0 / 60.0 * 1000.0;
    let opts = IsoOptions::new(
        [5.0, 10.0, 15.0]
            .iter()
            .map(|m| (m * mm_per_min) as u32)
            .collect(),
        25.0,
    );
    let mut s = IsoScratch::new(&g);
    let mut worst = [0.0f64; 2];
    // Every 150th residence: 15 places, 45 polygons.
    for h in homes.iter().step_by(150) {
        let snap = snapper
            .snap_point(g.projection().project(h.lonlat), 200.0)
            .unwrap();
        let spot = Spot {
            edge: snap.edge,
            offset_mm: snap.offset_mm,
            leg_mm: snap.leg_mm(),
        };
        let iso = isochrones(&g, &spot, &opts, &mut s);
        for (k, i) in iso.iter().enumerate() {
            // The exact shape: the reached lines and the snapped point, buffered.
            let mut lines: Vec<LineString> = reached_network(&g, &spot, &s, opts.thresholds_mm[k])
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
            worst = [worst[0].max((a - b).abs() / b), worst[1].max(sym / b)];
        }
    }
    assert!(worst[0] < 0.03, "area differs by {:.4}", worst[0]);
    assert!(worst[1] < 0.05, "symmetric difference {:.4}", worst[1]);
    println!(
        "munchen sample: worst area difference {:.4}, symmetric difference {:.4}",
        worst[0], worst[1]
    );
}
