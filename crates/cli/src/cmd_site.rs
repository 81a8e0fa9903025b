//! `livingcircle site`: where the next K facilities of a category should go.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use livingcircle::site::Covered;
use livingcircle::{CandidatePlaces, SitesSummary, SitingOptions, Weight};
use livingcircle_analysis::Preset;
use livingcircle_analysis::input::read_places;
use livingcircle_export as export;
use livingcircle_site::Plan;
use serde_json::Value;

use crate::args::{ByArg, Global, SiteArgs};
use crate::load::{ensure_dir, speed, study};
use crate::progress::Stages;

pub(crate) fn run(global: &Global, a: &SiteArgs) -> anyhow::Result<()> {
    let mut preset = Preset::load(&a.preset)?;
    a.population.apply(&mut preset);
    // Before reading anything: a category the preset does not have.
    preset
        .category_index(&a.category)
        .map_err(anyhow::Error::msg)?;
    let speed_kmh = speed(&a.speed, &preset);
    ensure_dir(&a.out)?;
    let stages = Stages::new(global.quiet || a.json);
    let candidates = match &a.candidates {
        Some(p) => Some(CandidatePlaces {
            name: p.clone(),
            places: read_places(p)?,
        }),
        None => None,
    };
    let study = study(&stages, preset, &a.osm, &a.places, true)?;
    let opts = SitingOptions {
        category: a.category.clone(),
        count: a.count as usize,
        min_gain: a.min_gain,
        by: match a.by {
            ByArg::Population => Weight::Population,
            ByArg::Residences => Weight::Residences,
        },
        speed_kmh: Some(speed_kmh),
        max_snap_m: a.max_snap_m,
        max_candidates: a.max_candidates as usize,
    };
    let mut sited = study.site(
        &opts,
        candidates,
        &|p| stages.on(p),
        &AtomicBool::new(false),
    )?;
    stages.stage("writing layers");
    let formats = &a.format.format.0;
    sited.write(&study, &a.out, formats)?;
    stages.done();
    let summary = &sited.summary;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(summary)?);
    } else if !global.quiet {
        print_table(summary, &sited.plan, &a.out).context("writing the table")?;
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

fn print_table(s: &SitesSummary, p: &Plan, out: &Path) -> std::io::Result<()> {
    let c = &s.category;
    let line = |v: &Covered| {
        format!(
            "{} of {} residences ({}%), {} of {} people ({}%)",
            v.residences_covered,
            s.residences,
            Value::from(v.residences_pct),
            Value::from(v.population_covered),
            Value::from(s.population),
            Value::from(v.population_pct)
        )
    };
    outln!(
        "{} — new {} sites ({} m walk, {} min) under {}",
        s.input.file,
        c.key,
        Value::from(c.threshold_m),
        Value::from(c.threshold_min),
        s.preset.name
    );
    let k = &s.candidates;
    outln!(
        "candidates: {} {}, {} snapped, {} distinct, {} cover someone",
        k.given,
        k.kind,
        k.snapped,
        k.distinct,
        k.covering_someone
    );
    outln!("before: {}", line(&s.before));
    outln!(
        "{:>4} {:>12} {:>11} {:>9} {:>10} {:>9}  name",
        "rank",
        "lon",
        "lat",
        "+resid.",
        "+people",
        "people %"
    );
    for (site, step) in p.sites.iter().zip(&s.steps) {
        outln!(
            "{:>4} {:>12.7} {:>11.7} {:>9} {:>10.1} {:>9}  {}",
            site.rank,
            site.lonlat[0],
            site.lonlat[1],
            site.gain_residences,
            site.gain_population,
            Value::from(step.after.population_pct),
            site.name
                .clone()
                .or(site.id.clone())
                .or(site.node.map(|n| format!("node {n}")))
                .unwrap_or_default()
        );
    }
    outln!("after:  {}", line(&s.after));
    outln!("stopped: {}", s.stop);
    outln!(
        "layers in {}: {} sites_summary.json ({:.2} s)",
        out.display(),
        livingcircle::layers::files_line(&s.layers),
        s.seconds.total
    );
    Ok(())
}
