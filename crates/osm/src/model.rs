//! The data a read produces.

use crate::rules::FootDirection;
use geo::MultiPolygon;
use std::fmt;

/// The OSM element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OsmType {
    /// A node.
    Node,
    /// A way.
    Way,
    /// A relation.
    Relation,
}

/// An OSM element reference, written `n123`, `w123` or `r123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OsmRef {
    /// Element type.
    pub kind: OsmType,
    /// Element id.
    pub id: i64,
}

impl fmt::Display for OsmRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = match self.kind {
            OsmType::Node => 'n',
            OsmType::Way => 'w',
            OsmType::Relation => 'r',
        };
        write!(f, "{c}{}", self.id)
    }
}

/// The tags of an element, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(pub Vec<(String, String)>);

impl Tags {
    /// Copies tags from `(key, value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Tags(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Borrowed `(key, value)` pairs.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// `name`, else `name:zh`, else `name:en`.
    pub fn best_name(&self) -> Option<&str> {
        self.get("name")
            .or_else(|| self.get("name:zh"))
            .or_else(|| self.get("name:en"))
    }
}

/// A walkable way, or a piece of one cut where the extract lacks its nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkWay {
    /// OSM way id.
    pub way_id: i64,
    /// OSM node ids, in way order (at least two).
    pub nodes: Vec<i64>,
    /// `[lon, lat]` of each node.
    pub coords: Vec<[f64; 2]>,
    /// Direction in which pedestrians may walk it.
    pub direction: FootDirection,
    /// The `highway` value.
    pub highway: String,
    /// `name`, else `name:zh`, else `name:en`.
    pub name: Option<String>,
}

/// One walkable piece of a [`WalkNetwork`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkPiece {
    /// OSM way id.
    pub way_id: i64,
    /// Direction in which pedestrians may walk it.
    pub direction: FootDirection,
    /// The `highway` value, as an index into [`WalkNetwork::strings`].
    pub highway: u32,
    /// `name`, else `name:zh`, else `name:en`, as an index into [`WalkNetwork::strings`].
    pub name: Option<u32>,
}

/// The walkable ways of an extract as flat arrays: nodes numbered once, pieces as
/// runs of node numbers, tag values interned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalkNetwork {
    /// OSM id of every node a piece uses, ascending: a node's number is its index here.
    pub node_osm: Vec<i64>,
    /// `[lon, lat]` of each node.
    pub node_lonlat: Vec<[f64; 2]>,
    /// The pieces, sorted by way id (pieces of one way in order).
    pub pieces: Vec<WalkPiece>,
    /// Piece `i` runs through the nodes `refs[first[i]..first[i + 1]]` (at least two).
    pub first: Vec<u32>,
    /// Node numbers of all pieces, concatenated.
    pub refs: Vec<u32>,
    /// Interned `highway` values and names.
    pub strings: Vec<String>,
}

impl WalkNetwork {
    /// The node numbers of piece `i`.
    pub fn piece_refs(&self, i: usize) -> &[u32] {
        &self.refs[self.first[i] as usize..self.first[i + 1] as usize]
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> usize {
        self.pieces.len()
    }

    /// An interned string.
    pub fn string(&self, s: u32) -> &str {
        &self.strings[s as usize]
    }

    /// The same network from one [`WalkWay`] per piece (tests and synthetic cities).
    ///
    /// ```
    /// use livingcircle_osm::{WalkNetwork, WalkWay, rules::FootDirection};
    /// let w = WalkWay { way_id: 7, nodes: vec![30, 10], coords: vec![[1.0, 2.0], [3.0, 4.0]],
    ///     direction: FootDirection::Both, highway: "path".into(), name: None };
    /// let n = WalkNetwork::from_ways(&[w]);
    /// assert_eq!(n.node_osm, [10, 30]);
    /// assert_eq!(n.piece_refs(0), [1, 0]);
    /// assert_eq!(n.string(n.pieces[0].highway), "path");
    /// ```
    pub fn from_ways(ways: &[WalkWay]) -> Self {
        let mut node_osm: Vec<i64> = ways.iter().flat_map(|w| w.nodes.iter().copied()).collect();
        node_osm.sort_unstable();
        node_osm.dedup();
        let mut node_lonlat = vec![[0.0; 2]; node_osm.len()];
        let mut strings = Strings::default();
        let mut net = WalkNetwork {
            first: vec![0],
            ..WalkNetwork::default()
        };
        for w in ways {
            for (&id, &c) in w.nodes.iter().zip(&w.coords) {
                let n = node_osm.binary_search(&id).expect("a node of a way");
                node_lonlat[n] = c;
                net.refs.push(n as u32);
            }
            net.first.push(net.refs.len() as u32);
            net.pieces.push(WalkPiece {
                way_id: w.way_id,
                direction: w.direction,
                highway: strings.intern(&w.highway),
                name: w.name.as_deref().map(|n| strings.intern(n)),
            });
        }
        net.node_osm = node_osm;
        net.node_lonlat = node_lonlat;
        net.strings = strings.into_vec();
        net
    }
}

/// A string interner: each distinct string once, numbered in first-seen order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Strings {
    list: Vec<String>,
    index: std::collections::HashMap<String, u32>,
}

