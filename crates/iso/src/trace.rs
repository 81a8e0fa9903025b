//! Tracing cell boundaries into polygons with holes.
//!
//! Boundary edges run along grid lines with the covered cell on their left, so outer
//! rings come out counter-clockwise and holes clockwise (RFC 7946). Where two covered
//! cells touch only at a corner, the trace turns left and keeps them apart, so no
//! ring crosses itself. Holes go to the polygon of the covered cell beside them.

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// A grid corner or cell, `(x, y)`.
type Cell = (isize, isize);

/// Traces the cells for which `inside(x, y)` holds, on an `nx × ny` grid with origin
/// `(x0, y0)` and square cells of side `cell`.
pub(crate) fn polygons(
    nx: usize,
    ny: usize,
    x0: f64,
    y0: f64,
    cell: f64,
    inside: &dyn Fn(usize, usize) -> bool,
) -> MultiPolygon {
    let is_in = |x: isize, y: isize| {
        x >= 0 && y >= 0 && (x as usize) < nx && (y as usize) < ny && inside(x as usize, y as usize)
    };
    // Directed boundary edges between grid corners `(from, to, cell on the left)`,
    // sorted by `from`: at most two leave a corner.
    let w = nx + 1;
    let corner = |x: isize, y: isize| (y as usize * w + x as usize) as u32;
    let mut edges: Vec<(u32, u32, u32)> = Vec::new();
    for y in 0..ny as isize {
        for x in 0..nx as isize {
            if !is_in(x, y) {
                continue;
            }
            let c = (y as usize * nx + x as usize) as u32;
            if !is_in(x, y - 1) {
                edges.push((corner(x, y), corner(x + 1, y), c));
            }
            if !is_in(x + 1, y) {
                edges.push((corner(x + 1, y), corner(x + 1, y + 1), c));
            }
            if !is_in(x, y + 1) {
                edges.push((corner(x + 1, y + 1), corner(x, y + 1), c));
            }
            if !is_in(x - 1, y) {
                edges.push((corner(x, y + 1), corner(x, y), c));
            }
        }
    }
    edges.sort_unstable();
    let mut used = vec![false; edges.len()];
    let xy = |k: u32| ((k as usize % w) as isize, (k as usize / w) as isize);
    let leaving = |at: u32| {
        let lo = edges.partition_point(|e| e.0 < at);
        let hi = edges.partition_point(|e| e.0 <= at);
        lo..hi
    };
    // Link edges into rings, turning left at corners shared by two rings.
    let mut rings: Vec<(Vec<Cell>, u32)> = Vec::new();
    for i0 in 0..edges.len() {
        if used[i0] {
            continue;
        }
        used[i0] = true;
        let (s0, e0, cell0) = edges[i0];
        let start = xy(s0);
        let mut end = xy(e0);
        let mut ring = vec![start, end];
        let mut dir = (end.0 - start.0, end.1 - start.1);
        while end != start {
            let here = end;
            let at = corner(here.0, here.1);
            let mut pick = None;
            let mut best = i64::MIN;
            for j in leaving(at) {
                if used[j] {
                    continue;
                }
                let n = xy(edges[j].1);
                // Prefer the left turn (largest cross product).
                let cross = (dir.0 * (n.1 - here.1) - dir.1 * (n.0 - here.0)) as i64;
                if pick.is_none() || cross > best {
                    pick = Some(j);
                    best = cross;
                }
            }
            let j = pick.expect("boundary edges form closed rings");
            used[j] = true;
            let n = xy(edges[j].1);
            dir = (n.0 - here.0, n.1 - here.1);
            end = n;
            ring.push(end);
        }
        for r in split_pinches(ring) {
            rings.push((simplify_collinear(r), cell0));
        }
    }
    let to_ls = |r: &[Cell]| {
        LineString::from(
            r.iter()
                .map(|&(i, j)| Coord {
                    x: x0 + i as f64 * cell,
                    y: y0 + j as f64 * cell,
                })
                .collect::<Vec<_>>(),
        )
    };
    // Exteriors are counter-clockwise; each hole goes to the innermost exterior that
    // contains the centre of a covered cell beside it.
    let area2 = |r: &[Cell]| -> i64 {
        r.windows(2)
            .map(|w| (w[0].0 * w[1].1 - w[1].0 * w[0].1) as i64)
            .sum()
    };
    let mut outers: Vec<(i64, &Vec<Cell>, Vec<LineString>)> = Vec::new();
    let mut holes: Vec<(&Vec<Cell>, u32)> = Vec::new();
    for (ring, c) in &rings {
        let a = area2(ring);
        if a > 0 {
            outers.push((a, ring, Vec::new()));
        } else {
            holes.push((ring, *c));
        }
    }
    for (ring, c) in holes {
        // Centre of the covered cell, in corner units doubled to stay integral.
        let (cx, cy) = (
            (c as usize % nx) as i64 * 2 + 1,
            (c as usize / nx) as i64 * 2 + 1,
        );
        let owner = outers
            .iter_mut()
            .filter(|(_, o, _)| contains2(o, cx, cy))
            .min_by_key(|(a, _, _)| *a);
        if let Some((_, _, hs)) = owner {
            hs.push(to_ls(ring));
        }
    }
    MultiPolygon::new(
        outers
            .into_iter()
            .map(|(_, o, hs)| Polygon::new(to_ls(o), hs))
            .collect(),
    )
}

