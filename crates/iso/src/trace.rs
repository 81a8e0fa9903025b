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
    // Directed boundary edges between grid corners, at most two leaving a corner:
    // corner index -> [(end corner, cell on the left)].
    let w = nx + 1;
    let corner = |x: isize, y: isize| y as usize * w + x as usize;
    let mut out: Vec<[(u32, u32); 2]> = vec![[(u32::MAX, u32::MAX); 2]; w * (ny + 1)];
    let mut starts: Vec<u32> = Vec::new();
    let mut add = |from: usize, to: usize, cell: usize, starts: &mut Vec<u32>| {
        let slot = &mut out[from];
        let i = usize::from(slot[0].0 != u32::MAX);
        slot[i] = (to as u32, cell as u32);
        starts.push(from as u32);
    };
    for y in 0..ny as isize {
        for x in 0..nx as isize {
            if !is_in(x, y) {
                continue;
            }
            let c = y as usize * nx + x as usize;
            if !is_in(x, y - 1) {
                add(corner(x, y), corner(x + 1, y), c, &mut starts);
            }
            if !is_in(x + 1, y) {
                add(corner(x + 1, y), corner(x + 1, y + 1), c, &mut starts);
            }
            if !is_in(x, y + 1) {
                add(corner(x + 1, y + 1), corner(x, y + 1), c, &mut starts);
            }
            if !is_in(x - 1, y) {
                add(corner(x, y + 1), corner(x, y), c, &mut starts);
            }
        }
    }
    let xy = |k: u32| ((k as usize % w) as isize, (k as usize / w) as isize);
    // Link edges into rings, turning left at corners shared by two rings.
    let mut rings: Vec<(Vec<Cell>, Cell)> = Vec::new();
    starts.sort_unstable();
    starts.dedup();
    let take = |out: &mut Vec<[(u32, u32); 2]>,
                at: u32,
                dir: Option<(isize, isize)>|
     -> Option<(u32, u32)> {
        let slot = &mut out[at as usize];
        let n = usize::from(slot[0].0 != u32::MAX) + usize::from(slot[1].0 != u32::MAX);
        if n == 0 {
            return None;
        }
        let pick = if n == 2 {
            let (p, q) = (xy(slot[0].0), xy(slot[1].0));
            let here = xy(at);
            let d = dir.expect("a corner with two exits is reached along a ring");
            // Prefer the left turn.
            let cross = |e: (isize, isize)| d.0 * (e.1 - here.1) - d.1 * (e.0 - here.0);
            if cross(p) >= cross(q) { 0 } else { 1 }
        } else if slot[0].0 != u32::MAX {
            0
        } else {
            1
        };
        let e = slot[pick];
        slot[pick] = (u32::MAX, u32::MAX);
        if pick == 0 {
            slot.swap(0, 1);
        }
        Some(e)
    };
    for s0 in starts {
        loop {
            // Start only from corners with a single exit, or any exit once the others are used.
            let slot = out[s0 as usize];
            if slot[0].0 == u32::MAX && slot[1].0 == u32::MAX {
                break;
            }
            let first = if slot[0].0 != u32::MAX {
                slot[0]
            } else {
                slot[1]
            };
            if slot[0].0 != u32::MAX {
                out[s0 as usize][0] = (u32::MAX, u32::MAX);
                out[s0 as usize].swap(0, 1);
            } else {
                out[s0 as usize][1] = (u32::MAX, u32::MAX);
            }
            let cell0 = first.1 as usize;
            let start = xy(s0);
            let mut end = xy(first.0);
            let mut ring = vec![start, end];
            let mut dir = (end.0 - start.0, end.1 - start.1);
            while end != start {
                let (next, _) = take(&mut out, corner(end.0, end.1) as u32, Some(dir))
                    .expect("boundary edges form closed rings");
                let n = xy(next);
                dir = (n.0 - end.0, n.1 - end.1);
                end = n;
                ring.push(end);
            }
            let cell = ((cell0 % nx) as isize, (cell0 / nx) as isize);
            for r in split_pinches(ring) {
                rings.push((simplify_collinear(r), cell));
            }
        }
    }
    // Label 4-connected covered components so holes find their polygon.
    let mut comp = vec![u32::MAX; nx * ny];
    let mut ncomp = 0u32;
    let mut stack = Vec::new();
    for y in 0..ny {
        for x in 0..nx {
            if comp[y * nx + x] != u32::MAX || !inside(x, y) {
                continue;
            }
            comp[y * nx + x] = ncomp;
            stack.push((x, y));
            while let Some((cx, cy)) = stack.pop() {
                let mut visit = |px: usize, py: usize| {
                    if comp[py * nx + px] == u32::MAX && inside(px, py) {
                        comp[py * nx + px] = ncomp;
                        stack.push((px, py));
                    }
                };
                if cx > 0 {
                    visit(cx - 1, cy);
                }
                if cx + 1 < nx {
                    visit(cx + 1, cy);
                }
                if cy > 0 {
                    visit(cx, cy - 1);
                }
                if cy + 1 < ny {
                    visit(cx, cy + 1);
                }
            }
            ncomp += 1;
        }
    }
    let to_ls = |r: &[(isize, isize)]| {
        LineString::from(
            r.iter()
                .map(|&(i, j)| Coord {
                    x: x0 + i as f64 * cell,
                    y: y0 + j as f64 * cell,
                })
                .collect::<Vec<_>>(),
        )
    };
    let mut outer: Vec<Option<LineString>> = vec![None; ncomp as usize];
    let mut holes: Vec<Vec<LineString>> = vec![Vec::new(); ncomp as usize];
    for (ring, (cx, cy)) in &rings {
        let c = comp[cy.unsigned_abs() * nx + cx.unsigned_abs()] as usize;
        let area2: isize = ring
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        if area2 > 0 {
            debug_assert!(outer[c].is_none(), "one exterior per 4-connected component");
            outer[c] = Some(to_ls(ring));
        } else {
            holes[c].push(to_ls(ring));
        }
    }
    MultiPolygon::new(
        outer
            .into_iter()
            .zip(holes)
            .filter_map(|(o, h)| o.map(|o| Polygon::new(o, h)))
            .collect(),
    )
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
