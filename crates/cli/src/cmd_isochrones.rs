//! `livingcircle isochrones`, and the isochrone layer of `analyze --isochrones`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use geo::{LineString, MultiPolygon};
use geojson::JsonObject;
use livingcircle_analysis::input::read_places;
use livingcircle_analysis::{
    Facility, Home, Preset, facilities_from_osm, homes_from_osm, snap_places,
};
use livingcircle_export::{FeatureSink, feature_json_raw, push_coord};
use livingcircle_graph::WalkGraph;
use livingcircle_iso::{IsoOptions, IsoScratch, isochrones};
use livingcircle_reach::{PerThread, Spot, Targets};
use livingcircle_snap::{Snap, Snapper};
use rayon::prelude::*;
use serde_json::json;

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

/// What [`write_isochrones`] did.
pub(crate) struct IsoReport {
    pub(crate) polygons: u64,
    pub(crate) unsnapped: Vec<String>,
    pub(crate) seconds: f64,
}

/// The shape as GeoJSON geometry text in lon/lat (RFC 7946: at most 7 decimals),
/// written straight into a string: the same text as serialising a geojson value,
/// without building one (millions of coordinates per city).
fn geometry_json(mp: &MultiPolygon, proj: &livingcircle_osm::proj::LocalProjection) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(64);
    let ring = |ls: &LineString, out: &mut Vec<u8>| {
        out.push(b'[');
        for (i, c) in ls.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let [lon, lat] = proj.unproject([c.x, c.y]);
            out.push(b'[');
            push_coord(out, lon);
            out.push(b',');
            push_coord(out, lat);
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
        poly(&mp.0[0], &mut out);
    } else {
        out.extend_from_slice(b"{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (i, p) in mp.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            poly(p, &mut out);
        }
        out.push(b']');
    }
    out.push(b'}');
    String::from_utf8(out).expect("ASCII JSON")
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

/// One isochrone as a GeoJSON Feature (JSON text).
fn feature(
    job: &IsoJob<'_>,
    o: &Origin,
    iso: &livingcircle_iso::Isochrone,
    population: f64,
    counts: &[u32],
    proj: &livingcircle_osm::proj::LocalProjection,
) -> String {
    let t = &job.options.thresholds_mm;
    let k = iso.threshold;
    let mut p = JsonObject::new();
    p.insert("id".into(), json!(o.id));
    p.insert("name".into(), json!(o.name));
    if let Some(m) = &job.minutes {
        p.insert("threshold_min".into(), json!(m[k]));
        if job.options.rings {
            p.insert("from_min".into(), json!(if k > 0 { m[k - 1] } else { 0.0 }));
        }
    }
    p.insert("threshold_m".into(), json!(f64::from(t[k]) / 1000.0));
    if job.options.rings {
        p.insert(
            "from_m".into(),
            json!(if k > 0 {
                f64::from(t[k - 1]) / 1000.0
            } else {
                0.0
            }),
        );
    }
    p.insert("area_m2".into(), json!(iso.area_m2.round()));
    p.insert(
        "network_m".into(),
        json!(livingcircle_analysis::r1(iso.network_m)),
    );
    p.insert(
        "population".into(),
        json!(livingcircle_analysis::r1(population)),
    );
    for (c, cat) in job.preset.categories.iter().enumerate() {
        p.insert(format!("{}_count", cat.key), json!(counts[c]));
    }
    feature_json_raw(&geometry_json(&iso.shape, proj), &p)
}

