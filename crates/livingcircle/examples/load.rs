//! Loads a city and prints the size of its walking graph.
//!
//! ```text
//! cargo run --release -p livingcircle --example load -- data/munchen.osm.pbf
//! ```

use livingcircle::{City, LoadOptions, Progress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data/munchen.osm.pbf".into());
    let city = City::load(path.as_ref(), &LoadOptions::default(), &|p| {
        if p == Progress::Building {
            eprintln!("read; building the walking graph");
        }
    })?;
    println!(
        "{}: {} junctions, {} edges, {:.1} km of walkable network (read {:.2} s, built {:.2} s)",
        city.path.display(),
        city.graph.node_count(),
        city.graph.edge_count(),
        city.graph.total_length_m() / 1000.0,
        city.read_s,
        city.build_s
    );
    Ok(())
}
