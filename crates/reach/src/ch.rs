//! A contraction hierarchy (Geisberger et al. 2008) and bucket-based many-to-many
//! distances (Knopp et al. 2007) for the per-residence tables.
//!
//! Nodes are contracted in the order of a lazily updated priority (edge difference
//! plus contracted neighbours); a shortcut `u → w` is added when a bounded witness
//! search finds no path as short as `u → v → w`. An incomplete witness search adds the
//! shortcut, which costs speed, never correctness. Distances come from upward searches
//! only: `d(s, t) = min over m of up(s, m) + down(m, t)`.

use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use livingcircle_graph::{NodeId, WalkGraph};

use crate::stamped::Stamped;

/// Upward arcs of a contracted graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Up {
    first: Vec<u32>,
    arcs: Vec<(NodeId, u32)>,
}

impl Up {
    fn from_lists(lists: Vec<Vec<(NodeId, u32)>>) -> Self {
        let mut first = Vec::with_capacity(lists.len() + 1);
        let mut arcs = Vec::new();
        first.push(0);
        for l in lists {
            arcs.extend(l);
            first.push(arcs.len() as u32);
        }
        Up { first, arcs }
    }
    #[inline]
    fn of(&self, n: NodeId) -> &[(NodeId, u32)] {
        &self.arcs[self.first[n as usize] as usize..self.first[n as usize + 1] as usize]
    }
}

/// A contraction hierarchy of a [`WalkGraph`]'s walking directions.
///
/// Inside, nodes are numbered by contraction rank (the order they were contracted
/// in), so the upper levels that every search climbs through sit together in
/// memory; [`Ch::upward`] takes graph node ids and [`Ch::settled`] gives rank ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ch {
    /// Rank of each graph node.
    rank: Vec<u32>,
    /// Arcs `v → w` (w contracted after v), in walking direction, by rank.
    up_out: Up,
    /// Arcs `u → v` (u contracted after v), stored at `v` as `(u, cost)`, by rank;
    /// `None` when they equal `up_out` (a walking graph without one-way paths), so
    /// forward and backward searches read one list.
    up_in: Option<Up>,
    /// Shortcuts added.
    pub shortcuts: usize,
}

/// Settled-node limit of a witness search.
const WITNESS_SETTLE_LIMIT: usize = 64;

impl Ch {
    /// Contracts `g`.
    ///
    /// # Complexity
    /// Roughly O(V · d² · w) for average degree d and witness-search size w; tens of
    /// milliseconds on a city of 10⁴ junctions.
    pub fn build(g: &WalkGraph) -> Ch {
        Self::build_with_progress(g, &|_, _| {})
    }

