//! A location index over every node of a file: 12 bytes per node in the common case.
//!
//! Each decoded node blob becomes a [`NodeBlock`]: its ids as 32-bit offsets from the
//! block's first id (or as full ids when the block's span does not fit), sorted, with
//! their coordinates as integer 10⁻⁷ degrees. Blocks are then sorted by first id; when
//! their id ranges overlap (an unsorted file), they are merged into one block. A lookup
//! is a binary search over the block directory (small, cache-resident) and one within
//! the block.

/// Coordinates as the file stores them: nanodegrees, kept as integer 10⁻⁷ degrees
/// when exact (every common writer uses a granularity of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    /// Longitude in 10⁻⁹ degrees.
    pub(crate) nano_lon: i64,
    /// Latitude in 10⁻⁹ degrees.
    pub(crate) nano_lat: i64,
}

impl Loc {
    /// `[lon, lat]` in degrees, computed exactly as `osmpbf` computes it.
    #[inline]
    pub(crate) fn lonlat(self) -> [f64; 2] {
        [1e-9 * self.nano_lon as f64, 1e-9 * self.nano_lat as f64]
    }
}

#[derive(Debug, Default)]
enum Ids {
    /// `base + offset`, offsets sorted.
    #[default]
    Empty,
    Narrow {
        base: i64,
        off: Vec<u32>,
    },
    Wide(Vec<i64>),
}

#[derive(Debug, Default)]
enum Coords {
    #[default]
    Empty,
    /// 10⁻⁷ degrees (`nano / 100`), exact.
    Deci(Vec<[i32; 2]>),
    /// Nanodegrees, for files whose coordinates are not multiples of 100 nanodegrees.
    Nano(Vec<[i64; 2]>),
}

/// The nodes of one blob, sorted by id.
#[derive(Debug, Default)]
pub(crate) struct NodeBlock {
    ids: Ids,
    coords: Coords,
    len: usize,
}

/// Collects the nodes of one blob.
#[derive(Debug, Default)]
pub(crate) struct NodeBlockBuilder {
    ids: Vec<i64>,
    nano: Vec<[i64; 2]>,
}

impl NodeBlockBuilder {
    #[inline]
    pub(crate) fn push(&mut self, id: i64, nano_lon: i64, nano_lat: i64) {
        self.ids.push(id);
        self.nano.push([nano_lon, nano_lat]);
    }

    pub(crate) fn finish(mut self) -> NodeBlock {
        let len = self.ids.len();
        if len == 0 {
            return NodeBlock::default();
        }
        if !self.ids.is_sorted() {
            let mut order: Vec<u32> = (0..len as u32).collect();
            order.sort_by_key(|&i| self.ids[i as usize]);
            self.ids = order.iter().map(|&i| self.ids[i as usize]).collect();
            self.nano = order.iter().map(|&i| self.nano[i as usize]).collect();
        }
        // Duplicate ids (invalid files): the first occurrence wins, as a lookup finds it.
        let (first, last) = (self.ids[0], self.ids[len - 1]);
        let ids = match last.checked_sub(first) {
            Some(span) if span <= i64::from(u32::MAX) => Ids::Narrow {
                base: first,
                off: self.ids.iter().map(|&i| (i - first) as u32).collect(),
            },
            _ => Ids::Wide(self.ids),
        };
        let exact = self.nano.iter().all(|&[x, y]| {
            x % 100 == 0
                && y % 100 == 0
                && i32::try_from(x / 100).is_ok()
                && i32::try_from(y / 100).is_ok()
        });
        let coords = if exact {
            Coords::Deci(
                self.nano
                    .iter()
                    .map(|&[x, y]| [(x / 100) as i32, (y / 100) as i32])
                    .collect(),
            )
        } else {
            Coords::Nano(self.nano)
        };
        NodeBlock { ids, coords, len }
    }
}

impl NodeBlock {
    fn first_id(&self) -> i64 {
        self.id(0)
    }

    fn last_id(&self) -> i64 {
        self.id(self.len - 1)
    }

    #[inline]
    fn id(&self, i: usize) -> i64 {
        match &self.ids {
            Ids::Narrow { base, off } => base + i64::from(off[i]),
            Ids::Wide(v) => v[i],
            Ids::Empty => unreachable!("empty blocks are dropped"),
        }
    }

    #[inline]
    fn loc(&self, i: usize) -> Loc {
        match &self.coords {
            Coords::Deci(v) => Loc {
                nano_lon: i64::from(v[i][0]) * 100,
                nano_lat: i64::from(v[i][1]) * 100,
            },
            Coords::Nano(v) => Loc {
                nano_lon: v[i][0],
                nano_lat: v[i][1],
            },
            Coords::Empty => unreachable!("empty blocks are dropped"),
        }
    }

    /// Position of `id` in the block.
    #[inline]
    fn find(&self, id: i64) -> Option<usize> {
        match &self.ids {
            Ids::Narrow { base, off } => {
                let d = u32::try_from(id.checked_sub(*base)?).ok()?;
                let i = off.partition_point(|&o| o < d);
                (off.get(i) == Some(&d)).then_some(i)
            }
            Ids::Wide(v) => {
                let i = v.partition_point(|&x| x < id);
                (v.get(i) == Some(&id)).then_some(i)
            }
            Ids::Empty => None,
        }
    }

