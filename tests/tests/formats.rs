//! `--format gpkg,fgb,parquet`: every layer read back with an independent reader
//! (rusqlite for GeoPackage, the `flatgeobuf` crate's reader, the `parquet` crate's
//! Arrow reader; a WKB and GeoPackage-blob decoder written here) and compared, feature
//! by feature — geometry and every value — with the GeoJSON the same run wrote; each
//! format's column types against the schema the layer declares; the formats' own
//! metadata (GeoPackage tables and R-tree, FlatGeobuf header and index, GeoParquet
//! `geo` metadata, `bbox` covering and row groups).

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use flatgeobuf::geozero::{ColumnValue, PropertyProcessor};
use flatgeobuf::{FallibleStreamingIterator, FgbReader};
use livingcircle_analysis::Preset;
use livingcircle_export::schema::{GeometryType, Schema, Type};
use livingcircle_export::{self as export, IsoColumns};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value as Json;

use crate::util::{data, fails, json, listing, ok, s, shared_extracts, tmp};

const ALL: &str = "geojson,gpkg,fgb,parquet";

/// A value, whatever the format.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Num(f64),
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// Polygons, each a list of rings, each a list of `[lon, lat]` (a point is one
/// polygon of one ring of one position; a line one polygon of one ring).
type Geom = Vec<Vec<Vec<[f64; 2]>>>;

#[derive(Debug, Clone, PartialEq)]
struct Feat {
    geom: Geom,
    props: Vec<(String, V)>,
}

/// A layer as read: its features and the column types the file declares.
struct Layer {
    features: Vec<Feat>,
    types: Vec<(String, Type)>,
}

/// Three float32 steps at `x`: how far a box rounded outward to float32 may be.
fn f32_tolerance(x: f64) -> f64 {
    3.0 * f64::from(f32::EPSILON) * x.abs().max(1.0)
}

fn bbox(g: &Geom) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in g.iter().flatten().flatten() {
        b = [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ];
    }
    b
}

// ---------------------------------------------------------------------------------
// GeoJSON

fn json_positions(v: &Json) -> Vec<[f64; 2]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
        .collect()
}

fn json_polygon(v: &Json) -> Vec<Vec<[f64; 2]>> {
    v.as_array().unwrap().iter().map(json_positions).collect()
}

fn json_value(v: &Json) -> V {
    match v {
        Json::Null => V::Null,
        Json::Bool(b) => V::Bool(*b),
        Json::Number(n) => V::Num(n.as_f64().unwrap()),
        Json::String(s) => V::Text(s.clone()),
        Json::Array(a) => V::List(a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
        Json::Object(_) => panic!("no object values"),
    }
}

fn read_geojson(path: &Path) -> Vec<Feat> {
    let fc = json(path);
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g = &f["geometry"];
            let c = &g["coordinates"];
            let geom = match g["type"].as_str().unwrap() {
                "Point" => vec![vec![vec![[c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]]]],
                "LineString" => vec![vec![json_positions(c)]],
                "Polygon" => vec![json_polygon(c)],
                "MultiPolygon" => c.as_array().unwrap().iter().map(json_polygon).collect(),
                t => panic!("{}: geometry {t}", path.display()),
            };
            let props = f["properties"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect();
            Feat { geom, props }
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// WKB and GeoPackage binary geometry

struct Wkb<'a> {
    b: &'a [u8],
    at: usize,
    le: bool,
}

impl Wkb<'_> {
    fn u32(&mut self) -> u32 {
        let s: [u8; 4] = self.b[self.at..self.at + 4].try_into().unwrap();
        self.at += 4;
        if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        }
    }
    fn f64(&mut self) -> f64 {
        let s: [u8; 8] = self.b[self.at..self.at + 8].try_into().unwrap();
        self.at += 8;
        if self.le {
            f64::from_le_bytes(s)
        } else {
            f64::from_be_bytes(s)
        }
    }
    fn point(&mut self) -> [f64; 2] {
        [self.f64(), self.f64()]
    }
    fn points(&mut self) -> Vec<[f64; 2]> {
        (0..self.u32()).map(|_| self.point()).collect()
    }
    fn geom(&mut self) -> (u32, Geom) {
        self.le = self.b[self.at] == 1;
        self.at += 1;
        let t = self.u32();
        let g = match t {
            1 => vec![vec![vec![self.point()]]],
            2 => vec![vec![self.points()]],
            3 => vec![(0..self.u32()).map(|_| self.points()).collect()],
            6 => (0..self.u32())
                .map(|_| {
                    let (t, mut p) = self.geom();
                    assert_eq!(t, 3, "a MultiPolygon holds Polygons");
                    p.pop().unwrap()
                })
                .collect(),
            t => panic!("WKB type {t}"),
        };
        (t, g)
    }
}

/// ISO WKB → (type code, geometry); the whole buffer must be used.
fn wkb(b: &[u8]) -> (u32, Geom) {
    let mut r = Wkb { b, at: 0, le: true };
    let g = r.geom();
    assert_eq!(r.at, b.len(), "trailing bytes after the WKB");
    g
}

/// Whether a WKB type code fits a layer of type `t` (a Mixed layer's rows are
/// Points or MultiPolygons).
fn wkb_fits(code: u32, t: GeometryType) -> bool {
    match t {
        GeometryType::Point => code == 1,
        GeometryType::LineString => code == 2,
        GeometryType::Polygon => code == 3,
        GeometryType::MultiPolygon => code == 6,
        GeometryType::Mixed => code == 1 || code == 6,
    }
}

