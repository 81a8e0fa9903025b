//! `analyze`: golden layers on a fixture, RFC 7946 checks, determinism across thread
//! counts, every preset on every extract, user files.

use std::path::Path;

use serde_json::Value;

use crate::util::{data, fails, json, listing, ok, root, s, shared_extracts, tmp};

const LAYERS: &[&str] = &["residences.geojson", "facilities.geojson", "gaps.geojson"];

/// Canonical text of a GeoJSON file: parsed and pretty-printed (our writer's
/// property order is kept), with a trailing newline.
fn canonical(path: &Path) -> String {
    let mut s = serde_json::to_string_pretty(&json(path)).expect("serialises");
    s.push('\n');
    s
}

/// `analyze` on the `features` fixture with the golden preset, into `DIR/o`.
fn analyze_features(dir: &Path) {
    let fixture = data("fixtures/features.osm.pbf");
    let preset = root().join("tests/golden/mini.toml");
    ok(
        dir,
        &[
            "analyze",
            "--osm",
            s(&fixture),
            "--preset",
            s(&preset),
            "--out",
            "o",
            "-q",
        ],
    );
}

#[test]
fn golden_layers_on_the_features_fixture() {
    let dir = tmp();
    analyze_features(dir.path());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for layer in LAYERS {
        let got = canonical(&dir.path().join("o").join(layer));
        let golden = root().join("tests/golden/features").join(layer);
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            stale.push(layer.to_string());
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(10)
                .map(|(i, (a, b))| format!("line {}:\n  - {a}\n  + {b}", i + 1))
                .collect();
            panic!(
                "{layer} differs from {} ({} vs {} lines):\n{}\nRun with UPDATE_GOLDEN=1 to rewrite after checking the change.",
                golden.display(),
                want.lines().count(),
                got.lines().count(),
                diff.join("\n")
            );
        }
    }
    assert!(
        stale.is_empty(),
        "goldens rewritten ({stale:?}); rerun without UPDATE_GOLDEN"
    );
}

#[test]
fn features_fixture_results_are_right() {
    let dir = tmp();
    analyze_features(dir.path());
    let res = json(&dir.path().join("o/residences.geojson"));
    let feats = res["features"].as_array().unwrap();
    assert_eq!(feats.len(), 3);
    // Apartments w200: flats 20 -> 52.4 residents.
    let w200 = feats
        .iter()
        .find(|f| f["properties"]["osm_id"] == "w200")
        .unwrap();
    assert_eq!(w200["properties"]["population"], 52.4);
    assert_eq!(w200["properties"]["population_source"], "flats");
    let cn = feats
        .iter()
        .find(|f| f["properties"]["osm_id"] == "w204")
        .unwrap();
    assert_eq!(cn["properties"]["name"], "翠苑小区");
    // Every <key>_ok agrees with <key>_m and the threshold; missing lists the others.
    let thresholds = [
        ("kindergarten", 150.0),
        ("school", 500.0),
        ("park", 200.0),
        ("grocery", 200.0),
    ];
    for f in feats {
        let p = &f["properties"];
        let mut missing = Vec::new();
        for (k, t) in thresholds {
            let ok = p[format!("{k}_m")].as_f64().is_some_and(|d| d <= t);
            assert_eq!(p[format!("{k}_ok")], ok, "{k} in {p}");
            if !ok {
                missing.push(k);
            }
        }
        assert_eq!(p["missing"], serde_json::json!(missing));
        assert_eq!(p["met"], 4 - missing.len());
    }
    let summary = json(&dir.path().join("o/summary.json"));
    assert_eq!(summary["counts"]["cross_check_mismatches"], 0);
    assert_eq!(summary["counts"]["residences"], 3);
}

/// Lon/lat in range, at most 7 decimals, RFC 7946 winding for polygons.
pub(crate) fn check_layer(path: &Path) {
    let v = json(path);
    assert_eq!(v["type"], "FeatureCollection", "{}", path.display());
    let text = std::fs::read_to_string(path).unwrap();
    for f in v["features"].as_array().unwrap() {
        let g = &f["geometry"];
        let check_pos = |p: &Value| {
            let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            assert!(
                (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat),
                "{p}"
            );
        };
        match g["type"].as_str().unwrap() {
            "Point" => check_pos(&g["coordinates"]),
            "LineString" => g["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(check_pos),
            "Polygon" | "MultiPolygon" => {
                let polys: Vec<&Value> = if g["type"] == "Polygon" {
                    vec![&g["coordinates"]]
                } else {
                    g["coordinates"].as_array().unwrap().iter().collect()
                };
                for (i, ring) in polys
                    .iter()
                    .flat_map(|p| p.as_array().unwrap().iter().enumerate())
                {
                    let pts: Vec<(f64, f64)> = ring
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| {
                            check_pos(p);
                            (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
                        })
                        .collect();
                    assert_eq!(pts.first(), pts.last(), "closed ring");
                    let area2: f64 = pts
                        .windows(2)
                        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                        .sum();
                    assert!(
                        if i == 0 { area2 > 0.0 } else { area2 < 0.0 },
                        "RFC 7946 winding, ring {i}"
                    );
                }
            }
            other => panic!("unexpected geometry {other}"),
        }
    }
    // No coordinate has more than 7 decimals.
    for tok in text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')) {
        if let Some((_, frac)) = tok.split_once('.') {
            assert!(
                frac.len() <= 7,
                "`{tok}` has more than 7 decimals in {}",
                path.display()
            );
        }
    }
}