    /// [`Ch::build`], telling `progress(contracted, nodes)` how far it is (every
    /// 4,096 nodes, from the building thread).
    pub fn build_with_progress(g: &WalkGraph, progress: &(dyn Fn(u64, u64) + Sync)) -> Ch {
        let n = g.node_count();
        let mut out: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let mut inc: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let add = |list: &mut Vec<(NodeId, u32)>, to: NodeId, c: u32| {
            if let Some(x) = list.iter_mut().find(|x| x.0 == to) {
                x.1 = x.1.min(c);
            } else {
                list.push((to, c));
            }
        };
        for u in 0..n as NodeId {
            for &(v, c) in g.forward().arcs(u) {
                if u != v {
                    add(&mut out[u as usize], v, c);
                    add(&mut inc[v as usize], u, c);
                }
            }
        }
        let symmetric = g.two_way();
        let mut rem = Remaining {
            out,
            inc,
            contracted: vec![false; n],
            deleted: vec![0u32; n],
            symmetric,
        };
        let mut up_out: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let mut up_in: Vec<Vec<(NodeId, u32)>> = vec![Vec::new(); n];
        let mut w = Witness::new(n);
        let mut shortcuts_total = 0usize;
        let mut rank = vec![0u32; n];
        let mut next_rank = 0u32;
        // The first priorities depend on the graph alone: computed in parallel.
        // One witness scratch per pool thread (it is O(nodes)).
        let scratch = crate::PerThread::new(|| (Witness::new(n), Vec::new()));
        let first: Vec<Reverse<(i64, NodeId)>> = (0..n as NodeId)
            .into_par_iter()
            .with_min_len(1024)
            .map(|v| scratch.with(|(w, buf)| Reverse((rem.priority(v, w, buf), v))))
            .collect();
        drop(scratch);
        let mut heap: BinaryHeap<Reverse<(i64, NodeId)>> = BinaryHeap::from(first);
        let mut buf = Vec::new();
        while let Some(Reverse((p, v))) = heap.pop() {
            if rem.contracted[v as usize] {
                continue;
            }
            // Lazy update: recompute; if no longer the smallest, put it back.
            let q = rem.priority(v, &mut w, &mut buf);
            if q > p
                && let Some(Reverse((next, _))) = heap.peek()
                && q > *next
            {
                heap.push(Reverse((q, v)));
                continue;
            }
            // Contract v: `buf` holds its shortcuts, just computed by `priority` on
            // the same state.
            let vi = v as usize;
            let Remaining {
                out,
                inc,
                contracted,
                deleted,
                ..
            } = &mut rem;
            contracted[vi] = true;
            rank[vi] = next_rank;
            next_rank += 1;
            if next_rank.is_multiple_of(4096) {
                progress(u64::from(next_rank), n as u64);
            }
            up_out[vi] = out[vi]
                .iter()
                .copied()
                .filter(|x| !contracted[x.0 as usize])
                .collect();
            up_in[vi] = inc[vi]
                .iter()
                .copied()
                .filter(|x| !contracted[x.0 as usize])
                .collect();
            for &(x, _) in up_out[vi].iter().chain(up_in[vi].iter()) {
                deleted[x as usize] += 1;
                inc[x as usize].retain(|a| a.0 != v);
                out[x as usize].retain(|a| a.0 != v);
            }
            shortcuts_total += buf.len();
            for &(a, b, c) in &buf {
                add(&mut out[a as usize], b, c);
                add(&mut inc[b as usize], a, c);
            }
        }
        // Renumber by rank; arcs sorted by head within each node.
        let by_rank = |lists: Vec<Vec<(NodeId, u32)>>| {
            let mut ranked = vec![Vec::new(); n];
            for (v, l) in lists.into_iter().enumerate() {
                let mut l: Vec<(NodeId, u32)> =
                    l.into_iter().map(|(w, c)| (rank[w as usize], c)).collect();
                l.sort_unstable();
                ranked[rank[v] as usize] = l;
            }
            ranked
        };
        let up_out = by_rank(up_out);
        let up_in = by_rank(up_in);
        let up_in = (up_in != up_out).then(|| Up::from_lists(up_in));
        Ch {
            rank,
            up_out: Up::from_lists(up_out),
            up_in,
            shortcuts: shortcuts_total,
        }
    }
}

/// The graph still to contract: arcs among the remaining nodes (plus arcs to
/// contracted ones, skipped), which nodes are contracted, and how many contracted
/// neighbours each remaining node has.
struct Remaining {
    out: Vec<Vec<(NodeId, u32)>>,
    inc: Vec<Vec<(NodeId, u32)>>,
    contracted: Vec<bool>,
    deleted: Vec<u32>,
    /// Every arc has its reverse at the same cost (kept so by contraction, which
    /// then adds shortcuts in pairs).
    symmetric: bool,
}

