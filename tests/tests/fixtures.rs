//! One test per walking rule, on the hand-written fixtures in `data/fixtures`
//! (expected numbers computed by hand; see data/fixtures/README.md).

use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{ReadOptions, read, rules::WalkRules};
use livingcircle_reach::{Direction, Scratch, search};

use crate::util::{data, ok, s, tmp};

/// `(walkable_ways, nodes, edges, components, missing_node_refs)` from `graph --json`.
fn graph_counts(fixture: &str, extra: &[&str]) -> (u64, u64, u64, u64, u64) {
    let dir = tmp();
    let path = data(&format!("fixtures/{fixture}.osm.pbf"));
    let mut args = vec!["graph", "--osm", s(&path), "--out", "g", "--json"];
    args.extend_from_slice(extra);
    let v: serde_json::Value = serde_json::from_str(&ok(dir.path(), &args)).expect("json");
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    (
        n("walkable_ways"),
        n("nodes"),
        n("edges"),
        n("components"),
        n("missing_node_refs"),
    )
}

/// OSM ids of the graph nodes, sorted.
fn graph_osm_nodes(fixture: &str, rules: WalkRules, build: BuildOptions) -> (WalkGraph, Vec<i64>) {
    let opts = ReadOptions {
        rules,
        ..ReadOptions::default()
    };
    let d = read(&data(&format!("fixtures/{fixture}.osm.pbf")), &opts).expect("fixture reads");
    let (g, _) = WalkGraph::from_network(&d.network, &build).expect("graph");
    let mut ids: Vec<i64> = (0..g.node_count() as u32)
        .map(|n| g.node_osm_id(n))
        .collect();
    ids.sort_unstable();
    (g, ids)
}

/// Walking distance in metres between two OSM nodes that are graph nodes.
fn dist_m(g: &WalkGraph, from: i64, to: i64) -> f64 {
    let find = |id| {
        (0..g.node_count() as u32)
            .find(|&n| g.node_osm_id(n) == id)
            .expect("graph node")
    };
    let mut s = Scratch::new(g.node_count());
    search(
        g,
        Direction::Forward,
        &[(find(from), 0)],
        u32::MAX / 2,
        &mut s,
    );
    f64::from(s.dist(find(to)).expect("reachable")) / 1000.0
}

#[track_caller]
fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 0.01, "got {got} m, want {want} m");
}

#[test]
fn rule1_plain_walkable_highways() {
    assert_eq!(graph_counts("rules_walkable", &[]), (17, 26, 25, 1, 0));
    let (_, ids) = graph_osm_nodes(
        "rules_walkable",
        WalkRules::default(),
        BuildOptions::default(),
    );
    let want: Vec<i64> = (1..=10).chain(11..=18).chain(21..=28).collect();
    assert_eq!(ids, want);
}

#[test]
fn rule2_cycleway_and_bridleway_need_foot_permission() {
    assert_eq!(graph_counts("cycleway", &[]), (4, 7, 6, 1, 0));
    let (_, ids) = graph_osm_nodes("cycleway", WalkRules::default(), BuildOptions::default());
    assert_eq!(ids, [1, 3, 5, 6, 12, 14, 22]);
}

#[test]
fn rule3_motor_roads_need_foot_yes() {
    assert_eq!(graph_counts("motor_roads", &[]), (5, 8, 7, 1, 0));
}

#[test]
fn rule4_excluded_highways_never_walkable() {
    assert_eq!(graph_counts("excluded", &[]), (2, 4, 3, 1, 0));
}

#[test]
fn rule5_foot_no_wins() {
    assert_eq!(graph_counts("foot_no", &[]), (2, 4, 3, 1, 0));
}

#[test]
fn rule6_private_access_unless_foot_permitted() {
    assert_eq!(graph_counts("access_private", &[]), (5, 9, 8, 1, 0));
    let (_, ids) = graph_osm_nodes(
        "access_private",
        WalkRules::default(),
        BuildOptions::default(),
    );
    assert_eq!(ids, [1, 3, 4, 5, 6, 13, 14, 22, 23]);
}

