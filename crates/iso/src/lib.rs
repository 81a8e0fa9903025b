/*!
Isochrone polygons: the area a person reaches on foot from a place.

The shape is the reached network — reached edges in full, frontier edges up to the
reached fraction, the place's own edge around it — buffered by `buffer_m`, built in
the graph's local metric projection. Nothing is drawn where no reached edge passes,
so rivers, campuses and block interiors stay out, and the polygons keep their
**holes**.

Nested areas (the default) are contours of a distance field (`contour.rs`): every
grid vertex (spacing `cell_m`) holds its distance to the nearest reached segment, per
threshold, and marching squares trace `{d <= buffer}` with crossings interpolated
along grid edges. Each segment is drawn once, at the smallest threshold that reaches
it, so larger thresholds have pointwise smaller fields and the areas **nest by
construction** (5 ⊂ 10 ⊂ 15). Rings (disjoint bands) come from a level raster
(`raster.rs`, `trace.rs`): each cell of `ring_cell_m` holds the smallest threshold
whose buffered network covers its centre, and a band is the cells of one level.

Every vertex is snapped to the lattice of the written coordinates ([`DECIMALS`]
decimals of a degree, `shape.rs`), so the polygons are valid as written, and the
outlines of all thresholds are simplified together within `simplify_m`
(`simplify.rs`), keeping them valid, nested (or disjoint) and around the reached
nodes. [`IsoOptions::check`] refuses what the grids cannot hold before anything is
allocated.

# Example
```
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};
use livingcircle_iso::{IsoOptions, IsoScratch, isochrones};
use livingcircle_reach::Spot;
use geo::Area;
let way = WalkWay { way_id: 1, nodes: vec![1, 2], coords: vec![[11.0, 48.0], [11.01, 48.0]],
    direction: FootDirection::Both, highway: "footway".into(), name: None };
let (g, _) = WalkGraph::build(&[way], &BuildOptions::default()).unwrap();
let spot = Spot { edge: 0, offset_mm: g.edge(0).length_mm / 2, leg_mm: 0 };
let opts = IsoOptions::new(vec![100_000, 200_000], 25.0);
let mut s = IsoScratch::new(&g);
let iso = isochrones(&g, &spot, &opts, &mut s);
// 200 m of street (100 m each way) buffered by 25 m: about 200 x 50 + a 25 m disc.
let a = iso[0].shape.unsigned_area();
assert!((a - (200.0 * 50.0 + std::f64::consts::PI * 625.0)).abs() < 400.0, "{a}");
assert!(iso[1].shape.unsigned_area() > a);
```
*/

mod contour;
mod raster;
mod shape;
mod simplify;
mod trace;

use geo::MultiPolygon;
use livingcircle_graph::WalkGraph;
use livingcircle_osm::proj::Tangent;
use livingcircle_reach::{EdgeReach, Scratch, Spot, search_from_spot, stretches_within};

use raster::Grid;
use shape::{Arrangement, Lattice};

pub use shape::DECIMALS;

/// Settings for [`isochrones`].
#[derive(Debug, Clone, PartialEq)]
pub struct IsoOptions {
    /// Network budgets in millimetres (leg included), ascending.
    pub thresholds_mm: Vec<u32>,
    /// Buffer around the reached network, metres.
    pub buffer_m: f64,
    /// Distance-field grid spacing for nested areas, metres (default: the buffer /
    /// 2.5).
    pub cell_m: f64,
    /// Raster cell size for `rings`, metres (default: an eighth of the buffer).
    pub ring_cell_m: f64,
    /// Disjoint bands (0–5, 5–10, …) instead of nested areas.
    pub rings: bool,
    /// Simplification tolerance in metres (0: none; rings still lose the vertices in
    /// the middle of straight runs). Every polygon stays valid, the levels stay nested
    /// (or, for rings, disjoint) and the reached nodes stay inside.
    pub simplify_m: f64,
    /// Whether to build the polygons; without, only areas and lengths are computed.
    pub geometry: bool,
}