/// A GeoPackage geometry blob (GeoPackage 1.3, 2.1.3): magic, version 0, flags,
/// SRS 4326, the envelope (which must be the geometry's), then WKB.
fn gpkg_geometry(b: &[u8], t: GeometryType) -> Geom {
    assert_eq!(&b[..3], b"GP\0");
    let flags = b[3];
    assert_eq!(flags & 0b1_0000, 0, "not empty");
    let le = flags & 1 == 1;
    let srs = if le {
        i32::from_le_bytes(b[4..8].try_into().unwrap())
    } else {
        i32::from_be_bytes(b[4..8].try_into().unwrap())
    };
    assert_eq!(srs, 4326);
    let env = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 4,
        k => panic!("envelope kind {k}"),
    };
    let mut r = Wkb { b, at: 8, le };
    let e: Vec<f64> = (0..env).map(|_| r.f64()).collect();
    let (code, g) = wkb(&b[8 + 8 * env..]);
    assert!(wkb_fits(code, t), "WKB type {code} in a {t:?} layer");
    if env == 4 {
        let bb = bbox(&g);
        assert_eq!(
            e,
            [bb[0], bb[2], bb[1], bb[3]],
            "envelope [minx, maxx, miny, maxy]"
        );
    } else {
        assert_eq!(code, 1, "only points may omit the envelope");
    }
    g
}

// ---------------------------------------------------------------------------------
// GeoPackage

fn read_gpkg(path: &Path, schema: &Schema) -> Layer {
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let t = &schema.name;
    let one = |sql: &str| -> rusqlite::types::Value {
        db.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{}: {sql}: {e}", path.display()))
    };
    use rusqlite::types::Value as Q;
    assert_eq!(one("PRAGMA application_id"), Q::Integer(0x4750_4B47));
    assert_eq!(one("PRAGMA user_version"), Q::Integer(10300));
    assert_eq!(one("PRAGMA integrity_check"), Q::Text("ok".into()));
    assert_eq!(
        one(
            "SELECT organization || ':' || organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = 4326"
        ),
        Q::Text("EPSG:4326".into())
    );
    let expect_type = match schema.geometry {
        GeometryType::Point => "POINT",
        GeometryType::LineString => "LINESTRING",
        GeometryType::Polygon => "POLYGON",
        GeometryType::MultiPolygon => "MULTIPOLYGON",
        GeometryType::Mixed => "GEOMETRY",
    };
    assert_eq!(
        one(&format!(
            "SELECT column_name || ' ' || geometry_type_name || ' ' || srs_id || ' ' || z || m
             FROM gpkg_geometry_columns WHERE table_name = '{t}'"
        )),
        Q::Text(format!("geom {expect_type} 4326 00"))
    );
    assert_eq!(
        one(&format!(
            "SELECT data_type || ' ' || srs_id FROM gpkg_contents WHERE table_name = '{t}'"
        )),
        Q::Text("features 4326".into())
    );
    assert_eq!(
        one(&format!(
            "SELECT count(*) FROM gpkg_extensions WHERE table_name = '{t}'
             AND column_name = 'geom' AND extension_name = 'gpkg_rtree_index'"
        )),
        Q::Integer(1)
    );
    // Declared column types.
    let mut types = Vec::new();
    let lists: Vec<String> = {
        let mut st = db
            .prepare(&format!(
                "SELECT column_name FROM gpkg_data_columns WHERE table_name = '{t}'
                 AND mime_type = 'application/json'"
            ))
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    {
        let mut st = db.prepare(&format!("PRAGMA table_info(\"{t}\")")).unwrap();
        let cols: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(cols[0], ("fid".into(), "INTEGER".into()));
        assert_eq!(cols[1], ("geom".into(), expect_type.into()));
        for (name, ty) in &cols[2..] {
            let ty = match ty.as_str() {
                "INTEGER" => Type::Int,
                "DOUBLE" | "REAL" => Type::Float,
                "BOOLEAN" => Type::Bool,
                "TEXT" if lists.contains(name) => Type::TextList,
                "TEXT" => Type::Text,
                t => panic!("{}: {name} {t}", path.display()),
            };
            types.push((name.clone(), ty));
        }
    }
    let mut st = db
        .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY fid"))
        .unwrap();
    let mut features = Vec::new();
    let mut fids = Vec::new();
    let mut rows = st.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        fids.push(r.get::<_, i64>(0).unwrap());
        let geom = gpkg_geometry(r.get_ref(1).unwrap().as_blob().unwrap(), schema.geometry);
        let props = types
            .iter()
            .enumerate()
            .map(|(k, (name, ty))| {
                let v = match (r.get_ref(k + 2).unwrap(), ty) {
                    (rusqlite::types::ValueRef::Null, _) => V::Null,
                    (rusqlite::types::ValueRef::Integer(i), Type::Bool) => {
                        assert!(i == 0 || i == 1);
                        V::Bool(i == 1)
                    }
                    (rusqlite::types::ValueRef::Integer(i), Type::Int) => V::Num(i as f64),
                    (rusqlite::types::ValueRef::Real(x), Type::Float) => V::Num(x),
                    (rusqlite::types::ValueRef::Text(s), Type::Text) => {
                        V::Text(String::from_utf8(s.to_vec()).unwrap())
                    }
                    (rusqlite::types::ValueRef::Text(s), Type::TextList) => {
                        V::List(serde_json::from_slice(s).unwrap())
                    }
                    (v, ty) => panic!(
                        "{}: {name}: {v:?} stored in a {ty:?} column",
                        path.display()
                    ),
                };
                (name.clone(), v)
            })
            .collect();
        features.push(Feat { geom, props });
    }
    drop(rows);
    // The spatial index: one entry per feature, its box the geometry's (SQLite
    // stores R-tree coordinates as float32, rounded outward).
    let mut st = db
        .prepare(&format!(
            "SELECT id, minx, maxx, miny, maxy FROM \"rtree_{t}_geom\" ORDER BY id"
        ))
        .unwrap();
    let boxes: Vec<(i64, [f64; 4])> = st
        .query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        boxes.len(),
        features.len(),
        "{}: R-tree entries",
        path.display()
    );
    for ((id, [x0, x1, y0, y1]), (fid, f)) in boxes.iter().zip(fids.iter().zip(&features)) {
        assert_eq!(id, fid);
        let b = bbox(&f.geom);
        assert!(
            *x0 <= b[0] && *x1 >= b[2] && *y0 <= b[1] && *y1 >= b[3],
            "{t} {fid}"
        );
        // SQLite rounds outward by up to about two float32 steps.
        let close = |a: f64, b: f64| (a - b).abs() <= f32_tolerance(b);
        assert!(close(*x0, b[0]) && close(*x1, b[2]) && close(*y0, b[1]) && close(*y1, b[3]));
    }
    // The layer's extent in gpkg_contents.
    if !features.is_empty() {
        let all = features.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |a, f| {
                let b = bbox(&f.geom);
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            },
        );
        let got: [f64; 4] = db
            .query_row(
                &format!(
                    "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = '{t}'"
                ),
                [],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
            )
            .unwrap();
        assert_eq!(got, all, "{t}: extent");
        // A query through the index finds exactly the features whose box meets a
        // window around the first one.
        let b = bbox(&features[0].geom);
        let w = [b[0] - 0.001, b[1] - 0.001, b[2] + 0.001, b[3] + 0.001];
        let mut st = db
            .prepare(&format!(
                "SELECT id FROM \"rtree_{t}_geom\" WHERE maxx >= ?1 AND minx <= ?3 AND maxy >= ?2 AND miny <= ?4 ORDER BY id"
            ))
            .unwrap();
        let hits: Vec<i64> = st
            .query_map(w, |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let want: Vec<i64> = fids
            .iter()
            .zip(&features)
            .filter(|(_, f)| {
                let c = bbox(&f.geom);
                // float32 boxes may reach 1e-5 beyond: count only clear cases.
                c[2] >= w[0] && c[0] <= w[2] && c[3] >= w[1] && c[1] <= w[3]
            })
            .map(|(id, _)| *id)
            .collect();
        assert!(
            want.iter().all(|id| hits.contains(id)),
            "{t}: index misses a feature"
        );
        assert!(
            hits.len() <= want.len() + 2,
            "{t}: index returns far features"
        );
    }
    Layer { features, types }
}

