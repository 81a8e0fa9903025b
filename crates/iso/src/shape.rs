//! Outlines on the output lattice: every level's rings as lists of shared vertices,
//! and their assembly into polygons with holes.
//!
//! Vertices are snapped to the lattice of output coordinates (1e-7 degrees in the
//! affine frame tangent to the graph's at the place, what GeoJSON's 7 decimals
//! write), so every decision about validity is taken on the very numbers written,
//! with exact integer arithmetic.
//! Snapping is monotone in each axis and the frame is affine, so a marching
//! squares outline whose crossings stay more than a lattice step away from the grid
//! vertices (`Field::scan`'s `clear_m`) keeps its topology: the chords of a cell stay
//! chords of the snapped cell, in the same order along its boundary, and rings neither
//! cross nor touch. Crossings of different levels on one grid edge that snap to the
//! same lattice point become one shared vertex.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use livingcircle_osm::proj::Tangent;

use crate::contour::Rings;

/// Decimals of the output coordinates: vertices lie on the 1e-7 degree lattice.
pub const DECIMALS: i32 = 7;

/// Conversions between projected metres and the output lattice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lattice {
    proj: Tangent,
    /// Lattice units per degree.
    per_deg: f64,
    /// Metres per lattice unit along x and y.
    pub(crate) scale: [f64; 2],
    /// Lattice units per projected metre, and at the projection's origin.
    per_m: [f64; 2],
    at0: [f64; 2],
}

impl Lattice {
    pub(crate) fn new(proj: Tangent) -> Self {
        let per_deg = 10f64.powi(DECIMALS);
        debug_assert!(round_i(2.5) == 3 && round_i(-2.5) == -3 && round_i(-0.4) == 0);
        let k = proj.per_deg();
        let scale = [k[0] / per_deg, k[1] / per_deg];
        let per_m = [1.0 / scale[0], 1.0 / scale[1]];
        let (o, oxy) = (proj.origin(), proj.origin_xy());
        Lattice {
            proj,
            per_deg,
            scale,
            per_m,
            at0: [
                o[0] * per_deg - oxy[0] * per_m[0],
                o[1] * per_deg - oxy[1] * per_m[1],
            ],
        }
    }

    /// The lattice point nearest to projected point `p` (rounding lon and lat to the
    /// output decimals, half away from zero as `f64::round`; monotone in each axis).
    #[inline]
    pub(crate) fn snap(&self, p: [f64; 2]) -> [i32; 2] {
        // The projection is affine: lattice units = metres · units per metre + the
        // origin's (multiplications, no division).
        [
            round_i(p[0] * self.per_m[0] + self.at0[0]) as i32,
            round_i(p[1] * self.per_m[1] + self.at0[1]) as i32,
        ]
    }

    /// A lattice point in degrees `[lon, lat]` (the closest doubles to the integers
    /// divided by 10^DECIMALS, as `round7` gives them).
    #[inline]
    pub(crate) fn deg(&self, q: [i32; 2]) -> [f64; 2] {
        [
            f64::from(q[0]) / self.per_deg,
            f64::from(q[1]) / self.per_deg,
        ]
    }

    /// A lattice point in projected metres (writing it with the output decimals gives
    /// the lattice point back).
    #[inline]
    pub(crate) fn xy(&self, q: [i32; 2]) -> [f64; 2] {
        self.proj.project([
            f64::from(q[0]) / self.per_deg,
            f64::from(q[1]) / self.per_deg,
        ])
    }
}

