//! A study: a city, a preset, and the residences and facilities to analyse.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use livingcircle_analysis::input::{facilities_from_places, homes_from_places, read_places};
use livingcircle_analysis::{
    Analysis, AnalyzeOptions, Engine, Facility, Home, HomeResults, Preset, facilities_from_osm,
    homes_from_osm, r1,
};
use livingcircle_export::ArrowLayer;
use livingcircle_snap::Snapper;

use crate::city::{City, LoadOptions, Progress};
use crate::summary::{
    CREDIT, CategoryStats, Counts, Input, Layers, LevelStats, Parameters, PresetInfo, Seconds,
    Summary,
};

/// Where a study's places come from besides the map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyOptions {
    /// Drop ways tagged `footway=sidewalk` that are mapped beside their street.
    pub drop_sidewalk_separate: bool,
    /// Keep network components not connected to the largest one.
    pub keep_all_components: bool,
    /// Residences from a file (GeoJSON or CSV) instead of OpenStreetMap's.
    pub residences_file: Option<PathBuf>,
    /// Facilities from a file (GeoJSON or CSV, with a `category` per place), added
    /// to OpenStreetMap's.
    pub facilities_file: Option<PathBuf>,
    /// The file's facilities replace OpenStreetMap's of the same categories.
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
    /// let analyzed = study.analyze(&study.options_for(4.0), &[]);
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
        let user_homes = opts
            .residences_file
            .as_deref()
            .map(read_places)
            .transpose()?;
        let user_facilities = match opts.facilities_file.as_deref() {
            Some(p) => Some(facilities_from_places(p, &preset, read_places(p)?)?),
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
        let city = City::load_with(path, &load, progress, |data| {
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

    /// Analysis options at `speed_kmh`, the rest at their defaults.
    pub fn options_for(&self, speed_kmh: f64) -> AnalyzeOptions {
        AnalyzeOptions {
            speed_kmh,
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
        let t = std::time::Instant::now();
        let snapper = Snapper::new(&self.city.graph);
        let (an, results) = livingcircle_analysis::analyze_until(
            &snapper,
            &self.preset,
            &self.homes,
            &self.facilities,
            opts,
            cancel,
        )
        .ok_or(crate::Error::Cancelled)?;
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
        let file = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Summary {
            tool: format!("livingcircle {}", env!("CARGO_PKG_VERSION")),
            input: Input {
                file: city.path.display().to_string(),
                bytes: city.data.stats.file_bytes,
                data_timestamp: city.data_timestamp(),
                residences_file: file(&study.options.residences_file),
                facilities_file: file(&study.options.facilities_file),
                credit: CREDIT.to_owned(),
            },
            preset: PresetInfo {
                name: preset.name.clone(),
                origin: preset.origin.clone(),
            },
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
        let opts = study.options_for(4.0);
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
}
