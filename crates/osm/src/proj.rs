//! Metric projections for a study area, on the WGS84 ellipsoid.
//!
//! [`LocalProjection`] is the study area's frame: a conformal (ellipsoidal Mercator)
//! projection centred on the area and scaled to be true at its centre. Being
//! conformal, it distorts no shape or direction anywhere: a small circle on the
//! ground is a circle in the frame, only larger by [`LocalProjection::scale_at_lat`]
//! (1 at the centre's latitude, then growing by about `tan φ` · 1.6 % per 100 km
//! north or south: 1.6 % at 45°).
//! Measures taken in the frame (snap distances, the max-snap cut, buffers) are
//! corrected by that scale where they are taken, which keeps them within 0.01 % of
//! the ellipsoidal geodesic anywhere in a continent-wide extract; longitudes are
//! taken around the centre, so extracts across the ±180° meridian stay continuous.
//!
//! [`Tangent`] is the affine frame that touches it at one point (an equirectangular
//! projection there, with the ellipsoid's radii of curvature): what the isochrones
//! draw on, one per place, and what building areas are measured in.
//!
//! Network lengths are not measured here: they are great-circle lengths on the
//! mean-radius sphere ([`haversine_m`]), as OSMnx and pandana measure them.

use std::f64::consts::PI;

/// Mean Earth radius in metres (IUGG), the radius `geo::Haversine` uses.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// WGS84 semi-major axis, metres.
pub const WGS84_A: f64 = 6_378_137.0;

/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// First eccentricity squared.
const E2: f64 = WGS84_F * (2.0 - WGS84_F);

/// Latitudes are clamped to this, degrees (Mercator's poles are at infinity; OSM
/// data stops at ±85.05°, the web tiles' edge).
const MAX_LAT: f64 = 89.9;

/// Radii of curvature at latitude `lat` (degrees): meridian `M` and prime vertical
/// `N`, metres.
#[inline]
fn radii(lat: f64) -> (f64, f64) {
    let s = lat.to_radians().sin();
    let w2 = 1.0 - E2 * s * s;
    let n = WGS84_A / w2.sqrt();
    (n * (1.0 - E2) / w2, n)
}

/// Isometric latitude ψ of geodetic latitude `lat` (degrees).
#[inline]
fn isometric(lat: f64) -> f64 {
    let s = lat.clamp(-MAX_LAT, MAX_LAT).to_radians().sin();
    let e = E2.sqrt();
    s.atanh() - e * (e * s).atanh()
}

/// `sin φ` of the geodetic latitude whose isometric latitude is `psi`.
#[inline]
fn sin_lat_of(psi: f64, iterations: usize) -> f64 {
    let e = E2.sqrt();
    // sin φ = tanh(ψ + e·atanh(e·sin φ)): a contraction by about e² per step.
    let mut s = psi.tanh();
    for _ in 0..iterations {
        s = (psi + e * (e * s).atanh()).tanh();
    }
    s
}

/// `lon` in degrees, within 180° of `lon0` (for frames across the ±180° meridian).
#[inline]
fn wrap_around(lon: f64, lon0: f64) -> f64 {
    let d = lon - lon0;
    if d > 180.0 {
        d - 360.0
    } else if d < -180.0 {
        d + 360.0
    } else {
        d
    }
}

/// The middle of the bounding box of `[lon, lat]` points, or of the box across the
/// ±180° meridian when that one is narrower; `None` without points.
pub fn centre(points: impl Iterator<Item = [f64; 2]>) -> Option<[f64; 2]> {
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    // The same box with longitudes in 0..360.
    let (mut w360, mut e360) = (f64::MAX, f64::MIN);
    for [lon, lat] in points {
        w = w.min(lon);
        e = e.max(lon);
        s = s.min(lat);
        n = n.max(lat);
        let l = if lon < 0.0 { lon + 360.0 } else { lon };
        w360 = w360.min(l);
        e360 = e360.max(l);
    }
    if w > e {
        return None;
    }
    let mut lon0 = (w + e) / 2.0;
    if e360 - w360 < e - w {
        lon0 = (w360 + e360) / 2.0;
        if lon0 > 180.0 {
            lon0 -= 360.0;
        }
    }
    Some([lon0, (s + n) / 2.0])
}