/// `x.round()` as an integer (half away from zero) for `|x| < 2^52`, without the
/// libm call `f64::round` makes on the baseline x86-64 target.
#[inline]
pub(crate) fn round_i(x: f64) -> i64 {
    let t = x as i64;
    let d = x - t as f64;
    if d >= 0.5 {
        t + 1
    } else if d <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// Rings of every level over one table of distinct vertices.
#[derive(Default)]
pub(crate) struct Arrangement {
    /// Lattice points, one per vertex.
    pub(crate) pts: Vec<[i32; 2]>,
    /// Ring vertex ids, ring after ring (open: the first is not repeated).
    pub(crate) verts: Vec<u32>,
    /// Per ring entry, the grid cell of the chord to the next entry (`u32::MAX`: not
    /// known).
    pub(crate) chords: Vec<u32>,
    /// Per ring, `(level, end in verts)`.
    pub(crate) rings: Vec<(u32, u32)>,
    /// Per source id (grid edge or corner), `(stamp, first vertex)`, valid when the
    /// stamp matches `epoch`; vertices of one source are chained through `same`.
    head: Vec<(u32, u32)>,
    same: Vec<u32>,
    epoch: u32,
}

impl Arrangement {
    /// Starts a new arrangement whose source ids are below `ids` (0: no shared
    /// vertices will be looked up).
    pub(crate) fn reset(&mut self, ids: usize) {
        self.pts.clear();
        self.verts.clear();
        self.chords.clear();
        self.rings.clear();
        self.same.clear();
        if self.head.len() < ids {
            self.head.resize(ids, (0, u32::MAX));
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.head.iter_mut().for_each(|g| g.0 = 0);
            self.epoch = 1;
        }
    }

    /// The vertex of source `id` at lattice point `q` (made when new).
    #[inline]
    fn vertex(&mut self, id: u32, q: [i32; 2]) -> u32 {
        let i = id as usize;
        let mut v = if self.head[i].0 == self.epoch {
            self.head[i].1
        } else {
            u32::MAX
        };
        let first = v;
        while v != u32::MAX {
            if self.pts[v as usize] == q {
                return v;
            }
            v = self.same[v as usize];
        }
        let n = self.pts.len() as u32;
        self.pts.push(q);
        self.same.push(first);
        self.head[i] = (self.epoch, n);
        n
    }

    /// Adds `rings` of `level`: `at` gives each entry's source id (a grid edge or
    /// corner: entries of one source at one lattice point are one vertex), lattice
    /// point and the cell of its chord to the next entry (or `u32::MAX`); with
    /// `shared` false, no other level can share a vertex and the lookup is skipped.
    /// Consecutive entries that land on one point are merged; rings left with fewer
    /// than three vertices are dropped.
    pub(crate) fn add(
        &mut self,
        level: u32,
        rings: &Rings,
        shared: bool,
        at: impl Fn(u32) -> (u32, [i32; 2], u32),
    ) {
        for ring in rings.iter() {
            let begin = self.verts.len();
            for &x in ring {
                let (id, q, cell) = at(x);
                let v = if shared {
                    self.vertex(id, q)
                } else {
                    self.pts.push(q);
                    (self.pts.len() - 1) as u32
                };
                if self.verts.len() > begin && *self.verts.last().expect("non-empty") == v {
                    *self.chords.last_mut().expect("non-empty") = u32::MAX;
                    continue;
                }
                self.verts.push(v);
                self.chords.push(cell);
            }
            while self.verts.len() > begin + 1
                && self.verts[begin] == *self.verts.last().expect("two")
            {
                self.verts.pop();
                self.chords.pop();
                *self.chords.last_mut().expect("non-empty") = u32::MAX;
            }
            if self.verts.len() - begin >= 3 {
                self.rings.push((level, self.verts.len() as u32));
            } else {
                self.verts.truncate(begin);
                self.chords.truncate(begin);
            }
        }
    }

    /// Ring `r`'s vertex ids.
    pub(crate) fn ring(&self, r: usize) -> &[u32] {
        let start = if r == 0 {
            0
        } else {
            self.rings[r - 1].1 as usize
        };
        &self.verts[start..self.rings[r].1 as usize]
    }
}

/// Twice the signed area of a closed ring of lattice points (positive:
/// counter-clockwise), exactly.
pub(crate) fn area2(ring: &[[i64; 2]]) -> i128 {
    let o = ring[0];
    let mut s: i128 = 0;
    for w in ring.windows(2) {
        let (a, b) = (
            [w[0][0] - o[0], w[0][1] - o[1]],
            [w[1][0] - o[0], w[1][1] - o[1]],
        );
        s += i128::from(a[0]) * i128::from(b[1]) - i128::from(b[0]) * i128::from(a[1]);
    }
    s
}

/// Whether `p` lies strictly inside the closed ring `ring` (first point repeated at
/// the end), exactly (no point of a ring is ever tested against it).
fn inside(ring: &[[i64; 2]], p: [i64; 2]) -> bool {
    let mut c = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let o = i128::from(b[0] - a[0]) * i128::from(p[1] - a[1])
                - i128::from(b[1] - a[1]) * i128::from(p[0] - a[0]);
            // The edge crosses the ray to the right of p.
            if (b[1] > a[1]) == (o > 0) {
                c = !c;
            }
        }
    }
    c
}

