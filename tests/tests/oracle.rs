//! Oracles that share no search code with the engine.
//!
//! 1. Nearest distances: every snapped residence and every facility access point
//!    becomes a real node of a petgraph graph, splitting its edge; one petgraph
//!    Dijkstra per category runs from a super-source joined to the category's access
//!    points by their legs, on the reversed graph. Every residence × category of the
//!    analysis must equal it to the millimetre (the engine's `Spot`, `Targets`,
//!    searches and hierarchy are not used here; only the snaps are shared).
//! 2. Area access points: the distance from a residence to an area reached through
//!    its outline equals the smallest walk + straight leg over network points
//!    sampled every 0.25 m within `ACCESS_NEAR_M` of the outline (brute force over
//!    every edge segment).

use std::path::Path;

use livingcircle_analysis::{
    Access, AccessKind, AnalyzeOptions, Engine, Preset, analyze, facilities_from_osm,
    homes_from_osm, snap_places,
};
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{ReadOptions, read};
use livingcircle_snap::{ACCESS_NEAR_M, Snap, Snapper};
use petgraph::algo::dijkstra;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::util::{data, shared_data};

/// The walking graph with every given point on an edge made a node: original nodes
/// keep their ids; `point[i]` is the node of `points[i]` (`(edge, offset_mm)`).
struct Split {
    forward: DiGraph<(), u64>,
    point: Vec<NodeIndex>,
}

fn split(g: &WalkGraph, points: &[(u32, u32)]) -> Split {
    let mut pg: DiGraph<(), u64> = DiGraph::new();
    for _ in 0..g.node_count() {
        pg.add_node(());
    }
    let mut by_edge: Vec<Vec<(u32, usize)>> = vec![Vec::new(); g.edge_count()];
    for (i, &(e, off)) in points.iter().enumerate() {
        by_edge[e as usize].push((off, i));
    }
    let mut point = vec![NodeIndex::new(0); points.len()];
    for (e, on) in by_edge.iter_mut().enumerate() {
        let edge = g.edge(e as u32);
        on.sort_unstable();
        let mut chain = vec![(0u32, NodeIndex::new(edge.u as usize))];
        for &(off, i) in on.iter() {
            let n = pg.add_node(());
            point[i] = n;
            chain.push((off, n));
        }
        chain.push((edge.length_mm, NodeIndex::new(edge.v as usize)));
        for w in chain.windows(2) {
            let len = u64::from(w[1].0 - w[0].0);
            pg.add_edge(w[0].1, w[1].1, len);
            if !edge.oneway {
                pg.add_edge(w[1].1, w[0].1, len);
            }
        }
    }
    Split { forward: pg, point }
}

/// Per residence × category: the oracle's nearest distance in millimetres (legs
/// included), `None` when unreachable.
fn oracle_nearest(
    g: &WalkGraph,
    homes: &[Option<Snap>],
    access: &[Access],
    category: &[usize],
    ncat: usize,
) -> Vec<Option<u64>> {
    let mut points: Vec<(u32, u32)> = homes
        .iter()
        .flatten()
        .map(|s| (s.edge, s.offset_mm))
        .collect();
    let first_access = points.len();
    for a in access {
        points.extend(a.snaps.iter().map(|s| (s.edge, s.offset_mm)));
    }
    let Split { forward, point } = split(g, &points);
    let mut reverse: DiGraph<(), u64> = DiGraph::new();
    for _ in 0..forward.node_count() {
        reverse.add_node(());
    }
    for e in forward.raw_edges() {
        reverse.add_edge(e.target(), e.source(), e.weight);
    }
    let mut out = vec![None; homes.len() * ncat];
    for c in 0..ncat {
        let mut rev = reverse.clone();
        let source = rev.add_node(());
        let mut k = first_access;
        for (a, &cat) in access.iter().zip(category) {
            for s in &a.snaps {
                if cat == c {
                    rev.add_edge(source, point[k], u64::from(s.leg_mm()));
                }
                k += 1;
            }
        }
        let dist = dijkstra(&rev, source, None, |e| *e.weight());
        let mut h = 0;
        for (i, s) in homes.iter().enumerate() {
            if let Some(s) = s {
                out[i * ncat + c] = dist.get(&point[h]).map(|d| d + u64::from(s.leg_mm()));
                h += 1;
            }
        }
    }
    out
}

