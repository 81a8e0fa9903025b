//! GeoParquet 1.1 on `arrow` and `parquet`: the geometry as WKB in `geometry`,
//! a `bbox` covering column (struct of float32 `xmin`, `ymin`, `xmax`, `ymax`,
//! rounded outward), and the `geo` file metadata; ZSTD, one row group per
//! [`ROW_GROUP_ROWS`] rows (or [`ROW_GROUP_BYTES`]), written as they come (memory
//! bounded by a row group).
//!
//! Rows become Arrow arrays in parallel (slices of a batch on the pool's threads),
//! and a row group's columns are encoded and compressed in parallel (one
//! `ArrowColumnWriter` per leaf column), then appended to the file in order.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Field as ArrowField, Fields, Schema as ArrowSchema};
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::schema::{GeometryType, LayerWriter, RowBuf, Rows, Schema, Type, Value};
use crate::wkb::{Bbox, EMPTY, Shape, grow, is_empty};
use crate::{AtomicFile, Error};

/// Rows per row group: the analysis' chunk, so that a streamed layer is written
/// as it comes, and small enough that `bbox` statistics let readers skip groups.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// A row group also ends once its encoded columns reach this many bytes (large
/// polygons, e.g. isochrones), so the memory held stays bounded whatever the rows.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// EPSG:4326 as PROJJSON (GeoParquet's `crs`); coordinates stay longitude,
/// latitude (GeoParquet's axis order is always x, y).
const WGS84_PROJJSON: &str = r#"{"$schema":"https://proj.org/schemas/v0.7/projjson.schema.json","type":"GeographicCRS","name":"WGS 84","datum":{"type":"GeodeticReferenceFrame","name":"World Geodetic System 1984","ellipsoid":{"name":"WGS 84","semi_major_axis":6378137,"inverse_flattening":298.257223563}},"coordinate_system":{"subtype":"ellipsoidal","axis":[{"name":"Geodetic latitude","abbreviation":"Lat","direction":"north","unit":"degree"},{"name":"Geodetic longitude","abbreviation":"Lon","direction":"east","unit":"degree"}]},"id":{"authority":"EPSG","code":4326}}"#;

/// A GeoParquet layer being written.
pub(crate) struct ParquetLayer {
    writer: SerializedFileWriter<AtomicFile>,
    factory: ArrowRowGroupWriterFactory,
    schema: Schema,
    arrow: Arc<ArrowSchema>,
    /// Batches of the row group being gathered, their rows and Arrow bytes.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    row_groups: usize,
    bbox: Bbox,
}

fn bbox_fields() -> Fields {
    ["xmin", "ymin", "xmax", "ymax"]
        .into_iter()
        .map(|n| ArrowField::new(n, DataType::Float32, false))
        .collect()
}

fn list_item() -> ArrowField {
    ArrowField::new("item", DataType::Utf8, true)
}

/// The Arrow schema of a layer: its columns, then `geometry` and `bbox`.
pub(crate) fn arrow_schema(schema: &Schema) -> ArrowSchema {
    let mut fields: Vec<ArrowField> = schema
        .fields
        .iter()
        .map(|f| {
            let ty = match f.ty {
                Type::Int => DataType::Int64,
                Type::Float => DataType::Float64,
                Type::Bool => DataType::Boolean,
                Type::Text => DataType::Utf8,
                Type::TextList => DataType::List(Arc::new(list_item())),
            };
            ArrowField::new(&f.name, ty, true)
        })
        .collect();
    fields.push(ArrowField::new("geometry", DataType::Binary, false));
    fields.push(ArrowField::new(
        "bbox",
        DataType::Struct(bbox_fields()),
        false,
    ));
    ArrowSchema::new(fields)
}

