//! Nested isochrones as contours of a distance field.
//!
//! Each grid vertex holds, per threshold, its distance to the nearest reached
//! segment (only within `r + 1.05 cells`; farther vertices stay infinite). The area is
//! `{d <= r}`; its outline is traced with marching squares, crossing points
//! interpolated linearly along grid edges. The field of a larger threshold is
//! pointwise no larger (its reached network is a superset), every crossing moves
//! outwards or stays, and saddles are decided by the cell's mean distance, so the
//! areas nest by construction.

use geo::{Coord, LineString, MultiPolygon, Polygon};

pub(crate) struct Field {
    pub(crate) x0: f64,
    pub(crate) y0: f64,
    pub(crate) cell: f64,
    /// Vertices per row and per column.
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    /// Squared distances, one grid per threshold.
    pub(crate) d2: Vec<Vec<f32>>,
}

impl Field {
    pub(crate) fn new() -> Self {
        Field {
            x0: 0.0,
            y0: 0.0,
            cell: 1.0,
            nx: 0,
            ny: 0,
            d2: Vec::new(),
        }
    }

    /// A field over `[minx, miny, maxx, maxy]` (already including the buffer) with a
    /// margin of two cells, for `levels` thresholds.
    pub(crate) fn reset(&mut self, bbox: [f64; 4], cell: f64, levels: usize) {
        self.cell = cell;
        self.x0 = bbox[0] - 2.0 * cell;
        self.y0 = bbox[1] - 2.0 * cell;
        self.nx = ((bbox[2] + 2.0 * cell - self.x0) / cell).ceil() as usize + 1;
        self.ny = ((bbox[3] + 2.0 * cell - self.y0) / cell).ceil() as usize + 1;
        self.d2.resize_with(levels, Vec::new);
        self.d2.truncate(levels);
        for g in &mut self.d2 {
            g.clear();
            g.resize(self.nx * self.ny, f32::INFINITY);
        }
    }

    /// Lowers the distances of levels `k..` to segment `a`–`b`, for the vertices
    /// within `reach` metres of it.
    pub(crate) fn segment(&mut self, k: usize, a: [f64; 2], b: [f64; 2], reach: f64) {
        let c = self.cell;
        let i0 = (((a[0].min(b[0]) - reach - self.x0) / c).ceil().max(0.0)) as usize;
        let j0 = (((a[1].min(b[1]) - reach - self.y0) / c).ceil().max(0.0)) as usize;
        let i1 = ((a[0].max(b[0]) + reach - self.x0) / c).floor();
        let j1 = ((a[1].max(b[1]) + reach - self.y0) / c).floor();
        if i1 < 0.0 || j1 < 0.0 {
            return;
        }
        let (i1, j1) = (
            (i1 as usize).min(self.nx - 1),
            (j1 as usize).min(self.ny - 1),
        );
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let l2 = dx * dx + dy * dy;
        let inv_l2 = if l2 > 0.0 { 1.0 / l2 } else { 0.0 };
        let reach2 = reach * reach;
        let (nx, levels) = (self.nx, self.d2.len());
        for j in j0..=j1 {
            let py = self.y0 + j as f64 * c - a[1];
            let mut px = self.x0 + i0 as f64 * c - a[0];
            for i in i0..=i1 {
                // Vertex relative to a; t along the segment, clamped.
                let t = ((px * dx + py * dy) * inv_l2).clamp(0.0, 1.0);
                let (qx, qy) = (t * dx - px, t * dy - py);
                px += c;
                let d2 = qx * qx + qy * qy;
                if d2 > reach2 {
                    continue;
                }
                let d2 = d2 as f32;
                for g in &mut self.d2[k..levels] {
                    let v = &mut g[j * nx + i];
                    if d2 < *v {
                        *v = d2;
                    }
                }
            }
        }
    }

