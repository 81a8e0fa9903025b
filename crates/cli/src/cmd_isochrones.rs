//! `livingcircle isochrones`, and the isochrone layer of `analyze --isochrones`.
//!
//! Places go through the isochrone engine in chunks, in parallel; each chunk's
//! features — typed properties and, unless only the numbers are asked for, the
//! geometry as a geo-types `MultiPolygon` in lon/lat — go to a [`FeatureSink`] as soon
//! as the chunk is done, so memory does not grow with the number of places. A sink
//! writes one format (GeoJSON, CSV); another format is another sink.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use geo::{CoordsIter, LineString, MultiPolygon};
use livingcircle_analysis::input::read_places;
use livingcircle_analysis::{
    Facility, Home, Preset, facilities_from_osm, homes_from_osm, r1, snap_places,
};
use livingcircle_export::{AtomicFile, push_coord};
use livingcircle_graph::WalkGraph;
use livingcircle_iso::{IsoError, IsoOptions, IsoScratch, isochrones};
use livingcircle_reach::{PerThread, Spot, Targets};
use livingcircle_snap::{Snap, Snapper};
use rayon::prelude::*;

use crate::args::{Global, IsochronesArgs};
use crate::cmd_analyze::speed;
use crate::load::{ensure_dir, load};
use crate::progress::Stages;

/// A place to draw isochrones for.
pub(crate) struct Origin {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    /// Where it joins the network (`None`: unsnapped, no polygon).
    pub(crate) snap: Option<Snap>,
}

/// The isochrone job: thresholds, what to count, where to write.
pub(crate) struct IsoJob<'a> {
    pub(crate) graph: &'a WalkGraph,
    pub(crate) preset: &'a Preset,
    pub(crate) homes: &'a [Home],
    pub(crate) facilities: &'a [Facility],
    pub(crate) options: IsoOptions,
    pub(crate) minutes: Option<Vec<f64>>,
    /// The residences' and facilities' snaps, as the analysis made them
    /// (`livingcircle_analysis::snap_places`).
    pub(crate) home_snaps: &'a [Option<Snap>],
    pub(crate) fac_snaps: &'a [Option<Snap>],
}

/// How many unsnapped places a report lists by id (all are counted).
const LISTED_UNSNAPPED: usize = 20;