#[test]
fn rule6b_farm_forestry_delivery_military_access_and_foot_private() {
    assert_eq!(graph_counts("access_special", &[]), (4, 8, 7, 1, 0));
    let (_, ids) = graph_osm_nodes(
        "access_special",
        WalkRules::default(),
        BuildOptions::default(),
    );
    assert_eq!(ids, [1, 3, 4, 5, 6, 22, 23, 24]);
}

#[test]
fn rule7_pedestrian_area_walked_along_its_outline() {
    assert_eq!(graph_counts("pedestrian_area", &[]), (3, 4, 4, 1, 0));
    let (g, _) = graph_osm_nodes(
        "pedestrian_area",
        WalkRules::default(),
        BuildOptions::default(),
    );
    close(dist_m(&g, 2, 4), 185.3955);
    close(dist_m(&g, 4, 2), 185.3955);
    close(dist_m(&g, 1, 7), 333.7950);
}

#[test]
fn rule8_oneway_ignored_oneway_foot_respected() {
    assert_eq!(graph_counts("oneway_foot", &[]), (5, 4, 5, 1, 0));
    let (g, ids) = graph_osm_nodes("oneway_foot", WalkRules::default(), BuildOptions::default());
    assert_eq!(ids, [2, 3, 5, 6]);
    close(dist_m(&g, 2, 5), 111.1951);
    close(dist_m(&g, 5, 2), 259.5974);
    close(dist_m(&g, 3, 6), 111.1951);
    close(dist_m(&g, 6, 3), 407.9998);
    close(dist_m(&g, 2, 3), 74.2019);
    close(dist_m(&g, 3, 2), 74.2019);
}

#[test]
fn rule9_sidewalk_separate_kept_unless_dropped() {
    assert_eq!(graph_counts("sidewalk_separate", &[]), (6, 12, 13, 1, 0));
    assert_eq!(
        graph_counts("sidewalk_separate", &["--drop-sidewalk-separate"]),
        (4, 9, 8, 1, 0)
    );
}

#[test]
fn rule10_way_cut_at_missing_node() {
    assert_eq!(graph_counts("missing_node", &[]), (2, 6, 5, 1, 1));
    let d = read(
        &data("fixtures/missing_node.osm.pbf"),
        &ReadOptions::default(),
    )
    .expect("reads");
    assert_eq!((d.stats.ways_cut, d.stats.walk_pieces), (1, 3));
}

#[test]
fn rule11_island_dropped_unless_kept() {
    assert_eq!(graph_counts("island", &[]), (5, 6, 6, 2, 0));
    assert_eq!(
        graph_counts("island", &["--keep-all-components"]),
        (5, 8, 8, 2, 0)
    );
    let (_, ids) = graph_osm_nodes(
        "island",
        WalkRules::default(),
        BuildOptions {
            keep_all_components: true,
        },
    );
    assert_eq!(ids, [1, 2, 3, 4, 5, 7, 21, 25]);
}

#[test]
fn rule12_residences_and_facilities() {
    use livingcircle_osm::{OsmType, ResidenceSource, Shape};
    let d = read(&data("fixtures/features.osm.pbf"), &ReadOptions::default()).expect("reads");
    let res: Vec<(String, ResidenceSource)> = d
        .residences
        .iter()
        .map(|r| (r.osm.to_string(), r.source))
        .collect();
    assert_eq!(
        res,
        [
            ("w200".to_owned(), ResidenceSource::Building),
            (
                "w202".to_owned(),
                ResidenceSource::BuildingInResidentialArea
            ),
            ("w204".to_owned(), ResidenceSource::ResidentialArea),
        ]
    );
    let w200 = &d.residences[0];
    assert_eq!((w200.levels, w200.flats), (Some(5.0), Some(20)));
    assert_eq!(d.residences[2].name.as_deref(), Some("翠苑小区"));
    let feats: Vec<String> = d.features.iter().map(|f| f.osm.to_string()).collect();
    assert_eq!(feats, ["n125", "n126", "w205", "r300"]);
    let park = d
        .features
        .iter()
        .find(|f| f.osm.kind == OsmType::Relation)
        .expect("park");
    let Shape::Area(mp) = &park.shape else {
        panic!("park is an area")
    };
    assert_eq!(mp.0.len(), 1);
    assert_eq!(mp.0[0].interiors().len(), 1, "the park keeps its hole");
    assert_eq!(d.stats.broken_areas, 0);
}

