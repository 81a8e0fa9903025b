//! Analyses a city under a preset, prints each category's coverage, and writes
//! the layers as GeoParquet with `summary.json` (what `livingcircle analyze
//! --no-report --format parquet` writes).
//!
//! ```text
//! cargo run --release -p livingcircle --example analyze -- data/munchen.osm.pbf gb50180 out
//! ```

use std::sync::atomic::AtomicBool;

use livingcircle::{Preset, Progress, Study, StudyOptions};
use livingcircle_export::Format;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "data/munchen.osm.pbf".into());
    let preset = Preset::load(&args.next().unwrap_or_else(|| "gb50180".into()))?;
    let out = args.next().unwrap_or_else(|| "livingcircle-example".into());
    let progress = |p: Progress| {
        if p.count().is_none() {
            eprintln!("{}", p.stage());
        }
    };
    let study = Study::load(path.as_ref(), preset, &StudyOptions::default(), &progress)?;
    let opts = study.options_for(None);
    let mut analyzed = study.analyze_with(&opts, &[], &progress, &AtomicBool::new(false))?;
    for c in &analyzed.summary.categories {
        println!(
            "{:<18} {:>6.1} % of residences within {:>5.0} m",
            c.key, c.residences_pct, c.threshold_m
        );
    }
    std::fs::create_dir_all(&out)?;
    analyzed.write(&study, out.as_ref(), &[Format::Parquet])?;
    println!("{}: {}", out, analyzed.summary.layers.files.join(" "));
    Ok(())
}
