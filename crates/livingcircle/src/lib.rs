/*!
The `livingcircle` library: typed results of a 15-minute living-circle analysis,
the same the command line writes.

This crate is the facade that the command line and the Python package
(`crates/python`) build on. Today it loads a [`City`] (reads an `.osm.pbf` and
builds its walking graph, with progress through a callback and a typed [`Error`]) and
holds the typed [`Summary`] of an analysis — what `summary.json` and `summary.csv`
say, as Rust types — so that nothing reads a summary back by string keys. The engine's crates (`livingcircle-osm`, `-graph`,
`-snap`, `-reach`, `-analysis`, `-site`, `-iso`, `-export`) stay usable on their own.

# Example
Reading a `summary.json` written by `livingcircle analyze`:
```
use livingcircle::Summary;

let text = include_str!("../testdata/summary.json");
let s: Summary = serde_json::from_str(text).unwrap();
let kindergarten = s.categories.iter().find(|c| c.key == "kindergarten").unwrap();
assert!(kindergarten.residences_pct <= 100.0);
let mut csv = Vec::new();
s.write_csv(&mut csv).unwrap();
assert!(String::from_utf8(csv).unwrap().starts_with("kind,key,level,"));
```
*/

pub mod city;
pub mod study;
pub mod summary;

pub use city::{City, Error, LoadOptions, Progress};
pub use livingcircle_analysis::{AnalyzeOptions, Preset};
pub use livingcircle_export::ArrowLayer;
pub use study::{Analyzed, Study, StudyOptions};

pub use summary::{
    CREDIT, CategoryStats, Counts, Input, Layers, LevelStats, Parameters, PresetInfo, Seconds,
    Summary,
};
