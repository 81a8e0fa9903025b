//! Streaming RFC 7946 GeoJSON.

use geojson::{Feature, Geometry, JsonObject, Value};
use std::io::Write;
use std::path::Path;

use crate::{AtomicFile, Error};

/// Rounds a coordinate to 7 decimals (about 1 cm), as RFC 7946 recommends.
#[inline]
pub fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Writes a FeatureCollection one feature at a time, atomically.
pub struct FeatureSink {
    file: AtomicFile,
    first: bool,
}

impl FeatureSink {
    /// Starts a FeatureCollection at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .map_err(|e| file.error(e))?;
        Ok(FeatureSink { file, first: true })
    }

    /// Appends one feature.
    ///
    /// # Errors
    /// Writing failed.
    pub fn push(&mut self, geometry: Value, properties: JsonObject) -> Result<(), Error> {
        let text = feature_json(geometry, properties);
        self.push_json(&text)
    }

    /// Appends one feature already serialised with [`feature_json`] (so that
    /// serialisation can run on worker threads).
    ///
    /// # Errors
    /// Writing failed.
    pub fn push_json(&mut self, feature: &str) -> Result<(), Error> {
        let sep: &[u8] = if self.first { b"" } else { b",\n" };
        self.first = false;
        let r = self
            .file
            .write_all(sep)
            .and_then(|()| self.file.write_all(feature.as_bytes()));
        r.map_err(|e| self.file.error(e))
    }

    /// Closes the collection and renames the file into place.
    ///
    /// # Errors
    /// Writing or renaming failed.
    pub fn finish(mut self) -> Result<(), Error> {
        self.file
            .write_all(b"\n]}\n")
            .map_err(|e| self.file.error(e))?;
        self.file.commit()
    }
}

/// One GeoJSON Feature as compact JSON text.
pub fn feature_json(geometry: Value, properties: JsonObject) -> String {
    let f = Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    };
    serde_json::to_string(&f).expect("a Feature always serialises")
}

/// A `[lon, lat]` position rounded to 7 decimals.
pub(crate) fn pos(p: [f64; 2]) -> Vec<f64> {
    vec![round7(p[0]), round7(p[1])]
}
