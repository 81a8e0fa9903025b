//! The analysis layers: residences, facilities, gap cells, unsnapped places.

use livingcircle_analysis::{Analysis, Facility, Home, HomeChunk, HomeResults, Preset, m1, r1};
use std::io::Write;
use std::path::Path;

use crate::geojson_writer::GeoJsonWriter;
use crate::schema::{Field, GeometryType, LayerWriter, RowBuf, Rows, Schema, Type, Value};
use crate::{Error, write_atomic};

/// The columns of `residences`: see README, "Outputs".
pub fn residences_schema(preset: &Preset) -> Schema {
    let mut f = vec![
        Field::new("id", Type::Int),
        Field::new("osm_id", Type::Text),
        Field::new("name", Type::Text),
        Field::new("population", Type::Float),
        Field::new("population_source", Type::Text),
        Field::new("snap_m", Type::Float),
        Field::new("edge", Type::Int),
        Field::new("edge_offset_m", Type::Float),
    ];
    for cat in &preset.categories {
        f.push(Field::new(format!("{}_m", cat.key), Type::Float));
        f.push(Field::new(format!("{}_ok", cat.key), Type::Bool));
    }
    f.push(Field::new("met", Type::Int));
    f.push(Field::new("required", Type::Int));
    f.push(Field::new("missing", Type::TextList));
    for l in levels(preset) {
        f.push(Field::new(format!("level{l}_ok"), Type::Bool));
    }
    Schema {
        name: "residences".into(),
        geometry: GeometryType::Point,
        fields: f,
    }
}

/// Rows of `residences` for one chunk of a (streamed) analysis.
pub struct ResidenceRows<'a> {
    /// The preset analysed.
    pub preset: &'a Preset,
    /// Every residence (the chunk's rows are `chunk.first..`).
    pub homes: &'a [Home],
    /// The chunk's results.
    pub chunk: HomeChunk<'a>,
}

fn push_snap<'a>(buf: &mut RowBuf<'a>, snap: Option<&livingcircle_analysis::Snap>) {
    match snap {
        Some(s) => buf.values.extend([
            Value::Float(r1(s.dist_m)),
            Value::Int(i64::from(s.edge)),
            Value::Float(m1(s.offset_mm)),
        ]),
        None => buf.values.extend([Value::Null; 3]),
    }
}

impl Rows for ResidenceRows<'_> {
    fn len(&self) -> usize {
        self.chunk.len()
    }

    fn row<'a>(&'a self, r: usize, buf: &mut RowBuf<'a>) {
        let i = self.chunk.first + r;
        let h = &self.homes[i];
        let c = &self.chunk;
        buf.coords.push(h.lonlat);
        buf.values.push(Value::Int(i as i64));
        buf.push_display(h.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
        buf.values.extend([
            Value::from(h.name.as_deref()),
            Value::Float(h.population),
            Value::Text(h.population_source.as_str()),
        ]);
        push_snap(buf, c.snap(r));
        let cats = &self.preset.categories;
        let mut met = 0;
        for k in 0..cats.len() {
            let ok = c.ok(r, k);
            met += usize::from(ok);
            buf.values.push(Value::from(c.nearest_mm(r, k).map(m1)));
            buf.values.push(Value::Bool(ok));
        }
        buf.values.push(Value::Int(met as i64));
        buf.values.push(Value::Int(cats.len() as i64));
        buf.push_list(
            (0..cats.len())
                .filter(|&k| !c.ok(r, k))
                .map(|k| cats[k].key.as_str()),
        );
        for l in c.levels() {
            buf.values.push(Value::Bool(c.level_ok(r, l)));
        }
    }
}

/// `residences.geojson` from a whole analysis.
///
/// # Errors
/// Writing failed.
pub fn write_residences(
    path: &Path,
    preset: &Preset,
    homes: &[Home],
    a: &Analysis,
    results: &HomeResults,
) -> Result<(), Error> {
    let rows = ResidenceRows {
        preset,
        homes,
        chunk: results.rows(a),
    };
    write_layer(path, &residences_schema(preset), &rows)
}

/// Writes one layer in one go.
///
/// # Errors
/// Writing failed.
pub fn write_layer(path: &Path, schema: &Schema, rows: &dyn Rows) -> Result<(), Error> {
    let mut w: Box<dyn LayerWriter> = Box::new(GeoJsonWriter::create(path, schema)?);
    w.write(rows)?;
    w.finish()
}

/// Levels (5, 10, 15) that the preset uses.
fn levels(preset: &Preset) -> Vec<u8> {
    [5u8, 10, 15]
        .into_iter()
        .filter(|l| preset.categories.iter().any(|c| c.level == Some(*l)))
        .collect()
}