    fn bytes(&self) -> usize {
        let ids = match &self.ids {
            Ids::Narrow { off, .. } => off.capacity() * 4,
            Ids::Wide(v) => v.capacity() * 8,
            Ids::Empty => 0,
        };
        let coords = match &self.coords {
            Coords::Deci(v) => v.capacity() * 8,
            Coords::Nano(v) => v.capacity() * 16,
            Coords::Empty => 0,
        };
        ids + coords
    }
}

/// Every node of a file, looked up by id. Nodes also get a dense number
/// (`0..len`) in id order, which callers use as an array index.
#[derive(Debug, Default)]
pub(crate) struct NodeIndex {
    blocks: Vec<NodeBlock>,
    /// First id of each block (the directory).
    first: Vec<i64>,
    /// Dense number of each block's first node.
    base: Vec<u32>,
    len: usize,
}

impl NodeIndex {
    /// Builds the index from the blocks of a file, in any order.
    pub(crate) fn new(mut blocks: Vec<NodeBlock>) -> Self {
        blocks.retain(|b| b.len > 0);
        blocks.sort_by_key(NodeBlock::first_id);
        let overlapping = blocks.windows(2).any(|w| w[0].last_id() >= w[1].first_id());
        if overlapping {
            // An unsorted file: one block holding everything, sorted.
            let mut b = NodeBlockBuilder::default();
            for blk in &blocks {
                for i in 0..blk.len {
                    let l = blk.loc(i);
                    b.push(blk.id(i), l.nano_lon, l.nano_lat);
                }
            }
            blocks = vec![b.finish()];
        }
        let mut base = Vec::with_capacity(blocks.len());
        let mut len = 0usize;
        for b in &blocks {
            base.push(u32::try_from(len).unwrap_or(u32::MAX));
            len += b.len;
        }
        NodeIndex {
            first: blocks.iter().map(NodeBlock::first_id).collect(),
            blocks,
            base,
            len,
        }
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.blocks.iter().map(NodeBlock::bytes).sum::<usize>()
            + self.first.capacity() * 8
            + self.base.capacity() * 4
    }

    /// The dense number and location of node `id`.
    #[inline]
    pub(crate) fn get(&self, id: i64) -> Option<(u32, Loc)> {
        let b = self.first.partition_point(|&f| f <= id).checked_sub(1)?;
        let blk = &self.blocks[b];
        let i = blk.find(id)?;
        Some((self.base[b] + i as u32, blk.loc(i)))
    }

    /// Calls `f(dense number, id, location)` for every node, in id order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(u32, i64, Loc)) {
        for (b, blk) in self.blocks.iter().enumerate() {
            for i in 0..blk.len {
                f(self.base[b] + i as u32, blk.id(i), blk.loc(i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ids: &[i64]) -> NodeBlock {
        let mut b = NodeBlockBuilder::default();
        for &i in ids {
            b.push(i, i.wrapping_mul(100), i.wrapping_mul(-100));
        }
        b.finish()
    }

    #[test]
    fn lookups_across_sorted_and_unsorted_blocks() {
        for blocks in [
            vec![
                block(&[1, 5, 9]),
                block(&[10, 20]),
                block(&[1 << 40, (1 << 40) + 3]),
            ],
            // Overlapping ranges and an unsorted block: merged into one.
            vec![
                block(&[7, 3, 11]),
                block(&[4, 2]),
                block(&[i64::MAX - 1, 1]),
            ],
        ] {
            let all: Vec<i64> = {
                let mut v = Vec::new();
                for b in &blocks {
                    for i in 0..b.len {
                        v.push(b.id(i));
                    }
                }
                v.sort_unstable();
                v.dedup();
                v
            };
            let idx = NodeIndex::new(blocks);
            assert_eq!(idx.len(), all.len());
            let mut seen = Vec::new();
            idx.for_each(|dense, id, loc| seen.push((dense, id, loc)));
            assert_eq!(seen.len(), all.len());
            for (rank, &id) in all.iter().enumerate() {
                let (dense, loc) = idx.get(id).expect("present");
                assert_eq!(dense as usize, rank, "dense numbers follow id order");
                assert_eq!(loc.nano_lon, id.wrapping_mul(100));
                assert_eq!(seen[rank], (dense, id, loc));
                assert_eq!(
                    idx.get(id + 1).is_some(),
                    all.binary_search(&(id + 1)).is_ok()
                );
            }
            assert!(idx.get(0).is_none());
            assert!(idx.get(-5).is_none());
            assert!(idx.get(i64::MIN).is_none());
        }
    }

    #[test]
    fn inexact_coordinates_are_kept_in_nanodegrees() {
        let mut b = NodeBlockBuilder::default();
        b.push(1, 1_234_567_891, 42);
        b.push(2, 100, 200);
        let idx = NodeIndex::new(vec![b.finish()]);
        assert_eq!(idx.get(1).unwrap().1.nano_lon, 1_234_567_891);
        assert_eq!(idx.get(2).unwrap().1.lonlat(), [1e-9 * 100.0, 1e-9 * 200.0]);
    }
}
