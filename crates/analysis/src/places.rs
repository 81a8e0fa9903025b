//! Residences and facilities from OpenStreetMap data.

use livingcircle_osm::{Feature, OsmData, Shape};

use crate::population::{PopulationModel, estimate};
use crate::{Facility, Home, Origin, Preset};

/// Residences of an OSM read, with estimated populations.
pub fn homes_from_osm(data: &OsmData, model: &PopulationModel) -> Vec<Home> {
    data.residences
        .iter()
        .map(|r| {
            let (population, population_source) = estimate(r, model);
            Home {
                osm_id: Some(r.osm),
                name: r.name.clone(),
                lonlat: r.point,
                population,
                population_source,
                origin: Origin::Osm,
                user: None,
            }
        })
        .collect()
}

/// Facilities of an OSM read: one per (object, matching category).
pub fn facilities_from_osm(preset: &Preset, features: &[Feature]) -> Vec<Facility> {
    let mut out = Vec::new();
    for f in features {
        let pairs = f.tags.pairs();
        let (lonlat, outline) = match &f.shape {
            Shape::Point(p) => (*p, Vec::new()),
            Shape::Area(mp) => {
                use geo_centroid::centroid_of;
                let rings: Vec<Vec<[f64; 2]>> =
                    mp.0.iter()
                        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                        .map(|ls| ls.0.iter().map(|c| [c.x, c.y]).collect())
                        .collect();
                (centroid_of(&rings), rings)
            }
        };
        for (c, cat) in preset.categories.iter().enumerate() {
            if cat.matches(&pairs) {
                out.push(Facility {
                    category: c,
                    name: f.tags.best_name().map(str::to_owned),
                    osm_id: Some(f.osm),
                    origin: Origin::Osm,
                    lonlat,
                    outline: outline.clone(),
                    entrances: f.entrances.clone(),
                    user: None,
                });
            }
        }
    }
    out
}

mod geo_centroid {
    /// Mean of the outer ring's vertices (closing vertex excluded): a label point.
    pub(super) fn centroid_of(rings: &[Vec<[f64; 2]>]) -> [f64; 2] {
        let Some(r) = rings.first() else {
            return [0.0, 0.0];
        };
        let pts = if r.len() > 1 && r.first() == r.last() {
            &r[..r.len() - 1]
        } else {
            &r[..]
        };
        let n = pts.len().max(1) as f64;
        let s = pts
            .iter()
            .fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [s[0] / n, s[1] / n]
    }
}
