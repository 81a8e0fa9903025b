//! The graph exchange format: `nodes.csv`, `edges.csv`, `network.geojson`.

use geojson::{JsonObject, Value};
use livingcircle_graph::WalkGraph;
use serde_json::json;
use std::io::Write;
use std::path::Path;

use crate::geo_json::pos;
use crate::{Error, FeatureSink, round7, write_atomic};

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

/// Writes one LineString per edge with `id`, `u`, `v`, `length_m`, `highway`,
/// `name`, `osm_way`, `oneway`.
///
/// # Errors
/// Writing failed.
pub fn write_network_geojson(g: &WalkGraph, path: &Path) -> Result<(), Error> {
    let mut sink = FeatureSink::create(path)?;
    for (i, e) in g.edges().iter().enumerate() {
        let coords = g.edge_lonlat(i as u32).iter().map(|&p| pos(p)).collect();
        let mut props = JsonObject::new();
        props.insert("id".into(), json!(i));
        props.insert("u".into(), json!(e.u));
        props.insert("v".into(), json!(e.v));
        props.insert("length_m".into(), json!(f64::from(e.length_mm) / 1000.0));
        props.insert("highway".into(), json!(g.edge_highway(i as u32)));
        props.insert("name".into(), json!(g.edge_name(i as u32)));
        props.insert("osm_way".into(), json!(e.way_id));
        props.insert("oneway".into(), json!(e.oneway));
        sink.push(Value::LineString(coords), props)?;
    }
    sink.finish()
}