/// The study area's metric frame: ellipsoidal Mercator centred on `(lon0, lat0)`,
/// metres true at the centre (see the module docs).
///
/// ```
/// use livingcircle_osm::proj::LocalProjection;
/// let p = LocalProjection::new(11.57, 48.14);
/// let [x, y] = p.project([11.58, 48.14]);
/// assert!((x - 744.23).abs() < 0.01 && y.abs() < 1e-9);
/// let back = p.unproject([x, y]);
/// assert!((back[0] - 11.58).abs() < 1e-12);
/// // 100 km north, a metre on the ground is 1.0179 metres in the frame.
/// assert!((p.scale_at_lat(49.04) - 1.0179).abs() < 1e-4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    lon0: f64,
    lat0: f64,
    /// Frame metres per radian of longitude (`N cos φ` at the centre).
    k: f64,
    psi0: f64,
}

impl LocalProjection {
    /// A frame centred on `(lon0, lat0)` in degrees.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let lat0 = lat0.clamp(-MAX_LAT, MAX_LAT);
        let (_, n) = radii(lat0);
        Self {
            lon0,
            lat0,
            k: n * lat0.to_radians().cos(),
            psi0: isometric(lat0),
        }
    }

    /// The frame centred on the middle of a set of `[lon, lat]` points: the middle of
    /// their bounding box, or of the box across the ±180° meridian when that one is
    /// narrower.
    pub fn centred_on(points: impl Iterator<Item = [f64; 2]>) -> Self {
        let [lon0, lat0] = centre(points).unwrap_or([0.0, 0.0]);
        Self::new(lon0, lat0)
    }

    /// The centre `[lon, lat]`.
    pub fn origin(&self) -> [f64; 2] {
        [self.lon0, self.lat0]
    }

    /// `[lon, lat]` degrees to `[x, y]` frame metres.
    #[inline]
    pub fn project(&self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        [
            self.k * wrap_around(lon, self.lon0).to_radians(),
            self.k * (isometric(lat) - self.psi0),
        ]
    }

    /// `[x, y]` frame metres to `[lon, lat]` degrees (longitude in -180..=180).
    #[inline]
    pub fn unproject(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let mut lon = self.lon0 + (x / self.k).to_degrees();
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        let s = sin_lat_of(y / self.k + self.psi0, 12);
        [lon, s.asin().to_degrees()]
    }

    /// Frame metres per metre on the ground at latitude `lat` (degrees), in every
    /// direction: 1 at the centre's latitude.
    #[inline]
    pub fn scale_at_lat(&self, lat: f64) -> f64 {
        let (_, n) = radii(lat.clamp(-MAX_LAT, MAX_LAT));
        self.k / (n * lat.clamp(-MAX_LAT, MAX_LAT).to_radians().cos())
    }

    /// [`LocalProjection::scale_at_lat`] at frame ordinate `y` (cheaper than
    /// unprojecting: accurate to 1e-9).
    #[inline]
    pub fn scale_at_y(&self, y: f64) -> f64 {
        let s = sin_lat_of(y / self.k + self.psi0, 3);
        // N cos φ = a cos φ / sqrt(1 - e² sin² φ)
        let c2 = (1.0 - s * s).max(1e-300);
        self.k * ((1.0 - E2 * s * s) / c2).sqrt() / WGS84_A
    }

    /// The affine frame touching this one at `[lon, lat]`: same metres and position
    /// there, linear in degrees around it.
    pub fn tangent_at(&self, lonlat: [f64; 2]) -> Tangent {
        let lat = lonlat[1].clamp(-MAX_LAT, MAX_LAT);
        let (m, n) = radii(lat);
        let per_rad_lon = self.k;
        // dy/dφ = k · dψ/dφ = k · M / (N cos φ)
        let per_rad_lat = self.k * m / (n * lat.to_radians().cos());
        Tangent {
            lonlat0: lonlat,
            xy0: self.project(lonlat),
            per_deg: [per_rad_lon * PI / 180.0, per_rad_lat * PI / 180.0],
        }
    }
}