/// The smallest buffer, metres: grid cells must stay well above the output lattice
/// (7 decimals of a degree, about 1 cm).
pub const MIN_BUFFER_M: f64 = 0.25;
/// The most distance-field cells one threshold's grid may have (each costs about 60
/// bytes of per-thread scratch when tracing).
pub const MAX_GRID_CELLS: f64 = (1u64 << 22) as f64;
/// The most distance-field values over all thresholds (4 bytes each).
pub const MAX_FIELD_VALUES: f64 = (1u64 << 24) as f64;
/// The most raster cells for `rings` (1 byte each).
pub const MAX_RING_CELLS: f64 = (1u64 << 26) as f64;
/// The most thresholds (levels are bytes in the rings raster, one value is "none").
pub const MAX_THRESHOLDS: usize = 254;
/// Reached network lies within this factor of the budget (ground metres, times the
/// frame's scale at the place) from the place: haversine lengths are within 0.5 % of
/// the ellipsoid's, and the scale changes by less than 0.1 % across an isochrone.
const REACH_FACTOR: f64 = 1.05;
/// Crossings stay this far (ground metres) from the grid vertices, about two lattice
/// steps.
const CLEAR_M: f64 = 0.02;

/// Options that [`isochrones`] cannot work with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum IsoError {
    /// The buffer is below [`MIN_BUFFER_M`] (or not a number).
    BufferTooSmall {
        /// The buffer asked for, metres.
        buffer_m: f64,
    },
    /// The grid one isochrone needs at this buffer would be too large.
    GridTooLarge {
        /// Cells (or values) needed.
        cells: f64,
        /// The limit.
        limit: f64,
        /// The smallest buffer (metres) that fits, for these thresholds.
        min_buffer_m: f64,
    },
    /// More thresholds than [`MAX_THRESHOLDS`].
    TooManyThresholds {
        /// Thresholds asked for.
        count: usize,
    },
    /// The simplification tolerance is negative or not a number.
    BadSimplify {
        /// The tolerance asked for, metres.
        simplify_m: f64,
    },
}

impl std::fmt::Display for IsoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IsoError::BufferTooSmall { buffer_m } => write!(
                f,
                "buffer {buffer_m} m is below the smallest, {MIN_BUFFER_M} m (output \
                 coordinates have 7 decimals, about 1 cm)"
            ),
            IsoError::GridTooLarge {
                cells,
                limit,
                min_buffer_m,
            } => write!(
                f,
                "an isochrone would need a grid of {cells:.3e} cells, more than the limit of \
                 {limit:.3e}; use a buffer of at least {min_buffer_m} m or shorter thresholds"
            ),
            IsoError::TooManyThresholds { count } => {
                write!(f, "{count} thresholds, more than {MAX_THRESHOLDS}")
            }
            IsoError::BadSimplify { simplify_m } => {
                write!(f, "simplification {simplify_m} m: must be 0 or more")
            }
        }
    }
}

impl std::error::Error for IsoError {}

impl IsoOptions {
    /// Nested areas for `thresholds_mm` (sorted here) with a `buffer_m` buffer,
    /// simplified by 1 m.
    pub fn new(mut thresholds_mm: Vec<u32>, buffer_m: f64) -> Self {
        thresholds_mm.sort_unstable();
        thresholds_mm.dedup();
        IsoOptions {
            thresholds_mm,
            buffer_m,
            cell_m: buffer_m / 2.5,
            ring_cell_m: buffer_m / 8.0,
            rings: false,
            simplify_m: 1.0,
            geometry: true,
        }
    }

    /// The grid sizes the largest threshold can need at buffer `r` (cells of `cell`):
    /// (cells per grid, grid values over all levels).
    fn grid_need(&self, r: f64, cell: f64) -> (f64, f64) {
        let t = f64::from(self.thresholds_mm.last().copied().unwrap_or(0)) / 1000.0;
        let side = 2.0 * (REACH_FACTOR * t + r) / cell + 6.0;
        let cells = side * side;
        (cells, cells * self.thresholds_mm.len() as f64)
    }

