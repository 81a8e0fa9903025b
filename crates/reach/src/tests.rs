//! Property tests against the naive reference and petgraph's Dijkstra.

// Node-indexed comparisons read clearest as index loops.
#![allow(clippy::needless_range_loop)]

use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};
use proptest::prelude::*;

use crate::reference;
use crate::*;

/// A random graph description: node positions on a small lattice (coincident
/// positions give zero-length edges) and ways between them.
#[derive(Debug, Clone)]
struct Spec {
    pos: Vec<(u8, u8)>,
    ways: Vec<(usize, usize, u8)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (3usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec((0u8..6, 0u8..6), n),
            prop::collection::vec((0..n, 0..n, 0u8..10), 1..(n * 2)),
        )
            .prop_map(|(pos, ways)| Spec { pos, ways })
    })
}

fn build(spec: &Spec) -> Option<WalkGraph> {
    let at = |i: usize| {
        let (x, y) = spec.pos[i];
        [11.0 + f64::from(x) * 0.0007, 48.0 + f64::from(y) * 0.0005]
    };
    let ways: Vec<WalkWay> = spec
        .ways
        .iter()
        .enumerate()
        .filter(|(_, w)| w.0 != w.1)
        .map(|(i, &(a, b, kind))| WalkWay {
            way_id: i as i64,
            nodes: vec![a as i64, b as i64],
            coords: vec![at(a), at(b)],
            // One way in ten is one-way for pedestrians.
            direction: if kind == 0 {
                FootDirection::Forward
            } else {
                FootDirection::Both
            },
            highway: "footway".into(),
            name: None,
        })
        .collect();
    WalkGraph::build(
        &ways,
        &BuildOptions {
            keep_all_components: true,
        },
    )
    .ok()
    .map(|x| x.0)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x1c_2026),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A spot from a generated `(edge, thousandths along it, leg)`.
fn spot_on(g: &WalkGraph, (e, frac, leg): (usize, u32, u32)) -> Spot {
    let e = (e % g.edge_count()) as u32;
    let len = g.edge(e).length_mm;
    Spot {
        edge: e,
        offset_mm: (u64::from(len) * u64::from(frac) / 1000) as u32,
        leg_mm: leg,
    }
}

