//! Command-line arguments (clap derive). Validation into typed settings happens in
//! each command before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use livingcircle_export::Format;

/// Can every resident walk to the everyday services they need within 5, 10 and 15
/// minutes? Walking-accessibility analysis from OpenStreetMap.
///
/// Map data © OpenStreetMap contributors, ODbL 1.0.
#[derive(Debug, Parser)]
#[command(name = "livingcircle", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
    /// Print only errors; no progress bars.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check every residence against a standard; write coverage and gap layers.
    Analyze(AnalyzeArgs),
    /// Build the walking graph and export it (network, nodes, edges).
    Graph(GraphArgs),
    /// Time the search engine (per-residence and multi-source) on an extract.
    Bench(BenchArgs),
    /// List the built-in presets, or print one.
    Presets(PresetsArgs),
    /// Isochrone polygons (5/10/15 minutes) for points or every residence.
    Isochrones(IsochronesArgs),
    /// Where should the next K facilities of a category go to cover the most people?
    Site(SiteArgs),
}

/// Where the network comes from and how it is read.
#[derive(Debug, Args, Clone)]
pub(crate) struct OsmArgs {
    /// OpenStreetMap extract (.osm.pbf). Default: the bundled city (data/munchen.osm.pbf).
    #[arg(long, value_name = "FILE")]
    pub(crate) osm: Option<PathBuf>,
    /// Keep every connected component, not only the largest.
    #[arg(long)]
    pub(crate) keep_all_components: bool,
    /// Drop roads tagged sidewalk=separate (their sidewalks are mapped as footways).
    #[arg(long)]
    pub(crate) drop_sidewalk_separate: bool,
    /// Refuse extracts predicted to need more memory than this (bytes, or with a unit:
    /// 512M, 16G). Default: the memory available on this machine.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_memory: Option<u64>,
}

/// `1500000`, `512K`, `800M`, `16G`, `1T` (binary units; `B`/`iB` suffixes allowed).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 800M, 16G)"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("`{s}` is not a positive size"));
    }
    Ok((v * mult as f64) as u64)
}

/// The formats of the layers written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Formats(pub(crate) Vec<Format>);

fn formats(s: &str) -> Result<Formats, String> {
    Format::parse_list(s)
        .map(Formats)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Args, Clone)]
pub(crate) struct FormatArgs {
    /// Layer formats, comma-separated: geojson, gpkg (every layer in one livingcircle.gpkg), fgb, parquet.
    #[arg(long, value_name = "LIST", default_value = "geojson", value_parser = formats)]
    pub(crate) format: Formats,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = "livingcircle-graph")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The user's own residences and facilities, instead of or beside OSM's.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PlacesArgs {
    /// Residences from a file (GeoJSON or CSV with lon,lat[,population,name]); replaces OSM residences.
    #[arg(long, value_name = "FILE")]
    pub(crate) residences: Option<PathBuf>,
    /// Facilities from a file (GeoJSON or CSV with lon,lat,category[,name]); added to OSM facilities.
    #[arg(long, value_name = "FILE")]
    pub(crate) facilities: Option<PathBuf>,
    /// With --facilities: drop OSM facilities of the categories the file provides.
    #[arg(long, requires = "facilities")]
    pub(crate) replace_osm_facilities: bool,
}

/// How OSM residences' populations are estimated (overriding the preset's
/// `[population]`).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PopulationArgs {
    /// Residents per dwelling: `building:flats × N` (default: the preset's; 2.62 for gb50180 and complete-community, 2.2 for 15min).
    #[arg(long, value_name = "N", value_parser = positive_f64)]
    pub(crate) persons_per_flat: Option<f64>,
    /// Residential floor area per resident in m²: `footprint × building:levels / M2` (default: the preset's; 40).
    #[arg(long, value_name = "M2", value_parser = positive_f64)]
    pub(crate) floor_m2_per_person: Option<f64>,
}

impl PopulationArgs {
    /// The preset's population model with these overrides.
    pub(crate) fn apply(&self, preset: &mut livingcircle_analysis::Preset) {
        if let Some(v) = self.persons_per_flat {
            preset.population.persons_per_flat = v;
        }
        if let Some(v) = self.floor_m2_per_person {
            preset.population.floor_m2_per_person = v;
        }
    }
}

/// Walking profiles: `adult` 4.8 km/h, `elderly` 4.0 km/h, `wheelchair` 3.6 km/h
/// (`livingcircle::Profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Profile {
    /// 4.8 km/h (cityseer's 80 m/min; Helsinki adults measured 4.8–5.2 km/h).
    Adult,
    /// 4.0 km/h (Helsinki elderly measured 3.9–4.3 km/h).
    Elderly,
    /// 3.6 km/h.
    Wheelchair,
}

