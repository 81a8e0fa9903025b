//! The `livingcircle._livingcircle` extension module: the library's facade for
//! Python. The package `livingcircle` (python/livingcircle) wraps it: results come
//! back as pyarrow Tables (zero-copy through the Arrow C stream interface) and, when
//! GeoPandas is installed, as GeoDataFrames.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use livingcircle::{
    Analyzed, ArrowLayer, CandidatePlaces, IsochroneOptions, Places, Preset, Progress, Sited,
    SitingOptions, Source, Study, StudyOptions, Weight,
};
use livingcircle_export::Format;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};

/// How often a waiting call looks for Ctrl-C.
const POLL: Duration = Duration::from_millis(100);

// `livingcircle.Error`: named by the module users import it from, so that it pickles.
create_exception!(
    livingcircle,
    Error,
    PyException,
    "A livingcircle error: a missing or invalid file, an unknown preset, a bad option."
);

/// An error and its causes on one line, as the command line prints them (`{:#}`).
fn one_line(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    livingcircle::staging::public_paths(&msg)
}

/// What the work reported since the waiting thread last looked: the first and
/// last report of each stage (so that none is missed and each is seen to its
/// end), and the latest.
#[derive(Default)]
struct Reports {
    starts: Vec<Progress>,
    latest: Option<Progress>,
}

impl Reports {
    fn tell(&mut self, p: Progress) {
        if self.latest.is_none_or(|l| l.stage() != p.stage()) {
            // The stage that ends is shown at its last count (a bar at 100 %).
            if let Some(l) = self.latest
                && self.starts.last() != Some(&l)
            {
                self.starts.push(l);
            }
            self.starts.push(p);
        }
        self.latest = Some(p);
    }
}

/// Hands what `reports` holds to `callback(stage, done, total)`: each new stage's
/// start, then the latest count when it differs from what was shown.
fn show(
    callback: &Bound<'_, PyAny>,
    reports: &Mutex<Reports>,
    shown: &mut Option<Progress>,
) -> PyResult<()> {
    let (starts, latest) = {
        let mut r = reports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (std::mem::take(&mut r.starts), r.latest)
    };
    for p in starts.into_iter().chain(latest) {
        if Some(p) != *shown {
            *shown = Some(p);
            let (done, total) = p.count().map_or((None, None), |(d, t)| (Some(d), Some(t)));
            callback.call1((p.stage(), done, total))?;
        }
    }
    Ok(())
}

