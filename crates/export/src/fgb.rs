//! FlatGeobuf through the `flatgeobuf` crate, with its packed Hilbert R-tree index.
//!
//! The crate spools features to a temporary file (in the system's temporary
//! directory) and keeps one index entry per feature in memory (40 bytes and an
//! offset), then sorts them along a Hilbert curve and writes header, index and
//! features when the layer finishes.

use std::path::Path;

use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType as FgbType};
use geozero::error::Result as GeoResult;
use geozero::{ColumnValue, GeomProcessor, GeozeroGeometry, PropertyProcessor};

use crate::schema::{GeometryType, LayerWriter, RowBuf, Rows, Schema, Type, Value};
use crate::wkb::Shape;
use crate::{AtomicFile, Error};

/// A FlatGeobuf layer being written.
pub(crate) struct FgbLayer {
    fgb: FgbWriter<'static>,
    file: AtomicFile,
    schema: Schema,
    rows: usize,
}

/// A writer for `schema`'s features, with or without the spatial index.
fn writer(schema: &Schema, write_index: bool) -> flatgeobuf::Result<FgbWriter<'static>> {
    let ty = match schema.geometry {
        GeometryType::Point => FgbType::Point,
        GeometryType::LineString => FgbType::LineString,
        GeometryType::Polygon => FgbType::Polygon,
        GeometryType::MultiPolygon => FgbType::MultiPolygon,
        // Each feature says its own.
        GeometryType::Mixed => FgbType::Unknown,
    };
    let mut fgb = FgbWriter::create_with_options(
        &schema.name,
        ty,
        FgbWriterOptions {
            write_index,
            detect_type: false,
            promote_to_multi: false,
            crs: FgbCrs {
                org: Some("EPSG"),
                code: 4326,
                ..FgbCrs::default()
            },
            ..FgbWriterOptions::default()
        },
    )?;
    // Every column is declared up front, in schema order, whether or not any row
    // has a value in it (a column first seen in a later row would shift the
    // indices of the ones after it).
    for f in &schema.fields {
        let ct = match f.ty {
            Type::Int => ColumnType::Long,
            Type::Float => ColumnType::Double,
            Type::Bool => ColumnType::Bool,
            Type::Text => ColumnType::String,
            Type::TextList => ColumnType::Json,
        };
        fgb.add_column(&f.name, ct, |_, col| col.nullable = true);
    }
    Ok(fgb)
}

impl FgbLayer {
    /// Starts a layer for `schema` at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub(crate) fn create(path: &Path, schema: &Schema) -> Result<Self, Error> {
        let file = AtomicFile::create(path)?;
        let fgb = writer(schema, true).map_err(|e| Error::format(path, e))?;
        Ok(FgbLayer {
            fgb,
            file,
            schema: schema.clone(),
            rows: 0,
        })
    }
}

/// A row's geometry for geozero.
struct Geom<'b>(Shape<'b>);

impl GeozeroGeometry for Geom<'_> {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> GeoResult<()> {
        let s = &self.0;
        let line = |p: &mut P, tagged: bool, (a, b): (u32, u32), idx: usize| -> GeoResult<()> {
            p.linestring_begin(tagged, (b - a) as usize, idx)?;
            for (k, [x, y]) in s.points(a, b).enumerate() {
                p.xy(x, y, k)?;
            }
            p.linestring_end(tagged, idx)
        };
        let polygon = |p: &mut P, tagged: bool, poly: usize, idx: usize| -> GeoResult<()> {
            let rings = s.rings(poly);
            p.polygon_begin(tagged, rings.len(), idx)?;
            for (k, r) in rings.into_iter().enumerate() {
                line(p, false, r, k)?;
            }
            p.polygon_end(tagged, idx)
        };
        match s.geometry_type() {
            GeometryType::Point => {
                let [x, y] = s.points(0, 1).next().expect("a point has a coordinate");
                p.point_begin(0)?;
                p.xy(x, y, 0)?;
                p.point_end(0)
            }
            GeometryType::LineString => line(p, true, s.all(), 0),
            GeometryType::Polygon => polygon(p, true, 0, 0),
            GeometryType::MultiPolygon => {
                p.multipolygon_begin(s.polygon_count(), 0)?;
                for k in 0..s.polygon_count() {
                    polygon(p, false, k, k)?;
                }
                p.multipolygon_end(0)
            }
            GeometryType::Mixed => unreachable!("a row has one type"),
        }
    }
}

impl LayerWriter for FgbLayer {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        let mut buf = RowBuf::default();
        let mut json = String::new();
        self.rows += rows.len();
        for i in 0..rows.len() {
            buf.clear();
            rows.row(i, &mut buf);
            let fields = &self.schema.fields;
            let b = &buf;
            let mut result = Ok(());
            self.fgb
                .add_feature_geom(Geom(Shape::new(self.schema.geometry, b)), |feat| {
                    for (k, v) in b.values.iter().enumerate() {
                        let cv = match *v {
                            // Absent from the feature: FlatGeobuf's null.
                            Value::Null => continue,
                            Value::Int(x) => ColumnValue::Long(x),
                            Value::Float(x) => ColumnValue::Double(x),
                            Value::Bool(x) => ColumnValue::Bool(x),
                            Value::Text(s) => ColumnValue::String(s),
                            Value::Formatted { start, len } => {
                                ColumnValue::String(b.formatted(start, len))
                            }
                            Value::TextList { start, len } => {
                                json = serde_json::to_string(b.list(start, len))
                                    .expect("a list of strings serialises");
                                ColumnValue::Json(&json)
                            }
                        };
                        if let Err(e) = feat.property(k, &fields[k].name, &cv) {
                            result = Err(e);
                        }
                    }
                })
                .and(result)
                .map_err(|e| Error::format(self.file.path(), e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        let FgbLayer {
            fgb,
            mut file,
            schema,
            rows,
        } = *self;
        let path = file.path().to_owned();
        // An empty layer has no index (readers cannot size a tree of no items).
        let fgb = if rows == 0 {
            writer(&schema, false).map_err(|e| Error::format(&path, e))?
        } else {
            fgb
        };
        fgb.write(&mut file).map_err(|e| Error::format(&path, e))?;
        file.commit()
    }
}
