//! `livingcircle bench`: times the engine the way the peers harness times its peers.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use livingcircle_analysis::{
    AnalyzeOptions, Engine, Preset, analyze, facilities_from_osm, homes_from_osm,
};
use livingcircle_export as export;
use livingcircle_graph::{NodeId, WalkGraph};
use livingcircle_reach::{SearchStats, search_many};
use livingcircle_snap::Snapper;
use serde_json::json;

use crate::args::{BenchArgs, Global};
use crate::load::{ensure_dir, load};
use crate::progress::Stages;

enum Sources {
    Residences,
    Nodes(Option<usize>),
}

fn parse_sources(s: &str) -> anyhow::Result<Sources> {
    match s {
        "residences" => Ok(Sources::Residences),
        "nodes" => Ok(Sources::Nodes(None)),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| Sources::Nodes(Some(n)))
            .with_context(|| {
                format!("--sources `{s}`: expected residences, nodes or a positive count")
            }),
    }
}

/// `count` nodes spread evenly over the node order (a Hilbert order, so they cover
/// the whole area), or every node.
fn pick_nodes(g: &WalkGraph, count: Option<usize>) -> Vec<NodeId> {
    let n = g.node_count();
    match count {
        Some(k) if k < n => (0..k).map(|i| (i * n / k) as NodeId).collect(),
        _ => (0..n as NodeId).collect(),
    }
}