impl Profile {
    pub(crate) fn speed_kmh(self) -> f64 {
        match self {
            Profile::Adult => livingcircle::Profile::Adult,
            Profile::Elderly => livingcircle::Profile::Elderly,
            Profile::Wheelchair => livingcircle::Profile::Wheelchair,
        }
        .speed_kmh()
    }
}

/// How fast people walk.
#[derive(Debug, Args, Clone)]
pub(crate) struct SpeedArgs {
    /// Walking profile (default: the preset's speed, else adult).
    #[arg(long, value_enum, conflicts_with = "speed_kmh")]
    pub(crate) profile: Option<Profile>,
    /// Walking speed in km/h (overrides the profile and the preset).
    #[arg(long, value_name = "KMH", value_parser = positive_f64)]
    pub(crate) speed_kmh: Option<f64>,
}

pub(crate) fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be a positive number"))
    }
}

/// An H3 resolution, 0 to 15.
pub(crate) fn hex_res(s: &str) -> Result<livingcircle_analysis::Resolution, String> {
    let v: u8 = s
        .parse()
        .map_err(|_| format!("`{s}` is not an H3 resolution (0-15)"))?;
    livingcircle_analysis::Resolution::try_from(v)
        .map_err(|_| format!("`{s}` is not an H3 resolution (0-15)"))
}

#[derive(Debug, Args)]
pub(crate) struct AnalyzeArgs {
    #[command(flatten)]
    pub(crate) population: PopulationArgs,
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Standard to check: gb50180, complete-community, 15min, or a preset FILE.toml.
    #[arg(long, default_value = "gb50180", value_name = "NAME|FILE")]
    pub(crate) preset: String,
    #[command(flatten)]
    pub(crate) speed: SpeedArgs,
    #[command(flatten)]
    pub(crate) places: PlacesArgs,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = "livingcircle-out")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
    /// Places farther than this from every walkable way are reported as unsnapped (metres).
    #[arg(long, value_name = "M", default_value_t = 200.0, value_parser = positive_f64)]
    pub(crate) max_snap_m: f64,
    /// H3 resolution of the gap cells (0-15; 9 is about 0.1 km²).
    #[arg(long, value_name = "RES", default_value = "9", value_parser = hex_res)]
    pub(crate) hex_res: livingcircle_analysis::Resolution,
    /// Print summary.json on stdout instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Per-residence engine: auto (a contraction hierarchy when it pays), ch, or dijkstra.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) engine: EngineArg,
    /// Also write isochrones.geojson: every residence's 5/10/15-minute areas.
    #[arg(long)]
    pub(crate) isochrones: bool,
    /// Buffer around the reached network for --isochrones and the report's isochrones (metres).
    #[arg(long, value_name = "M", default_value_t = 25.0, value_parser = positive_f64)]
    pub(crate) buffer_m: f64,
    /// Do not write report.html.
    #[arg(long)]
    pub(crate) no_report: bool,
    /// Language of report.html (default: zh for gb50180 and complete-community, else en).
    #[arg(long, value_enum)]
    pub(crate) lang: Option<LangArg>,
    /// Proposed sites to show in report.html (sites.geojson written by `livingcircle site`).
    #[arg(long, value_name = "FILE")]
    pub(crate) sites: Option<PathBuf>,
}

/// `--lang` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LangArg {
    /// 中文.
    Zh,
    /// English.
    En,
}

