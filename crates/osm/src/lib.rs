/*!
Reads an OpenStreetMap `.osm.pbf` into what livingcircle needs: the walkable ways
(cut where the extract lacks their nodes), facility candidates (tagged nodes, closed
ways and multipolygons) and residences (residential buildings, `building=yes` inside
`landuse=residential`, and residential areas without mapped homes).

Blobs are decoded in parallel with `osmpbf`; both `Node` and `DenseNode` are handled and
the file need not be sorted.

# Example
```no_run
use livingcircle_osm::{read, ReadOptions};
let data = read(std::path::Path::new("data/munchen.osm.pbf"), &ReadOptions::default())?;
println!("{} walkable pieces, {} residences", data.network.piece_count(), data.residences.len());
# Ok::<(), livingcircle_osm::Error>(())
```
*/

mod area;
mod model;
mod nodes;
mod pbf;
pub mod proj;
mod read;
pub mod rules;

pub use model::*;
pub use read::{RESIDENTIAL_BUILDINGS, ReadOptions, Source, read, read_from, read_with_progress};

use std::path::PathBuf;

/// What can go wrong reading a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (chained as the source, not repeated in the message).
        source: std::io::Error,
    },
    /// The path is a directory or another non-file.
    #[error("{0}: is a directory, not an .osm.pbf file")]
    NotAFile(PathBuf),
    /// The file is empty.
    #[error("{0}: the file is empty")]
    Empty(PathBuf),
    /// The file is not a valid (or is a truncated) OSM PBF.
    #[error("{path}: not a valid .osm.pbf (corrupt or truncated): {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        what: String,
    },
    /// The file decodes but is not an OSM PBF.
    #[error("{0}: not an .osm.pbf file: {1}")]
    NotPbf(PathBuf, &'static str),
    /// The caller cancelled the read.
    #[error("cancelled")]
    Cancelled,
}

/// One tag condition: `key=*` (any value) or `key=v1|v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPattern {
    /// The key.
    pub key: String,
    /// Accepted values; empty means any value.
    pub values: Vec<String>,
}

/// Which tagged objects the reader keeps as facility candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoiFilter {
    /// An object is kept when any pattern matches one of its tags.
    pub patterns: Vec<TagPattern>,
}

impl PoiFilter {
    /// A filter from `key=*` / `key=v1|v2` strings.
    ///
    /// ```
    /// use livingcircle_osm::PoiFilter;
    /// let f = PoiFilter::parse(["amenity=*", "highway=bus_stop"]);
    /// assert!(f.matches(&[("amenity", "school")]));
    /// assert!(!f.matches(&[("highway", "crossing")]));
    /// ```
    pub fn parse<'a>(specs: impl IntoIterator<Item = &'a str>) -> Self {
        let patterns = specs
            .into_iter()
            .map(|s| {
                let (key, vals) = s.split_once('=').unwrap_or((s, "*"));
                let values = if vals == "*" {
                    vec![]
                } else {
                    vals.split('|').map(str::to_owned).collect()
                };
                TagPattern {
                    key: key.to_owned(),
                    values,
                }
            })
            .collect();
        PoiFilter { patterns }
    }

    /// Whether any tag matches.
    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        tags.iter().any(|(k, v)| {
            self.patterns
                .iter()
                .any(|p| p.key == *k && (p.values.is_empty() || p.values.iter().any(|x| x == v)))
        })
    }
}

impl Default for PoiFilter {
    /// Every key the bundled presets use.
    fn default() -> Self {
        PoiFilter::parse([
            "amenity=*",
            "shop=*",
            "leisure=*",
            "healthcare=*",
            "office=*",
            "social_facility=*",
            "public_transport=*",
            "railway=station|halt|tram_stop|subway_entrance",
            "highway=bus_stop",
        ])
    }
}
