//! The analysis layers: residences, facilities, gap cells, unsnapped places.

use livingcircle_analysis::{
    Analysis, Facility, Home, HomeChunk, HomeResults, Preset, UserFields, m1, r1,
};
use std::io::Write;
use std::path::Path;

use crate::schema::{Field, GeometryType, RowBuf, Rows, Schema, Type, Value};
use crate::{Error, Layers, write_atomic};

/// The other columns of the user file places came from (none for OSM's): every
/// place of one file shares them.
fn user_columns<'a>(mut users: impl Iterator<Item = Option<&'a Box<UserFields>>>) -> Vec<String> {
    users
        .find_map(|u| u)
        .map(|u| u.columns.to_vec())
        .unwrap_or_default()
}

/// The other columns of the user file the residences came from (none for OSM's).
pub fn home_user_columns(homes: &[Home]) -> Vec<String> {
    user_columns(homes.iter().map(|h| h.user.as_ref()))
}

/// The other columns of the user file facilities came from (none for OSM's).
pub fn facility_user_columns(facilities: &[Facility]) -> Vec<String> {
    user_columns(facilities.iter().map(|f| f.user.as_ref()))
}

/// `user_id`, right after `id`: the file's own id of a place.
fn user_id_field(file: &str) -> Field {
    Field::new("user_id", Type::Text).doc(
        "",
        format!("its `id` in the `{file}` file (column, property or feature id); null otherwise"),
    )
}

/// `user_<column>` for each other column of a user file, as text.
fn user_fields(file: &str, columns: &[String]) -> impl Iterator<Item = Field> {
    columns.iter().map(move |c| {
        Field::new(format!("user_{c}"), Type::Text).doc(
            "",
            format!("the `{file}` file's `{c}` column, as text (one per other column of the file)"),
        )
    })
}

/// Values of `user_<column>` for a place: its own, else nulls.
fn push_user<'a>(buf: &mut RowBuf<'a>, user: Option<&'a UserFields>, columns: usize) {
    match user {
        Some(u) => buf
            .values
            .extend(u.values.iter().map(|v| Value::from(v.as_deref()))),
        None => buf.values.extend(std::iter::repeat_n(Value::Null, columns)),
    }
}

/// The columns of `residences`: see README, "Layers and columns". `user_columns`:
/// [`home_user_columns`].
pub fn residences_schema(preset: &Preset, user_columns: &[String]) -> Schema {
    residences_fields(
        preset
            .categories
            .iter()
            .map(|c| (c.key.clone(), c.name.clone()))
            .collect(),
        levels(preset).iter().map(u8::to_string).collect(),
        user_columns,
    )
}

/// `residences` as README documents it: `<category>_m`, `<category>_ok` for each
/// category of the preset, `level<N>_ok` for each level it uses and `user_<column>`
/// for each other column of a `--residences` file.
pub fn residences_schema_doc() -> Schema {
    residences_fields(
        vec![("<category>".into(), "facility of the category".into())],
        vec!["<N>".into()],
        &["<column>".into()],
    )
}

fn residences_fields(
    cats: Vec<(String, String)>,
    levels: Vec<String>,
    user_columns: &[String],
) -> Schema {
    let mut f = vec![
        Field::new("id", Type::Int).doc("", "index of the residence in this run, from 0"),
        user_id_field("--residences"),
        Field::new("osm_id", Type::Text).doc(
            "",
            "its OSM object: `w123` (way), `n4` (node), `r5` (relation); null for a file's residence",
        ),
        Field::new("name", Type::Text).doc("", "its name (OSM `name`, or the file's)"),
        Field::new("population", Type::Float).doc("people", "estimated (or given) residents"),
        Field::new("population_source", Type::Text).doc(
            "",
            "`user` (given), `flats` (OSM `building:flats`), `floor_area` (footprint × levels) or `default`",
        ),
        Field::new("snap_m", Type::Float)
            .doc("m", "distance to the walking network; null when unsnapped"),
        Field::new("edge", Type::Int).doc("", "the network edge it joins (`id` in `network` and `edges.csv`)"),
        Field::new("edge_offset_m", Type::Float)
            .doc("m", "where along that edge, from its `u` end"),
    ];
    for (key, name) in &cats {
        f.push(Field::new(format!("{key}_m"), Type::Float).doc(
            "m",
            format!(
                "walking distance to the nearest {name}; null beyond the search (twice the largest threshold)"
            ),
        ));
        f.push(
            Field::new(format!("{key}_ok"), Type::Bool)
                .doc("", format!("whether a {name} is within its threshold")),
        );
    }
    f.push(Field::new("met", Type::Int).doc("categories", "categories within their threshold"));
    f.push(Field::new("required", Type::Int).doc("categories", "categories of the preset"));
    f.push(
        Field::new("missing", Type::TextList)
            .doc("", "keys of the categories not within their threshold"),
    );
    for l in &levels {
        f.push(Field::new(format!("level{l}_ok"), Type::Bool).doc(
            "",
            format!("every category of the {l}-minute circle is within its threshold"),
        ));
    }
    f.extend(user_fields("--residences", user_columns));
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
    /// How many user columns the schema has ([`home_user_columns`]).
    pub user_columns: usize,
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
        buf.values
            .push(Value::from(h.user.as_ref().and_then(|u| u.id.as_deref())));
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
        push_user(buf, h.user.as_deref(), self.user_columns);
    }
}

