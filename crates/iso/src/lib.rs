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
mod trace;

use geo::{Area, MultiPolygon};
use livingcircle_graph::WalkGraph;
use livingcircle_reach::{EdgeReach, Scratch, Spot, search_from_spot, stretches_within};

use raster::Grid;

/// Settings for [`isochrones`].
#[derive(Debug, Clone, PartialEq)]
pub struct IsoOptions {
    /// Network budgets in millimetres (leg included), ascending.
    pub thresholds_mm: Vec<u32>,
    /// Buffer around the reached network, metres.
    pub buffer_m: f64,
    /// Distance-field grid spacing for nested areas, metres (default: a third of the
    /// buffer).
    pub cell_m: f64,
    /// Raster cell size for `rings`, metres (default: an eighth of the buffer).
    pub ring_cell_m: f64,
    /// Disjoint bands (0–5, 5–10, …) instead of nested areas.
    pub rings: bool,
}

impl IsoOptions {
    /// Nested areas for `thresholds_mm` (sorted here) with a `buffer_m` buffer.
    pub fn new(mut thresholds_mm: Vec<u32>, buffer_m: f64) -> Self {
        thresholds_mm.sort_unstable();
        thresholds_mm.dedup();
        IsoOptions {
            thresholds_mm,
            buffer_m,
            cell_m: buffer_m / 2.5,
            ring_cell_m: buffer_m / 8.0,
            rings: false,
        }
    }
}

/// One isochrone polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Isochrone {
    /// Index into [`IsoOptions::thresholds_mm`].
    pub threshold: usize,
    /// The area in projected metres (exteriors counter-clockwise, holes clockwise).
    pub shape: MultiPolygon,
    /// Its area in square metres.
    pub area_m2: f64,
    /// Length of reached network within the threshold, metres (for rings: within the band).
    pub network_m: f64,
}

/// Most bytes of edge stamps one thread keeps (about 16 bytes per metre of street at a
/// 20 m buffer: some 8,000 km); beyond, the cache starts over.
const STAMP_CACHE_BYTES: usize = 128 << 20;

/// Reusable per-thread state.
pub struct IsoScratch {
    /// The search scratch; after [`isochrones`] it holds the node distances of the
    /// largest threshold's search.
    pub search: Scratch,
    /// Edge geometries simplified by 0.5 m (Douglas–Peucker), what the areas buffer.
    simple: Vec<Vec<[f64; 2]>>,
    field: contour::Field,
    /// Per edge, its distance stamp for `stamp_key` (cell size, reach), made on first
    /// use.
    stamps: Vec<Option<contour::Stamp>>,
    stamp_key: (f64, f64),
    /// Bytes held by `stamps`.
    stamp_bytes: usize,
    /// Whether fully reached edges are drawn from stamps (tests compare both ways).
    pub(crate) use_stamps: bool,
    grid: Grid,
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
            stamp_key: (0.0, 0.0),
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
/// One bounded search, then O(cells covered) rasterisation per threshold and
/// O(grid cells) tracing per threshold.
pub fn isochrones(
    g: &WalkGraph,
    spot: &Spot,
    opts: &IsoOptions,
    s: &mut IsoScratch,
) -> Vec<Isochrone> {
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
    let mut network_m = vec![0.0; per_t.len()];
    let mut parts = Vec::new();
    if !opts.rings {
        // Nested areas: contours of one distance field per threshold.
        // Every corner of a cell the outline crosses lies within `r + cell` of the
        // network (distances are 1-Lipschitz), so farther vertices stay infinite.
        let reach = r + 1.05 * opts.cell_m;
        if s.stamp_key != (opts.cell_m, reach) {
            s.stamps.clear();
            s.stamp_bytes = 0;
            s.stamp_key = (opts.cell_m, reach);
        }
        s.stamps.resize_with(g.edge_count(), || None);
        s.field.reset(bbox, opts.cell_m, per_t.len());
        s.field.segment(0, origin, origin, reach);
        // Each stretch is drawn once, at the smallest threshold that reaches it:
        // the part of level k's stretch not already reached at level k - 1.
        for (k, stretches) in per_t.iter().enumerate() {
            for st in stretches {
                let len = f64::from(g.edge(st.edge).length_mm) / 1000.0;
                network_m[k] += (st.end - st.start) * len;
                let inner: &[EdgeReach] = if k > 0 { &per_t[k - 1] } else { &[] };
                minus(st, inner, &mut parts);
                for &(a, b) in &parts {
                    if s.use_stamps && a == 0.0 && b == 1.0 {
                        // A fully reached edge: its precomputed distances.
                        let e = st.edge as usize;
                        if s.stamps[e].is_none() {
                            let stamp = contour::Stamp::new(&s.simple[e], reach, opts.cell_m);
                            s.stamp_bytes += stamp.bytes();
                            if s.stamp_bytes > STAMP_CACHE_BYTES {
                                // Bounded memory on huge networks: start over.
                                s.stamps.iter_mut().for_each(|x| *x = None);
                                s.stamp_bytes = stamp.bytes();
                            }
                            s.stamps[e] = Some(stamp);
                        }
                        let stamp = s.stamps[e].as_ref().expect("made above");
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
        return (0..per_t.len())
            .map(|k| {
                let shape = s.field.polygons(k, r);
                Isochrone {
                    threshold: k,
                    area_m2: shape.unsigned_area(),
                    shape,
                    network_m: network_m[k],
                }
            })
            .collect();
    }
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
    let grid = &s.grid;
    (0..per_t.len())
        .map(|k| {
            let kk = k as u8;
            // Trace only the part of the grid this level reaches.
            let [ex0, ey0, ex1, ey1] = grid.extent_upto(kk).unwrap_or([0, 0, 0, 0]);
            let inside = |x: usize, y: usize| {
                let l = grid.at(x + ex0, y + ey0);
                // Rings only: nested areas returned above.
                l == kk
            };
            let shape = trace::polygons(
                ex1 - ex0 + 1,
                ey1 - ey0 + 1,
                grid.x0 + ex0 as f64 * grid.cell,
                grid.y0 + ey0 as f64 * grid.cell,
                grid.cell,
                &inside,
            );
            let network = if k > 0 {
                network_m[k] - network_m[k - 1]
            } else {
                network_m[k]
            };
            Isochrone {
                threshold: k,
                area_m2: shape.unsigned_area(),
                shape,
                network_m: network,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