#[test]
fn bundled_city_layers_are_valid_and_threads_do_not_change_a_byte() {
    let dir = tmp();
    ok(
        dir.path(),
        &["analyze", "--out", "one", "--threads", "1", "-q"],
    );
    ok(
        dir.path(),
        &["analyze", "--out", "two", "--threads", "2", "-q"],
    );
    let files = crate::util::listing(&dir.path().join("one"));
    assert_eq!(
        files,
        [
            ".livingcircle-analyze.files",
            "edges.csv",
            "facilities.geojson",
            "gaps.geojson",
            "nodes.csv",
            "report.html",
            "residences.geojson",
            "summary.csv",
            "summary.json",
            "unsnapped.csv"
        ]
    );
    for f in &files {
        let (a, b) = (
            dir.path().join("one").join(f),
            dir.path().join("two").join(f),
        );
        if f == "summary.json" {
            let strip = |p: &Path| {
                let mut v = json(p);
                v.as_object_mut().unwrap().remove("seconds");
                v["parameters"].as_object_mut().unwrap().remove("threads");
                v
            };
            assert_eq!(strip(&a), strip(&b));
        } else if f == "report.html" {
            // The footer quotes the command, which names the directory and threads.
            let text =
                |p: &Path, args: &str| std::fs::read_to_string(p).unwrap().replace(args, "ARGS");
            assert!(
                text(&a, "--out one --threads 1") == text(&b, "--out two --threads 2"),
                "report.html differs between 1 and 2 threads"
            );
        } else {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{f} differs between 1 and 2 threads"
            );
        }
        if f.ends_with(".geojson") {
            check_layer(&a);
        }
    }
    let summary = json(&dir.path().join("one/summary.json"));
    assert_eq!(summary["counts"]["cross_check_mismatches"], 0);
    // 2,155 homes: the 2,223 residential buildings and building=yes in residential
    // land, less the 68 building=yes that carry amenity/shop/office/tourism/craft/
    // healthcare (checked with `osmium getid` on the ids that left: every one has
    // such a key).
    assert_eq!(summary["counts"]["residences"], 2155);
    // The gap cells account for every residence that misses a category.
    let res = json(&dir.path().join("one/residences.geojson"));
    let gaps = json(&dir.path().join("one/gaps.geojson"));
    let missing_kg = res["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kindergarten_ok"] == false)
        .count();
    let gap_kg: u64 = gaps["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["category"] == "kindergarten")
        .map(|f| f["properties"]["residents_missing"].as_u64().unwrap())
        .sum();
    assert_eq!(missing_kg as u64, gap_kg);
    let csv = std::fs::read_to_string(dir.path().join("one/summary.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("category,kindergarten,5,300.0,")),
        "{csv}"
    );
}

#[test]
fn every_preset_on_every_extract() {
    let mut extracts = vec![data("munchen.osm.pbf"), data("nanjing.osm.pbf")];
    extracts.extend(shared_extracts());
    let dir = tmp();
    for p in &extracts {
        for preset in ["gb50180", "complete-community", "15min"] {
            ok(
                dir.path(),
                &[
                    "analyze",
                    "--osm",
                    s(p),
                    "--preset",
                    preset,
                    "--out",
                    "o",
                    "-q",
                ],
            );
            let summary = json(&dir.path().join("o/summary.json"));
            assert_eq!(
                summary["counts"]["cross_check_mismatches"],
                0,
                "{} {preset}",
                p.display()
            );
            // summary.json is exactly the library's typed `Summary` (no field more or
            // less, same order and numbers; the timings, with nine digits, may come
            // back in their last place from serde_json's fast float parser), and
            // summary.csv is what it writes.
            let text = std::fs::read_to_string(dir.path().join("o/summary.json")).unwrap();
            let typed: livingcircle::Summary = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} {preset}: {e}", p.display()));
            let again = serde_json::to_string_pretty(&typed).unwrap();
            let untimed = |t: &str| t.split("\"seconds\"").next().unwrap().to_owned();
            assert_eq!(untimed(&again), untimed(&text), "{} {preset}", p.display());
            let mut csv = Vec::new();
            typed.write_csv(&mut csv).unwrap();
            assert_eq!(
                String::from_utf8(csv).unwrap(),
                std::fs::read_to_string(dir.path().join("o/summary.csv")).unwrap()
            );
        }
    }
}

