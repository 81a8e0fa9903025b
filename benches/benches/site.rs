//! Siting (`livingcircle site`): K = 5 kindergartens with every graph node as a
//! candidate, on seeded grid cities of 100k and 1M junctions with one residence per
//! two junctions (none covered yet), and on the bundled city.
//!
//! Each case prints its reach-set size once, so a run also answers "how much memory
//! does a city of this size need": `cargo bench -p livingcircle-benches --bench site`.
//! `SITE_BENCH_CITIES=grid1000k` builds only the named cases (comma-separated), so
//! `/usr/bin/time -v` shows one city's peak memory.

use criterion::{Criterion, criterion_group, criterion_main};
use livingcircle_analysis::population::PopulationSource;
use livingcircle_analysis::{
    AnalyzeOptions, Engine, Home, Origin, Preset, analyze, facilities_from_osm, homes_from_osm,
};
use livingcircle_benches::{data, grid_city};
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{ReadOptions, read};
use livingcircle_site::{Candidates, SiteOptions, Weight, plan};

fn grid_homes(g: &WalkGraph) -> Vec<Home> {
    (0..g.node_count() as u32)
        .step_by(2)
        .map(|n| {
            let p = g.node_lonlat(n);
            Home {
                osm_id: None,
                name: None,
                // About 15 m off the junction.
                lonlat: [p[0] + 0.00015, p[1] + 0.00005],
                population: 1.0 + f64::from(n % 7),
                population_source: PopulationSource::User,
                origin: Origin::User,
                user: None,
            }
        })
        .collect()
}

/// Peak resident memory of this process so far, in MiB (Linux; `None` elsewhere).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn site(c: &mut Criterion) {
    let preset = Preset::load("gb50180").expect("built-in preset");
    let kindergarten = preset
        .categories
        .iter()
        .position(|c| c.key == "kindergarten")
        .expect("kindergarten");
    // Dijkstra: a contraction hierarchy of the 1M grid takes minutes to build.
    let opts = AnalyzeOptions {
        speed_kmh: 4.8,
        engine: Engine::Dijkstra,
        ..AnalyzeOptions::default()
    };
    let only = std::env::var("SITE_BENCH_CITIES").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|w| w == name))
    };
    let mut cases = Vec::new();
    for n in [100_000usize, 1_000_000] {
        if !wanted(&format!("grid{}k", n / 1000)) {
            continue;
        }
        let g = grid_city(n, 42);
        let homes = grid_homes(&g);
        cases.push((format!("grid{}k", n / 1000), g, homes, Vec::new()));
    }
    if wanted("munchen") {
        let d = read(&data("munchen.osm.pbf"), &ReadOptions::default()).expect("bundled city");
        let g = WalkGraph::from_network(&d.network, &BuildOptions::default())
            .expect("graph")
            .0;
        let homes = homes_from_osm(&d, &Default::default());
        let facilities = facilities_from_osm(&preset, &d.features);
        cases.push(("munchen".into(), g, homes, facilities));
    }

    let mut group = c.benchmark_group("site");
    group.sample_size(10);
    for (name, g, homes, facilities) in &cases {
        let snapper = livingcircle_snap::Snapper::new(g);
        let (an, results) = analyze(&snapper, &preset, homes, facilities, &opts);
        let site_opts = SiteOptions {
            category: kindergarten,
            count: 5,
            min_gain: 0.0,
            by: Weight::Population,
            max_snap_m: 200.0,
        };
        let candidates = Candidates::Nodes { max: usize::MAX };
        let before = peak_mib();
        let p = plan(&snapper, homes, &an, &results, &candidates, &site_opts);
        let after = peak_mib();
        assert_eq!(p.sites.len(), 5, "{name}");
        eprintln!(
            "site/{name}: {} nodes, {} residences missing, {} candidates, {} pairs, reach sets {:.1} MiB; process peak {:?} MiB before the first plan, {:?} MiB after",
            g.node_count(),
            p.residences - p.covered_residences_before,
            p.candidates.distinct,
            p.pairs,
            p.reach_bytes as f64 / (1 << 20) as f64,
            before.map(|m| m.round()),
            after.map(|m| m.round()),
        );
        group.bench_function(format!("{name}/k5_all_nodes"), |b| {
            b.iter(|| plan(&snapper, homes, &an, &results, &candidates, &site_opts));
        });
    }
    group.finish();
}

criterion_group!(benches, site);
criterion_main!(benches);
