//! Coverage of residences by facility categories, catchments, and gap cells.

use std::collections::BTreeMap;

use h3o::{CellIndex, LatLng, Resolution};
use livingcircle_graph::WalkGraph;
use livingcircle_reach::{
    Ch, PerResidence, Scratch, SearchStats, Spot, Targets, multi_source,
    nearest_from_node_distances, per_residence,
};
use livingcircle_snap::{Snap, Snapper};
use rayon::prelude::*;

use crate::Preset;
use crate::population::PopulationSource;

/// Where a place comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// OpenStreetMap.
    Osm,
    /// A user file.
    User,
}

impl Origin {
    /// `osm` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Osm => "osm",
            Origin::User => "user",
        }
    }
}

/// A residence to analyse.
#[derive(Debug, Clone, PartialEq)]
pub struct Home {
    /// OSM reference (`w123`), when from OSM.
    pub osm_id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// `[lon, lat]`.
    pub lonlat: [f64; 2],
    /// Residents.
    pub population: f64,
    /// How `population` was obtained.
    pub population_source: PopulationSource,
    /// OSM or user file.
    pub origin: Origin,
}

/// A facility of one category (an object in several categories appears once per category).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Index into the preset's categories.
    pub category: usize,
    /// Name.
    pub name: Option<String>,
    /// OSM reference, when from OSM.
    pub osm_id: Option<String>,
    /// OSM or user file.
    pub origin: Origin,
    /// `[lon, lat]` (a point, or the centroid of an area).
    pub lonlat: [f64; 2],
    /// Outline rings `[lon, lat]` of an area facility; empty for points. Areas snap
    /// at the outline vertex nearest to the network.
    pub outline: Vec<Vec<[f64; 2]>>,
}

/// Settings of an analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzeOptions {
    /// Walking speed in km/h (turns minute thresholds into metres).
    pub speed_kmh: f64,
    /// Places farther than this from every walkable edge are unsnapped.
    pub max_snap_m: f64,
    /// H3 resolution of the gap cells.
    pub hex_res: u8,
    /// Distances are searched up to this multiple of the largest threshold.
    pub report_factor: f64,
    /// Search budget in metres, overriding `report_factor` (the bench and `site`
    /// use it).
    pub budget_m: Option<f64>,
    /// How the per-residence tables are computed; every engine gives the same exact
    /// distances.
    pub engine: Engine,
}

/// The per-residence engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A contraction hierarchy when the searches it replaces would cost more than
    /// building it (estimated from 16 sample searches), else Dijkstra.
    Auto,
    /// Build a contraction hierarchy and use bucket many-to-many upward searches.
    Hierarchy,
    /// One bounded Dijkstra per source node.
    Dijkstra,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            speed_kmh: 4.0,
            max_snap_m: 200.0,
            hex_res: 9,
            report_factor: 2.0,
            budget_m: None,
            engine: Engine::Auto,
        }
    }
}

/// Result for one residence.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeResult {
    /// Where it joins the network; `None` when unsnapped.
    pub snap: Option<Snap>,
    /// Per category: walking distance to the nearest facility in millimetres, when
    /// within the search budget.
    pub nearest_mm: Vec<Option<u32>>,
    /// Per category: distinct facilities within the category's threshold.
    pub within: Vec<u32>,
}

impl HomeResult {
    /// Whether category `c` is met (a facility within `threshold_mm`).
    pub fn ok(&self, c: usize, threshold_mm: u32) -> bool {
        self.nearest_mm[c].is_some_and(|d| d <= threshold_mm)
    }
}

/// Result for one facility.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityResult {
    /// Where it joins the network; `None` when unsnapped.
    pub snap: Option<Snap>,
    /// Residences within its category's threshold.
    pub residents: u32,
    /// Their population.
    pub population: f64,
}