#[test]
fn rule13_homes_points_on_the_surface_and_broken_rings() {
    use geo::{Centroid, Contains, Point};
    use livingcircle_osm::{ResidenceSource, Shape};
    let d = read(&data("fixtures/homes.osm.pbf"), &ReadOptions::default()).expect("reads");
    let res: Vec<(String, ResidenceSource)> = d
        .residences
        .iter()
        .map(|r| (r.osm.to_string(), r.source))
        .collect();
    assert_eq!(
        res,
        [
            (
                "w301".to_owned(),
                ResidenceSource::BuildingInResidentialArea
            ),
            (
                "w308".to_owned(),
                ResidenceSource::BuildingInResidentialArea
            ),
            ("w309".to_owned(), ResidenceSource::Building),
            ("w310".to_owned(), ResidenceSource::Building),
            ("r400".to_owned(), ResidenceSource::Building),
        ]
    );
    assert_eq!((d.stats.broken_areas, d.stats.broken_rings), (0, 1));
    // The U-shaped building: its centroid is in the courtyard, its point is not.
    let u: Vec<[f64; 2]> = {
        let (x0, y0) = (11.5705, 48.1410);
        [
            (0.0, 0.0),
            (6.0, 0.0),
            (6.0, 4.0),
            (4.0, 4.0),
            (4.0, 1.0),
            (2.0, 1.0),
            (2.0, 4.0),
            (0.0, 4.0),
            (0.0, 0.0),
        ]
        .iter()
        .map(|&(x, y)| [x0 + x * 1e-4, y0 + y * 1e-4])
        .collect()
    };
    let poly = geo::Polygon::new(
        u.iter().map(|&[x, y]| geo::Coord { x, y }).collect(),
        vec![],
    );
    let centroid = poly.centroid().expect("centroid");
    assert!(
        !poly.contains(&centroid),
        "the fixture's centroid is outside"
    );
    let w310 = d
        .residences
        .iter()
        .find(|r| r.osm.to_string() == "w310")
        .unwrap();
    let [x, y] = w310.point;
    assert!(poly.contains(&Point::new(x, y)), "{:?}", w310.point);
    // Buildings whose centroid lies inside keep it.
    let w301 = &d.residences[0];
    let c = [11.5702 + 1e-4, 48.1402 + 1e-4];
    assert!(
        (w301.point[0] - c[0]).abs() < 1e-7 && (w301.point[1] - c[1]).abs() < 1e-7,
        "{:?}",
        w301.point
    );
    // The shop, the kindergarten, the clinic… are facility candidates, not homes.
    let feats: Vec<String> = d.features.iter().map(|f| f.osm.to_string()).collect();
    for w in ["w302", "w303", "w304", "w307"] {
        assert!(feats.contains(&w.to_owned()), "{w} in {feats:?}");
    }
    assert!(d.features.iter().all(|f| matches!(f.shape, Shape::Area(_))));
}