fn load(path: &Path, preset: &Preset) -> (livingcircle_osm::OsmData, WalkGraph) {
    let d = read(
        path,
        &ReadOptions {
            pois: preset.poi_filter(),
            ..ReadOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
    (d, g)
}

/// The bundled munchen and nanjing, and liechtenstein from ../shared/data (when
/// present): every residence × category of the analysis equals the oracle's.
#[test]
fn every_residence_and_category_equals_a_petgraph_oracle() {
    let mut files = vec![data("munchen.osm.pbf"), data("nanjing.osm.pbf")];
    if let Some(shared) = shared_data() {
        files.push(shared.join("liechtenstein.osm.pbf"));
    }
    for preset in ["gb50180", "15min"] {
        let preset = Preset::load(preset).unwrap();
        let ncat = preset.categories.len();
        for path in &files {
            let (d, g) = load(path, &preset);
            let homes = homes_from_osm(&d, &preset.population);
            let facilities = facilities_from_osm(&preset, &d.features);
            let snapper = Snapper::new(&g);
            let opts = AnalyzeOptions::default();
            let (home_snaps, access) = snap_places(&snapper, &homes, &facilities, opts.max_snap_m);
            let cats: Vec<usize> = facilities.iter().map(|f| f.category).collect();
            let want = oracle_nearest(&g, &home_snaps, &access, &cats, ncat);
            let (mut compared, mut areas) = (0u64, 0usize);
            // Both engines: one Dijkstra per source, and the hierarchy's buckets
            // (one multi-seed search per area).
            for engine in [Engine::Dijkstra, Engine::Hierarchy] {
                let opts = AnalyzeOptions {
                    engine,
                    ..AnalyzeOptions::default()
                };
                let (an, rows) = analyze(&snapper, &preset, &homes, &facilities, &opts);
                assert_eq!(home_snaps, an.home_snaps);
                let rows = rows.rows(&an);
                for i in 0..homes.len() {
                    for c in 0..ncat {
                        let got = rows.nearest_mm(i, c).map(u64::from);
                        let want = want[i * ncat + c].filter(|&d| d <= u64::from(an.budget_mm));
                        assert_eq!(
                            got,
                            want,
                            "{} ({engine:?}): residence {i}, category {c}",
                            path.display()
                        );
                        compared += u64::from(got.is_some());
                    }
                }
            }
            for a in &access {
                areas += usize::from(a.snaps.len() > 1);
            }
            assert!(compared > 1000, "{}: {compared}", path.display());
            assert!(
                areas > 5,
                "{}: areas with several access points: {areas}",
                path.display()
            );
        }
    }
}

/// A point `at` frame units along edge `e`: its position and offset in millimetres.
fn along(g: &WalkGraph, e: u32, at: f64, total: f64) -> ([f64; 2], u32) {
    let xy = g.edge_xy(e);
    let len = g.edge(e).length_mm;
    let off = ((f64::from(len) * at / total).round() as u32).min(len);
    let mut walked = 0.0;
    for w in xy.windows(2) {
        let l = ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt();
        if walked + l >= at && l > 0.0 {
            let t = (at - walked) / l;
            return (
                [
                    w[0][0] + (w[1][0] - w[0][0]) * t,
                    w[0][1] + (w[1][1] - w[0][1]) * t,
                ],
                off,
            );
        }
        walked += l;
    }
    (*xy.last().unwrap(), off)
}

fn seg_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    };
    ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
}

