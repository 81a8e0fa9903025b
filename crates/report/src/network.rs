//! The walking network for the page: in full (what the page searches on and draws
//! zoomed in) and as simplified levels for zoomed-out views.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use geo::{Coord, LineString, SimplifyIdx};
use livingcircle_graph::WalkGraph;
use serde_json::{Value, json};

use crate::Grid;
use crate::enc::{Bits, Blob, Col, Kind};

/// Douglas-Peucker tolerance of the full network (m): invisible at street zoom, and it
/// drops most vertices of finely mapped curves.
const SIMPLIFY_M: f64 = 1.0;

/// The page draws the full network while the edges in view (counted per tile) stay
/// under this; beyond, it draws a simplified level.
pub(crate) const EDGE_LIMIT: usize = 25_000;

/// Most segments a simplified level may hold: each level adds road classes, major ones
/// first, while it stays under this.
const LEVEL_SEGMENTS: f64 = 100_000.0;

/// Writes the full network: nodes, edges (ends, length, one-way, geometry).
pub(crate) fn write_full<W: Write + ?Sized>(
    g: &WalkGraph,
    grid: &Grid,
    blob: &mut Blob<'_, W>,
) -> io::Result<Value> {
    let [mut nx, mut ny] = [Col::new(Kind::Z), Col::new(Kind::Z)];
    for n in 0..g.node_count() as u32 {
        let [x, y] = grid.q(g.node_lonlat(n));
        nx.push(x);
        ny.push(y);
    }
    blob.put("node.x", nx)?;
    blob.put("node.y", ny)?;
    let [mut a, mut b, mut len, mut nv] = [Kind::U; 4].map(Col::new);
    let [mut gx, mut gy] = [Col::new(Kind::S), Col::new(Kind::S)];
    let (mut rev, mut oneway) = (Bits::default(), Bits::default());
    let mut last_a = 0i64;
    let mut vertices = 0usize;
    for e in 0..g.edge_count() as u32 {
        let ed = g.edge(e);
        // Edges come ordered by their smaller end: steps of it are small.
        let (lo, hi) = (ed.u.min(ed.v), ed.u.max(ed.v));
        a.push(i64::from(lo) - last_a);
        last_a = i64::from(lo);
        b.push(i64::from(hi - lo));
        rev.push(ed.u > ed.v);
        oneway.push(ed.oneway);
        len.push(i64::from(ed.length_mm));
        let ll = g.edge_lonlat(e);
        let keep = simplified(g.edge_xy(e), SIMPLIFY_M);
        let inner = if keep.len() > 2 {
            &keep[1..keep.len() - 1]
        } else {
            &[][..]
        };
        nv.push(inner.len() as i64);
        let mut last = grid.q(g.node_lonlat(ed.u));
        for &i in inner {
            let p = grid.q(ll[i]);
            gx.push(p[0] - last[0]);
            gy.push(p[1] - last[1]);
            last = p;
        }
        vertices += inner.len() + 2;
    }
    for (name, col) in [
        ("edge.a", a),
        ("edge.b", b),
        ("edge.len", len),
        ("edge.nv", nv),
        ("edge.gx", gx),
        ("edge.gy", gy),
        ("edge.rev", Col::from_bytes(rev.into_bytes())),
        ("edge.oneway", Col::from_bytes(oneway.into_bytes())),
    ] {
        blob.put(name, col)?;
    }
    Ok(json!({
        "nodes": g.node_count(),
        "edges": g.edge_count(),
        "vertices": vertices,
        "geom_step": crate::GEOM_STEP,
    }))
}

/// Douglas-Peucker indices of a polyline in metres (always both ends).
fn simplified(xy: &[[f64; 2]], eps: f64) -> Vec<usize> {
    if xy.len() <= 2 {
        return (0..xy.len()).collect();
    }
    let line: LineString<f64> = xy.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
    line.simplify_idx(eps)
}

/// Road classes, major first; zoomed-out levels keep the first ones.
fn class_rank(highway: &str) -> usize {
    match highway.trim_end_matches("_link") {
        "motorway" | "trunk" | "primary" => 0,
        "secondary" => 1,
        "tertiary" => 2,
        "unclassified" | "residential" | "living_street" | "road" | "pedestrian" => 3,
        "service" | "track" => 4,
        _ => 5,
    }
}

/// Tolerances of the simplified levels (m): a level of tolerance `p` is drawn from
/// `p` metres per pixel up to the next level's.
fn level_tolerances(g: &WalkGraph, grid: &Grid, extent_m: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut p = 4.0;
    while p <= extent_m / 250.0 {
        // Always the levels that a view of the whole area needs; finer ones only where
        // a view at that scale would hold more edges than the full network may draw.
        if p >= extent_m / 3000.0 || densest_view(g, grid, p) > EDGE_LIMIT / 2 {
            out.push(p);
        }
        p *= 3.0;
    }
    out
}

