//! The output formats and the one way to get a [`LayerWriter`] for any of them.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::fgb::FgbLayer;
use crate::geojson_writer::GeoJsonWriter;
use crate::geoparquet::ParquetLayer;
use crate::gpkg::Gpkg;
use crate::schema::{LayerWriter, Rows, Schema};

/// A layer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// RFC 7946 GeoJSON (`.geojson`), one file per layer.
    GeoJson,
    /// OGC GeoPackage 1.3 (`.gpkg`): all layers of a command in one file.
    Gpkg,
    /// FlatGeobuf with its packed Hilbert R-tree (`.fgb`), one file per layer.
    Fgb,
    /// GeoParquet 1.1 (`.parquet`), one file per layer.
    Parquet,
}

impl Format {
    /// Every format, in the order `--format` lists them.
    pub const ALL: [Format; 4] = [Format::GeoJson, Format::Gpkg, Format::Fgb, Format::Parquet];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Gpkg => "gpkg",
            Format::Fgb => "fgb",
            Format::Parquet => "parquet",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// The format a file name's extension names (`.json` is GeoJSON).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::GeoJson),
            e => Format::ALL.into_iter().find(|f| f.extension() == e),
        }
    }

    /// A comma-separated list (`geojson,parquet`), without duplicates, in the
    /// order given.
    ///
    /// # Errors
    /// A name is not a format, or the list is empty.
    ///
    /// ```
    /// use livingcircle_export::Format;
    /// assert_eq!(Format::parse_list("gpkg, fgb,gpkg").unwrap(), [Format::Gpkg, Format::Fgb]);
    /// let e = Format::parse_list("shp").unwrap_err();
    /// assert_eq!(e.to_string(), "unknown format `shp` (valid: geojson, gpkg, fgb, parquet)");
    /// ```
    pub fn parse_list(s: &str) -> Result<Vec<Format>, UnknownFormat> {
        let mut v = Vec::new();
        for name in s.split(',').map(str::trim) {
            let f: Format = name.parse()?;
            if !v.contains(&f) {
                v.push(f);
            }
        }
        Ok(v)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Format`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (valid: geojson, gpkg, fgb, parquet)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// A writer for one layer in one file at `path`, in `format` (a GeoPackage holds
/// just this layer). The file appears only when the writer finishes.
///
/// # Errors
/// The directory is not writable.
///
/// ```
/// use livingcircle_export::schema::{Field, GeometryType, RowBuf, Rows, Schema, Type, Value};
/// use livingcircle_export::{Format, create_writer};
///
/// struct Two;
/// impl Rows for Two {
///     fn len(&self) -> usize { 2 }
///     fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
///         buf.coords.push([11.5 + i as f64, 48.1]);
///         buf.values.push(Value::Int(i as i64));
///     }
/// }
/// let schema = Schema {
///     name: "points".into(),
///     geometry: GeometryType::Point,
///     fields: vec![Field::new("id", Type::Int)],
/// };
/// let dir = tempfile::tempdir().unwrap();
/// for format in Format::ALL {
///     let path = dir.path().join(format!("points.{}", format.extension()));
///     let mut w = create_writer(format, &path, &schema).unwrap();
///     w.write(&Two).unwrap();
///     assert!(!path.exists());
///     w.finish().unwrap();
///     assert!(path.exists());
/// }
/// ```
pub fn create_writer(
    format: Format,
    path: &Path,
    schema: &Schema,
) -> Result<Box<dyn LayerWriter>, Error> {
    Ok(match format {
        Format::GeoJson => Box::new(GeoJsonWriter::create(path, schema)?),
        Format::Gpkg => crate::gpkg::single_layer(path, schema)?,
        Format::Fgb => Box::new(FgbLayer::create(path, schema)?),
        Format::Parquet => Box::new(ParquetLayer::create(path, schema)?),
    })
}

/// The layers of one command in a directory, in one or more formats: one file per
/// layer (`<layer>.<ext>`), except GeoPackage, where every layer goes into one file
/// (named by the command: [`GPKG_NAME`] for `analyze` and `graph`, [`SITES_GPKG_NAME`]
/// for `site`, so that `analyze --out` the same directory does not replace it). Files appear as their layers finish; the
/// GeoPackage when [`Layers::finish`] succeeds.
pub struct Layers {
    dir: PathBuf,
    formats: Vec<Format>,
    gpkg_name: String,
    gpkg: Option<Gpkg>,
}

/// The GeoPackage that holds every layer of `analyze` (and of `graph`).
pub const GPKG_NAME: &str = "livingcircle.gpkg";

/// The GeoPackage that holds `site`'s layers.
pub const SITES_GPKG_NAME: &str = "sites.gpkg";

impl Layers {
    /// Layers in `dir`, in each of `formats`; a GeoPackage is `dir/gpkg_name`.
    ///
    /// # Errors
    /// The directory is not writable (for a GeoPackage, checked here).
    pub fn create(dir: &Path, formats: &[Format], gpkg_name: &str) -> Result<Self, Error> {
        let gpkg = formats
            .contains(&Format::Gpkg)
            .then(|| Gpkg::create(&dir.join(gpkg_name)))
            .transpose()?;
        Ok(Layers {
            dir: dir.to_owned(),
            formats: formats.to_vec(),
            gpkg_name: gpkg_name.to_owned(),
            gpkg,
        })
    }

    /// The formats.
    pub fn formats(&self) -> &[Format] {
        &self.formats
    }

    /// The file that holds `layer` in `format`.
    pub fn path(&self, layer: &str, format: Format) -> PathBuf {
        match format {
            Format::Gpkg => self.dir.join(&self.gpkg_name),
            f => self.dir.join(format!("{layer}.{}", f.extension())),
        }
    }

    /// A writer for `schema` in every format.
    ///
    /// # Errors
    /// A file cannot be created.
    pub fn writer(&self, schema: &Schema) -> Result<Box<dyn LayerWriter>, Error> {
        self.writer_in(schema, &self.formats)
    }

    /// A writer for `schema` in those of `formats` that this set writes.
    ///
    /// # Errors
    /// A file cannot be created.
    pub fn writer_in(
        &self,
        schema: &Schema,
        formats: &[Format],
    ) -> Result<Box<dyn LayerWriter>, Error> {
        let mut all: Vec<Box<dyn LayerWriter>> = Vec::new();
        for &f in self.formats.iter().filter(|f| formats.contains(f)) {
            all.push(match f {
                Format::Gpkg => self
                    .gpkg
                    .as_ref()
                    .expect("created with the formats")
                    .layer(schema)?,
                f => create_writer(f, &self.path(&schema.name, f), schema)?,
            });
        }
        Ok(Box::new(Fanout(all)))
    }

    /// Writes a whole layer in every format.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write(&self, schema: &Schema, rows: &dyn Rows) -> Result<(), Error> {
        let mut w = self.writer(schema)?;
        w.write(rows)?;
        w.finish()
    }

    /// Completes the GeoPackage, if any.
    ///
    /// # Errors
    /// Writing or renaming failed.
    pub fn finish(self) -> Result<(), Error> {
        match self.gpkg {
            Some(g) => g.commit(),
            None => Ok(()),
        }
    }
}

/// The same rows to several writers (one per format); finishes them in order.
pub struct Fanout(pub Vec<Box<dyn LayerWriter>>);

impl LayerWriter for Fanout {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        for w in &mut self.0 {
            w.write(rows)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        for w in self.0 {
            w.finish()?;
        }
        Ok(())
    }
}
