//! A row's geometry as ISO WKB (little-endian, 2D) and its bounding box, with the
//! coordinates rounded to 7 decimals as in the GeoJSON, so that every format holds
//! the same numbers.

use crate::geo_json::round7;
use crate::schema::{GeometryType, RowBuf};

/// `[min_x, min_y, max_x, max_y]`.
pub(crate) type Bbox = [f64; 4];

/// A box that contains nothing; [`grow`] makes it contain points.
pub(crate) const EMPTY: Bbox = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
];

/// Extends `b` to contain `o`.
pub(crate) fn grow(b: &mut Bbox, o: &Bbox) {
    b[0] = b[0].min(o[0]);
    b[1] = b[1].min(o[1]);
    b[2] = b[2].max(o[2]);
    b[3] = b[3].max(o[3]);
}

/// Whether `b` contains anything.
pub(crate) fn is_empty(b: &Bbox) -> bool {
    b[0] > b[2]
}

/// The OGC name of a geometry type (GeoPackage, GeoParquet).
pub(crate) fn type_name(t: GeometryType) -> &'static str {
    match t {
        GeometryType::Point => "POINT",
        GeometryType::LineString => "LINESTRING",
        GeometryType::Polygon => "POLYGON",
        GeometryType::MultiPolygon => "MULTIPOLYGON",
        GeometryType::Mixed => "GEOMETRY",
    }
}

/// A row's geometry read back as rounded `[lon, lat]` rings: the polygons, each a
/// list of rings (a point or a line is one polygon of one ring).
pub(crate) struct Shape<'b> {
    buf: &'b RowBuf<'b>,
    ty: GeometryType,
}

impl<'b> Shape<'b> {
    /// The row in `buf` of a layer of type `ty` (a [`GeometryType::Mixed`] layer's
    /// row is given its own type).
    pub(crate) fn new(ty: GeometryType, buf: &'b RowBuf<'b>) -> Self {
        Shape {
            buf,
            ty: ty.of_row(buf),
        }
    }

    /// The row's geometry type (never [`GeometryType::Mixed`]).
    pub(crate) fn geometry_type(&self) -> GeometryType {
        self.ty
    }

    /// The rounded coordinates of `coords[range]`.
    pub(crate) fn points(&self, start: u32, end: u32) -> impl Iterator<Item = [f64; 2]> + '_ {
        self.buf.coords[start as usize..end as usize]
            .iter()
            .map(|&[x, y]| [round7(x), round7(y)])
    }

    /// Rings of polygon `p` as `(start, end)` ranges into the coordinates (for a
    /// Polygon, `p` is 0 and the rings are all of them).
    pub(crate) fn rings(&self, p: usize) -> Vec<(u32, u32)> {
        let (r0, r1) = match self.ty {
            GeometryType::MultiPolygon => {
                let r0 = if p == 0 { 0 } else { self.buf.polygons[p - 1] };
                (r0 as usize, self.buf.polygons[p] as usize)
            }
            _ => (0, self.buf.rings.len()),
        };
        (r0..r1)
            .map(|r| {
                let s = if r == 0 { 0 } else { self.buf.rings[r - 1] };
                (s, self.buf.rings[r])
            })
            .collect()
    }

    /// Number of polygons of a MultiPolygon.
    pub(crate) fn polygon_count(&self) -> usize {
        self.buf.polygons.len()
    }

    /// All the coordinates.
    pub(crate) fn all(&self) -> (u32, u32) {
        (0, self.buf.coords.len() as u32)
    }

    /// The bounding box of the rounded coordinates.
    pub(crate) fn bbox(&self) -> Bbox {
        let mut b = EMPTY;
        for [x, y] in self.points(0, self.buf.coords.len() as u32) {
            grow(&mut b, &[x, y, x, y]);
        }
        b
    }

    /// Appends the ISO WKB (little-endian) of the geometry.
    pub(crate) fn wkb(&self, out: &mut Vec<u8>) {
        let u32le = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        let points = |out: &mut Vec<u8>, s: u32, e: u32| {
            u32le(out, e - s);
            for [x, y] in self.points(s, e) {
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&y.to_le_bytes());
            }
        };
        let polygon = |out: &mut Vec<u8>, p: usize| {
            out.push(1);
            u32le(out, 3);
            let rings = self.rings(p);
            u32le(out, rings.len() as u32);
            for (s, e) in rings {
                points(out, s, e);
            }
        };
        match self.ty {
            GeometryType::Point => {
                out.push(1);
                u32le(out, 1);
                let [x, y] = self.points(0, 1).next().expect("a point has a coordinate");
                out.extend_from_slice(&x.to_le_bytes());
                out.extend_from_slice(&y.to_le_bytes());
            }
            GeometryType::LineString => {
                out.push(1);
                u32le(out, 2);
                let (s, e) = self.all();
                points(out, s, e);
            }
            GeometryType::Polygon => polygon(out, 0),
            GeometryType::MultiPolygon => {
                out.push(1);
                u32le(out, 6);
                u32le(out, self.polygon_count() as u32);
                for p in 0..self.polygon_count() {
                    polygon(out, p);
                }
            }
            GeometryType::Mixed => unreachable!("a row has one type"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_wkb_is_21_bytes_with_rounded_coordinates() {
        let mut buf = RowBuf::default();
        buf.coords.push([11.123_456_789, 48.0]);
        let s = Shape::new(GeometryType::Point, &buf);
        let mut w = Vec::new();
        s.wkb(&mut w);
        assert_eq!(w.len(), 21);
        assert_eq!(&w[..5], &[1, 1, 0, 0, 0]);
        assert_eq!(
            f64::from_le_bytes(w[5..13].try_into().unwrap()),
            11.123_456_8
        );
        assert_eq!(s.bbox(), [11.123_456_8, 48.0, 11.123_456_8, 48.0]);
    }

    #[test]
    fn multipolygon_wkb_nests_polygons_and_rings() {
        let mut buf = RowBuf::default();
        // Polygon 1: one ring of 4 points; polygon 2: two rings of 4 points.
        for k in 0..3 {
            let o = f64::from(k);
            buf.coords
                .extend([[o, 0.0], [o + 1.0, 0.0], [o, 1.0], [o, 0.0]]);
            buf.end_ring();
            if k != 1 {
                buf.end_polygon();
            }
        }
        let s = Shape::new(GeometryType::MultiPolygon, &buf);
        let mut w = Vec::new();
        s.wkb(&mut w);
        // Header 9, polygon headers 9 + 4 each (ring counts), rings 4 + 4*16 each.
        assert_eq!(w.len(), 9 + 2 * 9 + 3 * (4 + 64));
        assert_eq!(u32::from_le_bytes(w[5..9].try_into().unwrap()), 2);
        assert_eq!(s.rings(1), vec![(4, 8), (8, 12)]);
        assert_eq!(s.bbox(), [0.0, 0.0, 3.0, 1.0]);
    }
}