/// Coverage of one category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategorySummary {
    /// Category index.
    pub category: usize,
    /// Threshold in metres.
    pub threshold_m: f64,
    /// Facilities found / snapped.
    pub facilities: u32,
    /// Facilities that snapped to the network.
    pub facilities_snapped: u32,
    /// Residences (snapped) with a facility within the threshold.
    pub residences_covered: u32,
    /// Their population.
    pub population_covered: f64,
    /// Median walking distance to the nearest facility (m); `None` when beyond the search.
    pub median_m: Option<f64>,
    /// 90th percentile (m); `None` when beyond the search.
    pub p90_m: Option<f64>,
}

/// Coverage of one living-circle level (every category of that level and below).
#[derive(Debug, Clone, PartialEq)]
pub struct LevelSummary {
    /// 5, 10 or 15.
    pub level: u8,
    /// Categories it requires.
    pub categories: u32,
    /// Residences meeting all of them.
    pub residences_ok: u32,
    /// Their population.
    pub population_ok: f64,
}

/// Residents missing a category in one H3 cell.
#[derive(Debug, Clone, PartialEq)]
pub struct GapCell {
    /// The cell.
    pub cell: CellIndex,
    /// Category index.
    pub category: usize,
    /// Residences in the cell missing the category.
    pub residents_missing: u32,
    /// Their population.
    pub population_missing: f64,
    /// The shortest distance among them, when within the search budget.
    pub nearest_mm: Option<u32>,
}

/// Everything [`analyze`] computes.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Per category threshold in millimetres.
    pub thresholds_mm: Vec<u32>,
    /// Search budget in millimetres.
    pub budget_mm: u32,
    /// Per residence, in input order.
    pub homes: Vec<HomeResult>,
    /// Per facility, in input order.
    pub facilities: Vec<FacilityResult>,
    /// Per category.
    pub categories: Vec<CategorySummary>,
    /// Per level present in the preset.
    pub levels: Vec<LevelSummary>,
    /// Gap cells, sorted by cell then category.
    pub gaps: Vec<GapCell>,
    /// Residences that snapped.
    pub homes_snapped: u32,
    /// Residence × category pairs where the per-residence and the multi-source
    /// nearest distances differ (always 0 unless the engine is broken).
    pub cross_check_mismatches: u64,
    /// The engine used for the per-residence tables (never `Auto`).
    pub engine: Engine,
    /// Per-residence engine work.
    pub per_residence: PerResidence,
    /// Multi-source engine work.
    pub multi_source: SearchStats,
    /// Seconds: snapping, hierarchy build (with `Engine::Hierarchy` it overlaps the
    /// snapping), per-residence searches, multi-source searches.
    pub seconds: [f64; 4],
}

/// Where residences and facilities join the network, as [`analyze`] decides:
/// residences and point facilities at their point, area facilities at the outline
/// vertex nearest to the network; `None` beyond `max_snap_m`. In parallel.
pub fn snap_places(
    snapper: &Snapper<'_>,
    homes: &[Home],
    facilities: &[Facility],
    max_snap_m: f64,
) -> (Vec<Option<Snap>>, Vec<Option<Snap>>) {
    let proj = *snapper.graph().projection();
    let home_snaps: Vec<Option<Snap>> = homes
        .par_iter()
        .map(|h| snapper.snap_point(proj.project(h.lonlat), max_snap_m))
        .collect();
    let fac_snaps: Vec<Option<Snap>> = facilities
        .par_iter()
        .map(|f| {
            if f.outline.is_empty() {
                snapper.snap_point(proj.project(f.lonlat), max_snap_m)
            } else {
                let rings: Vec<Vec<[f64; 2]>> = f
                    .outline
                    .iter()
                    .map(|r| r.iter().map(|&p| proj.project(p)).collect())
                    .collect();
                snapper.snap_outline(&rings, max_snap_m)
            }
        })
        .collect();
    (home_snaps, fac_snaps)
}

