//! `livingcircle site`: where the next K facilities of a category should go.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use livingcircle_analysis::input::read_places;
use livingcircle_analysis::{AnalyzeOptions, Preset, analyze, pct, r1};
use livingcircle_export as export;
use livingcircle_site::{Candidates, Plan, SiteOptions, Stop, Weight, plan};
use livingcircle_snap::Snapper;
use serde_json::{Value, json};

use crate::args::{ByArg, Global, SiteArgs};
use crate::load::ensure_dir;
use crate::load::{speed, study};
use crate::progress::Stages;

pub(crate) fn run(global: &Global, a: &SiteArgs) -> anyhow::Result<()> {
    let t_start = Instant::now();
    let mut preset = Preset::load(&a.preset)?;
    a.population.apply(&mut preset);
    let category = preset
        .category_index(&a.category)
        .map_err(anyhow::Error::msg)?;
    let speed_kmh = speed(&a.speed, &preset);
    ensure_dir(&a.out)?;
    let stages = Stages::new(global.quiet || a.json);

    let candidates = match &a.candidates {
        Some(p) => Candidates::Places(read_places(p)?),
        None => Candidates::Nodes {
            max: a.max_candidates as usize,
        },
    };
    let livingcircle::Study {
        city,
        preset,
        homes,
        mut facilities,
        ..
    } = study(&stages, preset, &a.osm, &a.places)?;

    // Only the category matters, and only within its threshold: whether a residence
    // has one is decided exactly as `analyze` decides it, with searches bounded there.
    stages.stage("analysing coverage");
    facilities.retain(|f| f.category == category);
    let opts = AnalyzeOptions {
        speed_kmh,
        max_snap_m: a.max_snap_m,
        budget_m: Some(preset.categories[category].threshold_m(speed_kmh)),
        ..AnalyzeOptions::default()
    };
    let snapper = Snapper::new(&city.graph);
    let (an, results) = analyze(&snapper, &preset, &homes, &facilities, &opts);

    stages.stage("searching from every candidate and choosing sites");
    let site_opts = SiteOptions {
        category,
        count: a.count as usize,
        min_gain: a.min_gain,
        by: match a.by {
            ByArg::Population => Weight::Population,
            ByArg::Residences => Weight::Residences,
        },
        max_snap_m: a.max_snap_m,
    };
    let p = plan(&snapper, &homes, &an, &results, &candidates, &site_opts);
    if let Some(file) = &a.candidates
        && p.candidates.snapped == 0
    {
        anyhow::bail!(
            "{}: none of the {} candidates lies within {} m of the walking network (--max-snap-m)",
            file.display(),
            p.candidates.given,
            a.max_snap_m
        );
    }

    stages.stage("writing layers");
    let t = Instant::now();
    let formats = &a.format.format.0;
    let staging = crate::staging::Staging::new(&a.out, "site")?;
    let layers = export::Layers::create(staging.dir(), formats, export::SITES_GPKG_NAME)?;
    let sites = export::SiteRows {
        graph: &city.graph,
        preset: &preset,
        category,
        plan: &p,
    };
    // Area candidates come back as their outlines (the layer then mixes points and
    // polygons).
    let areas =
        matches!(&candidates, Candidates::Places(l) if l.iter().any(|c| !c.outline.is_empty()));
    layers.write(&export::sites_schema(areas), &sites)?;
    layers.write(
        &export::site_coverage_schema(),
        &export::SiteCoverageRows::new(&homes, &p),
    )?;
    layers.finish()?;
    let write_s = t.elapsed().as_secs_f64();
    let cat = &preset.categories[category];
    let covered = |res: u32, popn: f64| {
        json!({
            "residences_covered": res,
            "residences_pct": pct(f64::from(res), f64::from(p.residences)),
            "population_covered": r1(popn),
            "population_pct": pct(popn, p.population),
            "residences_missing": p.residences - res,
            "population_missing": r1(p.population - popn),
        })
    };
    let after = p.sites.last().map_or(
        (p.covered_residences_before, p.covered_population_before),
        |s| (s.covered_residences_after, s.covered_population_after),
    );
    let steps: Vec<Value> = p
        .sites
        .iter()
        .map(|s| {
            json!({
                "rank": s.rank,
                "lon": export::round7(s.lonlat[0]),
                "lat": export::round7(s.lonlat[1]),
                "candidate_id": s.id,
                "name": s.name,
                "node": s.node,
                "access_points": s.access_points,
                "gain_residents": s.gain_residences,
                "gain_population": r1(s.gain_population),
                "after": covered(s.covered_residences_after, s.covered_population_after),
            })
        })
        .collect();
    let written = crate::layers::summary(formats, &crate::layers::site());
    let summary = json!({
        "tool": format!("livingcircle {}", env!("CARGO_PKG_VERSION")),
        "input": {
            "file": city.path.display().to_string(),
            "data_timestamp": city.data_timestamp(),
            "candidates_file": a.candidates.as_ref().map(|p| p.display().to_string()),
            "residences_file": a.places.residences.as_ref().map(|p| p.display().to_string()),
            "facilities_file": a.places.facilities.as_ref().map(|p| p.display().to_string()),
            "credit": "Map data © OpenStreetMap contributors, ODbL 1.0",
        },
        "preset": { "name": preset.name, "origin": preset.origin },
        "category": {
            "key": cat.key,
            "name": cat.name,
            "name_zh": cat.name_zh,
            "threshold_m": f64::from(p.threshold_mm) / 1000.0,
            "threshold_min": r1(cat.threshold_min(speed_kmh)),
            "existing_facilities": an.categories[category].facilities,
            "existing_facilities_snapped": an.categories[category].facilities_snapped,
        },
        "parameters": {
            "count": a.count,
            "by": match a.by { ByArg::Population => "population", ByArg::Residences => "residences" },
            "min_gain": a.min_gain,
            "speed_kmh": speed_kmh,
            "max_snap_m": a.max_snap_m,
            "max_candidates": a.candidates.is_none().then_some(a.max_candidates),
            "threads": rayon::current_num_threads(),
        },
        "candidates": {
            "kind": if a.candidates.is_some() { "file" } else { "graph nodes" },
            "given": p.candidates.given,
            "in_reach_of_demand": p.candidates.in_reach,
            "sample_stride": p.candidates.stride,
            "snapped": p.candidates.snapped,
            "distinct": p.candidates.distinct,
            "covering_someone": p.candidates.useful,
        },
        "reach_sets": { "pairs": p.pairs, "bytes": p.reach_bytes },
        "layers": &written,
        "residences": p.residences,
        "population": r1(p.population),
        "before": covered(p.covered_residences_before, p.covered_population_before),
        "steps": steps,
        "after": covered(after.0, after.1),
        "stop": match p.stop {
            Stop::Count => "count reached",
            Stop::MinGain if a.min_gain > 0.0 => "gain below --min-gain (or nothing left to cover)",
            Stop::MinGain => "nothing left that a candidate covers",
        },
        "seconds": {
            "read": city.read_s,
            "build": city.build_s,
            "analyze": an.seconds.iter().sum::<f64>(),
            "snap_candidates": p.seconds[0],
            "reach_sets": p.seconds[1],
            "greedy": p.seconds[2],
            "site_distances": p.seconds[3],
            "write": write_s,
            "total": t_start.elapsed().as_secs_f64(),
        },
    });
    export::write_atomic(&staging.dir().join("sites_summary.json"), |f| {
        serde_json::to_writer_pretty(&mut *f, &summary).map_err(std::io::Error::other)?;
        writeln!(f)
    })?;
    staging.commit()?;
    stages.done();
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !global.quiet {
        print_table(&summary, &written, &p, &a.out).context("writing the table")?;
        if formats.contains(&export::Format::GeoJson) {
            outln!("map: {}", crate::report::analyze_command(a));
        } else {
            // `analyze --sites` reads the GeoJSON.
            outln!(
                "map: add geojson to --format for the sites.geojson that `analyze --sites` reads"
            );
        }
    }
    Ok(())
}

