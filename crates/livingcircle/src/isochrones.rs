//! Isochrones: the area each place reaches on foot within each threshold, with
//! what it holds (people, facilities by category).
//!
//! Places go through the isochrone engine (`livingcircle_iso`) in chunks, in
//! parallel; each chunk's features — typed properties and, unless only the numbers
//! are asked for, the geometry as a geo-types `MultiPolygon` in lon/lat — go to a
//! `LayerWriter` as soon as the chunk is done, so memory does not grow with the
//! number of places. [`Study::isochrones`] collects them in memory as Arrow instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use geo::MultiPolygon;
use livingcircle_analysis::{Facility, Home, Preset, r1, snap_places};
use livingcircle_export::schema::{LayerWriter, RowBuf, Rows, Schema, Value};
use livingcircle_export::{ArrowLayer, IsoColumns, isochrones_schema};
use livingcircle_graph::WalkGraph;
use livingcircle_iso::{IsoError, IsoOptions, IsoScratch, isochrones};
use livingcircle_reach::{PerThread, Spot, Targets};
use livingcircle_snap::{Snap, Snapper};
use rayon::prelude::*;

use crate::{Error, Progress, Study};

/// A place to draw isochrones for.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Its id in the layer.
    pub id: String,
    /// Its name, if any.
    pub name: Option<String>,
    /// Where it joins the network (`None`: unsnapped, no polygon).
    pub snap: Option<Snap>,
}

/// An isochrone job: thresholds, and what the polygons count.
pub struct IsoJob<'a> {
    /// The network.
    pub graph: &'a WalkGraph,
    /// The preset (its categories are counted).
    pub preset: &'a Preset,
    /// The residences (their people are counted).
    pub homes: &'a [Home],
    /// The facilities (counted by category).
    pub facilities: &'a [Facility],
    /// Thresholds, buffer, simplification.
    pub options: IsoOptions,
    /// The thresholds in minutes, when they were given so (a `minutes` column).
    pub minutes: Option<Vec<f64>>,
    /// The residences' and facilities' snaps, as the analysis made them
    /// (`livingcircle_analysis::snap_places`).
    pub home_snaps: &'a [Option<Snap>],
    /// Each facility's access points (an area's all count it).
    pub fac_access: &'a [Vec<Snap>],
}

/// What to draw, as `livingcircle isochrones` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct IsochroneOptions {
    /// Thresholds in minutes of walking (when `meters` is empty).
    pub minutes: Vec<f64>,
    /// Thresholds in metres of network distance; when given, `minutes` is not used.
    pub meters: Vec<f64>,
    /// Walking speed; `None`: the preset's, else 4.8 km/h.
    pub speed_kmh: Option<f64>,
    /// Half-width of the band drawn along each reached street, metres.
    pub buffer_m: f64,
    /// Simplification tolerance, metres (0: off).
    pub simplify_m: f64,
    /// Rings (each polygon minus the next smaller) instead of nested areas.
    pub rings: bool,
    /// Geometry as well as the numbers (`false`: `--stats-only`).
    pub geometry: bool,
    /// How far a place may lie from the network, metres.
    pub max_snap_m: f64,
}

impl Default for IsochroneOptions {
    /// 5, 10 and 15 minutes; a 25 m band; 1 m simplification; nested areas with
    /// geometry; places up to 200 m from the network.
    fn default() -> Self {
        IsochroneOptions {
            minutes: vec![5.0, 10.0, 15.0],
            meters: Vec::new(),
            speed_kmh: None,
            buffer_m: 25.0,
            simplify_m: 1.0,
            rings: false,
            geometry: true,
            max_snap_m: 200.0,
        }
    }
}

