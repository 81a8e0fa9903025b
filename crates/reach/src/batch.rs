//! Searches over many places at once, in parallel.

use livingcircle_graph::{NodeId, WalkGraph};
use rayon::prelude::*;

use crate::ch::{Ch, UpScratch};
use crate::radix::{radix_sorted, starts};
use crate::spots::Seeds;
use crate::{Direction, Scratch, SearchStats, Spot, Targets, search};

/// `(node, distance, group)`: a target group's backward upward search reached the node.
type BucketEntry = (NodeId, u32, u32);

/// A range of target groups with the bucket entries of their searches.
type GroupPiece = (std::ops::Range<usize>, (Vec<BucketEntry>, SearchStats));

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

/// Per-thread best-distance table over ids (targets or target groups), with the
/// ids touched since [`Local::begin`]. Entries are `u32::MAX` between uses and
/// reset through the touched list; the list has room for every id, so an offer
/// writes without branching on whether the id is new.
struct Local {
    best: Vec<u32>,
    touched: Vec<u32>,
    len: usize,
}

impl Local {
    fn new(ids: usize) -> Self {
        Local {
            best: vec![u32::MAX; ids],
            // One spare slot: an offer writes before it counts.
            touched: vec![0; ids + 1],
            len: 0,
        }
    }
    fn begin(&mut self) {
        for &t in &self.touched[..self.len] {
            self.best[t as usize] = u32::MAX;
        }
        self.len = 0;
    }
    /// Lowers `t`'s best distance to `d` (`d == u32::MAX` is a no-op).
    #[inline]
    fn offer(&mut self, t: u32, d: u32) {
        let old = self.best[t as usize];
        self.best[t as usize] = old.min(d);
        self.touched[self.len] = t;
        self.len += usize::from(old == u32::MAX && d != u32::MAX);
    }
    /// Ids offered since [`Local::begin`], in the order first offered
    /// (deterministic: it follows the search).
    fn touched(&self) -> &[u32] {
        &self.touched[..self.len]
    }

    /// Appends the ids offered since [`Local::begin`] within `budget` to `out`.
    fn drain_into(&self, budget: u32, out: &mut Vec<(u32, u32)>) {
        out.extend(
            self.touched()
                .iter()
                .map(|&t| (t, self.best[t as usize]))
                .filter(|&(_, d)| d <= budget),
        );
    }
}

/// The distinct end nodes that residences leave their edges by within the budget:
/// the sources of [`per_residence`], sorted.
pub fn source_nodes(g: &WalkGraph, residences: &[Spot], budget_mm: u32) -> Vec<NodeId> {
    // Marks on the nodes, read in order: linear, where sorting the exits of tens of
    // thousands of residences cost more than the searches on a small city.
    let mut marked = vec![false; g.node_count()];
    for r in residences {
        for (node, cost, ok) in r.exits(g) {
            if ok && cost <= budget_mm {
                marked[node as usize] = true;
            }
        }
    }
    (0..g.node_count() as NodeId)
        .filter(|&n| marked[n as usize])
        .collect()
}

/// For every residence, every target within `budget_mm` with its exact walking
/// distance (legs included), sorted by target id; `visit(residence index, hits)`
/// turns each into a result. Results come back in residence order and do not
/// depend on the thread count. One call of [`ManyToMany::per_residence`].
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
    let m = ManyToMany::new(g, ch, targets, budget_mm);
    let (results, mut done) = m.per_residence(residences, visit);
    done.stats += m.bucket_stats;
    (results, done)
}

/// The targets' side of per-residence searches, prepared once: with a contraction
/// hierarchy, the buckets of the targets' backward upward searches. Residences are
/// then answered in as many calls of [`ManyToMany::per_residence`] as the caller
/// likes (a whole city in chunks), each giving the same results as one call.
pub struct ManyToMany<'a> {
    g: &'a WalkGraph,
    targets: &'a Targets,
    budget_mm: u32,
    hierarchy: Option<(&'a Ch, Buckets)>,
    /// Work of the targets' searches (zero without a hierarchy).
    pub bucket_stats: SearchStats,
}

/// Bucket entries by node: `bucket[first[m]..first[m + 1]]` holds node m's
/// `(group, dist)` pairs, sorted by distance.
struct Buckets {
    first: Vec<u32>,
    bucket: Vec<(u32, u32)>,
}

