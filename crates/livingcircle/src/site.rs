//! Siting: where the next facilities of a category should go, chosen greedily by
//! the residents they newly bring within the category's walking threshold.
//!
//! [`Study::site`] decides who already has the category exactly as the analysis
//! does (searches bounded at its threshold), then hands the demand and the
//! candidates (the user's places, or a sample of graph nodes) to
//! `livingcircle_site::plan`. The result's typed [`SitesSummary`] is what
//! `sites_summary.json` says.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use livingcircle_analysis::input::UserPlace;
use livingcircle_analysis::{AnalyzeOptions, analyze, pct, r1};
use livingcircle_export::{self as export, ArrowLayer, Format};
use livingcircle_site::{Candidates, Plan, SiteOptions, Stop, Weight, plan};
use livingcircle_snap::Snapper;
use serde::{Deserialize, Serialize};

use crate::{CREDIT, Error, Layers, PresetInfo, Progress, Study};

/// What to site, as `livingcircle site` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SitingOptions {
    /// The category's key in the preset (e.g. `kindergarten`).
    pub category: String,
    /// How many sites at most.
    pub count: usize,
    /// Stop when a site would newly cover less than this (people or residences).
    pub min_gain: f64,
    /// Count people or residences.
    pub by: Weight,
    /// Walking speed; `None`: the preset's, else 4.8 km/h.
    pub speed_kmh: Option<f64>,
    /// How far a residence or candidate may lie from the network, metres.
    pub max_snap_m: f64,
    /// Without candidate places: at most this many graph nodes (an even sample).
    pub max_candidates: usize,
}

impl Default for SitingOptions {
    /// Three kindergartens by people, candidates among up to 200,000 graph nodes.
    fn default() -> Self {
        SitingOptions {
            category: "kindergarten".into(),
            count: 3,
            min_gain: 0.0,
            by: Weight::Population,
            speed_kmh: None,
            max_snap_m: 200.0,
            max_candidates: 200_000,
        }
    }
}

/// Candidate places for [`Study::site`]: read from a file named `name`.
#[derive(Debug, Clone)]
pub struct CandidatePlaces {
    /// The file (or the name of a table given in memory), for the summary.
    pub name: PathBuf,
    /// The places.
    pub places: Vec<UserPlace>,
}

/// Coverage of the category at one point of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covered {
    /// Residences with the category within its threshold.
    pub residences_covered: u32,
    /// Of all snapped residences, percent.
    pub residences_pct: f64,
    /// People with it.
    pub population_covered: f64,
    /// Of all people, percent.
    pub population_pct: f64,
    /// Residences without it.
    pub residences_missing: u32,
    /// People without it.
    pub population_missing: f64,
}

/// One chosen site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 1 for the first chosen.
    pub rank: usize,
    /// Longitude (for an area: a point inside it).
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// The candidate's id in its file.
    pub candidate_id: Option<String>,
    /// The candidate's name.
    pub name: Option<String>,
    /// The graph node, for node candidates.
    pub node: Option<u32>,
    /// Points where the site joins the network.
    pub access_points: usize,
    /// Residences it newly covers.
    pub gain_residents: u32,
    /// People it newly covers.
    pub gain_population: f64,
    /// Coverage once it is built.
    pub after: Covered,
}

/// The input files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    /// The `.osm.pbf`.
    pub file: String,
    /// The extract's data timestamp, when it says.
    pub data_timestamp: Option<String>,
    /// The candidates' file.
    pub candidates_file: Option<String>,
    /// The user's residences.
    pub residences_file: Option<String>,
    /// The user's facilities.
    pub facilities_file: Option<String>,
    /// The map data's licence.
    pub credit: String,
}

/// The category sited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteCategory {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its Chinese name.
    pub name_zh: Option<String>,
    /// Its walking threshold, metres.
    pub threshold_m: f64,
    /// The same in minutes at the walking speed.
    pub threshold_min: f64,
    /// Its facilities today.
    pub existing_facilities: u32,
    /// Of which joined to the network.
    pub existing_facilities_snapped: u32,
}

/// The run's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteParameters {
    /// Sites asked for.
    pub count: usize,
    /// `population` or `residences`.
    pub by: String,
    /// Smallest gain accepted.
    pub min_gain: f64,
    /// Walking speed, km/h.
    pub speed_kmh: f64,
    /// Snapping distance, metres.
    pub max_snap_m: f64,
    /// Node candidates at most (none with candidate places).
    pub max_candidates: Option<usize>,
    /// Worker threads.
    pub threads: usize,
}

