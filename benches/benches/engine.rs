//! The engine: one bounded search (the kernel), a parallel batch of searches, and
//! multi-source searches, on seeded grid cities of 10k, 100k and 1M junctions and on
//! the bundled city. Budget 1080 m (15 min at 4.32 km/h, the peers' default).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use livingcircle_benches::{data, grid_city};
use livingcircle_graph::{BuildOptions, NodeId, WalkGraph};
use livingcircle_osm::{ReadOptions, read};
use livingcircle_reach::{
    Ch, Direction, Scratch, Spot, Targets, multi_source, per_residence, search, search_many,
};

const BUDGET_MM: u32 = 1_080_000;

fn graphs() -> Vec<(String, WalkGraph)> {
    let mut v: Vec<(String, WalkGraph)> = [10_000usize, 100_000, 1_000_000]
        .into_iter()
        .map(|n| (format!("grid{}k", n / 1000), grid_city(n, 42)))
        .collect();
    let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).expect("bundled city");
    v.push((
        "munchen".into(),
        WalkGraph::from_network(&d.network, &BuildOptions::default())
            .expect("graph")
            .0,
    ));
    v
}

/// `k` sources spread over the node order.
fn sources(g: &WalkGraph, k: usize) -> Vec<NodeId> {
    let n = g.node_count();
    (0..k.min(n))
        .map(|i| (i * n / k.min(n)) as NodeId)
        .collect()
}

fn engine(c: &mut Criterion) {
    for (name, g) in graphs() {
        let mut group = c.benchmark_group(format!("engine/{name}"));
        group.sample_size(10);
        let mut s = Scratch::new(g.node_count());
        // Checked once: a search from the middle settles a 1080 m ball.
        let mid = (g.node_count() / 2) as NodeId;
        search(&g, Direction::Forward, &[(mid, 0)], BUDGET_MM, &mut s);
        assert!(s.settled().len() > 10, "{name}");
        let settled = s.settled().len() as u64;
        group.throughput(Throughput::Elements(settled));
        group.bench_function("single_source", |b| {
            b.iter(|| search(&g, Direction::Forward, &[(mid, 0)], BUDGET_MM, &mut s));
        });
        let src = sources(&g, 1000);
        group.throughput(Throughput::Elements(src.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("batch_parallel", src.len()),
            &src,
            |b, src| {
                b.iter(|| search_many(&g, src, BUDGET_MM));
            },
        );
        // Multi-source: 50 facilities spread over the graph, as spots mid-edge.
        let spots: Vec<Spot> = (0..50)
            .map(|i| {
                let e = (i * g.edge_count() / 50) as u32;
                Spot {
                    edge: e,
                    offset_mm: g.edge(e).length_mm / 2,
                    leg_mm: 0,
                }
            })
            .collect();
        let targets = Targets::new(&g, spots);
        let all: Vec<u32> = (0..50).collect();
        group.throughput(Throughput::Elements(50));
        group.bench_function("multi_source_50", |b| {
            b.iter(|| multi_source(&g, &targets, &all, BUDGET_MM, &mut s));
        });
        // Per-residence tables: 1,000 residences mid-edge, the 50 facilities above,
        // with one Dijkstra per source node and with the contraction hierarchy.
        let homes: Vec<Spot> = (0..1000)
            .map(|i| {
                let e = (i * g.edge_count() / 1000) as u32;
                Spot {
                    edge: e,
                    offset_mm: g.edge(e).length_mm / 3,
                    leg_mm: 10_000,
                }
            })
            .collect();
        group.throughput(Throughput::Elements(homes.len() as u64));
        group.bench_function("per_residence_dijkstra_1000", |bch| {
            bch.iter(|| per_residence(&g, None, &targets, &homes, BUDGET_MM, |_, h| h.len()));
        });
        // A perfect grid is a worst case for contraction (shortcut counts grow
        // superlinearly); on the 1M grid the build takes minutes, so it is skipped.
        if g.node_count() <= 200_000 {
            let ch = Ch::build(&g);
            let (a, _) = per_residence(&g, None, &targets, &homes, BUDGET_MM, |_, h| h.len());
            let (b, _) = per_residence(&g, Some(&ch), &targets, &homes, BUDGET_MM, |_, h| h.len());
            assert_eq!(a, b, "{name}: both engines give the same tables");
            group.bench_function("per_residence_ch_1000", |bch| {
                bch.iter(|| {
                    per_residence(&g, Some(&ch), &targets, &homes, BUDGET_MM, |_, h| h.len())
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