/// `residences` from a whole (not streamed) analysis.
///
/// # Errors
/// Writing failed.
pub fn write_residences(
    layers: &Layers,
    preset: &Preset,
    homes: &[Home],
    a: &Analysis,
    results: &HomeResults,
) -> Result<(), Error> {
    let user = home_user_columns(homes);
    let rows = ResidenceRows {
        preset,
        homes,
        chunk: results.rows(a),
        user_columns: user.len(),
    };
    layers.write(&residences_schema(preset, &user), &rows)
}

/// Levels (5, 10, 15) that the preset uses.
fn levels(preset: &Preset) -> Vec<u8> {
    [5u8, 10, 15]
        .into_iter()
        .filter(|l| preset.categories.iter().any(|c| c.level == Some(*l)))
        .collect()
}

/// `facilities` as README documents it: `user_<column>` for each other column of a
/// `--facilities` file.
pub fn facilities_schema_doc() -> Schema {
    facilities_schema(&["<column>".into()])
}

/// The columns of `facilities`. `user_columns`: [`facility_user_columns`].
pub fn facilities_schema(user_columns: &[String]) -> Schema {
    Schema {
        name: "facilities".into(),
        geometry: GeometryType::Point,
        fields: vec![
            Field::new("id", Type::Int).doc("", "index of the facility in this run, from 0"),
            user_id_field("--facilities"),
            Field::new("category", Type::Text).doc("", "its category (preset key)"),
            Field::new("name", Type::Text).doc("", "its name"),
            Field::new("osm_id", Type::Text).doc("", "its OSM object; null for a file's facility"),
            Field::new("origin", Type::Text).doc("", "`osm`, or `user` (from `--facilities`)"),
            Field::new("snap_m", Type::Float).doc(
                "m",
                "distance from the walking network: for an area reached through its outline, from the network's point closest to it (0 where a path crosses it), else at its access point with the smallest leg; null when unsnapped",
            ),
            Field::new("edge", Type::Int).doc(
                "",
                "the network edge of that point (`id` in `network` and `edges.csv`)",
            ),
            Field::new("edge_offset_m", Type::Float)
                .doc("m", "where along that edge, from its `u` end"),
            Field::new("access", Type::Text).doc(
                "",
                "how it is reached: `point`, `entrances`, `outline` (network crossing or within 10 m of it) or `sampled` (outline sampled every 25 m); null when unsnapped",
            ),
            Field::new("access_points", Type::Int)
                .doc("", "its access points, each a start of the searches for it"),
            Field::new("residents", Type::Int).doc(
                "residences",
                "residences within its category's threshold of it (catchment load)",
            ),
            Field::new("population", Type::Float).doc("people", "their population"),
        ]
        .into_iter()
        .chain(user_fields("--facilities", user_columns))
        .collect(),
    }
}

struct FacilityRows<'a> {
    preset: &'a Preset,
    facilities: &'a [Facility],
    a: &'a Analysis,
    user_columns: usize,
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
            Value::from(f.user.as_ref().and_then(|u| u.id.as_deref())),
            Value::Text(&self.preset.categories[f.category].key),
            Value::from(f.name.as_deref()),
        ]);
        buf.push_display(f.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
        buf.values.push(Value::Text(f.origin.as_str()));
        push_snap(buf, r.snap.as_ref());
        buf.values.extend([
            if r.access_points.is_empty() {
                Value::Null
            } else {
                Value::Text(r.access.name())
            },
            Value::Int(r.access_points.len() as i64),
            Value::Int(i64::from(r.residents)),
            Value::Float(r1(r.population)),
        ]);
        push_user(buf, f.user.as_deref(), self.user_columns);
    }
}

