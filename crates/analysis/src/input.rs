//! User-supplied residences and facilities: GeoJSON or CSV.
//!
//! * GeoJSON: a FeatureCollection (or one Feature) of Point, Polygon or MultiPolygon
//!   features; properties `population`, `category`, `name`, `id` (all optional here).
//! * CSV with a header: `lon,lat` required; `population`, `category`, `name`, `id`
//!   optional.
//!
//! Every other column (CSV) or property (GeoJSON, the union over features in order of
//! first appearance) is kept as text in [`UserPlace::columns`]/[`UserPlace::values`].
//!
//! Polygons are represented by their centroid (residences) or snapped at their
//! outline (facilities). Coordinates outside lon/lat range, unparsable numbers and
//! unknown geometry types are errors naming the file and the row or feature.

use std::path::{Path, PathBuf};

use geo::{Centroid, Coord, LineString, MultiPolygon, Polygon};
use geojson::{GeoJson, Value};

use std::sync::Arc;

use crate::population::PopulationSource;
use crate::{Facility, Home, Origin, Preset, UserFields};

/// Columns the readers interpret; the others are carried as user columns.
const READ_COLUMNS: [&str; 8] = [
    "lon",
    "lng",
    "longitude",
    "lat",
    "latitude",
    "population",
    "category",
    "name",
];

/// A bad input file, row or feature.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), item.as_ref().map(|i| format!(", {i}")).unwrap_or_default())]
pub struct InputError {
    /// The file.
    pub file: PathBuf,
    /// `row N` or `feature N` (1-based), when the problem is in one.
    pub item: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// One place read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPlace {
    /// `[lon, lat]` (centroid for polygons).
    pub lonlat: [f64; 2],
    /// Outline rings for polygons; empty for points.
    pub outline: Vec<Vec<[f64; 2]>>,
    /// For polygons, the end of each polygon's rings in `outline` (its first ring is
    /// the exterior, the others its holes); empty for points.
    pub polygons: Vec<u32>,
    /// `population`, if given.
    pub population: Option<f64>,
    /// `category`, if given.
    pub category: Option<String>,
    /// `name`, if given.
    pub name: Option<String>,
    /// `id` (a property, else the GeoJSON feature id; a CSV column), if given.
    pub id: Option<String>,
    /// The file's other columns (shared by its places)...
    pub columns: Arc<[String]>,
    /// ...and this place's values of them, as text (`None`: empty or null).
    pub values: Vec<Option<String>>,
}

impl UserPlace {
    fn user_fields(&self) -> Option<Box<UserFields>> {
        Some(Box::new(UserFields {
            id: self.id.clone(),
            columns: self.columns.clone(),
            values: self.values.clone(),
        }))
    }
}

/// Whether a column is one the readers interpret (or `id`).
fn is_read_column(name: &str) -> bool {
    name.eq_ignore_ascii_case("id") || READ_COLUMNS.iter().any(|c| name.eq_ignore_ascii_case(c))
}

fn err(file: &Path, item: Option<String>, message: impl Into<String>) -> InputError {
    InputError {
        file: file.to_owned(),
        item,
        message: message.into(),
    }
}

fn check_lonlat(file: &Path, item: &str, lon: f64, lat: f64) -> Result<(), InputError> {
    if !(lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat))
    {
        return Err(err(
            file,
            Some(item.to_owned()),
            format!(
                "coordinates ({lon}, {lat}) are outside lon -180..180 / lat -90..90 (lon first)"
            ),
        ));
    }
    Ok(())
}

/// Reads places from a `.geojson`/`.json` or `.csv` file.
///
/// # Errors
/// Unreadable file, unknown extension, bad rows or features, empty file.
pub fn read_places(path: &Path) -> Result<Vec<UserPlace>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| err(path, None, e.to_string()))?;
    parse_places(path, &text)
}

/// Places from the text of a file named `name` (its extension says the format, as
/// for [`read_places`]); `name` also names it in errors, so it need not exist (e.g.
/// `residences (GeoDataFrame).geojson` for a table handed over in memory).
///
/// # Errors
/// Unknown extension, bad rows or features, no places.
pub fn parse_places(path: &Path, text: &str) -> Result<Vec<UserPlace>, InputError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let places = match ext.as_str() {
        "geojson" | "json" => read_geojson(path, text)?,
        "csv" => read_csv(path, text)?,
        _ => {
            return Err(err(
                path,
                None,
                "unknown file type; use .geojson, .json or .csv",
            ));
        }
    };
    if places.is_empty() {
        return Err(err(path, None, "no places in the file"));
    }
    Ok(places)
}

