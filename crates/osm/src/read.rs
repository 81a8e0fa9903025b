//! Reading a `.osm.pbf` in up to three parallel passes.
//!
//! 1. Every blob: walkable ways, tagged areas (closed ways), multipolygon relations of
//!    interest and tagged nodes. Blob kinds and node-id ranges are recorded.
//! 2. Only if relations were kept: the node lists of their member ways.
//! 3. Only blobs that hold nodes in the needed id range: the coordinates of the nodes
//!    that kept ways reference.
//!
//! Memory is proportional to what is kept, not to the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use osmpbf::{BlobDecode, BlobReader, Element, RelMemberType};
use rayon::prelude::*;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

use crate::area::{area_and_centroid, assemble_rings, interior_point, multipolygon};
use crate::model::*;
use crate::rules::{WalkRules, WayClass};
use crate::{Error, PoiFilter};

/// Building values that count as residences on their own.
pub const RESIDENTIAL_BUILDINGS: &[&str] = &[
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
];

/// Options for [`read`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Walking rules.
    pub rules: WalkRules,
    /// Which tagged objects to keep as facility candidates.
    pub pois: PoiFilter,
    /// Read only the walking network: no facilities, no residences.
    pub network_only: bool,
}

const HAS_NODES: u8 = 1;
const HAS_WAYS: u8 = 2;

#[derive(Default)]
struct BlobInfo {
    kinds: u8,
    min_node: i64,
    max_node: i64,
}

struct RawWalk {
    id: i64,
    refs: Vec<i64>,
    class: WayClass,
    highway: String,
    name: Option<String>,
}

#[derive(Clone, Copy, Default)]
struct Roles {
    poi: bool,
    residential_building: bool,
    building_yes: bool,
    residential_landuse: bool,
}

impl Roles {
    fn of(tags: &[(&str, &str)], pois: &PoiFilter) -> Self {
        let get = |key: &str| tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let building = get("building");
        Roles {
            poi: pois.matches(tags),
            residential_building: building.is_some_and(|b| RESIDENTIAL_BUILDINGS.contains(&b)),
            building_yes: building == Some("yes"),
            residential_landuse: get("landuse") == Some("residential"),
        }
    }
    fn any(&self) -> bool {
        self.poi || self.residential_building || self.building_yes || self.residential_landuse
    }
}

struct RawArea {
    osm: OsmRef,
    tags: Tags,
    roles: Roles,
    /// For ways: the node list. For relations: outer member ways then inner ones.
    refs: Vec<i64>,
    outer_ways: Vec<i64>,
    inner_ways: Vec<i64>,
}

#[derive(Default)]
struct Pass1 {
    header: Option<Header>,
    nodes: u64,
    ways: u64,
    relations: u64,
    highway_ways: u64,
    newest_ms: Option<i64>,
    walk: Vec<RawWalk>,
    areas: Vec<RawArea>,
    poi_nodes: Vec<Feature>,
    untagged: Vec<(i64, Vec<i64>)>,
}

impl Pass1 {
    fn merge(mut self, mut o: Pass1) -> Pass1 {
        self.header = self.header.or(o.header);
        self.nodes += o.nodes;
        self.ways += o.ways;
        self.relations += o.relations;
        self.highway_ways += o.highway_ways;
        self.newest_ms = self.newest_ms.max(o.newest_ms);
        self.walk.append(&mut o.walk);
        self.areas.append(&mut o.areas);
        self.poi_nodes.append(&mut o.poi_nodes);
        self.untagged.append(&mut o.untagged);
        self
    }
}

fn open(path: &Path) -> Result<BlobReader<BufReader<File>>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::NotAFile(path.to_owned()));
    }
    if meta.len() == 0 {
        return Err(Error::Empty(path.to_owned()));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(BlobReader::new(BufReader::new(file)))
}

