//! A study: a city, a preset, and the residences and facilities to analyse.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use livingcircle_analysis::input::{
    UserPlace, facilities_from_places, homes_from_places, parse_places, read_places,
};
use livingcircle_analysis::{
    Analysis, AnalyzeOptions, Engine, Facility, Home, HomeResults, Preset, facilities_from_osm,
    homes_from_osm, r1,
};
use livingcircle_export::{self as export, ArrowLayer, Format};
use livingcircle_osm::Source;
use livingcircle_snap::Snapper;

use crate::city::{City, LoadOptions, Progress};
use crate::summary::{
    CREDIT, CategoryStats, Counts, Input, Layers, LevelStats, Parameters, PresetInfo, Seconds,
    Summary,
};

/// Places the user gives: a GeoJSON or CSV file, or the text of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Places {
    /// A `.geojson`/`.json` or `.csv` file.
    File(PathBuf),
    /// The text of such a file, in memory (e.g. a GeoDataFrame's `to_json()`):
    /// `name`'s extension says the format, and `name` stands for the file in
    /// errors and in the summary.
    Text {
        /// What to call it, with the format's extension.
        name: PathBuf,
        /// The file's text.
        text: std::sync::Arc<str>,
    },
}

impl Places {
    /// The file, or the name of the text.
    pub fn name(&self) -> &Path {
        match self {
            Places::File(p) | Places::Text { name: p, .. } => p,
        }
    }

    /// What summaries call `p`: its file or name.
    pub fn name_of(p: Option<&Places>) -> Option<String> {
        p.map(|p| p.name().display().to_string())
    }

    /// The places (see `livingcircle_analysis::input::read_places`).
    ///
    /// # Errors
    /// The file cannot be read, or is not a valid places file.
    pub fn read(&self) -> Result<Vec<UserPlace>, crate::Error> {
        Ok(match self {
            Places::File(p) => read_places(p)?,
            Places::Text { name, text } => parse_places(name, text)?,
        })
    }
}

impl From<PathBuf> for Places {
    fn from(p: PathBuf) -> Self {
        Places::File(p)
    }
}

/// Where a study's places come from besides the map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyOptions {
    /// Drop ways tagged `footway=sidewalk` that are mapped beside their street.
    pub drop_sidewalk_separate: bool,
    /// Keep network components not connected to the largest one.
    pub keep_all_components: bool,
    /// Residences from the user instead of OpenStreetMap's.
    pub residences: Option<Places>,
    /// Facilities from the user (with a `category` per place), added to
    /// OpenStreetMap's.
    pub facilities: Option<Places>,
    /// The user's facilities replace OpenStreetMap's of the same categories.
    pub replace_osm_facilities: bool,
}

/// A city with the residences and facilities to analyse under a preset.
#[derive(Debug)]
pub struct Study {
    /// The city.
    pub city: City,
    /// The preset.
    pub preset: Preset,
    /// The residences.
    pub homes: Vec<Home>,
    /// The facilities.
    pub facilities: Vec<Facility>,
    /// How the places were gathered.
    pub options: StudyOptions,
}