impl Remaining {
    /// Shortcuts `(from, to, cost)` that contracting `v` requires, into `buf`.
    fn shortcuts(&self, v: NodeId, w: &mut Witness, buf: &mut Vec<(NodeId, NodeId, u32)>) {
        buf.clear();
        let vi = v as usize;
        for &(u, a) in &self.inc[vi] {
            if self.contracted[u as usize] {
                continue;
            }
            // The witness search from u may stop once every other neighbour x of v
            // is settled, or beyond the longest path u → v → x. When every arc has
            // its reverse at the same cost, the search from u answers for x → u
            // too, so it only looks at the neighbours after u.
            w.new_targets();
            let mut limit = 0u32;
            for &(x, b) in &self.out[vi] {
                if x != u && !self.contracted[x as usize] && (!self.symmetric || x > u) {
                    w.add_target(x);
                    limit = limit.max(a.saturating_add(b));
                }
            }
            if w.targets == 0 {
                continue;
            }
            w.run(u, v, limit, &self.out, &self.contracted);
            for &(x, b) in &self.out[vi] {
                if x == u || self.contracted[x as usize] || (self.symmetric && x < u) {
                    continue;
                }
                let via = a.saturating_add(b);
                if w.dist(x).is_none_or(|d| d > via) {
                    buf.push((u, x, via));
                    if self.symmetric {
                        buf.push((x, u, via));
                    }
                }
            }
        }
    }

    /// Contraction order key (smaller first): edge difference plus contracted
    /// neighbours; leaves `v`'s shortcuts in `buf`.
    fn priority(&self, v: NodeId, w: &mut Witness, buf: &mut Vec<(NodeId, NodeId, u32)>) -> i64 {
        self.shortcuts(v, w, buf);
        let vi = v as usize;
        let degree = self.out[vi].len() + self.inc[vi].len();
        buf.len() as i64 * 2 - degree as i64 + i64::from(self.deleted[vi])
    }
}

/// A bounded Dijkstra over the not-yet-contracted graph, avoiding one node, that
/// stops once its targets are settled.
struct Witness {
    dist: Stamped,
    heap: BinaryHeap<Reverse<(u32, NodeId)>>,
    /// `is_target[x] == stamp`: x is a target of the current search.
    is_target: Vec<u32>,
    stamp: u32,
    /// Targets not yet settled.
    targets: usize,
}

impl Witness {
    fn new(n: usize) -> Self {
        Witness {
            dist: Stamped::new(n),
            heap: BinaryHeap::new(),
            // Entries start below the first stamp: no node is a target before
            // `new_targets`.
            is_target: vec![0; n],
            stamp: 1,
            targets: 0,
        }
    }

    /// Starts a new target set (empty).
    fn new_targets(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.is_target.fill(0);
            self.stamp = 1;
        }
        self.targets = 0;
    }

    fn add_target(&mut self, x: NodeId) {
        let slot = &mut self.is_target[x as usize];
        if *slot != self.stamp {
            *slot = self.stamp;
            self.targets += 1;
        }
    }

    fn dist(&self, n: NodeId) -> Option<u32> {
        self.dist.get(n as usize)
    }

    fn run(
        &mut self,
        from: NodeId,
        avoid: NodeId,
        limit: u32,
        out: &[Vec<(NodeId, u32)>],
        contracted: &[bool],
    ) {
        self.dist.reset();
        self.heap.clear();
        self.dist.lower(from as usize, 0);
        self.heap.push(Reverse((0, from)));
        let mut settled = 0;
        while let Some(Reverse((d, x))) = self.heap.pop() {
            if d > self.dist.get_or_max(x as usize) {
                continue;
            }
            settled += 1;
            if d > limit || settled > WITNESS_SETTLE_LIMIT {
                break;
            }
            if self.is_target[x as usize] == self.stamp {
                self.targets -= 1;
                if self.targets == 0 {
                    // Every target's distance is final.
                    break;
                }
            }
            for &(y, c) in &out[x as usize] {
                if y == avoid || contracted[y as usize] {
                    continue;
                }
                let nd = d.saturating_add(c);
                if self.dist.lower(y as usize, nd) {
                    self.heap.push(Reverse((nd, y)));
                }
            }
        }
    }
}

