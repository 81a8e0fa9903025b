//! Loading a city: reading an `.osm.pbf` and building its walking graph.

use std::path::{Path, PathBuf};
use std::time::Instant;

use livingcircle_graph::{BuildOptions, BuildReport, WalkGraph};
use livingcircle_osm::{OsmData, PoiFilter, ReadOptions, rules::WalkRules};

/// What can go wrong loading a city. Messages are one line naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read, or is not a valid `.osm.pbf`.
    #[error(transparent)]
    Read(#[from] livingcircle_osm::Error),
    /// A user file (residences, facilities) cannot be read or is invalid.
    #[error(transparent)]
    Input(#[from] livingcircle_analysis::input::InputError),
    /// The caller cancelled the run.
    #[error("cancelled")]
    Cancelled,
    /// An option the library refuses, named as the command line names it (e.g.
    /// `--buffer-m 0: …`, `--category daycare: …`).
    #[error("{0}")]
    Invalid(String),
    /// Writing an output failed (the message names the file).
    #[error(transparent)]
    Write(#[from] livingcircle_export::Error),
    /// The file holds no walking network.
    #[error("{path}")]
    Graph {
        /// The file.
        path: PathBuf,
        /// Why no graph could be built (chained as the source, not repeated in the
        /// message: `{:#}` in anyhow, or walking `source()`, shows it once).
        source: livingcircle_graph::Error,
    },
}

/// How to read and build a city.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Drop ways tagged `footway=sidewalk` that are mapped beside their street.
    pub drop_sidewalk_separate: bool,
    /// Keep network components not connected to the largest one.
    pub keep_all_components: bool,
    /// Which points of interest to keep as facility candidates (a preset's
    /// `Preset::poi_filter`; the default keeps none).
    pub pois: PoiFilter,
}

/// Where a load is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Reading: bytes of the file read so far, of `total`.
    Reading {
        /// Bytes read.
        done: u64,
        /// The file's size.
        total: u64,
    },
    /// Building the walking graph.
    Building,
    /// Snapping residences and facilities to the network, indexing facilities.
    Snapping,
    /// Building the contraction hierarchy: nodes contracted so far, of `total`.
    Hierarchy {
        /// Nodes contracted.
        done: u64,
        /// The graph's nodes.
        total: u64,
    },
    /// Searching from each residence: residences answered, of `total`.
    Residences {
        /// Residences answered.
        done: u64,
        /// All residences.
        total: u64,
    },
    /// Drawing isochrones: places drawn, of `total`.
    Isochrones {
        /// Places done.
        done: u64,
        /// All places.
        total: u64,
    },
    /// Siting: searching from every candidate and choosing sites.
    Siting,
}

impl Progress {
    /// The analysis' progress as the facade tells it.
    pub fn of_analysis(p: livingcircle_analysis::Progress) -> Self {
        use livingcircle_analysis::Progress as P;
        match p {
            P::Preparing => Progress::Snapping,
            P::Hierarchy(done, total) => Progress::Hierarchy { done, total },
            P::Residences(done, total) => Progress::Residences { done, total },
        }
    }

    /// What is being done, in a few words (for a progress display).
    pub fn stage(&self) -> &'static str {
        match self {
            Progress::Reading { .. } => "reading OpenStreetMap",
            Progress::Building => "building the walking graph",
            Progress::Snapping => "snapping, and indexing facilities",
            Progress::Hierarchy { .. } => "building the contraction hierarchy",
            Progress::Residences { .. } => "searching from every residence",
            Progress::Isochrones { .. } => "drawing isochrones",
            Progress::Siting => "searching from every candidate and choosing sites",
        }
    }

    /// How far the stage is, `(done, total)`, when it counts (bytes for reading).
    pub fn count(&self) -> Option<(u64, u64)> {
        match *self {
            Progress::Reading { done, total }
            | Progress::Hierarchy { done, total }
            | Progress::Residences { done, total }
            | Progress::Isochrones { done, total } => Some((done, total)),
            _ => None,
        }
    }
}

/// A loaded city: what was read and the walking graph built from it.
#[derive(Debug)]
pub struct City {
    /// The `.osm.pbf`.
    pub path: PathBuf,
    /// What was read; its network is emptied once the graph holds it.
    pub data: OsmData,
    /// The walking graph.
    pub graph: WalkGraph,
    /// What the build dropped.
    pub report: BuildReport,
    /// Seconds reading.
    pub read_s: f64,
    /// Seconds building.
    pub build_s: f64,
}

