/*!
The planner's questions: which required facilities each residence reaches within
its walking threshold, how many people the gaps leave out, and where.

* [`Preset`]: the facility categories of a standard (GB 50180-2018, 完整居住社区,
  the 15-minute city, or a user's TOML), each with tag rules and a threshold.
* [`analyze`]: snaps residences and facilities, runs the engine's per-residence
  searches (budget: twice the largest threshold, so near misses show how near they
  are) and cross-checks every nearest distance against one multi-source search per
  category. Produces per-residence, per-facility and per-category results and H3
  gap cells.

# Example
```
use livingcircle_analysis::Preset;
let p = Preset::load("gb50180").unwrap();
assert!(p.categories.iter().any(|c| c.key == "kindergarten"));
```
*/

mod coverage;
pub mod input;
mod places;
pub mod population;
mod preset;
mod tagexpr;

pub use coverage::*;
/// The H3 resolution of gap cells ([`AnalyzeOptions::hex_res`]).
pub use h3o::Resolution;
pub use livingcircle_snap::{Access, AccessKind, Snap};
pub use places::{facilities_from_osm, homes_from_osm};
pub use preset::{BUILTIN, Category, Preset, PresetError};
pub use tagexpr::{Cond, TagExpr};

/// `x` rounded to 0.1, as every layer and summary writes people and metres (never
/// `-0.0`).
pub fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// Degrees rounded to 7 decimals (about 1 cm): the precision of every coordinate
/// the project writes.
pub fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Millimetres as metres rounded to 0.1.
pub fn m1(mm: u32) -> f64 {
    (f64::from(mm) / 100.0).round() / 10.0
}

/// `part` as a percentage of `whole`, rounded to 0.1 (0 when `whole` is 0): the
/// one rounding every summary, layer and report uses, so they agree to the digit.
pub fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole * 1000.0).round() / 10.0 + 0.0
    } else {
        0.0
    }
}