/// The ranks an upward search has reached and not yet processed, as a two-level
/// bitset. Upward arcs lead to higher ranks, so a search only ever adds ranks
/// above the one it is processing and reads the set once, front to back: no heap.
struct RankSet {
    words: Vec<u64>,
    /// Bit `w` of `summary[w / 64]`: word `w` may be non-empty.
    summary: Vec<u64>,
}

impl RankSet {
    fn new(n: usize) -> Self {
        let words = n.div_ceil(64).max(1);
        RankSet {
            words: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
        }
    }

    #[inline]
    fn insert(&mut self, r: u32) {
        let w = (r / 64) as usize;
        self.words[w] |= 1u64 << (r % 64);
        self.summary[w / 64] |= 1u64 << (w % 64);
    }

    /// Removes and returns the smallest rank, given that none lies before word
    /// `*at`; moves `*at` to the word it came from. `None` leaves the set empty.
    #[inline]
    fn pop(&mut self, at: &mut usize) -> Option<u32> {
        let mut w = *at;
        loop {
            let bits = self.words[w];
            if bits != 0 {
                self.words[w] = bits & (bits - 1);
                *at = w;
                return Some(w as u32 * 64 + bits.trailing_zeros());
            }
            // Word w is empty: drop it from the summary and go to the next one.
            let mut sw = w / 64;
            self.summary[sw] &= !(1u64 << (w % 64));
            let mut m = self.summary[sw];
            while m == 0 {
                sw += 1;
                if sw == self.summary.len() {
                    return None;
                }
                m = self.summary[sw];
            }
            w = sw * 64 + m.trailing_zeros() as usize;
        }
    }
}

/// Per-thread state of upward searches: distances by rank, kept at `u32::MAX`
/// between searches and reset through the list of ranks a search processed.
pub struct UpScratch {
    dist: Vec<u32>,
    visited: Vec<u32>,
    set: RankSet,
    settled: Vec<(NodeId, u32)>,
}

impl UpScratch {
    /// Scratch for a graph of `n` nodes.
    pub fn new(n: usize) -> Self {
        UpScratch {
            dist: vec![u32::MAX; n],
            visited: Vec::new(),
            set: RankSet::new(n),
            settled: Vec::new(),
        }
    }
}

impl Ch {
    /// Upward search from `seeds` (graph node ids with initial costs; forward:
    /// along upward arcs in walking direction; backward: against it), pruned at
    /// `budget`. Read the settled `(rank id, dist)` pairs with [`Ch::settled`].
    ///
    /// Nodes are processed in rank order, not distance order: every arc of the
    /// upward graph leads to a higher rank, so when a node comes up all arcs into it
    /// have been relaxed and its distance is final. A node is stalled (neither
    /// settled nor expanded) when a higher neighbour's current distance plus the arc
    /// down to it is shorter: its label is then not a shortest distance, so no
    /// shortest path meets there (stall-on-demand, checked against the distances
    /// known so far — upper bounds, so a stall is always justified).
    pub fn upward(&self, seeds: &[(NodeId, u32)], backward: bool, budget: u32, s: &mut UpScratch) {
        for &r in &s.visited {
            s.dist[r as usize] = u32::MAX;
        }
        s.visited.clear();
        s.settled.clear();
        // `u32::MAX` marks "unset": a budget of u32::MAX cannot be reached.
        let budget = budget.min(u32::MAX - 1);
        let mut at = usize::MAX;
        for &(n, c) in seeds {
            let r = self.rank[n as usize];
            if c <= budget {
                s.dist[r as usize] = s.dist[r as usize].min(c);
                s.set.insert(r);
                at = at.min((r / 64) as usize);
            }
        }
        if at == usize::MAX {
            return;
        }
        let up_in = self.up_in.as_ref().unwrap_or(&self.up_out);
        let (up, down) = if backward {
            (up_in, &self.up_out)
        } else {
            (&self.up_out, up_in)
        };
        while let Some(x) = s.set.pop(&mut at) {
            s.visited.push(x);
            let d = s.dist[x as usize];
            // No early exit: down lists are short and the loop stays branch-free.
            let stalled = down.of(x).iter().fold(false, |acc, &(y, c)| {
                acc | (s.dist[y as usize].saturating_add(c) < d)
            });
            if stalled {
                continue;
            }
            s.settled.push((x, d));
            for &(y, c) in up.of(x) {
                let nd = d.saturating_add(c);
                if nd <= budget {
                    let slot = &mut s.dist[y as usize];
                    *slot = (*slot).min(nd);
                    s.set.insert(y);
                }
            }
        }
    }

