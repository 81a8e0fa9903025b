//! `livingcircle analyze`: the planner's main job.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use livingcircle::Summary;
use livingcircle::isochrones::{self, IsoJob, Origin};
use livingcircle_analysis::{AnalyzeOptions, Engine, Preset, analyze_with_progress};
use livingcircle_export as export;
use livingcircle_snap::Snapper;
use serde_json::Value;

use crate::args::{AnalyzeArgs, EngineArg, Global, LangArg};
use crate::load::{ensure_dir, speed, study};
use crate::progress::Stages;
use livingcircle_iso::IsoOptions;
use livingcircle_report::Lang;

pub(crate) fn run(global: &Global, a: &AnalyzeArgs) -> anyhow::Result<()> {
    let t_start = Instant::now();
    let mut preset = Preset::load(&a.preset)?;
    a.population.apply(&mut preset);
    let speed_kmh = speed(&a.speed, &preset);
    ensure_dir(&a.out)?;
    let stages = Stages::new(global.quiet || a.json);

    let sites = a
        .sites
        .as_deref()
        .map(|path| crate::report::read_sites(path, &preset))
        .transpose()?;
    let study = study(&stages, preset, &a.osm, &a.places, true)?;
    let (city, preset, homes, facilities) =
        (&study.city, &study.preset, &study.homes, &study.facilities);

    let opts = AnalyzeOptions {
        speed_kmh,
        max_snap_m: a.max_snap_m,
        hex_res: a.hex_res,
        engine: engine(a.engine),
        ..AnalyzeOptions::default()
    };
    let staging = livingcircle::staging::Staging::new(&a.out, "analyze")?;
    let out = staging.dir();
    // Residences are written chunk by chunk as the analysis answers them; the report
    // keeps only its own compact columns of them.
    let formats = &a.format.format.0;
    let layers = export::Layers::create(out, formats, export::GPKG_NAME)?;
    let home_user = export::home_user_columns(homes);
    let mut residences = layers.writer(&export::residences_schema(preset, &home_user))?;
    let mut report = (!a.no_report).then(|| {
        crate::report::start(crate::report::Page {
            lang: match a.lang {
                Some(LangArg::Zh) => Lang::Zh,
                Some(LangArg::En) => Lang::En,
                None => Lang::default_for(&preset.origin),
            },
            city: city.path.file_name().map_or_else(
                || city.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            graph: &city.graph,
            preset,
            residences: homes.len(),
            facilities,
            hex_res: a.hex_res,
            buffer_m: a.buffer_m,
            sites: sites.unwrap_or_default(),
        })
    });
    let mut write_s = 0.0;
    // Of which the residences layer (every format), for the benchmarks.
    let mut residences_s = 0.0;
    let snapper = Snapper::new(&city.graph);
    let an = analyze_with_progress(
        &snapper,
        preset,
        homes,
        facilities,
        &opts,
        &|p| stages.on(livingcircle::Progress::of_analysis(p)),
        |chunk| -> anyhow::Result<()> {
            let t = Instant::now();
            let rows = export::ResidenceRows {
                preset,
                homes,
                chunk: *chunk,
                user_columns: home_user.len(),
            };
            residences.write(&rows)?;
            residences_s += t.elapsed().as_secs_f64();
            if let Some(r) = report.as_mut() {
                crate::report::add(r, homes, chunk);
            }
            write_s += t.elapsed().as_secs_f64();
            Ok(())
        },
    )?;
    if an.cross_check_mismatches != 0 {
        anyhow::bail!(
            "internal error: {} residence distances differ between the per-residence and multi-source searches",
            an.cross_check_mismatches
        );
    }

    stages.stage("writing layers");
    let t = Instant::now();
    residences.finish()?;
    residences_s += t.elapsed().as_secs_f64();
    livingcircle::study::write_layers_but_residences(&layers, out, formats, &study, &an)?;
    let write_s = write_s + t.elapsed().as_secs_f64();
    let summary = Summary::new(
        &study,
        &an,
        &opts,
        livingcircle::layers::summary(
            &a.format.format.0,
            &livingcircle::layers::analyze(a.isochrones),
        ),
        !a.no_report,
        livingcircle::Seconds::of(
            &study,
            &an,
            write_s,
            residences_s,
            t_start.elapsed().as_secs_f64(),
        ),
    );
    livingcircle::study::write_summary(out, &summary)?;
    if a.isochrones {
        stages.stage("drawing isochrones for every residence");
        let minutes = vec![5.0, 10.0, 15.0];
        // The analysis' own snaps: the polygons count what the layers count.
        let home_snaps = &an.home_snaps;
        let fac_access: Vec<_> = an
            .facilities
            .iter()
            .map(|r| r.access_points.clone())
            .collect();
        let job = IsoJob {
            graph: &city.graph,
            preset,
            homes,
            facilities,
            options: IsoOptions::new(
                minutes
                    .iter()
                    .map(|m| (m * speed_kmh * 1000.0 / 60.0 * 1000.0).round() as u32)
                    .collect(),
                a.buffer_m,
            ),
            minutes: Some(minutes),
            home_snaps,
            fac_access: &fac_access,
        };
        let origins: Vec<Origin> = homes
            .iter()
            .enumerate()
            .map(|(i, h)| Origin {
                id: i.to_string(),
                name: h.name.clone(),
                snap: an.home_snaps[i],
            })
            .collect();
        let mut w = layers.writer(&isochrones::schema(&job))?;
        isochrones::write_isochrones(
            &job,
            &origins,
            w.as_mut(),
            &|p| stages.on(p),
            &AtomicBool::new(false),
        )?;
        w.finish()?;
    }
    // The GeoPackage, with every layer, appears only now.
    layers.finish()?;
    if let Some(report) = report {
        stages.stage("writing report.html");
        let summary = serde_json::to_value(&summary)?;
        crate::report::finish(&out.join("report.html"), report, &an, &summary)?;
    }
    staging.commit()?;
    stages.done();

    if a.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !global.quiet {
        print_table(&summary, &a.out)?;
    }
    Ok(())
}

/// `--engine` as the analysis' engine.
fn engine(e: EngineArg) -> Engine {
    match e {
        EngineArg::Auto => Engine::Auto,
        EngineArg::Ch => Engine::Hierarchy,
        EngineArg::Dijkstra => Engine::Dijkstra,
    }
}

fn print_table(s: &Summary, out: &Path) -> std::io::Result<()> {
    let c = &s.counts;
    outln!("{} — {}", s.input.file, s.preset.name);
    outln!(
        "residences {} ({} unsnapped), population {}, facilities {}; walking {} km/h",
        c.residences,
        c.residences_unsnapped,
        Value::from(c.population),
        c.facilities,
        Value::from(s.parameters.speed_kmh)
    );
    outln!(
        "{:<18} {:>5} {:>7} {:>5} {:>13} {:>14} {:>9} {:>9}",
        "category",
        "level",
        "max m",
        "fac",
        "residences %",
        "population %",
        "median m",
        "p90 m"
    );
    let num = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.0}"));
    for cat in &s.categories {
        outln!(
            "{:<18} {:>5} {:>7} {:>5} {:>13} {:>14} {:>9} {:>9}",
            cat.key,
            cat.level.map_or("-".to_owned(), |l| l.to_string()),
            num(Some(cat.threshold_m)),
            cat.facilities,
            Value::from(cat.residences_pct).to_string(),
            Value::from(cat.population_pct).to_string(),
            num(cat.median_m),
            num(cat.p90_m),
        );
    }
    for l in &s.levels {
        outln!(
            "all of the {:>2}-minute circle ({} categories): residences {}%, population {}%",
            l.level,
            l.categories,
            Value::from(l.residences_pct),
            Value::from(l.population_pct)
        );
    }
    outln!(
        "layers in {}: {} summary.json summary.csv{} ({:.2} s)",
        out.display(),
        livingcircle::layers::files_line(&s.layers),
        if s.parameters.report_html {
            " report.html"
        } else {
            ""
        },
        s.seconds.total
    );
    Ok(())
}
