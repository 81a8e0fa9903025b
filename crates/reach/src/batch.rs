//! Searches over many places at once, in parallel.

use livingcircle_graph::{NodeId, WalkGraph};
use rayon::prelude::*;

use crate::{Direction, Scratch, SearchStats, Spot, Targets, search};

/// What [`per_residence`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerResidence {
    /// The distinct nodes searched from (end nodes of the residences' edges).
    pub sources: Vec<NodeId>,
    /// Work counters of those searches.
    pub stats: SearchStats,
}

/// Per-thread state of the batch: search scratch plus a stamped best-distance table
/// over targets.
struct Local {
    scratch: Scratch,
    best: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
    touched: Vec<u32>,
}

impl Local {
    fn new(nodes: usize, targets: usize) -> Self {
        Local {
            scratch: Scratch::new(nodes),
            best: vec![u32::MAX; targets],
            stamp: vec![0; targets],
            generation: 0,
            touched: Vec::new(),
        }
    }
    fn begin(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
        self.touched.clear();
    }
    #[inline]
    fn offer(&mut self, t: u32, d: u32) {
        let i = t as usize;
        if self.stamp[i] != self.generation {
            self.stamp[i] = self.generation;
            self.best[i] = d;
            self.touched.push(t);
        } else if d < self.best[i] {
            self.best[i] = d;
        }
    }
    fn drain(&mut self, budget: u32) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = self
            .touched
            .iter()
            .map(|&t| (t, self.best[t as usize]))
            .filter(|&(_, d)| d <= budget)
            .collect();
        v.sort_unstable();
        v
    }
}

/// For every residence, every target within `budget_mm` with its exact walking
/// distance (legs included), sorted by target id; `visit(residence index, hits)`
/// turns each into a result. Results come back in residence order and do not
/// depend on the thread count.
///
/// One bounded search runs from each distinct end node of the residences' edges;
/// each residence then combines the two searches of its edge with its offset (and
/// targets on its own edge directly).
pub fn per_residence<T, F>(
    g: &WalkGraph,
    targets: &Targets,
    residences: &[Spot],
    budget_mm: u32,
    visit: F,
) -> (Vec<T>, PerResidence)
where
    T: Send,
    F: Fn(usize, &[(u32, u32)]) -> T + Sync,
{
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

    // Phase 1: one search per source node; keep targets within the budget.
    let n = g.node_count();
    let per_source: Vec<(Vec<(u32, u32)>, SearchStats)> = sources
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
                    let d = l.scratch.dist[x as usize];
                    for &(t, c) in targets.at_node(x) {
                        l.offer(t, d.saturating_add(c));
                    }
                }
                let mut st = l.scratch.stats;
                st.searches -= before.searches;
                st.settled -= before.settled;
                st.relaxed -= before.relaxed;
                (l.drain(budget_mm), st)
            },
        )
        .collect();
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
    (results, PerResidence { sources, stats })
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
        out[n as usize] = s.dist[n as usize];
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