    /// Whether forward and backward searches share one arc list (every arc of the
    /// graph has its reverse at the same cost).
    #[cfg(test)]
    pub(crate) fn two_way(&self) -> bool {
        self.up_in.is_none()
    }

    /// `(rank id, dist)` settled by the last [`Ch::upward`] search in `s`, in rank
    /// order: rank ids are the hierarchy's own node numbers, the same for every
    /// search.
    pub fn settled<'s>(&self, s: &'s UpScratch) -> &'s [(NodeId, u32)] {
        &s.settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive distances from `from` over `out`, avoiding `avoid` and contracted nodes.
    fn naive(
        out: &[Vec<(NodeId, u32)>],
        from: NodeId,
        avoid: NodeId,
        contracted: &[bool],
    ) -> Vec<u64> {
        let n = out.len();
        let mut dist = vec![u64::MAX; n];
        let mut done = vec![false; n];
        dist[from as usize] = 0;
        while let Some(x) = (0..n)
            .filter(|&i| !done[i] && dist[i] != u64::MAX)
            .min_by_key(|&i| dist[i])
        {
            done[x] = true;
            for &(y, c) in &out[x] {
                if y != avoid && !contracted[y as usize] {
                    let nd = dist[x] + u64::from(c);
                    dist[y as usize] = dist[y as usize].min(nd);
                }
            }
        }
        dist
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

        /// A witness search that stops once its targets are settled still gives every
        /// target within the limit its exact distance (graphs under the settle limit).
        #[test]
        fn witness_settles_every_target_exactly(
            arcs in prop::collection::vec((0u32..30, 0u32..30, 0u32..100), 1..120),
            contracted in prop::collection::vec(prop::bool::weighted(0.2), 30),
            from in 0u32..30,
            avoid in 0u32..30,
            targets in prop::collection::vec(0u32..30, 1..6),
            limit in 0u32..400,
        ) {
            let mut out = vec![Vec::new(); 30];
            for &(a, b, c) in &arcs {
                out[a as usize].push((b, c));
            }
            let mut contracted = contracted;
            contracted[from as usize] = false;
            let mut w = Witness::new(30);
            // Two rounds on one scratch, the second across the stamp's wrap-around:
            // the target marks must not leak between them.
            // Round 0 marks with stamp 1, the value the wrap-around restarts at.
            w.stamp = 0;
            for round in 0..2 {
                if round == 1 {
                    w.stamp = u32::MAX;
                }
                // Other targets in round 1, so that a stale mark would be miscounted.
                let these: Vec<u32> = targets.iter().map(|&t| (t + round) % 30).collect();
                w.new_targets();
                for &t in &these {
                    w.add_target(t);
                }
                w.run(from, avoid, limit, &out, &contracted);
                let want = naive(&out, from, avoid, &contracted);
                for &t in &these {
                    if want[t as usize] <= u64::from(limit) && t != avoid && !contracted[t as usize] {
                        prop_assert_eq!(w.dist(t).map(u64::from), Some(want[t as usize]), "target {}", t);
                    }
                }
            }
        }
    }
}
