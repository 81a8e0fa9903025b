//! OGC GeoPackage (1.3) through SQLite (rusqlite, bundled): the spec's tables
//! (`gpkg_spatial_ref_sys` with EPSG:4326, `gpkg_contents`, `gpkg_geometry_columns`,
//! `gpkg_extensions`), one feature table per layer with GeoPackage binary
//! geometries, and an R-tree spatial index per layer built after its rows are in.
//!
//! Several layers go into one file: [`Gpkg`] is the file, shared by the
//! [`LayerWriter`]s of its layers, and it appears at its path only when
//! [`Gpkg::commit`] succeeds (until then it is a temporary file beside it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};

use crate::Error;
use crate::schema::{GeometryType, LayerWriter, RowBuf, Rows, Schema, Type, Value};
use crate::wkb::{Bbox, EMPTY, Shape, grow, is_empty, type_name};

/// Rows inserted per transaction.
const TRANSACTION_ROWS: usize = 65_536;

/// WGS 84 as OGC WKT 1 (the definition GDAL and QGIS write for EPSG:4326).
const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]";

/// The spec's core tables (GeoPackage 1.3, clauses 1.1.2–1.1.3 and 2.1.5, 2.3).
const CORE_SQL: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
  definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE gpkg_data_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
  CONSTRAINT gdc_tn UNIQUE (table_name, name));
CREATE TABLE gpkg_data_column_constraints (
  constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT,
  min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN,
  description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));
INSERT INTO gpkg_extensions VALUES
  ('gpkg_data_columns', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write'),
  ('gpkg_data_column_constraints', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write');
";

/// A GeoPackage being written.
pub struct Gpkg {
    inner: Arc<Mutex<Db>>,
}

struct Db {
    /// `None` once closed.
    conn: Option<Connection>,
    /// The temporary file (removed on drop unless committed).
    tmp: Option<tempfile::TempPath>,
    path: PathBuf,
}

impl Db {
    fn err(&self, e: rusqlite::Error) -> Error {
        Error::format(&self.path, e)
    }

    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the GeoPackage is open until committed")
    }
}

impl Gpkg {
    /// Starts a GeoPackage that will appear at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".livingcircle-")
            .suffix(".gpkg.tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(path, e))?
            .into_temp_path();
        let conn = Connection::open(&tmp).map_err(|e| Error::format(path, e))?;
        let db = Db {
            conn: Some(conn),
            tmp: Some(tmp),
            path: path.to_owned(),
        };
        // A new private file: no journal (a failed run deletes the file anyway), no
        // fsync per transaction, a large page cache for the R-tree build.
        db.conn()
            .execute_batch(&format!(
                "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                 PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -65536;
                 PRAGMA application_id = {}; PRAGMA user_version = 10300;
                 BEGIN; {CORE_SQL} COMMIT;",
                0x4750_4B47
            ))
            .map_err(|e| db.err(e))?;
        db.conn()
            .execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES
                 ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined Cartesian coordinate reference system'),
                 ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
                 ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
                params![WGS84_WKT],
            )
            .map_err(|e| db.err(e))?;
        Ok(Gpkg {
            inner: Arc::new(Mutex::new(db)),
        })
    }

    /// The final path.
    pub fn path(&self) -> PathBuf {
        lock(&self.inner).path.clone()
    }

    /// Starts a layer (a feature table) in this file.
    ///
    /// # Errors
    /// Writing failed.
    pub fn layer(&self, schema: &Schema) -> Result<Box<dyn LayerWriter>, Error> {
        Ok(Box::new(self.table(schema)?))
    }

    fn table(&self, schema: &Schema) -> Result<GpkgLayer, Error> {
        let db = lock(&self.inner);
        let t = quote(&schema.name);
        let mut cols = String::new();
        for f in &schema.fields {
            let ty = match f.ty {
                Type::Int => "INTEGER",
                Type::Float => "DOUBLE",
                Type::Bool => "BOOLEAN",
                Type::Text | Type::TextList => "TEXT",
            };
            cols.push_str(&format!(", {} {ty}", quote(&f.name)));
        }
        let gtype = type_name(schema.geometry);
        let mut sql = format!(
            "BEGIN;
             CREATE TABLE {t} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {gtype}{cols});
             INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
               VALUES ('{n}', 'features', '{n}', 'livingcircle {n}, schema version {v}', 4326);
             INSERT INTO gpkg_geometry_columns VALUES ('{n}', 'geom', '{gtype}', 4326, 0, 0);",
            n = schema.name,
            v = crate::SCHEMA_VERSION,
        );
        // Lists of texts are JSON arrays: say so (GDAL reads them as JSON strings).
        for f in schema.fields.iter().filter(|f| f.ty == Type::TextList) {
            sql.push_str(&format!(
                "INSERT INTO gpkg_data_columns (table_name, column_name, mime_type)
                   VALUES ('{}', '{}', 'application/json');",
                schema.name, f.name
            ));
        }
        sql.push_str("COMMIT;");
        db.conn().execute_batch(&sql).map_err(|e| db.err(e))?;
        Ok(GpkgLayer {
            db: self.inner.clone(),
            owner: None,
            name: schema.name.clone(),
            geometry: schema.geometry,
            insert: insert_sql(schema),
            bbox: EMPTY,
        })
    }

    /// Closes the file and moves it into place.
    ///
    /// # Errors
    /// Writing or renaming failed.
    pub fn commit(self) -> Result<(), Error> {
        commit(&self.inner)
    }
}