/// Runs the coverage analysis. Results do not depend on the thread count.
pub fn analyze(
    g: &WalkGraph,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    opts: &AnalyzeOptions,
) -> Analysis {
    let t0 = std::time::Instant::now();
    let ncat = preset.categories.len();
    let thresholds_mm: Vec<u32> = preset
        .categories
        .iter()
        .map(|c| (c.threshold_m(opts.speed_kmh) * 1000.0).round() as u32)
        .collect();
    let max_t = thresholds_mm.iter().copied().max().unwrap_or(0);
    let budget_mm = opts
        .budget_m
        .map_or(f64::from(max_t) * opts.report_factor, |m| m * 1000.0)
        .round()
        .min(f64::from(u32::MAX / 4)) as u32;

    let snap_all = || snap_places(&Snapper::new(g), homes, facilities, opts.max_snap_m);
    // A hierarchy that is asked for outright is built while the other threads snap.
    let (early_ch, (home_snaps, fac_snaps)) = if opts.engine == Engine::Hierarchy {
        rayon::join(
            || {
                let t = std::time::Instant::now();
                (Some(Ch::build(g)), t.elapsed().as_secs_f64())
            },
            snap_all,
        )
    } else {
        ((None, 0.0), snap_all())
    };
    let target_fac: Vec<usize> = (0..facilities.len())
        .filter(|&i| fac_snaps[i].is_some())
        .collect();
    let targets = Targets::new(
        g,
        target_fac
            .iter()
            .map(|&i| Spot::from(fac_snaps[i].as_ref().expect("snapped")))
            .collect(),
    );
    let target_cat: Vec<usize> = target_fac.iter().map(|&i| facilities[i].category).collect();
    let home_idx: Vec<usize> = (0..homes.len())
        .filter(|&i| home_snaps[i].is_some())
        .collect();
    let home_spots: Vec<Spot> = home_idx
        .iter()
        .map(|&i| Spot::from(home_snaps[i].as_ref().expect("snapped")))
        .collect();
    let t1 = std::time::Instant::now();
    let use_ch = match opts.engine {
        Engine::Hierarchy => true,
        Engine::Dijkstra => false,
        Engine::Auto => hierarchy_pays(g, &home_spots, budget_mm),
    };
    let (early_ch, early_ch_s) = early_ch;
    let ch = early_ch.or_else(|| use_ch.then(|| Ch::build(g)));
    let t1b = std::time::Instant::now();

    // Per-residence searches.
    struct Visit {
        nearest: Vec<Option<u32>>,
        within: Vec<u32>,
        in_catchment: Vec<u32>,
    }
    let (visits, per_res) = per_residence(
        g,
        ch.as_ref(),
        &targets,
        &home_spots,
        budget_mm,
        |_, hits| {
            let mut nearest = vec![None::<u32>; ncat];
            let mut within = vec![0u32; ncat];
            let mut in_catchment = Vec::new();
            for &(t, d) in hits {
                let c = target_cat[t as usize];
                if nearest[c].is_none_or(|x| d < x) {
                    nearest[c] = Some(d);
                }
                if d <= thresholds_mm[c] {
                    within[c] += 1;
                    in_catchment.push(t);
                }
            }
            Visit {
                nearest,
                within,
                in_catchment,
            }
        },
    );
    let t2 = std::time::Instant::now();

    // One multi-source search per category (timed on its own), then the cross-check.
    let per_cat: Vec<(Vec<u32>, SearchStats)> = (0..ncat)
        .into_par_iter()
        .map(|c| {
            let subset: Vec<u32> = (0..targets.len() as u32)
                .filter(|&t| target_cat[t as usize] == c)
                .collect();
            let mut s = Scratch::new(g.node_count());
            let nd = multi_source(g, &targets, &subset, budget_mm, &mut s);
            (nd, s.stats)
        })
        .collect();
    let t3 = std::time::Instant::now();
    let cross_check_mismatches: u64 = per_cat
        .par_iter()
        .enumerate()
        .map(|(c, (nd, _))| {
            let in_subset = |t: u32| target_cat[t as usize] == c;
            home_spots
                .iter()
                .zip(&visits)
                .filter(|(r, v)| {
                    nearest_from_node_distances(g, &targets, &in_subset, nd, r, budget_mm)
                        != v.nearest[c]
                })
                .count() as u64
        })
        .sum();
    let mut multi = SearchStats::default();
    for (_, s) in &per_cat {
        multi += *s;
    }
    drop(per_cat);

    // Assemble per-home results and catchments.
    let mut home_results: Vec<HomeResult> = home_snaps
        .iter()
        .map(|s| HomeResult {
            snap: *s,
            nearest_mm: vec![None; ncat],
            within: vec![0; ncat],
        })
        .collect();
    let mut fac_results: Vec<FacilityResult> = fac_snaps
        .iter()
        .map(|s| FacilityResult {
            snap: *s,
            residents: 0,
            population: 0.0,
        })
        .collect();
    for (k, v) in visits.into_iter().enumerate() {
        let hi = home_idx[k];
        for &t in &v.in_catchment {
            let f = &mut fac_results[target_fac[t as usize]];
            f.residents += 1;
            f.population += homes[hi].population;
        }
        home_results[hi].nearest_mm = v.nearest;
        home_results[hi].within = v.within;
    }

    let categories = summaries(
        preset,
        facilities,
        &fac_snaps,
        homes,
        &home_results,
        &home_idx,
        &thresholds_mm,
    );
    let levels = level_summaries(preset, homes, &home_results, &home_idx, &thresholds_mm);
    let gaps = gap_cells(
        homes,
        &home_results,
        &home_idx,
        &thresholds_mm,
        opts.hex_res,
    );
    Analysis {
        thresholds_mm,
        budget_mm,
        homes: home_results,
        facilities: fac_results,
        categories,
        levels,
        gaps,
        homes_snapped: home_idx.len() as u32,
        cross_check_mismatches,
        engine: if use_ch {
            Engine::Hierarchy
        } else {
            Engine::Dijkstra
        },
        per_residence: per_res,
        multi_source: multi,
        seconds: [
            (t1 - t0).as_secs_f64(),
            (t1b - t1).as_secs_f64() + early_ch_s,
            (t2 - t1b).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    }
}

/// Whether building a contraction hierarchy costs less than the Dijkstra searches
/// it replaces. Measured on this project's machines: a build costs about 6 µs per
/// node on a graph without one-way arcs (the build's symmetric path) and about 12 µs
/// with them; a search about 30 ns per settled node.
fn hierarchy_pays(g: &WalkGraph, homes: &[Spot], budget_mm: u32) -> bool {
    let sources = livingcircle_reach::source_nodes(g, homes, budget_mm);
    if sources.is_empty() {
        return false;
    }
    let mut s = Scratch::new(g.node_count());
    let k = sources.len().min(16);
    for i in 0..k {
        let src = sources[i * sources.len() / k];
        livingcircle_reach::search(
            g,
            livingcircle_reach::Direction::Forward,
            &[(src, 0)],
            budget_mm,
            &mut s,
        );
    }
    let avg_settled = s.stats.settled as f64 / k as f64;
    let dijkstra_s = sources.len() as f64 * avg_settled * 30e-9;
    let per_node = if g.two_way() { 6e-6 } else { 12e-6 };
    let hierarchy_s = g.node_count() as f64 * per_node;
    dijkstra_s > hierarchy_s
}

/// Nearest-rank percentile of distances where `None` is "beyond the search".
fn percentile(sorted: &[Option<u32>], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].map(|d| f64::from(d) / 1000.0)
}

