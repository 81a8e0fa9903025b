//! RFC 7946 GeoJSON, written as text straight from rows: no JSON values are built,
//! rows are formatted in parallel and written in order.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::geo_json::push_coord;
use crate::schema::{GeometryType, LayerWriter, RowBuf, Rows, Schema, Value};
use crate::{AtomicFile, Error};

/// Rows formatted per parallel task.
const TASK_ROWS: usize = 1024;

/// A FeatureCollection written row by row, atomically.
pub struct GeoJsonWriter {
    file: AtomicFile,
    geometry: GeometryType,
    /// `"name":` of every field, escaped.
    keys: Vec<Vec<u8>>,
    first: bool,
}

impl GeoJsonWriter {
    /// Starts a FeatureCollection for `schema` at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn create(path: &Path, schema: &Schema) -> Result<Self, Error> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .map_err(|e| file.error(e))?;
        let keys = schema
            .fields
            .iter()
            .map(|f| {
                let mut k = serde_json::to_vec(&f.name).expect("a string serialises");
                k.push(b':');
                k
            })
            .collect();
        Ok(GeoJsonWriter {
            file,
            geometry: schema.geometry,
            keys,
            first: true,
        })
    }

    /// One feature's text.
    fn feature(&self, buf: &RowBuf<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
        self.geometry_text(buf, out);
        out.extend_from_slice(b",\"properties\":{");
        for (i, (k, v)) in self.keys.iter().zip(&buf.values).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k);
            value_text(buf, *v, out);
        }
        out.extend_from_slice(b"}}");
    }

    fn geometry_text(&self, buf: &RowBuf<'_>, out: &mut Vec<u8>) {
        let ring = |out: &mut Vec<u8>, pts: &[[f64; 2]]| {
            out.push(b'[');
            for (i, p) in pts.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                position(out, *p);
            }
            out.push(b']');
        };
        let polygon = |out: &mut Vec<u8>, rings: &[u32], start: u32| {
            out.push(b'[');
            let mut s = start;
            for (i, &end) in rings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                ring(out, &buf.coords[s as usize..end as usize]);
                s = end;
            }
            out.push(b']');
        };
        if buf.coords.is_empty() {
            // No geometry (e.g. isochrone statistics without shapes).
            out.extend_from_slice(b"null");
            return;
        }
        match self.geometry.of_row(buf) {
            GeometryType::MultiPolygon if buf.polygons.len() == 1 => {
                // One part: a Polygon, the smallest type that holds it (the other
                // formats keep one geometry type per layer and say MultiPolygon).
                out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
                polygon(out, &buf.rings, 0);
            }
            GeometryType::Point => {
                out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":");
                position(out, buf.coords[0]);
            }
            GeometryType::LineString => {
                out.extend_from_slice(b"{\"type\":\"LineString\",\"coordinates\":");
                ring(out, &buf.coords);
            }
            GeometryType::Polygon => {
                out.extend_from_slice(b"{\"type\":\"Polygon\",\"coordinates\":");
                polygon(out, &buf.rings, 0);
            }
            GeometryType::MultiPolygon => {
                out.extend_from_slice(b"{\"type\":\"MultiPolygon\",\"coordinates\":[");
                let mut r = 0u32;
                for (i, &end) in buf.polygons.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    let start = if r == 0 { 0 } else { buf.rings[r as usize - 1] };
                    polygon(out, &buf.rings[r as usize..end as usize], start);
                    r = end;
                }
                out.push(b']');
            }
            GeometryType::Mixed => unreachable!("a row has one type"),
        }
        out.push(b'}');
    }
}

fn position(out: &mut Vec<u8>, [x, y]: [f64; 2]) {
    out.push(b'[');
    push_coord(out, x);
    out.push(b',');
    push_coord(out, y);
    out.push(b']');
}

/// A value as serde_json writes it.
fn value_text(buf: &RowBuf<'_>, v: Value<'_>, out: &mut Vec<u8>) {
    let w = |out: &mut Vec<u8>, x: &dyn erased::Ser| x.write(out);
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Int(i) => w(out, &i),
        Value::Float(f) => w(out, &f),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Text(s) => w(out, &s),
        Value::Formatted { start, len } => w(out, &buf.formatted(start, len)),
        Value::TextList { start, len } => w(out, &buf.list(start, len)),
    }
}

mod erased {
    /// Writes a value as serde_json does, into a byte buffer (never fails).
    pub(super) trait Ser {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize + ?Sized> Ser for T {
        fn write(&self, out: &mut Vec<u8>) {
            serde_json::to_writer(out, self).expect("writing JSON to memory cannot fail");
        }
    }
}

impl LayerWriter for GeoJsonWriter {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        let n = rows.len();
        let threads = rayon::current_num_threads().max(1);
        // Up to TASK_ROWS rows a task, fewer when a batch is small (a chunk of
        // isochrones: few rows, large ones), so that every thread gets work.
        let task_rows = n.div_ceil(8 * threads).clamp(1, TASK_ROWS);
        let tasks = n.div_ceil(task_rows);
        // Two tasks a thread at a time: enough to keep every thread busy, and the
        // text held at once stays a few megabytes.
        let per_write = 2 * threads;
        for batch in (0..tasks).step_by(per_write) {
            let end = (batch + per_write).min(tasks);
            let texts: Vec<Vec<u8>> = (batch..end)
                .into_par_iter()
                .map(|t| {
                    let mut out = Vec::with_capacity(task_rows * 256);
                    let mut buf = RowBuf::default();
                    for i in t * task_rows..((t + 1) * task_rows).min(n) {
                        buf.clear();
                        rows.row(i, &mut buf);
                        if i > 0 || t > 0 || !self.first {
                            out.extend_from_slice(b",\n");
                        }
                        self.feature(&buf, &mut out);
                    }
                    out
                })
                .collect();
            for text in texts {
                self.file.write_all(&text).map_err(|e| self.file.error(e))?;
            }
        }
        if n > 0 {
            self.first = false;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), Error> {
        self.file
            .write_all(b"\n]}\n")
            .map_err(|e| self.file.error(e))?;
        self.file.commit()
    }
}