impl Study {
    /// Reads the user files (first, so that a bad file fails before the long
    /// stages), the extract and its graph, and gathers the residences and facilities.
    /// With no residence at all, `homes` is empty (not an error: a caller may say so).
    ///
    /// # Errors
    /// A file cannot be read or is invalid, or the extract has no walkable ways.
    ///
    /// # Example
    /// ```
    /// use livingcircle::{Preset, Study, StudyOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let preset = Preset::load("gb50180").unwrap();
    /// let study = Study::load(path.as_ref(), preset, &StudyOptions::default(), &|_| {}).unwrap();
    /// let analyzed = study.analyze(&study.options_for(Some(4.0)), &[]);
    /// let k = analyzed.summary.categories.iter().find(|c| c.key == "kindergarten").unwrap();
    /// assert!(k.residences_pct > 0.0 && k.residences_pct < 100.0);
    /// let residences = analyzed.residences(&study);
    /// let rows: usize = residences.batches.iter().map(|b| b.num_rows()).sum();
    /// assert_eq!(rows, study.homes.len());
    /// ```
    pub fn load(
        path: &Path,
        preset: Preset,
        opts: &StudyOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Study, crate::Error> {
        Self::load_from(
            Source::File(path),
            preset,
            opts,
            progress,
            &AtomicBool::new(false),
        )
    }

    /// [`Study::load`] from a file or an `.osm.pbf`'s bytes in memory, stopping
    /// with [`crate::Error::Cancelled`] once `cancel` is set (see
    /// [`City::load_from`]).
    ///
    /// # Errors
    /// As [`Study::load`], or [`crate::Error::Cancelled`].
    pub fn load_from(
        src: Source<'_>,
        preset: Preset,
        opts: &StudyOptions,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Study, crate::Error> {
        let user_homes = opts.residences.as_ref().map(Places::read).transpose()?;
        let user_facilities = match &opts.facilities {
            Some(p) => Some(facilities_from_places(p.name(), &preset, p.read()?)?),
            None => None,
        };
        // Residences and facilities are taken from the read before the graph is
        // built: what the analysis needs of them is in `homes` and `facilities`.
        let mut homes: Vec<Home> = Vec::new();
        let mut facilities: Vec<Facility> = Vec::new();
        let load = LoadOptions {
            drop_sidewalk_separate: opts.drop_sidewalk_separate,
            keep_all_components: opts.keep_all_components,
            pois: preset.poi_filter(),
        };
        let city = City::load_from(src, &load, progress, cancel, |data| {
            homes = match user_homes {
                Some(p) => homes_from_places(p),
                None => homes_from_osm(data, &preset.population),
            };
            facilities = facilities_from_osm(&preset, &data.features);
            data.residences = Vec::new();
            data.features = Vec::new();
        })?;
        if let Some(user) = user_facilities {
            if opts.replace_osm_facilities {
                let replaced: Vec<usize> = user.iter().map(|f| f.category).collect();
                facilities.retain(|f| !replaced.contains(&f.category));
            }
            facilities.extend(user);
        }
        Ok(Study {
            city,
            preset,
            homes,
            facilities,
            options: opts.clone(),
        })
    }

    /// Analysis options at `speed_kmh`, else the preset's walking speed, else
    /// 4.8 km/h (as the command line chooses); the rest at their defaults.
    pub fn options_for(&self, speed_kmh: Option<f64>) -> AnalyzeOptions {
        AnalyzeOptions {
            speed_kmh: speed_kmh.or(self.preset.speed_kmh).unwrap_or(4.8),
            ..AnalyzeOptions::default()
        }
    }

    /// Analyses the study in memory: its summary and every residence's distances
    /// (see `livingcircle_analysis::analyze`). `formats` are the layer formats the
    /// caller will write (for [`Summary::layers`]; none when it writes none).
    pub fn analyze(&self, opts: &AnalyzeOptions, formats: &[&str]) -> Analyzed {
        self.analyze_until(opts, formats, &AtomicBool::new(false))
            .expect("a flag nobody sets")
    }

    /// [`Study::analyze`] that gives up once `cancel` is set (checked between chunks
    /// of residences, so it stops within one chunk's searches).
    ///
    /// # Errors
    /// [`crate::Error::Cancelled`] when `cancel` was set.
    pub fn analyze_until(
        &self,
        opts: &AnalyzeOptions,
        formats: &[&str],
        cancel: &AtomicBool,
    ) -> Result<Analyzed, crate::Error> {
        self.analyze_with(opts, formats, &|_| {}, cancel)
    }

    /// [`Study::analyze_until`] that tells `progress` how far it is (from any
    /// thread): [`Progress::Snapping`], [`Progress::Hierarchy`] when the engine
    /// builds one, then [`Progress::Residences`].
    ///
    /// # Errors
    /// [`crate::Error::Cancelled`] when `cancel` was set.
    pub fn analyze_with(
        &self,
        opts: &AnalyzeOptions,
        formats: &[&str],
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Analyzed, crate::Error> {
        let t = std::time::Instant::now();
        if cancel.load(Ordering::Relaxed) {
            return Err(crate::Error::Cancelled);
        }
        let snapper = Snapper::new(&self.city.graph);
        let mut nearest_mm = Vec::new();
        let an = livingcircle_analysis::analyze_with_progress(
            &snapper,
            &self.preset,
            &self.homes,
            &self.facilities,
            opts,
            &|p| progress(Progress::of_analysis(p)),
            |chunk| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(crate::Error::Cancelled);
                }
                nearest_mm.extend_from_slice(chunk.rows_mm());
                Ok(())
            },
        )?;
        if cancel.load(Ordering::Relaxed) {
            return Err(crate::Error::Cancelled);
        }
        let results = HomeResults::from_rows(nearest_mm);
        // The total includes reading and building, as the command line's does.
        let total = self.city.read_s + self.city.build_s + t.elapsed().as_secs_f64();
        let seconds = Seconds::of(self, &an, 0.0, 0.0, total);
        let layers = Layers {
            schema_version: livingcircle_export::SCHEMA_VERSION,
            formats: formats.iter().map(|f| (*f).to_owned()).collect(),
            files: Vec::new(),
        };
        Ok(Analyzed {
            summary: Summary::new(self, &an, opts, layers, false, seconds),
            analysis: an,
            results,
        })
    }
}

/// A study analysed in memory ([`Study::analyze`]).
#[derive(Debug)]
pub struct Analyzed {
    /// What `summary.json` would say.
    pub summary: Summary,
    /// The analysis: per-facility loads, gap cells, snaps.
    pub analysis: Analysis,
    /// Every residence's distance to each category's nearest facility.
    pub results: HomeResults,
}

impl Analyzed {
    /// The `residences` layer, as `analyze` writes it, in Arrow record batches.
    pub fn residences(&self, study: &Study) -> ArrowLayer {
        ArrowLayer::residences(
            &study.preset,
            &study.homes,
            self.results.rows(&self.analysis),
        )
    }