fn summaries(
    preset: &Preset,
    facilities: &[Facility],
    fac_snaps: &[Option<Snap>],
    homes: &[Home],
    results: &[HomeResult],
    home_idx: &[usize],
    thresholds_mm: &[u32],
) -> Vec<CategorySummary> {
    (0..preset.categories.len())
        .map(|c| {
            let mut d: Vec<Option<u32>> =
                home_idx.iter().map(|&i| results[i].nearest_mm[c]).collect();
            // `None` sorts first; put it last (beyond the search).
            d.sort_by_key(|x| x.map_or(u64::MAX, u64::from));
            let covered: Vec<usize> = home_idx
                .iter()
                .copied()
                .filter(|&i| results[i].ok(c, thresholds_mm[c]))
                .collect();
            CategorySummary {
                category: c,
                threshold_m: f64::from(thresholds_mm[c]) / 1000.0,
                facilities: facilities.iter().filter(|f| f.category == c).count() as u32,
                facilities_snapped: facilities
                    .iter()
                    .zip(fac_snaps)
                    .filter(|(f, s)| f.category == c && s.is_some())
                    .count() as u32,
                residences_covered: covered.len() as u32,
                population_covered: covered.iter().map(|&i| homes[i].population).sum(),
                median_m: percentile(&d, 0.5),
                p90_m: percentile(&d, 0.9),
            }
        })
        .collect()
}