#[test]
fn user_residences_and_facilities() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("homes.csv"),
        "name,lon,lat,population\nA,11.5755,48.1372,100\nB,11.5800,48.1400,50\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kg.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[11.5756,48.1373]},"properties":{"category":"kindergarten","name":"New KG"}}]}"#,
    )
    .unwrap();
    ok(
        dir.path(),
        &[
            "analyze",
            "--residences",
            "homes.csv",
            "--facilities",
            "kg.geojson",
            "--replace-osm-facilities",
            "--out",
            "o",
            "-q",
        ],
    );
    let res = json(&dir.path().join("o/residences.geojson"));
    let a = &res["features"][0]["properties"];
    assert_eq!(a["population"], 100.0);
    assert_eq!(a["population_source"], "user");
    assert_eq!(a["kindergarten_ok"], true, "{a}");
    let fac = json(&dir.path().join("o/facilities.geojson"));
    let kgs: Vec<&Value> = fac["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["category"] == "kindergarten")
        .collect();
    assert_eq!(kgs.len(), 1, "OSM kindergartens replaced by the user's");
    assert_eq!(kgs[0]["properties"]["origin"], "user");
    assert_eq!(kgs[0]["properties"]["residents"], 1);
    let summary = json(&dir.path().join("o/summary.json"));
    assert_eq!(summary["counts"]["population"], 150.0);
}

#[test]
fn roads_only_city_with_a_population_grid() {
    let Some(shared) = crate::util::shared_data() else {
        return;
    };
    let dir = tmp();
    let grid = shared.join("portoalegre_hexgrid.csv");
    let pbf = shared.join("portoalegre.osm.pbf");
    ok(
        dir.path(),
        &[
            "analyze",
            "--osm",
            s(&pbf),
            "--residences",
            s(&grid),
            "--preset",
            "15min",
            "--out",
            "o",
            "-q",
        ],
    );
    let summary = json(&dir.path().join("o/summary.json"));
    assert_eq!(summary["counts"]["residences"], 1227);
    assert!(summary["counts"]["population"].as_f64().unwrap() > 0.0);
}

#[test]
fn presets_are_listed_and_printable() {
    let dir = tmp();
    let list = ok(dir.path(), &["presets"]);
    for name in ["gb50180", "complete-community", "15min", "幼儿园"] {
        assert!(list.contains(name), "{name}");
    }
    let toml = ok(dir.path(), &["presets", "gb50180"]);
    std::fs::write(dir.path().join("copy.toml"), toml).unwrap();
    ok(
        dir.path(),
        &["analyze", "--preset", "copy.toml", "--out", "o", "-q"],
    );
}

/// A streamed analysis gives the same results whatever its chunk size: the summary
/// is accumulated residence by residence in input order (so even float sums are
/// bit for bit the same), and every chunk's rows equal the whole run's.
#[test]
fn results_do_not_depend_on_the_chunk_size() {
    use livingcircle_analysis::{
        AnalyzeOptions, Preset, analyze, facilities_from_osm, homes_from_osm,
    };
    use livingcircle_graph::{BuildOptions, WalkGraph};
    use livingcircle_osm::{ReadOptions, read};
    let preset = Preset::load("gb50180").unwrap();
    let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).unwrap();
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let homes = homes_from_osm(&d, &preset.population);
    let facilities = facilities_from_osm(&preset, &d.features);
    let run = |chunk_rows| {
        let opts = AnalyzeOptions {
            chunk_rows,
            ..AnalyzeOptions::default()
        };
        analyze(
            &livingcircle_snap::Snapper::new(&g),
            &preset,
            &homes,
            &facilities,
            &opts,
        )
    };
    let (whole, whole_rows) = run(usize::MAX);
    assert!(homes.len() > 2000);
    for chunk_rows in [1, 7, 1000] {
        let (a, rows) = run(chunk_rows);
        assert_eq!(rows, whole_rows, "chunks of {chunk_rows}");
        assert_eq!(a.categories, whole.categories, "chunks of {chunk_rows}");
        assert_eq!(a.levels, whole.levels, "chunks of {chunk_rows}");
        assert_eq!(a.gaps, whole.gaps, "chunks of {chunk_rows}");
        assert_eq!(a.facilities, whole.facilities, "chunks of {chunk_rows}");
        assert_eq!(a.cross_check_mismatches, 0);
    }
}

