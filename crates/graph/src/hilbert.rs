//! Hilbert-curve order for node numbering.

/// The position of `(x, y)` (each below `2^16`) along a Hilbert curve of order 16.
pub(crate) fn index(mut x: u32, mut y: u32) -> u64 {
    let n: u32 = 1 << 16;
    let mut d: u64 = 0;
    let mut s = n / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_on_the_curve_are_neighbours_in_the_plane() {
        // Walk a 16x16 block in Hilbert order and check each step moves one cell.
        let mut cells: Vec<(u64, u32, u32)> = (0..16)
            .flat_map(|x| (0..16).map(move |y| (index(x << 12, y << 12), x, y)))
            .collect();
        cells.sort_unstable();
        for w in cells.windows(2) {
            let dx = w[0].1.abs_diff(w[1].1);
            let dy = w[0].2.abs_diff(w[1].2);
            assert_eq!(dx + dy, 1, "{w:?}");
        }
    }
}