// ---------------------------------------------------------------------------------
// FlatGeobuf

struct FgbProps<'a> {
    names: &'a [String],
    values: Vec<V>,
}

impl PropertyProcessor for FgbProps<'_> {
    fn property(
        &mut self,
        i: usize,
        name: &str,
        v: &ColumnValue<'_>,
    ) -> flatgeobuf::geozero::error::Result<bool> {
        assert_eq!(self.names[i], name);
        self.values[i] = match v {
            ColumnValue::Long(x) => V::Num(*x as f64),
            ColumnValue::Double(x) => V::Num(*x),
            ColumnValue::Bool(b) => V::Bool(*b),
            ColumnValue::String(s) => V::Text((*s).to_owned()),
            ColumnValue::Json(s) => V::List(serde_json::from_str(s).unwrap()),
            v => panic!("unexpected FlatGeobuf value {v:?}"),
        };
        Ok(false)
    }
}

fn fgb_geom(g: &flatgeobuf::Geometry<'_>, t: GeometryType) -> Geom {
    let xy: Vec<f64> = g.xy().map(|v| v.iter().collect()).unwrap_or_default();
    let pts: Vec<[f64; 2]> = xy.chunks(2).map(|c| [c[0], c[1]]).collect();
    let rings = |pts: &[[f64; 2]], ends: Option<Vec<u32>>| -> Vec<Vec<[f64; 2]>> {
        match ends {
            None => vec![pts.to_vec()],
            Some(e) => {
                let mut s = 0;
                e.iter()
                    .map(|&e| {
                        let r = pts[s..e as usize].to_vec();
                        s = e as usize;
                        r
                    })
                    .collect()
            }
        }
    };
    // A Mixed layer's features each carry their type.
    let t = match (t, g.type_()) {
        (GeometryType::Mixed, flatgeobuf::GeometryType::Point) => GeometryType::Point,
        (GeometryType::Mixed, flatgeobuf::GeometryType::MultiPolygon) => GeometryType::MultiPolygon,
        (GeometryType::Mixed, other) => panic!("{other:?} in a Mixed layer"),
        (t, _) => t,
    };
    match t {
        GeometryType::Point | GeometryType::LineString => vec![vec![pts]],
        GeometryType::Polygon => vec![rings(&pts, g.ends().map(|e| e.iter().collect()))],
        GeometryType::MultiPolygon => g
            .parts()
            .unwrap()
            .iter()
            .map(|p| {
                let xy: Vec<f64> = p.xy().unwrap().iter().collect();
                let pts: Vec<[f64; 2]> = xy.chunks(2).map(|c| [c[0], c[1]]).collect();
                rings(&pts, p.ends().map(|e| e.iter().collect()))
            })
            .collect(),
        GeometryType::Mixed => unreachable!("resolved above"),
    }
}