/// Runs `work` on a thread of its own while this one waits without the GIL and
/// looks for signals: Ctrl-C sets `cancel` and, once `work` has returned (an
/// analysis stops at its next chunk of residences; reading a file finishes first),
/// raises KeyboardInterrupt. Every wake-up (10 a second, and once at the end)
/// hands the work's progress to `callback(stage, done, total)`: every stage's
/// start, and the latest count; an exception there cancels the work and is raised.
fn interruptible<T: Send>(
    py: Python<'_>,
    cancel: &AtomicBool,
    callback: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce(&(dyn Fn(Progress) + Sync)) -> Result<T, String> + Send,
) -> PyResult<T> {
    let reports = Mutex::new(Reports::default());
    let mut shown: Option<Progress> = None;
    let tell = |p: Progress| {
        reports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .tell(p);
    };
    std::thread::scope(|s| {
        let worker = s.spawn(|| work(&tell));
        loop {
            py.detach(|| {
                let t = Instant::now();
                while !worker.is_finished() && t.elapsed() < POLL {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            let finished = worker.is_finished();
            let mut failed = callback.and_then(|cb| show(cb, &reports, &mut shown).err());
            if failed.is_none() {
                if finished {
                    break;
                }
                failed = py.check_signals().err();
            }
            if let Some(e) = failed {
                cancel.store(true, Ordering::Relaxed);
                let _ = py.detach(|| worker.join());
                return Err(e);
            }
        }
        worker
            .join()
            .map_err(|_| Error::new_err("internal error: the work panicked"))?
            .map_err(Error::new_err)
    })
}

/// Runs `work` on a pool of `threads` (0 or `None`: all cores, as `--threads 0`).
fn on_threads<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    match threads {
        Some(n) if n > 0 => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| e.to_string())
            .and_then(|pool| pool.install(work)),
        _ => work(),
    }
}

/// `x` when it is a positive, finite number (or absent), else a ValueError naming
/// the argument, as the command line refuses such values.
fn positive(what: &str, x: Option<f64>) -> PyResult<Option<f64>> {
    match x {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(PyValueError::new_err(format!(
            "{what} must be a positive number, not {v}"
        ))),
        _ => Ok(x),
    }
}

/// The walking speed: `speed_kmh` (a positive number), or `profile`'s (`adult`,
/// `elderly`, `wheelchair`), or neither (the preset's); not both.
fn speed(speed_kmh: Option<f64>, profile: Option<&str>) -> PyResult<Option<f64>> {
    let s = positive("speed_kmh", speed_kmh)?;
    let Some(p) = profile else { return Ok(s) };
    if s.is_some() {
        return Err(PyValueError::new_err("give speed_kmh or profile, not both"));
    }
    let p: livingcircle::Profile = p.parse().map_err(PyValueError::new_err)?;
    Ok(Some(p.speed_kmh()))
}

/// A layer's record batches, handed to Arrow consumers once through the Arrow
/// PyCapsule interface (`__arrow_c_stream__`): `pyarrow.table(layer)` takes them
/// without copying.
#[pyclass(module = "livingcircle._livingcircle")]
struct ArrowStream {
    layer: Option<(SchemaRef, Vec<RecordBatch>)>,
}

impl ArrowStream {
    fn new(layer: ArrowLayer) -> Self {
        ArrowStream {
            layer: Some((layer.arrow, layer.batches)),
        }
    }
}

#[pymethods]
impl ArrowStream {
    /// The Arrow C stream of the batches, in a PyCapsule named `arrow_array_stream`.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is what it is; a consumer asking for another casts itself.
        let _ = requested_schema;
        let (schema, batches) = self
            .layer
            .take()
            .ok_or_else(|| Error::new_err("this layer's stream was already consumed"))?;
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }
}

/// Places given as a path, or as `(name, text)`: a file's text in memory (a
/// GeoDataFrame's GeoJSON), `name` standing for it in messages.
fn places(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Places>> {
    let Some(obj) = obj else { return Ok(None) };
    if let Ok((name, text)) = obj.extract::<(String, String)>() {
        return Ok(Some(Places::Text {
            name: name.into(),
            text: text.into(),
        }));
    }
    Ok(Some(Places::File(obj.extract::<PathBuf>()?)))
}

/// An `.osm.pbf` given as a path, or as its bytes.
enum Osm<'py> {
    Path(PathBuf),
    Bytes(Bound<'py, PyBytes>),
}

impl<'py> Osm<'py> {
    fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Osm::Bytes(b.clone()));
        }
        Ok(Osm::Path(obj.extract()?))
    }

    /// The source to read; bytes are called `osm (bytes)` in messages.
    fn source(&self) -> Source<'_> {
        match self {
            Osm::Path(p) => Source::File(p),
            Osm::Bytes(b) => Source::Bytes {
                name: std::path::Path::new("osm (bytes)"),
                data: b.as_bytes(),
            },
        }
    }
}

/// A preset by name or file.
fn load_preset(name: &str) -> Result<Preset, String> {
    Preset::load(name).map_err(|e| one_line(&e))
}