/// Areas of the bundled munchen reached through their outline: from residences
/// spread over the city, the engine's distance to each area equals the brute force
/// over network points sampled every 0.25 m near its outline, within 0.6 m (the
/// samples' spacing), also for residences on a stretch's own edge.
#[test]
fn outline_access_equals_brute_force_over_outline_points() {
    let preset = Preset::load("gb50180").unwrap();
    let (d, g) = load(&data("munchen.osm.pbf"), &preset);
    let homes = homes_from_osm(&d, &preset.population);
    let facilities = facilities_from_osm(&preset, &d.features);
    let snapper = Snapper::new(&g);
    let (home_snaps, access) = snap_places(&snapper, &homes, &facilities, 200.0);
    let proj = *g.projection();
    // Residences spread over the city, as sources.
    let sources: Vec<Snap> = home_snaps.iter().flatten().step_by(97).copied().collect();
    let Split { forward, point } = split(
        &g,
        &sources
            .iter()
            .map(|s| (s.edge, s.offset_mm))
            .collect::<Vec<_>>(),
    );
    let dists: Vec<_> = point
        .iter()
        .map(|&p| dijkstra(&forward, p, None, |e| *e.weight()))
        .collect();
    // Walking distance (mm, leg included) from source `k` to a point of edge `e`.
    let walk = |k: usize, e: u32, off: u32| -> Option<u64> {
        let edge = g.edge(e);
        let dist = &dists[k];
        let s = &sources[k];
        let node = |n: u32| dist.get(&NodeIndex::new(n as usize)).copied();
        let mut best = node(edge.u).map(|d| d + u64::from(off));
        if !edge.oneway
            && let Some(d) = node(edge.v)
        {
            let v = d + u64::from(edge.length_mm - off);
            best = Some(best.map_or(v, |b| b.min(v)));
        }
        if s.edge == e && (off >= s.offset_mm || !edge.oneway) {
            let v = u64::from(off.abs_diff(s.offset_mm));
            best = Some(best.map_or(v, |b| b.min(v)));
        }
        best.map(|b| b + u64::from(s.leg_mm()))
    };
    let mut checked = 0;
    for (f, a) in facilities.iter().zip(&access) {
        if a.kind != AccessKind::Outline || checked >= 40 {
            continue;
        }
        checked += 1;
        let rings: Vec<Vec<[f64; 2]>> = f
            .outline
            .iter()
            .map(|r| r.iter().map(|&p| proj.project(p)).collect())
            .collect();
        let segs: Vec<([f64; 2], [f64; 2])> = rings
            .iter()
            .flat_map(|r| r.windows(2).map(|w| (w[0], w[1])))
            .collect();
        let scale = proj.scale_at_y(rings[0][0][1]);
        let (lo, hi) =
            rings
                .iter()
                .flatten()
                .fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), p| {
                    (
                        [lo[0].min(p[0]), lo[1].min(p[1])],
                        [hi[0].max(p[0]), hi[1].max(p[1])],
                    )
                });
        let margin = ACCESS_NEAR_M * scale + 1.0;
        // Network points near the outline, every 0.25 m, with their legs.
        let mut near: Vec<(u32, u32, u64)> = Vec::new();
        for e in 0..g.edge_count() as u32 {
            let xy = g.edge_xy(e);
            let (elo, ehi) = xy.iter().fold(([f64::MAX; 2], [f64::MIN; 2]), |(l, h), p| {
                (
                    [l[0].min(p[0]), l[1].min(p[1])],
                    [h[0].max(p[0]), h[1].max(p[1])],
                )
            });
            if ehi[0] < lo[0] - margin
                || elo[0] > hi[0] + margin
                || ehi[1] < lo[1] - margin
                || elo[1] > hi[1] + margin
            {
                continue;
            }
            let total: f64 = xy
                .windows(2)
                .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
                .sum();
            let n = (total / (0.25 * scale)).ceil() as usize;
            for k in 0..=n {
                let (p, off) = along(&g, e, total * k as f64 / n.max(1) as f64, total);
                let leg = segs
                    .iter()
                    .map(|&(a, b)| seg_dist(p, a, b))
                    .fold(f64::INFINITY, f64::min)
                    / proj.scale_at_y(p[1]);
                if leg <= ACCESS_NEAR_M {
                    near.push((e, off, (leg * 1000.0).round() as u64));
                }
            }
        }
        assert!(!near.is_empty());
        for k in 0..sources.len() {
            let brute = near
                .iter()
                .filter_map(|&(e, off, leg)| walk(k, e, off).map(|w| w + leg))
                .min();
            let engine = a
                .snaps
                .iter()
                .filter_map(|s| walk(k, s.edge, s.offset_mm).map(|w| w + u64::from(s.leg_mm())))
                .min();
            let (Some(brute), Some(engine)) = (brute, engine) else {
                assert_eq!(brute.is_some(), engine.is_some());
                continue;
            };
            assert!(
                engine + 600 >= brute && engine <= brute + 600,
                "{:?} from source {k}: engine {engine} mm, brute force {brute} mm",
                f.osm_id
            );
        }
    }
    assert!(checked >= 20, "areas checked: {checked}");
}
