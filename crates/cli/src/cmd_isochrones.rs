//! `livingcircle isochrones`: which places, which files; the layer itself is drawn
//! by [`crate::iso_layer`].

use std::path::{Path, PathBuf};

use livingcircle_analysis::input::read_places;
use livingcircle_analysis::{Preset, facilities_from_osm, homes_from_osm, snap_places};
use livingcircle_export::schema::LayerWriter;
use livingcircle_export::{CsvWriter, Fanout, Format, create_writer};
use livingcircle_iso::IsoOptions;
use livingcircle_snap::{Snap, Snapper};

use crate::args::{Global, IsochronesArgs};
use crate::iso_layer::{IsoJob, IsoReport, Origin, check_options, schema, write_layer};
use crate::load::speed;
use crate::load::{ensure_dir, load};
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
    let (metres, minutes): (Vec<f64>, Option<Vec<f64>>) = if a.meters.is_empty() {
        let m = if a.minutes.is_empty() {
            vec![5.0, 10.0, 15.0]
        } else {
            a.minutes.clone()
        };
        (
            m.iter().map(|x| x * speed_kmh * 1000.0 / 60.0).collect(),
            Some(m),
        )
    } else {
        (a.meters.clone(), None)
    };
    let mut order: Vec<usize> = (0..metres.len()).collect();
    order.sort_by(|&i, &j| metres[i].total_cmp(&metres[j]));
    let metres: Vec<f64> = order.iter().map(|&i| metres[i]).collect();
    let minutes = minutes.map(|m| order.iter().map(|&i| m[i]).collect::<Vec<f64>>());
    if metres.iter().any(|&m| m * 1000.0 >= f64::from(u32::MAX)) {
        anyhow::bail!("--minutes/--meters: thresholds must be below 4,294 km");
    }
    let mut options = IsoOptions::new(
        metres.iter().map(|m| (m * 1000.0).round() as u32).collect(),
        a.buffer_m,
    );
    if options.thresholds_mm.len() != metres.len() {
        anyhow::bail!("--minutes/--meters: thresholds must be distinct");
    }
    options.rings = a.rings;
    options.simplify_m = a.simplify_m;
    options.geometry = !a.stats_only;
    // Before reading anything or creating the output: a buffer the grid cannot take.
    check_options(&options)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_dir(dir)?;
    }
    let points = a.points.as_deref().map(read_places).transpose()?;
    let stages = Stages::new(global.quiet);
    let city = load(&a.osm, preset.poi_filter(), &stages)?;
    let homes = homes_from_osm(&city.data, &preset.population);
    let facilities = facilities_from_osm(&preset, &city.data.features);
    let snapper = Snapper::new(&city.graph);
    let (home_snaps, fac_access) = snap_places(&snapper, &homes, &facilities, a.max_snap_m);
    let fac_access: Vec<Vec<Snap>> = fac_access.into_iter().map(|a| a.snaps).collect();
    let origins: Vec<Origin> = match points {
        Some(p) => {
            let proj = *city.graph.projection();
            p.into_iter()
                .enumerate()
                .map(|(i, p)| Origin {
                    id: p.id.clone().unwrap_or_else(|| i.to_string()),
                    name: p.name,
                    snap: snapper.snap_point(proj.project(p.lonlat), a.max_snap_m),
                })
                .collect()
        }
        None => homes
            .iter()
            .zip(&home_snaps)
            .enumerate()
            .map(|(i, (h, s))| Origin {
                id: match (&h.user, h.osm_id) {
                    (Some(u), _) if u.id.is_some() => u.id.clone().expect("checked"),
                    (_, Some(o)) => o.to_string(),
                    _ => i.to_string(),
                },
                name: h.name.clone(),
                snap: *s,
            })
            .collect(),
    };
    if origins.is_empty() {
        anyhow::bail!(
            "{}: no residences to draw isochrones for; pass --points FILE",
            city.path.display()
        );
    }
    let job = IsoJob {
        graph: &city.graph,
        preset: &preset,
        homes: &homes,
        facilities: &facilities,
        options,
        minutes,
        home_snaps: &home_snaps,
        fac_access: &fac_access,
    };
    let schema = schema(&job);
    let mut sink: Box<dyn LayerWriter> = match &files {
        None => Box::new(CsvWriter::create(&out, &schema)?),
        Some(files) => Box::new(Fanout(
            files
                .iter()
                .map(|(f, p)| create_writer(*f, p, &schema))
                .collect::<Result<_, _>>()?,
        )),
    };
    let r = write_layer(&job, &origins, sink.as_mut(), &stages)?;
    sink.finish()?;
    stages.done();
    if r.unsnapped > 0 {
        tracing::warn!(
            "{} of {} points are farther than {} m from every walkable way and got no polygon: {}",
            r.unsnapped,
            origins.len(),
            a.max_snap_m,
            listed(&r, ", ")
        );
    }
    if !global.quiet {
        outln!(
            "{} {} for {} points ({} unsnapped: {}) in {:.2} s ({:.0} points/s, {:.0} polygons/s) -> {}",
            r.polygons,
            if a.stats_only { "rows" } else { "polygons" },
            origins.len(),
            r.unsnapped,
            listed(&r, " "),
            r.seconds,
            origins.len() as f64 / r.seconds.max(1e-9),
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
