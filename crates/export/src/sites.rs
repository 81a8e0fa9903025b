//! The siting layers: chosen sites and the residences they newly cover.

use std::path::Path;

use geojson::{JsonObject, Value};
use livingcircle_analysis::{Home, Preset, pct, r1};
use livingcircle_graph::WalkGraph;
use livingcircle_site::Plan;
use serde_json::json;

use crate::geo_json::pos;
use crate::{Error, FeatureSink};

/// `sites.geojson`: one Point per chosen site, in rank order. The point is the
/// place that was snapped (so `analyze --facilities sites.geojson` snaps it to the
/// same spot); `category` makes the file a valid facilities input.
///
/// # Errors
/// Writing failed.
pub fn write_sites(
    path: &Path,
    g: &WalkGraph,
    preset: &Preset,
    category: usize,
    plan: &Plan,
) -> Result<(), Error> {
    let mut sink = FeatureSink::create(path)?;
    let key = &preset.categories[category].key;
    for s in &plan.sites {
        let mut p = JsonObject::new();
        p.insert("rank".into(), json!(s.rank));
        p.insert("category".into(), json!(key));
        // The file's name, else null: readers label it by rank in their language.
        p.insert("name".into(), json!(s.name));
        p.insert("candidate_id".into(), json!(s.id));
        p.insert("node".into(), json!(s.node));
        p.insert("gain_residents".into(), json!(s.gain_residences));
        p.insert("gain_population".into(), json!(r1(s.gain_population)));
        p.insert(
            "covered_after_pct".into(),
            json!(pct(s.covered_population_after, plan.population)),
        );
        p.insert(
            "covered_residences_after_pct".into(),
            json!(pct(
                f64::from(s.covered_residences_after),
                f64::from(plan.residences)
            )),
        );
        let snapped = g.projection().unproject(s.snap.xy);
        p.insert("snap_lon".into(), json!(crate::round7(snapped[0])));
        p.insert("snap_lat".into(), json!(crate::round7(snapped[1])));
        p.insert("snap_m".into(), json!(r1(s.snap.dist_m)));
        p.insert("edge".into(), json!(s.snap.edge));
        sink.push(Value::Point(pos(s.lonlat)), p)?;
    }
    sink.finish()
}

/// `site_coverage.geojson`: one Point per newly covered residence, with the rank of
/// the site that covers it and the walking distance to it.
///
/// # Errors
/// Writing failed.
pub fn write_site_coverage(path: &Path, homes: &[Home], plan: &Plan) -> Result<(), Error> {
    let mut sink = FeatureSink::create(path)?;
    for s in &plan.sites {
        for &(i, mm) in &s.homes {
            let h = &homes[i];
            let mut p = JsonObject::new();
            p.insert("id".into(), json!(i));
            p.insert("osm_id".into(), json!(h.osm_id.map(|o| o.to_string())));
            p.insert("name".into(), json!(h.name));
            p.insert("population".into(), json!(h.population));
            p.insert("rank".into(), json!(s.rank));
            p.insert("distance_m".into(), json!(livingcircle_analysis::m1(mm)));
            sink.push(Value::Point(pos(h.lonlat)), p)?;
        }
    }
    sink.finish()
}
