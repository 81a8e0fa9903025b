//! `report.html` for `analyze`: gathers what the page shows, hands the residences to
//! the report builder chunk by chunk as the analysis answers them, and writes the page
//! atomically.

use std::path::Path;

use anyhow::Context;
use geojson::{GeoJson, Value};
use livingcircle_analysis::{Analysis, Facility, Home, HomeChunk, Preset};
use livingcircle_graph::WalkGraph;
use livingcircle_report::{
    Finish, Lang, NONE, PlaceSnap, ProposedSite, ReportBuilder, ReportSetup, ResidenceChunk,
};
use livingcircle_snap::Snap;

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
        // A point site is its marker; an area site (a polygon candidate) is marked
        // at a point inside it.
        let p: Vec<f64> = match f.geometry.as_ref().map(|g| &g.value) {
            Some(Value::Point(p)) => p.clone(),
            Some(g @ (Value::Polygon(_) | Value::MultiPolygon(_))) => {
                let g = geo::Geometry::<f64>::try_from(g.clone())
                    .map_err(|e| bad(&format!("bad polygon: {e}")))?;
                let c =
                    geo::InteriorPoint::interior_point(&g).ok_or_else(|| bad("empty polygon"))?;
                vec![c.x(), c.y()]
            }
            _ => return Err(bad("not a Point, Polygon or MultiPolygon")),
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

/// What `analyze` hands to the report before the residences stream by.
pub(crate) struct Page<'a> {
    pub(crate) lang: Lang,
    pub(crate) city: String,
    pub(crate) graph: &'a WalkGraph,
    pub(crate) preset: &'a Preset,
    pub(crate) residences: usize,
    pub(crate) facilities: &'a [Facility],
    pub(crate) hex_res: livingcircle_analysis::Resolution,
    pub(crate) buffer_m: f64,
    pub(crate) sites: Vec<ProposedSite>,
}

fn place_snap(s: &Snap) -> PlaceSnap {
    PlaceSnap {
        edge: s.edge,
        offset_mm: s.offset_mm,
        leg_mm: s.leg_mm(),
    }
}

/// A report builder that will take the analysis' chunks.
pub(crate) fn start(p: Page<'_>) -> ReportBuilder<'_> {
    ReportBuilder::new(ReportSetup {
        lang: p.lang,
        city: p.city,
        graph: p.graph,
        preset: p.preset,
        facilities: p.facilities,
        residences: p.residences,
        hex_res: p.hex_res,
        buffer_m: p.buffer_m,
        sites: p.sites,
        command: command_line(),
    })
}

/// Hands one chunk of the streamed analysis to the report.
pub(crate) fn add(builder: &mut ReportBuilder<'_>, homes: &[Home], chunk: &HomeChunk<'_>) {
    let homes = &homes[chunk.first..chunk.first + chunk.len()];
    let ncat = builder.categories();
    let lonlat: Vec<[f64; 2]> = homes.iter().map(|h| h.lonlat).collect();
    let population: Vec<f64> = homes.iter().map(|h| h.population).collect();
    let name: Vec<Option<&str>> = homes.iter().map(|h| h.name.as_deref()).collect();
    let snap: Vec<Option<PlaceSnap>> = (0..chunk.len())
        .map(|r| chunk.snap(r).map(place_snap))
        .collect();
    let nearest_mm: Vec<u32> = (0..chunk.len())
        .flat_map(|r| (0..ncat).map(move |c| chunk.nearest_mm(r, c).unwrap_or(NONE)))
        .collect();
    let ok: Vec<bool> = (0..chunk.len())
        .flat_map(|r| (0..ncat).map(move |c| chunk.ok(r, c)))
        .collect();
    builder.add_residences(&ResidenceChunk {
        lonlat: &lonlat,
        population: &population,
        name: &name,
        snap: &snap,
        nearest_mm: &nearest_mm,
        ok: &ok,
    });
}

/// Writes the page atomically once the analysis is done.
pub(crate) fn finish(
    path: &Path,
    builder: ReportBuilder<'_>,
    an: &Analysis,
    summary: &serde_json::Value,
) -> anyhow::Result<()> {
    let facility_access: Vec<Vec<PlaceSnap>> = an
        .facilities
        .iter()
        .map(|f| f.access_points.iter().map(place_snap).collect())
        .collect();
    let end = Finish {
        facility_access: &facility_access,
        budget_mm: an.budget_mm,
        summary,
    };
    livingcircle_export::write_atomic(path, |f| builder.finish(&end, f).map(|_| ()))?;
    Ok(())
}

/// The command line as typed (for the report's footer).
pub(crate) fn command_line() -> String {
    std::env::args()
        .map(|a| shell_word(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `a` quoted for a POSIX shell when it needs it.
fn shell_word(a: &str) -> String {
    if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        format!("'{}'", a.replace('\'', "'\\''"))
    } else {
        a.to_owned()
    }
}

/// The `analyze` command that maps `site`'s result: the same city, preset, speed,
/// places and snapping, with `--sites DIR/sites.geojson`, writing its layers and
/// `report.html` beside the sites. `site` prints it rather than analysing the whole
/// city a second time itself.
pub(crate) fn analyze_command(a: &crate::args::SiteArgs) -> String {
    use clap::ValueEnum;
    let path = |p: &Path| shell_word(&p.display().to_string());
    let mut w: Vec<String> = vec!["livingcircle".into(), "analyze".into()];
    if let Some(osm) = &a.osm.osm {
        w.extend(["--osm".into(), path(osm)]);
    }
    if a.osm.keep_all_components {
        w.push("--keep-all-components".into());
    }
    if a.osm.drop_sidewalk_separate {
        w.push("--drop-sidewalk-separate".into());
    }
    w.extend(["--preset".into(), shell_word(&a.preset)]);
    if let Some(p) = a.speed.profile.and_then(|p| p.to_possible_value()) {
        w.extend(["--profile".into(), p.get_name().to_owned()]);
    }
    if let Some(v) = a.speed.speed_kmh {
        w.extend(["--speed-kmh".into(), v.to_string()]);
    }
    if let Some(f) = &a.places.residences {
        w.extend(["--residences".into(), path(f)]);
    }
    if let Some(f) = &a.places.facilities {
        w.extend(["--facilities".into(), path(f)]);
    }
    if a.places.replace_osm_facilities {
        w.push("--replace-osm-facilities".into());
    }
    if a.max_snap_m != 200.0 {
        w.extend(["--max-snap-m".into(), a.max_snap_m.to_string()]);
    }
    w.extend([
        "--sites".into(),
        path(&a.out.join("sites.geojson")),
        "--out".into(),
        path(&a.out),
    ]);
    w.join(" ")
}