/// The columns of `facilities`.
pub fn facilities_schema() -> Schema {
    Schema {
        name: "facilities".into(),
        geometry: GeometryType::Point,
        fields: vec![
            Field::new("id", Type::Int),
            Field::new("category", Type::Text),
            Field::new("name", Type::Text),
            Field::new("osm_id", Type::Text),
            Field::new("origin", Type::Text),
            Field::new("snap_m", Type::Float),
            Field::new("edge", Type::Int),
            Field::new("edge_offset_m", Type::Float),
            Field::new("residents", Type::Int),
            Field::new("population", Type::Float),
        ],
    }
}

struct FacilityRows<'a> {
    preset: &'a Preset,
    facilities: &'a [Facility],
    a: &'a Analysis,
}

impl Rows for FacilityRows<'_> {
    fn len(&self) -> usize {
        self.facilities.len()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let (f, r) = (&self.facilities[i], &self.a.facilities[i]);
        buf.coords.push(f.lonlat);
        buf.values.extend([
            Value::Int(i as i64),
            Value::Text(&self.preset.categories[f.category].key),
            Value::from(f.name.as_deref()),
        ]);
        buf.push_display(f.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
        buf.values.push(Value::Text(f.origin.as_str()));
        push_snap(buf, r.snap.as_ref());
        buf.values.extend([
            Value::Int(i64::from(r.residents)),
            Value::Float(r1(r.population)),
        ]);
    }
}

/// `facilities.geojson`: one Point per facility with its catchment load.
///
/// # Errors
/// Writing failed.
pub fn write_facilities(
    path: &Path,
    preset: &Preset,
    facilities: &[Facility],
    a: &Analysis,
) -> Result<(), Error> {
    let rows = FacilityRows {
        preset,
        facilities,
        a,
    };
    write_layer(path, &facilities_schema(), &rows)
}

/// Orients a closed ring counter-clockwise (RFC 7946 exterior rings).
pub fn ccw_ring(mut ring: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    let area2: f64 = ring
        .windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum();
    if area2 < 0.0 {
        ring.reverse();
    }
    ring
}

/// The columns of `gaps`.
pub fn gaps_schema() -> Schema {
    Schema {
        name: "gaps".into(),
        geometry: GeometryType::Polygon,
        fields: vec![
            Field::new("h3", Type::Text),
            Field::new("category", Type::Text),
            Field::new("residents_missing", Type::Int),
            Field::new("population_missing", Type::Float),
            Field::new("nearest_m", Type::Float),
        ],
    }
}

struct GapRows<'a> {
    preset: &'a Preset,
    a: &'a Analysis,
    /// The cells' names (`h3`), made once.
    names: Vec<String>,
}

impl Rows for GapRows<'_> {
    fn len(&self) -> usize {
        self.a.gaps.len()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let g = &self.a.gaps[i];
        let boundary = g.cell.boundary();
        let mut ring: Vec<[f64; 2]> = boundary.iter().map(|ll| [ll.lng(), ll.lat()]).collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        buf.coords.extend(ccw_ring(ring));
        buf.end_ring();
        buf.values.extend([
            Value::Text(&self.names[i]),
            Value::Text(&self.preset.categories[g.category].key),
            Value::Int(i64::from(g.residents_missing)),
            Value::Float(r1(g.population_missing)),
            Value::from(g.nearest_mm.map(m1)),
        ]);
    }
}

/// `gaps.geojson`: one H3 hexagon per (cell, category) with residents missing it.
///
/// # Errors
/// Writing failed.
pub fn write_gaps(path: &Path, preset: &Preset, a: &Analysis) -> Result<(), Error> {
    let rows = GapRows {
        preset,
        a,
        names: a.gaps.iter().map(|g| g.cell.to_string()).collect(),
    };
    write_layer(path, &gaps_schema(), &rows)
}

/// `unsnapped.csv`: residences and facilities beyond the snapping distance.
///
/// # Errors
/// Writing failed.
pub fn write_unsnapped_csv(
    path: &Path,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    a: &Analysis,
) -> Result<(), Error> {
    write_atomic(path, |f| {
        writeln!(f, "kind,id,osm_id,category,lon,lat")?;
        for (i, (h, r)) in homes.iter().zip(&a.home_snaps).enumerate() {
            if r.is_none() {
                writeln!(
                    f,
                    "residence,{i},{},,{},{}",
                    h.osm_id.map(|o| o.to_string()).unwrap_or_default(),
                    crate::round7(h.lonlat[0]),
                    crate::round7(h.lonlat[1])
                )?;
            }
        }
        for (i, (fa, r)) in facilities.iter().zip(&a.facilities).enumerate() {
            if r.snap.is_none() {
                writeln!(
                    f,
                    "facility,{i},{},{},{},{}",
                    fa.osm_id.map(|o| o.to_string()).unwrap_or_default(),
                    preset.categories[fa.category].key,
                    crate::round7(fa.lonlat[0]),
                    crate::round7(fa.lonlat[1])
                )?;
            }
        }
        Ok(())
    })
}
