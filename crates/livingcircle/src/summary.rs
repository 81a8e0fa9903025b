//! The typed summary of an analysis: what `summary.json` holds, field by field.
//!
//! Serialised with `serde`, a [`Summary`] is `summary.json` (fields in declaration
//! order); [`Summary::write_csv`] is `summary.csv` and the command line's table
//! reads the same fields. Percentages are of the *snapped* residences and their
//! population, rounded to one decimal; distances are walking metres.

use std::io::Write;

use livingcircle_analysis::{Analysis, Preset, pct, r1};
use serde::{Deserialize, Serialize};

/// Everything `summary.json` says about one analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// `livingcircle <version>`.
    pub tool: String,
    /// What was read.
    pub input: Input,
    /// The preset's name and where it came from.
    pub preset: PresetInfo,
    /// The settings of the run.
    pub parameters: Parameters,
    /// Sizes of the inputs and results.
    pub counts: Counts,
    /// One entry per category of the preset, in preset order.
    pub categories: Vec<CategoryStats>,
    /// One entry per living-circle level (all its categories met at once).
    pub levels: Vec<LevelStats>,
    /// The files written.
    pub layers: Layers,
    /// Wall time per stage.
    pub seconds: Seconds,
}

/// The inputs of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The `.osm.pbf` read.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The data's timestamp (the file's replication timestamp, else its newest
    /// way), `YYYY-MM-DDTHH:MM:SSZ`.
    pub data_timestamp: Option<String>,
    /// `--residences`, if given.
    pub residences_file: Option<String>,
    /// `--facilities`, if given.
    pub facilities_file: Option<String>,
    /// The attribution the data requires.
    pub credit: String,
}

/// The OpenStreetMap attribution every output carries.
pub const CREDIT: &str = "Map data © OpenStreetMap contributors, ODbL 1.0";

/// Which preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetInfo {
    /// Its name.
    pub name: String,
    /// `builtin:<key>` or the TOML file it was read from.
    pub origin: String,
}

impl PresetInfo {
    /// The name and origin of `p`.
    pub fn of(p: &livingcircle_analysis::Preset) -> Self {
        PresetInfo {
            name: p.name.clone(),
            origin: p.origin.clone(),
        }
    }
}

/// What a summary's `tool` says: `livingcircle <version>`.
pub(crate) fn tool() -> String {
    format!("livingcircle {}", env!("CARGO_PKG_VERSION"))
}

/// The settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)]
pub struct Parameters {
    /// Walking speed, km/h.
    pub speed_kmh: f64,
    /// Places farther than this from the network (m) are unsnapped.
    pub max_snap_m: f64,
    /// H3 resolution of the gap cells.
    pub hex_res: u8,
    /// Persons per flat (population estimate).
    pub persons_per_flat: f64,
    /// Floor area per person, m² (population estimate).
    pub floor_m2_per_person: f64,
    /// How far searches go, m (the largest threshold).
    pub search_budget_m: f64,
    /// Whether components not connected to the largest were kept.
    pub keep_all_components: bool,
    /// Whether `footway=sidewalk` ways mapped separately were dropped.
    pub drop_sidewalk_separate: bool,
    /// Whether the user's facilities replaced OpenStreetMap's.
    pub replace_osm_facilities: bool,
    /// Threads used.
    pub threads: usize,
    /// `hierarchy` or `dijkstra`.
    pub engine: String,
    /// Whether `report.html` was written.
    pub report_html: bool,
}

/// Sizes of the inputs and results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Residences read.
    pub residences: usize,
    /// Of them, joined to the network.
    pub residences_snapped: u32,
    /// Of them, farther than `max_snap_m` from it.
    pub residences_unsnapped: u32,
    /// Population of the snapped residences.
    pub population: f64,
    /// Facilities read.
    pub facilities: usize,
    /// Of them, not reachable from the network.
    pub facilities_unsnapped: usize,
    /// Junctions of the walking graph.
    pub graph_nodes: usize,
    /// Edges of the walking graph.
    pub graph_edges: usize,
    /// Length of the walking network, km.
    pub network_km: f64,
    /// Components dropped as not connected to the largest.
    pub components_dropped: u64,
    /// Areas whose rings could not be assembled.
    pub broken_areas: u64,
    /// Rings that did not close.
    pub broken_rings: u64,
    /// Gap cells (H3 cell and category with residents missing it).
    pub gap_cells: usize,
    /// Searches run.
    pub searches: u64,
    /// Disagreements of the engine's cross-check (0 on a correct run).
    pub cross_check_mismatches: u64,
}