/// An affine (equirectangular) frame around one point: `x = (lon - lon0)·kx + x0`,
/// `y = (lat - lat0)·ky + y0`. Within a few kilometres of its point it agrees with
/// the frame it touches (and with the ground) to about 1e-4 relative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tangent {
    lonlat0: [f64; 2],
    xy0: [f64; 2],
    /// Frame metres per degree of longitude and of latitude.
    per_deg: [f64; 2],
}

impl Tangent {
    /// A frame of ground metres with its origin at `(lon, lat)`.
    ///
    /// ```
    /// use livingcircle_osm::proj::Tangent;
    /// let t = Tangent::at(0.0, 0.0);
    /// // A degree of longitude on the equator is the semi-major axis' arc.
    /// assert!((t.project([1.0, 0.0])[0] - 111_319.49).abs() < 0.01);
    /// ```
    pub fn at(lon: f64, lat: f64) -> Self {
        let lat_c = lat.clamp(-MAX_LAT, MAX_LAT);
        let (m, n) = radii(lat_c);
        Tangent {
            lonlat0: [lon, lat],
            xy0: [0.0, 0.0],
            per_deg: [n * lat_c.to_radians().cos() * PI / 180.0, m * PI / 180.0],
        }
    }

    /// The point it touches, `[lon, lat]`.
    pub fn origin(&self) -> [f64; 2] {
        self.lonlat0
    }

    /// The point it touches, in frame metres.
    pub fn origin_xy(&self) -> [f64; 2] {
        self.xy0
    }

    /// Frame metres per degree of longitude and of latitude.
    pub fn per_deg(&self) -> [f64; 2] {
        self.per_deg
    }

    /// `[lon, lat]` degrees to frame metres.
    #[inline]
    pub fn project(&self, [lon, lat]: [f64; 2]) -> [f64; 2] {
        [
            wrap_around(lon, self.lonlat0[0]) * self.per_deg[0] + self.xy0[0],
            (lat - self.lonlat0[1]) * self.per_deg[1] + self.xy0[1],
        ]
    }

