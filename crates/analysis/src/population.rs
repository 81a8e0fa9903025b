//! Population estimates for residences without a population of their own.

use livingcircle_osm::Residence;

/// How residents are estimated for OSM residences without a population of their
/// own: a preset's `[population]`, overridable per run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PopulationModel {
    /// Residents per dwelling (`building:flats × this`).
    pub persons_per_flat: f64,
    /// Residential floor area per resident, m² (`footprint × building:levels / this`).
    pub floor_m2_per_person: f64,
}

impl PopulationModel {
    /// China: 2.62 persons per household (7th census, 2020) and about 40 m² of
    /// urban housing floor area per person (National Bureau of Statistics, 2020).
    /// The default, and the values of the gb50180 and complete-community presets.
    pub const CHINA: PopulationModel = PopulationModel {
        persons_per_flat: 2.62,
        floor_m2_per_person: 40.0,
    };
}

impl Default for PopulationModel {
    fn default() -> Self {
        PopulationModel::CHINA
    }
}

/// How a population figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopulationSource {
    /// Given by the user.
    User,
    /// `building:flats × persons_per_flat`.
    Flats,
    /// `footprint × building:levels / floor_m2_per_person`.
    FloorArea,
    /// Nothing to go on: 1.
    Default,
}

impl PopulationSource {
    /// Short name for outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            PopulationSource::User => "user",
            PopulationSource::Flats => "flats",
            PopulationSource::FloorArea => "floor_area",
            PopulationSource::Default => "default",
        }
    }
}

/// Estimated residents of an OSM residence: `flats × persons_per_flat`, else
/// `footprint_m2 × levels / floor_m2_per_person` (at least 1), else 1.
///
/// ```
/// use livingcircle_analysis::population::{PopulationModel, estimate};
/// use livingcircle_osm::*;
/// let china = PopulationModel::CHINA;
/// let mut r = Residence { osm: OsmRef { kind: OsmType::Way, id: 1 }, name: None,
///     point: [0.0, 0.0], footprint_m2: 400.0, levels: Some(5.0), flats: None,
///     source: ResidenceSource::Building };
/// assert_eq!(estimate(&r, &china).0, 50.0);
/// let roomy = PopulationModel { persons_per_flat: 2.2, floor_m2_per_person: 50.0 };
/// assert_eq!(estimate(&r, &roomy).0, 40.0);
/// r.flats = Some(20);
/// assert_eq!(estimate(&r, &china).0, 52.4);
/// assert_eq!(estimate(&r, &roomy).0, 44.0);
/// ```
pub fn estimate(r: &Residence, m: &PopulationModel) -> (f64, PopulationSource) {
    if let Some(f) = r.flats.filter(|&f| f > 0) {
        return (
            crate::r1(f64::from(f) * m.persons_per_flat),
            PopulationSource::Flats,
        );
    }
    if let Some(l) = r.levels {
        let p = (r.footprint_m2 * l / m.floor_m2_per_person).max(1.0);
        return (crate::r1(p), PopulationSource::FloorArea);
    }
    (1.0, PopulationSource::Default)
}
