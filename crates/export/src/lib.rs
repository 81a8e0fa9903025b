/*!
Writes livingcircle's layers.

Every file is written to a temporary file in the target directory and renamed into
place only when complete, so a failed run never leaves a half-written output.
GeoJSON follows RFC 7946: `[lon, lat]`, at most 7 decimals, exterior rings
counter-clockwise and holes clockwise, streamed feature by feature.

# Example
```
use livingcircle_export::AtomicFile;
use std::io::Write;
let dir = tempfile::tempdir().unwrap();
let path = dir.path().join("out.csv");
let mut f = AtomicFile::create(&path).unwrap();
writeln!(f, "id").unwrap();
f.commit().unwrap();
assert_eq!(std::fs::read_to_string(&path).unwrap(), "id\n");
```
*/

mod csv_writer;
mod fgb;
mod format;
mod geo_json;
mod geojson_writer;
mod geoparquet;
mod gpkg;
mod isochrones;
mod layers;
mod network;
pub mod schema;
mod sites;
mod wkb;

pub use csv_writer::CsvWriter;
pub use format::{
    Fanout, Format, GPKG_NAME, Layers, SITES_GPKG_NAME, UnknownFormat, create_writer,
};
pub use geoparquet::{ROW_GROUP_BYTES, ROW_GROUP_ROWS, record_batches};
pub use gpkg::Gpkg;
pub use isochrones::{IsoColumns, isochrones_schema, isochrones_schema_doc};

/// The version of the layers' columns (names, types, meaning), written to
/// `summary.json` and into the GeoPackage and GeoParquet files; raised whenever a
/// column is renamed, retyped or removed.
pub const SCHEMA_VERSION: u32 = 2;

pub use geo_json::{FeatureSink, feature_json, feature_json_raw, push_coord, round7};
pub use geojson_writer::GeoJsonWriter;
pub use layers::{
    ArrowLayer, ResidenceRows, ccw_ring, facilities_schema, facilities_schema_doc,
    facility_user_columns, gaps_schema, home_user_columns, residences_schema,
    residences_schema_doc, unsnapped_schema, write_facilities, write_gaps, write_residences,
    write_unsnapped, write_unsnapped_csv,
};
pub use network::{
    network_schema, nodes_schema, write_edges_csv, write_network, write_nodes, write_nodes_csv,
};
pub use sites::{SiteCoverageRows, SiteRows, site_coverage_schema, sites_schema};

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What can go wrong writing a layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be created, written or renamed.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (chained as the source, not repeated in the message:
        /// `{:#}` in anyhow, or walking `source()`, shows it once).
        source: std::io::Error,
    },
    /// A format's encoder failed (SQLite, FlatGeobuf, Parquet); disk errors among
    /// them.
    #[error("{path}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The encoder's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn format(path: &Path, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Format {
            path: path.to_owned(),
            source: Box::new(source),
        }
    }
}

/// A file that appears at its path only when [`AtomicFile::commit`] succeeds.
pub struct AtomicFile {
    path: PathBuf,
    /// Written directly (not through `NamedTempFile`, whose errors would name the
    /// temporary path)...
    tmp: BufWriter<std::fs::File>,
    /// ...and removed on drop unless persisted.
    tmp_path: tempfile::TempPath,
}

impl AtomicFile {
    /// Creates a temporary file beside `path`.
    ///
    /// # Errors
    /// The directory does not exist or is not writable.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".livingcircle-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(path, e))?;
        let (file, tmp_path) = tmp.into_parts();
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp: BufWriter::with_capacity(1 << 16, file),
            tmp_path,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and renames into place.
    ///
    /// # Errors
    /// Writing or renaming failed; the temporary file is removed.
    pub fn commit(self) -> Result<(), Error> {
        self.commit_synced_by(std::fs::File::sync_all)
    }

    /// [`AtomicFile::commit`] with `sync` in place of `File::sync_all` (tests make it
    /// fail).
    fn commit_synced_by(
        self,
        sync: impl FnOnce(&std::fs::File) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let AtomicFile {
            path,
            tmp,
            tmp_path,
        } = self;
        let file = tmp
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        // A failed fsync means the data may not be on disk: an error, not a shrug.
        sync(&file).map_err(|e| Error::io(&path, e))?;
        #[cfg(unix)]
        {
            // Temporary files are created 0600; outputs are ordinary files.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(&path, e))?;
        }
        drop(file);
        tmp_path
            .persist(&path)
            .map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }

    /// Wraps an I/O error with this file's path.
    pub fn error(&self, e: std::io::Error) -> Error {
        Error::io(&self.path, e)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.tmp.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// Writes a whole file atomically with `f`.
///
/// # Errors
/// Creating, writing or renaming failed.
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut AtomicFile) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut file = AtomicFile::create(path)?;
    f(&mut file).map_err(|e| file.error(e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::AtomicFile;

    /// A failed fsync is an error naming the file; the file keeps its previous
    /// content and no temporary file is left.
    #[test]
    fn a_failed_fsync_is_reported_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer.geojson");
        std::fs::write(&path, "previous").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new content").unwrap();
        let err = f
            .commit_synced_by(|_| Err(std::io::Error::other("injected fsync failure")))
            .unwrap_err();
        assert!(err.to_string().ends_with("layer.geojson"), "{err}");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("injected fsync failure"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["layer.geojson"]);
        // The same file commits when fsync succeeds.
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"new content").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new content");
    }
}
