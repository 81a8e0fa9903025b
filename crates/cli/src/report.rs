//! `report.html` for `analyze`: gathers what the page shows and writes it atomically.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use geojson::{GeoJson, Value};
use livingcircle_analysis::Preset;
use livingcircle_report::ProposedSite;

/// Reads `sites.geojson` as written by `livingcircle site`.
pub(crate) fn read_sites(path: &Path, preset: &Preset) -> anyhow::Result<Vec<ProposedSite>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let gj: GeoJson = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: not valid GeoJSON: {e}", path.display()))?;
    let GeoJson::FeatureCollection(fc) = gj else {
        anyhow::bail!("{}: expected a FeatureCollection of sites", path.display());
    };
    let mut out = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.iter().enumerate() {
        let bad = |what: &str| anyhow::anyhow!("{}, feature {}: {what}", path.display(), i + 1);
        let Some(Value::Point(p)) = f.geometry.as_ref().map(|g| &g.value) else {
            return Err(bad("not a Point"));
        };
        if p.len() < 2 || !(-180.0..=180.0).contains(&p[0]) || !(-90.0..=90.0).contains(&p[1]) {
            return Err(bad("coordinates outside lon/lat range"));
        }
        let prop = |k: &str| f.properties.as_ref().and_then(|m| m.get(k));
        let category = prop("category").and_then(|v| v.as_str()).ok_or_else(|| {
            bad("no `category` (is this a sites.geojson from `livingcircle site`?)")
        })?;
        preset
            .category_index(category)
            .map_err(|m| bad(&format!("{m} (was the file made with another --preset?)")))?;
        out.push(ProposedSite {
            lonlat: [p[0], p[1]],
            category: category.to_owned(),
            rank: prop("rank")
                .and_then(serde_json::Value::as_u64)
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(i as u32 + 1),
            name: prop("name").and_then(|v| v.as_str()).map(str::to_owned),
            gain_residents: prop("gain_residents")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            gain_population: prop("gain_population")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0),
            covered_after_pct: prop("covered_after_pct").and_then(serde_json::Value::as_f64),
        });
    }
    Ok(out)
}

/// Writes the page atomically.
pub(crate) fn write(path: &Path, report: &livingcircle_report::Report<'_>) -> anyhow::Result<()> {
    let html = report.html();
    livingcircle_export::write_atomic(path, |f| f.write_all(html.as_bytes()))?;
    Ok(())
}

/// The command line as typed (for the report's footer).
pub(crate) fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
