//! Layers as typed columns: every layer declares its columns once ([`Schema`]), and
//! every format writes the same columns with the same types ([`LayerWriter`]).

/// A column's type, the same in every format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A 64-bit integer.
    Int,
    /// A 64-bit float (distances in metres, people, areas); `null` when missing, never
    /// a string.
    Float,
    /// A boolean.
    Bool,
    /// UTF-8 text.
    Text,
    /// A list of texts (e.g. the categories a residence misses).
    TextList,
}

impl Type {
    /// The name README and the formats use.
    pub fn name(self) -> &'static str {
        match self {
            Type::Int => "integer",
            Type::Float => "float",
            Type::Bool => "boolean",
            Type::Text => "text",
            Type::TextList => "list of text",
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its unit (`m`, `people`, `%`), or empty.
    pub unit: &'static str,
    /// What it holds, for README's tables.
    pub doc: String,
}

impl Field {
    /// A column.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Field {
            name: name.into(),
            ty,
            unit: "",
            doc: String::new(),
        }
    }

    /// The column with its unit and meaning.
    pub fn doc(mut self, unit: &'static str, doc: impl Into<String>) -> Self {
        self.unit = unit;
        self.doc = doc.into();
        self
    }
}

/// The geometry of every feature of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryType {
    /// `[lon, lat]`.
    Point,
    /// A polyline.
    LineString,
    /// One exterior ring and its holes.
    Polygon,
    /// Several polygons.
    MultiPolygon,
    /// Per row: a Point (one coordinate, no rings) or else a MultiPolygon. For
    /// layers whose features may be either (e.g. sites chosen from a file of points
    /// and areas); GeoPackage calls it `GEOMETRY`, FlatGeobuf `Unknown`.
    Mixed,
}

impl GeometryType {
    /// The type of the row in `buf`: this one, or for [`GeometryType::Mixed`] the
    /// row's own.
    pub fn of_row(self, buf: &RowBuf<'_>) -> GeometryType {
        match self {
            GeometryType::Mixed if buf.rings.is_empty() => GeometryType::Point,
            GeometryType::Mixed => GeometryType::MultiPolygon,
            t => t,
        }
    }
}

/// A layer's name, geometry and columns, declared once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Layer (and default file) name, e.g. `residences`.
    pub name: String,
    /// The geometry of its features.
    pub geometry: GeometryType,
    /// Its columns, in order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// The layer's columns as a Markdown table (README's "Layers and columns"):
    /// column, type, unit, meaning.
    pub fn markdown(&self) -> String {
        let mut s = String::from("| column | type | unit | meaning |\n| --- | --- | --- | --- |\n");
        for f in &self.fields {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                f.name,
                f.ty.name(),
                f.unit,
                f.doc
            ));
        }
        s
    }
}

/// One value of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Missing.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A text.
    Text(&'a str),
    /// A text formatted for this row: `RowBuf::text[start..start + len]`.
    Formatted {
        /// First byte.
        start: u32,
        /// Length in bytes.
        len: u32,
    },
    /// A list of texts: `RowBuf::strs[start..start + len]`.
    TextList {
        /// First text.
        start: u32,
        /// Number of texts.
        len: u32,
    },
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::Null, Value::Text)
    }
}

impl From<Option<f64>> for Value<'_> {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::Null, Value::Float)
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

/// One row being filled: its values in schema order and its geometry, in buffers
/// reused from row to row.
#[derive(Debug, Default)]
pub struct RowBuf<'a> {
    /// Values, one per field.
    pub values: Vec<Value<'a>>,
    /// Texts of [`Value::TextList`]s.
    pub strs: Vec<&'a str>,
    /// Texts of [`Value::Formatted`]s.
    pub text: String,
    /// Coordinates `[lon, lat]`: the point, the line, or the rings one after another.
    pub coords: Vec<[f64; 2]>,
    /// For polygons: the end of each ring in `coords`.
    pub rings: Vec<u32>,
    /// For multipolygons: the end of each polygon in `rings`.
    pub polygons: Vec<u32>,
}

impl<'a> RowBuf<'a> {
    /// Empties the buffers for the next row.
    pub fn clear(&mut self) {
        self.values.clear();
        self.strs.clear();
        self.text.clear();
        self.coords.clear();
        self.rings.clear();
        self.polygons.clear();
    }

    /// Appends a list of texts as the next value.
    pub fn push_list(&mut self, items: impl IntoIterator<Item = &'a str>) {
        let start = self.strs.len() as u32;
        self.strs.extend(items);
        self.values.push(Value::TextList {
            start,
            len: self.strs.len() as u32 - start,
        });
    }

    /// Appends a value's text (`Display`) as the next value, or `null`.
    pub fn push_display(&mut self, value: Option<&dyn std::fmt::Display>) {
        use std::fmt::Write;
        let Some(v) = value else {
            self.values.push(Value::Null);
            return;
        };
        let start = self.text.len() as u32;
        write!(self.text, "{v}").expect("formatting into a String cannot fail");
        self.values.push(Value::Formatted {
            start,
            len: self.text.len() as u32 - start,
        });
    }

    /// The text of a [`Value::Formatted`].
    pub fn formatted(&self, start: u32, len: u32) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }

    /// Ends the current ring (polygons).
    pub fn end_ring(&mut self) {
        self.rings.push(self.coords.len() as u32);
    }

    /// Ends the current polygon (multipolygons).
    pub fn end_polygon(&mut self) {
        self.polygons.push(self.rings.len() as u32);
    }

    /// The texts of a [`Value::TextList`].
    pub fn list(&self, start: u32, len: u32) -> &[&'a str] {
        &self.strs[start as usize..(start + len) as usize]
    }
}

/// Rows of a layer that a writer can read in any order (and in parallel).
pub trait Rows: Sync {
    /// Number of rows.
    fn len(&self) -> usize;

    /// Whether there is no row.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` (already cleared) with row `i`: its values in schema order and its
    /// geometry.
    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>);
}

/// A layer being written, batch by batch; the file appears only when
/// [`LayerWriter::finish`] succeeds.
pub trait LayerWriter: Send {
    /// Appends rows.
    ///
    /// # Errors
    /// Writing failed.
    fn write(&mut self, rows: &dyn Rows) -> Result<(), crate::Error>;

    /// Completes the file and moves it into place.
    ///
    /// # Errors
    /// Writing or renaming failed.
    fn finish(self: Box<Self>) -> Result<(), crate::Error>;
}
