//! Coverage of residences by facility categories, catchments, and gap cells.

use std::collections::BTreeMap;

use h3o::{CellIndex, LatLng, Resolution};
use livingcircle_graph::WalkGraph;
use livingcircle_osm::OsmRef;
use livingcircle_reach::{
    Ch, ManyToMany, PerResidence, Scratch, SearchStats, Spot, Targets, multi_source,
    nearest_from_node_distances,
};
use livingcircle_snap::{Access, AccessKind, EdgePoints, Snap, Snapper};
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
    /// OSM reference (written `w123`), when from OSM.
    pub osm_id: Option<OsmRef>,
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
    /// The user file's `id` and other columns (for a file's residence).
    pub user: Option<Box<UserFields>>,
}

/// What a user file gave a place besides what the analysis reads: its `id` and every
/// other column (`columns`, shared by the file's places; `values` aligned with
/// them, as text). Carried into the layers so that results join back.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFields {
    /// The file's `id` (CSV column, GeoJSON property, else the feature's id).
    pub id: Option<String>,
    /// The file's other columns, in file order.
    pub columns: std::sync::Arc<[String]>,
    /// This place's values of them (`None`: empty or null).
    pub values: Vec<Option<String>>,
}

/// A facility of one category (an object in several categories appears once per category).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Index into the preset's categories.
    pub category: usize,
    /// Name.
    pub name: Option<String>,
    /// OSM reference, when from OSM.
    pub osm_id: Option<OsmRef>,
    /// OSM or user file.
    pub origin: Origin,
    /// `[lon, lat]` (a point, or the centroid of an area).
    pub lonlat: [f64; 2],
    /// Outline rings `[lon, lat]` of an area facility; empty for points. An area is
    /// reached at its access points (`Snapper::access_points`).
    pub outline: Vec<Vec<[f64; 2]>>,
    /// `[lon, lat]` of an area's entrances or gates on its outline (from OSM); when
    /// any snaps, the area is reached at them alone.
    pub entrances: Vec<[f64; 2]>,
    /// The user file's `id` and other columns (for a file's facility).
    pub user: Option<Box<UserFields>>,
}

/// Settings of an analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzeOptions {
    /// Walking speed in km/h (turns minute thresholds into metres).
    pub speed_kmh: f64,
    /// Places farther than this from every walkable edge are unsnapped.
    pub max_snap_m: f64,
    /// H3 resolution of the gap cells.
    pub hex_res: Resolution,
    /// Distances are searched up to this multiple of the largest threshold.
    pub report_factor: f64,
    /// Search budget in metres, overriding `report_factor` (the bench and `site`
    /// use it).
    pub budget_m: Option<f64>,
    /// How the per-residence tables are computed; every engine gives the same exact
    /// distances.
    pub engine: Engine,
    /// Residences per chunk of a streamed analysis (results do not depend on it).
    pub chunk_rows: usize,
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
            hex_res: Resolution::Nine,
            report_factor: 2.0,
            budget_m: None,
            engine: Engine::Auto,
            chunk_rows: 65_536,
        }
    }
}

/// Per-residence results for a run of residences (a chunk of a streamed analysis,
/// or all of them): walking distance to the nearest facility of each category.
#[derive(Debug, Clone, Copy)]
pub struct HomeChunk<'a> {
    /// Index of the first residence: row `r` is residence `first + r`.
    pub first: usize,
    snaps: &'a [Option<Snap>],
    /// Row-major, `ncat` per row; `u32::MAX`: none within the search (or unsnapped).
    nearest_mm: &'a [u32],
    thresholds_mm: &'a [u32],
    levels: &'a [(u8, Vec<usize>)],
}

