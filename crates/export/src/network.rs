//! The graph exchange format: `nodes.csv`, `edges.csv`, `network.geojson`.

use livingcircle_graph::WalkGraph;
use std::io::Write;
use std::path::Path;

use crate::schema::{Field, GeometryType, RowBuf, Rows, Schema, Type, Value};
use crate::{Error, Format, Layers, round7, write_atomic};

/// Writes `id,lon,lat` for every node.
///
/// # Errors
/// Writing failed.
pub fn write_nodes_csv(g: &WalkGraph, path: &Path) -> Result<(), Error> {
    write_atomic(path, |f| {
        writeln!(f, "id,lon,lat")?;
        for n in 0..g.node_count() as u32 {
            let [lon, lat] = g.node_lonlat(n);
            writeln!(f, "{n},{},{}", round7(lon), round7(lat))?;
        }
        Ok(())
    })
}

/// Writes `id,u,v,length_m` for every edge (`length_m` with 3 decimals, exact).
/// A one-way edge (`oneway:foot`) is walkable from `u` to `v` only; the column
/// `oneway` says which.
///
/// # Errors
/// Writing failed.
pub fn write_edges_csv(g: &WalkGraph, path: &Path) -> Result<(), Error> {
    write_atomic(path, |f| {
        writeln!(f, "id,u,v,length_m,oneway")?;
        for (i, e) in g.edges().iter().enumerate() {
            writeln!(
                f,
                "{i},{},{},{}.{:03},{}",
                e.u,
                e.v,
                e.length_mm / 1000,
                e.length_mm % 1000,
                u8::from(e.oneway)
            )?;
        }
        Ok(())
    })
}

/// The columns of `network`.
pub fn network_schema() -> Schema {
    Schema {
        name: "network".into(),
        geometry: GeometryType::LineString,
        fields: vec![
            Field::new("id", Type::Int).doc("", "edge index, from 0 (as in `edges.csv`)"),
            Field::new("u", Type::Int).doc("", "start node (`id` of `nodes`)"),
            Field::new("v", Type::Int).doc("", "end node"),
            Field::new("length_m", Type::Float)
                .doc("m", "length along the way (3 decimals, exact)"),
            Field::new("highway", Type::Text).doc("", "the way's `highway` tag"),
            Field::new("name", Type::Text).doc("", "the way's name"),
            Field::new("osm_way", Type::Int).doc("", "the OSM way id"),
            Field::new("oneway", Type::Bool)
                .doc("", "walkable from `u` to `v` only (`oneway:foot`)"),
        ],
    }
}

struct EdgeRows<'a>(&'a WalkGraph);

impl Rows for EdgeRows<'_> {
    fn len(&self) -> usize {
        self.0.edge_count()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let g = self.0;
        let e = g.edge(i as u32);
        buf.coords.extend_from_slice(g.edge_lonlat(i as u32));
        buf.values.extend([
            Value::Int(i as i64),
            Value::Int(i64::from(e.u)),
            Value::Int(i64::from(e.v)),
            Value::Float(f64::from(e.length_mm) / 1000.0),
            Value::Text(g.edge_highway(i as u32)),
            Value::from(g.edge_name(i as u32)),
            Value::Int(e.way_id),
            Value::Bool(e.oneway),
        ]);
    }
}

/// Writes `network`: one LineString per edge, in those of `formats` that `layers`
/// writes.
///
/// # Errors
/// Writing failed.
pub fn write_network(g: &WalkGraph, layers: &Layers, formats: &[Format]) -> Result<(), Error> {
    let mut w = layers.writer_in(&network_schema(), formats)?;
    w.write(&EdgeRows(g))?;
    w.finish()
}

/// The columns of `nodes`: one Point per graph node (`nodes.csv` beside GeoJSON).
pub fn nodes_schema() -> Schema {
    Schema {
        name: "nodes".into(),
        geometry: GeometryType::Point,
        fields: vec![Field::new("id", Type::Int).doc("", "node index, from 0 (as in `nodes.csv`)")],
    }
}

struct NodeRows<'a>(&'a WalkGraph);

impl Rows for NodeRows<'_> {
    fn len(&self) -> usize {
        self.0.node_count()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        buf.coords.push(self.0.node_lonlat(i as u32));
        buf.values.push(Value::Int(i as i64));
    }
}

/// Writes `nodes` in those of `formats` that `layers` writes.
///
/// # Errors
/// Writing failed.
pub fn write_nodes(g: &WalkGraph, layers: &Layers, formats: &[Format]) -> Result<(), Error> {
    let mut w = layers.writer_in(&nodes_schema(), formats)?;
    w.write(&NodeRows(g))?;
    w.finish()
}

impl crate::ArrowLayer {
    /// `nodes`: every graph node (its index and point).
    pub fn nodes(g: &WalkGraph) -> Self {
        Self::of(nodes_schema(), &NodeRows(g))
    }

    /// `network`: every graph edge (ends, length, tags, line).
    pub fn network(g: &WalkGraph) -> Self {
        Self::of(network_schema(), &EdgeRows(g))
    }
}