fn read_fgb(path: &Path, schema: &Schema) -> Layer {
    use flatgeobuf::{ColumnType, FeatureProperties};
    let open =
        || FgbReader::open(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let r = open();
    let h = r.header();
    let crs = h.crs().expect("a CRS");
    assert_eq!(
        (crs.org(), crs.code()),
        (Some("EPSG"), 4326),
        "{}",
        path.display()
    );
    let want = match schema.geometry {
        GeometryType::Point => flatgeobuf::GeometryType::Point,
        GeometryType::LineString => flatgeobuf::GeometryType::LineString,
        GeometryType::Polygon => flatgeobuf::GeometryType::Polygon,
        GeometryType::MultiPolygon => flatgeobuf::GeometryType::MultiPolygon,
        GeometryType::Mixed => flatgeobuf::GeometryType::Unknown,
    };
    assert_eq!(h.geometry_type(), want);
    let count = h.features_count() as usize;
    // The packed Hilbert R-tree, whenever there is something to index.
    assert_eq!(
        h.index_node_size(),
        if count > 0 { 16 } else { 0 },
        "{}",
        path.display()
    );
    let cols = h.columns().expect("columns");
    let mut names = Vec::new();
    let mut types = Vec::new();
    for c in cols.iter() {
        names.push(c.name().to_owned());
        types.push((
            c.name().to_owned(),
            match c.type_() {
                ColumnType::Long => Type::Int,
                ColumnType::Double => Type::Float,
                ColumnType::Bool => Type::Bool,
                ColumnType::String => Type::Text,
                ColumnType::Json => Type::TextList,
                t => panic!("{}: column type {t:?}", path.display()),
            },
        ));
    }
    let mut it = r.select_all().unwrap();
    let mut features = Vec::new();
    while let Some(f) = it.next().unwrap() {
        let geom = fgb_geom(&f.geometry().expect("a geometry"), schema.geometry);
        let mut p = FgbProps {
            names: &names,
            values: vec![V::Null; names.len()],
        };
        f.process_properties(&mut p).unwrap();
        features.push(Feat {
            geom,
            props: names.iter().cloned().zip(p.values).collect(),
        });
    }
    assert_eq!(features.len(), count);
    // The index: a window around one feature finds it and its neighbours, the same
    // ones a scan finds.
    if let Some(f) = features.get(count / 2) {
        let b = bbox(&f.geom);
        let w = [b[0] - 0.001, b[1] - 0.001, b[2] + 0.001, b[3] + 0.001];
        let mut it = open().select_bbox(w[0], w[1], w[2], w[3]).unwrap();
        let mut hits = Vec::new();
        while let Some(f) = it.next().unwrap() {
            hits.push(fgb_geom(&f.geometry().unwrap(), schema.geometry));
        }
        let mut want: Vec<&Geom> = features
            .iter()
            .map(|f| &f.geom)
            .filter(|g| {
                let c = bbox(g);
                c[2] >= w[0] && c[0] <= w[2] && c[3] >= w[1] && c[1] <= w[3]
            })
            .collect();
        let mut hits: Vec<&Geom> = hits.iter().collect();
        let key = |g: &&Geom| format!("{g:?}");
        want.sort_by_key(key);
        hits.sort_by_key(key);
        assert_eq!(hits, want, "{}: index query", path.display());
    }
    Layer { features, types }
}

// ---------------------------------------------------------------------------------
// GeoParquet

fn read_parquet(path: &Path, schema: &Schema) -> Layer {
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let meta = b.metadata().clone();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .expect("key-value metadata");
    let get = |k: &str| {
        kv.iter()
            .find(|e| e.key == k)
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| panic!("{}: no {k}", path.display()))
    };
    assert_eq!(
        get("livingcircle:schema_version"),
        export::SCHEMA_VERSION.to_string()
    );
    let geo: Json = serde_json::from_str(&get("geo")).unwrap();
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "geometry");
    let col = &geo["columns"]["geometry"];
    assert_eq!(col["encoding"], "WKB");
    let gt = match schema.geometry {
        GeometryType::Point => vec!["Point"],
        GeometryType::LineString => vec!["LineString"],
        GeometryType::Polygon => vec!["Polygon"],
        GeometryType::MultiPolygon => vec!["MultiPolygon"],
        GeometryType::Mixed => vec!["Point", "MultiPolygon"],
    };
    assert_eq!(col["geometry_types"], serde_json::json!(gt));
    assert_eq!(
        col["crs"]["id"],
        serde_json::json!({"authority": "EPSG", "code": 4326})
    );
    for k in ["xmin", "ymin", "xmax", "ymax"] {
        assert_eq!(col["covering"]["bbox"][k], serde_json::json!(["bbox", k]));
    }
    // Row groups sized for streaming.
    for rg in meta.row_groups() {
        assert!(rg.num_rows() as usize <= export::ROW_GROUP_ROWS);
    }
    let arrow = b.schema().clone();
    let mut types = Vec::new();
    for f in arrow.fields() {
        let ty = match f.data_type() {
            DataType::Int64 => Type::Int,
            DataType::Float64 => Type::Float,
            DataType::Boolean => Type::Bool,
            DataType::Utf8 => Type::Text,
            DataType::List(i) if i.data_type() == &DataType::Utf8 => Type::TextList,
            DataType::Binary if f.name() == "geometry" => continue,
            DataType::Struct(_) if f.name() == "bbox" => continue,
            t => panic!("{}: {} {t}", path.display(), f.name()),
        };
        types.push((f.name().clone(), ty));
    }
    let batches: Vec<RecordBatch> = b.build().unwrap().map(Result::unwrap).collect();
    let mut features = Vec::new();
    let mut extent = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for batch in &batches {
        let geoms = batch.column_by_name("geometry").unwrap().as_binary::<i32>();
        let bb = batch.column_by_name("bbox").unwrap().as_struct();
        let bcol = |k: &str| {
            bb.column_by_name(k)
                .unwrap()
                .as_primitive::<Float32Type>()
                .clone()
        };
        let (x0, y0, x1, y1) = (bcol("xmin"), bcol("ymin"), bcol("xmax"), bcol("ymax"));
        for i in 0..batch.num_rows() {
            let (code, geom) = wkb(geoms.value(i));
            assert!(wkb_fits(code, schema.geometry), "WKB type {code}");
            let g = bbox(&geom);
            // The covering box contains the geometry, to float32 precision.
            let cover = [x0.value(i), y0.value(i), x1.value(i), y1.value(i)].map(f64::from);
            assert!(cover[0] <= g[0] && cover[1] <= g[1] && cover[2] >= g[2] && cover[3] >= g[3]);
            for (c, g) in cover.iter().zip(g) {
                assert!((c - g).abs() <= f32_tolerance(g), "covering box too loose");
            }
            extent = [
                extent[0].min(g[0]),
                extent[1].min(g[1]),
                extent[2].max(g[2]),
                extent[3].max(g[3]),
            ];
            let props = types
                .iter()
                .map(|(name, ty)| {
                    let c = batch.column_by_name(name).unwrap();
                    let v = if c.is_null(i) {
                        V::Null
                    } else {
                        match ty {
                            Type::Int => V::Num(c.as_primitive::<Int64Type>().value(i) as f64),
                            Type::Float => V::Num(c.as_primitive::<Float64Type>().value(i)),
                            Type::Bool => V::Bool(c.as_boolean().value(i)),
                            Type::Text => V::Text(c.as_string::<i32>().value(i).to_owned()),
                            Type::TextList => {
                                let l = c.as_list::<i32>().value(i);
                                let l = l.as_string::<i32>();
                                V::List((0..l.len()).map(|k| l.value(k).to_owned()).collect())
                            }
                        }
                    };
                    (name.clone(), v)
                })
                .collect();
            features.push(Feat { geom, props });
        }
    }
    if !features.is_empty() {
        assert_eq!(
            col["bbox"],
            serde_json::json!(extent),
            "{}: file bbox",
            path.display()
        );
    }
    Layer { features, types }
}

