//! The analysis layers: residences, facilities, gap cells, unsnapped places.

use geojson::{JsonObject, Value};
use livingcircle_analysis::{Analysis, Facility, Home, Preset, level_ok, m1, r1};
use serde_json::{Value as J, json};
use std::io::Write;
use std::path::Path;

use crate::geo_json::pos;
use crate::{Error, FeatureSink, write_atomic};

fn snap_props(p: &mut JsonObject, snap: Option<&livingcircle_analysis::Snap>) {
    match snap {
        Some(s) => {
            p.insert("snap_m".into(), json!(r1(s.dist_m)));
            p.insert("edge".into(), json!(s.edge));
            p.insert("edge_offset_m".into(), json!(m1(s.offset_mm)));
        }
        None => {
            p.insert("snap_m".into(), J::Null);
            p.insert("edge".into(), J::Null);
            p.insert("edge_offset_m".into(), J::Null);
        }
    }
}

/// Levels (5, 10, 15) that the preset uses.
fn levels(preset: &Preset) -> Vec<u8> {
    [5u8, 10, 15]
        .into_iter()
        .filter(|l| preset.categories.iter().any(|c| c.level == Some(*l)))
        .collect()
}

/// `residences.geojson`: one Point per residence with its coverage.
///
/// # Errors
/// Writing failed.
pub fn write_residences(
    path: &Path,
    preset: &Preset,
    homes: &[Home],
    a: &Analysis,
) -> Result<(), Error> {
    let mut sink = FeatureSink::create(path)?;
    let lv = levels(preset);
    for (i, (h, r)) in homes.iter().zip(&a.homes).enumerate() {
        let mut p = JsonObject::new();
        p.insert("id".into(), json!(i));
        p.insert("osm_id".into(), json!(h.osm_id));
        p.insert("name".into(), json!(h.name));
        p.insert("population".into(), json!(h.population));
        p.insert(
            "population_source".into(),
            json!(h.population_source.as_str()),
        );
        snap_props(&mut p, r.snap.as_ref());
        let mut missing = Vec::new();
        for (c, cat) in preset.categories.iter().enumerate() {
            let ok = r.ok(c, a.thresholds_mm[c]);
            p.insert(format!("{}_m", cat.key), json!(r.nearest_mm[c].map(m1)));
            p.insert(format!("{}_ok", cat.key), json!(ok));
            if !ok {
                missing.push(cat.key.clone());
            }
        }
        p.insert("met".into(), json!(preset.categories.len() - missing.len()));
        p.insert("required".into(), json!(preset.categories.len()));
        p.insert("missing".into(), json!(missing));
        for &l in &lv {
            p.insert(
                format!("level{l}_ok"),
                json!(level_ok(preset, r, &a.thresholds_mm, l)),
            );
        }
        sink.push(Value::Point(pos(h.lonlat)), p)?;
    }
    sink.finish()
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
    let mut sink = FeatureSink::create(path)?;
    for (i, (f, r)) in facilities.iter().zip(&a.facilities).enumerate() {
        let mut p = JsonObject::new();
        p.insert("id".into(), json!(i));
        p.insert("category".into(), json!(preset.categories[f.category].key));
        p.insert("name".into(), json!(f.name));
        p.insert("osm_id".into(), json!(f.osm_id));
        p.insert("origin".into(), json!(f.origin.as_str()));
        snap_props(&mut p, r.snap.as_ref());
        p.insert("residents".into(), json!(r.residents));
        p.insert("population".into(), json!(r1(r.population)));
        sink.push(Value::Point(pos(f.lonlat)), p)?;
    }
    sink.finish()
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

/// `gaps.geojson`: one H3 hexagon per (cell, category) with residents missing it.
///
/// # Errors
/// Writing failed.
pub fn write_gaps(path: &Path, preset: &Preset, a: &Analysis) -> Result<(), Error> {
    let mut sink = FeatureSink::create(path)?;
    for g in &a.gaps {
        let mut ring: Vec<[f64; 2]> = g
            .cell
            .boundary()
            .iter()
            .map(|ll| [ll.lng(), ll.lat()])
            .collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        let ring = ccw_ring(ring);
        let mut p = JsonObject::new();
        p.insert("h3".into(), json!(g.cell.to_string()));
        p.insert("category".into(), json!(preset.categories[g.category].key));
        p.insert("residents_missing".into(), json!(g.residents_missing));
        p.insert("population_missing".into(), json!(r1(g.population_missing)));
        p.insert("nearest_m".into(), json!(g.nearest_mm.map(m1)));
        sink.push(Value::Polygon(vec![ring.into_iter().map(pos).collect()]), p)?;
    }
    sink.finish()
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
        for (i, (h, r)) in homes.iter().zip(&a.homes).enumerate() {
            if r.snap.is_none() {
                writeln!(
                    f,
                    "residence,{i},{},,{},{}",
                    h.osm_id.as_deref().unwrap_or(""),
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
                    fa.osm_id.as_deref().unwrap_or(""),
                    preset.categories[fa.category].key,
                    crate::round7(fa.lonlat[0]),
                    crate::round7(fa.lonlat[1])
                )?;
            }
        }
        Ok(())
    })
}
