//! Which files a command's layers go to, for the summary and the closing line.

use livingcircle_export::{Format, GPKG_NAME, SITES_GPKG_NAME};

/// A command's layers.
pub(crate) struct LayerSet {
    /// Layers written in every format.
    pub(crate) spatial: Vec<&'static str>,
    /// Layers written in every format but GeoJSON, where `csv` stands for them.
    pub(crate) tables: &'static [&'static str],
    /// The CSV files written with GeoJSON.
    pub(crate) csv: &'static [&'static str],
    /// The GeoPackage that holds every layer.
    pub(crate) gpkg: &'static str,
}

/// `analyze`'s layers (`isochrones` with `--isochrones`).
pub(crate) fn analyze(isochrones: bool) -> LayerSet {
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
pub(crate) fn graph() -> LayerSet {
    LayerSet {
        spatial: vec!["network"],
        tables: &["nodes"],
        csv: &["nodes.csv", "edges.csv"],
        gpkg: GPKG_NAME,
    }
}

/// `site`'s layers.
pub(crate) fn site() -> LayerSet {
    LayerSet {
        spatial: vec!["sites", "site_coverage"],
        tables: &[],
        csv: &[],
        gpkg: SITES_GPKG_NAME,
    }
}

/// The formats in which the table layers are written as layers: all but GeoJSON
/// (which has them as CSV).
pub(crate) fn table_formats(formats: &[Format]) -> Vec<Format> {
    formats
        .iter()
        .copied()
        .filter(|f| *f != Format::GeoJson)
        .collect()
}

/// The files written, in order.
pub(crate) fn files(formats: &[Format], set: &LayerSet) -> Vec<String> {
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
pub(crate) fn summary(formats: &[Format], set: &LayerSet) -> livingcircle::Layers {
    livingcircle::Layers {
        schema_version: livingcircle_export::SCHEMA_VERSION,
        formats: formats.iter().map(|f| f.name().to_owned()).collect(),
        files: files(formats, set),
    }
}

/// The files of a summary's `"layers"`, space-separated.
pub(crate) fn files_line(layers: &livingcircle::Layers) -> String {
    layers.files.join(" ")
}