/// The value in `m`, even if a thread panicked holding it (it holds results that
/// a panic cannot leave half-made: they are replaced whole).
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A study of `src` under `preset` with the user's places (OpenStreetMap's
/// when `None`).
fn load_study(
    src: Source<'_>,
    preset: Preset,
    places: (Option<Places>, Option<Places>, bool),
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> Result<Study, String> {
    let (residences, facilities, replace_osm_facilities) = places;
    let opts = StudyOptions {
        residences,
        facilities,
        replace_osm_facilities,
        ..StudyOptions::default()
    };
    Study::load_from(src, preset, &opts, progress, cancel).map_err(|e| one_line(&e))
}

/// Runs a handle's `write` with the GIL released; `dir` is created if needed
/// (by the library's staging).
fn write_files(
    py: Python<'_>,
    formats: Vec<String>,
    write: impl FnOnce(&[Format]) -> Result<(), livingcircle::Error> + Send,
) -> PyResult<()> {
    let formats = self::formats(formats)?;
    interruptible(py, &AtomicBool::new(false), None, |_| {
        write(&formats).map_err(|e| one_line(&e))
    })
}

/// Formats by name (`geojson`, `gpkg`, `fgb`, `parquet`), as `--format` takes them.
fn formats(names: Vec<String>) -> PyResult<Vec<Format>> {
    Format::parse_list(&names.join(",")).map_err(|e| PyValueError::new_err(format!("format: {e}")))
}

/// An analysis kept in memory: its study (the graph included) and results.
#[pyclass(module = "livingcircle._livingcircle", frozen)]
struct AnalysisHandle {
    study: Study,
    analyzed: Mutex<Analyzed>,
}

#[pymethods]
impl AnalysisHandle {
    /// `summary.json`'s text.
    fn summary_json(&self) -> PyResult<String> {
        let a = locked(&self.analyzed);
        serde_json::to_string(&a.summary).map_err(|e| Error::new_err(e.to_string()))
    }

    /// A layer (`residences`, `facilities`, `gaps`) as an Arrow stream.
    /// Built without the GIL (a metro's residences take seconds).
    fn layer(&self, py: Python<'_>, name: &str) -> PyResult<ArrowStream> {
        if !["residences", "facilities", "gaps"].contains(&name) {
            return Err(PyValueError::new_err(format!(
                "unknown layer {name:?}; expected residences, facilities or gaps"
            )));
        }
        let layer = py.detach(|| {
            let a = locked(&self.analyzed);
            match name {
                "residences" => a.residences(&self.study),
                "facilities" => a.facilities(&self.study),
                _ => a.gaps(&self.study),
            }
        });
        Ok(ArrowStream::new(layer))
    }

    /// Writes the layers in `formats`, `summary.json` and `summary.csv` into `dir`.
    fn write(&self, py: Python<'_>, dir: PathBuf, formats: Vec<String>) -> PyResult<()> {
        write_files(py, formats, |f| {
            locked(&self.analyzed).write(&self.study, &dir, f)
        })
    }
}

/// `analyze(...)` → an [`AnalysisHandle`].
#[pyfunction]
#[pyo3(signature = (path, preset = "gb50180", residences = None, facilities = None,
    replace_osm_facilities = false, speed_kmh = None, profile = None, max_snap_m = None, threads = None,
    progress = None))]
#[allow(clippy::too_many_arguments)]
fn analyze(
    py: Python<'_>,
    path: Bound<'_, PyAny>,
    preset: &str,
    residences: Option<Bound<'_, PyAny>>,
    facilities: Option<Bound<'_, PyAny>>,
    replace_osm_facilities: bool,
    speed_kmh: Option<f64>,
    profile: Option<&str>,
    max_snap_m: Option<f64>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<AnalysisHandle> {
    let speed_kmh = speed(speed_kmh, profile)?;
    let max_snap_m = positive("max_snap_m", max_snap_m)?;
    let (residences, facilities) = (places(residences.as_ref())?, places(facilities.as_ref())?);
    let osm = Osm::new(&path)?;
    let src = osm.source();
    let cancel = AtomicBool::new(false);
    let (study, analyzed) = interruptible(py, &cancel, progress.as_ref(), |tell| {
        on_threads(threads, || {
            let study = load_study(
                src,
                load_preset(preset)?,
                (residences, facilities, replace_osm_facilities),
                tell,
                &cancel,
            )?;
            let mut options = study.options_for(speed_kmh);
            if let Some(m) = max_snap_m {
                options.max_snap_m = m;
            }
            let analyzed = study
                .analyze_with(&options, &[], tell, &cancel)
                .map_err(|e| one_line(&e))?;
            Ok((study, analyzed))
        })
    })?;
    Ok(AnalysisHandle {
        study,
        analyzed: Mutex::new(analyzed),
    })
}

/// `isochrones(...)` → `(report_json, layer)`.
#[pyfunction]
#[pyo3(signature = (path, preset = "gb50180", points = None, minutes = None, meters = None,
    speed_kmh = None, profile = None, buffer_m = 25.0, simplify_m = 1.0, rings = false, stats_only = false,
    max_snap_m = 200.0, threads = None, progress = None))]
