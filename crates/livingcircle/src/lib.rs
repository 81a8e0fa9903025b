/*!
The `livingcircle` library: typed results of a 15-minute living-circle analysis,
the same the command line writes.

This crate is the facade that the command line and the Python package
(`crates/python`) build on. A [`City`] is an `.osm.pbf` read and its walking graph
built; a [`Study`] adds a preset and the residences and facilities to analyse. From a
study: [`Study::analyze`] (an [`Analyzed`]: the typed [`Summary`] that `summary.json`
is, and the layers as Arrow record batches, or written by [`Analyzed::write`]),
[`Study::isochrones`] and [`Study::site`] (a [`Sited`] with the typed
[`SitesSummary`]). Progress is told through a callback of [`Progress`], cancellation
through an `AtomicBool`, failures as a typed [`Error`]. The engine's crates
(`livingcircle-osm`, `-graph`, `-snap`, `-reach`, `-analysis`, `-site`, `-iso`,
`-export`) stay usable on their own.

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
pub mod isochrones;
pub mod layers;
pub mod profile;
pub mod site;
pub mod staging;
pub mod study;
pub mod summary;

pub use city::{City, Error, LoadOptions, Progress};
pub use isochrones::{IsoReport, IsochroneOptions};
pub use livingcircle_analysis::{AnalyzeOptions, Preset};
pub use livingcircle_export::ArrowLayer;
pub use livingcircle_osm::Source;
pub use livingcircle_site::Weight;
pub use profile::Profile;
pub use site::{CandidatePlaces, Sited, SitesSummary, SitingOptions};
pub use study::{Analyzed, Places, Study, StudyOptions};

pub use summary::{
    CREDIT, CategoryStats, Counts, Input, Layers, LevelStats, Parameters, PresetInfo, Seconds,
    Summary,
};