// ---------------------------------------------------------------------------------
// Comparison

/// Checks a layer read from another format against the schema and the GeoJSON.
fn same(what: &str, got: &Layer, schema: &Schema, want: &[Feat], sort: bool) {
    let declared: Vec<(String, Type)> = schema
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.ty))
        .collect();
    assert_eq!(got.types, declared, "{what}: column types");
    assert_eq!(got.features.len(), want.len(), "{what}: feature count");
    let key = |f: &Feat| format!("{f:?}");
    let (mut g, mut w): (Vec<&Feat>, Vec<&Feat>) =
        (got.features.iter().collect(), want.iter().collect());
    if sort {
        g.sort_by_key(|f| key(f));
        w.sort_by_key(|f| key(f));
    }
    for (k, (a, b)) in g.iter().zip(&w).enumerate() {
        assert_eq!(a, b, "{what}: feature {k}");
    }
}

fn read(format: &str, path: &Path, schema: &Schema) -> Layer {
    match format {
        "gpkg" => read_gpkg(path, schema),
        "fgb" => read_fgb(path, schema),
        "parquet" => read_parquet(path, schema),
        f => panic!("{f}"),
    }
}

/// Every layer of `schemas` in `dir`, in GeoPackage, FlatGeobuf and GeoParquet,
/// equals `dir/<layer>.geojson` (or `reference`'s features for that layer).
fn check_dir(dir: &Path, gpkg: &str, schemas: &[Schema], reference: &BTreeMap<String, Vec<Feat>>) {
    for schema in schemas {
        let name = &schema.name;
        let want = match reference.get(name) {
            Some(w) => w.clone(),
            None => read_geojson(&dir.join(format!("{name}.geojson"))),
        };
        for (format, path) in [
            ("gpkg", dir.join(gpkg)),
            ("fgb", dir.join(format!("{name}.fgb"))),
            ("parquet", dir.join(format!("{name}.parquet"))),
        ] {
            let got = read(format, &path, schema);
            // FlatGeobuf stores features in the order of its index.
            same(
                &format!("{} {name}", path.display()),
                &got,
                schema,
                &want,
                format == "fgb",
            );
        }
    }
}

/// Features of `nodes` from `nodes.csv`.
fn nodes_from_csv(path: &Path) -> Vec<Feat> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            Feat {
                geom: vec![vec![vec![[v[1], v[2]]]]],
                props: vec![("id".into(), V::Num(v[0]))],
            }
        })
        .collect()
}

/// Features of `unsnapped` from `unsnapped.csv`.
fn unsnapped_from_csv(path: &Path) -> Vec<Feat> {
    let text = std::fs::read_to_string(path).unwrap();
    let opt = |s: &str| {
        if s.is_empty() {
            V::Null
        } else {
            V::Text(s.into())
        }
    };
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            Feat {
                geom: vec![vec![vec![[v[4].parse().unwrap(), v[5].parse().unwrap()]]]],
                props: vec![
                    ("kind".into(), V::Text(v[0].into())),
                    ("id".into(), V::Num(v[1].parse().unwrap())),
                    ("user_id".into(), opt(v.get(6).copied().unwrap_or(""))),
                    ("osm_id".into(), opt(v[2])),
                    ("category".into(), opt(v[3])),
                ],
            }
        })
        .collect()
}