#[allow(clippy::too_many_arguments)]
fn isochrones(
    py: Python<'_>,
    path: Bound<'_, PyAny>,
    preset: &str,
    points: Option<Bound<'_, PyAny>>,
    minutes: Option<Vec<f64>>,
    meters: Option<Vec<f64>>,
    speed_kmh: Option<f64>,
    profile: Option<&str>,
    buffer_m: f64,
    simplify_m: f64,
    rings: bool,
    stats_only: bool,
    max_snap_m: f64,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(String, ArrowStream)> {
    let speed_kmh = speed(speed_kmh, profile)?;
    positive("max_snap_m", Some(max_snap_m))?;
    let points = places(points.as_ref())?;
    if minutes.is_some() && meters.is_some() {
        return Err(PyValueError::new_err("give minutes or meters, not both"));
    }
    let opts = IsochroneOptions {
        minutes: minutes.unwrap_or_else(|| vec![5.0, 10.0, 15.0]),
        meters: meters.unwrap_or_default(),
        speed_kmh,
        buffer_m,
        simplify_m,
        rings,
        geometry: !stats_only,
        max_snap_m,
    };
    let osm = Osm::new(&path)?;
    let src = osm.source();
    let cancel = AtomicBool::new(false);
    let (report, layer) = interruptible(py, &cancel, progress.as_ref(), |tell| {
        on_threads(threads, || {
            // Options the engine refuses fail before anything is read.
            let preset = load_preset(preset)?;
            opts.engine(&preset).map_err(|e| one_line(&e))?;
            let pts = points
                .as_ref()
                .map(|p| p.read())
                .transpose()
                .map_err(|e| one_line(&e))?;
            let study = load_study(src, preset, (None, None, false), tell, &cancel)?;
            let (layer, r) = study
                .isochrones(&opts, pts, tell, &cancel)
                .map_err(|e| one_line(&e))?;
            let report = serde_json::json!({
                "polygons": r.polygons,
                "unsnapped": r.unsnapped,
                "unsnapped_ids": r.unsnapped_ids,
                "seconds": r.seconds,
            });
            Ok((report.to_string(), layer))
        })
    })?;
    Ok((report, ArrowStream::new(layer)))
}

/// A siting kept in memory.
#[pyclass(module = "livingcircle._livingcircle", frozen)]
struct SitesHandle {
    study: Study,
    sited: Mutex<Sited>,
}

#[pymethods]
impl SitesHandle {
    /// `sites_summary.json`'s text.
    fn summary_json(&self) -> PyResult<String> {
        let s = locked(&self.sited);
        serde_json::to_string(&s.summary).map_err(|e| Error::new_err(e.to_string()))
    }

    /// `sites` or `site_coverage` as an Arrow stream.
    fn layer(&self, py: Python<'_>, name: &str) -> PyResult<ArrowStream> {
        if !["sites", "site_coverage"].contains(&name) {
            return Err(PyValueError::new_err(format!(
                "unknown layer {name:?}; expected sites or site_coverage"
            )));
        }
        Ok(ArrowStream::new(py.detach(|| {
            let s = locked(&self.sited);
            if name == "sites" {
                s.sites(&self.study)
            } else {
                s.coverage(&self.study)
            }
        })))
    }

    /// Writes both layers in `formats` and `sites_summary.json` into `dir`.
    fn write(&self, py: Python<'_>, dir: PathBuf, formats: Vec<String>) -> PyResult<()> {
        write_files(py, formats, |f| {
            locked(&self.sited).write(&self.study, &dir, f)
        })
    }
}

/// `site(...)` → a [`SitesHandle`].
#[pyfunction]
#[pyo3(signature = (path, category, preset = "gb50180", count = 3, candidates = None,
    by = "population", min_gain = 0.0, speed_kmh = None, profile = None, max_snap_m = 200.0,
    max_candidates = 200_000, residences = None, facilities = None,
    replace_osm_facilities = false, threads = None, progress = None))]