impl<'a> HomeChunk<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    /// Where row `r` joins the network; `None` when unsnapped.
    pub fn snap(&self, r: usize) -> Option<&'a Snap> {
        self.snaps[r].as_ref()
    }

    /// Every row's distances, row-major (one per category, `u32::MAX` for none), as
    /// [`HomeResults::from_rows`] takes them.
    pub fn rows_mm(&self) -> &'a [u32] {
        self.nearest_mm
    }

    /// Walking distance (mm) from row `r` to the nearest facility of category `c`,
    /// when within the search budget.
    #[inline]
    pub fn nearest_mm(&self, r: usize, c: usize) -> Option<u32> {
        let ncat = self.thresholds_mm.len();
        let d = self.nearest_mm[r * ncat + c];
        (d != u32::MAX).then_some(d)
    }

    /// Whether row `r` meets category `c` (a facility within its threshold).
    #[inline]
    pub fn ok(&self, r: usize, c: usize) -> bool {
        self.nearest_mm(r, c)
            .is_some_and(|d| d <= self.thresholds_mm[c])
    }

    /// Categories row `r` meets.
    pub fn met(&self, r: usize) -> usize {
        (0..self.thresholds_mm.len())
            .filter(|&c| self.ok(r, c))
            .count()
    }

    /// Whether row `r` meets every category of `level` and below (false when
    /// unsnapped; true for a level without categories).
    pub fn level_ok(&self, r: usize, level: u8) -> bool {
        self.snaps[r].is_some()
            && self
                .levels
                .iter()
                .filter(|(l, _)| *l <= level)
                .all(|(_, cats)| cats.iter().all(|&c| self.ok(r, c)))
    }

    /// The levels (5, 10, 15) the preset uses, ascending.
    pub fn levels(&self) -> impl Iterator<Item = u8> + '_ {
        self.levels.iter().map(|(l, _)| *l)
    }
}

/// Every residence's per-category distances, from [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeResults {
    /// Row-major: `nearest_mm[i * ncat + c]`, `u32::MAX` for none.
    nearest_mm: Vec<u32>,
}

impl HomeResults {
    /// Results from the distances of every residence, row-major (`ncat` per row,
    /// `u32::MAX` for none), as [`HomeChunk::nearest_mm`] gives them.
    pub fn from_rows(nearest_mm: Vec<u32>) -> Self {
        HomeResults { nearest_mm }
    }

    /// All residences as one chunk, read with the analysis that made them.
    pub fn rows<'a>(&'a self, a: &'a Analysis) -> HomeChunk<'a> {
        HomeChunk {
            first: 0,
            snaps: &a.home_snaps,
            nearest_mm: &self.nearest_mm,
            thresholds_mm: &a.thresholds_mm,
            levels: &a.level_categories,
        }
    }
}

/// Result for one facility.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityResult {
    /// Its access point with the smallest leg; `None` when unsnapped.
    pub snap: Option<Snap>,
    /// How its access points were found.
    pub access: AccessKind,
    /// Its access points, by edge and offset (none when unsnapped; one for a
    /// point). Every one seeds the searches for the facility.
    pub access_points: Vec<Snap>,
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
    /// Per residence, in input order: where it joins the network (`None`:
    /// unsnapped).
    pub home_snaps: Vec<Option<Snap>>,
    /// The levels the preset uses (5, 10, 15), each with the categories of exactly
    /// that level.
    pub level_categories: Vec<(u8, Vec<usize>)>,
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
    /// Per-residence engine work (summed over chunks; sources may repeat across
    /// chunks).
    pub per_residence: PerResidence,
    /// Multi-source engine work.
    pub multi_source: SearchStats,
    /// Seconds: snapping, the hierarchy build (when it starts early it runs beside
    /// the snapping and the multi-source searches), the per-residence searches with
    /// their cross-check, the multi-source searches.
    pub seconds: [f64; 4],
}