fn run(g: &WalkGraph, dir: Direction, seeds: &[(u32, u32)], budget: u32) -> Vec<Option<u32>> {
    let mut s = Scratch::new(g.node_count());
    // Run an unrelated search first: the scratch must not leak between queries.
    search(g, Direction::Forward, &[(0, 0)], u32::MAX / 2, &mut s);
    search(g, dir, seeds, budget, &mut s);
    (0..g.node_count() as u32).map(|n| s.dist(n)).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bounded_search_equals_reference_cut_at_budget(spec in spec(), src in 0usize..40, budget in 0u32..400_000) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let src = (src % g.node_count()) as u32;
        for dir in [Direction::Forward, Direction::Backward] {
            let got = run(&g, dir, &[(src, 0)], budget);
            let want = reference::dijkstra(&g, &[(src, 0)], dir == Direction::Backward);
            for n in 0..g.node_count() {
                let w = (want[n] <= u64::from(budget)).then(|| want[n] as u32);
                prop_assert_eq!(got[n], w, "node {} dir {:?}", n, dir);
            }
        }
    }

    #[test]
    fn unbounded_search_equals_petgraph(spec in spec(), src in 0usize..40) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let src = (src % g.node_count()) as u32;
        let got = run(&g, Direction::Forward, &[(src, 0)], u32::MAX / 2);
        let pg = g.petgraph();
        let want = petgraph::algo::dijkstra(&pg, petgraph::graph::NodeIndex::new(src as usize), None,
            |e| u64::from(g.edge(*e.weight()).length_mm));
        for n in 0..g.node_count() {
            let w = want.get(&petgraph::graph::NodeIndex::new(n)).map(|&d| d as u32);
            prop_assert_eq!(got[n], w);
        }
    }

    #[test]
    fn multi_seed_equals_min_over_single_seeds(spec in spec(), seeds in prop::collection::vec((0usize..40, 0u32..50_000), 1..5), budget in 0u32..300_000) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let seeds: Vec<(u32, u32)> = seeds.iter().map(|&(n, c)| ((n % g.node_count()) as u32, c)).collect();
        let multi = run(&g, Direction::Forward, &seeds, budget);
        for n in 0..g.node_count() {
            let min = seeds.iter().filter_map(|&s| run(&g, Direction::Forward, &[s], budget)[n]).min();
            prop_assert_eq!(multi[n], min);
        }
    }

    #[test]
    fn larger_budget_never_loses_a_node(spec in spec(), src in 0usize..40, b1 in 0u32..200_000, extra in 0u32..200_000) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let src = (src % g.node_count()) as u32;
        let small = run(&g, Direction::Forward, &[(src, 0)], b1);
        let large = run(&g, Direction::Forward, &[(src, 0)], b1 + extra);
        for n in 0..g.node_count() {
            if let Some(d) = small[n] {
                prop_assert_eq!(large[n], Some(d));
            }
        }
    }

    #[test]
    fn triangle_inequality(spec in spec(), src in 0usize..40) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let src = (src % g.node_count()) as u32;
        let d = run(&g, Direction::Forward, &[(src, 0)], u32::MAX / 2);
        for e in g.edges() {
            if let (Some(du), Some(dv)) = (d[e.u as usize], d[e.v as usize]) {
                prop_assert!(dv <= du + e.length_mm);
                if !e.oneway { prop_assert!(du <= dv + e.length_mm); }
            }
        }
    }

    /// Targets grouped under owners (an area's access points): each owner once, at
    /// the smallest distance over its targets, by Dijkstra and by the hierarchy's
    /// multi-seed buckets alike.
    #[test]
    fn grouped_targets_give_each_owner_at_its_nearest_target(
        spec in spec(),
        places in prop::collection::vec((0usize..1000, 0u32..=1000, 0u32..30_000), 2..16),
        owners in prop::collection::vec(0u32..4, 16),
        budget in 0u32..300_000,
    ) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let spot = |p: &(usize, u32, u32)| spot_on(&g, *p);
        let half = places.len() / 2;
        let residences: Vec<Spot> = places[..half].iter().map(spot).collect();
        let facilities: Vec<Spot> = places[half..].iter().map(spot).collect();
        let owner: Vec<u32> = owners[..facilities.len()].to_vec();
        // Each target alone, the reference.
        let single = Targets::new(&g, facilities.clone());
        let (want, _) = per_residence(&g, None, &single, &residences, budget, |_, hits| {
            let mut by_owner: Vec<(u32, u32)> = hits.iter().map(|&(t, d)| (owner[t as usize], d)).collect();
            by_owner.sort_unstable();
            by_owner.dedup_by_key(|x| x.0);
            by_owner
        });
        let grouped = Targets::grouped(&g, facilities, owner.clone(), 4);
        let (got, _) = per_residence(&g, None, &grouped, &residences, budget, |_, hits| hits.to_vec());
        prop_assert_eq!(&got, &want);
        let ch = Ch::build(&g);
        let (got_ch, _) = per_residence(&g, Some(&ch), &grouped, &residences, budget, |_, hits| hits.to_vec());
        prop_assert_eq!(&got_ch, &want);
    }

    #[test]
    fn per_residence_equals_brute_force_and_multi_source(
        spec in spec(),
        places in prop::collection::vec((0usize..1000, 0u32..=1000, 0u32..30_000), 2..12),
        twins in prop::collection::vec((0usize..12, 0u32..60_000), 0..6),
        budget in 0u32..300_000,
    ) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let spot = |p: &(usize, u32, u32)| spot_on(&g, *p);
        let half = places.len() / 2;
        let residences: Vec<Spot> = places[..half].iter().map(spot).collect();
        let mut facilities: Vec<Spot> = places[half..].iter().map(spot).collect();
        // Facilities at the very same point with other legs: the hierarchy answers
        // such a group with one search.
        for &(i, leg) in &twins {
            let f = facilities[i % facilities.len()];
            facilities.push(Spot { leg_mm: leg, ..f });
        }
        let targets = Targets::new(&g, facilities.clone());
        let (got, _) = per_residence(&g, None, &targets, &residences, budget, |_, hits| hits.to_vec());
        // The contraction hierarchy's many-to-many gives the very same table.
        let ch = Ch::build(&g);
        let (got_ch, _) = per_residence(&g, Some(&ch), &targets, &residences, budget, |_, hits| hits.to_vec());
        prop_assert_eq!(&got, &got_ch);
        // Brute force: for each residence and facility, min over exits/entries of
        // the reference network distance, plus the same-edge walk.
        for (ri, r) in residences.iter().enumerate() {
            let mut want = Vec::new();
            for (fi, f) in facilities.iter().enumerate() {
                let mut best = r.same_edge_mm(f, &g).map_or(u64::MAX, u64::from);
                for (x, cx, okx) in r.exits(&g) {
                    if !okx { continue; }
                    let d = reference::dijkstra(&g, &[(x, 0)], false);
                    for (y, cy, oky) in f.entries(&g) {
                        if oky && d[y as usize] != u64::MAX {
                            best = best.min(u64::from(cx) + d[y as usize] + u64::from(cy));
                        }
                    }
                }
                if best <= u64::from(budget) { want.push((fi as u32, best as u32)); }
            }
            prop_assert_eq!(&got[ri], &want, "residence {}", ri);
            // Multi-source nearest equals the per-residence minimum.
            let all: Vec<u32> = (0..facilities.len() as u32).collect();
            let mut s = Scratch::new(g.node_count());
            let nd = multi_source(&g, &targets, &all, budget, &mut s);
            let near = nearest_from_node_distances(&g, &targets, &|_| true, &nd, r, budget);
            prop_assert_eq!(near, want.iter().map(|x| x.1).min());
        }
    }

    #[test]
    fn reached_stretches_match_distances(spec in spec(), e in 0usize..1000, frac in 0u32..=1000, budget in 0u32..300_000) {
        let Some(g) = build(&spec) else { return Ok(()) };
        let e = (e % g.edge_count()) as u32;
        let spot = Spot { edge: e, offset_mm: (u64::from(g.edge(e).length_mm) * u64::from(frac) / 1000) as u32, leg_mm: 0 };
        let mut s = Scratch::new(g.node_count());
        let reach = reach_from_spot(&g, &spot, budget, &mut s);
        // Every node the reference reaches within the budget is the end of a stretch.
        let seeds: Vec<(u32, u32)> = spot.exits(&g).iter().filter(|x| x.2).map(|x| (x.0, x.1)).collect();
        let d = reference::dijkstra(&g, &seeds, false);
        for (n, &dn) in d.iter().enumerate() {
            if dn <= u64::from(budget) {
                let touches = reach.iter().any(|r| {
                    let ed = g.edge(r.edge);
                    (ed.u as usize == n && r.start == 0.0) || (ed.v as usize == n && r.end == 1.0)
                });
                prop_assert!(touches || g.forward().arcs(n as u32).is_empty() && g.edge(e).u as usize != n && g.edge(e).v as usize != n, "node {}", n);
            }
        }
        for r in &reach {
            prop_assert!(0.0 <= r.start && r.start <= r.end && r.end <= 1.0);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ch_many_to_many_equals_reference(spec in spec(), budget in 0u32..500_000) {
        let Some(g) = build(&spec) else { return Ok(()) };
        check_ch(&g, budget)?;
    }

    /// Without one-way ways every arc has its reverse, and the hierarchy build takes
    /// its symmetric path (one witness search per pair of neighbours).
    #[test]
    fn ch_many_to_many_equals_reference_two_way(mut spec in spec(), budget in 0u32..500_000) {
        for w in &mut spec.ways {
            w.2 = w.2.max(1);
        }
        let Some(g) = build(&spec) else { return Ok(()) };
        prop_assert!(Ch::build(&g).two_way());
        check_ch(&g, budget)?;
    }
}

/// Every pair's distance from the hierarchy's upward searches equals the reference's
/// within `budget`, and exceeds the budget otherwise.
fn check_ch(g: &WalkGraph, budget: u32) -> Result<(), TestCaseError> {
    let ch = Ch::build(g);
    let mut s = UpScratch::new(g.node_count());
    let n = g.node_count() as u32;
    for src in 0..n {
        let want = reference::dijkstra(g, &[(src, 0)], false);
        ch.upward(&[(src, 0)], false, budget, &mut s);
        let fwd: Vec<(u32, u32)> = ch.settled(&s).to_vec();
        for dst in 0..n {
            ch.upward(&[(dst, 0)], true, budget, &mut s);
            let mut best = u64::MAX;
            for &(m, a) in &fwd {
                if let Some(&(_, b)) = ch.settled(&s).iter().find(|x| x.0 == m) {
                    best = best.min(u64::from(a) + u64::from(b));
                }
            }
            let w = want[dst as usize];
            if w <= u64::from(budget) {
                prop_assert_eq!(best, w, "{} -> {}", src, dst);
            } else {
                prop_assert!(best > u64::from(budget));
            }
        }
    }
    Ok(())
}

/// Both engines on a city large enough for several meeting points and many sources,
/// in pools of 1, 2 and 3 threads: one table and the same work counters whatever the
/// thread count (and however the work was handed out).
#[test]
fn results_do_not_depend_on_thread_count() {
    let side = 20;
    let n = side * side;
    let spec = Spec {
        pos: (0..n)
            .map(|i| ((i % 6) as u8, ((i / side) % 6) as u8))
            .collect(),
        // A torus of streets, one in 13 of them one-way.
        ways: (0..n)
            .flat_map(|i| {
                let kind = if i % 13 == 0 { 0 } else { 1 };
                [(i, (i + 1) % n, kind), (i, (i + side) % n, 1)]
            })
            .collect(),
    };
    let g = build(&spec).unwrap();
    let spots: Vec<Spot> = (0..g.edge_count() as u32)
        .map(|e| Spot {
            edge: e,
            offset_mm: g.edge(e).length_mm / 3,
            leg_mm: 5000,
        })
        .collect();
    // Every 5th edge holds a facility; every 15th a second one at the same point.
    let mut facilities: Vec<Spot> = spots.iter().step_by(5).copied().collect();
    facilities.extend(spots.iter().step_by(15).map(|s| Spot { leg_mm: 900, ..*s }));
    let targets = Targets::new(&g, facilities);
    assert!(targets.points() < targets.len());
    let ch = Ch::build(&g);
    let run = |threads, ch| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| per_residence(&g, ch, &targets, &spots, 300_000, |_, h| h.to_vec()))
    };
    let (want, stats) = run(1, None);
    assert!(want.iter().map(Vec::len).sum::<usize>() > 1000);
    // The bench's plain batch: its counters are the sum of one search per node.
    let nodes: Vec<u32> = (0..g.node_count() as u32).collect();
    let mut one = Scratch::new(g.node_count());
    for &v in &nodes {
        search(&g, Direction::Forward, &[(v, 0)], 300_000, &mut one);
    }
    assert!(one.stats.settled > 0);
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert_eq!(
            pool.install(|| search_many(&g, &nodes, 300_000)),
            one.stats,
            "search_many, {threads} threads"
        );
    }
    let (want_ch, stats_ch) = run(1, Some(&ch));
    assert_eq!(want_ch, want, "hierarchy and Dijkstra, 1 thread");
    for threads in [1, 2, 3] {
        assert_eq!(
            run(threads, None),
            (want.clone(), stats.clone()),
            "Dijkstra, {threads} threads"
        );
        assert_eq!(
            run(threads, Some(&ch)),
            (want.clone(), stats_ch.clone()),
            "hierarchy, {threads} threads"
        );
    }
}