#[allow(clippy::too_many_arguments)]
fn site(
    py: Python<'_>,
    path: Bound<'_, PyAny>,
    category: String,
    preset: &str,
    count: usize,
    candidates: Option<Bound<'_, PyAny>>,
    by: &str,
    min_gain: f64,
    speed_kmh: Option<f64>,
    profile: Option<&str>,
    max_snap_m: f64,
    max_candidates: usize,
    residences: Option<Bound<'_, PyAny>>,
    facilities: Option<Bound<'_, PyAny>>,
    replace_osm_facilities: bool,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<SitesHandle> {
    let speed_kmh = speed(speed_kmh, profile)?;
    positive("max_snap_m", Some(max_snap_m))?;
    if !(min_gain.is_finite() && min_gain >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "min_gain must be a non-negative number, not {min_gain}"
        )));
    }
    if count == 0 || max_candidates == 0 {
        return Err(PyValueError::new_err(
            "count and max_candidates must be at least 1",
        ));
    }
    let by = match by {
        "population" => Weight::Population,
        "residences" => Weight::Residences,
        _ => {
            return Err(PyValueError::new_err(format!(
                "by must be 'population' or 'residences', not {by:?}"
            )));
        }
    };
    let candidates = places(candidates.as_ref())?;
    let (residences, facilities) = (places(residences.as_ref())?, places(facilities.as_ref())?);
    let opts = SitingOptions {
        category,
        count,
        min_gain,
        by,
        speed_kmh,
        max_snap_m,
        max_candidates,
    };
    let osm = Osm::new(&path)?;
    let src = osm.source();
    let cancel = AtomicBool::new(false);
    let (study, sited) = interruptible(py, &cancel, progress.as_ref(), |tell| {
        on_threads(threads, || {
            // An unknown category fails before anything is read.
            let preset = load_preset(preset)?;
            preset.category_index(&opts.category)?;
            let cands = candidates
                .map(|c| {
                    c.read().map(|places| CandidatePlaces {
                        name: c.name().to_owned(),
                        places,
                    })
                })
                .transpose()
                .map_err(|e| one_line(&e))?;
            let study = load_study(
                src,
                preset,
                (residences, facilities, replace_osm_facilities),
                tell,
                &cancel,
            )?;
            let sited = study
                .site(&opts, cands, tell, &cancel)
                .map_err(|e| one_line(&e))?;
            Ok((study, sited))
        })
    })?;
    Ok(SitesHandle {
        study,
        sited: Mutex::new(sited),
    })
}

/// `graph(path, drop_sidewalk_separate, keep_all_components)` → `(nodes, edges)`.
#[pyfunction]
#[pyo3(signature = (path, drop_sidewalk_separate = false, keep_all_components = false,
    threads = None, progress = None))]
fn graph(
    py: Python<'_>,
    path: Bound<'_, PyAny>,
    drop_sidewalk_separate: bool,
    keep_all_components: bool,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(ArrowStream, ArrowStream)> {
    let opts = livingcircle::LoadOptions {
        drop_sidewalk_separate,
        keep_all_components,
        ..livingcircle::LoadOptions::default()
    };
    let osm = Osm::new(&path)?;
    let src = osm.source();
    let cancel = AtomicBool::new(false);
    let (nodes, edges) = interruptible(py, &cancel, progress.as_ref(), |tell| {
        on_threads(threads, || {
            livingcircle::City::load_from(src, &opts, tell, &cancel, |_| {})
                .map(|c| c.graph_layers())
                .map_err(|e| one_line(&e))
        })
    })?;
    Ok((ArrowStream::new(nodes), ArrowStream::new(edges)))
}

#[pymodule]
fn _livingcircle(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(graph, m)?)?;
    m.add_function(wrap_pyfunction!(isochrones, m)?)?;
    m.add_function(wrap_pyfunction!(site, m)?)?;
    m.add_class::<ArrowStream>()?;
    m.add_class::<AnalysisHandle>()?;
    m.add_class::<SitesHandle>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
