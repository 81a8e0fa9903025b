//! Loading a city: reading an `.osm.pbf` and building its walking graph.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use livingcircle_graph::{BuildOptions, BuildReport, WalkGraph};
use livingcircle_osm::{OsmData, PoiFilter, ReadOptions, Source, rules::WalkRules};

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
    /// Siting: who has the category today (searches bounded at its threshold).
    Coverage,
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
            Progress::Coverage => "analysing coverage",
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
        Self::load_from(
            Source::File(path),
            opts,
            progress,
            &AtomicBool::new(false),
            take,
        )
    }

    /// [`City::load_with`] from a file or an `.osm.pbf`'s bytes in memory
    /// (`Source::Bytes`, whose `name` stands for it in errors and summaries),
    /// stopping with [`Error::Cancelled`] once `cancel` is set (checked before each
    /// block of the file is decoded, and before the graph is built).
    ///
    /// # Errors
    /// As [`City::load`], or [`Error::Cancelled`].
    ///
    /// # Example
    /// ```
    /// use std::sync::atomic::AtomicBool;
    /// use livingcircle::{City, LoadOptions, Source};
    /// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf")).unwrap();
    /// let src = Source::Bytes { name: "munchen (bytes)".as_ref(), data: &bytes };
    /// let city = City::load_from(src, &LoadOptions::default(), &|_| {}, &AtomicBool::new(false), |_| {}).unwrap();
    /// assert_eq!(city.graph.node_count(), 2632);
    /// ```
    pub fn load_from(
        src: Source<'_>,
        opts: &LoadOptions,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
        take: impl FnOnce(&mut OsmData),
    ) -> Result<City, Error> {
        let path = src.name();
        let read = ReadOptions {
            rules: WalkRules {
                drop_sidewalk_separate: opts.drop_sidewalk_separate,
            },
            pois: opts.pois.clone(),
            network_only: false,
        };
        let t = Instant::now();
        let total = src.len();
        progress(Progress::Reading { done: 0, total });
        let mut data = livingcircle_osm::read_from(
            src,
            &read,
            &|done| progress(Progress::Reading { done, total }),
            cancel,
        )
        .map_err(|e| match e {
            livingcircle_osm::Error::Cancelled => Error::Cancelled,
            e => Error::Read(e),
        })?;
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
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

    /// Bytes in memory read as the file does; a cut copy is an error naming them.
    #[test]
    fn bytes_read_as_the_file() {
        use std::sync::atomic::AtomicBool;
        let path = data("munchen.osm.pbf");
        let bytes = std::fs::read(&path).unwrap();
        let file = City::load(&path, &LoadOptions::default(), &|_| {}).unwrap();
        let load = |data: &[u8]| {
            let src = super::Source::Bytes {
                name: "m (bytes)".as_ref(),
                data,
            };
            City::load_from(
                src,
                &LoadOptions::default(),
                &|_| {},
                &AtomicBool::new(false),
                |_| {},
            )
        };
        let mem = load(&bytes).unwrap();
        assert_eq!(mem.graph.node_count(), file.graph.node_count());
        assert_eq!(mem.graph.total_length_m(), file.graph.total_length_m());
        assert_eq!(mem.data.stats.file_bytes, bytes.len() as u64);
        assert_eq!(mem.path, std::path::Path::new("m (bytes)"));
        let e = load(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(
            e.to_string().starts_with("m (bytes): not a valid .osm.pbf"),
            "{e}"
        );
        let e = load(&[]).unwrap_err();
        assert_eq!(e.to_string(), "m (bytes): the file is empty");
    }

    /// A flag set while the file is read stops the read at the next block: on one
    /// thread, no block is decoded after it.
    #[test]
    fn cancelling_stops_the_read() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let path = data("munchen.osm.pbf");
        let cancel = AtomicBool::new(false);
        let (blocks, after) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let r = pool.install(|| {
            City::load_from(
                super::Source::File(&path),
                &LoadOptions::default(),
                &|p| {
                    if let Progress::Reading { done, total } = p
                        && done > 0
                        && done < total
                    {
                        blocks.fetch_add(1, Ordering::Relaxed);
                        if cancel.swap(true, Ordering::Relaxed) {
                            after.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                },
                &cancel,
                |_| panic!("nothing is taken from a cancelled read"),
            )
        });
        assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
        assert_eq!(blocks.load(Ordering::Relaxed), 1);
        assert_eq!(after.load(Ordering::Relaxed), 0);
        // Without the flag, the same file has more blocks than that.
        let all = AtomicUsize::new(0);
        City::load(&path, &LoadOptions::default(), &|p| {
            if matches!(p, Progress::Reading { done, total } if done > 0 && done < total) {
                all.fetch_add(1, Ordering::Relaxed);
            }
        })
        .unwrap();
        assert!(all.load(Ordering::Relaxed) > 2);
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
