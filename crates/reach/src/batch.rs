//! Searches over many places at once, in parallel.

use livingcircle_graph::{NodeId, WalkGraph};
use rayon::prelude::*;

use crate::ch::{Ch, UpScratch};
use crate::stamped::Stamped;
use crate::{Direction, Scratch, SearchStats, Spot, Targets, search};

/// `(node, distance, target)`: a target's backward upward search reached the node.
type BucketEntry = (NodeId, u32, u32);

/// What [`per_residence`] did.
#[derive(Debug, Clone, Default)]
pub struct PerResidence {
    /// The distinct nodes searched from (end nodes of the residences' edges).
    pub sources: Vec<NodeId>,
    /// Work counters of those searches.
    pub stats: SearchStats,
    /// Wall seconds: the searches (every source node's targets), then the
    /// per-residence combination. Not part of equality.
    pub seconds: [f64; 2],
}

impl PartialEq for PerResidence {
    fn eq(&self, other: &Self) -> bool {
        self.sources == other.sources && self.stats == other.stats
    }
}

/// Per-thread state of the batch: search scratch plus a stamped best-distance table
/// over targets and the targets touched since [`Local::begin`].
struct Local {
    scratch: Scratch,
    best: Stamped,
    touched: Vec<u32>,
}

impl Local {
    fn new(nodes: usize, targets: usize) -> Self {
        Local {
            scratch: Scratch::new(nodes),
            best: Stamped::new(targets),
            touched: Vec::new(),
        }
    }
    fn begin(&mut self) {
        self.best.reset();
        self.touched.clear();
    }
    #[inline]
    fn offer(&mut self, t: u32, d: u32) {
        if self.best.get(t as usize).is_none() {
            self.touched.push(t);
        }
        self.best.lower(t as usize, d);
    }
    /// Targets offered since [`Local::begin`], within `budget`, in the order first
    /// offered (deterministic: it follows the search).
    fn drain_unsorted(&mut self, budget: u32) -> Vec<(u32, u32)> {
        // Sized once: a filtered `collect` would grow the vector by reallocation.
        let mut out = Vec::with_capacity(self.touched.len());
        out.extend(
            self.touched
                .iter()
                .map(|&t| (t, self.best.get_or_max(t as usize)))
                .filter(|&(_, d)| d <= budget),
        );
        out
    }

    /// The same, sorted by target id.
    fn drain(&mut self, budget: u32) -> Vec<(u32, u32)> {
        let mut v = self.drain_unsorted(budget);
        v.sort_unstable();
        v
    }
}