/// `facilities`: one Point per facility with its catchment load.
///
/// # Errors
/// Writing failed.
pub fn write_facilities(
    layers: &Layers,
    preset: &Preset,
    facilities: &[Facility],
    a: &Analysis,
) -> Result<(), Error> {
    let user = facility_user_columns(facilities);
    let rows = FacilityRows {
        preset,
        facilities,
        a,
        user_columns: user.len(),
    };
    layers.write(&facilities_schema(&user), &rows)
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
            Field::new("h3", Type::Text).doc("", "the H3 cell (resolution `--hex-res`)"),
            Field::new("category", Type::Text).doc("", "the category missing (preset key)"),
            Field::new("residents_missing", Type::Int).doc(
                "residences",
                "residences in the cell without it within the threshold",
            ),
            Field::new("population_missing", Type::Float).doc("people", "their population"),
            Field::new("nearest_m", Type::Float).doc(
                "m",
                "the shortest walk to one from those residences; null beyond the search",
            ),
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

/// `gaps`: one H3 hexagon per (cell, category) with residents missing it.
///
/// # Errors
/// Writing failed.
pub fn write_gaps(layers: &Layers, preset: &Preset, a: &Analysis) -> Result<(), Error> {
    let rows = GapRows {
        preset,
        a,
        names: a.gaps.iter().map(|g| g.cell.to_string()).collect(),
    };
    layers.write(&gaps_schema(), &rows)
}

/// The columns of `unsnapped`: residences and facilities beyond the snapping
/// distance (`unsnapped.csv` beside GeoJSON).
pub fn unsnapped_schema() -> Schema {
    Schema {
        name: "unsnapped".into(),
        geometry: GeometryType::Point,
        fields: vec![
            Field::new("kind", Type::Text).doc("", "`residence` or `facility`"),
            Field::new("id", Type::Int).doc("", "`id` in `residences` or `facilities`"),
            Field::new("user_id", Type::Text).doc("", "`user_id` in `residences` or `facilities`"),
            Field::new("osm_id", Type::Text).doc("", "its OSM object; null for a file's place"),
            Field::new("category", Type::Text)
                .doc("", "a facility's category; null for a residence"),
        ],
    }
}

struct UnsnappedRows<'a> {
    preset: &'a Preset,
    homes: &'a [Home],
    facilities: &'a [Facility],
    /// Unsnapped residences, then unsnapped facilities (as `homes.len() + i`).
    which: Vec<usize>,
}

impl Rows for UnsnappedRows<'_> {
    fn len(&self) -> usize {
        self.which.len()
    }

    fn row<'a>(&'a self, r: usize, buf: &mut RowBuf<'a>) {
        let i = self.which[r];
        if let Some(h) = self.homes.get(i) {
            buf.coords.push(h.lonlat);
            buf.values
                .extend([Value::Text("residence"), Value::Int(i as i64)]);
            buf.values
                .push(Value::from(h.user.as_ref().and_then(|u| u.id.as_deref())));
            buf.push_display(h.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
            buf.values.push(Value::Null);
        } else {
            let k = i - self.homes.len();
            let f = &self.facilities[k];
            buf.coords.push(f.lonlat);
            buf.values
                .extend([Value::Text("facility"), Value::Int(k as i64)]);
            buf.values
                .push(Value::from(f.user.as_ref().and_then(|u| u.id.as_deref())));
            buf.push_display(f.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
            buf.values
                .push(Value::Text(&self.preset.categories[f.category].key));
        }
    }
}

/// A CSV field: quoted (with quotes doubled) when it holds a comma, quote or line
/// break; empty for none.
fn csv_text(v: Option<&str>) -> std::borrow::Cow<'_, str> {
    match v {
        None => "".into(),
        Some(s) if s.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", s.replace('"', "\"\"")).into()
        }
        Some(s) => s.into(),
    }
}

