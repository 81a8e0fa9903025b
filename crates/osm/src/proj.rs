//! A local metric projection for a study area.

/// Mean Earth radius in metres (IUGG), the radius `geo::Haversine` uses.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Equirectangular projection centred on a study area, in metres.
///
/// Within a city (tens of kilometres) its scale error is well below 1 %, which is
/// enough for snapping and polygon building; network lengths are measured on the
/// sphere, not here.
///
/// ```
/// use livingcircle_osm::proj::LocalProjection;
/// let p = LocalProjection::new(11.57, 48.14);
/// let [x, y] = p.project([11.58, 48.14]);
/// assert!((x - 742.6).abs() < 1.0 && y.abs() < 1e-9);
/// let back = p.unproject([x, y]);
/// assert!((back[0] - 11.58).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    /// A projection centred on `(lon0, lat0)` in degrees.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Self {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }

    /// The projection centred on the middle of a set of `[lon, lat]` points.
    pub fn centred_on(points: impl Iterator<Item = [f64; 2]>) -> Self {
        let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for [lon, lat] in points {
            w = w.min(lon);
            e = e.max(lon);
            s = s.min(lat);
            n = n.max(lat);
        }
        if w > e {
            return Self::new(0.0, 0.0);
        }
        Self::new((w + e) / 2.0, (s + n) / 2.0)
    }

    /// The centre `[lon, lat]`.
    pub fn origin(&self) -> [f64; 2] {
        [self.lon0, self.lat0]
    }

    /// `[lon, lat]` degrees to `[x, y]` metres.
    #[inline]
    pub fn project(&self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        [(lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky]
    }

    /// `[x, y]` metres to `[lon, lat]` degrees.
    #[inline]
    pub fn unproject(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        [x / self.kx + self.lon0, y / self.ky + self.lat0]
    }
}

/// Great-circle distance in metres between two `[lon, lat]` points.
#[inline]
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Haversine, Point};

    #[test]
    fn haversine_matches_geo() {
        let a = [11.5661, 48.1371];
        let b = [11.5862, 48.1429];
        let ours = haversine_m(a, b);
        let theirs = Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]));
        assert!((ours - theirs).abs() < 1e-6, "{ours} {theirs}");
    }

    #[test]
    fn projection_roundtrip_and_scale() {
        let p = LocalProjection::new(118.78, 32.04);
        let a = [118.77, 32.03];
        let b = [118.79, 32.05];
        let (pa, pb) = (p.project(a), p.project(b));
        let planar = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
        let sphere = haversine_m(a, b);
        assert!(
            (planar - sphere).abs() / sphere < 0.001,
            "{planar} {sphere}"
        );
        let back = p.unproject(pa);
        assert!((back[0] - a[0]).abs() < 1e-12 && (back[1] - a[1]).abs() < 1e-12);
    }
}