/// `analyze --format geojson,gpkg,fgb,parquet` on `osm`: every layer in every format
/// equals the GeoJSON (the network equals `graph`'s `network.geojson`, nodes and
/// unsnapped places their CSVs); returns the number of unsnapped places.
fn check_analyze(osm: &Path, extra: &[&str]) -> usize {
    let d = tmp();
    let mut args = vec![
        "analyze",
        "-q",
        "--osm",
        s(osm),
        "--no-report",
        "--format",
        ALL,
        "--out",
        "a",
    ];
    args.extend_from_slice(extra);
    ok(d.path(), &args);
    ok(
        d.path(),
        &[
            "graph",
            "-q",
            "--osm",
            s(osm),
            "--format",
            ALL,
            "--out",
            "g",
        ],
    );
    let a = d.path().join("a");
    let g = d.path().join("g");
    // summary.json names the schema version and exactly the files written.
    let summary = json(&a.join("summary.json"));
    assert_eq!(summary["layers"]["schema_version"], export::SCHEMA_VERSION);
    let mut files: Vec<String> = summary["layers"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    files.extend(["summary.json", "summary.csv", ".livingcircle-analyze.files"].map(String::from));
    files.sort();
    assert_eq!(listing(&a), files, "{}: files", osm.display());
    // The manifest lists the set, for the next run to replace.
    let manifest = std::fs::read_to_string(a.join(".livingcircle-analyze.files")).unwrap();
    let listed: Vec<&str> = manifest.lines().collect();
    let written: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| !f.starts_with('.'))
        .collect();
    assert_eq!(listed, written);
    let preset = Preset::load("gb50180").unwrap();
    let iso = extra.contains(&"--isochrones");
    let mut schemas = vec![
        export::residences_schema(&preset, &[]),
        export::facilities_schema(&[]),
        export::gaps_schema(),
    ];
    if iso {
        schemas.push(export::isochrones_schema(
            &preset,
            IsoColumns {
                minutes: true,
                rings: false,
            },
        ));
    }
    let mut reference = BTreeMap::new();
    let network = read_geojson(&g.join("network.geojson"));
    reference.insert("network".to_owned(), network.clone());
    reference.insert("nodes".to_owned(), nodes_from_csv(&a.join("nodes.csv")));
    let unsnapped = unsnapped_from_csv(&a.join("unsnapped.csv"));
    let n_unsnapped = unsnapped.len();
    reference.insert("unsnapped".to_owned(), unsnapped);
    schemas.extend([
        export::unsnapped_schema(),
        export::nodes_schema(),
        export::network_schema(),
    ]);
    check_dir(&a, export::GPKG_NAME, &schemas, &reference);
    // `graph`'s own layers.
    check_dir(
        &g,
        export::GPKG_NAME,
        &[export::network_schema(), export::nodes_schema()],
        &BTreeMap::from([("nodes".to_owned(), nodes_from_csv(&g.join("nodes.csv")))]),
    );
    // The comparisons above compared every residence and graph edge.
    let counts = &summary["counts"];
    assert_eq!(
        read_geojson(&a.join("residences.geojson")).len() as u64,
        counts["residences"].as_u64().unwrap()
    );
    assert_eq!(
        network.len() as u64,
        counts["graph_edges"].as_u64().unwrap()
    );
    assert_eq!(
        n_unsnapped as u64,
        counts["residences_unsnapped"].as_u64().unwrap()
            + counts["facilities_unsnapped"].as_u64().unwrap()
    );
    n_unsnapped
}

#[test]
fn bundled_city_every_layer_in_every_format_equals_the_geojson() {
    check_analyze(&data("munchen.osm.pbf"), &[]);
}

/// Isochrones (MultiPolygons with holes) in `analyze --isochrones` on a fixture and
/// in `isochrones --points` on the bundled city, rings included.
#[test]
fn isochrones_in_every_format_equal_the_geojson() {
    check_analyze(&data("fixtures/features.osm.pbf"), &["--isochrones"]);
    let d = tmp();
    std::fs::write(
        d.path().join("p.csv"),
        "lon,lat,name\n11.5757290,48.1394128,Marienplatz\n11.5688139,48.1413096,\n11.5805,48.1372,East\n",
    )
    .unwrap();
    let preset = Preset::load("gb50180").unwrap();
    for (out, rings) in [("iso.geojson", false), ("rings.geojson", true)] {
        let mut args = vec![
            "isochrones",
            "-q",
            "--points",
            "p.csv",
            "--format",
            ALL,
            "--out",
            out,
        ];
        if rings {
            args.push("--rings");
        }
        ok(d.path(), &args);
        let stem = out.trim_end_matches(".geojson");
        let want = read_geojson(&d.path().join(out));
        assert_eq!(want.len(), 9);
        assert!(
            want.iter().any(|f| f.geom.len() > 1 || f.geom[0].len() > 1),
            "some hole or part"
        );
        let schema = export::isochrones_schema(
            &preset,
            IsoColumns {
                minutes: true,
                rings,
            },
        );
        for f in ["gpkg", "fgb", "parquet"] {
            let path = d.path().join(format!("{stem}.{f}"));
            let got = read(f, &path, &schema);
            same(
                &format!("{}", path.display()),
                &got,
                &schema,
                &want,
                f == "fgb",
            );
        }
    }
    // Without --format, --out's extension names the format.
    ok(
        d.path(),
        &[
            "isochrones",
            "-q",
            "--points",
            "p.csv",
            "--out",
            "one.parquet",
        ],
    );
    assert!(d.path().join("one.parquet").is_file());
    assert!(!d.path().join("one.geojson").exists());
}