/// Most edges (by their first node) within a window of 1200 × 800 pixels at `p`
/// metres per pixel, over windows aligned on half their size.
fn densest_view(g: &WalkGraph, grid: &Grid, p: f64) -> usize {
    let (w, h) = (600.0 * p, 400.0 * p);
    let mut count: HashMap<(i64, i64), usize> = HashMap::new();
    for e in g.edges() {
        let [x, y] = grid.xy(g.node_lonlat(e.u));
        let (mx, my) = (x as f64 * grid.kx, y as f64 * grid.ky);
        *count
            .entry(((mx / w).floor() as i64, (my / h).floor() as i64))
            .or_default() += 1;
    }
    let get = |k: (i64, i64)| count.get(&k).copied().unwrap_or(0);
    count
        .keys()
        .map(|&(i, j)| get((i, j)) + get((i + 1, j)) + get((i, j + 1)) + get((i + 1, j + 1)))
        .max()
        .unwrap_or(0)
}

/// Writes the simplified levels (`net.<k>.*`).
pub(crate) fn write_levels<W: Write + ?Sized>(
    g: &WalkGraph,
    grid: &Grid,
    extent_m: f64,
    blob: &mut Blob<'_, W>,
) -> io::Result<Vec<Value>> {
    let mut out = Vec::new();
    for (k, p) in level_tolerances(g, grid, extent_m).into_iter().enumerate() {
        // Road classes, major first, while the level stays small enough to draw whole.
        let mut by_rank = [0.0f64; 6];
        for e in g.edges() {
            by_rank[class_rank(g.string(e.highway))] +=
                (f64::from(e.length_mm) / 1000.0 / p).max(1.0);
        }
        let mut max_rank = 0;
        let mut total = 0.0;
        for (r, &n) in by_rank.iter().enumerate() {
            if n == 0.0 {
                continue;
            }
            if total > 0.0 && total + n > LEVEL_SEGMENTS {
                break;
            }
            total += n;
            max_rank = r;
        }
        let step = [
            ((p / grid.kx).round() as i64).max(1),
            ((p / grid.ky).round() as i64).max(1),
        ];
        let mut seen: HashSet<[i64; 4]> = HashSet::new();
        let (mut nv, mut x, mut y) = (Col::new(Kind::U), Col::new(Kind::Z), Col::new(Kind::Z));
        let (mut lines, mut segments) = (0usize, 0usize);
        let mut line: Vec<[i64; 2]> = Vec::new();
        let mut flush = |line: &mut Vec<[i64; 2]>, nv: &mut Col, x: &mut Col, y: &mut Col| {
            if line.len() >= 2 {
                nv.push(line.len() as i64);
                for q in line.iter() {
                    x.push(q[0]);
                    y.push(q[1]);
                }
                lines += 1;
                segments += line.len() - 1;
            }
            line.clear();
        };
        for e in 0..g.edge_count() as u32 {
            if class_rank(g.string(g.edge(e).highway)) > max_rank {
                continue;
            }
            let ll = g.edge_lonlat(e);
            let mut prev: Option<[i64; 2]> = None;
            for i in simplified(g.edge_xy(e), p / 2.0) {
                let [gx, gy] = grid.xy(ll[i]);
                let q = [
                    (gx as f64 / step[0] as f64).round() as i64,
                    (gy as f64 / step[1] as f64).round() as i64,
                ];
                let Some(pq) = prev else {
                    prev = Some(q);
                    continue;
                };
                if pq == q {
                    continue;
                }
                prev = Some(q);
                let key = if pq < q {
                    [pq[0], pq[1], q[0], q[1]]
                } else {
                    [q[0], q[1], pq[0], pq[1]]
                };
                if !seen.insert(key) {
                    // Drawn already (a parallel way at this scale): the line breaks here.
                    flush(&mut line, &mut nv, &mut x, &mut y);
                    continue;
                }
                if line.last() != Some(&pq) {
                    flush(&mut line, &mut nv, &mut x, &mut y);
                    line.push(pq);
                }
                line.push(q);
            }
            flush(&mut line, &mut nv, &mut x, &mut y);
        }
        let prefix = format!("net.{k}.");
        blob.put(&(prefix.clone() + "nv"), nv)?;
        blob.put(&(prefix.clone() + "x"), x)?;
        blob.put(&(prefix + "y"), y)?;
        out.push(json!({
            "p_m": p,
            "step": step,
            "max_rank": max_rank,
            "lines": lines,
            "segments": segments,
        }));
    }
    Ok(out)
}