impl IsochroneOptions {
    /// The engine's options (thresholds sorted, in millimetres) and the minutes
    /// column, checked: distinct thresholds below 4,294 km, a buffer and a
    /// simplification the engine takes.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the option.
    pub fn engine(&self, preset: &Preset) -> Result<(IsoOptions, Option<Vec<f64>>), Error> {
        let speed_kmh = self.speed_kmh.or(preset.speed_kmh).unwrap_or(4.8);
        let bad = |m: String| Err(Error::Invalid(m));
        if !(speed_kmh.is_finite() && speed_kmh > 0.0) {
            return bad(format!(
                "--speed-kmh {speed_kmh}: must be a positive number"
            ));
        }
        let given = if self.meters.is_empty() {
            &self.minutes
        } else {
            &self.meters
        };
        if given.is_empty() {
            return bad("--minutes/--meters: no thresholds".into());
        }
        if let Some(x) = given.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
            return bad(format!(
                "--minutes/--meters {x}: thresholds must be positive numbers"
            ));
        }
        let (metres, minutes): (Vec<f64>, Option<Vec<f64>>) = if self.meters.is_empty() {
            (
                self.minutes
                    .iter()
                    .map(|x| x * speed_kmh * 1000.0 / 60.0)
                    .collect(),
                Some(self.minutes.clone()),
            )
        } else {
            (self.meters.clone(), None)
        };
        let mut order: Vec<usize> = (0..metres.len()).collect();
        order.sort_by(|&i, &j| metres[i].total_cmp(&metres[j]));
        let metres: Vec<f64> = order.iter().map(|&i| metres[i]).collect();
        let minutes = minutes.map(|m| order.iter().map(|&i| m[i]).collect::<Vec<f64>>());
        if metres.iter().any(|&m| m * 1000.0 >= f64::from(u32::MAX)) {
            return bad("--minutes/--meters: thresholds must be below 4,294 km".into());
        }
        let mut options = IsoOptions::new(
            metres.iter().map(|m| (m * 1000.0).round() as u32).collect(),
            self.buffer_m,
        );
        if options.thresholds_mm.len() != metres.len() {
            return bad("--minutes/--meters: thresholds must be distinct".into());
        }
        options.rings = self.rings;
        options.simplify_m = self.simplify_m;
        options.geometry = self.geometry;
        check_options(&options)?;
        Ok((options, minutes))
    }
}

/// How many unsnapped places a report lists by id (all are counted).
pub const LISTED_UNSNAPPED: usize = 20;

/// What a run of [`write_isochrones`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct IsoReport {
    /// Polygons (or rows of numbers) written.
    pub polygons: u64,
    /// Places without a polygon (farther than the snapping distance from the network).
    pub unsnapped: u64,
    /// The first [`LISTED_UNSNAPPED`] of them.
    pub unsnapped_ids: Vec<String>,
    /// How long drawing and writing took.
    pub seconds: f64,
}

/// A property value.
#[derive(Debug, Clone, PartialEq)]
enum Prop {
    Str(String),
    Null,
    /// A number written as a float (`12.0` in JSON).
    Num(f64),
    Int(u64),
}

/// One isochrone as written: property values in [`schema`] order and, unless only
/// the numbers were asked for, the shape in lon/lat (every coordinate rounded to 7
/// decimals; valid, exteriors counter-clockwise).
struct Feature {
    props: Vec<Prop>,
    geometry: Option<MultiPolygon>,
}

/// The layer's columns for this job, declared once in `export`.
pub fn schema(job: &IsoJob<'_>) -> Schema {
    isochrones_schema(
        job.preset,
        IsoColumns {
            minutes: job.minutes.is_some(),
            rings: job.options.rings,
        },
    )
}

/// A chunk of features as rows of the layer.
struct IsoRows<'f>(&'f [Feature]);

impl Rows for IsoRows<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let f = &self.0[i];
        buf.values.extend(f.props.iter().map(|p| match p {
            Prop::Str(s) => Value::Text(s),
            Prop::Null => Value::Null,
            Prop::Num(x) => Value::Float(*x),
            Prop::Int(n) => Value::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        }));
        if let Some(mp) = &f.geometry {
            for p in &mp.0 {
                for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                    buf.coords.extend(r.0.iter().map(|c| [c.x, c.y]));
                    buf.end_ring();
                }
                buf.end_polygon();
            }
        }
    }
}

