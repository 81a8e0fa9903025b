//! `site`: hand-computed choices on a straight street, consistency with `analyze`
//! (the claimed gain is exactly what `analyze --facilities sites.geojson` adds),
//! determinism across thread counts, every extract, candidate files.

use std::path::Path;

use serde_json::Value;

use crate::analyze::check_layer;
use crate::util::{data, fails, json, ok, s, shared_extracts, tmp};

/// The category's entry in an `analyze` summary.
fn category<'a>(summary: &'a Value, key: &str) -> &'a Value {
    summary["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no category {key}"))
}

/// Runs `analyze` with the chosen sites added as facilities (plus `extra` args) and
/// checks that the category's coverage is exactly the `after` that `site` claimed.
fn check_against_analyze(dir: &Path, out: &str, key: &str, osm: &Path, extra: &[&str]) {
    let summary = json(&dir.join(out).join("sites_summary.json"));
    let steps = summary["steps"].as_array().unwrap();
    // `analyze` on the same inputs, plus `more` arguments; its summary.
    let analyze = |to: &str, more: &[&str]| {
        let mut args = vec!["analyze", "--osm", s(osm), "-q", "--out", to];
        args.extend_from_slice(extra);
        args.extend_from_slice(more);
        ok(dir, &args);
        json(&dir.join(to).join("summary.json"))
    };
    let before = analyze(&format!("{out}-plain"), &[]);
    let b = category(&before, key);
    assert_eq!(
        b["residences_covered"],
        summary["before"]["residences_covered"],
        "{}: coverage before",
        osm.display()
    );
    if steps.is_empty() {
        // No site is picked only when no candidate covers anyone missing it (or no
        // one is missing it).
        assert!(
            summary["candidates"]["covering_someone"] == 0
                || summary["before"]["residences_missing"] == 0,
            "{}: nothing picked, yet {} candidates cover someone",
            osm.display(),
            summary["candidates"]["covering_someone"]
        );
        return;
    }
    let sites = format!("{out}/sites.geojson");
    let after = analyze(&format!("{out}-with"), &["--facilities", &sites]);
    let a = category(&after, key);
    assert_eq!(
        a["residences_covered"],
        summary["after"]["residences_covered"],
        "{}: residences covered after adding the sites",
        osm.display()
    );
    let (pa, ps) = (
        a["population_covered"].as_f64().unwrap(),
        summary["after"]["population_covered"].as_f64().unwrap(),
    );
    assert!(
        (pa - ps).abs() <= 0.11,
        "{}: population {pa} vs {ps}",
        osm.display()
    );
    // The claimed gains add up.
    let gained: u64 = steps
        .iter()
        .map(|s| s["gain_residents"].as_u64().unwrap())
        .sum();
    assert_eq!(
        b["residences_covered"].as_u64().unwrap() + gained,
        a["residences_covered"].as_u64().unwrap()
    );
}