impl ParquetLayer {
    /// Starts a layer for `schema` at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub(crate) fn create(path: &Path, schema: &Schema) -> Result<Self, Error> {
        let file = AtomicFile::create(path)?;
        let arrow = Arc::new(arrow_schema(schema));
        // Dictionaries only for texts (categories, sources, names): numbers and
        // flags compress better without (a 445k-residence layer 25.5 MB instead of
        // 29.2 MB) at the same speed.
        let mut builder = WriterProperties::builder().set_dictionary_enabled(false);
        for f in schema.fields.iter().filter(|f| f.ty == Type::Text) {
            builder = builder.set_column_dictionary_enabled(f.name.as_str().into(), true);
        }
        let mut props = builder
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "livingcircle:schema_version".into(),
                crate::SCHEMA_VERSION.to_string(),
            )]))
            .build();
        // The Arrow schema in the file, as `ArrowWriter` writes it, so that readers
        // get the same Arrow types back.
        add_encoded_arrow_schema_to_metadata(&arrow, &mut props);
        let parquet = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&arrow)
            .map_err(|e| parquet_error(path, e))?;
        let writer = SerializedFileWriter::new(file, parquet.root_schema_ptr(), Arc::new(props))
            .map_err(|e| parquet_error(path, e))?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, arrow.clone());
        Ok(ParquetLayer {
            writer,
            factory,
            schema: schema.clone(),
            arrow,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            row_groups: 0,
            bbox: EMPTY,
        })
    }

    fn path(&self) -> &Path {
        self.writer.inner().path()
    }

    /// Encodes the gathered batches as one row group, its columns in parallel.
    fn flush(&mut self) -> Result<(), ParquetError> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        let fields = self.arrow.fields();
        // Per batch, its leaf columns in file order (the bbox struct has four).
        let leaves = batches
            .par_iter()
            .map(|b| -> Result<Vec<_>, ParquetError> {
                let mut v = Vec::new();
                for (f, a) in fields.iter().zip(b.columns()) {
                    v.extend(compute_leaves(f, a)?);
                }
                Ok(v)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let writers = self.factory.create_column_writers(self.row_groups)?;
        let chunks = writers
            .into_par_iter()
            .enumerate()
            .map(|(k, mut w)| {
                for b in &leaves {
                    w.write(&b[k])?;
                }
                w.close()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rg = self.writer.next_row_group()?;
        for c in chunks {
            c.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        self.row_groups += 1;
        self.pending_rows = 0;
        self.pending_bytes = 0;
        Ok(())
    }

    /// One record batch of rows `start..end`, and the box of their geometries.
    fn batch(&self, rows: &dyn Rows, start: usize, end: usize) -> (RecordBatch, Bbox) {
        batch(&self.schema, &self.arrow, rows, start, end)
    }
}

/// One record batch of `rows` `start..end` in the columns of `arrow_schema(schema)`,
/// and the box of their geometries.
fn batch(
    schema: &Schema,
    arrow: &Arc<ArrowSchema>,
    rows: &dyn Rows,
    start: usize,
    end: usize,
) -> (RecordBatch, Bbox) {
    {
        enum Col {
            Int(Int64Builder),
            Float(Float64Builder),
            Bool(BooleanBuilder),
            Text(StringBuilder),
            List(ListBuilder<StringBuilder>),
        }
        let n = end - start;
        let mut cols: Vec<Col> = schema
            .fields
            .iter()
            .map(|f| match f.ty {
                Type::Int => Col::Int(Int64Builder::with_capacity(n)),
                Type::Float => Col::Float(Float64Builder::with_capacity(n)),
                Type::Bool => Col::Bool(BooleanBuilder::with_capacity(n)),
                Type::Text => Col::Text(StringBuilder::with_capacity(n, n * 8)),
                Type::TextList => {
                    Col::List(ListBuilder::new(StringBuilder::new()).with_field(list_item()))
                }
            })
            .collect();
        let mut geometry = BinaryBuilder::with_capacity(n, n * 21);
        let mut bb: [Float32Builder; 4] = std::array::from_fn(|_| Float32Builder::with_capacity(n));
        let mut buf = RowBuf::default();
        let mut wkb = Vec::new();
        let mut extent = EMPTY;
        for i in start..end {
            buf.clear();
            rows.row(i, &mut buf);
            for (c, v) in cols.iter_mut().zip(&buf.values) {
                match (c, *v) {
                    (Col::Int(b), Value::Int(x)) => b.append_value(x),
                    (Col::Float(b), Value::Float(x)) => b.append_value(x),
                    (Col::Bool(b), Value::Bool(x)) => b.append_value(x),
                    (Col::Text(b), Value::Text(s)) => b.append_value(s),
                    (Col::Text(b), Value::Formatted { start, len }) => {
                        b.append_value(buf.formatted(start, len))
                    }
                    (Col::List(b), Value::TextList { start, len }) => {
                        for s in buf.list(start, len) {
                            b.values().append_value(s);
                        }
                        b.append(true);
                    }
                    (Col::Int(b), _) => b.append_null(),
                    (Col::Float(b), _) => b.append_null(),
                    (Col::Bool(b), _) => b.append_null(),
                    (Col::Text(b), _) => b.append_null(),
                    (Col::List(b), _) => b.append(false),
                }
            }
            let shape = Shape::new(schema.geometry, &buf);
            let bbox = shape.bbox();
            grow(&mut extent, &bbox);
            wkb.clear();
            shape.wkb(&mut wkb);
            geometry.append_value(&wkb);
            // float32 rounded outward, so that the box still contains the geometry.
            let [x0, y0, x1, y1] = bbox;
            bb[0].append_value(down(x0));
            bb[1].append_value(down(y0));
            bb[2].append_value(up(x1));
            bb[3].append_value(up(y1));
        }
        let mut arrays: Vec<ArrayRef> = cols
            .into_iter()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Int(mut b) => Arc::new(b.finish()),
                    Col::Float(mut b) => Arc::new(b.finish()),
                    Col::Bool(mut b) => Arc::new(b.finish()),
                    Col::Text(mut b) => Arc::new(b.finish()),
                    Col::List(mut b) => Arc::new(b.finish()),
                }
            })
            .collect();
        arrays.push(Arc::new(geometry.finish()));
        let bb: Vec<ArrayRef> = bb
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        arrays.push(Arc::new(StructArray::new(bbox_fields(), bb, None)));
        let batch = RecordBatch::try_new(arrow.clone(), arrays)
            .expect("the columns are built from the schema");
        (batch, extent)
    }
}