pub(crate) fn run(global: &Global, a: &BenchArgs) -> anyhow::Result<()> {
    let sources_mode = parse_sources(&a.sources)?;
    let max_m = match (a.max_m, a.minutes) {
        (Some(m), _) => m,
        (None, Some(min)) => min * a.speed_kmh.unwrap_or(4.8) * 1000.0 / 60.0,
        (None, None) => 1080.0,
    };
    let preset = Preset::load(&a.preset)?;
    if let Some(dir) = &a.export {
        ensure_dir(dir)?;
    }
    let city = load(
        &a.osm,
        preset.poi_filter(),
        &Stages::new(global.quiet || a.json),
    )?;
    let g = &city.graph;
    let homes = homes_from_osm(&city.data, &preset.population);
    let facilities = facilities_from_osm(&preset, &city.data.features);
    if matches!(sources_mode, Sources::Residences) && homes.is_empty() {
        anyhow::bail!(
            "{}: no residences in this extract; use --sources nodes (or a count)",
            city.path.display()
        );
    }
    let opts = AnalyzeOptions {
        max_snap_m: a.max_snap_m,
        budget_m: Some(max_m),
        engine: Engine::Hierarchy,
        // One chunk: every source searched once, as the peers search theirs.
        chunk_rows: usize::MAX,
        ..AnalyzeOptions::default()
    };
    let threads = rayon::current_num_threads();
    let snapper = Snapper::new(g);

    // Each run builds the hierarchy and answers the per-residence job with it; the
    // same job by one bounded Dijkstra per source runs beside it as the baseline.
    let mut runs = Vec::new();
    let mut base = Vec::new();
    let mut first_results = None;
    for _ in 0..a.repeat {
        let (an, results) = analyze(&snapper, &preset, &homes, &facilities, &opts);
        runs.push(an);
        if runs.len() == 1 {
            first_results = Some(results);
        }
        let (an, results) = analyze(
            &snapper,
            &preset,
            &homes,
            &facilities,
            &AnalyzeOptions {
                engine: Engine::Dijkstra,
                ..opts
            },
        );
        base.push(an);
        if Some(&results) != first_results.as_ref() {
            anyhow::bail!("internal error: the hierarchy and Dijkstra per-residence tables differ");
        }
    }
    let best_multi = runs.iter().map(|r| r.seconds[3]).fold(f64::MAX, f64::min);
    let an = &runs[0];
    let best_ch_build = runs.iter().map(|r| r.seconds[1]).fold(f64::MAX, f64::min);
    let dijkstra_walls: Vec<f64> = base.iter().map(|r| r.per_residence.seconds[0]).collect();
    let combine = runs
        .iter()
        .map(|r| r.per_residence.seconds[1])
        .fold(f64::MAX, f64::min);
    let dijkstra_wall = dijkstra_walls.iter().copied().fold(f64::MAX, f64::min);
    let dijkstra_stats = base[0].per_residence.stats;
    if an.cross_check_mismatches != 0 {
        anyhow::bail!(
            "internal error: {} per-residence distances differ from the multi-source ones",
            an.cross_check_mismatches
        );
    }

    let (sources, stats, walls): (Vec<NodeId>, _, Vec<f64>) = match sources_mode {
        Sources::Residences => (
            an.per_residence.sources.clone(),
            an.per_residence.stats,
            runs.iter().map(|r| r.per_residence.seconds[0]).collect(),
        ),
        Sources::Nodes(count) => {
            let nodes = pick_nodes(g, count);
            let budget = (max_m * 1000.0).round() as u32;
            let mut walls = Vec::new();
            let mut stats = Default::default();
            for _ in 0..a.repeat {
                let t = Instant::now();
                stats = search_many(g, &nodes, budget);
                walls.push(t.elapsed().as_secs_f64());
            }
            (nodes, stats, walls)
        }
    };
    let wall = walls.iter().copied().fold(f64::MAX, f64::min);
    let cats_used = an
        .categories
        .iter()
        .filter(|c| c.facilities_snapped > 0)
        .count();
    let seeds: u32 = an.categories.iter().map(|c| c.facilities_snapped).sum();

    if let Some(dir) = &a.export {
        write_job(dir, g, &preset, &facilities, an, &sources)?;
    }
    let per_s = |x: u64, w: f64| if w > 0.0 { x as f64 / w } else { 0.0 };
    let out = json!({
        "file": city.path.display().to_string(),
        "threads": threads,
        "max_m": max_m,
        "repeat": a.repeat,
        "graph": { "nodes": g.node_count(), "edges": g.edge_count() },
        "load_s": { "read": city.read_s, "build": city.build_s, "snap": an.seconds[0] },
        "hierarchy_build_s": best_ch_build,
        "per_source": {
            "mode": a.sources,
            "method": if matches!(sources_mode, Sources::Residences) { "contraction hierarchy, bucket many-to-many" } else { "bounded Dijkstra" },
            "residences": an.homes_snapped,
            "sources": sources.len(),
            "searches": stats.searches,
            "settled": stats.settled,
            "relaxed": stats.relaxed,
            "wall_s": wall,
            "wall_s_all": walls,
            "searches_per_s": per_s(stats.searches, wall),
            "relaxations_per_s": per_s(stats.relaxed, wall),
        },
        "per_residence_combine_s": combine,
        "dijkstra_baseline": {
            "searches": dijkstra_stats.searches,
            "settled": dijkstra_stats.settled,
            "relaxed": dijkstra_stats.relaxed,
            "seconds": dijkstra_wall,
            "seconds_all": dijkstra_walls,
        },
        "multi_source": {
            "categories": cats_used,
            "seeds": seeds,
            "searches": an.multi_source.searches,
            "settled": an.multi_source.settled,
            "relaxed": an.multi_source.relaxed,
            "wall_s": best_multi,
            "relaxations_per_s": per_s(an.multi_source.relaxed, best_multi),
        },
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if global.quiet {
        return Ok(());
    }
    outln!(
        "{}: {} nodes, {} edges; budget {max_m} m; {threads} threads; best of {}",
        city.path.display(),
        g.node_count(),
        g.edge_count(),
        a.repeat
    );
    outln!(
        "{:<14} {:>8} {:>9} {:>12} {:>12} {:>9} {:>11} {:>13}",
        "job",
        "sources",
        "searches",
        "settled",
        "relaxed",
        "wall s",
        "searches/s",
        "relaxations/s"
    );
    let row = |job: &str, sources: usize, st: SearchStats, wall: f64| -> std::io::Result<()> {
        outln!(
            "{job:<14} {sources:>8} {:>9} {:>12} {:>12} {wall:>9.4} {:>11.0} {:>13.3e}",
            st.searches,
            st.settled,
            st.relaxed,
            per_s(st.searches, wall),
            per_s(st.relaxed, wall)
        );
        Ok(())
    };
    row("per-source", sources.len(), stats, wall)?;
    row("  (Dijkstra)", sources.len(), dijkstra_stats, dijkstra_wall)?;
    row("multi-source", seeds as usize, an.multi_source, best_multi)?;
    outln!(
        "hierarchy build {best_ch_build:.4} s, per-residence combination {combine:.4} s (neither included above)"
    );
    Ok(())
}

/// The job as files other tools can run: the graph, the source nodes, and each
/// facility as the end node of its edge nearest to it.
fn write_job(
    dir: &Path,
    g: &WalkGraph,
    preset: &Preset,
    facilities: &[livingcircle_analysis::Facility],
    an: &livingcircle_analysis::Analysis,
    sources: &[NodeId],
) -> anyhow::Result<()> {
    export::write_nodes_csv(g, &dir.join("nodes.csv"))?;
    export::write_edges_csv(g, &dir.join("edges.csv"))?;
    export::write_atomic(&dir.join("sources.csv"), |f| {
        use std::io::Write;
        writeln!(f, "node")?;
        for s in sources {
            writeln!(f, "{s}")?;
        }
        Ok(())
    })?;
    export::write_atomic(&dir.join("facilities.csv"), |f| {
        use std::io::Write;
        writeln!(f, "category,node")?;
        for (fa, r) in facilities.iter().zip(&an.facilities) {
            if let Some(s) = &r.snap {
                let e = g.edge(s.edge);
                let node = if s.offset_mm.saturating_mul(2) <= e.length_mm {
                    e.u
                } else {
                    e.v
                };
                writeln!(f, "{},{node}", preset.categories[fa.category].key)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}