impl City {
    /// Reads `path` and builds its walking graph, telling `progress` where it is
    /// (from any thread).
    ///
    /// # Errors
    /// The file cannot be read, is not a valid `.osm.pbf`, or has no walkable ways.
    ///
    /// # Example
    /// ```
    /// use livingcircle::{City, LoadOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let city = City::load(path.as_ref(), &LoadOptions::default(), &|_| {}).unwrap();
    /// assert!(city.graph.node_count() > 1000);
    /// ```
    pub fn load(
        path: &Path,
        opts: &LoadOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<City, Error> {
        Self::load_with(path, opts, progress, |_| {})
    }

    /// The walking graph's `nodes` and `network` (edges) layers, as `livingcircle
    /// graph` writes them, in Arrow record batches.
    pub fn graph_layers(
        &self,
    ) -> (
        livingcircle_export::ArrowLayer,
        livingcircle_export::ArrowLayer,
    ) {
        (
            livingcircle_export::ArrowLayer::nodes(&self.graph),
            livingcircle_export::ArrowLayer::network(&self.graph),
        )
    }

    /// The data's timestamp (the file's replication timestamp, else its newest way),
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn data_timestamp(&self) -> Option<String> {
        self.data
            .header
            .replication_timestamp
            .or(self.data.stats.newest_way_timestamp_ms.map(|ms| ms / 1000))
            .map(iso8601)
    }

    /// [`City::load`], handing the read to `take` before the graph is built, so that
    /// a caller can take (and drop) what it needs of the residences and facilities
    /// first.
    ///
    /// # Errors
    /// As [`City::load`].
    pub fn load_with(
        path: &Path,
        opts: &LoadOptions,
        progress: &(dyn Fn(Progress) + Sync),
        take: impl FnOnce(&mut OsmData),
    ) -> Result<City, Error> {
        let read = ReadOptions {
            rules: WalkRules {
                drop_sidewalk_separate: opts.drop_sidewalk_separate,
            },
            pois: opts.pois.clone(),
            network_only: false,
        };
        let t = Instant::now();
        let total = std::fs::metadata(path).map_or(0, |m| m.len());
        progress(Progress::Reading { done: 0, total });
        let mut data = livingcircle_osm::read_with_progress(path, &read, &|done| {
            progress(Progress::Reading { done, total });
        })?;
        let read_s = t.elapsed().as_secs_f64();
        progress(Progress::Reading { done: total, total });
        progress(Progress::Building);
        take(&mut data);
        let t = Instant::now();
        let build = BuildOptions {
            keep_all_components: opts.keep_all_components,
        };
        let (graph, report) =
            WalkGraph::from_network(&data.network, &build).map_err(|source| Error::Graph {
                path: path.to_owned(),
                source,
            })?;
        // The graph holds what the network was needed for.
        data.network = Default::default();
        Ok(City {
            path: path.to_owned(),
            data,
            graph,
            report,
            read_s,
            build_s: t.elapsed().as_secs_f64(),
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` from seconds since the epoch.
fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::{City, Error, LoadOptions, Progress};

    fn data(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data")
            .join(name)
    }

    /// Progress goes from reading (up to the file's size) to building, and the
    /// city has its graph.
    #[test]
    fn progress_reads_to_the_end_then_builds() {
        let seen = Mutex::new(Vec::new());
        let city = City::load(&data("munchen.osm.pbf"), &LoadOptions::default(), &|p| {
            seen.lock().unwrap().push(p);
        })
        .unwrap();
        let seen = seen.into_inner().unwrap();
        let total = std::fs::metadata(data("munchen.osm.pbf")).unwrap().len();
        assert_eq!(seen.first(), Some(&Progress::Reading { done: 0, total }));
        assert_eq!(seen.last(), Some(&Progress::Building));
        let read: Vec<u64> = seen
            .iter()
            .filter_map(|p| match p {
                Progress::Reading { done, .. } => Some(*done),
                _ => None,
            })
            .collect();
        assert_eq!(read.iter().max(), Some(&total));
        assert_eq!(city.graph.node_count(), 2632);
        assert_eq!(city.data.stats.file_bytes, total);
        assert_eq!(
            city.data.network.piece_count(),
            0,
            "the graph holds the network"
        );
    }

    /// Errors are typed and name the file; the cause is the source, said once.
    #[test]
    fn errors_name_the_file() {
        let none = |_| {};
        let missing = data("no-such.osm.pbf");
        let e = City::load(&missing, &LoadOptions::default(), &none).unwrap_err();
        assert!(matches!(e, Error::Read(_)), "{e:?}");
        assert!(e.to_string().contains("no-such.osm.pbf"), "{e}");
        let walkless = data("fixtures/no_walkable.osm.pbf");
        let e = City::load(&walkless, &LoadOptions::default(), &none).unwrap_err();
        assert!(matches!(e, Error::Graph { .. }), "{e:?}");
        assert_eq!(e.to_string(), walkless.display().to_string());
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(cause.starts_with("no walkable ways"), "{cause}");
    }
}