    /// Checks that [`isochrones`] can work with these options, before anything is
    /// allocated: the buffer is at least [`MIN_BUFFER_M`], the grid of the largest
    /// threshold fits the limits, and there are at most [`MAX_THRESHOLDS`].
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self) -> Result<(), IsoError> {
        if self.buffer_m.is_nan() || self.buffer_m < MIN_BUFFER_M {
            return Err(IsoError::BufferTooSmall {
                buffer_m: self.buffer_m,
            });
        }
        if self.simplify_m.is_nan() || self.simplify_m < 0.0 {
            return Err(IsoError::BadSimplify {
                simplify_m: self.simplify_m,
            });
        }
        if self.thresholds_mm.len() > MAX_THRESHOLDS {
            return Err(IsoError::TooManyThresholds {
                count: self.thresholds_mm.len(),
            });
        }
        // The cells scale with the buffer (cell sizes are fixed fractions of it).
        let (cell_f, ring_f) = (
            self.cell_m / self.buffer_m,
            self.ring_cell_m / self.buffer_m,
        );
        let over = |r: f64| -> Option<(f64, f64)> {
            if self.rings {
                let (cells, _) = self.grid_need(r, ring_f * r);
                (cells > MAX_RING_CELLS).then_some((cells, MAX_RING_CELLS))
            } else {
                let (cells, values) = self.grid_need(r, cell_f * r);
                if cells > MAX_GRID_CELLS {
                    Some((cells, MAX_GRID_CELLS))
                } else {
                    (values > MAX_FIELD_VALUES).then_some((values, MAX_FIELD_VALUES))
                }
            }
        };
        if let Some((cells, limit)) = over(self.buffer_m) {
            // The smallest buffer that fits, to two significant digits (rounded up).
            let (mut lo, mut hi) = (self.buffer_m, self.buffer_m.max(1.0));
            while over(hi).is_some() {
                hi *= 2.0;
            }
            for _ in 0..60 {
                let mid = (lo + hi) / 2.0;
                if over(mid).is_some() {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            let mag = 10f64.powf(hi.log10().floor() - 1.0);
            let min_buffer_m = (hi / mag).ceil() * mag;
            return Err(IsoError::GridTooLarge {
                cells,
                limit,
                min_buffer_m,
            });
        }
        Ok(())
    }
}

/// The frame scale rounded to steps of 2^-11 (0.05 %, buffers within 0.025 % of
/// true): places near each other share the cached edge stamps, which hold for one
/// cell size and buffer (a city 50 km across spans a dozen steps).
fn quantize_scale(scale: f64) -> f64 {
    (scale * 2048.0).round() / 2048.0
}

impl IsoOptions {
    /// These options with every length in frame metres at frame scale `scale`.
    fn scaled(&self, scale: f64) -> Self {
        IsoOptions {
            thresholds_mm: self.thresholds_mm.clone(),
            buffer_m: self.buffer_m * scale,
            cell_m: self.cell_m * scale,
            ring_cell_m: self.ring_cell_m * scale,
            simplify_m: self.simplify_m * scale,
            ..*self
        }
    }
}

/// One isochrone polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Isochrone {
    /// Index into [`IsoOptions::thresholds_mm`].
    pub threshold: usize,
    /// The area in projected metres (exteriors counter-clockwise, holes clockwise),
    /// every vertex on the output lattice ([`DECIMALS`]); empty without
    /// [`IsoOptions::geometry`].
    pub shape: MultiPolygon,
    /// The affine frame it is drawn in, tangent to the graph's at the place
    /// ([`lonlat`] writes the shape with it).
    pub frame: Tangent,
    /// The area in square metres, as traced (before simplification and snapping): the
    /// same with and without geometry.
    pub area_m2: f64,
    /// Length of reached network within the threshold, metres (for rings: within the band).
    pub network_m: f64,
}

/// Most bytes of edge stamps one thread keeps (about 16 bytes per metre of street at a
/// 20 m buffer: some 2,000 km, far more than the places near each other share);
/// beyond, the cache starts over.
const STAMP_CACHE_BYTES: usize = 32 << 20;

/// Reusable per-thread state.
pub struct IsoScratch {
    /// The search scratch; after [`isochrones`] it holds the node distances of the
    /// largest threshold's search.
    pub search: Scratch,
    /// Edge geometries simplified by 0.5 m (Douglas–Peucker), what the areas buffer.
    simple: Vec<Vec<[f64; 2]>>,
    field: contour::Field,
    /// Per edge, its distance stamp and the (cell size, reach) it was made for, made on first
    /// use.
    stamps: Vec<Option<((f64, f64), contour::Stamp)>>,
    /// Bytes held by `stamps`.
    stamp_bytes: usize,
    /// Whether fully reached edges are drawn from stamps (tests compare both ways).
    pub(crate) use_stamps: bool,
    grid: Grid,
    lattice: Lattice,
    rings: contour::Rings,
    arr: Arrangement,
    simp: simplify::Simplifier,
    protected: Vec<[i32; 2]>,
}

