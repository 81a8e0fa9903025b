//! Command-line arguments (clap derive). Validation into typed settings happens in
//! each command before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Build the walking graph and export it (network.geojson, nodes.csv, edges.csv).
    Graph(GraphArgs),
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
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) osm: OsmArgs,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = "livingcircle-graph")]
    pub(crate) out: PathBuf,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}
