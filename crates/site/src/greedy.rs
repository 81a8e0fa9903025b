//! Greedy maximum coverage with lazy evaluation (CELF), plus the plain greedy and an
//! exhaustive optimum used as oracles by the tests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Candidate reach sets in compressed sparse rows: for candidate `c`, the demand
/// items (indices into the weights) it covers, sorted and distinct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachSets {
    first: Vec<u64>,
    items: Vec<u32>,
}

impl ReachSets {
    /// From one item list per candidate (each is sorted and deduplicated here).
    pub fn from_lists(lists: Vec<Vec<u32>>) -> Self {
        let mut first = Vec::with_capacity(lists.len() + 1);
        first.push(0u64);
        let mut items = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for mut l in lists {
            l.sort_unstable();
            l.dedup();
            items.extend_from_slice(&l);
            first.push(items.len() as u64);
        }
        ReachSets { first, items }
    }

    /// From `(candidate, item)` pairs (candidates below `candidates`; duplicates
    /// are kept once). Counting sort: O(pairs + candidates).
    pub fn from_pairs(pairs: Vec<(u32, u32)>, candidates: usize) -> Self {
        let mut first = vec![0u64; candidates + 1];
        for &(c, _) in &pairs {
            first[c as usize + 1] += 1;
        }
        for c in 0..candidates {
            first[c + 1] += first[c];
        }
        let mut fill: Vec<u64> = first[..candidates].to_vec();
        let mut items = vec![0u32; pairs.len()];
        for (c, i) in pairs {
            items[fill[c as usize] as usize] = i;
            fill[c as usize] += 1;
        }
        // Sort and deduplicate each row in place, compacting.
        let mut out = 0usize;
        let mut new_first = Vec::with_capacity(candidates + 1);
        new_first.push(0u64);
        for c in 0..candidates {
            let (a, b) = (first[c] as usize, first[c + 1] as usize);
            items[a..b].sort_unstable();
            let mut last = None;
            for k in a..b {
                let v = items[k];
                if last != Some(v) {
                    items[out] = v;
                    out += 1;
                    last = Some(v);
                }
            }
            new_first.push(out as u64);
        }
        items.truncate(out);
        items.shrink_to_fit();
        ReachSets {
            first: new_first,
            items,
        }
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.first.len().saturating_sub(1)
    }

    /// Whether there are no candidates.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items candidate `c` covers.
    #[inline]
    pub fn set(&self, c: usize) -> &[u32] {
        &self.items[self.first[c] as usize..self.first[c + 1] as usize]
    }

    /// Total (candidate, item) incidences.
    pub fn pairs(&self) -> u64 {
        self.items.len() as u64
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> u64 {
        (self.first.capacity() * 8 + self.items.capacity() * 4) as u64
    }
}

/// One greedy choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The candidate.
    pub candidate: usize,
    /// Weight of the items it newly covers.
    pub gain: u64,
    /// Those items, sorted.
    pub newly: Vec<u32>,
}

/// Why the greedy stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It picked the number of sites asked for.
    Count,
    /// The best remaining gain was below the minimum (or zero: nothing left to cover
    /// by any candidate).
    MinGain,
}

fn gain(sets: &ReachSets, c: usize, weights: &[u64], covered: &[bool]) -> u64 {
    sets.set(c)
        .iter()
        .filter(|&&i| !covered[i as usize])
        .fold(0u64, |acc, &i| acc.saturating_add(weights[i as usize]))
}

fn take(sets: &ReachSets, c: usize, g: u64, covered: &mut [bool]) -> Pick {
    let newly: Vec<u32> = sets
        .set(c)
        .iter()
        .copied()
        .filter(|&i| !covered[i as usize])
        .collect();
    for &i in &newly {
        covered[i as usize] = true;
    }
    Pick {
        candidate: c,
        gain: g,
        newly,
    }
}