/// A straight street (the spine of `rules_walkable`: 10 nodes, one grid step is
/// 74.2 m) with residences at steps 0, 1, 2 (10 people each), 8 (50) and 9 (5), and
/// candidates a (1.5), b (2.5), c (8.5) and one far away. With a 300 m threshold,
/// a and b each cover the first three, c the last two.
fn street(dir: &Path) {
    let x = |step: f64| 11.570 + 0.001 * step;
    std::fs::write(
        dir.join("homes.csv"),
        format!(
            "lon,lat,population,name\n{},48.14,10,h0\n{},48.14,10,h1\n{},48.14,10,h2\n{},48.14,50,h8\n{},48.14,5,h9\n",
            x(0.0),
            x(1.0),
            x(2.0),
            x(8.0),
            x(9.0)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("cands.csv"),
        format!(
            "id,name,lon,lat\na,Site A,{},48.14\nb,Site B,{},48.14\nc,Site C,{},48.14\nfar,Far,11.57,48.2\n",
            x(1.5),
            x(2.5),
            x(8.5)
        ),
    )
    .unwrap();
}

fn site_street(dir: &Path, out: &str, extra: &[&str]) -> Value {
    let osm = data("fixtures/rules_walkable.osm.pbf");
    let mut args = vec![
        "site",
        "--osm",
        s(&osm),
        "--category",
        "kindergarten",
        "--residences",
        "homes.csv",
        "--candidates",
        "cands.csv",
        "--out",
        out,
        "-q",
    ];
    args.extend_from_slice(extra);
    ok(dir, &args);
    json(&dir.join(out).join("sites_summary.json"))
}

fn picks(summary: &Value) -> Vec<(String, u64, f64)> {
    summary["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["candidate_id"].as_str().unwrap().to_owned(),
                s["gain_residents"].as_u64().unwrap(),
                s["gain_population"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn hand_computed_sites_on_a_straight_street() {
    let dir = tmp();
    street(dir.path());
    let d = dir.path();

    // By population: c (55 people) first, then a (30; ties with b, a is listed first).
    let sum = site_street(d, "pop", &["--count", "2"]);
    assert_eq!(
        picks(&sum),
        vec![("c".into(), 2, 55.0), ("a".into(), 3, 30.0)]
    );
    assert_eq!(sum["candidates"]["given"], 4);
    assert_eq!(
        sum["candidates"]["snapped"], 3,
        "the far candidate is unsnapped"
    );
    assert_eq!(sum["before"]["residences_covered"], 0);
    assert_eq!(sum["after"]["residences_covered"], 5);
    assert_eq!(sum["after"]["population_pct"], 100.0);
    assert_eq!(sum["stop"], "count reached");
    let sites = json(&d.join("pop/sites.geojson"));
    let f = &sites["features"][0];
    assert_eq!(f["properties"]["name"], "Site C");
    assert_eq!(f["properties"]["category"], "kindergarten");
    assert_eq!(f["properties"]["rank"], 1);
    assert_eq!(f["geometry"]["coordinates"][0], 11.5785);
    // Newly covered residences with their walking distance to their site.
    let cov = json(&d.join("pop/site_coverage.geojson"));
    let rows: Vec<(String, u64, f64)> = cov["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["name"].as_str().unwrap().to_owned(),
                p["rank"].as_u64().unwrap(),
                p["distance_m"].as_f64().unwrap(),
            )
        })
        .collect();
    let step = 74.2;
    let want = [
        ("h8", 1, 0.5 * step),
        ("h9", 1, 0.5 * step),
        ("h0", 2, 1.5 * step),
        ("h1", 2, 0.5 * step),
        ("h2", 2, 0.5 * step),
    ];
    assert_eq!(rows.len(), want.len());
    for (got, want) in rows.iter().zip(want) {
        assert_eq!((got.0.as_str(), got.1), (want.0, want.1));
        assert!((got.2 - want.2).abs() < 0.3, "{got:?} vs {want:?}");
    }
    check_against_analyze(
        d,
        "pop",
        "kindergarten",
        &data("fixtures/rules_walkable.osm.pbf"),
        &["--residences", "homes.csv"],
    );

    // By residences: a (3 residences) first, then c (2).
    let sum = site_street(d, "res", &["--count", "2", "--by", "residences"]);
    assert_eq!(
        picks(&sum),
        vec![("a".into(), 3, 30.0), ("c".into(), 2, 55.0)]
    );

    // Asking for more than is useful stops when nothing is left.
    let sum = site_street(d, "all", &["--count", "5"]);
    assert_eq!(picks(&sum).len(), 2);
    assert_eq!(sum["stop"], "nothing left that a candidate covers");

    // --min-gain 40 keeps only c.
    let sum = site_street(d, "min", &["--count", "5", "--min-gain", "40"]);
    assert_eq!(picks(&sum), vec![("c".into(), 2, 55.0)]);
}

#[test]
fn bundled_city_is_consistent_with_analyze_and_thread_independent() {
    let dir = tmp();
    let d = dir.path();
    let city = data("munchen.osm.pbf");
    for (threads, out) in [("1", "t1"), ("2", "t2")] {
        ok(
            d,
            &[
                "site",
                "--category",
                "kindergarten",
                "--count",
                "5",
                "--threads",
                threads,
                "--out",
                out,
                "-q",
            ],
        );
    }
    for layer in ["sites.geojson", "site_coverage.geojson"] {
        let a = std::fs::read(d.join("t1").join(layer)).unwrap();
        let b = std::fs::read(d.join("t2").join(layer)).unwrap();
        assert!(a == b, "{layer} differs between 1 and 2 threads");
        check_layer(&d.join("t2").join(layer));
    }
    let sum = json(&d.join("t2/sites_summary.json"));
    let steps = sum["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert_eq!(sum["candidates"]["kind"], "graph nodes");
    // Greedy gains never grow.
    for w in steps.windows(2) {
        let gain = |s: &serde_json::Value| s["gain_population"].as_f64().unwrap();
        assert!(gain(&w[0]) >= gain(&w[1]));
    }
    // Every newly covered residence appears once.
    let cov = json(&d.join("t2/site_coverage.geojson"));
    let gained: u64 = steps
        .iter()
        .map(|s| s["gain_residents"].as_u64().unwrap())
        .sum();
    let features = cov["features"].as_array().unwrap();
    let ids: std::collections::HashSet<u64> = features
        .iter()
        .map(|f| f["properties"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), features.len(), "a residence listed twice");
    assert_eq!(features.len() as u64, gained);
    check_against_analyze(d, "t2", "kindergarten", &city, &[]);
}

#[test]
fn polygon_and_point_candidates_from_geojson() {
    let dir = tmp();
    let d = dir.path();
    // A vacant parcel (polygon) and two points in the bundled city.
    std::fs::write(
        d.join("parcels.geojson"),
        r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"p1","geometry":{"type":"Polygon","coordinates":[[[11.5700,48.1380],[11.5712,48.1380],[11.5712,48.1388],[11.5700,48.1388],[11.5700,48.1380]]]},"properties":{"name":"Parcel 1"}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[11.5800,48.1365]},"properties":{"id":"p2"}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[11.5680,48.1410]},"properties":{"id":"p3","name":"Corner"}}
]}"#,
    )
    .unwrap();
    ok(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--preset",
            "complete-community",
            "--count",
            "3",
            "--candidates",
            "parcels.geojson",
            "--out",
            "o",
            "-q",
        ],
    );
    let sum = json(&d.join("o/sites_summary.json"));
    assert_eq!(sum["candidates"]["given"], 3);
    assert_eq!(sum["candidates"]["kind"], "file");
    let ids: Vec<&str> = sum["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["candidate_id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|i| ["p1", "p2", "p3"].contains(i)),
        "{ids:?}"
    );
    // The parcel comes back as its outline (the points as points), reached at every
    // place the network meets it: `check_against_analyze` below then finds, with
    // the parcel as an area facility, exactly the coverage `site` claimed.
    assert!(ids.contains(&"p1"), "the parcel is chosen: {ids:?}");
    let sites = json(&d.join("o/sites.geojson"));
    for f in sites["features"].as_array().unwrap() {
        let g = &f["geometry"];
        if f["properties"]["candidate_id"] == "p1" {
            assert_eq!(g["type"], "Polygon");
            assert_eq!(
                g["coordinates"],
                serde_json::json!([[
                    [11.57, 48.138],
                    [11.5712, 48.138],
                    [11.5712, 48.1388],
                    [11.57, 48.1388],
                    [11.57, 48.138]
                ]])
            );
            assert_eq!(f["properties"]["name"], "Parcel 1");
            let n = f["properties"]["access_points"].as_u64().unwrap();
            assert!(
                n > 1,
                "a parcel in a city block meets the network in many places: {n}"
            );
        } else {
            assert_eq!(g["type"], "Point");
            assert_eq!(f["properties"]["access_points"], 1);
        }
    }
    check_against_analyze(
        d,
        "o",
        "kindergarten",
        &data("munchen.osm.pbf"),
        &["--preset", "complete-community"],
    );
    // The report maps the sites, the parcel at a point inside it.
    ok(
        d,
        &[
            "analyze",
            "--preset",
            "complete-community",
            "--sites",
            "o/sites.geojson",
            "--out",
            "r",
            "-q",
        ],
    );
    let page = std::fs::read_to_string(d.join("r/report.html")).unwrap();
    assert!(page.contains("Parcel 1"), "the parcel is in the page");
}