/// An exterior ring being assembled: twice its area, its points (doubled lattice
/// units), its bounding box and its holes (indices).
type Outer = (i128, Vec<[i64; 2]>, [i64; 4], Vec<usize>);

/// The polygons of `level`: its rings with their vertices for which `alive` holds,
/// at lattice positions `pos`, counter-clockwise ones as exteriors and each clockwise
/// one as a hole of the smallest exterior around it, placed by `xy`.
pub(crate) fn assemble(
    a: &Arrangement,
    level: u32,
    pos: &[[i32; 2]],
    alive: impl Fn(u32) -> bool,
    xy: impl Fn([i32; 2]) -> [f64; 2],
) -> MultiPolygon {
    // In doubled lattice units, so an edge's midpoint is a lattice point too.
    let mut outers: Vec<Outer> = Vec::new();
    let mut holes: Vec<Vec<[i64; 2]>> = Vec::new();
    for r in 0..a.rings.len() {
        if a.rings[r].0 != level {
            continue;
        }
        let all = a.ring(r);
        let mut ring: Vec<[i64; 2]> = Vec::with_capacity(all.len() + 1);
        ring.extend(all.iter().filter(|&&v| alive(v)).map(|&v| {
            let q = pos[v as usize];
            [2 * i64::from(q[0]), 2 * i64::from(q[1])]
        }));
        if ring.len() < 3 {
            continue;
        }
        ring.push(ring[0]);
        let s = area2(&ring);
        if s > 0 {
            let b = ring
                .iter()
                .fold([i64::MAX, i64::MAX, i64::MIN, i64::MIN], |b, p| {
                    [
                        b[0].min(p[0]),
                        b[1].min(p[1]),
                        b[2].max(p[0]),
                        b[3].max(p[1]),
                    ]
                });
            outers.push((s, ring, b, Vec::new()));
        } else {
            holes.push(ring);
        }
    }
    let mut candidates = Vec::new();
    for (h, hole) in holes.iter().enumerate() {
        // The midpoint of the hole's first edge: on no other ring.
        let p = [(hole[0][0] + hole[1][0]) / 2, (hole[0][1] + hole[1][1]) / 2];
        candidates.clear();
        candidates.extend((0..outers.len()).filter(|&k| {
            let b = outers[k].2;
            p[0] > b[0] && p[0] < b[2] && p[1] > b[1] && p[1] < b[3]
        }));
        let owner = if candidates.len() == 1 {
            Some(candidates[0])
        } else {
            candidates
                .iter()
                .copied()
                .filter(|&k| inside(&outers[k].1, p))
                .min_by_key(|&k| outers[k].0)
        };
        if let Some(k) = owner {
            outers[k].3.push(h);
        }
    }
    let ls = |r: &[[i64; 2]]| {
        LineString::from(
            r.iter()
                .map(|p| {
                    let [x, y] = xy([(p[0] / 2) as i32, (p[1] / 2) as i32]);
                    Coord { x, y }
                })
                .collect::<Vec<_>>(),
        )
    };
    MultiPolygon::new(
        outers
            .iter()
            .map(|(_, o, _, hs)| Polygon::new(ls(o), hs.iter().map(|&h| ls(&holes[h])).collect()))
            .collect(),
    )
}