    /// The `facilities` layer, in Arrow record batches.
    pub fn facilities(&self, study: &Study) -> ArrowLayer {
        ArrowLayer::facilities(&study.preset, &study.facilities, &self.analysis)
    }

    /// The `gaps` layer, in Arrow record batches.
    pub fn gaps(&self, study: &Study) -> ArrowLayer {
        ArrowLayer::gaps(&study.preset, &self.analysis)
    }
}

impl Analyzed {
    /// Writes what `livingcircle analyze --no-report` writes into `out` (which
    /// is created if needed): every layer in `formats`, `summary.json` and `summary.csv`,
    /// replacing a previous run's set as a whole ([`crate::staging`]). Once
    /// written, the summary's `layers` and write times say so (a failed write
    /// changes nothing).
    ///
    /// # Errors
    /// Writing failed (the message names the file).
    ///
    /// # Example
    /// ```
    /// use livingcircle::{Preset, Study, StudyOptions};
    /// use livingcircle_export::Format;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let study = Study::load(path.as_ref(), Preset::load("gb50180").unwrap(),
    ///     &StudyOptions::default(), &|_| {}).unwrap();
    /// let mut a = study.analyze(&study.options_for(None), &[]);
    /// let dir = std::env::temp_dir().join(format!("lc-doc-write-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// a.write(&study, &dir, &[Format::Gpkg]).unwrap();
    /// assert_eq!(a.summary.layers.files, ["livingcircle.gpkg"]);
    /// assert!(dir.join("livingcircle.gpkg").is_file() && dir.join("summary.json").is_file());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn write(
        &mut self,
        study: &Study,
        out: &Path,
        formats: &[Format],
    ) -> Result<(), crate::Error> {
        let t = std::time::Instant::now();
        let staging = crate::staging::Staging::new(out, "analyze")?;
        let layers = export::Layers::create(staging.dir(), formats, export::GPKG_NAME)?;
        export::write_residences(
            &layers,
            &study.preset,
            &study.homes,
            &self.analysis,
            &self.results,
        )?;
        let residences_s = t.elapsed().as_secs_f64();
        write_layers_but_residences(&layers, staging.dir(), formats, study, &self.analysis)?;
        layers.finish()?;
        let mut s = self.summary.clone();
        s.layers = crate::layers::summary(formats, &crate::layers::analyze(false));
        let write = t.elapsed().as_secs_f64();
        // A second write replaces the first's time, it does not add to it.
        s.seconds.total += write - s.seconds.write;
        s.seconds.write = write;
        s.seconds.write_residences = residences_s;
        write_summary(staging.dir(), &s)?;
        staging.commit()?;
        self.summary = s;
        Ok(())
    }
}

