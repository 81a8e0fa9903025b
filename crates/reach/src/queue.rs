//! The priority queue of the search: a binary min-heap of packed `(dist, node)` keys.
//!
//! Packing both into one `u64` makes comparisons a single integer compare; ties
//! break by node id, so the settling order is deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Default)]
pub(crate) struct Queue {
    heap: BinaryHeap<Reverse<u64>>,
}

impl Queue {
    #[inline]
    pub(crate) fn push(&mut self, d: u32, n: u32) {
        self.heap.push(Reverse((u64::from(d) << 32) | u64::from(n)));
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u32, u32)> {
        self.heap
            .pop()
            .map(|Reverse(k)| ((k >> 32) as u32, k as u32))
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}
