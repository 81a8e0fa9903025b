//! Population estimates for residences without a population of their own.

use livingcircle_osm::Residence;

/// Residents per dwelling: the average household size of China's 7th census (2020).
pub const PERSONS_PER_FLAT: f64 = 2.62;

/// Gross residential floor area per resident, in square metres (China's urban
/// per-capita housing floor area, about 40 m², National Bureau of Statistics 2020).
pub const FLOOR_M2_PER_PERSON: f64 = 40.0;

/// How a population figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopulationSource {
    /// Given by the user.
    User,
    /// `building:flats × PERSONS_PER_FLAT`.
    Flats,
    /// `footprint × building:levels / FLOOR_M2_PER_PERSON`.
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

/// Estimated residents of an OSM residence:
/// `flats × 2.62`, else `footprint_m2 × levels / 40` (at least 1), else 1.
///
/// ```
/// use livingcircle_analysis::population::estimate;
/// use livingcircle_osm::*;
/// let mut r = Residence { osm: OsmRef { kind: OsmType::Way, id: 1 }, name: None,
///     point: [0.0, 0.0], footprint_m2: 400.0, levels: Some(5.0), flats: None,
///     source: ResidenceSource::Building };
/// assert_eq!(estimate(&r).0, 50.0);
/// r.flats = Some(20);
/// assert_eq!(estimate(&r).0, 52.4);
/// r.flats = Some(10);
/// assert_eq!(estimate(&r).0, 26.2);
/// ```
pub fn estimate(r: &Residence) -> (f64, PopulationSource) {
    if let Some(f) = r.flats.filter(|&f| f > 0) {
        return (
            crate::r1(f64::from(f) * PERSONS_PER_FLAT),
            PopulationSource::Flats,
        );
    }
    if let Some(l) = r.levels {
        let p = (r.footprint_m2 * l / FLOOR_M2_PER_PERSON).max(1.0);
        return (crate::r1(p), PopulationSource::FloorArea);
    }
    (1.0, PopulationSource::Default)
}