fn lock(db: &Mutex<Db>) -> std::sync::MutexGuard<'_, Db> {
    db.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn commit(inner: &Mutex<Db>) -> Result<(), Error> {
    let mut db = lock(inner);
    let conn = db.conn.take().expect("committed once");
    conn.close().map_err(|(_, e)| db.err(e))?;
    let tmp = db.tmp.take().expect("committed once");
    let path = db.path.clone();
    // SQLite ran without fsync (`synchronous = OFF`): the whole file is synced once
    // here, and a failure is an error, as for the other formats.
    // Opened for writing: some systems flush only files opened so (Windows).
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(&path, e))?;
    }
    tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
    Ok(())
}

/// An SQL identifier in double quotes.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One layer of a [`Gpkg`].
struct GpkgLayer {
    db: Arc<Mutex<Db>>,
    /// A single-layer file: committed when the layer finishes.
    owner: Option<Gpkg>,
    name: String,
    geometry: GeometryType,
    insert: String,
    bbox: Bbox,
}

/// The GeoPackage binary geometry of a row: header (`GP`, version 0, flags,
/// SRS id, envelope), then ISO WKB. Points carry no envelope (the spec's
/// space-saving case: a point is its own envelope), every other geometry its
/// `[min_x, max_x, min_y, max_y]`.
pub(crate) fn gpkg_blob(shape: &Shape<'_>, bbox: &Bbox, out: &mut Vec<u8>) {
    out.extend_from_slice(b"GP");
    out.push(0);
    let envelope = shape.geometry_type() != GeometryType::Point;
    // Bit 0: little-endian; bits 1-3: envelope kind (1 = xy).
    out.push(if envelope { 0b11 } else { 0b01 });
    out.extend_from_slice(&4326i32.to_le_bytes());
    if envelope {
        for v in [bbox[0], bbox[2], bbox[1], bbox[3]] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    shape.wkb(out);
}

impl LayerWriter for GpkgLayer {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        let db = lock(&self.db);
        let conn = db.conn();
        let mut buf = RowBuf::default();
        let mut blob = Vec::new();
        let n = rows.len();
        let mut start = 0;
        while start < n {
            let end = (start + TRANSACTION_ROWS).min(n);
            let tx = conn.unchecked_transaction().map_err(|e| db.err(e))?;
            {
                let mut stmt = tx.prepare_cached(&self.insert).map_err(|e| db.err(e))?;
                for i in start..end {
                    buf.clear();
                    rows.row(i, &mut buf);
                    let shape = Shape::new(self.geometry, &buf);
                    let bbox = shape.bbox();
                    grow(&mut self.bbox, &bbox);
                    blob.clear();
                    gpkg_blob(&shape, &bbox, &mut blob);
                    stmt.raw_bind_parameter(1, &blob[..])
                        .map_err(|e| db.err(e))?;
                    for (k, v) in buf.values.iter().enumerate() {
                        let at = k + 2;
                        let r = match *v {
                            Value::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
                            Value::Int(x) => stmt.raw_bind_parameter(at, x),
                            Value::Float(x) => stmt.raw_bind_parameter(at, x),
                            Value::Bool(x) => stmt.raw_bind_parameter(at, x),
                            Value::Text(s) => stmt.raw_bind_parameter(at, s),
                            Value::Formatted { start, len } => {
                                stmt.raw_bind_parameter(at, buf.formatted(start, len))
                            }
                            Value::TextList { start, len } => stmt.raw_bind_parameter(
                                at,
                                serde_json::to_string(buf.list(start, len))
                                    .expect("a list of strings serialises"),
                            ),
                        };
                        r.map_err(|e| db.err(e))?;
                    }
                    stmt.raw_execute().map_err(|e| db.err(e))?;
                }
            }
            tx.commit().map_err(|e| db.err(e))?;
            start = end;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        {
            let db = lock(&self.db);
            let conn = db.conn();
            let t = quote(&self.name);
            let n = &self.name;
            let rtree = quote(&format!("rtree_{n}_geom"));
            let tx = conn.unchecked_transaction().map_err(|e| db.err(e))?;
            if !is_empty(&self.bbox) {
                let b = self.bbox;
                tx.execute(
                    "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4,
                     last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?5",
                    params![b[0], b[1], b[2], b[3], n],
                )
                .map_err(|e| db.err(e))?;
            }
            // The spatial index, filled from the table after the bulk insert (one
            // pass; the triggers that keep it current for later edits come after).
            tx.execute_batch(&format!(
                "CREATE VIRTUAL TABLE {rtree} USING rtree(id, minx, maxx, miny, maxy);"
            ))
            .map_err(|e| db.err(e))?;
            {
                let mut read = tx
                    .prepare(&format!("SELECT fid, geom FROM {t}"))
                    .map_err(|e| db.err(e))?;
                let mut put = tx
                    .prepare(&format!("INSERT INTO {rtree} VALUES (?1, ?2, ?3, ?4, ?5)"))
                    .map_err(|e| db.err(e))?;
                let mut q = read.query([]).map_err(|e| db.err(e))?;
                while let Some(row) = q.next().map_err(|e| db.err(e))? {
                    let fid: i64 = row.get(0).map_err(|e| db.err(e))?;
                    let blob = row.get_ref(1).map_err(|e| db.err(e))?;
                    let blob = blob.as_blob().map_err(|e| db.err(e.into()))?;
                    let [x0, x1, y0, y1] = envelope(blob);
                    put.execute(params![fid, x0, x1, y0, y1])
                        .map_err(|e| db.err(e))?;
                }
            }
            tx.execute_batch(&rtree_triggers(n))
                .map_err(|e| db.err(e))?;
            tx.execute(
                "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index',
                 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
                params![n],
            )
            .map_err(|e| db.err(e))?;
            tx.commit().map_err(|e| db.err(e))?;
        }
        match self.owner {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }
}

/// `[min_x, max_x, min_y, max_y]` of a blob written by [`gpkg_blob`].
fn envelope(blob: &[u8]) -> [f64; 4] {
    let f = |at: usize| f64::from_le_bytes(blob[at..at + 8].try_into().expect("8 bytes"));
    if blob[3] & 0b1110 != 0 {
        [f(8), f(16), f(24), f(32)]
    } else {
        // A point: header 8 bytes, then WKB byte order and type (5 bytes), x, y.
        let (x, y) = (f(13), f(21));
        [x, x, y, y]
    }
}

/// The triggers that keep `rtree_<t>_geom` current when the table is edited later
/// (GeoPackage 1.3, Annex F.3: `insert`, `update1`-`update4`, `delete`).
fn rtree_triggers(t: &str) -> String {
    let r = format!("\"rtree_{t}_geom\"");
    let q = quote(t);
    let bounds = "ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)";
    let present = "(NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))";
    let absent = "(NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))";
    format!(
        "CREATE TRIGGER \"rtree_{t}_geom_insert\" AFTER INSERT ON {q} WHEN {present}
         BEGIN INSERT OR REPLACE INTO {r} VALUES (NEW.fid, {bounds}); END;
         CREATE TRIGGER \"rtree_{t}_geom_update1\" AFTER UPDATE OF geom ON {q}
           WHEN OLD.fid = NEW.fid AND {present}
         BEGIN INSERT OR REPLACE INTO {r} VALUES (NEW.fid, {bounds}); END;
         CREATE TRIGGER \"rtree_{t}_geom_update2\" AFTER UPDATE OF geom ON {q}
           WHEN OLD.fid = NEW.fid AND {absent}
         BEGIN DELETE FROM {r} WHERE id = OLD.fid; END;
         CREATE TRIGGER \"rtree_{t}_geom_update3\" AFTER UPDATE ON {q}
           WHEN OLD.fid != NEW.fid AND {present}
         BEGIN DELETE FROM {r} WHERE id = OLD.fid;
           INSERT OR REPLACE INTO {r} VALUES (NEW.fid, {bounds}); END;
         CREATE TRIGGER \"rtree_{t}_geom_update4\" AFTER UPDATE ON {q}
           WHEN OLD.fid != NEW.fid AND {absent}
         BEGIN DELETE FROM {r} WHERE id IN (OLD.fid, NEW.fid); END;
         CREATE TRIGGER \"rtree_{t}_geom_delete\" AFTER DELETE ON {q} WHEN OLD.geom NOT NULL
         BEGIN DELETE FROM {r} WHERE id = OLD.fid; END;"
    )
}

/// A GeoPackage holding one layer, committed when the layer finishes.
///
/// # Errors
/// The directory is not writable.
pub(crate) fn single_layer(path: &Path, schema: &Schema) -> Result<Box<dyn LayerWriter>, Error> {
    let file = Gpkg::create(path)?;
    let mut layer = file.table(schema)?;
    layer.owner = Some(file);
    Ok(Box::new(layer))
}

fn insert_sql(schema: &Schema) -> String {
    format!(
        "INSERT INTO {} (geom{}) VALUES ({})",
        quote(&schema.name),
        schema
            .fields
            .iter()
            .map(|f| format!(", {}", quote(&f.name)))
            .collect::<String>(),
        (1..=schema.fields.len() + 1)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