/// Runs `f` on every blob (in parallel) whose index `want` accepts.
fn for_blobs<T: Send>(
    path: &Path,
    want: &(dyn Fn(usize) -> bool + Sync),
    f: &(dyn Fn(usize, BlobDecode<'_>) -> T + Sync),
) -> Result<Vec<T>, Error> {
    let pbf_err = |e: osmpbf::Error| Error::pbf(path, e);
    let reader = open(path)?;
    reader
        .enumerate()
        .filter(|(i, _)| want(*i))
        .par_bridge()
        .map(|(i, blob)| {
            let blob = blob.map_err(pbf_err)?;
            let decoded = blob.decode().map_err(pbf_err)?;
            Ok((i, f(i, decoded)))
        })
        .collect::<Result<Vec<_>, Error>>()
        .map(|mut v| {
            v.sort_unstable_by_key(|(i, _)| *i);
            v.into_iter().map(|(_, t)| t).collect()
        })
}

fn header_of(h: &osmpbf::HeaderBlock) -> Header {
    Header {
        bbox: h.bbox().map(|b| [b.left, b.bottom, b.right, b.top]),
        replication_timestamp: h.osmosis_replication_timestamp(),
        writing_program: h.writing_program().map(str::to_owned),
    }
}

fn pass1_blob(decoded: BlobDecode<'_>, opts: &ReadOptions) -> (Pass1, BlobInfo) {
    let mut out = Pass1::default();
    let mut info = BlobInfo {
        kinds: 0,
        min_node: i64::MAX,
        max_node: i64::MIN,
    };
    let block = match decoded {
        BlobDecode::OsmHeader(h) => {
            out.header = Some(header_of(&h));
            return (out, info);
        }
        BlobDecode::OsmData(block) => block,
        BlobDecode::Unknown(_) => return (out, info),
    };
    let mut tagbuf: Vec<(&str, &str)> = Vec::new();
    let node = |id: i64,
                lon: f64,
                lat: f64,
                tags: &[(&str, &str)],
                out: &mut Pass1,
                info: &mut BlobInfo| {
        out.nodes += 1;
        info.kinds |= HAS_NODES;
        info.min_node = info.min_node.min(id);
        info.max_node = info.max_node.max(id);
        if !tags.is_empty() && !opts.network_only && opts.pois.matches(tags) {
            out.poi_nodes.push(Feature {
                osm: OsmRef {
                    kind: OsmType::Node,
                    id,
                },
                tags: Tags::from_pairs(tags.iter().copied()),
                shape: Shape::Point([lon, lat]),
            });
        }
    };
    for el in block.elements() {
        tagbuf.clear();
        match el {
            Element::DenseNode(n) => {
                tagbuf.extend(n.tags());
                node(n.id(), n.lon(), n.lat(), &tagbuf, &mut out, &mut info);
            }
            Element::Node(n) => {
                tagbuf.extend(n.tags());
                node(n.id(), n.lon(), n.lat(), &tagbuf, &mut out, &mut info);
            }
            Element::Way(w) => {
                out.ways += 1;
                info.kinds |= HAS_WAYS;
                if let Some(ms) = w.info().milli_timestamp() {
                    out.newest_ms = out.newest_ms.max(Some(ms));
                }
                tagbuf.extend(w.tags());
                if tagbuf.is_empty() {
                    // Untagged ways are mostly multipolygon members; keeping their node
                    // lists here saves a pass over the file.
                    if !opts.network_only {
                        out.untagged.push((w.id(), w.refs().collect()));
                    }
                    continue;
                }
                let highway = tagbuf
                    .iter()
                    .find(|(k, _)| *k == "highway")
                    .map(|(_, v)| *v);
                if let Some(hw) = highway {
                    out.highway_ways += 1;
                    let class = opts.rules.classify(&tagbuf);
                    if class != WayClass::NotWalkable {
                        let tag =
                            |k: &str| tagbuf.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
                        let name = tag("name")
                            .or_else(|| tag("name:zh"))
                            .or_else(|| tag("name:en"));
                        out.walk.push(RawWalk {
                            id: w.id(),
                            refs: w.refs().collect(),
                            class,
                            highway: hw.to_owned(),
                            name: name.map(str::to_owned),
                        });
                    }
                }
                let roles = Roles::of(&tagbuf, &opts.pois);
                if roles.any() && !opts.network_only {
                    out.areas.push(RawArea {
                        osm: OsmRef {
                            kind: OsmType::Way,
                            id: w.id(),
                        },
                        tags: Tags::from_pairs(tagbuf.iter().copied()),
                        roles,
                        refs: w.refs().collect(),
                        outer_ways: vec![],
                        inner_ways: vec![],
                    });
                }
            }
            Element::Relation(r) => {
                out.relations += 1;
                if opts.network_only {
                    continue;
                }
                tagbuf.extend(r.tags());
                let is_mp = tagbuf
                    .iter()
                    .any(|&(k, v)| k == "type" && (v == "multipolygon" || v == "boundary"));
                if !is_mp {
                    continue;
                }
                let roles = Roles::of(&tagbuf, &opts.pois);
                if !roles.any() {
                    continue;
                }
                let (mut outer_ways, mut inner_ways) = (vec![], vec![]);
                for m in r.members() {
                    if m.member_type != RelMemberType::Way {
                        continue;
                    }
                    match m.role() {
                        Ok("inner") => inner_ways.push(m.member_id),
                        _ => outer_ways.push(m.member_id),
                    }
                }
                out.areas.push(RawArea {
                    osm: OsmRef {
                        kind: OsmType::Relation,
                        id: r.id(),
                    },
                    tags: Tags::from_pairs(tagbuf.iter().copied()),
                    roles,
                    refs: vec![],
                    outer_ways,
                    inner_ways,
                });
            }
        }
    }
    (out, info)
}

/// Reads walkable ways, facility candidates and residences from a `.osm.pbf`.
///
/// # Errors
/// A missing, empty, truncated or corrupt file, or one that is not an OSM PBF.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<OsmData, Error> {
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);

    // Pass 1.
    let results = for_blobs(path, &|_| true, &|_, d| pass1_blob(d, opts))?;
    let mut infos = Vec::with_capacity(results.len());
    let mut p1 = Pass1::default();
    for (chunk, info) in results {
        p1 = p1.merge(chunk);
        infos.push(info);
    }
    let Some(header) = p1.header.take() else {
        return Err(Error::NotPbf(path.to_owned(), "no OSMHeader block"));
    };

    // Pass 2: member ways of relations.
    let mut member_ids: Vec<i64> = p1
        .areas
        .iter()
        .flat_map(|a| a.outer_ways.iter().chain(&a.inner_ways).copied())
        .collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    let mut member_refs: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, refs) in std::mem::take(&mut p1.untagged) {
        if member_ids.binary_search(&id).is_ok() {
            member_refs.insert(id, refs);
        }
    }
    for a in &p1.areas {
        if a.osm.kind == OsmType::Way && member_ids.binary_search(&a.osm.id).is_ok() {
            member_refs.insert(a.osm.id, a.refs.clone());
        }
    }
    for w in &p1.walk {
        if member_ids.binary_search(&w.id).is_ok() {
            member_refs.insert(w.id, w.refs.clone());
        }
    }
    member_ids.retain(|id| !member_refs.contains_key(id));
    if !member_ids.is_empty() {
        let wanted = &member_ids;
        let chunks = for_blobs(
            path,
            &|i| infos.get(i).is_some_and(|b| b.kinds & HAS_WAYS != 0),
            &|_, d| {
                let mut found = Vec::new();
                if let BlobDecode::OsmData(block) = d {
                    for w in block.groups().flat_map(|g| g.ways()) {
                        if wanted.binary_search(&w.id()).is_ok() {
                            found.push((w.id(), w.refs().collect::<Vec<_>>()));
                        }
                    }
                }
                found
            },
        )?;
        member_refs.extend(chunks.into_iter().flatten());
    }

    // Pass 3: coordinates of every node that kept ways reference.
    let mut needed: Vec<i64> = p1
        .walk
        .iter()
        .flat_map(|w| w.refs.iter().copied())
        .chain(p1.areas.iter().flat_map(|a| a.refs.iter().copied()))
        .chain(member_refs.values().flatten().copied())
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let coords = if needed.is_empty() {
        Vec::new()
    } else {
        let needed = &needed;
        let in_range = |b: &BlobInfo| {
            let i = needed.partition_point(|&id| id < b.min_node);
            b.kinds & HAS_NODES != 0 && needed.get(i).is_some_and(|&id| id <= b.max_node)
        };
        let chunks = for_blobs(path, &|i| infos.get(i).is_some_and(in_range), &|_, d| {
            let mut found = Vec::new();
            if let BlobDecode::OsmData(block) = d {
                for g in block.groups() {
                    for n in g.dense_nodes() {
                        if needed.binary_search(&n.id()).is_ok() {
                            found.push((n.id(), [n.lon(), n.lat()]));
                        }
                    }
                    for n in g.nodes() {
                        if needed.binary_search(&n.id()).is_ok() {
                            found.push((n.id(), [n.lon(), n.lat()]));
                        }
                    }
                }
            }
            found
        })?;
        let mut all: Vec<(i64, [f64; 2])> = chunks.into_iter().flatten().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all.dedup_by_key(|(id, _)| *id);
        all
    };
    let coord = |id: i64| -> Option<[f64; 2]> {
        coords
            .binary_search_by_key(&id, |(i, _)| *i)
            .ok()
            .map(|i| coords[i].1)
    };

    let mut stats = ReadStats {
        file_bytes,
        blobs: infos.len() as u64,
        nodes: p1.nodes,
        ways: p1.ways,
        relations: p1.relations,
        highway_ways: p1.highway_ways,
        walkable_ways: p1.walk.len() as u64,
        newest_way_timestamp_ms: p1.newest_ms,
        ..ReadStats::default()
    };

    // Walkable ways, cut where nodes are missing.
    p1.walk.sort_unstable_by_key(|w| w.id);
    let mut ways = Vec::with_capacity(p1.walk.len());
    for w in &p1.walk {
        let WayClass::Walkable { direction, .. } = w.class else {
            continue;
        };
        let mut missing = 0u64;
        let mut piece = WalkWay {
            way_id: w.id,
            nodes: Vec::with_capacity(w.refs.len()),
            coords: Vec::with_capacity(w.refs.len()),
            direction,
            highway: w.highway.clone(),
            name: w.name.clone(),
        };
        for &r in &w.refs {
            if let Some(c) = coord(r) {
                piece.nodes.push(r);
                piece.coords.push(c);
                continue;
            }
            missing += 1;
            if piece.nodes.len() >= 2 {
                let next = WalkWay {
                    nodes: Vec::new(),
                    coords: Vec::new(),
                    ..piece.clone()
                };
                ways.push(std::mem::replace(&mut piece, next));
            } else {
                piece.nodes.clear();
                piece.coords.clear();
            }
        }
        if piece.nodes.len() >= 2 {
            ways.push(piece);
        }
        stats.missing_node_refs += missing;
        stats.ways_cut += u64::from(missing > 0);
    }
    stats.walk_pieces = ways.len() as u64;

    // Areas: close outlines.
    let mut features = p1.poi_nodes;
    let mut buildings: Vec<(OsmRef, Tags, Roles, MultiPolygon)> = Vec::new();
    let mut landuse: Vec<(OsmRef, Tags, MultiPolygon)> = Vec::new();
    for a in p1.areas {
        let shape = area_shape(&a, &coord, &member_refs);
        let Some(shape) = shape else {
            stats.broken_areas += 1;
            continue;
        };
        if a.roles.poi {
            features.push(Feature {
                osm: a.osm,
                tags: a.tags.clone(),
                shape: shape.clone(),
            });
        }
        let Shape::Area(mp) = shape else {
            if a.roles.residential_building || a.roles.building_yes || a.roles.residential_landuse {
                stats.broken_areas += 1;
            }
            continue;
        };
        if a.roles.residential_building || a.roles.building_yes {
            buildings.push((a.osm, a.tags.clone(), a.roles, mp.clone()));
        }
        if a.roles.residential_landuse {
            landuse.push((a.osm, a.tags, mp));
        }
    }
    features.sort_by_key(|f| f.osm);
    stats.features = features.len() as u64;

    let residences = residences(buildings, landuse, &mut stats);
    Ok(OsmData {
        header,
        ways,
        features,
        residences,
        stats,
    })
}