fn read_geojson(path: &Path, text: &str) -> Result<Vec<UserPlace>, InputError> {
    let gj: GeoJson = text
        .parse()
        .map_err(|e| err(path, None, format!("not valid GeoJSON: {e}")))?;
    let features = match gj {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(err(
                path,
                None,
                "a bare Geometry; expected a FeatureCollection",
            ));
        }
    };
    // The other properties: their union over the features, in order of appearance.
    let mut columns: Vec<String> = Vec::new();
    {
        let mut seen = std::collections::HashSet::new();
        for f in &features {
            for k in f.properties.iter().flat_map(|p| p.keys()) {
                if !is_read_column(k) && seen.insert(k.clone()) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let columns: Arc<[String]> = columns.into();
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let item = format!("feature {}", i + 1);
        let Some(geom) = &f.geometry else {
            return Err(err(path, Some(item), "feature has no geometry"));
        };
        let prop = |k: &str| f.properties.as_ref().and_then(|p| p.get(k));
        let population = match prop("population") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .ok_or_else(|| {
                        err(
                            path,
                            Some(item.clone()),
                            format!("population {v} is not a non-negative number"),
                        )
                    })?,
            ),
        };
        let text_prop = |k: &str| match prop(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(v) => Some(v.to_string()),
        };
        let values: Vec<Option<String>> = columns.iter().map(|c| text_prop(c)).collect();
        let id = text_prop("id").or_else(|| {
            f.id.as_ref().map(|i| match i {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            })
        });
        let polys: Vec<Vec<Vec<Vec<f64>>>> = match &geom.value {
            Value::Point(p) => {
                let (lon, lat) = (
                    p.first().copied().unwrap_or(f64::NAN),
                    p.get(1).copied().unwrap_or(f64::NAN),
                );
                check_lonlat(path, &item, lon, lat)?;
                out.push(UserPlace {
                    lonlat: [lon, lat],
                    outline: vec![],
                    polygons: vec![],
                    population,
                    category: text_prop("category"),
                    name: text_prop("name"),
                    id: id.clone(),
                    columns: columns.clone(),
                    values,
                });
                continue;
            }
            Value::Polygon(p) => vec![p.clone()],
            Value::MultiPolygon(mp) => mp.clone(),
            other => {
                return Err(err(
                    path,
                    Some(item),
                    format!(
                        "{} geometry; expected Point, Polygon or MultiPolygon",
                        other.type_name()
                    ),
                ));
            }
        };
        let mut rings_out = Vec::new();
        let mut polygons = Vec::new();
        let mut mp = Vec::new();
        for poly in &polys {
            let mut rings = Vec::new();
            for ring in poly {
                let mut r = Vec::with_capacity(ring.len());
                for p in ring {
                    let (lon, lat) = (
                        p.first().copied().unwrap_or(f64::NAN),
                        p.get(1).copied().unwrap_or(f64::NAN),
                    );
                    check_lonlat(path, &item, lon, lat)?;
                    r.push([lon, lat]);
                }
                if r.len() < 4 {
                    return Err(err(
                        path,
                        Some(item),
                        "a polygon ring needs at least 4 positions",
                    ));
                }
                rings.push(r);
            }
            let ls = |r: &Vec<[f64; 2]>| {
                LineString::from(
                    r.iter()
                        .map(|p| Coord { x: p[0], y: p[1] })
                        .collect::<Vec<_>>(),
                )
            };
            if let Some((outer, inner)) = rings.split_first() {
                mp.push(Polygon::new(ls(outer), inner.iter().map(ls).collect()));
            }
            rings_out.extend(rings);
            polygons.push(rings_out.len() as u32);
        }
        let c = MultiPolygon::new(mp)
            .centroid()
            .ok_or_else(|| err(path, Some(item.clone()), "empty polygon"))?;
        out.push(UserPlace {
            lonlat: [c.x(), c.y()],
            outline: rings_out,
            polygons,
            population,
            category: text_prop("category"),
            name: text_prop("name"),
            id,
            columns: columns.clone(),
            values,
        });
    }
    Ok(out)
}