/// One category's coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryStats {
    /// Preset key, e.g. `kindergarten`.
    pub key: String,
    /// English name.
    pub name: String,
    /// Chinese name, if the preset gives one.
    pub name_zh: Option<String>,
    /// The living-circle level (minutes) it belongs to, if any.
    pub level: Option<u8>,
    /// Its walking threshold, m.
    pub threshold_m: f64,
    /// The threshold in minutes at the run's speed.
    pub threshold_min: f64,
    /// Facilities of the category.
    pub facilities: u32,
    /// Of them, reachable from the network.
    pub facilities_snapped: u32,
    /// Residences with one within the threshold.
    pub residences_covered: u32,
    /// As % of the snapped residences.
    pub residences_pct: f64,
    /// Their population.
    pub population_covered: f64,
    /// As % of the snapped population.
    pub population_pct: f64,
    /// Median walking distance to the nearest, m (residences that reach one within
    /// the search budget).
    pub median_m: Option<f64>,
    /// 90th percentile of the same, m.
    pub p90_m: Option<f64>,
}

/// One level's coverage: residences that meet all of its categories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelStats {
    /// Minutes (5, 10, 15).
    pub level: u8,
    /// Categories of the level.
    pub categories: u32,
    /// Residences meeting all of them.
    pub residences_ok: u32,
    /// As % of the snapped residences.
    pub residences_pct: f64,
    /// Their population.
    pub population_ok: f64,
    /// As % of the snapped population.
    pub population_pct: f64,
}

/// The files written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layers {
    /// The layers' schema version ([`livingcircle_export::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Formats written, e.g. `geojson`.
    pub formats: Vec<String>,
    /// File names, in writing order.
    pub files: Vec<String>,
}

/// Wall time per stage, seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seconds {
    /// Reading the `.osm.pbf`.
    pub read: f64,
    /// Building the walking graph.
    pub build: f64,
    /// Snapping residences and facilities.
    pub snap: f64,
    /// Building the contraction hierarchy.
    pub hierarchy: f64,
    /// Per-residence searches.
    pub per_residence: f64,
    /// Multi-source searches.
    pub multi_source: f64,
    /// Writing the layers.
    pub write: f64,
    /// Of that, the residences layer.
    pub write_residences: f64,
    /// The whole run.
    pub total: f64,
}

impl CategoryStats {
    /// Every category of `an`, with names from `preset` and percentages of the
    /// snapped residences (`residences`) and their population.
    pub fn all(
        an: &Analysis,
        preset: &Preset,
        speed_kmh: f64,
        residences: f64,
        population: f64,
    ) -> Vec<Self> {
        an.categories
            .iter()
            .map(|c| {
                let cat = &preset.categories[c.category];
                CategoryStats {
                    key: cat.key.clone(),
                    name: cat.name.clone(),
                    name_zh: cat.name_zh.clone(),
                    level: cat.level,
                    threshold_m: c.threshold_m,
                    threshold_min: r1(cat.threshold_min(speed_kmh)),
                    facilities: c.facilities,
                    facilities_snapped: c.facilities_snapped,
                    residences_covered: c.residences_covered,
                    residences_pct: pct(f64::from(c.residences_covered), residences),
                    population_covered: r1(c.population_covered),
                    population_pct: pct(c.population_covered, population),
                    median_m: c.median_m.map(r1),
                    p90_m: c.p90_m.map(r1),
                }
            })
            .collect()
    }
}

impl LevelStats {
    /// Every level of `an`, with percentages as in [`CategoryStats::all`].
    pub fn all(an: &Analysis, residences: f64, population: f64) -> Vec<Self> {
        an.levels
            .iter()
            .map(|l| LevelStats {
                level: l.level,
                categories: l.categories,
                residences_ok: l.residences_ok,
                residences_pct: pct(f64::from(l.residences_ok), residences),
                population_ok: r1(l.population_ok),
                population_pct: pct(l.population_ok, population),
            })
            .collect()
    }
}

impl Summary {
    /// Writes `summary.csv`: one row per category (`kind` = `category`) and per level
    /// (`kind` = `level`, `key` = `level<minutes>`); empty cells for what does not
    /// apply or is unknown.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_csv(&self, f: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            f,
            "kind,key,level,threshold_m,facilities,residences_covered,residences_pct,population_covered,population_pct,median_m,p90_m"
        )?;
        let opt = |x: Option<String>| x.unwrap_or_default();
        for c in &self.categories {
            writeln!(
                f,
                "category,{},{},{},{},{},{},{},{},{},{}",
                c.key,
                opt(c.level.map(|l| l.to_string())),
                num(c.threshold_m),
                c.facilities,
                c.residences_covered,
                num(c.residences_pct),
                num(c.population_covered),
                num(c.population_pct),
                opt(c.median_m.map(num)),
                opt(c.p90_m.map(num)),
            )?;
        }
        for l in &self.levels {
            writeln!(
                f,
                "level,level{},{},,,{},{},{},{},,",
                l.level,
                l.level,
                l.residences_ok,
                num(l.residences_pct),
                num(l.population_ok),
                num(l.population_pct),
            )?;
        }
        Ok(())
    }
}

/// A float as `summary.json` writes it (`300.0`, `12.5`): the CSV and the JSON agree.
fn num(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(String::new, |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn floats_read_as_in_json() {
        assert_eq!(num(300.0), "300.0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(f64::NAN), "");
    }
}