#[derive(Debug, Args)]
pub(crate) struct IsochronesArgs {
    #[command(flatten)]
    pub(crate) population: PopulationArgs,
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Points (GeoJSON or CSV with lon,lat[,name]); default: every residence.
    #[arg(long, value_name = "FILE", conflicts_with = "residences")]
    pub(crate) points: Option<PathBuf>,
    /// Every residence of the extract (the default without --points).
    #[arg(long)]
    pub(crate) residences: bool,
    /// Thresholds in minutes, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = positive_f64, conflicts_with = "meters")]
    pub(crate) minutes: Vec<f64>,
    /// Thresholds in metres, comma-separated (instead of --minutes).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = positive_f64)]
    pub(crate) meters: Vec<f64>,
    #[command(flatten)]
    pub(crate) speed: SpeedArgs,
    /// Buffer around the reached network (metres).
    #[arg(long, value_name = "M", default_value_t = 25.0, value_parser = positive_f64)]
    pub(crate) buffer_m: f64,
    /// Disjoint bands (0-5, 5-10, 10-15 minutes) instead of nested areas.
    #[arg(long)]
    pub(crate) rings: bool,
    /// Simplification tolerance (metres; 0 = off). Polygons stay valid and nested.
    #[arg(long, value_name = "M", default_value_t = 1.0, value_parser = non_negative_f64)]
    pub(crate) simplify_m: f64,
    /// Only the numbers (area_m2, network_m, population, <key>_count), no geometry: CSV.
    #[arg(long)]
    pub(crate) stats_only: bool,
    /// Facility categories counted in each polygon.
    #[arg(long, default_value = "gb50180", value_name = "NAME|FILE")]
    pub(crate) preset: String,
    /// Points farther than this from every walkable way get no polygon (metres).
    #[arg(long, value_name = "M", default_value_t = 200.0, value_parser = positive_f64)]
    pub(crate) max_snap_m: f64,
    /// Output file: .geojson, .gpkg, .fgb, .parquet, or .csv with --stats-only (default
    /// isochrones.geojson, isochrones.csv with --stats-only).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Formats, comma-separated (geojson, gpkg, fgb, parquet): one file each, --out with
    /// each format's extension (default: the format --out's extension names, else geojson).
    #[arg(long, value_name = "LIST", value_parser = formats)]
    pub(crate) format: Option<Formats>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Search budget in metres (default 1080 = 15 min at 4.32 km/h, the peers' default).
    #[arg(long, value_name = "M", value_parser = positive_f64, conflicts_with = "minutes")]
    pub(crate) max_m: Option<f64>,
    /// Search budget in minutes (with --speed-kmh, default 4.8).
    #[arg(long, value_name = "MIN", value_parser = positive_f64)]
    pub(crate) minutes: Option<f64>,
    /// Walking speed for --minutes.
    #[arg(long, value_name = "KMH", value_parser = positive_f64, requires = "minutes")]
    pub(crate) speed_kmh: Option<f64>,
    /// Per-source searches from: residences (their edges' end nodes), nodes (every node), or a count of nodes.
    #[arg(long, default_value = "residences", value_name = "residences|nodes|N")]
    pub(crate) sources: String,
    /// Facility categories for the multi-source searches.
    #[arg(long, default_value = "gb50180", value_name = "NAME|FILE")]
    pub(crate) preset: String,
    /// Places farther than this from every walkable way are not used (metres).
    #[arg(long, value_name = "M", default_value_t = 200.0, value_parser = positive_f64)]
    pub(crate) max_snap_m: f64,
    /// Run the timed part this many times and report the fastest.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) repeat: u32,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the exact job (nodes.csv, edges.csv, sources.csv, facilities.csv) for other tools.
    #[arg(long, value_name = "DIR")]
    pub(crate) export: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct PresetsArgs {
    /// Print this preset's TOML (to copy and edit).
    #[arg(value_name = "NAME")]
    pub(crate) show: Option<String>,
}

/// `--engine` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EngineArg {
    /// A contraction hierarchy when building it costs less than the searches it saves.
    Auto,
    /// Always a contraction hierarchy (bucket many-to-many).
    Ch,
    /// Always one bounded Dijkstra per source node.
    Dijkstra,
}

/// `--by` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ByArg {
    /// Residents (each residence's estimated or given population).
    Population,
    /// Residences, one each.
    Residences,
}

#[derive(Debug, Args)]
pub(crate) struct SiteArgs {
    #[command(flatten)]
    pub(crate) population: PopulationArgs,
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Category to site: a key of the preset (e.g. kindergarten).
    #[arg(long, value_name = "KEY")]
    pub(crate) category: String,
    /// How many sites to choose.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) count: u32,
    /// Standard whose threshold applies: gb50180, complete-community, 15min, or a FILE.toml.
    #[arg(long, default_value = "gb50180", value_name = "NAME|FILE")]
    pub(crate) preset: String,
    #[command(flatten)]
    pub(crate) speed: SpeedArgs,
    /// Candidate sites (GeoJSON points/polygons or CSV lon,lat[,id,name]); default: graph nodes.
    #[arg(long, value_name = "FILE")]
    pub(crate) candidates: Option<PathBuf>,
    /// Stop early when the next site would cover fewer people (or residences, with --by residences).
    #[arg(long, value_name = "N", default_value_t = 0.0, value_parser = non_negative_f64)]
    pub(crate) min_gain: f64,
    /// What a site's gain counts.
    #[arg(long, value_enum, default_value = "population")]
    pub(crate) by: ByArg,
    /// Without --candidates: the most graph nodes to evaluate (more are sampled evenly).
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_candidates: u32,
    #[command(flatten)]
    pub(crate) places: PlacesArgs,
    /// Residences and candidates farther than this from every walkable way are unsnapped (metres).
    #[arg(long, value_name = "M", default_value_t = 200.0, value_parser = positive_f64)]
    pub(crate) max_snap_m: f64,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = "livingcircle-sites")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
    /// Print sites_summary.json on stdout instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn non_negative_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be zero or a positive number"))
    }
}
