/*!
Siting: where should the next `k` facilities of a category go so that they bring
the most people, who now miss that category, within its walking threshold?
("缺什么，补什么": fill what is missing.)

* Demand: the snapped residences that miss the category in an [`Analysis`],
  weighted by population (or one each).
* Candidates: the user's sites (points, or areas reached at every access point,
  as `analyze` reaches area facilities) or the graph's nodes; they snap like
  facilities.
* Reach sets: for every demand residence, the candidates within the threshold,
  by the engine's [`per_residence`] with the candidates as targets (so a site covers
  exactly the residences the analysis would count as covered once it exists),
  transposed into one compressed row per candidate ([`ReachSets`]).
* Choice: greedy maximum coverage with lazy evaluation ([`greedy_celf`]).

# Example
```
use livingcircle_site::{ReachSets, greedy_celf};
// Three candidate sites over four residences with 1, 2, 3 and 4 people.
let sets = ReachSets::from_lists(vec![vec![0, 1], vec![1, 2, 3], vec![3]]);
let (picks, _) = greedy_celf(&sets, &[1, 2, 3, 4], &mut [false; 4], 2, 0);
assert_eq!(picks[0].candidate, 1); // 2 + 3 + 4 people
assert_eq!(picks[1].gain, 1);      // then the one left at residence 0
```
*/

mod greedy;

pub use greedy::{Pick, ReachSets, Stop, greedy_celf};

use livingcircle_analysis::input::UserPlace;
use livingcircle_analysis::{Analysis, Home, HomeResults, round7};
use livingcircle_graph::{NodeId, WalkGraph};
use livingcircle_reach::{Direction, Scratch, Spot, Targets, per_residence, search};
use livingcircle_snap::{EdgePoints, Snap, Snapper};
use rayon::prelude::*;

/// Where candidates come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// Every graph node that some demand residence reaches within the threshold;
    /// when there are more than `max`, every k-th of them in node order (nodes are
    /// numbered along a Hilbert curve, so the sample is spread evenly over space).
    Nodes {
        /// Most candidates to evaluate.
        max: usize,
    },
    /// The user's candidates (points, or areas with their outline), as read by
    /// `livingcircle_analysis::input::read_places`.
    Places(Vec<UserPlace>),
}

/// How demand is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Residents (each residence's population).
    Population,
    /// Residences, one each.
    Residences,
}

/// Settings of a siting run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteOptions {
    /// Category index in the analysis' preset.
    pub category: usize,
    /// Sites to choose.
    pub count: usize,
    /// Stop when the next site would add less than this (people or residences,
    /// after `by`).
    pub min_gain: f64,
    /// What a site's gain counts.
    pub by: Weight,
    /// Candidates farther than this from every walkable edge are unsnapped.
    pub max_snap_m: f64,
}

/// Candidate counts along the way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CandidateStats {
    /// Given (file places, or graph nodes).
    pub given: usize,
    /// Nodes that some demand residence reaches within the threshold (node
    /// candidates only; equal to `given` for file candidates).
    pub in_reach: usize,
    /// Kept after sampling every `stride`-th node (1: all).
    pub stride: usize,
    /// Snapped within the snap distance.
    pub snapped: usize,
    /// Distinct snapped places (candidates at the same spot are one).
    pub distinct: usize,
    /// Covering at least one demand residence.
    pub useful: usize,
}

/// A chosen site.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// 1 for the first pick.
    pub rank: usize,
    /// Index of the candidate in the file, or the graph node.
    pub candidate: usize,
    /// The graph node (node candidates).
    pub node: Option<NodeId>,
    /// From the file.
    pub id: Option<String>,
    /// From the file.
    pub name: Option<String>,
    /// `[lon, lat]` rounded to 7 decimals: the point itself, the node, or an area's
    /// outline vertex nearest to where it meets the network. A point used as a
    /// facility snaps to the same place again.
    pub lonlat: [f64; 2],
    /// An area's outline rings, `[lon, lat]` rounded to 7 decimals (empty for a
    /// point): used as a facility, it has the same access points again.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// For an area, the end of each polygon's rings in `outline`.
    pub polygons: Vec<u32>,
    /// Where it is nearest to the network.
    pub snap: Snap,
    /// Where a walk may reach it: 1 for a point, an area's access points
    /// (`Snapper::access_points`, searched as one site).
    pub access_points: usize,
    /// Residences it newly covers.
    pub gain_residences: u32,
    /// Their population.
    pub gain_population: f64,
    /// Residences covered after this pick (existing facilities and sites so far).
    pub covered_residences_after: u32,
    /// Population covered after this pick.
    pub covered_population_after: f64,
    /// The newly covered residences (indices into the homes) and their walking
    /// distance to this site in millimetres, by home index.
    pub homes: Vec<(usize, u32)>,
}