    /// The area `{d <= r}` of level `k` as polygons with holes.
    pub(crate) fn polygons(&self, k: usize, r: f64) -> MultiPolygon {
        let (nx, ny, c) = (self.nx, self.ny, self.cell);
        let g = &self.d2[k];
        let r2 = (r * r) as f32;
        let inside = |i: usize, j: usize| g[j * nx + i] <= r2;
        let dist = |i: usize, j: usize| f64::from(g[j * nx + i]).sqrt();
        // Grid edges: horizontal (i, j)-(i+1, j) have ids j * (nx - 1) + i; vertical
        // (i, j)-(i, j+1) have ids h + j * nx + i.
        let h = (nx - 1) * ny;
        let hid = |i: usize, j: usize| (j * (nx - 1) + i) as u32;
        let vid = |i: usize, j: usize| (h + j * nx + i) as u32;
        let point = |id: u32| -> [f64; 2] {
            let id = id as usize;
            let (a, b) = if id < h {
                let (i, j) = (id % (nx - 1), id / (nx - 1));
                ((i, j), (i + 1, j))
            } else {
                let (i, j) = ((id - h) % nx, (id - h) / nx);
                ((i, j), (i, j + 1))
            };
            let (da, db) = (dist(a.0, a.1), dist(b.0, b.1));
            // The crossing of d = r between the two vertices, kept off the vertices.
            let t = if db == da {
                0.5
            } else {
                ((r - da) / (db - da)).clamp(1e-6, 1.0 - 1e-6)
            };
            let (ax, ay) = (self.x0 + a.0 as f64 * c, self.y0 + a.1 as f64 * c);
            let (bx, by) = (self.x0 + b.0 as f64 * c, self.y0 + b.1 as f64 * c);
            [ax + t * (bx - ax), ay + t * (by - ay)]
        };
        // next[crossing] = the crossing that follows it with the area on the left.
        let mut next = vec![u32::MAX; h + nx * (ny - 1)];
        let mut starts = Vec::new();
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let corners = [
                    inside(i, j),
                    inside(i + 1, j),
                    inside(i + 1, j + 1),
                    inside(i, j + 1),
                ];
                let n_in = corners.iter().filter(|&&x| x).count();
                if n_in == 0 || n_in == 4 {
                    continue;
                }
                // Cell edges counter-clockwise: bottom, right, top, left.
                let ids = [hid(i, j), vid(i + 1, j), hid(i, j + 1), vid(i, j)];
                // Crossings in counter-clockwise order, marked leaving (in -> out).
                let mut cross: [(u32, bool); 4] = [(0, false); 4];
                let mut n = 0;
                for e in 0..4 {
                    let (a, b) = (corners[e], corners[(e + 1) % 4]);
                    if a != b {
                        cross[n] = (ids[e], a);
                        n += 1;
                    }
                }
                let mut link = |from: u32, to: u32| {
                    next[from as usize] = to;
                    starts.push(from);
                };
                if n == 2 {
                    let (p, q) = if cross[0].1 {
                        (cross[0].0, cross[1].0)
                    } else {
                        (cross[1].0, cross[0].0)
                    };
                    link(p, q);
                } else {
                    // Saddle: rotate so cross[0] is leaving, then decide by the mean.
                    let s = if cross[0].1 { 0 } else { 1 };
                    let c4 = [
                        cross[s].0,
                        cross[(s + 1) % 4].0,
                        cross[(s + 2) % 4].0,
                        cross[(s + 3) % 4].0,
                    ];
                    let mean =
                        (dist(i, j) + dist(i + 1, j) + dist(i + 1, j + 1) + dist(i, j + 1)) / 4.0;
                    if mean <= r {
                        link(c4[0], c4[1]);
                        link(c4[2], c4[3]);
                    } else {
                        link(c4[0], c4[3]);
                        link(c4[2], c4[1]);
                    }
                }
            }
        }
        // Follow the links into rings.
        let mut rings: Vec<Vec<[f64; 2]>> = Vec::new();
        for s in starts {
            if next[s as usize] == u32::MAX {
                continue;
            }
            let mut ring = Vec::new();
            let mut at = s;
            loop {
                ring.push(point(at));
                let n = next[at as usize];
                next[at as usize] = u32::MAX;
                at = n;
                if at == s || at == u32::MAX {
                    break;
                }
            }
            if ring.len() >= 3 {
                let f = ring[0];
                ring.push(f);
                rings.push(ring);
            }
        }
        assemble(rings)
    }
}

/// Signed area (positive: counter-clockwise) of a closed ring.
fn signed_area(r: &[[f64; 2]]) -> f64 {
    r.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

fn contains(r: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    for w in r.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
        {
            inside = !inside;
        }
    }
    inside
}

/// Counter-clockwise rings are exteriors; each clockwise ring is a hole of the
/// smallest exterior around it.
fn assemble(rings: Vec<Vec<[f64; 2]>>) -> MultiPolygon {
    let mut outers: Vec<(f64, Vec<[f64; 2]>, Vec<LineString>)> = Vec::new();
    let mut holes = Vec::new();
    for r in rings {
        let a = signed_area(&r);
        if a > 0.0 {
            outers.push((a, r, Vec::new()));
        } else {
            holes.push(r);
        }
    }
    let ls = |r: &[[f64; 2]]| {
        LineString::from(
            r.iter()
                .map(|p| Coord { x: p[0], y: p[1] })
                .collect::<Vec<_>>(),
        )
    };
    for hole in holes {
        let p = hole[0];
        if let Some((_, _, hs)) = outers
            .iter_mut()
            .filter(|(_, o, _)| contains(o, p))
            .min_by(|a, b| a.0.total_cmp(&b.0))
        {
            hs.push(ls(&hole));
        }
    }
    MultiPolygon::new(
        outers
            .into_iter()
            .map(|(_, o, hs)| Polygon::new(ls(&o), hs))
            .collect(),
    )
}
