//! The bundled cities, against counts verified independently of this code:
//! `tests/oracle/osm_counts.py` (Python over `osmium cat` XML, itself cross-checked
//! with `osmium fileinfo -e`, `osmium tags-filter` and `osmium check-refs`) wrote
//! `tests/oracle/<city>.json`.

use crate::util::{data, ok, root, s, tmp};

fn oracle(city: &str) -> serde_json::Value {
    crate::util::json(&root().join(format!("tests/oracle/{city}.json")))
}

fn graph_summary(path: &std::path::Path) -> serde_json::Value {
    let dir = tmp();
    serde_json::from_str(&ok(
        dir.path(),
        &["graph", "--osm", s(path), "--out", "g", "--json"],
    ))
    .expect("json")
}

fn check_city(city: &str) {
    let want = oracle(city);
    let got = graph_summary(&data(&format!("{city}.osm.pbf")));
    for (ours, theirs) in [
        ("nodes_read", "nodes"),
        ("ways_read", "ways"),
        ("relations_read", "relations"),
        ("highway_ways", "highway_ways"),
        ("walkable_ways", "walkable_ways"),
        ("missing_node_refs", "missing_node_refs"),
        ("ways_cut", "ways_cut"),
        ("facility_candidates", "poi_features"),
    ] {
        assert_eq!(got[ours], want[theirs], "{city}: {ours} vs oracle {theirs}");
    }
    // Every residential building is a residence; building=yes ones only inside a
    // residential area, so at most the oracle's count.
    let by = &got["residences_by_source"];
    assert_eq!(by["building"], want["residential_buildings"], "{city}");
    assert!(by["building_yes_in_residential_area"].as_u64() <= want["building_yes"].as_u64());
}

#[test]
fn munchen_counts_match_the_oracle() {
    check_city("munchen");
    // A default run (no --osm) reads the same bundled city.
    let dir = tmp();
    let v: serde_json::Value =
        serde_json::from_str(&ok(dir.path(), &["graph", "--out", "g", "--json"])).expect("json");
    assert!(
        v["file"]
            .as_str()
            .unwrap()
            .ends_with("data/munchen.osm.pbf")
    );
    assert_eq!(v["walkable_ways"], 2856);
    // The exchange files agree with the summary.
    let nodes = std::fs::read_to_string(dir.path().join("g/nodes.csv")).unwrap();
    let edges = std::fs::read_to_string(dir.path().join("g/edges.csv")).unwrap();
    assert_eq!(
        nodes.lines().count() as u64 - 1,
        v["nodes"].as_u64().unwrap()
    );
    assert_eq!(
        edges.lines().count() as u64 - 1,
        v["edges"].as_u64().unwrap()
    );
    assert!(nodes.starts_with("id,lon,lat\n") && edges.starts_with("id,u,v,length_m"));
    let km: f64 = edges
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse::<f64>().unwrap())
        .sum::<f64>()
        / 1000.0;
    assert!((km - v["km"].as_f64().unwrap()).abs() < 0.01);
    let net = crate::util::json(&dir.path().join("g/network.geojson"));
    assert_eq!(
        net["features"].as_array().unwrap().len() as u64,
        v["edges"].as_u64().unwrap()
    );
}

#[test]
fn nanjing_counts_match_the_oracle_and_keep_chinese_names() {
    check_city("nanjing");
    let dir = tmp();
    ok(
        dir.path(),
        &["graph", "--osm", s(&data("nanjing.osm.pbf")), "--out", "g"],
    );
    let net = std::fs::read_to_string(dir.path().join("g/network.geojson")).unwrap();
    assert!(
        net.contains("路"),
        "Chinese street names survive into network.geojson"
    );
}

#[test]
fn walk_segments_match_the_oracle() {
    use livingcircle_osm::{ReadOptions, read};
    for city in ["munchen", "nanjing"] {
        let want = oracle(city);
        let d = read(&data(&format!("{city}.osm.pbf")), &ReadOptions::default()).unwrap();
        let n = &d.network;
        let segs: usize = (0..n.piece_count())
            .map(|i| n.piece_refs(i).windows(2).filter(|p| p[0] != p[1]).count())
            .sum();
        assert_eq!(
            segs as u64,
            want["walk_segments"].as_u64().unwrap(),
            "{city}"
        );
        let mut ids: Vec<i64> = n.refs.iter().map(|&r| n.node_osm[r as usize]).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len() as u64,
            want["walk_nodes_distinct"].as_u64().unwrap(),
            "{city}"
        );
    }
}