impl IsoScratch {
    /// Scratch for graph `g`.
    pub fn new(g: &WalkGraph) -> Self {
        use geo::{Coord, LineString, Simplify};
        let simple = (0..g.edge_count() as u32)
            .map(|e| {
                let ls = LineString::from(
                    g.edge_xy(e)
                        .iter()
                        .map(|p| Coord { x: p[0], y: p[1] })
                        .collect::<Vec<_>>(),
                );
                ls.simplify(0.5).0.iter().map(|c| [c.x, c.y]).collect()
            })
            .collect();
        IsoScratch {
            search: Scratch::new(g.node_count()),
            simple,
            field: contour::Field::new(),
            stamps: Vec::new(),
            stamp_bytes: 0,
            use_stamps: true,
            grid: Grid {
                x0: 0.0,
                y0: 0.0,
                cell: 1.0,
                nx: 0,
                ny: 0,
                level: Vec::new(),
                extent: Vec::new(),
            },
            lattice: Lattice::new(g.projection().tangent_at(g.projection().origin())),
            rings: contour::Rings::default(),
            arr: Arrangement::default(),
            simp: simplify::Simplifier::default(),
            protected: Vec::new(),
        }
    }

    /// Heap bytes held by the edge stamps made so far (tests check the cache is used).
    #[cfg(test)]
    pub(crate) fn stamp_bytes(&self) -> usize {
        self.stamp_bytes
    }
}

