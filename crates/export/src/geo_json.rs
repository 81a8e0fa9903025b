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
        let f = Feature {
            bbox: None,
            geometry: Some(Geometry::new(geometry)),
            id: None,
            properties: Some(properties),
            foreign_members: None,
        };
        let sep: &[u8] = if self.first { b"" } else { b",\n" };
        self.first = false;
        let r = self.file.write_all(sep).and_then(|()| {
            serde_json::to_writer(&mut self.file, &f).map_err(std::io::Error::other)
        });
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

/// A `[lon, lat]` position rounded to 7 decimals.
pub(crate) fn pos(p: [f64; 2]) -> Vec<f64> {
    vec![round7(p[0]), round7(p[1])]
}