/// Population estimates follow the preset's `[population]` and the flags that
/// override it: w200 of the `features` fixture has 20 flats, w202 none (so 1).
#[test]
fn population_model_from_the_preset_and_the_flags() {
    let dir = tmp();
    let fixture = data("fixtures/features.osm.pbf");
    let run = |out: &str, extra: &[&str]| -> (f64, serde_json::Value) {
        let mut args = vec![
            "analyze",
            "--osm",
            s(&fixture),
            "--out",
            out,
            "-q",
            "--no-report",
        ];
        args.extend_from_slice(extra);
        ok(dir.path(), &args);
        let res = json(&dir.path().join(out).join("residences.geojson"));
        let w200 = res["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["osm_id"] == "w200")
            .expect("w200")["properties"]["population"]
            .as_f64()
            .unwrap();
        (
            w200,
            json(&dir.path().join(out).join("summary.json"))["parameters"].clone(),
        )
    };
    // gb50180 (the default): China's 2.62 persons per household.
    let (p, params) = run("china", &[]);
    assert_eq!(p, 52.4);
    assert_eq!(params["persons_per_flat"], 2.62);
    assert_eq!(params["floor_m2_per_person"], 40.0);
    // 15min: the EU's 2.2.
    let (p, params) = run("eu", &["--preset", "15min"]);
    assert_eq!(p, 44.0);
    assert_eq!(params["persons_per_flat"], 2.2);
    // The flags win over either.
    let (p, params) = run(
        "flag",
        &[
            "--preset",
            "15min",
            "--persons-per-flat",
            "3",
            "--floor-m2-per-person",
            "25",
        ],
    );
    assert_eq!(p, 60.0);
    assert_eq!(params["floor_m2_per_person"], 25.0);
    let err = fails(
        dir.path(),
        &["analyze", "--persons-per-flat", "0", "--out", "x"],
    );
    assert!(err.contains("--persons-per-flat"), "{err}");
}

/// A run replaces its output set as a whole: files of the previous run that this one
/// does not write (isochrones, the report) are removed; a run that fails leaves the
/// previous set as it was, with nothing of its own beside it.
#[test]
fn a_run_replaces_the_previous_output_set() {
    let dir = tmp();
    let d = dir.path();
    let out = d.join("o");
    std::fs::create_dir_all(&out).unwrap();
    // A file of the user's in the output folder is never touched.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    ok(d, &["analyze", "-q", "--isochrones", "--out", "o"]);
    let first = listing(&out);
    for f in [
        "isochrones.geojson",
        "report.html",
        "residences.geojson",
        "notes.txt",
    ] {
        assert!(first.contains(&f.to_owned()), "{f}: {first:?}");
    }
    ok(d, &["analyze", "-q", "--no-report", "--out", "o"]);
    let second = listing(&out);
    assert!(
        !second.contains(&"isochrones.geojson".to_owned()),
        "{second:?}"
    );
    assert!(!second.contains(&"report.html".to_owned()), "{second:?}");
    assert!(second.contains(&"residences.geojson".to_owned()));
    assert!(second.contains(&"notes.txt".to_owned()));
    assert!(!second.iter().any(|f| f.contains("staging")), "{second:?}");
    // A run that fails after writing some layers (the GeoPackage's place is taken by
    // a directory): the previous set stays, byte for byte.
    let before: Vec<(String, Vec<u8>)> = second
        .iter()
        .filter(|f| out.join(f).is_file())
        .map(|f| (f.clone(), std::fs::read(out.join(f)).unwrap()))
        .collect();
    std::fs::create_dir(out.join("livingcircle.gpkg")).unwrap();
    let err = fails(
        d,
        &[
            "analyze",
            "-q",
            "--format",
            "geojson,gpkg",
            "--preset",
            "15min",
            "--out",
            "o",
        ],
    );
    assert!(err.contains("livingcircle.gpkg"), "{err}");
    for (f, bytes) in &before {
        assert_eq!(&std::fs::read(out.join(f)).unwrap(), bytes, "{f} changed");
    }
    let after = listing(&out);
    assert!(!after.iter().any(|f| f.contains("staging")), "{after:?}");
    assert!(!after.contains(&"report.html".to_owned()), "{after:?}");
}