/// Writes the layers of an analysis but `residences` (which the command line
/// streams as it is computed): `facilities`, `gaps`, and the tables `unsnapped`,
/// `nodes` and `network` (as CSV beside GeoJSON, as layers in the other formats).
///
/// # Errors
/// Writing failed.
pub fn write_layers_but_residences(
    layers: &export::Layers,
    dir: &Path,
    formats: &[Format],
    study: &Study,
    an: &Analysis,
) -> Result<(), crate::Error> {
    let (g, preset, homes, facilities) = (
        &study.city.graph,
        &study.preset,
        &study.homes,
        &study.facilities,
    );
    export::write_facilities(layers, preset, facilities, an)?;
    export::write_gaps(layers, preset, an)?;
    let tables = crate::layers::table_formats(formats);
    export::write_unsnapped(layers, &tables, preset, homes, facilities, an)?;
    export::write_nodes(g, layers, &tables)?;
    export::write_network(g, layers, &tables)?;
    if formats.contains(&Format::GeoJson) {
        export::write_unsnapped_csv(&dir.join("unsnapped.csv"), preset, homes, facilities, an)?;
        export::write_nodes_csv(g, &dir.join("nodes.csv"))?;
        export::write_edges_csv(g, &dir.join("edges.csv"))?;
    }
    Ok(())
}

/// Writes `summary.json` and `summary.csv` into `dir`.
///
/// # Errors
/// Writing failed.
pub fn write_summary(dir: &Path, summary: &Summary) -> Result<(), crate::Error> {
    export::write_atomic(&dir.join("summary.json"), |f| {
        serde_json::to_writer_pretty(&mut *f, summary).map_err(std::io::Error::other)?;
        std::io::Write::write_all(f, b"\n")
    })?;
    export::write_atomic(&dir.join("summary.csv"), |f| summary.write_csv(f))?;
    Ok(())
}

impl Seconds {
    /// A run's stage times: reading and building from the study, snapping and
    /// searching from the analysis, writing and the total from the caller.
    pub fn of(study: &Study, an: &Analysis, write: f64, write_residences: f64, total: f64) -> Self {
        Seconds {
            read: study.city.read_s,
            build: study.city.build_s,
            snap: an.seconds[0],
            hierarchy: an.seconds[1],
            per_residence: an.seconds[2],
            multi_source: an.seconds[3],
            write,
            write_residences,
            total,
        }
    }
}

/// The name `summary.json` gives an engine.
fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Hierarchy => "hierarchy",
        Engine::Dijkstra => "dijkstra",
        Engine::Auto => "auto",
    }
}