/// Whether the point `(px / 2, py / 2)` (never on a grid line) lies inside `ring`.
fn contains2(ring: &[Cell], px: i64, py: i64) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (ax, ay) = (w[0].0 as i64 * 2, w[0].1 as i64 * 2);
        let (bx, by) = (w[1].0 as i64 * 2, w[1].1 as i64 * 2);
        if (ay > py) != (by > py) {
            // x of the crossing at height py, compared exactly with integers.
            let lhs = (px - ax) * (by - ay);
            let rhs = (bx - ax) * (py - ay);
            if (by > ay && lhs < rhs) || (by < ay && lhs > rhs) {
                inside = !inside;
            }
        }
    }
    inside
}

/// Splits a closed ring that passes a vertex twice (a pinch) into simple rings.
/// Each piece keeps its orientation: a loop cut off an exterior comes out clockwise
/// (a hole touching the exterior at one point, which is valid), and so on.
fn split_pinches(ring: Vec<(isize, isize)>) -> Vec<Vec<(isize, isize)>> {
    let mut out = Vec::new();
    let mut stack: Vec<(isize, isize)> = Vec::with_capacity(ring.len());
    let mut seen: HashMap<(isize, isize), usize> = HashMap::new();
    for &p in &ring[..ring.len() - 1] {
        if let Some(&i) = seen.get(&p) {
            let mut lp: Vec<(isize, isize)> = stack.drain(i..).collect();
            for q in &lp {
                seen.remove(q);
            }
            lp.push(p);
            out.push(lp);
        }
        seen.insert(p, stack.len());
        stack.push(p);
    }
    if !stack.is_empty() {
        let f = stack[0];
        stack.push(f);
        out.push(stack);
    }
    out.retain(|r| r.len() >= 4);
    out
}

/// Drops vertices in the middle of straight runs (keeps the ring closed).
fn simplify_collinear(ring: Vec<(isize, isize)>) -> Vec<(isize, isize)> {
    let n = ring.len() - 1; // closed: last == first
    let pts = &ring[..n];
    let mut out: Vec<(isize, isize)> = Vec::with_capacity(n + 1);
    for i in 0..n {
        let prev = pts[(i + n - 1) % n];
        let cur = pts[i];
        let next = pts[(i + 1) % n];
        let cross = (cur.0 - prev.0) * (next.1 - cur.1) - (cur.1 - prev.1) * (next.0 - cur.0);
        if cross != 0 {
            out.push(cur);
        }
    }
    if let Some(&f) = out.first() {
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};

    fn trace(cells: &[&str]) -> MultiPolygon {
        let ny = cells.len();
        let nx = cells[0].len();
        // Row 0 of the picture is the top.
        let inside = |x: usize, y: usize| cells[ny - 1 - y].as_bytes()[x] == b'#';
        polygons(nx, ny, 0.0, 0.0, 1.0, &inside)
    }

    #[test]
    fn square_with_hole() {
        let mp = trace(&["#####", "#...#", "#...#", "#####"]);
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert!((mp.signed_area() - 14.0).abs() < 1e-9);
        assert!(mp.is_valid());
        assert_eq!(mp.0[0].exterior().0.len(), 5, "collinear points dropped");
    }

    #[test]
    fn diagonal_cells_stay_apart() {
        let mp = trace(&["#.", ".#"]);
        assert_eq!(mp.0.len(), 2);
        assert!((mp.unsigned_area() - 2.0).abs() < 1e-9);
        let mp = trace(&["###", "#.#", "##.", "#.#"]);
        assert!((mp.unsigned_area() - 9.0).abs() < 1e-9);
        assert!(mp.is_valid(), "{:?}", mp.validation_errors());
    }

    #[test]
    fn pinched_outlines_split_into_valid_rings() {
        // The ring around this shape passes the centre corner twice.
        let mp = trace(&["##.", "#.#", ".##"]);
        assert!(mp.is_valid(), "{:?}", mp.validation_errors());
        assert!((mp.unsigned_area() - 6.0).abs() < 1e-9);
        let mp = trace(&["####", "#.##", "##.#", "####"]);
        assert!(mp.is_valid(), "{:?}", mp.validation_errors());
        assert!((mp.unsigned_area() - 14.0).abs() < 1e-9);
    }

    #[test]
    fn nested_islands_in_holes() {
        let mp = trace(&[
            "#######", "#.....#", "#.###.#", "#.#.#.#", "#.###.#", "#.....#", "#######",
        ]);
        assert_eq!(mp.0.len(), 2);
        assert!((mp.unsigned_area() - (24.0 + 8.0)).abs() < 1e-9);
        assert!(mp.is_valid());
    }
}