/// Greedy maximum coverage with lazy evaluation (CELF, Leskovec et al. 2007): up to
/// `k` candidates, each covering the most still-uncovered weight; ties go to the
/// lowest candidate index. Stops early when the best gain is below `min_gain` or
/// zero. Items already `covered` count for nothing.
///
/// Coverage is submodular, so a gain computed in an earlier round is an upper bound
/// of the current one: a candidate popped from the max-heap with a gain computed in
/// this round beats every other candidate without evaluating them. The result is the
/// plain greedy's (`greedy_plain`, kept for the tests), which covers at least (1 − 1/e) ≈ 63.2 % of
/// the best possible `k`-subset's weight (Nemhauser, Wolsey and Fisher 1978).
pub fn greedy_celf(
    sets: &ReachSets,
    weights: &[u64],
    covered: &mut [bool],
    k: usize,
    min_gain: u64,
) -> (Vec<Pick>, Stop) {
    // (gain, lowest index first, round the gain was computed in)
    let mut heap: BinaryHeap<(u64, Reverse<usize>, usize)> = (0..sets.len())
        .map(|c| (gain(sets, c, weights, covered), Reverse(c), 0))
        .filter(|e| e.0 > 0)
        .collect();
    let mut picks = Vec::new();
    while picks.len() < k {
        let round = picks.len();
        let Some((g, Reverse(c), at)) = heap.pop() else {
            return (picks, Stop::MinGain);
        };
        if at == round {
            if g == 0 || g < min_gain {
                return (picks, Stop::MinGain);
            }
            picks.push(take(sets, c, g, covered));
        } else {
            let fresh = gain(sets, c, weights, covered);
            if fresh > 0 {
                heap.push((fresh, Reverse(c), round));
            }
        }
    }
    (picks, Stop::Count)
}

/// The plain greedy: every round evaluates every candidate. The oracle for
/// [`greedy_celf`] (same picks, same tie-breaking).
#[cfg(test)]
fn greedy_plain(
    sets: &ReachSets,
    weights: &[u64],
    covered: &mut [bool],
    k: usize,
    min_gain: u64,
) -> (Vec<Pick>, Stop) {
    let mut picks = Vec::new();
    while picks.len() < k {
        let mut best: Option<(u64, usize)> = None;
        for c in 0..sets.len() {
            let g = gain(sets, c, weights, covered);
            if best.is_none_or(|(bg, _)| g > bg) {
                best = Some((g, c));
            }
        }
        match best {
            Some((g, c)) if g > 0 && g >= min_gain => picks.push(take(sets, c, g, covered)),
            _ => return (picks, Stop::MinGain),
        }
    }
    (picks, Stop::Count)
}

