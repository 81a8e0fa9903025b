//! A stable LSD radix sort on a `u32` key: 11-bit digits, only as many passes as the
//! largest key needs. Used where thousands of small records are ordered per call
//! (reached stretches by edge, bucket entries by distance) and a comparison sort
//! costs several times more.

const BITS: u32 = 11;
const BUCKETS: usize = 1 << BITS;

/// The `len` items of `from`, stably sorted by `key`. `from` is read once for the
/// largest key and twice by the first pass, so it may chain several slices without
/// copying them together first.
pub(crate) fn radix_sorted<T: Copy>(
    from: impl Iterator<Item = T> + Clone,
    len: usize,
    key: impl Fn(&T) -> u32,
) -> Vec<T> {
    let Some(any) = from.clone().next() else {
        return Vec::new();
    };
    let max = from.clone().map(|x| key(&x)).max().unwrap_or(0);
    let mut a = vec![any; len];
    pass(from, &mut a, &key, 0);
    let mut b = Vec::new();
    let mut shift = BITS;
    while shift < 32 && max >> shift != 0 {
        b.resize(len, any);
        pass(a.iter().copied(), &mut b, &key, shift);
        std::mem::swap(&mut a, &mut b);
        shift += BITS;
    }
    a
}

/// Where each of `n` keys' runs starts in a list ordered by key: `starts[k]..starts[k + 1]`
/// (compressed sparse rows from unsorted keys, each below `n`).
pub(crate) fn starts(keys: impl Iterator<Item = u32>, n: usize) -> Vec<u32> {
    let mut first = vec![0u32; n + 1];
    for k in keys {
        first[k as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    first
}

/// Scatters `from` into `to` by the digit of the key at `shift` (stable).
fn pass<T: Copy>(
    from: impl Iterator<Item = T> + Clone,
    to: &mut [T],
    key: &impl Fn(&T) -> u32,
    shift: u32,
) {
    let digit = |x: &T| (key(x) >> shift) as usize & (BUCKETS - 1);
    let mut at = [0usize; BUCKETS + 1];
    for x in from.clone() {
        at[digit(&x) + 1] += 1;
    }
    for b in 0..BUCKETS {
        at[b + 1] += at[b];
    }
    debug_assert_eq!(at[BUCKETS], to.len(), "`len` must be the number of items");
    for x in from {
        let d = digit(&x);
        to[at[d]] = x;
        at[d] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_a_stable_comparison_sort() {
        let mut rnd = crate::reference::xorshift(7);
        for &max in &[1u64, 3, 2_047, 2_048, 5_000_000, u64::from(u32::MAX) + 1] {
            // (key, original position): stability shows in the positions.
            let v: Vec<(u32, u32)> = (0..5_000).map(|i| ((rnd() % max) as u32, i)).collect();
            let mut want = v.clone();
            want.sort_by_key(|x| x.0);
            // Two halves chained, as callers pass pieces.
            let (h1, h2) = v.split_at(1_234);
            let got = radix_sorted(h1.iter().chain(h2).copied(), v.len(), |x| x.0);
            assert_eq!(got, want, "max {max}");
        }
        assert!(radix_sorted(std::iter::empty::<(u32, u32)>(), 0, |x| x.0).is_empty());
    }
}