/// Rule 14: areas are reached at their entrances (closed gates are not), else where
/// the network crosses or runs within 10 m of their outline, else along their
/// outline sampled every 25 m; the facilities layer says which.
#[test]
fn rule14_area_access_points() {
    use livingcircle_analysis::{AccessKind, Preset, facilities_from_osm, snap_places};
    use livingcircle_graph::{BuildOptions, WalkGraph};
    use livingcircle_snap::Snapper;
    let preset = Preset::load("gb50180").unwrap();
    let d = read(
        &data("fixtures/access.osm.pbf"),
        &ReadOptions {
            pois: preset.poi_filter(),
            ..ReadOptions::default()
        },
    )
    .expect("reads");
    let r7 = |v: f64| (v * 1e7).round() as i64;
    let entrances: Vec<(String, Vec<[i64; 2]>)> = d
        .features
        .iter()
        .map(|f| {
            let e = f.entrances.iter().map(|p| [r7(p[0]), r7(p[1])]).collect();
            (f.osm.to_string(), e)
        })
        .collect();
    assert_eq!(
        entrances,
        [
            ("w500".to_owned(), vec![[115_705_000, 481_402_000]]),
            ("w510".to_owned(), vec![]),
            ("w520".to_owned(), vec![]),
        ]
    );
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    let facilities = facilities_from_osm(&preset, &d.features);
    let snapper = Snapper::new(&g);
    let (_, access) = snap_places(&snapper, &[], &facilities, 200.0);
    let by_name = |name: &str| {
        let i = facilities
            .iter()
            .position(|f| f.name.as_deref() == Some(name))
            .unwrap();
        &access[i]
    };
    let way_of = |s: &livingcircle_snap::Snap| g.edge(s.edge).way_id;

    // The school: its entrance alone, at the end of the footway to it.
    let school = by_name("Schule mit Tor");
    assert_eq!(school.kind, AccessKind::Entrances);
    assert_eq!(school.snaps.len(), 1);
    assert_eq!(way_of(&school.snaps[0]), 504);
    assert!(school.snaps[0].dist_m < 0.01, "{}", school.snaps[0].dist_m);

    // The park: points on the footway through it only, none farther than 10 m from
    // its outline, and every one of them within the two crossings' stretches.
    let park = by_name("Park mit Weg");
    assert_eq!(park.kind, AccessKind::Outline);
    assert!(park.snaps.iter().all(|s| way_of(s) == 511));
    assert!(
        park.snaps.iter().all(|s| s.dist_m <= 10.001),
        "{:?}",
        park.snaps
    );
    // Walking north from n51: the first access point is 22.2 - 10 m along, 10 m
    // from the outline.
    let edge = g.edge(park.snaps[0].edge);
    let from_south = park
        .snaps
        .iter()
        .min_by_key(|s| {
            let south_is_u = g.node_lonlat(edge.u)[1] < g.node_lonlat(edge.v)[1];
            if south_is_u {
                s.offset_mm
            } else {
                edge.length_mm - s.offset_mm
            }
        })
        .unwrap();
    let along_m = {
        let south_is_u = g.node_lonlat(edge.u)[1] < g.node_lonlat(edge.v)[1];
        let o = if south_is_u {
            from_south.offset_mm
        } else {
            edge.length_mm - from_south.offset_mm
        };
        f64::from(o) / 1000.0
    };
    assert!((along_m - 12.24).abs() < 0.05, "{along_m}");
    assert!(
        (from_south.dist_m - 10.0).abs() < 0.01,
        "{}",
        from_south.dist_m
    );
    // Two crossings: two stretches, each kept as its two ends.
    assert_eq!(park.snaps.len(), 4, "{:?}", park.snaps);
    // Reported (not searched from): where the footway crosses the outline, leg 0,
    // 22.2 m north of n51.
    let crossing = park.nearest().unwrap();
    assert_eq!(Some(crossing), park.closest.as_ref());
    assert_eq!(way_of(crossing), 511);
    assert!(crossing.dist_m < 0.01, "{}", crossing.dist_m);
    let o = if g.node_lonlat(edge.u)[1] < g.node_lonlat(edge.v)[1] {
        crossing.offset_mm
    } else {
        edge.length_mm - crossing.offset_mm
    };
    assert!((f64::from(o) / 1000.0 - 22.24).abs() < 0.05, "{o}");

    // The kindergarten in the block's middle: its outline sampled and snapped.
    let kita = by_name("Kita im Hof");
    assert_eq!(kita.kind, AccessKind::Sampled);
    let nearest = kita.nearest().unwrap();
    assert!((nearest.dist_m - 22.3).abs() < 0.2, "{}", nearest.dist_m);
    assert!([110, 111].contains(&way_of(nearest)));
    assert!(kita.snaps.len() >= 8);
}