fn read_csv(path: &Path, text: &str) -> Result<Vec<UserPlace>, InputError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| {
            err(
                path,
                Some("row 1".into()),
                format!("cannot read the header: {e}"),
            )
        })?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let (Some(lon_i), Some(lat_i)) = (col(&["lon", "lng", "longitude"]), col(&["lat", "latitude"]))
    else {
        return Err(err(
            path,
            Some("row 1".into()),
            format!(
                "the header needs lon and lat columns (found: {})",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let (pop_i, cat_i, name_i, id_i) = (
        col(&["population"]),
        col(&["category"]),
        col(&["name"]),
        col(&["id"]),
    );
    let extra: Vec<usize> = (0..headers.len())
        .filter(|&j| !is_read_column(&headers[j]))
        .collect();
    let columns: Arc<[String]> = extra.iter().map(|&j| headers[j].to_owned()).collect();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let item = format!("row {}", i + 2);
        let rec = rec.map_err(|e| err(path, Some(item.clone()), e.to_string()))?;
        let num = |j: usize, what: &str| -> Result<f64, InputError> {
            let s = rec.get(j).unwrap_or("");
            s.parse::<f64>().map_err(|_| {
                err(
                    path,
                    Some(item.clone()),
                    format!("{what} `{s}` is not a number"),
                )
            })
        };
        let (lon, lat) = (num(lon_i, "lon")?, num(lat_i, "lat")?);
        check_lonlat(path, &item, lon, lat)?;
        let population = match pop_i.and_then(|j| rec.get(j)).filter(|s| !s.is_empty()) {
            None => None,
            Some(_) => {
                let p = num(pop_i.expect("checked"), "population")?;
                if !(p.is_finite() && p >= 0.0) {
                    return Err(err(path, Some(item), format!("population {p} is negative")));
                }
                Some(p)
            }
        };
        let text = |j: Option<usize>| {
            j.and_then(|j| rec.get(j))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        out.push(UserPlace {
            lonlat: [lon, lat],
            outline: vec![],
            polygons: vec![],
            population,
            category: text(cat_i),
            name: text(name_i),
            id: text(id_i),
            columns: columns.clone(),
            values: extra.iter().map(|&j| text(Some(j))).collect(),
        });
    }
    Ok(out)
}

/// User residences as [`Home`]s (population from the file, else 1).
pub fn homes_from_places(places: Vec<UserPlace>) -> Vec<Home> {
    places
        .into_iter()
        .map(|p| Home {
            user: p.user_fields(),
            osm_id: None,
            name: p.name,
            lonlat: p.lonlat,
            population: p.population.unwrap_or(1.0),
            population_source: if p.population.is_some() {
                PopulationSource::User
            } else {
                PopulationSource::Default
            },
            origin: Origin::User,
        })
        .collect()
}

/// User facilities as [`Facility`]s; every place needs a `category` that is a key of
/// the preset.
///
/// # Errors
/// A missing or unknown category, naming the row or feature and the valid keys.
pub fn facilities_from_places(
    path: &Path,
    preset: &Preset,
    places: Vec<UserPlace>,
) -> Result<Vec<Facility>, InputError> {
    let item = |i: usize| {
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv {
            format!("row {}", i + 2)
        } else {
            format!("feature {}", i + 1)
        }
    };
    places
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let Some(cat) = &p.category else {
                return Err(err(
                    path,
                    Some(item(i)),
                    format!("no category; valid: {}", preset.category_keys()),
                ));
            };
            let c = preset
                .category_index(cat)
                .map_err(|m| err(path, Some(item(i)), m))?;
            Ok(Facility {
                user: p.user_fields(),
                category: c,
                name: p.name,
                osm_id: None,
                origin: Origin::User,
                lonlat: p.lonlat,
                outline: p.outline,
                entrances: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn csv_rows() {
        let (_d, p) = write(
            "r.csv",
            "name,lat,lon,population\nA,48.1,11.5,12\nB,48.2,11.6,\n",
        );
        let v = read_places(&p).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].lonlat, [11.5, 48.1]);
        assert_eq!(v[0].population, Some(12.0));
        assert_eq!(v[1].population, None);
        assert_eq!(v[0].name.as_deref(), Some("A"));
    }

    #[test]
    fn csv_errors_name_the_row() {
        let (_d, p) = write("r.csv", "lon,lat\n11.5,48.1\n11.5,x\n");
        assert!(
            read_places(&p)
                .unwrap_err()
                .to_string()
                .ends_with("row 3: lat `x` is not a number")
        );
        let (_d, p) = write("r.csv", "lon,lat\n48.1,200\n");
        assert!(
            read_places(&p)
                .unwrap_err()
                .to_string()
                .contains("row 2: coordinates")
        );
        let (_d, p) = write("r.csv", "x,y\n1,2\n");
        assert!(
            read_places(&p)
                .unwrap_err()
                .to_string()
                .contains("lon and lat")
        );
        let (_d, p) = write("r.txt", "lon,lat\n1,2\n");
        assert!(read_places(&p).is_err());
    }

    #[test]
    fn geojson_points_and_polygons() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[11.5,48.1]},"properties":{"population":3,"category":"kindergarten"}},
          {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[11.0,48.0],[11.002,48.0],[11.002,48.002],[11.0,48.002],[11.0,48.0]]]},"properties":{"name":"P"}}
        ]}"#;
        let (_d, p) = write("f.geojson", text);
        let v = read_places(&p).unwrap();
        assert_eq!(v[0].population, Some(3.0));
        assert!((v[1].lonlat[0] - 11.001).abs() < 1e-9 && !v[1].outline.is_empty());
        let bad = text.replace("[11.5,48.1]", "[11.5,148.1]");
        let (_d, p) = write("f.geojson", &bad);
        assert!(
            read_places(&p)
                .unwrap_err()
                .to_string()
                .contains("feature 1")
        );
        let line = r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]},"properties":{}}"#;
        let (_d, p) = write("f.geojson", line);
        assert!(
            read_places(&p)
                .unwrap_err()
                .to_string()
                .contains("LineString")
        );
    }

    #[test]
    fn facility_categories_are_checked() {
        let preset = Preset::load("gb50180").unwrap();
        let (_d, p) = write(
            "f.csv",
            "lon,lat,category\n11.5,48.1,kindergarten\n11.5,48.1,zoo\n",
        );
        let places = read_places(&p).unwrap();
        let e = facilities_from_places(&p, &preset, places)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 3") && e.contains("`zoo`") && e.contains("kindergarten"),
            "{e}"
        );
    }
}