fn print_table(
    s: &Value,
    written: &livingcircle::Layers,
    p: &Plan,
    out: &Path,
) -> std::io::Result<()> {
    let c = &s["category"];
    let line = |v: &Value| {
        format!(
            "{} of {} residences ({}%), {} of {} people ({}%)",
            v["residences_covered"],
            s["residences"],
            v["residences_pct"],
            v["population_covered"],
            s["population"],
            v["population_pct"]
        )
    };
    outln!(
        "{} — new {} sites ({} m walk, {} min) under {}",
        s["input"]["file"].as_str().unwrap_or(""),
        c["key"].as_str().unwrap_or(""),
        c["threshold_m"],
        c["threshold_min"],
        s["preset"]["name"].as_str().unwrap_or("")
    );
    let k = &s["candidates"];
    outln!(
        "candidates: {} {}, {} snapped, {} distinct, {} cover someone",
        k["given"],
        k["kind"].as_str().unwrap_or(""),
        k["snapped"],
        k["distinct"],
        k["covering_someone"]
    );
    outln!("before: {}", line(&s["before"]));
    outln!(
        "{:>4} {:>12} {:>11} {:>9} {:>10} {:>9}  name",
        "rank",
        "lon",
        "lat",
        "+resid.",
        "+people",
        "people %"
    );
    for (site, step) in p
        .sites
        .iter()
        .zip(s["steps"].as_array().into_iter().flatten())
    {
        outln!(
            "{:>4} {:>12.7} {:>11.7} {:>9} {:>10.1} {:>9}  {}",
            site.rank,
            site.lonlat[0],
            site.lonlat[1],
            site.gain_residences,
            site.gain_population,
            step["after"]["population_pct"],
            site.name
                .clone()
                .or(site.id.clone())
                .or(site.node.map(|n| format!("node {n}")))
                .unwrap_or_default()
        );
    }
    outln!("after:  {}", line(&s["after"]));
    outln!("stopped: {}", s["stop"].as_str().unwrap_or(""));
    outln!(
        "layers in {}: {} sites_summary.json ({:.2} s)",
        out.display(),
        crate::layers::files_line(written),
        s["seconds"]["total"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}