impl<'a> ManyToMany<'a> {
    /// Prepares searches to `targets` within `budget_mm`: by one bounded Dijkstra
    /// per source node, or, given `ch`, by bucket many-to-many over it.
    pub fn new(g: &'a WalkGraph, ch: Option<&'a Ch>, targets: &'a Targets, budget_mm: u32) -> Self {
        let (hierarchy, bucket_stats) = match ch {
            None => (None, SearchStats::default()),
            Some(ch) => {
                let (b, st) = target_buckets(g, ch, targets, budget_mm);
                (Some((ch, b)), st)
            }
        };
        ManyToMany {
            g,
            targets,
            budget_mm,
            hierarchy,
            bucket_stats,
        }
    }

    /// Heap bytes of the buckets.
    pub fn heap_bytes(&self) -> usize {
        self.hierarchy
            .as_ref()
            .map_or(0, |(_, b)| b.first.capacity() * 4 + b.bucket.capacity() * 8)
    }

    /// See [`per_residence`]. Every distinct end node of the residences' edges gets
    /// its targets within the budget once; each residence then combines the two end
    /// nodes of its edge with its offset (and targets on its own edge directly). The
    /// work counters exclude the buckets' ([`ManyToMany::bucket_stats`]).
    pub fn per_residence<T, F>(&self, residences: &[Spot], visit: F) -> (Vec<T>, PerResidence)
    where
        T: Send,
        F: Fn(usize, &[(u32, u32)]) -> T + Sync,
    {
        let (g, targets, budget_mm) = (self.g, self.targets, self.budget_mm);
        let sources = source_nodes(g, residences, budget_mm);

        let t0 = std::time::Instant::now();
        // Phase 1: every source node's targets within the budget.
        let (mut hits, stats) = match &self.hierarchy {
            None => dijkstra_per_source(g, targets, &sources, budget_mm),
            Some((ch, b)) => hierarchy_per_source(g, ch, b, targets, &sources, budget_mm),
        };

        let t1 = std::time::Instant::now();
        // Phase 2: each source's hits sorted by target once, then every residence
        // merges the sorted lists of its two exits (and the targets on its own edge)
        // in one pass.
        hits.sort_runs();
        let hits_of = |node: NodeId| -> &[(u32, u32)] {
            let i = sources
                .binary_search(&node)
                .expect("every exit node was searched");
            hits.of(i)
        };
        let results: Vec<T> = residences
            .par_iter()
            .enumerate()
            .with_min_len(64)
            .map_init(
                || [Vec::new(), Vec::new(), Vec::new()],
                |[out, edge, merged]: &mut [Vec<(u32, u32)>; 3], (ri, r)| {
                    let [x, y] = r.exits(g).map(|(node, cost, ok)| {
                        if ok && cost <= budget_mm {
                            (hits_of(node), cost)
                        } else {
                            (&[][..], 0)
                        }
                    });
                    out.clear();
                    merge_min(x, y, budget_mm, out);
                    let on_edge = targets.on_edge(r.edge);
                    if !on_edge.is_empty() {
                        // Sorted by target id, as the edge index keeps them.
                        edge.clear();
                        edge.extend(on_edge.iter().filter_map(|&t| {
                            r.same_edge_mm(&targets.spots()[t as usize], g)
                                .map(|d| (targets.id_of(t), d))
                        }));
                        if targets.is_grouped() {
                            // By id, each id once at its smallest distance.
                            edge.sort_unstable();
                            edge.dedup_by_key(|x| x.0);
                        }
                        merged.clear();
                        merge_min((out, 0), (edge, 0), budget_mm, merged);
                        std::mem::swap(out, merged);
                    }
                    visit(ri, out)
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
}

fn merge_min(
    (a, ca): (&[(u32, u32)], u32),
    (b, cb): (&[(u32, u32)], u32),
    budget: u32,
    out: &mut Vec<(u32, u32)>,
) {
    let (mut i, mut j) = (0, 0);
    let mut push = |t: u32, d: u32| {
        if d <= budget {
            out.push((t, d));
        }
    };
    while i < a.len() && j < b.len() {
        let (ta, da) = a[i];
        let (tb, db) = b[j];
        if ta < tb {
            push(ta, da.saturating_add(ca));
            i += 1;
        } else if tb < ta {
            push(tb, db.saturating_add(cb));
            j += 1;
        } else {
            push(ta, da.saturating_add(ca).min(db.saturating_add(cb)));
            i += 1;
            j += 1;
        }
    }
    for &(t, d) in &a[i..] {
        push(t, d.saturating_add(ca));
    }
    for &(t, d) in &b[j..] {
        push(t, d.saturating_add(cb));
    }
}

/// One value per thread of the pool (made once per call, or once per run across many
/// parallel steps): rayon's `fold` and
/// `map_init` make one per task split, which for O(nodes) scratch on searches of a
/// few microseconds costs more than the searches.
pub struct PerThread<T>(Vec<Padded<T>>);

/// A value on cache lines of its own: the counters and vector lengths a search
/// updates all the time must not share a line with another thread's.
#[repr(align(128))]
struct Padded<T>(std::sync::Mutex<T>);

impl<T> PerThread<T> {
    /// One value per thread of the current pool, made by `make`.
    pub fn new(make: impl Fn() -> T) -> Self {
        PerThread(
            (0..rayon::current_num_threads())
                .map(|_| Padded(std::sync::Mutex::new(make())))
                .collect(),
        )
    }

    /// Runs `f` with the calling thread's value (a task runs on one thread, so the
    /// lock is never contended).
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        // A poisoned lock means a search on this thread panicked mid-way: its
        // scratch is not clean, and the panic reaches the caller anyway.
        let mut v = self.0[i]
            .0
            .lock()
            .expect("a search on this thread panicked");
        f(&mut v)
    }
}

/// Runs `f` over `0..n` in ranges handed out while the work lasts, on every thread
/// of the pool, and returns each range with its result, in range order.
///
/// A thread takes `remaining / (2 · threads)` items at a time, clamped to
/// `min..=max` ("guided" scheduling): ranges shrink toward the end, so the threads
/// finish within one small range of each other and the calling thread does not wait
/// (and fall asleep) while another finishes a long last task; a thread that wakes
/// late simply takes less. Which ranges there are depends on timing, so `f` must
/// give every item a result of its own.
fn guided<T, F>(n: usize, min: usize, max: usize, f: F) -> Vec<(std::ops::Range<usize>, T)>
where
    T: Send,
    F: Fn(std::ops::Range<usize>) -> T + Sync,
{
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    debug_assert!(min <= max);
    let next = AtomicUsize::new(0);
    let threads = rayon::current_num_threads();
    let mut parts: Vec<(std::ops::Range<usize>, T)> = (0..threads)
        .into_par_iter()
        .with_max_len(1)
        .flat_map_iter(|_| {
            let mut mine = Vec::new();
            loop {
                let seen = next.load(Relaxed);
                if seen >= n {
                    break;
                }
                let size = ((n - seen) / (2 * threads)).clamp(min.max(1), max.max(1));
                let start = next.fetch_add(size, Relaxed);
                if start >= n {
                    break;
                }
                let range = start..(start + size).min(n);
                mine.push((range.clone(), f(range)));
            }
            mine
        })
        .collect();
    parts.sort_unstable_by_key(|p| p.0.start);
    parts
}

/// Every source's `(target, dist)` hits, in parts of consecutive sources (one
/// [`guided`] range each): a part holds its sources' hits one after another, with
/// the end of each source's run.
struct Hits {
    parts: Vec<HitPart>,
    /// For every source, its part.
    part_of: Vec<u32>,
}

/// One range's hits: its first source, the end of each source's run in `hits`, and
/// the runs.
struct HitPart {
    first: usize,
    ends: Vec<u32>,
    hits: Vec<(u32, u32)>,
}

impl Hits {
    /// Runs `f(source index, out)` for every source, in parallel, at most `max`
    /// sources a task; `f` appends that source's hits to `out` and returns its work
    /// counters.
    fn collect<S, F>(
        sources: &[NodeId],
        max: usize,
        state: &PerThread<S>,
        f: F,
    ) -> (Hits, SearchStats)
    where
        S: Send,
        F: Fn(&mut S, usize, &mut Vec<(u32, u32)>) -> SearchStats + Sync + Send,
    {
        let ranges = guided(sources.len(), 1, max, |range| {
            state.with(|state| {
                let mut ends = Vec::with_capacity(range.len());
                let mut out = Vec::new();
                let mut stats = SearchStats::default();
                let first = range.start;
                for i in range {
                    stats += f(state, i, &mut out);
                    ends.push(out.len() as u32);
                }
                (
                    HitPart {
                        first,
                        ends,
                        hits: out,
                    },
                    stats,
                )
            })
        });
        let mut stats = SearchStats::default();
        let mut parts = Vec::with_capacity(ranges.len());
        let mut part_of = Vec::with_capacity(sources.len());
        for (range, (part, s)) in ranges {
            stats += s;
            part_of.extend(std::iter::repeat_n(parts.len() as u32, range.len()));
            parts.push(part);
        }
        (Hits { parts, part_of }, stats)
    }

    /// Sorts every source's hits by target (each target appears once per source),
    /// in parallel over sources (parts differ in size).
    fn sort_runs(&mut self) {
        let mut runs: Vec<&mut [(u32, u32)]> = Vec::with_capacity(self.part_of.len());
        for part in &mut self.parts {
            let mut rest = &mut part.hits[..];
            let mut start = 0;
            for &end in &part.ends {
                let (run, tail) = std::mem::take(&mut rest).split_at_mut(end as usize - start);
                runs.push(run);
                rest = tail;
                start = end as usize;
            }
        }
        runs.par_iter_mut()
            .with_min_len(64)
            .for_each(|run| run.sort_unstable());
    }

    /// The hits of source `i`.
    #[inline]
    fn of(&self, i: usize) -> &[(u32, u32)] {
        let HitPart { first, ends, hits } = &self.parts[self.part_of[i] as usize];
        let j = i - first;
        let start = if j == 0 { 0 } else { ends[j - 1] as usize };
        &hits[start..ends[j] as usize]
    }
}

/// Every source node's targets within the budget, by one bounded Dijkstra each.
fn dijkstra_per_source(
    g: &WalkGraph,
    targets: &Targets,
    sources: &[NodeId],
    budget_mm: u32,
) -> (Hits, SearchStats) {
    let n = g.node_count();
    let state = PerThread::new(|| (Scratch::new(n), Local::new(targets.ids())));
    // Searches of tens of microseconds: small tasks balance the threads.
    Hits::collect(sources, 8, &state, |(scratch, l), i, out| {
        let before = scratch.stats;
        search(
            g,
            Direction::Forward,
            &[(sources[i], 0)],
            budget_mm,
            scratch,
        );
        l.begin();
        for &x in scratch.settled() {
            let d = scratch.dist.get_or_max(x as usize);
            for &(t, c) in targets.at_node(x) {
                l.offer(targets.id_of(t), d.saturating_add(c));
            }
        }
        l.drain_into(budget_mm, out);
        scratch.stats - before
    })
}

/// The buckets of the targets' backward upward searches over the hierarchy `ch`
/// (Knopp et al. 2007).
///
/// Targets meeting the network at one point (edge and offset; [`Targets`] groups
/// them) form a group: one backward upward search from the group's entries (costs
/// along the edge, without legs) leaves `(group, dist + smallest leg)` in the bucket
/// of every node it settles. A source's forward upward search then scans the buckets
/// of the nodes it settles ([`hierarchy_per_source`]); a group's best distance `d`
/// gives each member `d - smallest leg + its leg`. Adding a leg shifts every label of
/// a search alike, so stalling and the result are those of one search per target.
///
/// With owners ([`Targets::grouped`]) a group is an owner instead: one search from
/// the entries of all its targets, each seeded with its cost along the edge plus its
/// leg, leaves `(owner, dist)`: the distance to the owner's nearest target. A
/// multi-seed upward search is exact like a single-seed one: a label it stalls is
/// longer than some path to the same node, so it cannot be the meeting node of the
/// shortest way from a source to the nearest target.
fn target_buckets(
    g: &WalkGraph,
    ch: &Ch,
    targets: &Targets,
    budget_mm: u32,
) -> (Buckets, SearchStats) {
    let n = g.node_count();
    let spots = targets.spots();
    let grouped = targets.is_grouped();
    let groups = if grouped {
        targets.ids()
    } else {
        targets.points()
    };
    let min_leg = |k: usize| spots[targets.at_point(k)[0] as usize].leg_mm;
    let scratch = PerThread::new(|| (UpScratch::new(n), Vec::new()));

    // Each range of groups lists (node, dist, group); the lists go to `into_buckets`
    // as they are (no concatenation), in group order.
    let pieces = guided(groups, 1, 64, |range| {
        let mut out = Vec::new();
        let mut st = SearchStats::default();
        scratch.with(|(s, seeds): &mut (UpScratch, Vec<(NodeId, u32)>)| {
            for k in range {
                seeds.clear();
                if grouped {
                    for &t in targets.owned(k) {
                        seeds.extend(Seeds::usable(spots[t as usize].entries(g)));
                    }
                } else {
                    let at = spots[targets.at_point(k)[0] as usize];
                    seeds.extend(Seeds::usable(at.entries(g)));
                    debug_assert_eq!(at.leg_mm, min_leg(k));
                }
                seeds.retain(|x| x.1 <= budget_mm);
                if seeds.is_empty() {
                    continue;
                }
                ch.upward(seeds, true, budget_mm, s);
                let settled = ch.settled(s);
                out.extend(settled.iter().map(|&(m, d)| (m, d, k as u32)));
                st += SearchStats {
                    searches: 1,
                    settled: settled.len() as u64,
                    relaxed: settled.len() as u64,
                };
            }
        });
        (out, st)
    });
    let mut bucket_stats = SearchStats::default();
    for (_, (_, st)) in &pieces {
        bucket_stats += *st;
    }
    let (first, bucket) = into_buckets(&pieces, n);
    (Buckets { first, bucket }, bucket_stats)
}

/// Every source node's targets within the budget: one forward upward search per
/// source, scanning the targets' buckets.
fn hierarchy_per_source(
    g: &WalkGraph,
    ch: &Ch,
    b: &Buckets,
    targets: &Targets,
    sources: &[NodeId],
    budget_mm: u32,
) -> (Hits, SearchStats) {
    let n = g.node_count();
    let spots = targets.spots();
    let grouped = targets.is_grouped();
    let groups = if grouped {
        targets.ids()
    } else {
        targets.points()
    };
    let min_leg = |k: usize| spots[targets.at_point(k)[0] as usize].leg_mm;
    let scratch = PerThread::new(|| (UpScratch::new(n), Local::new(groups)));
    let (first, bucket) = (&b.first, &b.bucket);
    // Searches of about a microsecond: at most 64 a task keep the scheduling cost
    // small.
    Hits::collect(sources, 64, &scratch, |(s, l), i, out| {
        ch.upward(&[(sources[i], 0)], false, budget_mm, s);
        l.begin();
        let mut scanned = 0u64;
        for &(m, a) in ch.settled(s) {
            let b = &bucket[first[m as usize] as usize..first[m as usize + 1] as usize];
            for &(k, d) in b {
                let v = a.saturating_add(d);
                if v > budget_mm {
                    // Sorted by distance: the rest are farther.
                    break;
                }
                scanned += 1;
                l.offer(k, v);
            }
        }
        if grouped {
            // Owners: the group is the id, its best the distance.
            l.drain_into(budget_mm, out);
            return SearchStats {
                searches: 1,
                settled: ch.settled(s).len() as u64,
                relaxed: scanned,
            };
        }
        for &k in l.touched() {
            let v = l.best[k as usize] - min_leg(k as usize);
            for &t in targets.at_point(k as usize) {
                let d = v.saturating_add(spots[t as usize].leg_mm);
                if d > budget_mm {
                    // Members come by leg: the rest are farther.
                    break;
                }
                out.push((t, d));
            }
        }
        SearchStats {
            searches: 1,
            settled: ch.settled(s).len() as u64,
            relaxed: scanned,
        }
    })
}

/// Bucket entries grouped by node, each node's sorted by distance (so a scan can
/// stop at the first entry beyond the budget): `bucket[first[m]..first[m + 1]]`
/// holds node m's `(group, dist)` pairs.
fn into_buckets(pieces: &[GroupPiece], n: usize) -> (Vec<u32>, Vec<(u32, u32)>) {
    // By distance (the sort reads the pieces where they are), then a stable counting
    // sort by node.
    let len = pieces.iter().map(|p| p.1.0.len()).sum();
    let a = radix_sorted(
        pieces.iter().flat_map(|p| p.1.0.iter().copied()),
        len,
        |e| e.1,
    );
    let first = starts(a.iter().map(|e| e.0), n);
    let mut fill = first.clone();
    let mut bucket: Vec<(u32, u32)> = vec![(0, 0); len];
    for &(m, d, k) in &a {
        bucket[fill[m as usize] as usize] = (k, d);
        fill[m as usize] += 1;
    }
    (first, bucket)
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
    let seeds: Vec<(NodeId, u32)> = subset
        .iter()
        .flat_map(|&t| Seeds::usable(targets.spots()[t as usize].entries(g)))
        .collect();
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
    // Thousands of searches of a few microseconds: rayon's own splitting with a
    // scratch per split measured faster here than `guided` with `PerThread`
    // (criterion `batch_parallel`, 5–19 %).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the pool and however the ranges fall, they are non-empty, in order,
    /// and cover `0..n` exactly once.
    #[test]
    fn guided_ranges_cover_every_item_once() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for n in [0, 1, threads.saturating_sub(1), 7, 1000, 4099] {
                for (min, max) in [(1, 1), (1, 8), (1, 64), (5, 5)] {
                    let parts = pool.install(|| guided(n, min, max, |r| r.clone()));
                    let mut at = 0;
                    for (range, echoed) in &parts {
                        assert_eq!(range, echoed);
                        assert_eq!(range.start, at, "n {n}, {threads} threads");
                        assert!(!range.is_empty() && range.len() <= max);
                        at = range.end;
                    }
                    assert_eq!(at, n, "n {n}, {threads} threads");
                }
            }
        }
    }
}