/// Whether a home meets every category of `level` and below.
pub fn level_ok(preset: &Preset, r: &HomeResult, thresholds_mm: &[u32], level: u8) -> bool {
    r.snap.is_some()
        && preset
            .categories
            .iter()
            .enumerate()
            .filter(|(_, c)| c.level.is_some_and(|l| l <= level))
            .all(|(i, _)| r.ok(i, thresholds_mm[i]))
}

fn level_summaries(
    preset: &Preset,
    homes: &[Home],
    results: &[HomeResult],
    home_idx: &[usize],
    thresholds_mm: &[u32],
) -> Vec<LevelSummary> {
    [5u8, 10, 15]
        .into_iter()
        .filter(|&l| preset.categories.iter().any(|c| c.level == Some(l)))
        .map(|l| {
            let ok: Vec<usize> = home_idx
                .iter()
                .copied()
                .filter(|&i| level_ok(preset, &results[i], thresholds_mm, l))
                .collect();
            LevelSummary {
                level: l,
                categories: preset
                    .categories
                    .iter()
                    .filter(|c| c.level.is_some_and(|x| x <= l))
                    .count() as u32,
                residences_ok: ok.len() as u32,
                population_ok: ok.iter().map(|&i| homes[i].population).sum(),
            }
        })
        .collect()
}

fn gap_cells(
    homes: &[Home],
    results: &[HomeResult],
    home_idx: &[usize],
    thresholds_mm: &[u32],
    hex_res: u8,
) -> Vec<GapCell> {
    let res = Resolution::try_from(hex_res).unwrap_or(Resolution::Nine);
    let mut cells: BTreeMap<(CellIndex, usize), GapCell> = BTreeMap::new();
    for &i in home_idx {
        let h = &homes[i];
        let Ok(ll) = LatLng::new(h.lonlat[1], h.lonlat[0]) else {
            continue;
        };
        let cell = ll.to_cell(res);
        for (c, &t) in thresholds_mm.iter().enumerate() {
            if results[i].ok(c, t) {
                continue;
            }
            let e = cells.entry((cell, c)).or_insert(GapCell {
                cell,
                category: c,
                residents_missing: 0,
                population_missing: 0.0,
                nearest_mm: None,
            });
            e.residents_missing += 1;
            e.population_missing += h.population;
            if let Some(d) = results[i].nearest_mm[c]
                && e.nearest_mm.is_none_or(|x| d < x)
            {
                e.nearest_mm = Some(d);
            }
        }
    }
    cells.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank_with_unreached() {
        let d = [Some(100), Some(200), Some(300), None];
        assert_eq!(percentile(&d, 0.5), Some(0.2));
        assert_eq!(percentile(&d, 0.75), Some(0.3));
        assert_eq!(percentile(&d, 0.9), None);
        assert_eq!(percentile(&[], 0.5), None);
    }
}
