//! Ingestion: `.osm.pbf` → walkable ways, facilities, residences → walking graph.
//! Throughput is reported in bytes of PBF per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use livingcircle_benches::{data, shared};
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{ReadOptions, read};

fn ingest(c: &mut Criterion) {
    let mut files = vec![("munchen", data("munchen.osm.pbf"))];
    files.extend(shared("milan.osm.pbf").map(|p| ("milan", p)));
    let mut group = c.benchmark_group("ingest");
    group.sample_size(20);
    for (name, path) in files {
        let bytes = std::fs::metadata(&path).expect("file").len();
        // Checked once, outside the timed loop.
        let d = read(&path, &ReadOptions::default()).expect("reads");
        let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).expect("builds");
        assert!(g.node_count() > 1000, "{name}");
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format!("{name}/read"), |b| {
            b.iter(|| read(&path, &ReadOptions::default()).expect("reads"));
        });
        // The same read, counted in OSM nodes of the file per second.
        group.throughput(Throughput::Elements(d.stats.nodes));
        group.bench_function(format!("{name}/read_nodes"), |b| {
            b.iter(|| read(&path, &ReadOptions::default()).expect("reads"));
        });
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(format!("{name}/read+build"), |b| {
            b.iter(|| {
                let d = read(&path, &ReadOptions::default()).expect("reads");
                WalkGraph::from_network(&d.network, &BuildOptions::default()).expect("builds")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