/// The distinct end nodes that residences leave their edges by within the budget:
/// the sources of [`per_residence`], sorted.
pub fn source_nodes(g: &WalkGraph, residences: &[Spot], budget_mm: u32) -> Vec<NodeId> {
    let mut sources: Vec<NodeId> = residences
        .iter()
        .flat_map(|r| {
            r.exits(g)
                .into_iter()
                .filter(|x| x.2 && x.1 <= budget_mm)
                .map(|x| x.0)
        })
        .collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

/// For every residence, every target within `budget_mm` with its exact walking
/// distance (legs included), sorted by target id; `visit(residence index, hits)`
/// turns each into a result. Results come back in residence order and do not
/// depend on the thread count.
///
/// Every distinct end node of the residences' edges gets its targets within the
/// budget once — by one bounded Dijkstra each, or, given a contraction hierarchy
/// `ch`, by bucket-based many-to-many upward searches (the same exact distances);
/// each residence then combines the two end nodes of its edge with its offset (and
/// targets on its own edge directly).
pub fn per_residence<T, F>(
    g: &WalkGraph,
    ch: Option<&Ch>,
    targets: &Targets,
    residences: &[Spot],
    budget_mm: u32,
    visit: F,
) -> (Vec<T>, PerResidence)
where
    T: Send,
    F: Fn(usize, &[(u32, u32)]) -> T + Sync,
{
    let sources = source_nodes(g, residences, budget_mm);

    let t0 = std::time::Instant::now();
    // Phase 1: every source node's targets within the budget.
    let n = g.node_count();
    let per_source: Vec<(Vec<(u32, u32)>, SearchStats)> = match ch {
        None => sources
            .par_iter()
            .with_min_len(8)
            .map_init(
                || Local::new(n, targets.len()),
                |l, &src| {
                    let before = l.scratch.stats;
                    search(
                        g,
                        Direction::Forward,
                        &[(src, 0)],
                        budget_mm,
                        &mut l.scratch,
                    );
                    l.begin();
                    for i in 0..l.scratch.settled().len() {
                        let x = l.scratch.settled()[i];
                        let d = l.scratch.dist.get_or_max(x as usize);
                        for &(t, c) in targets.at_node(x) {
                            l.offer(t, d.saturating_add(c));
                        }
                    }
                    let mut st = l.scratch.stats;
                    st.searches -= before.searches;
                    st.settled -= before.settled;
                    st.relaxed -= before.relaxed;
                    (l.drain_unsorted(budget_mm), st)
                },
            )
            .collect(),
        Some(ch) => {
            // Buckets: each target's backward upward search leaves (target, dist) at
            // every node it settles. Each thread appends to one flat list.
            let (entries, settled_total): (Vec<BucketEntry>, u64) = (0..targets.len() as u32)
                .into_par_iter()
                .with_min_len(16)
                .fold(
                    || (UpScratch::new(n), Vec::new(), Vec::new(), 0u64),
                    |(mut s, mut seeds, mut out, mut count), t| {
                        seeds.clear();
                        for (node, c, ok) in targets.spots()[t as usize].entries(g) {
                            if ok {
                                seeds.push((node, c));
                            }
                        }
                        ch.upward(&seeds, true, budget_mm, &mut s);
                        let settled = ch.settled(&s);
                        out.extend(settled.iter().map(|&(m, d)| (m, d, t)));
                        count += settled.len() as u64;
                        (s, seeds, out, count)
                    },
                )
                .map(|(_, _, out, count)| (out, count))
                .reduce(
                    || (Vec::new(), 0),
                    |(mut a, ca), (b, cb)| {
                        a.extend(b);
                        (a, ca + cb)
                    },
                );
            let bucket_stats = SearchStats {
                searches: targets.len() as u64,
                settled: settled_total,
                relaxed: settled_total,
            };
            // Radix sort by distance (stable, 11-bit digits), then a stable counting
            // sort by node: every node's bucket comes out sorted by distance, so a
            // scan can stop at the first entry beyond the budget.
            let mut entries = entries;
            let mut tmp: Vec<BucketEntry> = vec![(0, 0, 0); entries.len()];
            let mut shift = 0u32;
            while shift < 32 && (shift == 0 || budget_mm >> shift != 0) {
                let mut count = [0usize; 2049];
                for e in &entries {
                    count[((e.1 >> shift) & 2047) as usize + 1] += 1;
                }
                for b in 0..2048 {
                    count[b + 1] += count[b];
                }
                for e in &entries {
                    let b = ((e.1 >> shift) & 2047) as usize;
                    tmp[count[b]] = *e;
                    count[b] += 1;
                }
                std::mem::swap(&mut entries, &mut tmp);
                shift += 11;
            }
            let mut first = vec![0u32; n + 1];
            for &(m, _, _) in &entries {
                first[m as usize + 1] += 1;
            }
            for i in 0..n {
                first[i + 1] += first[i];
            }
            let mut fill = first.clone();
            let mut bucket: Vec<(u32, u32)> = vec![(0, 0); first[n] as usize];
            for &(m, d, t) in &entries {
                bucket[fill[m as usize] as usize] = (t, d);
                fill[m as usize] += 1;
            }
            drop(entries);
            drop(tmp);
            let mut v: Vec<(Vec<(u32, u32)>, SearchStats)> = sources
                .par_iter()
                .with_min_len(64)
                .map_init(
                    || (UpScratch::new(n), Local::new(0, targets.len())),
                    |(s, l), &src| {
                        ch.upward(&[(src, 0)], false, budget_mm, s);
                        l.begin();
                        let mut scanned = 0u64;
                        for &(m, a) in ch.settled(s) {
                            let b =
                                &bucket[first[m as usize] as usize..first[m as usize + 1] as usize];
                            for &(t, d) in b {
                                let v = a.saturating_add(d);
                                if v > budget_mm {
                                    // Sorted by distance: the rest are farther.
                                    break;
                                }
                                scanned += 1;
                                l.offer(t, v);
                            }
                        }
                        let st = SearchStats {
                            searches: 1,
                            settled: ch.settled(s).len() as u64,
                            relaxed: scanned,
                        };
                        (l.drain_unsorted(budget_mm), st)
                    },
                )
                .collect();
            // The bucket searches count once, on the first source.
            if let Some(first) = v.first_mut() {
                first.1 += bucket_stats;
            }
            v
        }
    };
    let mut stats = SearchStats::default();
    for (_, s) in &per_source {
        stats += *s;
    }
    let hits_of = |node: NodeId| -> &[(u32, u32)] {
        let i = sources
            .binary_search(&node)
            .expect("every exit node was searched");
        &per_source[i].0
    };

    let t1 = std::time::Instant::now();
    // Phase 2: combine per residence.
    let results: Vec<T> = residences
        .par_iter()
        .enumerate()
        .with_min_len(64)
        .map_init(
            || Local::new(0, targets.len()),
            |l, (ri, r)| {
                l.begin();
                for (node, cost, ok) in r.exits(g) {
                    if !ok || cost > budget_mm {
                        continue;
                    }
                    for &(t, d) in hits_of(node) {
                        l.offer(t, cost.saturating_add(d));
                    }
                }
                for &t in targets.on_edge(r.edge) {
                    if let Some(d) = r.same_edge_mm(&targets.spots()[t as usize], g) {
                        l.offer(t, d);
                    }
                }
                visit(ri, &l.drain(budget_mm))
            },
        )
        .collect();
    let seconds = [(t1 - t0).as_secs_f64(), t1.elapsed().as_secs_f64()];
    (
        results,
        PerResidence {
            sources,
            stats,
            seconds,
        },
    )
}

/// Distance from every node to the nearest of `subset` (target ids of `targets`),
/// legs included, up to `budget_mm`; `u32::MAX` beyond. One backward search.
pub fn multi_source(
    g: &WalkGraph,
    targets: &Targets,
    subset: &[u32],
    budget_mm: u32,
    s: &mut Scratch,
) -> Vec<u32> {
    let mut seeds = Vec::with_capacity(subset.len() * 2);
    for &t in subset {
        for (n, c, ok) in targets.spots()[t as usize].entries(g) {
            if ok {
                seeds.push((n, c));
            }
        }
    }
    search(g, Direction::Backward, &seeds, budget_mm, s);
    let mut out = vec![u32::MAX; g.node_count()];
    for &n in s.settled() {
        out[n as usize] = s.dist.get_or_max(n as usize);
    }
    out
}

/// A residence's distance to the nearest target of a set, from that set's
/// [`multi_source`] node distances and the set's targets on the residence's edge.
pub fn nearest_from_node_distances(
    g: &WalkGraph,
    targets: &Targets,
    in_subset: &dyn Fn(u32) -> bool,
    node_dist: &[u32],
    r: &Spot,
    budget_mm: u32,
) -> Option<u32> {
    let mut best = u32::MAX;
    for (n, c, ok) in r.exits(g) {
        let d = node_dist[n as usize];
        if ok && d != u32::MAX {
            best = best.min(c.saturating_add(d));
        }
    }
    for &t in targets.on_edge(r.edge) {
        if in_subset(t)
            && let Some(d) = r.same_edge_mm(&targets.spots()[t as usize], g)
        {
            best = best.min(d);
        }
    }
    (best <= budget_mm).then_some(best)
}

/// One bounded forward search from each of `sources`, in parallel; only the work
/// counters are kept (the bench's `--sources nodes` job).
pub fn search_many(g: &WalkGraph, sources: &[NodeId], budget_mm: u32) -> SearchStats {
    sources
        .par_iter()
        .with_min_len(8)
        .fold(
            || Scratch::new(g.node_count()),
            |mut s, &src| {
                search(g, Direction::Forward, &[(src, 0)], budget_mm, &mut s);
                s
            },
        )
        .map(|s| s.stats)
        .reduce(SearchStats::default, |mut a, b| {
            a += b;
            a
        })
}