/// The best weight any `k` candidates cover together, by trying every `k`-subset
/// (exponential: for tests on small instances only).
#[cfg(test)]
fn exhaustive_best(sets: &ReachSets, weights: &[u64], k: usize) -> u64 {
    fn rec(
        sets: &ReachSets,
        weights: &[u64],
        k: usize,
        from: usize,
        count: &mut [u32],
        value: u64,
        best: &mut u64,
    ) {
        *best = (*best).max(value);
        if k == 0 {
            return;
        }
        for c in from..sets.len() {
            let mut v = value;
            for &i in sets.set(c) {
                if count[i as usize] == 0 {
                    v = v.saturating_add(weights[i as usize]);
                }
                count[i as usize] += 1;
            }
            rec(sets, weights, k - 1, c + 1, count, v, best);
            for &i in sets.set(c) {
                count[i as usize] -= 1;
            }
        }
    }
    let mut count = vec![0u32; weights.len()];
    let mut best = 0;
    rec(sets, weights, k, 0, &mut count, 0, &mut best);
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn instance() -> impl Strategy<Value = (Vec<Vec<u32>>, Vec<u64>)> {
        (1usize..25, 1usize..12).prop_flat_map(|(items, cands)| {
            (
                prop::collection::vec(
                    prop::collection::vec(0..items as u32, 0..(items + 1)),
                    cands,
                ),
                // Small weights make ties (and the tie-breaking) frequent.
                prop::collection::vec(0u64..6, items),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            rng_seed: proptest::test_runner::RngSeed::Fixed(11),
            ..ProptestConfig::default()
        })]

        #[test]
        fn celf_equals_plain_greedy((lists, w) in instance(), k in 1usize..6, min_gain in 0u64..4) {
            let sets = ReachSets::from_lists(lists);
            let mut a = vec![false; w.len()];
            let mut b = vec![false; w.len()];
            let lazy = greedy_celf(&sets, &w, &mut a, k, min_gain);
            let plain = greedy_plain(&sets, &w, &mut b, k, min_gain);
            prop_assert_eq!(&lazy, &plain);
            prop_assert_eq!(a, b);
            // Gains never grow (submodularity) and each is exactly its newly covered weight.
            for p in &lazy.0 {
                prop_assert_eq!(p.gain, p.newly.iter().map(|&i| w[i as usize]).sum::<u64>());
            }
            for pair in lazy.0.windows(2) {
                prop_assert!(pair[0].gain >= pair[1].gain);
            }
        }

        #[test]
        fn greedy_is_within_one_minus_one_over_e_of_the_optimum((lists, w) in instance(), k in 1usize..4) {
            let sets = ReachSets::from_lists(lists);
            let mut covered = vec![false; w.len()];
            let (picks, _) = greedy_celf(&sets, &w, &mut covered, k, 0);
            let greedy: u64 = picks.iter().map(|p| p.gain).sum();
            let best = exhaustive_best(&sets, &w, k);
            prop_assert!(greedy <= best);
            // best <= greedy / (1 - 1/e)  <=>  best * (1 - 1/e) <= greedy
            prop_assert!(best as f64 * (1.0 - (-1.0f64).exp()) <= greedy as f64 + 1e-9,
                "greedy {} vs optimum {}", greedy, best);
        }

        #[test]
        fn pairs_give_the_same_sets((lists, _w) in instance(), seed in 0u64..1000) {
            let mut pairs: Vec<(u32, u32)> = lists
                .iter()
                .enumerate()
                .flat_map(|(c, l)| l.iter().map(move |&i| (c as u32, i)))
                .collect();
            // Any order.
            let n = pairs.len();
            for k in 0..n {
                pairs.swap(k, (k * 7 + seed as usize) % n);
            }
            prop_assert_eq!(ReachSets::from_pairs(pairs, lists.len()), ReachSets::from_lists(lists));
        }
    }

    #[test]
    fn greedy_is_not_optimal_on_the_classic_instance() {
        // Items 0..6; the greedy takes the big middle set first and then needs two
        // more, while the two halves cover everything with k = 2.
        let sets = ReachSets::from_lists(vec![vec![0, 1, 2], vec![3, 4, 5], vec![1, 2, 3, 4]]);
        let w = vec![1; 6];
        let (picks, stop) = greedy_celf(&sets, &w, &mut [false; 6], 2, 0);
        assert_eq!(stop, Stop::Count);
        assert_eq!(picks[0].candidate, 2);
        assert_eq!(picks.iter().map(|p| p.gain).sum::<u64>(), 5);
        assert_eq!(exhaustive_best(&sets, &w, 2), 6);
    }

    #[test]
    fn stops_when_nothing_is_left_or_gain_is_small() {
        let sets = ReachSets::from_lists(vec![vec![0, 1], vec![1], vec![2]]);
        let w = vec![5, 1, 2];
        let (p, stop) = greedy_celf(&sets, &w, &mut [false; 3], 10, 0);
        assert_eq!(stop, Stop::MinGain);
        assert_eq!(
            p.iter().map(|p| (p.candidate, p.gain)).collect::<Vec<_>>(),
            vec![(0, 6), (2, 2)]
        );
        let (p, _) = greedy_celf(&sets, &w, &mut [false; 3], 10, 3);
        assert_eq!(p.len(), 1);
        // Already covered items count for nothing.
        let (p, _) = greedy_celf(&sets, &w, &mut [true, false, false], 1, 0);
        assert_eq!((p[0].candidate, p[0].gain), (2, 2));
    }
}
