//! Streaming RFC 7946 GeoJSON.

use geojson::{Feature, Geometry, JsonObject, Value};
use std::io::Write;
use std::path::Path;

use crate::{AtomicFile, Error};

pub use livingcircle_analysis::round7;

/// Writes a FeatureCollection one feature at a time, atomically.
pub struct FeatureSink {
    file: AtomicFile,
    first: bool,
}

impl FeatureSink {
    /// Starts a FeatureCollection at `path`.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
            .map_err(|e| file.error(e))?;
        Ok(FeatureSink { file, first: true })
    }

    /// Appends one feature.
    ///
    /// # Errors
    /// Writing failed.
    pub fn push(&mut self, geometry: Value, properties: JsonObject) -> Result<(), Error> {
        let text = feature_json(geometry, properties);
        self.push_json(&text)
    }

    /// Appends one feature already serialised with [`feature_json`] (so that
    /// serialisation can run on worker threads).
    ///
    /// # Errors
    /// Writing failed.
    pub fn push_json(&mut self, feature: &str) -> Result<(), Error> {
        let sep: &[u8] = if self.first { b"" } else { b",\n" };
        self.first = false;
        let r = self
            .file
            .write_all(sep)
            .and_then(|()| self.file.write_all(feature.as_bytes()));
        r.map_err(|e| self.file.error(e))
    }

    /// Closes the collection and renames the file into place.
    ///
    /// # Errors
    /// Writing or renaming failed.
    pub fn finish(mut self) -> Result<(), Error> {
        self.file
            .write_all(b"\n]}\n")
            .map_err(|e| self.file.error(e))?;
        self.file.commit()
    }
}

/// One GeoJSON Feature as compact JSON text.
pub fn feature_json(geometry: Value, properties: JsonObject) -> String {
    let f = Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: None,
        properties: Some(properties),
        foreign_members: None,
    };
    serde_json::to_string(&f).expect("a Feature always serialises")
}

/// Appends (as UTF-8 bytes) `x` rounded to 7 decimals as the shortest decimal that reads back as
/// `round7(x)` — the text serde_json writes for it — without building a JSON value.
pub fn push_coord(out: &mut Vec<u8>, x: f64) {
    // `f64::round` (half away from zero) without a libm call: the difference to the
    // truncation is exact below 2^52.
    let y = x * 1e7;
    let t = (y as i64) as f64;
    let d = y - t;
    let k = if y.abs() >= 4.0e15 || !y.is_finite() {
        y.round()
    } else if d >= 0.5 {
        t + 1.0
    } else if d <= -0.5 {
        t - 1.0
    } else {
        t
    };
    if !k.is_finite() || k.abs() >= 5.0e15 || k.abs() < 1e4 {
        // Beyond 2^29 (where f64 steps exceed 1e-7 and the shortest text has fewer
        // decimals), or below 0.001 (serde_json writes exponents below 1e-5; kept
        // clear of it): serde_json's own text.
        out.extend_from_slice(
            serde_json::to_string(&round7(x))
                .unwrap_or_else(|_| "null".into())
                .as_bytes(),
        );
        return;
    }
    let k = k as i64;
    // Digits by hand into a stack buffer, pushed once: `write!` and per-char pushes
    // cost more than the rest of a polygon's export.
    let mut buf = [0u8; 32];
    let ka = k.unsigned_abs();
    let (int, frac) = (ka / 10_000_000, (ka % 10_000_000) as u32);
    // Seven fraction digits at the end of the buffer, then trailing zeros dropped
    // (one kept after the point).
    let end = buf.len();
    let mut f = frac;
    for i in (end - 7..end).rev() {
        buf[i] = b'0' + (f % 10) as u8;
        f /= 10;
    }
    let mut stop = end;
    while stop > end - 6 && buf[stop - 1] == b'0' {
        stop -= 1;
    }
    let mut at = end - 7;
    at -= 1;
    buf[at] = b'.';
    let mut v = int;
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if k < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.extend_from_slice(&buf[at..stop]);
}

/// One GeoJSON Feature as compact JSON text, from geometry already written as JSON
/// text (e.g. with [`push_coord`]); the same text as [`feature_json`].
pub fn feature_json_raw(geometry: &str, properties: &JsonObject) -> String {
    let props = serde_json::to_string(properties).expect("a JSON object always serialises");
    let mut s = String::with_capacity(geometry.len() + props.len() + 48);
    s.push_str("{\"type\":\"Feature\",\"geometry\":");
    s.push_str(geometry);
    s.push_str(",\"properties\":");
    s.push_str(&props);
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_print_as_serde_json_prints_round7() {
        let mut x = 0.123_456_789_f64;
        let mut state = 7u64;
        for i in 0..200_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (state >> 11) as f64 / (1u64 << 53) as f64;
            x = match i % 4 {
                0 => r * 360.0 - 180.0,
                1 => r * 180.0 - 90.0,
                2 => (r * 1e4).round() / 1e4 - 0.5,
                _ => -x,
            };
            let mut got = Vec::new();
            push_coord(&mut got, x);
            let want = serde_json::to_string(&round7(x)).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{x}");
        }
        for x in [
            0.0, -0.0, 1e-8, -1e-8, 180.0, -180.0, 90.0, 11.5, 1e-7, -1e-7,
        ] {
            let mut got = Vec::new();
            push_coord(&mut got, x);
            assert_eq!(
                String::from_utf8(got).unwrap(),
                serde_json::to_string(&round7(x)).unwrap(),
                "{x}"
            );
        }
    }

    #[test]
    fn raw_features_equal_built_ones() {
        let mut p = JsonObject::new();
        p.insert("id".into(), serde_json::json!("a"));
        p.insert("area_m2".into(), serde_json::json!(12.0));
        let geom = Value::Polygon(vec![vec![
            vec![11.0, 48.0],
            vec![11.1, 48.0],
            vec![11.1, 48.1],
            vec![11.0, 48.0],
        ]]);
        let text = serde_json::to_string(&Geometry::new(geom.clone())).unwrap();
        assert_eq!(feature_json_raw(&text, &p), feature_json(geom, p));
    }
}
