//! Distances that reset in O(1): a value counts only when its stamp equals the
//! current generation (the idea of fast_paths' `ValidFlags`).

pub(crate) struct Stamped {
    val: Vec<u32>,
    stamp: Vec<u32>,
    generation: u32,
}

impl Stamped {
    /// `n` unset values.
    pub(crate) fn new(n: usize) -> Self {
        Stamped {
            val: vec![u32::MAX; n],
            stamp: vec![0; n],
            generation: 1,
        }
    }

    /// Unsets every value (an O(n) clear only once in 2³² resets).
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
    }

    /// The value, if set since the last reset.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<u32> {
        (self.stamp[i] == self.generation).then(|| self.val[i])
    }

    /// The value, or `u32::MAX` when unset.
    #[inline]
    pub(crate) fn get_or_max(&self, i: usize) -> u32 {
        if self.stamp[i] == self.generation {
            self.val[i]
        } else {
            u32::MAX
        }
    }

    /// Sets the value to `v` if it is unset or larger; says whether it changed.
    #[inline]
    pub(crate) fn lower(&mut self, i: usize, v: u32) -> bool {
        if self.stamp[i] != self.generation {
            self.stamp[i] = self.generation;
            self.val[i] = v;
            true
        } else if v < self.val[i] {
            self.val[i] = v;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_unsets_and_lower_keeps_the_minimum() {
        let mut s = Stamped::new(3);
        assert_eq!(s.get(1), None);
        assert!(s.lower(1, 10));
        assert!(!s.lower(1, 12));
        assert!(s.lower(1, 7));
        assert_eq!((s.get(1), s.get_or_max(2)), (Some(7), u32::MAX));
        s.reset();
        assert_eq!(s.get(1), None);
        // Wrapping the generation clears the stamps instead of reviving old values.
        s.generation = u32::MAX;
        s.lower(0, 5);
        s.reset();
        assert_eq!(s.get(0), None);
    }
}