/// What was made of the candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateCounts {
    /// `file` or `graph nodes`.
    pub kind: String,
    /// Given (places, or graph nodes).
    pub given: usize,
    /// Within the threshold of some uncovered residence.
    pub in_reach_of_demand: usize,
    /// Every how many nodes one was taken.
    pub sample_stride: usize,
    /// Joined to the network.
    pub snapped: usize,
    /// At distinct points of it.
    pub distinct: usize,
    /// Covering at least one uncovered residence.
    pub covering_someone: usize,
}

/// The candidates' reach sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachSets {
    /// (candidate, residence) pairs within the threshold.
    pub pairs: u64,
    /// Their memory, bytes.
    pub bytes: u64,
}

/// Wall time per stage, seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSeconds {
    /// Reading the `.osm.pbf`.
    pub read: f64,
    /// Building the walking graph.
    pub build: f64,
    /// Deciding who is covered today.
    pub analyze: f64,
    /// Snapping the candidates.
    pub snap_candidates: f64,
    /// The candidates' searches.
    pub reach_sets: f64,
    /// The greedy choice.
    pub greedy: f64,
    /// Distances from the chosen sites.
    pub site_distances: f64,
    /// Writing the layers.
    pub write: f64,
    /// The whole run.
    pub total: f64,
}

/// What `sites_summary.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitesSummary {
    /// `livingcircle <version>`.
    pub tool: String,
    /// The inputs.
    pub input: SiteInput,
    /// The preset.
    pub preset: PresetInfo,
    /// The category sited.
    pub category: SiteCategory,
    /// The parameters.
    pub parameters: SiteParameters,
    /// The candidates.
    pub candidates: CandidateCounts,
    /// The candidates' reach sets.
    pub reach_sets: ReachSets,
    /// The files written.
    pub layers: Layers,
    /// Snapped residences.
    pub residences: u32,
    /// Their people.
    pub population: f64,
    /// Coverage today.
    pub before: Covered,
    /// The sites, in the order chosen.
    pub steps: Vec<Step>,
    /// Coverage with every site built.
    pub after: Covered,
    /// Why the choice stopped.
    pub stop: String,
    /// Stage times.
    pub seconds: SiteSeconds,
}

/// A study sited ([`Study::site`]).
#[derive(Debug)]
pub struct Sited {
    /// What `sites_summary.json` says (its `layers` and `seconds.write` as the
    /// caller filled them).
    pub summary: SitesSummary,
    /// The plan: each site, its gain and the coverage after it.
    pub plan: Plan,
    /// The category's index in the preset.
    pub category: usize,
    /// Whether some candidate is an area (the `sites` layer then mixes points and
    /// polygons).
    pub areas: bool,
}

impl Sited {
    /// The `sites` layer in Arrow record batches.
    pub fn sites(&self, study: &Study) -> ArrowLayer {
        ArrowLayer::of(export::sites_schema(self.areas), &self.site_rows(study))
    }

    /// The `site_coverage` layer (each residence newly covered, by which site).
    pub fn coverage(&self, study: &Study) -> ArrowLayer {
        ArrowLayer::of(
            export::site_coverage_schema(),
            &export::SiteCoverageRows::new(&study.homes, &self.plan),
        )
    }

    fn site_rows<'a>(&'a self, study: &'a Study) -> export::SiteRows<'a> {
        export::SiteRows {
            graph: &study.city.graph,
            preset: &study.preset,
            category: self.category,
            plan: &self.plan,
        }
    }