    /// Frame metres to `[lon, lat]` degrees (longitude in -180..=180).
    #[inline]
    pub fn unproject(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let mut lon = (x - self.xy0[0]) / self.per_deg[0] + self.lonlat0[0];
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        [lon, (y - self.xy0[1]) / self.per_deg[1] + self.lonlat0[1]]
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
    use geo::{Distance, Geodesic, Haversine, Point};

    fn geodesic(a: [f64; 2], b: [f64; 2]) -> f64 {
        Geodesic.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
    }

    #[test]
    fn haversine_matches_geo() {
        let a = [11.5661, 48.1371];
        let b = [11.5862, 48.1429];
        let ours = haversine_m(a, b);
        let theirs = Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]));
        assert!((ours - theirs).abs() < 1e-6, "{ours} {theirs}");
    }

    /// A short step measured in the frame and corrected by the local scale equals
    /// the ellipsoidal geodesic (Karney's, as `geo` computes it) within 0.01 %, in
    /// every direction, anywhere within 10° of the centre, and across ±180°.
    #[test]
    fn frame_distances_corrected_by_scale_are_geodesic() {
        for (lon0, lat0) in [(118.78, 32.04), (11.5, 48.1), (-70.0, -33.4), (179.5, 65.0)] {
            let p = LocalProjection::new(lon0, lat0);
            for dlat in [-10.0, -4.0, 0.0, 3.0, 10.0] {
                for dlon in [-10.0, -2.5, 0.0, 7.0, 10.0] {
                    let mut lon = lon0 + dlon;
                    if lon > 180.0 {
                        lon -= 360.0;
                    }
                    let a = [lon, lat0 + dlat];
                    let pa = p.project(a);
                    let back = p.unproject(pa);
                    assert!(
                        (back[0] - a[0]).abs() < 1e-9 && (back[1] - a[1]).abs() < 1e-9,
                        "{a:?} {back:?}"
                    );
                    for bearing in 0..8 {
                        let t = f64::from(bearing) * PI / 4.0 + 0.3;
                        // A step of about 200 m.
                        let b = [
                            a[0] + 0.0018 * t.cos() / a[1].to_radians().cos(),
                            a[1] + 0.0018 * t.sin(),
                        ];
                        let pb = p.project(b);
                        let planar = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
                        let mid = (pa[1] + pb[1]) / 2.0;
                        let ours = planar / p.scale_at_y(mid);
                        let truth = geodesic(a, b);
                        assert!(
                            (ours - truth).abs() / truth < 1e-4,
                            "centre {lon0},{lat0} at {a:?} bearing {bearing}: {ours} vs {truth}"
                        );
                        let by_lat = planar / p.scale_at_lat((a[1] + b[1]) / 2.0);
                        assert!((by_lat - ours).abs() / ours < 1e-7, "{by_lat} {ours}");
                    }
                }
            }
        }
    }

    #[test]
    fn centred_across_the_antimeridian() {
        let p = LocalProjection::centred_on([[179.0, 60.0], [-179.0, 62.0]].into_iter());
        let o = p.origin();
        assert!(
            (o[0].abs() - 180.0).abs() < 1e-9 && (o[1] - 61.0).abs() < 1e-9,
            "{o:?}"
        );
        let (a, b) = (p.project([179.0, 61.0]), p.project([-179.0, 61.0]));
        assert!(a[0] < 0.0 && b[0] > 0.0, "{a:?} {b:?}");
        let truth = geodesic([179.0, 61.0], [-179.0, 61.0]);
        let ours = (b[0] - a[0]) / p.scale_at_lat(61.0);
        // A 108 km chord along a parallel is longer than the geodesic by ~1e-4.
        assert!((ours - truth).abs() / truth < 3e-4, "{ours} {truth}");
        let ordinary = LocalProjection::centred_on([[10.0, 1.0], [12.0, 3.0]].into_iter());
        assert_eq!(ordinary.origin(), [11.0, 2.0]);
    }

    #[test]
    fn tangent_touches_the_frame() {
        let p = LocalProjection::new(118.78, 32.04);
        let at = [120.1, 36.2];
        let t = p.tangent_at(at);
        assert_eq!(t.project(at), p.project(at));
        // 2 km away the affine frame is within 1e-4 relative of the conformal one.
        let q = [at[0] + 0.015, at[1] + 0.012];
        let (a, b) = (t.project(q), p.project(q));
        let d = ((b[0] - p.project(at)[0]).powi(2) + (b[1] - p.project(at)[1]).powi(2)).sqrt();
        let err = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        assert!(err / d < 1e-4, "{err} over {d}");
        let back = t.unproject(t.project(q));
        assert!((back[0] - q[0]).abs() < 1e-12 && (back[1] - q[1]).abs() < 1e-12);
        // Ground frame: a 200 m step agrees with the geodesic to 1e-5.
        let g = Tangent::at(at[0], at[1]);
        let r = [at[0] + 0.001, at[1] + 0.0015];
        let pr = g.project(r);
        let ours = (pr[0].powi(2) + pr[1].powi(2)).sqrt();
        let truth = geodesic(at, r);
        assert!((ours - truth).abs() / truth < 1e-5, "{ours} {truth}");
    }
}
