//! The graph exchange format: `nodes.csv`, `edges.csv`, `network.geojson`.

use livingcircle_graph::WalkGraph;
use std::io::Write;
use std::path::Path;

use crate::schema::{Field, GeometryType, RowBuf, Rows, Schema, Type, Value};
use crate::{Error, round7, write_atomic};

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
            Field::new("id", Type::Int),
            Field::new("u", Type::Int),
            Field::new("v", Type::Int),
            Field::new("length_m", Type::Float),
            Field::new("highway", Type::Text),
            Field::new("name", Type::Text),
            Field::new("osm_way", Type::Int),
            Field::new("oneway", Type::Bool),
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

/// Writes one LineString per edge with `id`, `u`, `v`, `length_m`, `highway`,
/// `name`, `osm_way`, `oneway`.
///
/// # Errors
/// Writing failed.
pub fn write_network_geojson(g: &WalkGraph, path: &Path) -> Result<(), Error> {
    crate::write_layer(path, &network_schema(), &EdgeRows(g))
}
