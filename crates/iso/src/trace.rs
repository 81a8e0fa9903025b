//! Tracing cell boundaries into rings.
//!
//! Boundary edges run along grid lines with the covered cell on their left, so outer
//! rings come out counter-clockwise and holes clockwise (RFC 7946). Where two covered
//! cells touch only at a corner, the trace turns left and keeps them apart, and a ring
//! that still passes a corner twice is split there, so no ring crosses or touches
//! itself. Rings are lists of grid corner ids `y * (nx + 1) + x`.

use std::collections::HashMap;

use crate::contour::Rings;

/// Traces the cells for which `inside(x, y)` holds, on an `nx × ny` grid, into `out`
/// (cleared first).
pub(crate) fn rings(nx: usize, ny: usize, inside: &dyn Fn(usize, usize) -> bool, out: &mut Rings) {
    out.ids.clear();
    out.ends.clear();
    let is_in = |x: isize, y: isize| {
        x >= 0 && y >= 0 && (x as usize) < nx && (y as usize) < ny && inside(x as usize, y as usize)
    };
    // Directed boundary edges between grid corners `(from, to)`, sorted by `from`: at
    // most two leave a corner.
    let w = nx + 1;
    let corner = |x: isize, y: isize| (y as usize * w + x as usize) as u32;
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for y in 0..ny as isize {
        for x in 0..nx as isize {
            if !is_in(x, y) {
                continue;
            }
            if !is_in(x, y - 1) {
                edges.push((corner(x, y), corner(x + 1, y)));
            }
            if !is_in(x + 1, y) {
                edges.push((corner(x + 1, y), corner(x + 1, y + 1)));
            }
            if !is_in(x, y + 1) {
                edges.push((corner(x + 1, y + 1), corner(x, y + 1)));
            }
            if !is_in(x - 1, y) {
                edges.push((corner(x, y + 1), corner(x, y)));
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
    for i0 in 0..edges.len() {
        if used[i0] {
            continue;
        }
        used[i0] = true;
        let (s0, e0) = edges[i0];
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
            out.ids
                .extend(r[..r.len() - 1].iter().map(|&(x, y)| corner(x, y)));
            out.ends.push(out.ids.len() as u32);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Arrangement, Lattice, assemble};
    use crate::simplify::{DEAD, Simplifier};
    use geo::{Area, MultiPolygon, Validation};
    use livingcircle_osm::proj::LocalProjection;

    /// Traces the picture's `#` cells (unit squares) into rings, drops the vertices in
    /// the middle of straight runs and assembles the polygons, as `isochrones` does.
    fn trace(cells: &[&str]) -> MultiPolygon {
        let ny = cells.len();
        let nx = cells[0].len();
        // Row 0 of the picture is the top.
        let inside = |x: usize, y: usize| cells[ny - 1 - y].as_bytes()[x] == b'#';
        let mut r = Rings::default();
        rings(nx, ny, &inside, &mut r);
        let mut a = Arrangement::default();
        a.reset((nx + 1) * (ny + 1));
        let w = nx + 1;
        a.add(0, &r, true, |id| {
            (
                id,
                [(id as usize % w) as i32, (id as usize / w) as i32],
                u32::MAX,
            )
        });
        let mut s = Simplifier::default();
        let lattice = Lattice::new(LocalProjection::new(0.0, 0.0).tangent_at([0.0, 0.0]));
        s.run(&a, &[], 0.0, &lattice, 1.0, None);
        assemble(
            &a,
            0,
            &s.pos,
            |v| s.flags[v as usize] & DEAD == 0,
            |q| [f64::from(q[0]), f64::from(q[1])],
        )
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