/// `unsnapped` as a layer (Points).
///
/// # Errors
/// Writing failed.
pub fn write_unsnapped(
    layers: &Layers,
    formats: &[crate::Format],
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    a: &Analysis,
) -> Result<(), Error> {
    let which = (a.home_snaps.iter().map(Option::is_none))
        .chain(a.facilities.iter().map(|f| f.snap.is_none()))
        .enumerate()
        .filter_map(|(i, u)| u.then_some(i))
        .collect();
    let rows = UnsnappedRows {
        preset,
        homes,
        facilities,
        which,
    };
    let mut w = layers.writer_in(&unsnapped_schema(), formats)?;
    w.write(&rows)?;
    w.finish()
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
        writeln!(f, "kind,id,osm_id,category,lon,lat,user_id")?;
        for (i, (h, r)) in homes.iter().zip(&a.home_snaps).enumerate() {
            if r.is_none() {
                writeln!(
                    f,
                    "residence,{i},{},,{},{},{}",
                    h.osm_id.map(|o| o.to_string()).unwrap_or_default(),
                    crate::round7(h.lonlat[0]),
                    crate::round7(h.lonlat[1]),
                    csv_text(h.user.as_ref().and_then(|u| u.id.as_deref()))
                )?;
            }
        }
        for (i, (fa, r)) in facilities.iter().zip(&a.facilities).enumerate() {
            if r.snap.is_none() {
                writeln!(
                    f,
                    "facility,{i},{},{},{},{},{}",
                    fa.osm_id.map(|o| o.to_string()).unwrap_or_default(),
                    preset.categories[fa.category].key,
                    crate::round7(fa.lonlat[0]),
                    crate::round7(fa.lonlat[1]),
                    csv_text(fa.user.as_ref().and_then(|u| u.id.as_deref()))
                )?;
            }
        }
        Ok(())
    })
}

/// A layer in memory: its schema, and its rows as Arrow record batches in the
/// GeoParquet columns ([`crate::record_batches`]).
pub struct ArrowLayer {
    /// The layer's declared columns.
    pub schema: Schema,
    /// The Arrow schema of the batches.
    pub arrow: std::sync::Arc<arrow_schema::Schema>,
    /// The rows.
    pub batches: Vec<arrow_array::RecordBatch>,
}

impl ArrowLayer {
    /// A layer of `schema` with `rows`.
    pub fn of(schema: Schema, rows: &dyn Rows) -> Self {
        let (arrow, batches) = crate::record_batches(&schema, rows);
        ArrowLayer {
            schema,
            arrow,
            batches,
        }
    }

    /// A layer of `schema` with no rows yet: [`ArrowLayer::append`] adds them, and
    /// `&mut ArrowLayer` is a [`LayerWriter`](crate::schema::LayerWriter) that does.
    pub fn empty(schema: Schema) -> Self {
        Self::of(schema, &NoRows)
    }

    /// Appends `rows` (of this layer's schema) as more record batches.
    pub fn append(&mut self, rows: &dyn Rows) {
        let (_, batches) = crate::record_batches(&self.schema, rows);
        self.batches.extend(batches);
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches
            .iter()
            .map(arrow_array::RecordBatch::num_rows)
            .sum()
    }

    /// `residences` of the rows in `chunk` (all of them: `HomeResults::rows`).
    pub fn residences(preset: &Preset, homes: &[Home], chunk: HomeChunk<'_>) -> Self {
        let user = home_user_columns(homes);
        let rows = ResidenceRows {
            preset,
            homes,
            chunk,
            user_columns: user.len(),
        };
        Self::of(residences_schema(preset, &user), &rows)
    }

    /// `facilities`, with their catchment loads.
    pub fn facilities(preset: &Preset, facilities: &[Facility], a: &Analysis) -> Self {
        let user = facility_user_columns(facilities);
        let rows = FacilityRows {
            preset,
            facilities,
            a,
            user_columns: user.len(),
        };
        Self::of(facilities_schema(&user), &rows)
    }

    /// `gaps`.
    pub fn gaps(preset: &Preset, a: &Analysis) -> Self {
        let rows = GapRows {
            preset,
            a,
            names: a.gaps.iter().map(|g| g.cell.to_string()).collect(),
        };
        Self::of(gaps_schema(), &rows)
    }
}

/// No rows.
struct NoRows;

impl Rows for NoRows {
    fn len(&self) -> usize {
        0
    }

    fn row<'a>(&'a self, _: usize, _: &mut RowBuf<'a>) {}
}

/// Collects rows in memory, as a layer writer (the in-memory "format").
impl crate::schema::LayerWriter for &mut ArrowLayer {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        self.append(rows);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        Ok(())
    }
}
