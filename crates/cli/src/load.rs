//! Reading an extract and building its graph, and the inputs every command gathers
//! from its arguments (residences, facilities, walking speed).

use std::path::{Path, PathBuf};

use anyhow::Context;
use livingcircle_analysis::Preset;
use livingcircle_osm::PoiFilter;

use crate::args::{OsmArgs, PlacesArgs, SpeedArgs};
use crate::progress::Stages;

/// The bundled default city, relative to the repository.
pub(crate) const BUNDLED: &str = "data/munchen.osm.pbf";

/// The extract to read: `--osm`, else the bundled city.
pub(crate) fn osm_path(a: &OsmArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &a.osm {
        return Ok(p.clone());
    }
    let candidates = [
        PathBuf::from(BUNDLED),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(BUNDLED),
    ];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| format!("the bundled city ({BUNDLED}) was not found; pass --osm FILE"))
}

pub(crate) use livingcircle::City;

/// Reads and builds, with stage timings and progress.
pub(crate) fn load(a: &OsmArgs, pois: PoiFilter, stages: &Stages) -> anyhow::Result<City> {
    let path = prepare(a)?;
    let opts = livingcircle::LoadOptions {
        drop_sidewalk_separate: a.drop_sidewalk_separate,
        keep_all_components: a.keep_all_components,
        pois,
    };
    let city = City::load(&path, &opts, &|p| stages.on(p))?;
    log_city(&city);
    Ok(city)
}

/// The extract to read, once the run is known to fit in memory.
fn prepare(a: &OsmArgs) -> anyhow::Result<PathBuf> {
    let path = osm_path(a)?;
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    check_memory(&path, bytes, a.max_memory)?;
    Ok(path)
}

fn log_city(city: &City) {
    tracing::info!(seconds = city.read_s, "read");
    if city.report.components_dropped > 0 {
        tracing::info!(
            components = city.report.components_dropped,
            nodes = city.report.nodes_dropped,
            "dropped components not connected to the largest one (--keep-all-components keeps them)"
        );
    }
}

/// Peak memory of a run, predicted from the size of its `.osm.pbf`: 7 bytes per byte
/// of the file plus 32 MiB. Measured peaks (README, "Performance", memory model)
/// were 6.5 × the file plus about 20 MiB on the metros of 82 and 227 MB, and 12 ×
/// on liechtenstein (2.5 MB), where the fixed part dominates.
pub(crate) fn predicted_peak(file_bytes: u64) -> u64 {
    file_bytes.saturating_mul(7).saturating_add(32 << 20)
}

/// Memory this machine has available now (Linux `MemAvailable`), if known.
fn available_memory() -> Option<u64> {
    crate::progress::proc_kib("/proc/meminfo", "MemAvailable:").map(|kib| kib * 1024)
}

/// Stops before reading when the run is predicted to need more memory than
/// `--max-memory` (default: what the machine has available).
fn check_memory(path: &Path, file_bytes: u64, max: Option<u64>) -> anyhow::Result<()> {
    let (limit, what) = match max {
        Some(m) => (m, "--max-memory"),
        None => match available_memory() {
            Some(m) => (m, "the memory available on this machine"),
            None => return Ok(()),
        },
    };
    let need = predicted_peak(file_bytes);
    if need > limit {
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        anyhow::bail!(
            "{}: a run on this extract is predicted to need about {:.1} GiB of memory, more than {} ({:.1} GiB); cut it into smaller regions (e.g. `osmium extract`), or raise --max-memory",
            path.display(),
            gib(need),
            what,
            gib(limit)
        );
    }
    Ok(())
}

/// Creates the output directory, or says why it cannot.
pub(crate) fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{}: not a directory", dir.display());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    if !dir.is_dir() {
        anyhow::bail!("{}: not a directory", dir.display());
    }
    Ok(())
}

/// Walking speed: `--speed-kmh`, else `--profile`, else the preset's, else adult.
pub(crate) fn speed(s: &SpeedArgs, preset: &Preset) -> f64 {
    s.speed_kmh
        .or(s.profile.map(|p| p.speed_kmh()))
        .or(preset.speed_kmh)
        .unwrap_or(4.8)
}

/// The study the arguments describe: the extract (with the memory check and the
/// progress bar), the preset's points of interest, and the user's files; `warn_no_homes`:
/// warn when the extract has no residences (isochrones of points need none).
pub(crate) fn study(
    stages: &Stages,
    preset: Preset,
    osm: &OsmArgs,
    places: &PlacesArgs,
    warn_no_homes: bool,
) -> anyhow::Result<livingcircle::Study> {
    let path = prepare(osm)?;
    let opts = livingcircle::StudyOptions {
        drop_sidewalk_separate: osm.drop_sidewalk_separate,
        keep_all_components: osm.keep_all_components,
        residences: places.residences.clone().map(livingcircle::Places::File),
        facilities: places.facilities.clone().map(livingcircle::Places::File),
        replace_osm_facilities: places.replace_osm_facilities,
    };
    let study = livingcircle::Study::load(&path, preset, &opts, &|p| stages.on(p))?;
    log_city(&study.city);
    if study.homes.is_empty() && warn_no_homes {
        tracing::warn!(
            "{}: no residences found (no residential buildings or residential areas mapped); pass --residences FILE",
            study.city.path.display()
        );
    }
    Ok(study)
}