/// The ids ([`Targets::id_of`]) whose network point the last search from `spot`
/// reached, each once, with the distance to its nearest target left in `best`
/// (indexed by id; `u32::MAX` elsewhere; the caller resets it).
fn reached(
    g: &WalkGraph,
    spot: &Spot,
    search: &livingcircle_reach::Scratch,
    targets: &Targets,
    best: &mut [u32],
) -> Vec<u32> {
    let mut ids = Vec::new();
    let mut offer = |t: u32, v: u32, ids: &mut Vec<u32>| {
        let id = targets.id_of(t);
        let b = &mut best[id as usize];
        if *b == u32::MAX {
            ids.push(id);
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

/// `--buffer-m` or `--simplify-m` problems as the one-line error naming the option.
///
/// # Errors
/// [`Error::Invalid`].
pub fn check_options(o: &IsoOptions) -> Result<(), Error> {
    o.check().map_err(|e| {
        Error::Invalid(match e {
            IsoError::BadSimplify { simplify_m } => format!("--simplify-m {simplify_m}: {e}"),
            IsoError::TooManyThresholds { .. } => format!("--minutes/--meters: {e}"),
            _ => format!("--buffer-m {}: {e}", o.buffer_m),
        })
    })
}

/// Draws every origin's isochrones and streams them to `sink`, in origin order;
/// chunks of origins run in parallel. `progress` hears [`Progress::Isochrones`]
/// after each chunk; `cancel` is checked between chunks.
///
/// # Errors
/// Bad options ([`check_options`]), writing failed, or [`Error::Cancelled`].
pub fn write_isochrones(
    job: &IsoJob<'_>,
    origins: &[Origin],
    sink: &mut dyn LayerWriter,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<IsoReport, Error> {
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
    // A facility is one id, reached at the nearest of its access points.
    let (fac_spots, fac_owner): (Vec<Spot>, Vec<u32>) = job
        .fac_access
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.iter().map(move |s| (at_network(s), i as u32)))
        .unzip();
    let fac_targets = Targets::grouped(g, fac_spots, fac_owner, job.fac_access.len());
    let ncat = job.preset.categories.len();
    let t = &job.options.thresholds_mm;
    let cols = schema(job).fields.len();
    let rings = job.options.rings;

    let mut report = IsoReport {
        polygons: 0,
        unsnapped: 0,
        unsnapped_ids: Vec::new(),
        seconds: 0.0,
    };
    let total = origins.len() as u64;
    let mut done = 0;
    progress(Progress::Isochrones { done, total });
    // Per-thread scratch made once for the whole run: the edge simplification and
    // the distance stamps it caches are reused by every chunk.
    let scratch = PerThread::new(|| {
        (
            IsoScratch::new(g),
            vec![u32::MAX; home_targets.ids()],
            vec![u32::MAX; fac_targets.ids()],
        )
    });
    let props = |o: &Origin, k: usize, area: f64, network: f64, population: f64, counts: &[u32]| {
        let mut p = Vec::with_capacity(cols);
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
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
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
                                counts[job.facilities[f as usize].category] += 1;
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
        sink.write(&IsoRows(&features))?;
        done += chunk.len() as u64;
        progress(Progress::Isochrones { done, total });
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

impl Study {
    /// The layer's columns for `opts` (to create writers before drawing).
    ///
    /// # Errors
    /// [`Error::Invalid`]: options the engine refuses.
    pub fn isochrone_schema(&self, opts: &IsochroneOptions) -> Result<Schema, Error> {
        let (options, minutes) = opts.engine(&self.preset)?;
        Ok(isochrones_schema(
            &self.preset,
            IsoColumns {
                minutes: minutes.is_some(),
                rings: options.rings,
            },
        ))
    }

    /// Draws the isochrones of `points` (ids from the file, else their row
    /// number), else of every residence (ids: the user's, else the OpenStreetMap
    /// element, else the row number), and streams them to `sink`, as `livingcircle
    /// isochrones` does. Populations and facilities are counted from the study's
    /// places, each snapped as the analysis snaps it.
    ///
    /// # Errors
    /// [`Error::Invalid`] for options the engine refuses or no places at all;
    /// writing failed; [`Error::Cancelled`].
    ///
    /// # Example
    /// ```
    /// use std::sync::atomic::AtomicBool;
    /// use livingcircle::{IsochroneOptions, Preset, Study, StudyOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let study = Study::load(path.as_ref(), Preset::load("gb50180").unwrap(),
    ///     &StudyOptions::default(), &|_| {}).unwrap();
    /// let opts = IsochroneOptions { minutes: vec![5.0], geometry: false, ..Default::default() };
    /// let (layer, report) = study.isochrones(&opts, None, &|_| {}, &AtomicBool::new(false)).unwrap();
    /// assert_eq!(layer.num_rows() as u64, report.polygons);
    /// ```
    pub fn isochrones_to(
        &self,
        opts: &IsochroneOptions,
        points: Option<Vec<livingcircle_analysis::input::UserPlace>>,
        sink: &mut dyn LayerWriter,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<IsoReport, Error> {
        let (options, minutes) = opts.engine(&self.preset)?;
        progress(Progress::Snapping);
        let g = &self.city.graph;
        let snapper = Snapper::new(g);
        let (home_snaps, fac_access) =
            snap_places(&snapper, &self.homes, &self.facilities, opts.max_snap_m);
        let fac_access: Vec<Vec<Snap>> = fac_access.into_iter().map(|a| a.snaps).collect();
        let origins: Vec<Origin> = match points {
            Some(p) => {
                let proj = *g.projection();
                p.into_iter()
                    .enumerate()
                    .map(|(i, p)| Origin {
                        id: p.id.clone().unwrap_or_else(|| i.to_string()),
                        name: p.name,
                        snap: snapper.snap_point(proj.project(p.lonlat), opts.max_snap_m),
                    })
                    .collect()
            }
            None => self
                .homes
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
            return Err(Error::Invalid(format!(
                "{}: no residences to draw isochrones for; pass --points FILE",
                self.city.path.display()
            )));
        }
        let job = IsoJob {
            graph: g,
            preset: &self.preset,
            homes: &self.homes,
            facilities: &self.facilities,
            options,
            minutes,
            home_snaps: &home_snaps,
            fac_access: &fac_access,
        };
        write_isochrones(&job, &origins, sink, progress, cancel)
    }

    /// [`Study::isochrones_to`] in memory: the layer as Arrow record batches.
    ///
    /// # Errors
    /// As [`Study::isochrones_to`].
    pub fn isochrones(
        &self,
        opts: &IsochroneOptions,
        points: Option<Vec<livingcircle_analysis::input::UserPlace>>,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<(ArrowLayer, IsoReport), Error> {
        let mut layer = ArrowLayer::empty(self.isochrone_schema(opts)?);
        let report = self.isochrones_to(opts, points, &mut &mut layer, progress, cancel)?;
        Ok((layer, report))
    }
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, MultiPolygon, Polygon};
    use livingcircle_export::schema::{Field, GeometryType, Schema, Type};
    use livingcircle_export::{Format, create_writer, round7};

    use super::{Feature, IsoRows, Prop};

    fn ring(pts: &[(f64, f64)]) -> LineString {
        LineString(pts.iter().map(|&(x, y)| Coord { x, y }).collect())
    }

    /// The features as the GeoJSON writer writes them, parsed back.
    fn written(fields: &[&str], features: &[Feature]) -> serde_json::Value {
        let schema = Schema {
            name: "isochrones".into(),
            geometry: GeometryType::MultiPolygon,
            fields: fields.iter().map(|n| Field::new(*n, Type::Text)).collect(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.geojson");
        let mut w = create_writer(Format::GeoJson, &path, &schema).unwrap();
        w.write(&IsoRows(features)).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The geometry text is valid GeoJSON and holds the same numbers as the
    /// `geojson` crate's own serialisation of the rounded rings (one polygon with a
    /// hole → Polygon; two → MultiPolygon).
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
        let features: Vec<Feature> = [one, two]
            .into_iter()
            .map(|mp| Feature {
                props: vec![],
                geometry: Some(mp),
            })
            .collect();
        let fc = written(&[], &features);
        for (f, want) in fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .zip([want_one, want_two])
        {
            let parsed: geojson::Geometry =
                serde_json::from_value(f["geometry"].clone()).expect("valid GeoJSON geometry");
            assert_eq!(parsed.value, want, "{f}");
        }
    }

    /// A feature's properties are what serde_json writes for the same values (names
    /// and values escaped, floats as floats), with a null geometry when there is none.
    #[test]
    fn feature_text_equals_serde_json() {
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
        let fc = written(&["id", "name", "a\"b", "n", "k"], &[f]);
        let want = serde_json::json!({"type": "Feature", "geometry": null, "properties":
            {"id": "w1, \"x\"", "name": null, "a\"b": 12.0, "n": 0.1, "k": 3}});
        assert_eq!(fc["features"][0], want);
    }

    /// Thresholds are sorted with their minutes, in millimetres at the speed;
    /// refused: none, repeated, not positive, too long, or a bad buffer.
    #[test]
    fn engine_options_are_checked() {
        use super::IsochroneOptions;
        let preset = livingcircle_analysis::Preset::load("gb50180").unwrap();
        let o = IsochroneOptions {
            minutes: vec![10.0, 5.0],
            speed_kmh: Some(6.0),
            ..IsochroneOptions::default()
        };
        let (e, minutes) = o.engine(&preset).unwrap();
        assert_eq!(e.thresholds_mm, [500_000, 1_000_000]);
        assert_eq!(minutes, Some(vec![5.0, 10.0]));
        let m = IsochroneOptions {
            meters: vec![300.0],
            ..o.clone()
        };
        assert_eq!(m.engine(&preset).unwrap().1, None);
        let bad = |o: IsochroneOptions| o.engine(&preset).unwrap_err().to_string();
        assert!(
            bad(IsochroneOptions {
                minutes: vec![5.0, 5.0],
                ..o.clone()
            })
            .contains("distinct")
        );
        assert!(
            bad(IsochroneOptions {
                minutes: vec![],
                ..o.clone()
            })
            .contains("no thresholds")
        );
        assert!(
            bad(IsochroneOptions {
                minutes: vec![-1.0],
                ..o.clone()
            })
            .contains("positive")
        );
        assert!(
            bad(IsochroneOptions {
                meters: vec![5e6],
                ..o.clone()
            })
            .contains("4,294 km")
        );
        assert!(
            bad(IsochroneOptions {
                buffer_m: 0.0,
                ..o.clone()
            })
            .starts_with("--buffer-m 0")
        );
        assert!(
            bad(IsochroneOptions {
                speed_kmh: Some(0.0),
                ..o.clone()
            })
            .starts_with("--speed-kmh 0")
        );
    }
}
