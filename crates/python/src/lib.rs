//! The `livingcircle._livingcircle` extension module: the library's facade for
//! Python. The package `livingcircle` (python/livingcircle) wraps it: results come
//! back as pyarrow Tables (zero-copy through the Arrow C stream interface) and, when
//! GeoPandas is installed, as GeoDataFrames.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use livingcircle::{ArrowLayer, Preset, Study, StudyOptions};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

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
    msg
}

/// Runs `work` on a thread of its own while this one waits without the GIL and
/// looks for signals: Ctrl-C sets `cancel` and, once `work` has returned (an
/// analysis stops at its next chunk of residences; reading a file finishes first),
/// raises KeyboardInterrupt.
fn interruptible<T: Send>(
    py: Python<'_>,
    cancel: &AtomicBool,
    work: impl FnOnce() -> Result<T, String> + Send,
) -> PyResult<T> {
    std::thread::scope(|s| {
        let worker = s.spawn(work);
        loop {
            py.detach(|| {
                let t = Instant::now();
                while !worker.is_finished() && t.elapsed() < POLL {
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            if worker.is_finished() {
                break;
            }
            if let Err(interrupt) = py.check_signals() {
                cancel.store(true, Ordering::Relaxed);
                let _ = py.detach(|| worker.join());
                return Err(interrupt);
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

/// `analyze(path, preset, residences, facilities, replace_osm_facilities,
/// speed_kmh, max_snap_m, threads)` → `(summary_json, residences, facilities, gaps)`.
#[pyfunction]
#[pyo3(signature = (path, preset = "gb50180", residences = None, facilities = None,
    replace_osm_facilities = false, speed_kmh = None, max_snap_m = None, threads = None))]
#[allow(clippy::too_many_arguments)]
fn analyze(
    py: Python<'_>,
    path: PathBuf,
    preset: &str,
    residences: Option<PathBuf>,
    facilities: Option<PathBuf>,
    replace_osm_facilities: bool,
    speed_kmh: Option<f64>,
    max_snap_m: Option<f64>,
    threads: Option<usize>,
) -> PyResult<(String, ArrowStream, ArrowStream, ArrowStream)> {
    let speed_kmh = positive("speed_kmh", speed_kmh)?;
    let max_snap_m = positive("max_snap_m", max_snap_m)?;
    let preset = preset.to_owned();
    let cancel = AtomicBool::new(false);
    let run = || -> Result<_, String> {
        let preset = Preset::load(&preset).map_err(|e| one_line(&e))?;
        let speed = speed_kmh.or(preset.speed_kmh).unwrap_or(4.8);
        let opts = StudyOptions {
            residences_file: residences,
            facilities_file: facilities,
            replace_osm_facilities,
            ..StudyOptions::default()
        };
        let study = Study::load(&path, preset, &opts, &|_| {}).map_err(|e| one_line(&e))?;
        let mut options = study.options_for(speed);
        if let Some(m) = max_snap_m {
            options.max_snap_m = m;
        }
        let analyzed = study
            .analyze_until(&options, &[], &cancel)
            .map_err(|e| one_line(&e))?;
        let summary = serde_json::to_string(&analyzed.summary).map_err(|e| e.to_string())?;
        Ok((
            summary,
            analyzed.residences(&study),
            analyzed.facilities(&study),
            analyzed.gaps(&study),
        ))
    };
    let (summary, r, f, g) = interruptible(py, &cancel, || on_threads(threads, run))?;
    Ok((
        summary,
        ArrowStream::new(r),
        ArrowStream::new(f),
        ArrowStream::new(g),
    ))
}

/// `graph(path, drop_sidewalk_separate, keep_all_components)` → `(nodes, edges)`.
#[pyfunction]
#[pyo3(signature = (path, drop_sidewalk_separate = false, keep_all_components = false))]
fn graph(
    py: Python<'_>,
    path: PathBuf,
    drop_sidewalk_separate: bool,
    keep_all_components: bool,
) -> PyResult<(ArrowStream, ArrowStream)> {
    let opts = livingcircle::LoadOptions {
        drop_sidewalk_separate,
        keep_all_components,
        ..livingcircle::LoadOptions::default()
    };
    let (nodes, edges) = interruptible(py, &AtomicBool::new(false), || {
        livingcircle::City::load(&path, &opts, &|_| {})
            .map(|c| c.graph_layers())
            .map_err(|e| one_line(&e))
    })?;
    Ok((ArrowStream::new(nodes), ArrowStream::new(edges)))
}

#[pymodule]
fn _livingcircle(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(graph, m)?)?;
    m.add_class::<ArrowStream>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