/// Draws every origin's isochrones and streams them to `path` (atomically), in
/// origin order; chunks of origins run in parallel.
pub(crate) fn write_isochrones(
    job: &IsoJob<'_>,
    origins: &[Origin],
    path: &Path,
    stages: &Stages,
) -> anyhow::Result<IsoReport> {
    let t0 = Instant::now();
    let g = job.graph;
    let proj = *g.projection();
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

    let mut sink = FeatureSink::create(path)?;
    let mut report = IsoReport {
        polygons: 0,
        unsnapped: Vec::new(),
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
    for chunk in origins.chunks(256) {
        let results: Vec<Option<Vec<String>>> = chunk
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
                        let (lo, hi) = if job.options.rings && k > 0 {
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
                        out.push(feature(job, o, &iso, population, &counts, &proj));
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
        stages.inc(chunk.len() as u64);
        for (o, r) in chunk.iter().zip(results) {
            let Some(features) = r else {
                report.unsnapped.push(o.id.clone());
                continue;
            };
            for f in features {
                sink.push_json(&f)?;
                report.polygons += 1;
            }
        }
    }
    sink.finish()?;
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

pub(crate) fn run(global: &Global, a: &IsochronesArgs) -> anyhow::Result<()> {
    let preset = Preset::load(&a.preset)?;
    let speed_kmh = speed(&a.speed, &preset);
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        ensure_dir(dir)?;
    }
    let points = a.points.as_deref().map(read_places).transpose()?;
    let stages = Stages::new(global.quiet);
    let city = load(&a.osm, preset.poi_filter(), &stages)?;
    let homes = homes_from_osm(&city.data);
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
    let mut options = IsoOptions::new(
        metres.iter().map(|m| (m * 1000.0).round() as u32).collect(),
        a.buffer_m,
    );
    if options.thresholds_mm.len() != metres.len() {
        anyhow::bail!("thresholds must be distinct");
    }
    options.rings = a.rings;
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
    let r = write_isochrones(&job, &origins, &a.out, &stages)
        .with_context(|| format!("{}", a.out.display()))?;
    stages.done();
    if !r.unsnapped.is_empty() {
        tracing::warn!(
            "{} of {} points are farther than {} m from every walkable way and got no polygon: {}",
            r.unsnapped.len(),
            origins.len(),
            a.max_snap_m,
            r.unsnapped
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !global.quiet {
        outln!(
            "{} polygons for {} points ({} unsnapped: {}) in {:.2} s ({:.0} polygons/s) -> {}",
            r.polygons,
            origins.len(),
            r.unsnapped.len(),
            r.unsnapped.join(" "),
            r.seconds,
            r.polygons as f64 / r.seconds.max(1e-9),
            a.out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, MultiPolygon, Polygon};
    use livingcircle_export::round7;
    use livingcircle_osm::proj::LocalProjection;

    use super::geometry_json;

    fn ring(pts: &[(f64, f64)]) -> LineString {
        LineString(pts.iter().map(|&(x, y)| Coord { x, y }).collect())
    }

    /// The hand-written geometry text is valid GeoJSON and holds the same numbers as
    /// the `geojson` crate's own serialisation of the unprojected, rounded rings
    /// (one polygon with a hole → Polygon; two → MultiPolygon).
    #[test]
    fn geometry_text_equals_geojson_crate() {
        let proj = LocalProjection::new(106.2309, 38.4872);
        let outer = ring(&[
            (0.0, 0.0),
            (812.37, 0.0),
            (812.37, 640.004),
            (-3.5, 640.004),
            (0.0, 0.0),
        ]);
        let hole = ring(&[
            (100.0, 100.0),
            (100.0, 200.25),
            (210.125, 200.25),
            (100.0, 100.0),
        ]);
        let far = ring(&[
            (-5000.0, -7000.0),
            (-4900.0, -7000.0),
            (-4900.0, -6900.0),
            (-5000.0, -7000.0),
        ]);
        let positions = |ls: &LineString| -> Vec<Vec<f64>> {
            ls.0.iter()
                .map(|c| {
                    let [lon, lat] = proj.unproject([c.x, c.y]);
                    vec![round7(lon), round7(lat)]
                })
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
            let text = geometry_json(&mp, &proj);
            let parsed: geojson::Geometry = text.parse().expect("valid GeoJSON geometry");
            assert_eq!(parsed.value, want, "{text}");
            let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
            let theirs = serde_json::to_value(geojson::Geometry::new(want)).unwrap();
            assert_eq!(ours, theirs);
        }
    }
}
