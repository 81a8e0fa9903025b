//! Closing outlines into polygons, and the measures residences need.

use geo::{
    Area, Centroid, Contains, Coord, CoordsIter, InteriorPoint, LineString, MultiPolygon, Point,
    Polygon,
};

use crate::proj::Tangent;

/// Joins open or closed node sequences into closed rings of node ids.
///
/// Sequences are joined end to end (either orientation). Sequences that never
/// close are returned in the second element as a count.
pub(crate) fn assemble_rings(mut parts: Vec<Vec<i64>>) -> (Vec<Vec<i64>>, usize) {
    let mut rings = Vec::new();
    let mut broken = 0;
    parts.retain(|p| p.len() >= 2);
    while let Some(mut ring) = parts.pop() {
        let mut turned = false;
        loop {
            if ring.len() >= 4 && ring.first() == ring.last() {
                rings.push(ring);
                break;
            }
            let end = *ring.last().expect("ring is never empty");
            let Some(i) = parts
                .iter()
                .position(|p| p.first() == Some(&end) || p.last() == Some(&end))
            else {
                // Nothing continues the end: try growing from the other end once.
                if !turned {
                    turned = true;
                    ring.reverse();
                    continue;
                }
                broken += 1;
                break;
            };
            let mut next = parts.swap_remove(i);
            if next.first() != Some(&end) {
                next.reverse();
            }
            ring.extend_from_slice(&next[1..]);
        }
    }
    (rings, broken)
}

/// Builds a multipolygon from outer and inner rings given as coordinates.
/// Each inner ring goes to the first outer ring that contains its first vertex.
pub(crate) fn multipolygon(outers: Vec<Vec<[f64; 2]>>, inners: Vec<Vec<[f64; 2]>>) -> MultiPolygon {
    let to_ls = |r: Vec<[f64; 2]>| {
        LineString::from(
            r.into_iter()
                .map(|[x, y]| Coord { x, y })
                .collect::<Vec<_>>(),
        )
    };
    let mut polys: Vec<(Polygon, Vec<LineString>)> = outers
        .into_iter()
        .map(|o| (Polygon::new(to_ls(o), vec![]), vec![]))
        .collect();
    for inner in inners {
        let first = inner[0];
        let ls = to_ls(inner);
        if let Some((_, holes)) = polys
            .iter_mut()
            .find(|(p, _)| p.contains(&Point::new(first[0], first[1])))
        {
            holes.push(ls);
        }
    }
    MultiPolygon::new(
        polys
            .into_iter()
            .map(|(p, holes)| Polygon::new(p.exterior().clone(), holes))
            .collect(),
    )
}

/// Area in square metres and a point on the surface `[lon, lat]` of a lon/lat
/// multipolygon: its centroid when that lies inside, else an interior point (the
/// centroid of a courtyard block or an L-shaped building falls outside it).
pub(crate) fn area_and_point(mp: &MultiPolygon) -> Option<(f64, [f64; 2])> {
    let [lon, lat] = crate::proj::centre(mp.coords_iter().map(|c| [c.x, c.y]))?;
    let proj = Tangent::at(lon, lat);
    measure(&project(mp, &proj), &proj)
}

/// [`area_and_point`] of the polygon a closed ring `[lon, lat]` bounds, with the
/// same numbers.
pub(crate) fn ring_area_and_point(ring: &[[f64; 2]]) -> Option<(f64, [f64; 2])> {
    let [lon, lat] = crate::proj::centre(ring.iter().copied())?;
    let proj = Tangent::at(lon, lat);
    let ls = LineString::from(
        ring.iter()
            .map(|&p| {
                let [x, y] = proj.project(p);
                Coord { x, y }
            })
            .collect::<Vec<_>>(),
    );
    measure(&MultiPolygon::new(vec![Polygon::new(ls, vec![])]), &proj)
}

