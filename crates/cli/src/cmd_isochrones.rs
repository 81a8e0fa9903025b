//! `livingcircle isochrones`: which places, which files; the layer itself is drawn
//! by the library (`livingcircle::Study::isochrones_to`).

use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;

use livingcircle::{IsoReport, IsochroneOptions};
use livingcircle_analysis::Preset;
use livingcircle_analysis::input::read_places;
use livingcircle_export::schema::LayerWriter;
use livingcircle_export::{CsvWriter, Fanout, Format, create_writer};

use crate::args::{Global, IsochronesArgs, PlacesArgs};
use crate::load::{ensure_dir, speed, study};
use crate::progress::Stages;

/// The files `isochrones` writes: `None` for a CSV of the statistics (`out`),
/// else one file per format. Without `--format`, `--out`'s extension names the
/// format (GeoJSON when it names none); with it, each format gets `out` with its
/// own extension (`out` itself when its extension names that format).
fn output_files(
    out: &Path,
    csv: bool,
    formats: Option<&[Format]>,
    stats_only: bool,
) -> anyhow::Result<Option<Vec<(Format, PathBuf)>>> {
    let named = Format::from_path(out);
    if stats_only {
        let given = formats.map_or_else(|| named.into_iter().collect(), <[_]>::to_vec);
        if let Some(f) = given.iter().find(|f| **f != Format::GeoJson) {
            let flag = match formats {
                Some(_) => format!("--format {f}"),
                None => format!("--out {}", out.display()),
            };
            anyhow::bail!("{flag}: --stats-only writes no geometry; write .csv or .geojson");
        }
    }
    if csv {
        if let Some(f) = formats {
            anyhow::bail!(
                "--format {}: --out {} is a CSV of the statistics; drop --format or write another extension",
                names(f),
                out.display()
            );
        }
        return Ok(None);
    }
    let formats = formats.map_or_else(|| vec![named.unwrap_or(Format::GeoJson)], <[_]>::to_vec);
    Ok(Some(
        formats
            .into_iter()
            .map(|f| {
                let p = if named == Some(f) {
                    out.to_owned()
                } else {
                    out.with_extension(f.extension())
                };
                (f, p)
            })
            .collect(),
    ))
}

fn names(f: &[Format]) -> String {
    f.iter().map(|f| f.name()).collect::<Vec<_>>().join(",")
}

/// The ids listed after a count of unsnapped places ("…" when there are more).
fn listed(r: &IsoReport, sep: &str) -> String {
    let mut s = r.unsnapped_ids.join(sep);
    if r.unsnapped > r.unsnapped_ids.len() as u64 {
        s.push_str(sep);
        s.push('…');
    }
    s
}

pub(crate) fn run(global: &Global, a: &IsochronesArgs) -> anyhow::Result<()> {
    let mut preset = Preset::load(&a.preset)?;
    a.population.apply(&mut preset);
    let speed_kmh = speed(&a.speed, &preset);
    let out: PathBuf = a.out.clone().unwrap_or_else(|| {
        if a.stats_only {
            "isochrones.csv".into()
        } else {
            "isochrones.geojson".into()
        }
    });
    let csv = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv && !a.stats_only {
        anyhow::bail!(
            "--out {}: CSV holds no geometry; add --stats-only or write .geojson",
            out.display()
        );
    }
    let files = output_files(&out, csv, a.format.as_ref().map(|f| &f.0[..]), a.stats_only)?;
    let opts = IsochroneOptions {
        minutes: if a.minutes.is_empty() {
            vec![5.0, 10.0, 15.0]
        } else {
            a.minutes.clone()
        },
        meters: a.meters.clone(),
        speed_kmh: Some(speed_kmh),
        buffer_m: a.buffer_m,
        simplify_m: a.simplify_m,
        rings: a.rings,
        geometry: !a.stats_only,
        max_snap_m: a.max_snap_m,
    };
    // Before reading anything or creating the output: options the engine refuses.
    opts.engine(&preset)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_dir(dir)?;
    }
    let points = a.points.as_deref().map(read_places).transpose()?;
    let stages = Stages::new(global.quiet);
    let study = study(&stages, preset, &a.osm, &PlacesArgs::default(), false)?;
    let schema = study.isochrone_schema(&opts)?;
    let mut sink: Box<dyn LayerWriter> = match &files {
        None => Box::new(CsvWriter::create(&out, &schema)?),
        Some(files) => Box::new(Fanout(
            files
                .iter()
                .map(|(f, p)| create_writer(*f, p, &schema))
                .collect::<Result<_, _>>()?,
        )),
    };
    let n_points = points.as_ref().map_or(study.homes.len(), Vec::len);
    let r = study.isochrones_to(
        &opts,
        points,
        sink.as_mut(),
        &|p| stages.on(p),
        &AtomicBool::new(false),
    )?;
    sink.finish()?;
    stages.done();
    if r.unsnapped > 0 {
        tracing::warn!(
            "{} of {} points are farther than {} m from every walkable way and got no polygon: {}",
            r.unsnapped,
            n_points,
            a.max_snap_m,
            listed(&r, ", ")
        );
    }
    if !global.quiet {
        outln!(
            "{} {} for {} points ({} unsnapped: {}) in {:.2} s ({:.0} points/s, {:.0} polygons/s) -> {}",
            r.polygons,
            if a.stats_only { "rows" } else { "polygons" },
            n_points,
            r.unsnapped,
            listed(&r, " "),
            r.seconds,
            n_points as f64 / r.seconds.max(1e-9),
            r.polygons as f64 / r.seconds.max(1e-9),
            match &files {
                None => out.display().to_string(),
                Some(f) => f
                    .iter()
                    .map(|(_, p)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        );
    }
    Ok(())
}