/// What a run of [`write_layer`] did.
pub(crate) struct IsoReport {
    pub(crate) polygons: u64,
    /// Places without a polygon (farther than the snapping distance from the network).
    pub(crate) unsnapped: u64,
    /// The first [`LISTED_UNSNAPPED`] of them.
    pub(crate) unsnapped_ids: Vec<String>,
    pub(crate) seconds: f64,
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prop {
    Str(String),
    Null,
    /// A number written as a JSON float (`12.0`).
    Num(f64),
    Int(u64),
}

/// One isochrone as written: property values in [`columns`] order and, unless only
/// the numbers were asked for, the shape in lon/lat (every coordinate rounded to 7
/// decimals; valid, exteriors counter-clockwise).
pub(crate) struct Feature {
    pub(crate) props: Vec<Prop>,
    pub(crate) geometry: Option<MultiPolygon>,
}

/// Where features go, chunk by chunk, in order.
pub(crate) trait FeatureSink {
    /// Writes one chunk (implementations may encode it in parallel).
    fn write_chunk(&mut self, columns: &[String], features: Vec<Feature>) -> anyhow::Result<()>;
    /// Completes the file (renamed into place only now).
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// The property columns of the job, in order.
pub(crate) fn columns(job: &IsoJob<'_>) -> Vec<String> {
    let mut c: Vec<String> = vec!["id".into(), "name".into()];
    if job.minutes.is_some() {
        c.push("threshold_min".into());
        if job.options.rings {
            c.push("from_min".into());
        }
    }
    c.push("threshold_m".into());
    if job.options.rings {
        c.push("from_m".into());
    }
    for k in ["area_m2", "network_m", "population"] {
        c.push(k.into());
    }
    for cat in &job.preset.categories {
        c.push(format!("{}_count", cat.key));
    }
    c
}

/// Appends `mp` (lon/lat) as GeoJSON geometry text (RFC 7946, at most 7 decimals),
/// without building a JSON value: Polygon for one part, MultiPolygon for more.
fn geometry_json(mp: &MultiPolygon, out: &mut Vec<u8>) {
    let ring = |ls: &LineString, out: &mut Vec<u8>| {
        out.push(b'[');
        for (i, c) in ls.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            push_coord(out, c.x);
            out.push(b',');
            push_coord(out, c.y);
            out.push(b']');
        }
        out.push(b']');
    };
    let poly = |p: &geo::Polygon, out: &mut Vec<u8>| {
        out.push(b'[');
        ring(p.exterior(), out);
        for r in p.interiors() {
            out.push(b',');
            ring(r, out);
        }
        out.push(b']');
    };
    if mp.0.len() == 1 {
        out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
        poly(&mp.0[0], out);
    } else {
        out.extend_from_slice(b"{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (i, p) in mp.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            poly(p, out);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// GeoJSON FeatureCollection, streamed (features encoded in parallel).
pub(crate) struct GeoJsonSink {
    file: AtomicFile,
    first: bool,
}

impl GeoJsonSink {
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .map_err(|e| file.error(e))?;
        Ok(GeoJsonSink { file, first: true })
    }

    /// One feature as JSON text.
    fn encode(columns: &[String], f: &Feature) -> Vec<u8> {
        // About 24 bytes a coordinate pair: one allocation for most features.
        let coords = f.geometry.as_ref().map_or(0, |g| g.coords_count());
        let mut out = Vec::with_capacity(512 + 26 * coords);
        out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
        match &f.geometry {
            Some(g) => geometry_json(g, &mut out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"properties\":{");
        for (i, (name, v)) in columns.iter().zip(&f.props).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, name).expect("a string serialises");
            out.push(b':');
            match v {
                Prop::Str(s) => serde_json::to_writer(&mut out, s).expect("a string serialises"),
                Prop::Null => out.extend_from_slice(b"null"),
                Prop::Num(x) => serde_json::to_writer(&mut out, x).expect("a number serialises"),
                Prop::Int(n) => serde_json::to_writer(&mut out, n).expect("a number serialises"),
            }
        }
        out.extend_from_slice(b"}}");
        out
    }
}

impl FeatureSink for GeoJsonSink {
    fn write_chunk(&mut self, columns: &[String], features: Vec<Feature>) -> anyhow::Result<()> {
        let texts: Vec<Vec<u8>> = features
            .par_iter()
            .map(|f| Self::encode(columns, f))
            .collect();
        for t in texts {
            let sep: &[u8] = if self.first { b"" } else { b",\n" };
            self.first = false;
            let r = self
                .file
                .write_all(sep)
                .and_then(|()| self.file.write_all(&t));
            r.map_err(|e| self.file.error(e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.file
            .write_all(b"\n]}\n")
            .map_err(|e| self.file.error(e))?;
        self.file.commit()?;
        Ok(())
    }
}

/// CSV with a header row, no geometry.
pub(crate) struct CsvSink {
    file: AtomicFile,
    header: bool,
}

impl CsvSink {
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        Ok(CsvSink {
            file: AtomicFile::create(path)?,
            header: false,
        })
    }
}

/// `s` as a CSV field (quoted when it holds a comma, quote or line break).
fn csv_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl FeatureSink for CsvSink {
    fn write_chunk(&mut self, columns: &[String], features: Vec<Feature>) -> anyhow::Result<()> {
        let mut text = String::new();
        if !self.header {
            self.header = true;
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                csv_field(c, &mut text);
            }
            text.push('\n');
        }
        for f in &features {
            for (i, v) in f.props.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                match v {
                    Prop::Str(s) => csv_field(s, &mut text),
                    Prop::Null => {}
                    Prop::Num(x) => text.push_str(&x.to_string()),
                    Prop::Int(n) => text.push_str(&n.to_string()),
                }
            }
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| self.file.error(e))?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        self.file.commit()?;
        Ok(())
    }
}

/// The targets whose network point the last search from `spot` reached: their ids,
/// with the distances left in `best` (`u32::MAX` elsewhere; the caller resets it).
fn reached(
    g: &WalkGraph,
    spot: &Spot,
    search: &livingcircle_reach::Scratch,
    targets: &Targets,
    best: &mut [u32],
) -> Vec<u32> {
    let mut ids = Vec::new();
    let mut offer = |t: u32, v: u32, ids: &mut Vec<u32>| {
        let b = &mut best[t as usize];
        if *b == u32::MAX {
            ids.push(t);
        }
        *b = (*b).min(v);
    };
    for &n in search.settled() {
        let d = search.dist(n).expect("settled");
        for &(t, c) in targets.at_node(n) {
            offer(t, d.saturating_add(c), &mut ids);
        }
    }
    for &t in targets.on_edge(spot.edge) {
        if let Some(v) = spot.same_edge_mm(&targets.spots()[t as usize], g) {
            offer(t, v, &mut ids);
        }
    }
    ids
}

/// `--buffer-m` or `--simplify-m` problems as the one-line error naming the flag.
pub(crate) fn check_options(o: &IsoOptions) -> anyhow::Result<()> {
    o.check().map_err(|e| match e {
        IsoError::BadSimplify { simplify_m } => anyhow::anyhow!("--simplify-m {simplify_m}: {e}"),
        IsoError::TooManyThresholds { .. } => anyhow::anyhow!("--minutes/--meters: {e}"),
        _ => anyhow::anyhow!("--buffer-m {}: {e}", o.buffer_m),
    })
}

/// Draws every origin's isochrones and streams them to `sink`, in origin order;
/// chunks of origins run in parallel.
pub(crate) fn write_layer(
    job: &IsoJob<'_>,
    origins: &[Origin],
    sink: &mut dyn FeatureSink,
    stages: &Stages,
) -> anyhow::Result<IsoReport> {
    check_options(&job.options)?;
    let t0 = Instant::now();
    let g = job.graph;
    // What a polygon counts: residences and facilities whose snapped point is reached.
    let at_network = |s: &Snap| Spot {
        leg_mm: 0,
        ..Spot::from(s)
    };
    // Indexed for counting: (index into the places, spot), snapped ones only.
    let indexed = |snaps: &[Option<Snap>]| -> Vec<(usize, Spot)> {
        snaps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, at_network(s))))
            .collect()
    };
    let home_spots = indexed(job.home_snaps);
    let home_targets = Targets::new(g, home_spots.iter().map(|x| x.1).collect());
    let fac_spots = indexed(job.fac_snaps);
    let fac_targets = Targets::new(g, fac_spots.iter().map(|x| x.1).collect());
    let ncat = job.preset.categories.len();
    let t = &job.options.thresholds_mm;
    let cols = columns(job);
    let rings = job.options.rings;

    let mut report = IsoReport {
        polygons: 0,
        unsnapped: 0,
        unsnapped_ids: Vec::new(),
        seconds: 0.0,
    };
    stages.counted("drawing isochrones", origins.len() as u64);
    // Per-thread scratch made once for the whole run: the edge simplification and
    // the distance stamps it caches are reused by every chunk.
    let scratch = PerThread::new(|| {
        (
            IsoScratch::new(g),
            vec![u32::MAX; home_targets.len()],
            vec![u32::MAX; fac_targets.len()],
        )
    });
    let props = |o: &Origin, k: usize, area: f64, network: f64, population: f64, counts: &[u32]| {
        let mut p = Vec::with_capacity(cols.len());
        p.push(Prop::Str(o.id.clone()));
        p.push(o.name.clone().map_or(Prop::Null, Prop::Str));
        if let Some(m) = &job.minutes {
            p.push(Prop::Num(m[k]));
            if rings {
                p.push(Prop::Num(if k > 0 { m[k - 1] } else { 0.0 }));
            }
        }
        p.push(Prop::Num(f64::from(t[k]) / 1000.0));
        if rings {
            p.push(Prop::Num(if k > 0 {
                f64::from(t[k - 1]) / 1000.0
            } else {
                0.0
            }));
        }
        p.push(Prop::Num(area.round()));
        p.push(Prop::Num(r1(network)));
        p.push(Prop::Num(r1(population)));
        p.extend(counts.iter().map(|&c| Prop::Int(u64::from(c))));
        p
    };
    for chunk in origins.chunks(256) {
        let results: Vec<Option<Vec<Feature>>> = chunk
            .par_iter()
            .map(|o| {
                let spot = Spot::from(o.snap.as_ref()?);
                scratch.with(|(s, hbest, fbest)| {
                    let isos = isochrones(g, &spot, &job.options, s);
                    // Distance to each reached residence / facility point.
                    let reached_h = reached(g, &spot, &s.search, &home_targets, hbest);
                    let reached_f = reached(g, &spot, &s.search, &fac_targets, fbest);
                    let mut out = Vec::with_capacity(isos.len());
                    for iso in isos {
                        let k = iso.threshold;
                        let (lo, hi) = if rings && k > 0 {
                            (t[k - 1], t[k])
                        } else {
                            (0, t[k])
                        };
                        let within = |d: u32| d <= hi && (lo == 0 || d > lo);
                        let population: f64 = reached_h
                            .iter()
                            .filter(|&&h| within(hbest[h as usize]))
                            .map(|&h| job.homes[home_spots[h as usize].0].population)
                            .sum();
                        let mut counts = vec![0u32; ncat];
                        for &f in &reached_f {
                            if within(fbest[f as usize]) {
                                counts[job.facilities[fac_spots[f as usize].0].category] += 1;
                            }
                        }
                        out.push(Feature {
                            props: props(o, k, iso.area_m2, iso.network_m, population, &counts),
                            geometry: job.options.geometry.then(|| livingcircle_iso::lonlat(&iso)),
                        });
                    }
                    for &h in &reached_h {
                        hbest[h as usize] = u32::MAX;
                    }
                    for &f in &reached_f {
                        fbest[f as usize] = u32::MAX;
                    }
                    Some(out)
                })
            })
            .collect();
        let mut features = Vec::with_capacity(chunk.len() * t.len());
        for (o, r) in chunk.iter().zip(results) {
            let Some(fs) = r else {
                report.unsnapped += 1;
                if report.unsnapped_ids.len() < LISTED_UNSNAPPED {
                    report.unsnapped_ids.push(o.id.clone());
                }
                continue;
            };
            report.polygons += fs.len() as u64;
            features.extend(fs);
        }
        sink.write_chunk(&cols, features)?;
        stages.inc(chunk.len() as u64);
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Draws every origin's isochrones into the GeoJSON file `path` (atomically).
pub(crate) fn write_isochrones(
    job: &IsoJob<'_>,
    origins: &[Origin],
    path: &Path,
    stages: &Stages,
) -> anyhow::Result<IsoReport> {
    check_options(&job.options)?;
    let mut sink = GeoJsonSink::create(path)?;
    let report = write_layer(job, origins, &mut sink, stages)?;
    Box::new(sink).finish()?;
    Ok(report)
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
    let (home_snaps, fac_snaps) = snap_places(&snapper, &homes, &facilities, a.max_snap_m);
    let origins: Vec<Origin> = match points {
        Some(p) => {
            let proj = *city.graph.projection();
            p.into_iter()
                .enumerate()
                .map(|(i, p)| Origin {
                    id: i.to_string(),
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
                id: h.osm_id.map_or_else(|| i.to_string(), |o| o.to_string()),
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
        fac_snaps: &fac_snaps,
    };
    let mut sink: Box<dyn FeatureSink> = if csv {
        Box::new(CsvSink::create(&out)?)
    } else {
        Box::new(GeoJsonSink::create(&out)?)
    };
    let r = write_layer(&job, &origins, sink.as_mut(), &stages)
        .with_context(|| format!("{}", out.display()))?;
    sink.finish()
        .with_context(|| format!("{}", out.display()))?;
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
            out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, MultiPolygon, Polygon};
    use livingcircle_export::round7;

    use super::{Feature, GeoJsonSink, Prop, csv_field, geometry_json};

    fn ring(pts: &[(f64, f64)]) -> LineString {
        LineString(pts.iter().map(|&(x, y)| Coord { x, y }).collect())
    }

    /// The hand-written geometry text is valid GeoJSON and holds the same numbers as
    /// the `geojson` crate's own serialisation of the rounded rings (one polygon with
    /// a hole → Polygon; two → MultiPolygon).
    #[test]
    fn geometry_text_equals_geojson_crate() {
        let outer = ring(&[
            (11.5, 48.1),
            (11.5123456789, 48.1),
            (11.5123456789, 48.10999),
            (11.49999999, 48.10999),
            (11.5, 48.1),
        ]);
        let hole = ring(&[
            (11.501, 48.101),
            (11.501, 48.102),
            (11.502, 48.102),
            (11.501, 48.101),
        ]);
        let far = ring(&[
            (-0.0000001, -0.00000004),
            (0.001, 0.0),
            (0.001, 0.001),
            (-0.0000001, -0.00000004),
        ]);
        let positions = |ls: &LineString| -> Vec<Vec<f64>> {
            ls.0.iter()
                .map(|c| vec![round7(c.x), round7(c.y)])
                .collect()
        };
        let one = MultiPolygon(vec![Polygon::new(outer.clone(), vec![hole.clone()])]);
        let two = MultiPolygon(vec![
            Polygon::new(outer.clone(), vec![hole.clone()]),
            Polygon::new(far.clone(), vec![]),
        ]);
        let want_one = geojson::Value::Polygon(vec![positions(&outer), positions(&hole)]);
        let want_two = geojson::Value::MultiPolygon(vec![
            vec![positions(&outer), positions(&hole)],
            vec![positions(&far)],
        ]);
        for (mp, want) in [(one, want_one), (two, want_two)] {
            let mut text = Vec::new();
            geometry_json(&mp, &mut text);
            let text = String::from_utf8(text).unwrap();
            let parsed: geojson::Geometry = text.parse().expect("valid GeoJSON geometry");
            assert_eq!(parsed.value, want, "{text}");
        }
    }

    /// A feature's text is what serde_json writes for the same properties (names and
    /// values escaped, floats as floats), with a null geometry when there is none.
    #[test]
    fn feature_text_equals_serde_json() {
        let cols: Vec<String> = vec![
            "id".into(),
            "name".into(),
            "a\"b".into(),
            "n".into(),
            "k".into(),
        ];
        let f = Feature {
            props: vec![
                Prop::Str("w1, \"x\"".into()),
                Prop::Null,
                Prop::Num(12.0),
                Prop::Num(0.1),
                Prop::Int(3),
            ],
            geometry: None,
        };
        let text = String::from_utf8(GeoJsonSink::encode(&cols, &f)).unwrap();
        let want = serde_json::json!({"type": "Feature", "geometry": null, "properties":
            {"id": "w1, \"x\"", "name": null, "a\"b": 12.0, "n": 0.1, "k": 3}});
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            want
        );
        assert!(text.contains("\"a\\\"b\":12.0"), "{text}");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let mut s = String::new();
        for f in ["plain", "a,b", "say \"hi\"", "two\nlines"] {
            csv_field(f, &mut s);
            s.push('|');
        }
        assert_eq!(s, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|");
    }
}