    /// Writes `sites` and `site_coverage` in `formats` and `sites_summary.json`
    /// into `out` (created if needed), replacing a previous run's set as a whole
    /// (see [`crate::staging`]); once written, the summary's `layers` and
    /// `seconds.write` say so (a failed write changes nothing).
    ///
    /// # Errors
    /// Writing failed (the message names the file).
    ///
    /// # Example
    /// ```
    /// use std::sync::atomic::AtomicBool;
    /// use livingcircle::{Preset, SitingOptions, Study, StudyOptions};
    /// use livingcircle_export::Format;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let study = Study::load(path.as_ref(), Preset::load("gb50180").unwrap(),
    ///     &StudyOptions::default(), &|_| {}).unwrap();
    /// let opts = SitingOptions { count: 1, ..Default::default() };
    /// let mut sited = study.site(&opts, None, &|_| {}, &AtomicBool::new(false)).unwrap();
    /// let dir = std::env::temp_dir().join(format!("lc-doc-site-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// sited.write(&study, &dir, &[Format::GeoJson]).unwrap();
    /// assert_eq!(sited.summary.layers.files, ["sites.geojson", "site_coverage.geojson"]);
    /// assert!(dir.join("sites_summary.json").is_file());
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn write(
        &mut self,
        study: &Study,
        out: &std::path::Path,
        formats: &[Format],
    ) -> Result<(), Error> {
        let t = Instant::now();
        let staging = crate::staging::Staging::new(out, "site")?;
        let layers = export::Layers::create(staging.dir(), formats, export::SITES_GPKG_NAME)?;
        layers.write(&export::sites_schema(self.areas), &self.site_rows(study))?;
        layers.write(
            &export::site_coverage_schema(),
            &export::SiteCoverageRows::new(&study.homes, &self.plan),
        )?;
        layers.finish()?;
        let mut summary = self.summary.clone();
        summary.layers = crate::layers::summary(formats, &crate::layers::site());
        let write = t.elapsed().as_secs_f64();
        // A second write replaces the first's time, it does not add to it.
        summary.seconds.total += write - summary.seconds.write;
        summary.seconds.write = write;
        export::write_atomic(&staging.dir().join("sites_summary.json"), |f| {
            serde_json::to_writer_pretty(&mut *f, &summary).map_err(std::io::Error::other)?;
            std::io::Write::write_all(f, b"\n")
        })?;
        staging.commit()?;
        self.summary = summary;
        Ok(())
    }
}