impl Summary {
    /// The summary of `an`, an analysis of `study` with `opts`; `layers`,
    /// `report_html` and `seconds` say what the caller wrote and how long it took.
    pub fn new(
        study: &Study,
        an: &Analysis,
        opts: &AnalyzeOptions,
        layers: Layers,
        report_html: bool,
        seconds: Seconds,
    ) -> Summary {
        let (city, preset, homes) = (&study.city, &study.preset, &study.homes);
        let snapped: Vec<&Home> = homes
            .iter()
            .zip(&an.home_snaps)
            .filter(|(_, s)| s.is_some())
            .map(|(h, _)| h)
            .collect();
        let n_res = snapped.len() as f64;
        let pop: f64 = snapped.iter().map(|h| h.population).sum();
        Summary {
            tool: crate::summary::tool(),
            input: Input {
                file: city.path.display().to_string(),
                bytes: city.data.stats.file_bytes,
                data_timestamp: city.data_timestamp(),
                residences_file: Places::name_of(study.options.residences.as_ref()),
                facilities_file: Places::name_of(study.options.facilities.as_ref()),
                credit: CREDIT.to_owned(),
            },
            preset: PresetInfo::of(preset),
            parameters: Parameters {
                speed_kmh: opts.speed_kmh,
                max_snap_m: opts.max_snap_m,
                hex_res: u8::from(opts.hex_res),
                persons_per_flat: preset.population.persons_per_flat,
                floor_m2_per_person: preset.population.floor_m2_per_person,
                search_budget_m: f64::from(an.budget_mm) / 1000.0,
                keep_all_components: study.options.keep_all_components,
                drop_sidewalk_separate: study.options.drop_sidewalk_separate,
                replace_osm_facilities: study.options.replace_osm_facilities,
                threads: rayon::current_num_threads(),
                engine: engine_name(an.engine).to_owned(),
                report_html,
            },
            counts: Counts {
                residences: homes.len(),
                residences_snapped: an.homes_snapped,
                residences_unsnapped: homes.len() as u32 - an.homes_snapped,
                population: r1(pop),
                facilities: study.facilities.len(),
                facilities_unsnapped: an.facilities.iter().filter(|f| f.snap.is_none()).count(),
                graph_nodes: city.graph.node_count(),
                graph_edges: city.graph.edge_count(),
                network_km: r1(city.graph.total_length_m() / 1000.0),
                components_dropped: city.report.components_dropped,
                broken_areas: city.data.stats.broken_areas,
                broken_rings: city.data.stats.broken_rings,
                gap_cells: an.gaps.len(),
                searches: an.per_residence.stats.searches,
                cross_check_mismatches: an.cross_check_mismatches,
            },
            categories: CategoryStats::all(an, preset, opts.speed_kmh, n_res, pop),
            levels: LevelStats::all(an, n_res, pop),
            layers,
            seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::{Study, StudyOptions};
    use crate::{Error, Preset};

    /// A set flag stops the analysis; a clear one changes nothing.
    #[test]
    fn cancelled_analysis_is_an_error() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/munchen.osm.pbf");
        let study = Study::load(
            &path,
            Preset::load("gb50180").unwrap(),
            &StudyOptions::default(),
            &|_| {},
        )
        .unwrap();
        let opts = study.options_for(Some(4.0));
        let e = study
            .analyze_until(&opts, &[], &AtomicBool::new(true))
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{e:?}");
        assert_eq!(e.to_string(), "cancelled");
        let a = study
            .analyze_until(&opts, &[], &AtomicBool::new(false))
            .unwrap();
        let b = study.analyze(&opts, &[]);
        assert_eq!(a.results, b.results);
        assert_eq!(a.summary.categories, b.summary.categories);
    }

    fn munchen() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/munchen.osm.pbf")
    }