/// Result of [`plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The category's threshold (mm).
    pub threshold_mm: u32,
    /// Snapped residences.
    pub residences: u32,
    /// Their population.
    pub population: f64,
    /// Covered before any new site.
    pub covered_residences_before: u32,
    /// Population covered before.
    pub covered_population_before: f64,
    /// Candidate counts.
    pub candidates: CandidateStats,
    /// (candidate, residence) pairs within the threshold.
    pub pairs: u64,
    /// Bytes held by the reach sets.
    pub reach_bytes: u64,
    /// Chosen sites, in order.
    pub sites: Vec<Site>,
    /// Why the choice stopped.
    pub stop: Stop,
    /// Seconds: snapping candidates, reach sets, greedy, per-site distances.
    pub seconds: [f64; 4],
}

/// A snapped candidate.
struct Snapped {
    /// Its index in the file, or the graph node.
    cand: usize,
    /// Its point (an area's outline vertex nearest to where it meets the network).
    lonlat: [f64; 2],
    /// Where it is nearest to the network.
    snap: Snap,
    /// Its access points (one for a point), sorted.
    spots: Vec<Spot>,
}

/// Chooses up to `opts.count` sites for `opts.category`. `homes` and `analysis`
/// are the inputs and result of `analyze` on the same graph. Results do not depend
/// on the thread count.
pub fn plan(
    snapper: &Snapper<'_>,
    homes: &[Home],
    analysis: &Analysis,
    results: &HomeResults,
    candidates: &Candidates,
    opts: &SiteOptions,
) -> Plan {
    let g = snapper.graph();
    let c = opts.category;
    let rows = results.rows(analysis);
    let thr = analysis.thresholds_mm[c];
    let mut residences = 0u32;
    let mut population = 0.0;
    let mut covered_res = 0u32;
    let mut covered_pop = 0.0;
    let mut demand: Vec<usize> = Vec::new();
    for (i, h) in homes.iter().enumerate().take(rows.len()) {
        if rows.snap(i).is_none() {
            continue;
        }
        residences += 1;
        population += h.population;
        if rows.ok(i, c) {
            covered_res += 1;
            covered_pop += h.population;
        } else {
            demand.push(i);
        }
    }
    let demand_spots: Vec<Spot> = demand
        .iter()
        .map(|&i| Spot::from(rows.snap(i).expect("snapped")))
        .collect();

    // Candidates, snapped.
    let t0 = std::time::Instant::now();
    let proj = *g.projection();
    let r7 = |p: [f64; 2]| [round7(p[0]), round7(p[1])];
    let mut stats = CandidateStats::default();
    // A point candidate: its snap is its one access point.
    let point = |cand: usize, lonlat: [f64; 2]| {
        let snap = snapper.snap_point(proj.project(lonlat), opts.max_snap_m)?;
        Some(Snapped {
            cand,
            lonlat,
            snap,
            spots: vec![Spot::from(&snap)],
        })
    };
    // Demand residences inside a stretch near an area's outline get an access point
    // of their own there, as in `analyze` (their distances are then exact).
    let places = EdgePoints::new(demand_spots.iter().map(|s| (s.edge, s.offset_mm)).collect());
    let snapped: Vec<Snapped> = match candidates {
        Candidates::Nodes { max } => {
            stats.given = g.node_count();
            let in_reach = nodes_in_reach(g, &demand_spots, thr);
            stats.in_reach = in_reach.len();
            stats.stride = in_reach.len().div_ceil((*max).max(1)).max(1);
            in_reach
                .par_iter()
                .step_by(stats.stride)
                .filter_map(|&n| point(n as usize, r7(g.node_lonlat(n))))
                .collect()
        }
        Candidates::Places(list) => {
            stats.given = list.len();
            stats.in_reach = list.len();
            stats.stride = 1;
            list.par_iter()
                .enumerate()
                .filter_map(|(i, cand)| {
                    if cand.outline.is_empty() {
                        return point(i, r7(cand.lonlat));
                    }
                    // An area: reached at every access point, as `analyze` reaches
                    // an area facility (the rings as `sites` writes them).
                    let rings: Vec<Vec<[f64; 2]>> = cand
                        .outline
                        .iter()
                        .map(|r| r.iter().map(|&p| r7(p)).collect())
                        .collect();
                    let projected: Vec<Vec<[f64; 2]>> = rings
                        .iter()
                        .map(|r| r.iter().map(|&p| proj.project(p)).collect())
                        .collect();
                    let access = snapper.access_points(&projected, &[], opts.max_snap_m, &places);
                    let snap = *access.nearest()?;
                    let d2 =
                        |p: [f64; 2]| (p[0] - snap.xy[0]).powi(2) + (p[1] - snap.xy[1]).powi(2);
                    let v = projected
                        .iter()
                        .flatten()
                        .enumerate()
                        .min_by(|a, b| d2(*a.1).total_cmp(&d2(*b.1)))
                        .map(|(v, _)| v)?;
                    let lonlat = *rings.iter().flatten().nth(v).expect("vertex index");
                    Some(Snapped {
                        cand: i,
                        lonlat,
                        snap,
                        spots: access.snaps.iter().map(Spot::from).collect(),
                    })
                })
                .collect()
        }
    };
    stats.snapped = snapped.len();
    // Candidates at the same spots are one (the first stands for them).
    let mut order: Vec<usize> = (0..snapped.len()).collect();
    order.sort_by(|&a, &b| snapped[a].spots.cmp(&snapped[b].spots).then(a.cmp(&b)));
    order.dedup_by(|a, b| snapped[*a].spots == snapped[*b].spots);
    order.sort_unstable();
    let distinct: Vec<&Snapped> = order.iter().map(|&k| &snapped[k]).collect();
    stats.distinct = distinct.len();
    let t1 = std::time::Instant::now();

    // Reach sets: per demand residence the candidates within the threshold, then
    // transposed to per candidate.
    let targets = grouped(g, distinct.iter().map(|s| s.spots.as_slice()));
    let sets = reach_sets(g, &targets, &demand_spots, thr);
    stats.useful = (0..sets.len()).filter(|&k| !sets.set(k).is_empty()).count();
    let t2 = std::time::Instant::now();

    // The greedy choice.
    let (weights, min_gain): (Vec<u64>, u64) = match opts.by {
        Weight::Population => (
            demand
                .iter()
                // Milli-persons, capped so that sums of millions of them stay exact.
                .map(|&i| (homes[i].population.clamp(0.0, 1e9) * 1000.0).round() as u64)
                .collect(),
            (opts.min_gain * 1000.0).ceil() as u64,
        ),
        Weight::Residences => (vec![1; demand.len()], opts.min_gain.ceil() as u64),
    };
    let mut covered = vec![false; demand.len()];
    let (picks, stop) = greedy_celf(&sets, &weights, &mut covered, opts.count, min_gain);
    let t3 = std::time::Instant::now();

    // Each newly covered residence's distance to its site (the same engine, with
    // the chosen sites as the only targets).
    let chosen = grouped(
        g,
        picks.iter().map(|p| distinct[p.candidate].spots.as_slice()),
    );
    // Only the newly covered residences are searched from, in pick order.
    let newly: Vec<(usize, u32)> = picks
        .iter()
        .enumerate()
        .flat_map(|(rank, p)| p.newly.iter().map(move |&d| (rank, d)))
        .collect();
    let newly_spots: Vec<Spot> = newly
        .iter()
        .map(|&(_, d)| demand_spots[d as usize])
        .collect();
    let (dist_to_site, _) = per_residence(g, None, &chosen, &newly_spots, thr, |i, hits| {
        let rank = newly[i].0 as u32;
        hits.iter()
            .find(|h| h.0 == rank)
            .map(|h| h.1)
            .expect("a newly covered residence is within its site's threshold")
    });
    let mut dist_to_site = dist_to_site.into_iter();
    let mut sites = Vec::with_capacity(picks.len());
    let (mut res_after, mut pop_after) = (covered_res, covered_pop);
    for (rank, p) in picks.iter().enumerate() {
        let Snapped {
            cand,
            lonlat,
            snap,
            spots,
        } = distinct[p.candidate];
        let homes_of: Vec<(usize, u32)> = p
            .newly
            .iter()
            .zip(dist_to_site.by_ref())
            .map(|(&d, dist)| (demand[d as usize], dist))
            .collect();
        let gain_population: f64 = homes_of.iter().map(|&(i, _)| homes[i].population).sum();
        res_after += p.newly.len() as u32;
        pop_after += gain_population;
        let (node, place) = match candidates {
            Candidates::Nodes { .. } => (Some(*cand as NodeId), None),
            Candidates::Places(list) => (None, Some(&list[*cand])),
        };
        let (outline, polygons) = match place {
            Some(p) if !p.outline.is_empty() => (
                p.outline
                    .iter()
                    .map(|r| r.iter().map(|&q| r7(q)).collect())
                    .collect(),
                p.polygons.clone(),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        sites.push(Site {
            rank: rank + 1,
            candidate: *cand,
            node,
            id: place.and_then(|p| p.id.clone()),
            name: place.and_then(|p| p.name.clone()),
            lonlat: *lonlat,
            outline,
            polygons,
            snap: *snap,
            access_points: spots.len(),
            gain_residences: p.newly.len() as u32,
            gain_population,
            covered_residences_after: res_after,
            covered_population_after: pop_after,
            homes: homes_of,
        });
    }
    let t4 = std::time::Instant::now();
    Plan {
        threshold_mm: thr,
        residences,
        population,
        covered_residences_before: covered_res,
        covered_population_before: covered_pop,
        candidates: stats,
        pairs: sets.pairs(),
        reach_bytes: sets.bytes(),
        sites,
        stop,
        seconds: [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
            (t4 - t3).as_secs_f64(),
        ],
    }
}

/// Residences handled per batch of searches: bounds the engine's per-source lists.
const CHUNK: usize = 16_384;

/// For every target, the residences (indices into `homes`) within `budget_mm` of it.
///
/// Streams: residences go in spatially coherent chunks (sorted by their edge's `u`
/// node, and nodes are numbered along a Hilbert curve) through [`per_residence`];
/// each chunk's hits are appended as `(target, residence)` pairs (8 bytes each) and
/// the pairs are counting-sorted into [`ReachSets`] rows (4 bytes each) at the end.
/// Peak memory is about 12 bytes per pair plus one chunk's search results.
fn reach_sets(g: &WalkGraph, targets: &Targets, homes: &[Spot], budget_mm: u32) -> ReachSets {
    let mut order: Vec<u32> = (0..homes.len() as u32).collect();
    order.sort_by_key(|&i| (g.edge(homes[i as usize].edge).u, i));
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for chunk in order.chunks(CHUNK) {
        let spots: Vec<Spot> = chunk.iter().map(|&i| homes[i as usize]).collect();
        let (hits, _) = per_residence(g, None, targets, &spots, budget_mm, |_, hits| {
            hits.iter().map(|h| h.0).collect::<Vec<u32>>()
        });
        for (k, list) in hits.into_iter().enumerate() {
            pairs.extend(list.into_iter().map(|t| (t, chunk[k])));
        }
    }
    ReachSets::from_pairs(pairs, targets.ids())
}

/// Targets for candidates, each reporting as its index, reached at the nearest of
/// its spots.
fn grouped<'s>(g: &WalkGraph, candidates: impl Iterator<Item = &'s [Spot]>) -> Targets {
    let mut spots = Vec::new();
    let mut owner = Vec::new();
    let mut ids = 0;
    for (k, c) in candidates.enumerate() {
        spots.extend_from_slice(c);
        owner.extend(std::iter::repeat_n(k as u32, c.len()));
        ids = k + 1;
    }
    Targets::grouped(g, spots, owner, ids)
}

/// Nodes within `budget_mm` of at least one of `from` (one forward search from
/// all of them), sorted. A node candidate farther than that covers nobody.
fn nodes_in_reach(g: &WalkGraph, from: &[Spot], budget_mm: u32) -> Vec<NodeId> {
    let seeds: Vec<(NodeId, u32)> = from
        .iter()
        .flat_map(|s| s.exits(g).into_iter().filter(|x| x.2).map(|x| (x.0, x.1)))
        .collect();
    let mut s = Scratch::new(g.node_count());
    search(g, Direction::Forward, &seeds, budget_mm, &mut s);
    let mut v = s.settled().to_vec();
    v.sort_unstable();
    v
}