/// Merges overlapping stretches of the same edge.
fn merge(v: Vec<EdgeReach>) -> Vec<EdgeReach> {
    let key = |a: &EdgeReach, b: &EdgeReach| {
        (a.edge, a.start)
            .partial_cmp(&(b.edge, b.start))
            .expect("finite")
    };
    // `stretches_within` sorts them by edge, start and end.
    debug_assert!(v.is_sorted_by(|a, b| key(a, b).is_le()));
    let mut out: Vec<EdgeReach> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(l) if l.edge == r.edge && r.start <= l.end => l.end = l.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The parts of `st` not covered by the stretches of the same edge in `inner`
/// (sorted by edge and start, merged), into `out` (cleared first).
fn minus(st: &EdgeReach, inner: &[EdgeReach], out: &mut Vec<(f64, f64)>) {
    out.clear();
    let from = inner.partition_point(|x| x.edge < st.edge);
    let mut at = st.start;
    for x in inner[from..].iter().take_while(|x| x.edge == st.edge) {
        if x.end <= at || x.start >= st.end {
            continue;
        }
        if x.start > at {
            out.push((at, x.start));
        }
        at = at.max(x.end);
    }
    if at < st.end || out.is_empty() && at == st.start {
        out.push((at.min(st.end), st.end));
    }
}

/// The polyline of an edge between fractions `a..=b` of its length, projected.
fn cut(xy: &[[f64; 2]], a: f64, b: f64, out: &mut Vec<[f64; 2]>) {
    out.clear();
    let total: f64 = xy.windows(2).map(|w| dist(w[0], w[1])).sum();
    let (sa, sb) = (a * total, b * total);
    let mut acc = 0.0;
    let at =
        |p: [f64; 2], q: [f64; 2], t: f64| [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
    if total == 0.0 {
        out.push(xy[0]);
        return;
    }
    for w in xy.windows(2) {
        let l = dist(w[0], w[1]);
        let (s0, s1) = (acc, acc + l);
        if s1 >= sa && s0 <= sb {
            if out.is_empty() {
                out.push(if l > 0.0 {
                    at(w[0], w[1], ((sa - s0) / l).clamp(0.0, 1.0))
                } else {
                    w[0]
                });
            }
            if s1 <= sb {
                out.push(w[1]);
            } else {
                out.push(if l > 0.0 {
                    at(w[0], w[1], ((sb - s0) / l).clamp(0.0, 1.0))
                } else {
                    w[1]
                });
                break;
            }
        }
        acc = s1;
    }
    if out.is_empty() {
        out.push(xy[xy.len() - 1]);
    }
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The reached network within `threshold_mm` of the last [`isochrones`] call for
/// `spot` (whose largest threshold must be at least this one), as polylines in
/// projected metres: what the polygons buffer. Useful as an exact reference.
pub fn reached_network(
    g: &WalkGraph,
    spot: &Spot,
    s: &IsoScratch,
    threshold_mm: u32,
) -> Vec<Vec<[f64; 2]>> {
    let mut out = Vec::new();
    for st in merge(stretches_within(g, spot, &s.search, threshold_mm)) {
        let mut piece = Vec::new();
        cut(g.edge_xy(st.edge), st.start, st.end, &mut piece);
        out.push(piece);
    }
    out
}

/// The isochrones of `spot` for every threshold, in threshold order.
///
/// # Complexity
/// One bounded search, then O(cells covered) work per threshold to build the field,
/// O(grid cells) to trace it, and the simplification (see `simplify.rs`).
///
/// # Panics
/// If `opts.check()` fails (call it once before).
pub fn isochrones(
    g: &WalkGraph,
    spot: &Spot,
    opts: &IsoOptions,
    s: &mut IsoScratch,
) -> Vec<Isochrone> {
    assert!(
        opts.check().is_ok(),
        "IsoOptions::check failed: {:?}",
        opts.check()
    );
    let Some(&max_t) = opts.thresholds_mm.last() else {
        return Vec::new();
    };
    search_from_spot(g, spot, max_t, &mut s.search);
    // The snapped point itself, so even a place that reaches nothing gets a disc.
    let own = g.edge_xy(spot.edge);
    let own_len = g.edge(spot.edge).length_mm;
    let frac = if own_len > 0 {
        f64::from(spot.offset_mm) / f64::from(own_len)
    } else {
        0.0
    };
    let mut piece = Vec::new();
    cut(own, frac, frac, &mut piece);
    let origin = piece[0];
    // Drawn in the affine frame tangent at the place, with the buffer, cells and
    // tolerance in frame metres: the graph's frame is conformal, so a ground metre
    // there is `scale` frame metres in every direction.
    let proj = g.projection();
    let frame = proj.tangent_at(proj.unproject(origin));
    let scale = quantize_scale(proj.scale_at_y(origin[1]));
    s.lattice = Lattice::new(frame);
    let scaled;
    let opts = if scale == 1.0 {
        opts
    } else {
        scaled = opts.scaled(scale);
        &scaled
    };

    let per_t: Vec<Vec<EdgeReach>> = opts
        .thresholds_mm
        .iter()
        .map(|&t| merge(stretches_within(g, spot, &s.search, t)))
        .collect();
    let r = opts.buffer_m;
    let mut bbox = [origin[0] - r, origin[1] - r, origin[0] + r, origin[1] + r];
    for st in per_t.last().expect("non-empty") {
        for p in g.edge_xy(st.edge) {
            // The whole edge bounds its reached part.
            bbox = [
                bbox[0].min(p[0] - r),
                bbox[1].min(p[1] - r),
                bbox[2].max(p[0] + r),
                bbox[3].max(p[1] + r),
            ];
        }
    }
    // The reached part lies within the budget of the place: a long, partly reached
    // edge does not widen the grid beyond what `IsoOptions::check` allowed.
    let reach_m = REACH_FACTOR * f64::from(max_t) / 1000.0 * scale + r;
    bbox = [
        bbox[0].max(origin[0] - reach_m),
        bbox[1].max(origin[1] - reach_m),
        bbox[2].min(origin[0] + reach_m),
        bbox[3].min(origin[1] + reach_m),
    ];
    let mut network_m = vec![0.0; per_t.len()];
    let levels = per_t.len();
    let mut areas = vec![0.0; levels];
    let mut parts = Vec::new();
    if !opts.rings {
        // Nested areas: contours of one distance field per threshold.
        // Every corner of a cell the outline crosses lies within `r + cell` of the
        // network (distances are 1-Lipschitz), so farther vertices stay infinite.
        let reach = r + 1.05 * opts.cell_m;
        // Stamps hold for one cell size and reach; places in different scale steps
        // (see `quantize_scale`) remake only the edges they draw.
        let key = (opts.cell_m, reach);
        s.stamps.resize_with(g.edge_count(), || None);
        s.field.reset(bbox, opts.cell_m, levels);
        s.field.segment(0, origin, origin, reach);
        // Each stretch is drawn once, at the smallest threshold that reaches it:
        // the part of level k's stretch not already reached at level k - 1.
        for (k, stretches) in per_t.iter().enumerate() {
            for st in stretches {
                let len = f64::from(g.edge(st.edge).length_mm) / 1000.0;
                network_m[k] += (st.end - st.start) * len;
                let inner: &[EdgeReach] = if k > 0 { &per_t[k - 1] } else { &[] };
                if s.use_stamps && st.start == 0.0 && st.end == 1.0 {
                    // A fully reached edge: drawn whole from its stamp, even where a
                    // smaller threshold reached part of it (that part is in the
                    // smaller threshold's grid, folded into this one anyway).
                    parts.clear();
                    parts.push((0.0, 1.0));
                } else {
                    minus(st, inner, &mut parts);
                }
                for &(a, b) in &parts {
                    if s.use_stamps && a == 0.0 && b == 1.0 {
                        // A fully reached edge: its precomputed distances.
                        let e = st.edge as usize;
                        if s.stamps[e].as_ref().is_none_or(|(k, _)| *k != key) {
                            let stamp = contour::Stamp::new(&s.simple[e], reach, opts.cell_m);
                            if let Some((_, old)) = s.stamps[e].take() {
                                s.stamp_bytes -= old.bytes();
                            }
                            s.stamp_bytes += stamp.bytes();
                            if s.stamp_bytes > STAMP_CACHE_BYTES {
                                // Bounded memory on huge networks: start over.
                                s.stamps.iter_mut().for_each(|x| *x = None);
                                s.stamp_bytes = stamp.bytes();
                            }
                            s.stamps[e] = Some((key, stamp));
                        }
                        let (_, stamp) = s.stamps[e].as_ref().expect("made above");
                        s.field.stamp(k, stamp);
                        continue;
                    }
                    cut(&s.simple[st.edge as usize], a, b, &mut piece);
                    if piece.len() == 1 {
                        s.field.segment(k, piece[0], piece[0], reach);
                    }
                    for w in piece.windows(2) {
                        s.field.segment(k, w[0], w[1], reach);
                    }
                }
            }
        }
        // One level shares no vertices with another: no lookup.
        let shared = levels > 1;
        if opts.geometry {
            s.arr.reset(if shared { s.field.edge_ids() } else { 0 });
        }
        for (k, area) in areas.iter_mut().enumerate() {
            if opts.geometry {
                *area = s.field.scan(k, r, CLEAR_M * scale, Some(&mut s.rings));
                let (field, lattice) = (&s.field, &s.lattice);
                s.arr.add(k as u32, &s.rings, shared, |x| {
                    let (id, p, cell) = field.crossing(x);
                    (id, lattice.snap(p), cell)
                });
            } else {
                *area = s.field.scan(k, r, CLEAR_M * scale, None);
            }
        }
        if opts.simplify_m > 0.0 && opts.geometry {
            // A node reached within threshold k lies on the network drawn for every
            // level from k on, at least r - sqrt(2)·cell inside each of their traced
            // outlines (a cell the outline crosses has a corner beyond r); changes
            // stay within twice the tolerance of the outline, or outside it (restored
            // corners). So protecting the nodes matters only for large tolerances.
            let depth = r - std::f64::consts::SQRT_2 * opts.cell_m;
            if 2.0 * opts.simplify_m >= 0.9 * depth {
                protect(g, origin, max_t, s);
            } else {
                s.protected.clear();
            }
            // Corners cut by the grid: across segments of up to 1.5 cells.
            let f = &s.field;
            let grid = simplify::CellGrid {
                x0: f.x0,
                y0: f.y0,
                cell: f.cell,
                nx: f.nx - 1,
                ny: f.ny - 1,
            };
            s.simp.run(
                &s.arr,
                &s.protected,
                opts.simplify_m,
                &s.lattice,
                opts.cell_m,
                Some(grid),
            );
        } else {
            s.simp.flags.clear();
            s.simp.flags.resize(s.arr.pts.len(), 0);
            s.simp.pos.clear();
            s.simp.pos.extend_from_slice(&s.arr.pts);
        }
    } else {
        s.grid.reset(bbox, opts.ring_cell_m);
        for (k, stretches) in per_t.iter().enumerate().rev() {
            let level = k as u8;
            s.grid.capsule(origin, origin, r, level);
            for st in stretches {
                let len = f64::from(g.edge(st.edge).length_mm) / 1000.0;
                network_m[k] += (st.end - st.start) * len;
                cut(g.edge_xy(st.edge), st.start, st.end, &mut piece);
                if piece.len() == 1 {
                    s.grid.capsule(piece[0], piece[0], r, level);
                }
                for w in piece.windows(2) {
                    s.grid.capsule(w[0], w[1], r, level);
                }
            }
        }
        // Bands: the cells of each level; the network within the band.
        for k in (1..levels).rev() {
            network_m[k] -= network_m[k - 1];
        }
        let cell = s.grid.cell;
        let corners = (s.grid.nx + 1) * (s.grid.ny + 1);
        if opts.geometry {
            s.arr.reset(corners);
        }
        for (k, area) in areas.iter_mut().enumerate() {
            let kk = k as u8;
            let grid = &s.grid;
            *area = grid.level.iter().filter(|&&l| l == kk).count() as f64 * cell * cell;
            if !opts.geometry {
                continue;
            }
            // Trace only the part of the grid this level reaches.
            let Some([ex0, ey0, ex1, ey1]) = grid.extent_upto(kk) else {
                continue;
            };
            let (w, h) = (ex1 - ex0 + 1, ey1 - ey0 + 1);
            let inside = |x: usize, y: usize| grid.at(x + ex0, y + ey0) == kk;
            trace::rings(w, h, &inside, &mut s.rings);
            // Window corner ids to grid corner ids.
            let nxc = grid.nx + 1;
            for id in &mut s.rings.ids {
                let (x, y) = (*id as usize % (w + 1), *id as usize / (w + 1));
                *id = ((y + ey0) * nxc + x + ex0) as u32;
            }
            let (x0, y0) = (grid.x0, grid.y0);
            let lattice = &s.lattice;
            let at = |id: u32| {
                let (x, y) = (id as usize % nxc, id as usize / nxc);
                (
                    id,
                    lattice.snap([x0 + x as f64 * cell, y0 + y as f64 * cell]),
                    u32::MAX,
                )
            };
            s.arr.add(k as u32, &s.rings, true, at);
        }
        if opts.geometry {
            if opts.simplify_m > 0.0 {
                protect(g, origin, max_t, s);
            } else {
                s.protected.clear();
            }
            s.simp.run(
                &s.arr,
                &s.protected,
                opts.simplify_m,
                &s.lattice,
                4.0 * opts.ring_cell_m,
                None,
            );
        }
    }
    (0..levels)
        .map(|k| {
            let shape = if opts.geometry {
                let flags = &s.simp.flags;
                let lattice = &s.lattice;
                shape::assemble(
                    &s.arr,
                    k as u32,
                    &s.simp.pos,
                    |v| flags[v as usize] & simplify::DEAD == 0,
                    |q| lattice.xy(q),
                )
            } else {
                MultiPolygon::new(Vec::new())
            };
            Isochrone {
                threshold: k,
                shape,
                frame,
                area_m2: areas[k] / (scale * scale),
                network_m: network_m[k],
            }
        })
        .collect()
}

/// An isochrone's shape in lon/lat: each coordinate is the lattice value (an
/// integer number of 1e-7 degrees) as written with [`DECIMALS`] decimals, so
/// `round7` leaves it unchanged.
pub fn lonlat(iso: &Isochrone) -> MultiPolygon {
    use geo::MapCoords;
    let l = Lattice::new(iso.frame);
    iso.shape.map_coords(|c| {
        let q = l.snap([c.x, c.y]);
        let [lon, lat] = l.deg(q);
        geo::Coord { x: lon, y: lat }
    })
}

/// The points the simplification keeps on their side of every ring: the place and
/// every node reached within the largest threshold.
fn protect(g: &WalkGraph, origin: [f64; 2], max_t: u32, s: &mut IsoScratch) {
    s.protected.clear();
    s.protected.push(s.lattice.snap(origin));
    for &n in s.search.settled() {
        if s.search.dist(n).is_some_and(|d| d <= max_t) {
            s.protected.push(s.lattice.snap(g.node_xy(n)));
        }
    }
}

#[cfg(test)]
mod tests;