/// Where residences and facilities join the network, as [`analyze`] decides:
/// residences and point facilities at their point (`None` beyond `max_snap_m`),
/// area facilities at every access point (`Snapper::access_points`: its entrances,
/// else the network near its outline, else its outline sampled; empty when none is
/// within reach). In parallel.
pub fn snap_places(
    snapper: &Snapper<'_>,
    homes: &[Home],
    facilities: &[Facility],
    max_snap_m: f64,
) -> (Vec<Option<Snap>>, Vec<Access>) {
    let proj = *snapper.graph().projection();
    let points: Vec<[f64; 2]> = homes.par_iter().map(|h| proj.project(h.lonlat)).collect();
    let home_snaps = snapper.snap_points(&points, max_snap_m);
    let places = EdgePoints::new(
        home_snaps
            .iter()
            .flatten()
            .map(|s| (s.edge, s.offset_mm))
            .collect(),
    );
    let fac_access: Vec<Access> = facilities
        .par_iter()
        .map(|f| facility_access(snapper, f, max_snap_m, &places))
        .collect();
    (home_snaps, fac_access)
}

/// Where one facility joins the network (see [`snap_places`]); `places` are the
/// residences' snaps.
pub fn facility_access(
    snapper: &Snapper<'_>,
    f: &Facility,
    max_snap_m: f64,
    places: &EdgePoints,
) -> Access {
    let proj = *snapper.graph().projection();
    if f.outline.is_empty() {
        let snaps = snapper.snap_point(proj.project(f.lonlat), max_snap_m);
        return Access::new(AccessKind::Point, snaps.into_iter().collect());
    }
    let rings: Vec<Vec<[f64; 2]>> = f
        .outline
        .iter()
        .map(|r| r.iter().map(|&p| proj.project(p)).collect())
        .collect();
    let entrances: Vec<[f64; 2]> = f.entrances.iter().map(|&p| proj.project(p)).collect();
    snapper.access_points(&rings, &entrances, max_snap_m, places)
}

/// Runs the coverage analysis and keeps every residence's distances. Results do not
/// depend on the thread count. See [`analyze_streaming`].
pub fn analyze(
    snapper: &Snapper<'_>,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    opts: &AnalyzeOptions,
) -> (Analysis, HomeResults) {
    let mut nearest_mm = Vec::new();
    let an = analyze_streaming(snapper, preset, homes, facilities, opts, |chunk| {
        nearest_mm.extend_from_slice(chunk.nearest_mm);
        Ok::<(), std::convert::Infallible>(())
    });
    let an = match an {
        Ok(an) => an,
        Err(never) => match never {},
    };
    (an, HomeResults { nearest_mm })
}

