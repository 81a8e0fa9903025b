//! A grid of threshold levels: each cell holds the smallest threshold index whose
//! buffered reached network covers the cell's centre.

/// Level of a cell no threshold covers.
pub(crate) const NONE: u8 = u8::MAX;

pub(crate) struct Grid {
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) cell: f64,
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    pub(crate) level: Vec<u8>,
    /// Per level, the cell range `[x0, y0, x1, y1]` (inclusive) it wrote.
    pub(crate) extent: Vec<[usize; 4]>,
}

/// Where the row at height `y` meets the capsule of radius `r` around segment
/// `a`–`b`: one interval `[lo, hi]` of x (the capsule is convex), or `None`.
fn capsule_row(a: [f64; 2], b: [f64; 2], r: f64, y: f64) -> Option<(f64, f64)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in [a, b] {
        let h = r * r - (y - p[1]).powi(2);
        if h >= 0.0 {
            let w = h.sqrt();
            lo = lo.min(p[0] - w);
            hi = hi.max(p[0] + w);
        }
    }
    if len > 0.0 && dy.abs() > 1e-12 * len {
        // Points (x, y) with 0 <= t <= 1 along the segment and |perp| <= r.
        let (ux, uy) = (dx / len, dy / len);
        let mut range = (f64::NEG_INFINITY, f64::INFINITY);
        let mut clip = |k: f64, m: f64, lo_v: f64, hi_v: f64| {
            // lo_v <= k * x + m <= hi_v
            let (p, q) = ((lo_v - m) / k, (hi_v - m) / k);
            let (p, q) = if p <= q { (p, q) } else { (q, p) };
            range = (range.0.max(p), range.1.min(q));
        };
        // Along: t*len = (x - ax) * ux + (y - ay) * uy in [0, len].
        if ux.abs() > 1e-12 {
            clip(ux, (y - a[1]) * uy - a[0] * ux, 0.0, len);
        }
        // Across: (x - ax) * uy - (y - ay) * ux in [-r, r].
        clip(uy, -a[0] * uy - (y - a[1]) * ux, -r, r);
        if ux.abs() <= 1e-12 {
            // Vertical segment: along-coordinate depends on y only.
            let t = (y - a[1]) * uy;
            if !(0.0..=len).contains(&t) {
                range = (f64::INFINITY, f64::NEG_INFINITY);
            }
        }
        if range.0 <= range.1 {
            lo = lo.min(range.0);
            hi = hi.max(range.1);
        }
    } else if len > 0.0 && (y - a[1]).abs() <= r {
        // Horizontal segment: the strip is the whole span.
        lo = lo.min(a[0].min(b[0]));
        hi = hi.max(a[0].max(b[0]));
    }
    (lo <= hi).then_some((lo, hi))
}

impl Grid {
    /// A grid covering `[minx, miny, maxx, maxy]` with a margin of two cells.
    pub(crate) fn reset(&mut self, bbox: [f64; 4], cell: f64) {
        self.cell = cell;
        self.x0 = bbox[0] - 2.0 * cell;
        self.y0 = bbox[1] - 2.0 * cell;
        self.nx = ((bbox[2] - self.x0) / cell).ceil() as usize + 3;
        self.ny = ((bbox[3] - self.y0) / cell).ceil() as usize + 3;
        self.level.clear();
        self.level.resize(self.nx * self.ny, NONE);
        self.extent.clear();
    }

    /// The cell range holding every cell of level `<= level`, inclusive.
    pub(crate) fn extent_upto(&self, level: u8) -> Option<[usize; 4]> {
        self.extent
            .iter()
            .take(usize::from(level) + 1)
            .fold(None, |acc: Option<[usize; 4]>, e| {
                if e[0] > e[2] {
                    return acc;
                }
                Some(acc.map_or(*e, |a| {
                    [
                        a[0].min(e[0]),
                        a[1].min(e[1]),
                        a[2].max(e[2]),
                        a[3].max(e[3]),
                    ]
                }))
            })
    }

    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> u8 {
        self.level[y * self.nx + x]
    }

    /// Marks every cell whose centre lies within `r` of segment `a`–`b` with
    /// `level` (keeping smaller levels). The capsule is convex, so each row meets it
    /// in one interval, computed exactly.
    pub(crate) fn capsule(&mut self, a: [f64; 2], b: [f64; 2], r: f64, level: u8) {
        let c = self.cell;
        let ylo = ((a[1].min(b[1]) - r - self.y0) / c - 0.5).ceil().max(0.0) as usize;
        let yhi = ((a[1].max(b[1]) + r - self.y0) / c - 0.5).floor();
        if yhi < 0.0 {
            return;
        }
        let yhi = (yhi as usize).min(self.ny - 1);
        for row in ylo..=yhi {
            let y = self.y0 + (row as f64 + 0.5) * c;
            let Some((lo, hi)) = capsule_row(a, b, r, y) else {
                continue;
            };
            let xlo = ((lo - self.x0) / c - 0.5).ceil().max(0.0) as usize;
            let xhi = ((hi - self.x0) / c - 0.5).floor();
            if xhi < 0.0 {
                continue;
            }
            let xhi = (xhi as usize).min(self.nx - 1);
            if xlo > xhi {
                continue;
            }
            let l = usize::from(level);
            if self.extent.len() <= l {
                self.extent.resize(l + 1, [usize::MAX, usize::MAX, 0, 0]);
            }
            let e = &mut self.extent[l];
            *e = [e[0].min(xlo), e[1].min(row), e[2].max(xhi), e[3].max(row)];
            let base = row * self.nx;
            for cell in &mut self.level[base + xlo..=base + xhi] {
                if *cell > level {
                    *cell = level;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(g: &Grid, a: [f64; 2], b: [f64; 2], r: f64) -> Vec<bool> {
        let mut v = vec![false; g.nx * g.ny];
        for y in 0..g.ny {
            for x in 0..g.nx {
                let p = [
                    g.x0 + (x as f64 + 0.5) * g.cell,
                    g.y0 + (y as f64 + 0.5) * g.cell,
                ];
                let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                let l2 = dx * dx + dy * dy;
                let t = if l2 > 0.0 {
                    (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let q = [a[0] + t * dx, a[1] + t * dy];
                v[y * g.nx + x] = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt() <= r;
            }
        }
        v
    }

    #[test]
    fn capsule_matches_brute_force() {
        let segs = [
            ([0.0, 0.0], [40.0, 13.0]),
            ([5.0, 5.0], [5.0, 35.0]),
            ([0.0, 10.0], [30.0, 10.0]),
            ([20.0, 20.0], [20.0, 20.0]),
            ([33.0, 2.0], [1.0, 31.0]),
        ];
        for (a, b) in segs {
            let mut g = Grid {
                x0: 0.0,
                y0: 0.0,
                cell: 1.0,
                nx: 0,
                ny: 0,
                level: vec![],
                extent: vec![],
            };
            g.reset([-10.0, -10.0, 50.0, 50.0], 1.3);
            g.capsule(a, b, 7.0, 0);
            let want = brute(&g, a, b, 7.0);
            let mut wrong = 0;
            for (i, w) in want.iter().enumerate() {
                if (g.level[i] == 0) != *w {
                    wrong += 1;
                }
            }
            // Cells whose centre lies within float noise of the boundary may differ.
            assert!(wrong <= 2, "{a:?} {b:?}: {wrong} cells differ");
        }
    }
}