#[test]
fn every_extract_gets_sites_consistent_with_analyze() {
    let mut extracts = vec![data("nanjing.osm.pbf")];
    extracts.extend(shared_extracts());
    let dir = tmp();
    for (k, p) in extracts.iter().enumerate() {
        let out = format!("o{k}");
        ok(
            dir.path(),
            &[
                "site",
                "--osm",
                s(p),
                "--category",
                "kindergarten",
                "--count",
                "3",
                "--out",
                &out,
                "-q",
            ],
        );
        let sum = json(&dir.path().join(&out).join("sites_summary.json"));
        if p.ends_with("nanjing.osm.pbf") {
            // No kindergarten is mapped: every snapped residence is demand.
            assert_eq!(sum["category"]["existing_facilities"], 0);
            assert_eq!(sum["before"]["residences_covered"], 0);
            assert_eq!(sum["steps"].as_array().unwrap().len(), 3);
        }
        check_against_analyze(dir.path(), &out, "kindergarten", p, &[]);
    }
}

#[test]
fn bad_site_input_is_one_clear_error() {
    let dir = tmp();
    let d = dir.path();
    let err = fails(d, &["site", "--category", "zoo", "--count", "2"]);
    assert!(
        err.contains("unknown category `zoo`") && err.contains("kindergarten"),
        "{err}"
    );
    let err = fails(d, &["site", "--category", "kindergarten", "--count", "0"]);
    assert!(err.contains("--count"), "{err}");
    let err = fails(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "1",
            "--min-gain=-3",
        ],
    );
    assert!(err.contains("--min-gain"), "{err}");
    let err = fails(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "1",
            "--candidates",
            "nope.csv",
        ],
    );
    assert!(err.contains("nope.csv"), "{err}");
    std::fs::write(d.join("far.csv"), "lon,lat\n12.5,48.9\n").unwrap();
    let err = fails(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "1",
            "--candidates",
            "far.csv",
            "--out",
            "o",
        ],
    );
    assert!(
        err.contains("far.csv") && err.contains("none of the 1 candidates"),
        "{err}"
    );
    assert!(!d.join("o/sites.geojson").exists(), "no output on error");
}