/// The shape of a tagged way or relation: an area when its outline closes, else the
/// mean of its known nodes, else `None`.
fn area_shape(
    a: &RawArea,
    coord: &dyn Fn(i64) -> Option<[f64; 2]>,
    member_refs: &HashMap<i64, Vec<i64>>,
) -> Option<Shape> {
    let ring_coords = |ids: &[i64]| ids.iter().map(|&i| coord(i)).collect::<Option<Vec<_>>>();
    let mean = |ids: &mut dyn Iterator<Item = &i64>| {
        let pts: Vec<[f64; 2]> = ids.filter_map(|&i| coord(i)).collect();
        (!pts.is_empty()).then(|| {
            let n = pts.len() as f64;
            let s = pts
                .iter()
                .fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
            Shape::Point([s[0] / n, s[1] / n])
        })
    };
    match a.osm.kind {
        OsmType::Way => {
            let closed = a.refs.len() >= 4 && a.refs.first() == a.refs.last();
            match ring_coords(&a.refs) {
                Some(ring) if closed => Some(Shape::Area(multipolygon(vec![ring], vec![]))),
                _ => mean(&mut a.refs.iter()),
            }
        }
        _ => {
            let parts = |ids: &[i64]| {
                ids.iter()
                    .filter_map(|id| member_refs.get(id).cloned())
                    .collect::<Vec<_>>()
            };
            let (outer, _) = assemble_rings(parts(&a.outer_ways));
            let (inner, _) = assemble_rings(parts(&a.inner_ways));
            let outer: Vec<_> = outer.iter().filter_map(|r| ring_coords(r)).collect();
            let inner: Vec<_> = inner.iter().filter_map(|r| ring_coords(r)).collect();
            if outer.is_empty() {
                let all: Vec<i64> = parts(&a.outer_ways).into_iter().flatten().collect();
                return mean(&mut all.iter());
            }
            Some(Shape::Area(multipolygon(outer, inner)))
        }
    }
}