/// Area and point on the surface of a multipolygon projected with `proj`.
fn measure(projected: &MultiPolygon, proj: &Tangent) -> Option<(f64, [f64; 2])> {
    let area = projected.unsigned_area();
    let centroid = projected.centroid()?;
    let point = if projected.contains(&centroid) {
        centroid
    } else {
        projected.interior_point().unwrap_or(centroid)
    };
    Some((area, proj.unproject([point.x(), point.y()])))
}

/// A polygon prepared for many point-in-polygon tests: its rings' edges bucketed by
/// horizontal bands, so a test looks at the few edges of one band instead of all.
pub(crate) struct Prepared {
    min: [f64; 2],
    max: [f64; 2],
    band_h: f64,
    first: Vec<u32>,
    edges: Vec<[f64; 4]>,
}

impl Prepared {
    pub(crate) fn new(p: &Polygon) -> Self {
        let rings = std::iter::once(p.exterior()).chain(p.interiors());
        let all: Vec<[f64; 4]> = rings
            .flat_map(|r| r.lines().map(|l| [l.start.x, l.start.y, l.end.x, l.end.y]))
            .collect();
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        for e in &all {
            for (x, y) in [(e[0], e[1]), (e[2], e[3])] {
                min = [min[0].min(x), min[1].min(y)];
                max = [max[0].max(x), max[1].max(y)];
            }
        }
        let bands = (all.len() / 4).clamp(1, 4096);
        let band_h = ((max[1] - min[1]) / bands as f64).max(f64::MIN_POSITIVE);
        let band = |y: f64| (((y - min[1]) / band_h) as usize).min(bands - 1);
        let mut count = vec![0u32; bands + 1];
        for e in &all {
            let (lo, hi) = (band(e[1].min(e[3])), band(e[1].max(e[3])));
            for c in &mut count[lo + 1..=hi + 1] {
                *c += 1;
            }
        }
        for i in 0..bands {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut edges = vec![[0.0; 4]; count[bands] as usize];
        for e in &all {
            let (lo, hi) = (band(e[1].min(e[3])), band(e[1].max(e[3])));
            for f in &mut fill[lo..=hi] {
                edges[*f as usize] = *e;
                *f += 1;
            }
        }
        Prepared {
            min,
            max,
            band_h,
            first: count,
            edges,
        }
    }

    /// Whether `[x, y]` lies inside the polygon (even-odd over all its rings; a point
    /// exactly on an edge may go either way).
    pub(crate) fn contains(&self, [x, y]: [f64; 2]) -> bool {
        if !(x >= self.min[0] && x <= self.max[0] && y >= self.min[1] && y <= self.max[1]) {
            return false;
        }
        let bands = self.first.len() - 1;
        let b = (((y - self.min[1]) / self.band_h) as usize).min(bands - 1);
        let mut inside = false;
        for e in &self.edges[self.first[b] as usize..self.first[b + 1] as usize] {
            let ([x0, y0], [x1, y1]) = ([e[0], e[1]], [e[2], e[3]]);
            if (y0 > y) != (y1 > y) && x < x0 + (y - y0) * (x1 - x0) / (y1 - y0) {
                inside = !inside;
            }
        }
        inside
    }
}

fn project(mp: &MultiPolygon, proj: &Tangent) -> MultiPolygon {
    let f = |ls: &LineString| {
        LineString::from(
            ls.0.iter()
                .map(|c| {
                    let [x, y] = proj.project([c.x, c.y]);
                    Coord { x, y }
                })
                .collect::<Vec<_>>(),
        )
    };
    MultiPolygon::new(
        mp.0.iter()
            .map(|p| Polygon::new(f(p.exterior()), p.interiors().iter().map(f).collect()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_join_in_either_orientation() {
        let (rings, broken) = assemble_rings(vec![vec![1, 2, 3], vec![5, 4, 3], vec![5, 6, 1]]);
        assert_eq!(broken, 0);
        assert_eq!(rings.len(), 1);
        let r = &rings[0];
        assert_eq!(r.first(), r.last());
        assert_eq!(r.len(), 7);
    }

    #[test]
    fn open_ring_is_broken() {
        let (rings, broken) = assemble_rings(vec![vec![1, 2, 3], vec![3, 4]]);
        assert!(rings.is_empty());
        assert_eq!(broken, 1);
    }

    #[test]
    fn prepared_polygons_agree_with_geo() {
        // A ring with a notch and two holes, and seeded random points around it.
        let ring = |pts: &[(f64, f64)]| {
            LineString::from(pts.iter().map(|&(x, y)| Coord { x, y }).collect::<Vec<_>>())
        };
        let outer = ring(&[
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (6.0, 10.0),
            (5.0, 3.0),
            (4.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]);
        let holes = vec![
            ring(&[(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0), (1.0, 1.0)]),
            ring(&[(7.0, 5.0), (9.0, 6.0), (7.5, 8.0), (7.0, 5.0)]),
        ];
        let p = Polygon::new(outer, holes);
        let prep = Prepared::new(&p);
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 12.0 - 1.0
        };
        for _ in 0..20_000 {
            let (x, y) = (next(), next());
            assert_eq!(
                prep.contains([x, y]),
                p.contains(&Point::new(x, y)),
                "{x} {y}"
            );
        }
    }

    #[test]
    fn area_of_a_100m_square() {
        let proj = Tangent::at(11.0, 48.0);
        let sq: Vec<[f64; 2]> = [
            [0.0, 0.0],
            [100.0, 0.0],
            [100.0, 100.0],
            [0.0, 100.0],
            [0.0, 0.0],
        ]
        .into_iter()
        .map(|p| proj.unproject(p))
        .collect();
        let mp = multipolygon(vec![sq], vec![]);
        let (a, c) = area_and_point(&mp).unwrap();
        assert!((a - 10_000.0).abs() < 5.0, "{a}");
        let back = proj.project(c);
        assert!((back[0] - 50.0).abs() < 0.1 && (back[1] - 50.0).abs() < 0.1);
    }

    /// Areas agree with the ellipsoid's (`geo`'s geodesic area, Karney) within
    /// 0.01 % at any latitude, and across the ±180° meridian.
    #[test]
    fn areas_are_geodesic() {
        use geo::GeodesicArea;
        for (lon, lat) in [
            (0.0, 0.0),
            (118.8, 32.0),
            (11.0, 48.0),
            (-70.0, -33.0),
            (25.0, 69.5),
        ] {
            // A 300 m x 180 m L-shaped building, turned by 20 degrees.
            let pts = [
                [0.0, 0.0],
                [300.0, 0.0],
                [300.0, 80.0],
                [120.0, 80.0],
                [120.0, 180.0],
                [0.0, 180.0],
            ];
            let t = Tangent::at(lon, lat);
            let (c, s) = (20f64.to_radians().cos(), 20f64.to_radians().sin());
            let mut ring: Vec<[f64; 2]> = pts
                .iter()
                .map(|&[x, y]| t.unproject([x * c - y * s, x * s + y * c]))
                .collect();
            ring.push(ring[0]);
            let (ours, _) = ring_area_and_point(&ring).unwrap();
            let mp = multipolygon(vec![ring], vec![]);
            let truth = mp.geodesic_area_unsigned();
            assert!(
                (ours - truth).abs() / truth < 1e-4,
                "{lon},{lat}: {ours} {truth}"
            );
        }
        let across = vec![
            [179.999, 10.0],
            [-179.998, 10.0],
            [-179.998, 10.002],
            [179.999, 10.002],
            [179.999, 10.0],
        ];
        let (ours, c) = ring_area_and_point(&across).unwrap();
        let across = across.clone();
        let truth = multipolygon(vec![across], vec![]).geodesic_area_unsigned();
        assert!((ours - truth).abs() / truth < 1e-4, "{ours} {truth}");
        assert!((c[0].abs() - 179.9995).abs() < 1e-9 && c[0] < 0.0, "{c:?}");
    }
}