/// [`analyze`] that stops at the next chunk of residences once `cancel` is set
/// (`None` then). Cancelling does not interrupt a hierarchy build or the snapping;
/// it is checked between chunks of `opts.chunk_rows` residences.
pub fn analyze_until(
    snapper: &Snapper<'_>,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    opts: &AnalyzeOptions,
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<(Analysis, HomeResults)> {
    use std::sync::atomic::Ordering;
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let mut nearest_mm = Vec::new();
    let an = analyze_streaming(snapper, preset, homes, facilities, opts, |chunk| {
        if cancel.load(Ordering::Relaxed) {
            return Err(());
        }
        nearest_mm.extend_from_slice(chunk.nearest_mm);
        Ok(())
    })
    .ok()?;
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    Some((an, HomeResults { nearest_mm }))
}

/// Runs the coverage analysis, handing residences' results to `sink` in chunks of
/// `opts.chunk_rows`, in input order, as they are computed; what is kept is the
/// summary (per facility, category, level and gap cell). Results do not depend on
/// the thread count or the chunk size.
///
/// `snapper` indexes the graph analysed (built once, it serves every command's
/// snapping). Facilities are snapped and indexed once; with a contraction hierarchy their
/// buckets are built once; the multi-source searches of the cross-check run once
/// per category. Each chunk then costs its residences' searches and bookkeeping.
///
/// # Errors
/// Whatever `sink` returns; the analysis stops there.
pub fn analyze_streaming<E>(
    snapper: &Snapper<'_>,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    opts: &AnalyzeOptions,
    sink: impl FnMut(&HomeChunk<'_>) -> Result<(), E>,
) -> Result<Analysis, E> {
    analyze_with_progress(snapper, preset, homes, facilities, opts, &|_| {}, sink)
}

/// [`analyze_streaming`], telling `progress` how far it is (from any thread).
///
/// # Errors
/// Whatever `sink` returns; the analysis stops there.
pub fn analyze_with_progress<E>(
    snapper: &Snapper<'_>,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    opts: &AnalyzeOptions,
    progress: &(dyn Fn(Progress) + Sync),
    mut sink: impl FnMut(&HomeChunk<'_>) -> Result<(), E>,
) -> Result<Analysis, E> {
    progress(Progress::Preparing);
    let g = snapper.graph();
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
    let level_categories: Vec<(u8, Vec<usize>)> = [5u8, 10, 15]
        .into_iter()
        .filter(|&l| preset.categories.iter().any(|c| c.level == Some(l)))
        .map(|l| {
            let cats = (0..ncat)
                .filter(|&c| preset.categories[c].level == Some(l))
                .collect();
            (l, cats)
        })
        .collect();

    // Everything that needs no hierarchy: snapping, the facilities' index, and one
    // multi-source search per category (the cross-check).
    let prepare = || {
        let t = std::time::Instant::now();
        let (home_snaps, fac_access) = snap_places(snapper, homes, facilities, opts.max_snap_m);
        let snap_s = t.elapsed().as_secs_f64();
        // One target per access point; an area's all stand for it.
        let target_fac: Vec<usize> = fac_access
            .iter()
            .enumerate()
            .flat_map(|(i, a)| std::iter::repeat_n(i, a.snaps.len()))
            .collect();
        // Searches report facilities: each at its nearest access point.
        let targets = Targets::grouped(
            g,
            fac_access
                .iter()
                .flat_map(|a| a.snaps.iter().map(Spot::from))
                .collect(),
            target_fac.iter().map(|&i| i as u32).collect(),
            facilities.len(),
        );
        let target_cat: Vec<usize> = target_fac.iter().map(|&i| facilities[i].category).collect();
        let t = std::time::Instant::now();
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
        let multi_s = t.elapsed().as_secs_f64();
        Prepared {
            home_snaps,
            fac_access,
            targets,
            target_cat,
            per_cat,
            snap_s,
            multi_s,
        }
    };
    // The hierarchy's build is serial: while one thread builds it, the others
    // prepare. It starts at once when asked for, and on large graphs when the
    // engine is left to choose (there the hierarchy pays whenever there are
    // residences to speak of; the choice itself still follows the estimate below,
    // and a hierarchy it does not choose is dropped).
    let speculate = opts.engine == Engine::Auto && g.node_count() >= SPECULATE_NODES;
    let build_ch = || {
        let t = std::time::Instant::now();
        let ch = Ch::build_with_progress(g, &|k, n| progress(Progress::Hierarchy(k, n)));
        (Some(ch), t.elapsed().as_secs_f64())
    };
    let ((early_ch, early_ch_s), p) = if opts.engine == Engine::Hierarchy || speculate {
        rayon::join(build_ch, prepare)
    } else {
        ((None, 0.0), prepare())
    };
    let Prepared {
        home_snaps,
        fac_access,
        targets,
        target_cat,
        per_cat,
        snap_s,
        multi_s,
    } = p;
    let homes_snapped = home_snaps.iter().filter(|s| s.is_some()).count() as u32;
    let use_ch = match opts.engine {
        Engine::Hierarchy => true,
        Engine::Dijkstra => false,
        Engine::Auto => {
            let spots: Vec<Spot> = home_snaps.iter().flatten().map(Spot::from).collect();
            hierarchy_pays(g, &spots, budget_mm)
        }
    };
    // A hierarchy built early and not chosen is dropped; its time still counts.
    let (ch, ch_s) = match (use_ch, early_ch) {
        (true, None) => build_ch(),
        (true, ch) => (ch, early_ch_s),
        (false, _) => (None, early_ch_s),
    };
    let engine = ManyToMany::new(g, ch.as_ref(), &targets, budget_mm);
    let mut multi = SearchStats::default();
    for (_, s) in &per_cat {
        multi += *s;
    }

    // What the summary keeps, accumulated residence by residence in input order.
    let mut fac_results: Vec<FacilityResult> = fac_access
        .iter()
        .map(|a| FacilityResult {
            snap: a.nearest().copied(),
            access: a.kind,
            access_points: a.snaps.clone(),
            residents: 0,
            population: 0.0,
        })
        .collect();
    let mut cat_acc: Vec<CategoryAcc> = (0..ncat).map(|_| CategoryAcc::new(budget_mm)).collect();
    let mut level_acc: Vec<(u32, f64)> = vec![(0, 0.0); level_categories.len()];
    let mut gaps: BTreeMap<(CellIndex, usize), GapCell> = BTreeMap::new();
    let res = opts.hex_res;
    let mut cross_check_mismatches = 0u64;
    let mut per_res = PerResidence::default();
    let mut engine_s = 0.0;

    let chunk_rows = opts.chunk_rows.max(1);
    let mut nearest: Vec<u32> = Vec::new();
    for first in (0..homes.len()).step_by(chunk_rows) {
        let end = (first + chunk_rows).min(homes.len());
        let t = std::time::Instant::now();
        let idx: Vec<usize> = (first..end).filter(|&i| home_snaps[i].is_some()).collect();
        let spots: Vec<Spot> = idx
            .iter()
            .map(|&i| Spot::from(home_snaps[i].as_ref().expect("snapped")))
            .collect();
        // Per residence: the nearest per category, and the facilities whose
        // catchment it is in.
        let (visits, done) = engine.per_residence(&spots, |_, hits| {
            let mut near = vec![u32::MAX; ncat];
            let mut in_catchment = Vec::new();
            // One hit per facility, at its nearest access point.
            for &(f, d) in hits {
                let c = facilities[f as usize].category;
                near[c] = near[c].min(d);
                if d <= thresholds_mm[c] {
                    in_catchment.push(f as usize);
                }
            }
            (near, in_catchment)
        });
        per_res.sources.extend_from_slice(&done.sources);
        per_res.stats += done.stats;
        per_res.seconds[0] += done.seconds[0];
        per_res.seconds[1] += done.seconds[1];
        nearest.clear();
        nearest.resize((end - first) * ncat, u32::MAX);
        for (&i, (near, _)) in idx.iter().zip(&visits) {
            let row = i - first;
            nearest[row * ncat..(row + 1) * ncat].copy_from_slice(near);
        }
        // The cross-check, in parallel over categories.
        cross_check_mismatches += per_cat
            .par_iter()
            .enumerate()
            .map(|(c, (nd, _))| {
                let in_subset = |t: u32| target_cat[t as usize] == c;
                spots
                    .iter()
                    .zip(&visits)
                    .filter(|(r, (near, _))| {
                        let got = (near[c] != u32::MAX).then_some(near[c]);
                        nearest_from_node_distances(g, &targets, &in_subset, nd, r, budget_mm)
                            != got
                    })
                    .count() as u64
            })
            .sum::<u64>();
        engine_s += t.elapsed().as_secs_f64();

        let chunk = HomeChunk {
            first,
            snaps: &home_snaps[first..end],
            nearest_mm: &nearest,
            thresholds_mm: &thresholds_mm,
            levels: &level_categories,
        };
        for (&i, (_, in_catchment)) in idx.iter().zip(&visits) {
            let h = &homes[i];
            let row = i - first;
            for &fi in in_catchment {
                let f = &mut fac_results[fi];
                f.residents += 1;
                f.population += h.population;
            }
            for (c, acc) in cat_acc.iter_mut().enumerate() {
                acc.add(chunk.nearest_mm(row, c), chunk.ok(row, c), h.population);
            }
            for (k, (l, _)) in level_categories.iter().enumerate() {
                if chunk.level_ok(row, *l) {
                    level_acc[k].0 += 1;
                    level_acc[k].1 += h.population;
                }
            }
            let Ok(ll) = LatLng::new(h.lonlat[1], h.lonlat[0]) else {
                continue;
            };
            let cell = ll.to_cell(res);
            for c in 0..ncat {
                if chunk.ok(row, c) {
                    continue;
                }
                let e = gaps.entry((cell, c)).or_insert(GapCell {
                    cell,
                    category: c,
                    residents_missing: 0,
                    population_missing: 0.0,
                    nearest_mm: None,
                });
                e.residents_missing += 1;
                e.population_missing += h.population;
                if let Some(d) = chunk.nearest_mm(row, c)
                    && e.nearest_mm.is_none_or(|x| d < x)
                {
                    e.nearest_mm = Some(d);
                }
            }
        }
        sink(&chunk)?;
        progress(Progress::Residences(end as u64, homes.len() as u64));
    }
    per_res.stats += engine.bucket_stats;
    drop(engine);

    let categories = (0..ncat)
        .map(|c| {
            let acc = &cat_acc[c];
            CategorySummary {
                category: c,
                threshold_m: f64::from(thresholds_mm[c]) / 1000.0,
                facilities: facilities.iter().filter(|f| f.category == c).count() as u32,
                facilities_snapped: facilities
                    .iter()
                    .zip(&fac_access)
                    .filter(|(f, a)| f.category == c && !a.snaps.is_empty())
                    .count() as u32,
                residences_covered: acc.covered,
                population_covered: acc.population,
                median_m: acc.percentile(0.5),
                p90_m: acc.percentile(0.9),
            }
        })
        .collect();
    let levels = level_categories
        .iter()
        .zip(&level_acc)
        .map(|((l, _), &(ok, pop))| LevelSummary {
            level: *l,
            categories: preset
                .categories
                .iter()
                .filter(|c| c.level.is_some_and(|x| x <= *l))
                .count() as u32,
            residences_ok: ok,
            population_ok: pop,
        })
        .collect();
    Ok(Analysis {
        thresholds_mm,
        budget_mm,
        home_snaps,
        level_categories,
        facilities: fac_results,
        categories,
        levels,
        gaps: gaps.into_values().collect(),
        homes_snapped,
        cross_check_mismatches,
        engine: if use_ch {
            Engine::Hierarchy
        } else {
            Engine::Dijkstra
        },
        per_residence: per_res,
        multi_source: multi,
        seconds: [snap_s, ch_s, engine_s, multi_s],
    })
}

/// How far a streamed analysis is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Snapping places, indexing facilities, searching from them.
    Preparing,
    /// Building the contraction hierarchy: nodes contracted of all.
    Hierarchy(u64, u64),
    /// Residences answered of all (also told by the sink's chunks).
    Residences(u64, u64),
}

/// Graphs from this size on start building a hierarchy while the engine choice
/// is still open (`Engine::Auto`): there a residence's search settles thousands of
/// nodes and the build is always recovered.
const SPECULATE_NODES: usize = 200_000;

/// What the residences' searches need, made before them.
struct Prepared {
    home_snaps: Vec<Option<Snap>>,
    fac_access: Vec<Access>,
    targets: Targets,
    target_cat: Vec<usize>,
    per_cat: Vec<(Vec<u32>, SearchStats)>,
    snap_s: f64,
    multi_s: f64,
}

/// One category's coverage, accumulated residence by residence: covered counts and
/// population, and the distances to the nearest facility as a histogram of the
/// values the summary prints (0.1 m), from which the nearest-rank percentiles come
/// exactly as from the sorted distances.
struct CategoryAcc {
    covered: u32,
    population: f64,
    /// Residences beyond the search (no facility within the budget).
    beyond: u64,
    /// Count per 0.1 m step, up to the budget.
    steps: Vec<u64>,
    /// Steps beyond `steps`' length (a very large budget).
    far: BTreeMap<u64, u64>,
}

/// Histogram steps kept in an array: budgets up to 400 km.
const MAX_STEPS: u64 = 4_000_000;

impl CategoryAcc {
    fn new(budget_mm: u32) -> Self {
        let n = (u64::from(budget_mm) / 100 + 2).min(MAX_STEPS);
        CategoryAcc {
            covered: 0,
            population: 0.0,
            beyond: 0,
            steps: vec![0; n as usize],
            far: BTreeMap::new(),
        }
    }

    /// The 0.1 m step `r1(d / 1000)` prints as (the same rounding).
    fn step(d_mm: u32) -> u64 {
        ((f64::from(d_mm) / 1000.0) * 10.0).round() as u64
    }

    fn add(&mut self, nearest_mm: Option<u32>, ok: bool, population: f64) {
        if ok {
            self.covered += 1;
            self.population += population;
        }
        match nearest_mm {
            None => self.beyond += 1,
            Some(d) => {
                let s = Self::step(d);
                match self.steps.get_mut(s as usize) {
                    Some(n) => *n += 1,
                    None => *self.far.entry(s).or_insert(0) += 1,
                }
            }
        }
    }

    /// Nearest-rank percentile in metres (at 0.1 m, as printed); `None` when the
    /// rank falls beyond the search, or there is no residence.
    fn percentile(&self, p: f64) -> Option<f64> {
        let reached: u64 = self.steps.iter().sum::<u64>() + self.far.values().sum::<u64>();
        let total = reached + self.beyond;
        if total == 0 {
            return None;
        }
        let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
        if rank > reached {
            return None;
        }
        let mut seen = 0u64;
        let counts = self
            .steps
            .iter()
            .enumerate()
            .map(|(s, &n)| (s as u64, n))
            .chain(self.far.iter().map(|(&s, &n)| (s, n)));
        for (s, n) in counts {
            seen += n;
            if seen >= rank {
                return Some(s as f64 / 10.0);
            }
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The histogram's nearest-rank percentiles equal those of the sorted distances
    /// (rounded as printed), with residences beyond the search sorting last.
    #[test]
    fn percentiles_from_the_histogram_equal_sorted_ranks() {
        let naive = |d: &[Option<u32>], p: f64| -> Option<f64> {
            let mut d = d.to_vec();
            d.sort_by_key(|x| x.map_or(u64::MAX, u64::from));
            if d.is_empty() {
                return None;
            }
            let rank = ((p * d.len() as f64).ceil() as usize).clamp(1, d.len());
            d[rank - 1].map(|x| crate::r1(f64::from(x) / 1000.0))
        };
        let mut x = 0x9e37_79b9_u64;
        for n in [0usize, 1, 2, 3, 10, 101, 1000] {
            for budget in [1_000u32, 2_000_000, u32::MAX / 4] {
                let mut acc = CategoryAcc::new(budget);
                let mut d = Vec::new();
                for _ in 0..n {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let v = (x % u64::from(budget)) as u32;
                    let v = if x.is_multiple_of(7) { None } else { Some(v) };
                    acc.add(v, false, 1.0);
                    d.push(v);
                }
                for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
                    assert_eq!(
                        acc.percentile(p),
                        naive(&d, p),
                        "n {n} budget {budget} p {p}"
                    );
                }
            }
        }
        assert_eq!(CategoryAcc::new(1000).percentile(0.5), None);
    }
}