fn kept_tags(tags: &Tags) -> Tags {
    const KEEP: &[&str] = &[
        "name",
        "name:zh",
        "name:en",
        "building",
        "building:levels",
        "building:flats",
        "landuse",
    ];
    Tags(
        tags.0
            .iter()
            .filter(|(k, _)| KEEP.contains(&k.as_str()))
            .cloned()
            .collect(),
    )
}

type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn residences(
    buildings: Vec<(OsmRef, Tags, Roles, MultiPolygon)>,
    landuse: Vec<(OsmRef, Tags, MultiPolygon)>,
    stats: &mut ReadStats,
) -> Vec<Residence> {
    use geo::{BoundingRect, Contains, Point};
    let index: RTree<Indexed> = RTree::bulk_load(
        landuse
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, mp))| {
                let r = mp.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect(),
    );
    let mut landuse_has_home = vec![false; landuse.len()];
    let mut out = Vec::new();
    for (osm, tags, roles, mp) in buildings {
        let Some((footprint_m2, point)) = area_and_centroid(&mp) else {
            continue;
        };
        let p = Point::new(point[0], point[1]);
        let mut inside = None;
        for hit in index.locate_in_envelope_intersecting(&AABB::from_point(point)) {
            if landuse[hit.data].2.contains(&p) {
                inside = Some(hit.data);
                break;
            }
        }
        let source = if roles.residential_building {
            ResidenceSource::Building
        } else if inside.is_some() {
            ResidenceSource::BuildingInResidentialArea
        } else {
            continue;
        };
        if let Some(i) = inside {
            landuse_has_home[i] = true;
        }
        out.push(residence(osm, &tags, point, footprint_m2, source));
    }
    for (i, (osm, tags, mp)) in landuse.into_iter().enumerate() {
        if landuse_has_home[i] {
            continue;
        }
        let Some((footprint_m2, centroid)) = area_and_centroid(&mp) else {
            continue;
        };
        let inside = mp.contains(&Point::new(centroid[0], centroid[1]));
        let point = if inside {
            centroid
        } else {
            interior_point(&mp).unwrap_or(centroid)
        };
        out.push(residence(
            osm,
            &tags,
            point,
            footprint_m2,
            ResidenceSource::ResidentialArea,
        ));
    }
    out.sort_by_key(|r| r.osm);
    for r in &out {
        stats.residences[r.source as usize] += 1;
    }
    out
}

fn residence(
    osm: OsmRef,
    tags: &Tags,
    point: [f64; 2],
    footprint_m2: f64,
    source: ResidenceSource,
) -> Residence {
    let tags = kept_tags(tags);
    let levels = tags
        .get("building:levels")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|l| l.is_finite() && *l > 0.0);
    let flats = tags
        .get("building:flats")
        .and_then(|v| v.trim().parse::<u32>().ok());
    Residence {
        osm,
        tags,
        point,
        footprint_m2,
        levels,
        flats,
        source,
    }
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: PathBuf::from(path),
            source,
        }
    }
    pub(crate) fn pbf(path: &Path, source: osmpbf::Error) -> Self {
        Error::Pbf {
            path: PathBuf::from(path),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file error names the file and chains the cause as its source, so a printer
    /// of the chain (`{:#}` in anyhow) shows the cause once, and callers can inspect it.
    #[test]
    fn file_errors_chain_their_cause() {
        let path = Path::new("/definitely/not/here.osm.pbf");
        let e = read(path, &ReadOptions::default()).unwrap_err();
        let source = std::error::Error::source(&e).expect("the io error is the source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "/definitely/not/here.osm.pbf");
    }
}