/// Distances saturate at `u32::MAX` millimetres instead of wrapping: two 3,300 km
/// edges in a row (each below the limit, their sum above it) leave the far node
/// at the limit, not at a wrapped short distance.
#[test]
fn distances_saturate_instead_of_wrapping() {
    let way = |id: i64, a: i64, b: i64, ca: [f64; 2], cb: [f64; 2]| WalkWay {
        way_id: id,
        nodes: vec![a, b],
        coords: vec![ca, cb],
        direction: FootDirection::Both,
        highway: "footway".into(),
        name: None,
    };
    let (west, mid, east, spur) = ([0.0, 0.0], [30.0, 0.0], [60.0, 0.0], [30.0, 0.001]);
    // The spur keeps the middle node a junction, so the two long edges stay apart.
    let ways = [
        way(1, 1, 2, west, mid),
        way(2, 2, 3, mid, east),
        way(3, 2, 4, mid, spur),
    ];
    let (g, _) = WalkGraph::build(
        &ways,
        &BuildOptions {
            keep_all_components: true,
        },
    )
    .unwrap();
    let node = |osm: i64| {
        (0..g.node_count() as u32)
            .find(|&n| g.node_osm_id(n) == osm)
            .unwrap()
    };
    let (w, m, e) = (node(1), node(2), node(3));
    let mut s = Scratch::new(g.node_count());
    search(&g, Direction::Forward, &[(w, 0)], u32::MAX, &mut s);
    let half = s.dist(m).unwrap();
    assert!(half > u32::MAX / 2 && half < u32::MAX, "{half}");
    assert_eq!(s.dist(e), Some(u32::MAX));
}