impl Study {
    /// Chooses up to `opts.count` sites for `opts.category` among `candidates`
    /// (else graph nodes), greedily by the people (or residences) each newly
    /// brings within the category's threshold, as `livingcircle site` does.
    /// `cancel` is checked between stages.
    ///
    /// # Errors
    /// [`Error::Invalid`]: an unknown category, or no candidate within reach of
    /// the network; [`Error::Cancelled`].
    ///
    /// # Example
    /// ```
    /// use std::sync::atomic::AtomicBool;
    /// use livingcircle::{Preset, SitingOptions, Study, StudyOptions};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/munchen.osm.pbf");
    /// let study = Study::load(path.as_ref(), Preset::load("gb50180").unwrap(),
    ///     &StudyOptions::default(), &|_| {}).unwrap();
    /// let opts = SitingOptions { count: 2, ..Default::default() };
    /// let sited = study.site(&opts, None, &|_| {}, &AtomicBool::new(false)).unwrap();
    /// let s = &sited.summary;
    /// assert!(s.after.population_covered >= s.before.population_covered);
    /// assert_eq!(sited.sites(&study).num_rows(), s.steps.len());
    /// ```
    pub fn site(
        &self,
        opts: &SitingOptions,
        candidates: Option<CandidatePlaces>,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Sited, Error> {
        let t_start = Instant::now();
        let preset = &self.preset;
        let category = preset
            .category_index(&opts.category)
            .map_err(Error::Invalid)?;
        let speed_kmh = opts.speed_kmh.or(preset.speed_kmh).unwrap_or(4.8);
        let check = || {
            if cancel.load(Ordering::Relaxed) {
                Err(Error::Cancelled)
            } else {
                Ok(())
            }
        };
        check()?;
        // Only the category matters, and only within its threshold: whether a
        // residence has one is decided exactly as the analysis decides it, with
        // searches bounded there.
        progress(Progress::Coverage);
        let facilities: Vec<_> = self
            .facilities
            .iter()
            .filter(|f| f.category == category)
            .cloned()
            .collect();
        let aopts = AnalyzeOptions {
            speed_kmh,
            max_snap_m: opts.max_snap_m,
            budget_m: Some(preset.categories[category].threshold_m(speed_kmh)),
            ..AnalyzeOptions::default()
        };
        let snapper = Snapper::new(&self.city.graph);
        let (an, results) = analyze(&snapper, preset, &self.homes, &facilities, &aopts);
        check()?;
        progress(Progress::Siting);
        let file = candidates.as_ref().map(|c| c.name.clone());
        let cands = match candidates {
            Some(c) => Candidates::Places(c.places),
            None => Candidates::Nodes {
                max: opts.max_candidates,
            },
        };
        let areas =
            matches!(&cands, Candidates::Places(l) if l.iter().any(|c| !c.outline.is_empty()));
        let site_opts = SiteOptions {
            category,
            count: opts.count,
            min_gain: opts.min_gain,
            by: opts.by,
            max_snap_m: opts.max_snap_m,
        };
        let p = plan(&snapper, &self.homes, &an, &results, &cands, &site_opts);
        check()?;
        if let Some(file) = &file
            && p.candidates.snapped == 0
        {
            return Err(Error::Invalid(format!(
                "{}: none of the {} candidates lies within {} m of the walking network (--max-snap-m)",
                file.display(),
                p.candidates.given,
                opts.max_snap_m
            )));
        }
        let cat = &preset.categories[category];
        let covered = |res: u32, popn: f64| Covered {
            residences_covered: res,
            residences_pct: pct(f64::from(res), f64::from(p.residences)),
            population_covered: r1(popn),
            population_pct: pct(popn, p.population),
            residences_missing: p.residences - res,
            population_missing: r1(p.population - popn),
        };
        let after = p.sites.last().map_or(
            (p.covered_residences_before, p.covered_population_before),
            |s| (s.covered_residences_after, s.covered_population_after),
        );
        let summary = SitesSummary {
            tool: crate::summary::tool(),
            input: SiteInput {
                file: self.city.path.display().to_string(),
                data_timestamp: self.city.data_timestamp(),
                candidates_file: file.map(|f| f.display().to_string()),
                residences_file: crate::Places::name_of(self.options.residences.as_ref()),
                facilities_file: crate::Places::name_of(self.options.facilities.as_ref()),
                credit: CREDIT.to_owned(),
            },
            preset: PresetInfo::of(preset),
            category: SiteCategory {
                key: cat.key.clone(),
                name: cat.name.clone(),
                name_zh: cat.name_zh.clone(),
                threshold_m: f64::from(p.threshold_mm) / 1000.0,
                threshold_min: r1(cat.threshold_min(speed_kmh)),
                existing_facilities: an.categories[category].facilities,
                existing_facilities_snapped: an.categories[category].facilities_snapped,
            },
            parameters: SiteParameters {
                count: opts.count,
                by: match opts.by {
                    Weight::Population => "population",
                    Weight::Residences => "residences",
                }
                .to_owned(),
                min_gain: opts.min_gain,
                speed_kmh,
                max_snap_m: opts.max_snap_m,
                max_candidates: matches!(cands, Candidates::Nodes { .. })
                    .then_some(opts.max_candidates),
                threads: rayon::current_num_threads(),
            },
            candidates: CandidateCounts {
                kind: match cands {
                    Candidates::Places(_) => "file",
                    Candidates::Nodes { .. } => "graph nodes",
                }
                .to_owned(),
                given: p.candidates.given,
                in_reach_of_demand: p.candidates.in_reach,
                sample_stride: p.candidates.stride,
                snapped: p.candidates.snapped,
                distinct: p.candidates.distinct,
                covering_someone: p.candidates.useful,
            },
            reach_sets: ReachSets {
                pairs: p.pairs,
                bytes: p.reach_bytes,
            },
            layers: Layers {
                schema_version: export::SCHEMA_VERSION,
                formats: Vec::new(),
                files: Vec::new(),
            },
            residences: p.residences,
            population: r1(p.population),
            before: covered(p.covered_residences_before, p.covered_population_before),
            steps: p
                .sites
                .iter()
                .map(|s| Step {
                    rank: s.rank,
                    lon: export::round7(s.lonlat[0]),
                    lat: export::round7(s.lonlat[1]),
                    candidate_id: s.id.clone(),
                    name: s.name.clone(),
                    node: s.node,
                    access_points: s.access_points,
                    gain_residents: s.gain_residences,
                    gain_population: r1(s.gain_population),
                    after: covered(s.covered_residences_after, s.covered_population_after),
                })
                .collect(),
            after: covered(after.0, after.1),
            stop: match p.stop {
                Stop::Count => "count reached",
                Stop::MinGain if opts.min_gain > 0.0 => {
                    "gain below --min-gain (or nothing left to cover)"
                }
                Stop::MinGain => "nothing left that a candidate covers",
            }
            .to_owned(),
            seconds: SiteSeconds {
                read: self.city.read_s,
                build: self.city.build_s,
                analyze: an.seconds.iter().sum::<f64>(),
                snap_candidates: p.seconds[0],
                reach_sets: p.seconds[1],
                greedy: p.seconds[2],
                site_distances: p.seconds[3],
                write: 0.0,
                total: self.city.read_s + self.city.build_s + t_start.elapsed().as_secs_f64(),
            },
        };
        Ok(Sited {
            summary,
            plan: p,
            category,
            areas,
        })
    }
}