impl Strings {
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    pub(crate) fn into_vec(self) -> Vec<String> {
        self.list
    }
}

/// The geometry of a facility, in `[lon, lat]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A node, or a way or relation whose outline could not be closed.
    Point([f64; 2]),
    /// A closed way or a multipolygon relation.
    Area(MultiPolygon<f64>),
}

/// A tagged object that may be a facility (what counts is decided by the presets).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Where it comes from.
    pub osm: OsmRef,
    /// All its tags.
    pub tags: Tags,
    /// Its geometry.
    pub shape: Shape,
    /// `[lon, lat]` of an area's outline nodes that are entrances or gates
    /// ([`crate::rules::is_entrance`]), each once, by node id; empty for points.
    pub entrances: Vec<[f64; 2]>,
}

/// Why an object counts as a residence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResidenceSource {
    /// `building=residential|apartments|house|…`.
    Building,
    /// `building=yes` whose centroid lies in a `landuse=residential` area.
    BuildingInResidentialArea,
    /// A `landuse=residential` area without any residential building mapped inside.
    ResidentialArea,
}

/// A place where people live.
#[derive(Debug, Clone, PartialEq)]
pub struct Residence {
    /// Where it comes from.
    pub osm: OsmRef,
    /// `name`, else `name:zh`, else `name:en`.
    pub name: Option<String>,
    /// Its representative point `[lon, lat]`: the centroid, or an interior point for areas.
    pub point: [f64; 2],
    /// Footprint area in square metres.
    pub footprint_m2: f64,
    /// `building:levels`, when it parses as a number.
    pub levels: Option<f64>,
    /// `building:flats`, when it parses as a number.
    pub flats: Option<u32>,
    /// Why it counts.
    pub source: ResidenceSource,
}

/// What the file header says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// `[west, south, east, north]`, if present (it may be bogus).
    pub bbox: Option<[f64; 4]>,
    /// The replication timestamp (seconds since the epoch), if present.
    pub replication_timestamp: Option<i64>,
    /// The program that wrote the file.
    pub writing_program: Option<String>,
}

/// Counts gathered during a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// File size in bytes.
    pub file_bytes: u64,
    /// Data blobs decoded in the first pass.
    pub blobs: u64,
    /// Nodes (plain and dense) in the file.
    pub nodes: u64,
    /// Ways in the file.
    pub ways: u64,
    /// Relations in the file.
    pub relations: u64,
    /// Ways with a `highway` tag.
    pub highway_ways: u64,
    /// Ways the walking rules accept.
    pub walkable_ways: u64,
    /// Walkable pieces after cutting at missing nodes.
    pub walk_pieces: u64,
    /// Node references of walkable ways whose node is not in the file.
    pub missing_node_refs: u64,
    /// Walkable ways that were cut because of missing nodes.
    pub ways_cut: u64,
    /// Facility candidates (tagged nodes, ways and relations).
    pub features: u64,
    /// Areas whose outline could not be closed (missing nodes or broken rings).
    pub broken_areas: u64,
    /// Rings of multipolygon relations left out because they do not close or miss
    /// nodes (the rest of the relation is kept; a relation with no outer ring left
    /// is a broken area).
    pub broken_rings: u64,
    /// Residences by source: buildings, `building=yes` in residential areas, areas.
    pub residences: [u64; 3],
    /// Newest element timestamp seen on ways (milliseconds since the epoch).
    pub newest_way_timestamp_ms: Option<i64>,
    /// Bytes the node-location index held (every node of the file), freed after the read.
    pub node_index_bytes: u64,
    /// Way blobs decoded a second time for multipolygon members not kept the first time.
    pub blobs_reread: u64,
}

/// Seconds spent in each step of a read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadSeconds {
    /// Reading, inflating and decoding every blob; the node-location index.
    pub decode: f64,
    /// Walkable ways: node lookups, cuts, node numbering.
    pub network: f64,
    /// Multipolygon members, and closing and measuring areas.
    pub areas: f64,
    /// Residences: residential areas and the buildings in them.
    pub residences: f64,
}

/// Everything read from one file.
#[derive(Debug, Clone, Default)]
pub struct OsmData {
    /// File header.
    pub header: Header,
    /// The walking network: walkable ways cut where the extract lacks their nodes.
    pub network: WalkNetwork,
    /// Facility candidates, sorted by `osm`.
    pub features: Vec<Feature>,
    /// Residences, sorted by `osm`.
    pub residences: Vec<Residence>,
    /// Counts.
    pub stats: ReadStats,
    /// Time per step.
    pub seconds: ReadSeconds,
}