#[test]
fn site_layers_in_every_format_equal_the_geojson() {
    let d = tmp();
    ok(
        d.path(),
        &[
            "site",
            "-q",
            "--category",
            "kindergarten",
            "--count",
            "4",
            "--format",
            ALL,
            "--out",
            "s",
        ],
    );
    let dir = d.path().join("s");
    check_dir(
        &dir,
        export::SITES_GPKG_NAME,
        &[export::sites_schema(false), export::site_coverage_schema()],
        &BTreeMap::new(),
    );
    assert_eq!(read_geojson(&dir.join("sites.geojson")).len(), 4);
    let summary = json(&dir.join("sites_summary.json"));
    assert_eq!(summary["layers"]["schema_version"], export::SCHEMA_VERSION);
}

/// Sites from a file of areas and points: a layer that mixes Points and
/// (Multi)Polygons, the same in every format.
#[test]
fn mixed_site_layer_in_every_format_equals_the_geojson() {
    let d = tmp();
    std::fs::write(
        d.path().join("cands.geojson"),
        r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[11.5700,48.1380],[11.5712,48.1380],[11.5712,48.1388],[11.5700,48.1388],[11.5700,48.1380]]]},"properties":{"id":"block"}},
 {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[
   [[[11.5600,48.1330],[11.5620,48.1330],[11.5620,48.1345],[11.5600,48.1345],[11.5600,48.1330]],
    [[11.5605,48.1335],[11.5610,48.1335],[11.5610,48.1340],[11.5605,48.1340],[11.5605,48.1335]]],
   [[[11.5800,48.1440],[11.5810,48.1440],[11.5810,48.1447],[11.5800,48.1440]]]]},"properties":{"id":"two-part"}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[11.5800,48.1365]},"properties":{"id":"pt"}}
]}"#,
    )
    .unwrap();
    ok(
        d.path(),
        &[
            "site",
            "-q",
            "--category",
            "kindergarten",
            "--count",
            "3",
            "--min-gain",
            "0",
            "--candidates",
            "cands.geojson",
            "--format",
            ALL,
            "--out",
            "s",
        ],
    );
    let dir = d.path().join("s");
    check_dir(
        &dir,
        export::SITES_GPKG_NAME,
        &[export::sites_schema(true), export::site_coverage_schema()],
        &BTreeMap::new(),
    );
    let sites = json(&dir.join("sites.geojson"));
    let mut types: Vec<(&str, &str)> = sites["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["candidate_id"].as_str().unwrap(),
                f["geometry"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            ("block", "Polygon"),
            ("pt", "Point"),
            ("two-part", "MultiPolygon")
        ]
    );
}

/// Two or more extracts of ../shared/data (skipped with a note when absent); among
/// them one with unsnapped places, so that layer is compared with rows in it.
#[test]
fn shared_extracts_every_layer_in_every_format_equals_the_geojson() {
    // Baltimore has unsnapped residences and facilities; Nanjing Chinese names.
    let wanted = [
        "baltimore.osm.pbf",
        "hoyerswerda.osm.pbf",
        "nanjing.osm.pbf",
    ];
    let extracts: Vec<_> = shared_extracts()
        .into_iter()
        .filter(|p| wanted.iter().any(|w| p.ends_with(w)))
        .collect();
    if extracts.is_empty() {
        return;
    }
    assert_eq!(
        extracts.len(),
        wanted.len(),
        "extracts missing from ../shared/data"
    );
    let unsnapped: usize = extracts.iter().map(|p| check_analyze(p, &[])).sum();
    assert!(unsnapped > 0, "no extract had unsnapped places to compare");
}

#[test]
fn unknown_format_lists_the_valid_ones() {
    let d = tmp();
    for cmd in [
        &["analyze", "--format", "geojson,shp"][..],
        &["graph", "--format", "kml"][..],
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "1",
            "--format",
            "csv",
        ][..],
        &["isochrones", "--format", "gpkg,xlsx"][..],
    ] {
        let err = fails(d.path(), cmd);
        assert!(err.contains("--format"), "{err}");
        assert!(err.contains("valid: geojson, gpkg, fgb, parquet"), "{err}");
    }
    let err = fails(
        d.path(),
        &["isochrones", "--stats-only", "--format", "parquet"],
    );
    assert!(
        err.contains("--format parquet") && err.contains("--stats-only"),
        "{err}"
    );
    assert!(
        listing(d.path()).is_empty(),
        "nothing written: {:?}",
        listing(d.path())
    );
}

/// A layer that cannot be put in place (a directory is in the way) or a GeoPackage
/// whose directory vanished: one line naming the file, exit 2, no temporary file or
/// half-written layer left.
#[test]
fn unwritable_layer_fails_cleanly() {
    for (format, blocked) in [
        ("gpkg", "livingcircle.gpkg"),
        ("fgb", "facilities.fgb"),
        ("parquet", "gaps.parquet"),
        ("geojson,parquet", "residences.parquet"),
    ] {
        let d = tmp();
        let out = d.path().join("o");
        std::fs::create_dir_all(out.join(blocked)).unwrap();
        let err = fails(
            d.path(),
            &[
                "analyze",
                "-q",
                "--no-report",
                "--format",
                format,
                "--out",
                "o",
            ],
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(blocked), "{format}: {err}");
        let left = listing(&out);
        assert!(
            !left.iter().any(|f| f.starts_with(".livingcircle-")),
            "{format}: temporary files left: {left:?}"
        );
        assert!(out.join(blocked).is_dir());
    }
    // A GeoPackage whose directory cannot be made: the error names it.
    let d = tmp();
    std::fs::write(d.path().join("file"), b"x").unwrap();
    let err = fails(
        d.path(),
        &["graph", "--format", "gpkg", "--out", "file/sub"],
    );
    assert!(err.contains("file/sub"), "{err}");
}