    /// Progress comes in stage order, counts never pass their totals, and every
    /// residence is answered.
    #[test]
    fn analysis_progress_is_ordered_and_complete() {
        use crate::Progress;
        let seen = std::sync::Mutex::new(Vec::new());
        let tell = |p: Progress| seen.lock().unwrap().push(p);
        let study = Study::load(
            &munchen(),
            Preset::load("gb50180").unwrap(),
            &StudyOptions::default(),
            &tell,
        )
        .unwrap();
        let opts = study.options_for(None);
        study
            .analyze_with(&opts, &[], &tell, &AtomicBool::new(false))
            .unwrap();
        let seen = seen.into_inner().unwrap();
        let order = [
            "reading OpenStreetMap",
            "building the walking graph",
            "snapping, and indexing facilities",
        ];
        let mut stages: Vec<&str> = seen.iter().map(Progress::stage).collect();
        stages.dedup();
        assert_eq!(&stages[..3], order);
        assert_eq!(stages.last(), Some(&"searching from every residence"));
        for p in &seen {
            if let Some((done, total)) = p.count() {
                assert!(done <= total, "{p:?}");
            }
        }
        let n = study.homes.len() as u64;
        assert!(seen.contains(&Progress::Residences { done: n, total: n }));
    }

    /// Places given as text are read as the same file is.
    #[test]
    fn places_in_memory_equal_places_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = "id,lon,lat,population\nh1,11.5700,48.1380,10\nh2,11.5750,48.1370,20\n";
        let file = dir.path().join("homes.csv");
        std::fs::write(&file, text).unwrap();
        let load = |p: crate::Places| {
            let opts = StudyOptions {
                residences: Some(p),
                ..StudyOptions::default()
            };
            Study::load(&munchen(), Preset::load("gb50180").unwrap(), &opts, &|_| {}).unwrap()
        };
        let a = load(crate::Places::File(file));
        let b = load(crate::Places::Text {
            name: "homes (table).csv".into(),
            text: text.into(),
        });
        assert_eq!(a.homes, b.homes);
        let opts = a.options_for(None);
        let (x, y) = (a.analyze(&opts, &[]), b.analyze(&opts, &[]));
        assert_eq!(x.results, y.results);
        assert_eq!(
            y.summary.input.residences_file.as_deref(),
            Some("homes (table).csv")
        );
        // Bad text is an error naming it.
        let e = Study::load(
            &munchen(),
            Preset::load("gb50180").unwrap(),
            &StudyOptions {
                residences: Some(crate::Places::Text {
                    name: "mine.csv".into(),
                    text: "lon,lat\n11.5,north\n".into(),
                }),
                ..StudyOptions::default()
            },
            &|_| {},
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("mine.csv, row 2"), "{e}");
    }

    /// `write` puts every file its summary names in the folder, and no other;
    /// residences.geojson holds every residence; a folder that is a file is an error
    /// naming it.
    #[test]
    fn written_files_are_those_the_summary_names() {
        use livingcircle_export::Format;
        let study = Study::load(
            &munchen(),
            Preset::load("gb50180").unwrap(),
            &StudyOptions::default(),
            &|_| {},
        )
        .unwrap();
        let mut a = study.analyze(&study.options_for(None), &[]);
        let dir = tempfile::tempdir().unwrap();
        a.write(&study, dir.path(), &[Format::GeoJson, Format::Fgb])
            .unwrap();
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        files.sort();
        let mut want = a.summary.layers.files.clone();
        want.extend(["summary.csv".to_owned(), "summary.json".to_owned()]);
        want.sort();
        assert_eq!(files, want);
        let text = std::fs::read_to_string(dir.path().join("residences.geojson")).unwrap();
        let fc: geojson::FeatureCollection = text.parse().unwrap();
        assert_eq!(fc.features.len(), study.homes.len());
        let mut written: crate::Summary = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("summary.json")).unwrap(),
        )
        .unwrap();
        // Timings have all their digits, which serde_json does not promise to
        // read back to the last bit.
        assert!((written.seconds.total - a.summary.seconds.total).abs() < 1e-9);
        written.seconds = a.summary.seconds.clone();
        assert_eq!(written, a.summary);
        let file = dir.path().join("summary.csv");
        let e = a.write(&study, &file, &[Format::GeoJson]).unwrap_err();
        assert!(e.to_string().contains("summary.csv"), "{e}");
    }
}
