//! Which files a command's layers go to, for the summary and the closing line.
//! A command's files are written into a [`crate::staging::Staging`] folder and
//! moved into place together.

use livingcircle_export::{Format, GPKG_NAME, SITES_GPKG_NAME};

/// A command's layers.
pub struct LayerSet {
    /// Layers written in every format.
    pub spatial: Vec<&'static str>,
    /// Layers written in every format but GeoJSON, where `csv` stands for them.
    pub tables: &'static [&'static str],
    /// The CSV files written with GeoJSON.
    pub csv: &'static [&'static str],
    /// The GeoPackage that holds every layer.
    pub gpkg: &'static str,
}

/// `analyze`'s layers (`isochrones` with `--isochrones`).
pub fn analyze(isochrones: bool) -> LayerSet {
    let mut spatial = vec!["residences", "facilities", "gaps"];
    if isochrones {
        spatial.push("isochrones");
    }
    LayerSet {
        spatial,
        tables: &["unsnapped", "nodes", "network"],
        csv: &["unsnapped.csv", "nodes.csv", "edges.csv"],
        gpkg: GPKG_NAME,
    }
}

/// `graph`'s layers.
pub fn graph() -> LayerSet {
    LayerSet {
        spatial: vec!["network"],
        tables: &["nodes"],
        csv: &["nodes.csv", "edges.csv"],
        gpkg: GPKG_NAME,
    }
}

/// `site`'s layers.
pub fn site() -> LayerSet {
    LayerSet {
        spatial: vec!["sites", "site_coverage"],
        tables: &[],
        csv: &[],
        gpkg: SITES_GPKG_NAME,
    }
}

/// The formats in which the table layers are written as layers: all but GeoJSON
/// (which has them as CSV).
pub fn table_formats(formats: &[Format]) -> Vec<Format> {
    formats
        .iter()
        .copied()
        .filter(|f| *f != Format::GeoJson)
        .collect()
}

/// The files written, in order.
pub fn files(formats: &[Format], set: &LayerSet) -> Vec<String> {
    let mut v = Vec::new();
    for &f in formats {
        match f {
            Format::GeoJson => {
                v.extend(set.spatial.iter().map(|l| format!("{l}.geojson")));
                v.extend(set.csv.iter().map(|c| (*c).to_owned()));
            }
            Format::Gpkg => v.push(set.gpkg.to_owned()),
            f => v.extend(
                set.spatial
                    .iter()
                    .chain(set.tables.iter())
                    .map(|l| format!("{l}.{}", f.extension())),
            ),
        }
    }
    v
}

/// `"layers"` of a summary: the schema version, formats and files.
pub fn summary(formats: &[Format], set: &LayerSet) -> crate::Layers {
    crate::Layers {
        schema_version: livingcircle_export::SCHEMA_VERSION,
        formats: formats.iter().map(|f| f.name().to_owned()).collect(),
        files: files(formats, set),
    }
}

/// The files of a summary's `"layers"`, space-separated.
pub fn files_line(layers: &crate::Layers) -> String {
    layers.files.join(" ")
}