/// README's "Layers and columns" holds each layer's table exactly as its schema
/// declares it (column, type, unit, meaning), so the documentation cannot drift.
#[test]
fn readme_documents_every_layer_as_declared() {
    let readme = std::fs::read_to_string(crate::util::root().join("README.md")).unwrap();
    let mut missing = String::new();
    for schema in [
        export::residences_schema_doc(),
        export::facilities_schema_doc(),
        export::gaps_schema(),
        export::unsnapped_schema(),
        export::nodes_schema(),
        export::network_schema(),
        export::isochrones_schema_doc(),
        export::sites_schema(false),
        export::site_coverage_schema(),
    ] {
        let table = schema.markdown();
        if !readme.contains(&table) {
            missing.push_str(&format!("\n`{}`:\n\n{table}", schema.name));
        }
    }
    assert!(
        missing.is_empty(),
        "README lacks or differs from these tables:\n{missing}"
    );
}

/// A user file's `id` and other columns come back in every layer and format: a CSV of
/// residences (one far off the network: unsnapped) and a GeoJSON of facilities (a
/// feature id, a property of another type).
#[test]
fn user_ids_and_columns_come_back_in_every_layer_and_format() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("homes.csv"),
        "id,name,lon,lat,population,block,\"note, quoted\"\n\
         home-42,A,11.5755,48.1372,100,B7,\"a, b\"\n\
         home-43,B,11.5800,48.1400,50,,x\n\
         far-1,C,12.9000,48.9000,5,Z9,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kg.geojson"),
        r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","id":"kg-1","geometry":{"type":"Point","coordinates":[11.5756,48.1373]},"properties":{"category":"kindergarten","name":"New KG","places":120}},
          {"type":"Feature","geometry":{"type":"Point","coordinates":[11.5790,48.1395]},"properties":{"category":"kindergarten","id":"kg-2","operator":"City"}}]}"#,
    )
    .unwrap();
    ok(
        dir.path(),
        &[
            "analyze",
            "--residences",
            "homes.csv",
            "--facilities",
            "kg.geojson",
            "--format",
            "geojson,gpkg,fgb,parquet",
            "--no-report",
            "--out",
            "o",
            "-q",
        ],
    );
    let o = dir.path().join("o");
    let res = json(&o.join("residences.geojson"));
    let props = |i: usize| res["features"][i]["properties"].clone();
    assert_eq!(props(0)["user_id"], "home-42");
    assert_eq!(props(0)["user_block"], "B7");
    assert_eq!(props(0)["user_note, quoted"], "a, b");
    assert_eq!(props(1)["user_id"], "home-43");
    assert_eq!(props(1)["user_block"], Json::Null);
    assert_eq!(props(2)["user_id"], "far-1");
    let fac = json(&o.join("facilities.geojson"));
    let by_user_id = |id: &str| {
        fac["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["user_id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["properties"]
            .clone()
    };
    let kg1 = by_user_id("kg-1");
    assert_eq!(kg1["user_places"], "120");
    assert_eq!(kg1["user_operator"], Json::Null);
    assert_eq!(by_user_id("kg-2")["user_operator"], "City");
    // OSM facilities: no user id, nulls in the user columns.
    let osm = fac["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["origin"] == "osm")
        .unwrap();
    assert_eq!(osm["properties"]["user_id"], Json::Null);
    assert_eq!(osm["properties"]["user_places"], Json::Null);
    let csv = std::fs::read_to_string(o.join("unsnapped.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("residence,2,") && l.ends_with(",far-1")),
        "{csv}"
    );
    // Every format holds the same.
    let preset = Preset::load("gb50180").unwrap();
    let home_cols = vec!["block".to_owned(), "note, quoted".to_owned()];
    let fac_cols = vec!["places".to_owned(), "operator".to_owned()];
    let unsnapped = unsnapped_from_csv(&o.join("unsnapped.csv"));
    let mut reference = BTreeMap::new();
    reference.insert("unsnapped".to_owned(), unsnapped);
    check_dir(
        &o,
        export::GPKG_NAME,
        &[
            export::residences_schema(&preset, &home_cols),
            export::facilities_schema(&fac_cols),
            export::unsnapped_schema(),
        ],
        &reference,
    );
}

/// `isochrones --points` names each place by the file's `id` when it has one.
#[test]
fn isochrones_keep_the_points_file_ids() {
    let dir = tmp();
    std::fs::write(
        dir.path().join("pts.csv"),
        "lon,lat,id\n11.5755,48.1372,gate-7\n11.5800,48.1400,\n",
    )
    .unwrap();
    ok(
        dir.path(),
        &[
            "isochrones",
            "--points",
            "pts.csv",
            "--out",
            "iso.geojson",
            "-q",
        ],
    );
    let iso = json(&dir.path().join("iso.geojson"));
    let ids: std::collections::BTreeSet<String> = iso["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["1".to_owned(), "gate-7".to_owned()].into_iter().collect()
    );
}