/// `rows` as Arrow record batches in memory, in the columns GeoParquet files of
/// `schema` have: the layer's columns, `geometry` (WKB, coordinates rounded to 7
/// decimals; the field carries GeoArrow's `geoarrow.wkb` extension metadata with
/// EPSG:4326 as PROJJSON) and `bbox`; batches of up to 4,096 rows, built in parallel.
pub fn record_batches(schema: &Schema, rows: &dyn Rows) -> (Arc<ArrowSchema>, Vec<RecordBatch>) {
    // In memory the geometry says what it is (GeoArrow's WKB extension type, EPSG:4326),
    // as GeoParquet's `geo` metadata says it in files.
    let mut fields: Vec<ArrowField> = arrow_schema(schema)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for f in &mut fields {
        if f.name() == "geometry" {
            f.set_metadata(
                [
                    ("ARROW:extension:name".to_owned(), "geoarrow.wkb".to_owned()),
                    (
                        "ARROW:extension:metadata".to_owned(),
                        format!(r#"{{"crs":{WGS84_PROJJSON}}}"#),
                    ),
                ]
                .into(),
            );
        }
    }
    let arrow = Arc::new(ArrowSchema::new(fields));
    let n = rows.len();
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(SLICE_ROWS)
        .map(|a| (a, (a + SLICE_ROWS).min(n)))
        .collect();
    let batches = ranges
        .into_par_iter()
        .map(|(a, b)| batch(schema, &arrow, rows, a, b).0)
        .collect();
    (arrow, batches)
}

impl ParquetLayer {
    /// The `geo` metadata (GeoParquet 1.1).
    fn geo_metadata(&self) -> String {
        let gtypes = match self.schema.geometry {
            GeometryType::Point => vec!["Point"],
            GeometryType::LineString => vec!["LineString"],
            GeometryType::Polygon => vec!["Polygon"],
            GeometryType::MultiPolygon => vec!["MultiPolygon"],
            GeometryType::Mixed => vec!["Point", "MultiPolygon"],
        };
        let mut column = serde_json::json!({
            "encoding": "WKB",
            "geometry_types": gtypes,
            "crs": serde_json::from_str::<serde_json::Value>(WGS84_PROJJSON)
                .expect("valid PROJJSON"),
            "covering": { "bbox": {
                "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
            }},
        });
        if !is_empty(&self.bbox) {
            column["bbox"] = serde_json::json!(self.bbox);
        }
        serde_json::json!({
            "version": "1.1.0",
            "primary_column": "geometry",
            "columns": { "geometry": column },
        })
        .to_string()
    }
}

/// A Parquet error for `path`; an I/O error the writer wraps (a full disk) becomes
/// the cause itself, so that it is shown once.
fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => Error::Format {
            path: path.to_owned(),
            source: inner,
        },
        e => Error::format(path, e),
    }
}

/// The largest float32 not above `x`.
fn down(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x { f.next_down() } else { f }
}

/// The smallest float32 not below `x`.
fn up(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// Rows a thread turns into Arrow arrays at a time.
const SLICE_ROWS: usize = 4096;

impl LayerWriter for ParquetLayer {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        let n = rows.len();
        let threads = rayon::current_num_threads().max(1);
        let mut start = 0;
        while start < n {
            // Up to the rest of the row group, in slices built in parallel.
            let end = (start + ROW_GROUP_ROWS - self.pending_rows).min(n);
            let slice = (end - start).div_ceil(2 * threads).clamp(1, SLICE_ROWS);
            let ranges: Vec<(usize, usize)> = (start..end)
                .step_by(slice)
                .map(|a| (a, (a + slice).min(end)))
                .collect();
            let built: Vec<(RecordBatch, Bbox)> = ranges
                .into_par_iter()
                .map(|(a, b)| self.batch(rows, a, b))
                .collect();
            for (batch, extent) in built {
                grow(&mut self.bbox, &extent);
                self.pending_rows += batch.num_rows();
                self.pending_bytes += batch.get_array_memory_size();
                self.pending.push(batch);
                if self.pending_bytes >= ROW_GROUP_BYTES {
                    self.flush().map_err(|e| parquet_error(self.path(), e))?;
                }
            }
            if self.pending_rows >= ROW_GROUP_ROWS {
                self.flush().map_err(|e| parquet_error(self.path(), e))?;
            }
            start = end;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), Error> {
        let path = self.path().to_owned();
        self.flush().map_err(|e| parquet_error(&path, e))?;
        let geo = self.geo_metadata();
        self.writer
            .append_key_value_metadata(KeyValue::new("geo".into(), geo));
        // `into_inner` writes the footer.
        let file = self
            .writer
            .into_inner()
            .map_err(|e| parquet_error(&path, e))?;
        file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_bounds_contain_the_double() {
        for x in [11.123_456_7, -33.987_654_3, 0.1, 48.0, -0.000_000_1] {
            assert!(f64::from(down(x)) <= x, "{x}");
            assert!(f64::from(up(x)) >= x, "{x}");
            assert!(f64::from(up(x)) - f64::from(down(x)) < 1e-5, "{x}");
        }
    }
}
