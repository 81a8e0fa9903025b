//! Reading a `.osm.pbf`: one parallel decode of every blob, then lookups.
//!
//! 1. Every blob is decoded once, in parallel: the nodes go into a location index
//!    ([`NodeIndex`], about 12 bytes per node of the file), walkable ways, tagged areas,
//!    untagged ways (multipolygon members) and multipolygon relations of interest into
//!    flat per-blob arrays. Tag values are compared through the blob's string table,
//!    so a way without any key of interest costs no string work.
//! 2. Only when a kept relation has member ways that step 1 did not keep (tagged ways
//!    of no interest themselves): the way blobs whose id range holds one are decoded
//!    again.
//! 3. Walkable ways look up their nodes (cut where the extract lacks one), and their
//!    nodes are numbered in id order; areas are closed and measured, residences found.
//!    All in parallel; the index is dropped at the end.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use geo::MultiPolygon;
use rayon::prelude::*;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

use crate::area::{Prepared, area_and_point, assemble_rings, multipolygon};
use crate::model::*;
use crate::nodes::{Loc, NodeBlock, NodeBlockBuilder, NodeIndex};
use crate::pbf::{
    BlobError, BlobKind, Blobs, Block, Corrupt, Deltas, HeaderBlock, Member, RawTags, Visitor,
    header_block, inflate,
};
use crate::rules::{FootDirection, WalkRules, WayClass};
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

/// Keys that make a `building=yes` something other than a home.
const NOT_HOME_KEYS: [&str; 6] = [
    "amenity",
    "shop",
    "office",
    "tourism",
    "craft",
    "healthcare",
];

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
            // A plain building that carries a shop, office, amenity, hotel, workshop
            // or practice is that, not a home, even inside a residential area.
            building_yes: building == Some("yes")
                && !NOT_HOME_KEYS
                    .iter()
                    .any(|k| get(k).is_some_and(|v| v != "no")),
            residential_landuse: get("landuse") == Some("residential"),
        }
    }
    fn any(&self) -> bool {
        self.poi || self.residential_building || self.building_yes || self.residential_landuse
    }
}

/// A range of a per-blob array.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of<T>(v: &[T], start: usize) -> Span {
        Span {
            start: start as u32,
            len: (v.len() - start) as u32,
        }
    }
    fn get<T>(self, v: &[T]) -> &[T] {
        &v[self.start as usize..(self.start + self.len) as usize]
    }
}

struct RawWalk {
    id: i64,
    refs: Span,
    direction: FootDirection,
    /// Into the blob's `strings`.
    highway: u32,
    name: Option<u32>,
}

struct RawArea {
    osm: OsmRef,
    tags: Tags,
    roles: Roles,
    /// For ways: the node list (into `area_refs`).
    refs: Span,
    /// For relations: outer and inner member way ids (into `members`).
    outer: Span,
    inner: Span,
}

/// What one blob holds.
#[derive(Default)]
struct Decoded {
    header: Option<Header>,
    nodes: u64,
    ways: u64,
    relations: u64,
    highway_ways: u64,
    newest_ms: Option<i64>,
    /// Smallest and largest way id, for the member pass.
    way_ids: Option<(i64, i64)>,
    locations: NodeBlock,
    poi_nodes: Vec<Feature>,
    /// Ids of nodes that are entrances or gates ([`crate::rules::is_entrance`]).
    entrances: Vec<i64>,
    strings: Vec<String>,
    walk: Vec<RawWalk>,
    walk_refs: Vec<i64>,
    areas: Vec<RawArea>,
    area_refs: Vec<i64>,
    members: Vec<i64>,
    untagged: Vec<(i64, Span)>,
    untagged_refs: Vec<i64>,
}

/// Where an `.osm.pbf` comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A file.
    File(&'a Path),
    /// A file's bytes in memory; `name` stands for it in errors.
    Bytes {
        /// What to call it.
        name: &'a Path,
        /// The bytes.
        data: &'a [u8],
    },
}

impl<'a> Source<'a> {
    /// The file, or the name of the bytes.
    pub fn name(&self) -> &'a Path {
        match *self {
            Source::File(p) | Source::Bytes { name: p, .. } => p,
        }
    }

    /// Its size in bytes (0 when the file cannot be read).
    pub fn len(&self) -> u64 {
        match *self {
            Source::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Source::Bytes { data, .. } => data.len() as u64,
        }
    }

    /// Whether it is empty (or cannot be read).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a Path> for Source<'a> {
    fn from(p: &'a Path) -> Self {
        Source::File(p)
    }
}

type Reader<'a> = Box<dyn std::io::Read + Send + 'a>;

fn open<'a>(src: Source<'a>) -> Result<Reader<'a>, Error> {
    let path = match src {
        Source::File(path) => path,
        Source::Bytes { name, data } => {
            if data.is_empty() {
                return Err(Error::Empty(name.to_owned()));
            }
            return Ok(Box::new(std::io::Cursor::new(data)));
        }
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::NotAFile(path.to_owned()));
    }
    if meta.len() == 0 {
        return Err(Error::Empty(path.to_owned()));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// What a decode step sees of a blob.
enum Content<'a> {
    Header(&'a [u8]),
    Data(&'a [u8]),
}

/// Runs `f` on every blob (in parallel) whose index `want` accepts, with its
/// uncompressed content; results in file order (blobs of other types give
/// `T::default()`, so indices match the file's). `progress` hears the bytes read;
/// once `cancel` is set, no further blob is decoded and the result is
/// [`Error::Cancelled`].
fn for_blobs<T: Send + Default>(
    src: Source<'_>,
    want: &(dyn Fn(usize) -> bool + Sync),
    f: &(dyn Fn(Content<'_>) -> Result<T, Corrupt> + Sync),
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<T>, Error> {
    let path = src.name();
    let reader = open(src)?;
    let corrupt = |offset: u64, c: Corrupt| Error::Corrupt {
        path: path.to_owned(),
        what: format!("{} (blob at byte {offset})", c.0),
    };
    let mut v = Blobs::new(reader)
        .enumerate()
        .filter(|(i, _)| want(*i))
        .par_bridge()
        .map_init(Vec::new, |buf, (i, blob)| {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let blob = blob.map_err(|e| match e {
                BlobError::Io(e) => Error::io(path, e),
                BlobError::Corrupt(offset, c) => corrupt(offset, c),
            })?;
            let end = blob.offset + blob.data.len() as u64;
            let out = match blob.kind {
                BlobKind::Other => T::default(),
                kind => {
                    inflate(&blob.data, buf).map_err(|c| corrupt(blob.offset, c))?;
                    let content = if kind == BlobKind::Header {
                        Content::Header(buf)
                    } else {
                        Content::Data(buf)
                    };
                    f(content).map_err(|c| corrupt(blob.offset, c))?
                }
            };
            progress(end);
            Ok((i, out))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    v.sort_unstable_by_key(|(i, _)| *i);
    Ok(v.into_iter().map(|(_, t)| t).collect())
}

fn header_of(h: &HeaderBlock) -> Header {
    Header {
        bbox: h.bbox.map(|[l, r, t, b]| {
            let deg = |x: i64| (x as f64) * 1.0e-9;
            [deg(l), deg(b), deg(r), deg(t)]
        }),
        replication_timestamp: h.replication_timestamp,
        writing_program: h.writing_program.clone(),
    }
}

/// The string table of a block with every entry checked once (entries that are not
/// UTF-8 are `None`, and tags using them are skipped).
struct Table<'a> {
    s: Vec<Option<&'a str>>,
    /// Per entry: [`INTERESTING`] and [`POI_KEY`] flags.
    interesting: Vec<u8>,
    highway: Option<u32>,
}

/// A key some rule looks at.
const INTERESTING: u8 = 1;
/// A key of the POI filter.
const POI_KEY: u8 = 2;
/// `entrance` or `barrier`: the node may be an area's entrance.
const ENTRANCE_KEY: u8 = 4;

/// Keys some rule looks at: a way or relation without any of them is skipped, and a
/// node without a POI key needs no tag work.
struct Keys {
    all: std::collections::HashSet<String>,
    poi: std::collections::HashSet<String>,
}

impl Keys {
    fn new(opts: &ReadOptions) -> Self {
        let poi: std::collections::HashSet<String> =
            opts.pois.patterns.iter().map(|p| p.key.clone()).collect();
        let mut all = poi.clone();
        all.extend(["highway", "building", "landuse", "type"].map(String::from));
        Keys { all, poi }
    }
}

impl<'a> Table<'a> {
    fn new(strings: &[&'a [u8]], keys: &Keys) -> Self {
        let s: Vec<Option<&str>> = strings
            .iter()
            .map(|b| std::str::from_utf8(b).ok())
            .collect();
        let interesting = s
            .iter()
            .map(|k| {
                let Some(k) = k else { return 0 };
                let mut f = 0;
                if keys.all.contains(*k) {
                    f |= INTERESTING;
                }
                if keys.poi.contains(*k) {
                    f |= POI_KEY;
                }
                if matches!(*k, "entrance" | "barrier") {
                    f |= ENTRANCE_KEY;
                }
                f
            })
            .collect();
        let highway = s
            .iter()
            .position(|k| *k == Some("highway"))
            .map(|i| i as u32);
        Table {
            s,
            interesting,
            highway,
        }
    }

    #[inline]
    fn get(&self, i: u32) -> Option<&'a str> {
        self.s.get(i as usize).copied().flatten()
    }

    /// Whether any key carries `flag`.
    #[inline]
    fn any(&self, flag: u8, mut keys: impl Iterator<Item = u32>) -> bool {
        keys.any(|k| {
            self.interesting
                .get(k as usize)
                .is_some_and(|f| f & flag != 0)
        })
    }

    /// Fills `buf` with the tags, skipping those with bad string indices.
    #[inline]
    fn tags(&self, raw: impl Iterator<Item = (u32, u32)>, buf: &mut Vec<(&'a str, &'a str)>) {
        buf.clear();
        for (k, v) in raw {
            if let (Some(k), Some(v)) = (self.get(k), self.get(v)) {
                buf.push((k, v));
            }
        }
    }
}

/// Collects what one data block holds.
struct Collect<'a, 'o> {
    opts: &'o ReadOptions,
    table: Table<'a>,
    tags: Vec<(&'a str, &'a str)>,
    raw: Vec<(u32, u32)>,
    strings: HashMap<&'a str, u32>,
    locations: NodeBlockBuilder,
    out: Decoded,
}

impl Collect<'_, '_> {
    fn untagged(&mut self, id: i64, refs: Deltas<'_>) {
        if !self.opts.network_only {
            let start = self.out.untagged_refs.len();
            self.out
                .untagged_refs
                .reserve(refs.size_hint().1.unwrap_or(0));
            self.out.untagged_refs.extend(refs);
            self.out
                .untagged
                .push((id, Span::of(&self.out.untagged_refs, start)));
        }
    }
}

impl<'a> Visitor<'a> for Collect<'a, '_> {
    fn node(
        &mut self,
        id: i64,
        nano_lon: i64,
        nano_lat: i64,
        tags: &mut dyn Iterator<Item = (u32, u32)>,
    ) {
        self.out.nodes += 1;
        self.locations.push(id, nano_lon, nano_lat);
        if self.opts.network_only {
            return;
        }
        // Only a node with a POI key can match; its other tags are kept with it.
        self.raw.clear();
        self.raw.extend(tags);
        let poi = self.table.any(POI_KEY, self.raw.iter().map(|t| t.0));
        let entrance = self.table.any(ENTRANCE_KEY, self.raw.iter().map(|t| t.0));
        if !poi && !entrance {
            return;
        }
        self.table.tags(self.raw.iter().copied(), &mut self.tags);
        if entrance && crate::rules::is_entrance(&self.tags) {
            self.out.entrances.push(id);
        }
        if poi && !self.tags.is_empty() && self.opts.pois.matches(&self.tags) {
            let lonlat = Loc { nano_lon, nano_lat }.lonlat();
            self.out.poi_nodes.push(Feature {
                osm: OsmRef {
                    kind: OsmType::Node,
                    id,
                },
                tags: Tags::from_pairs(self.tags.iter().copied()),
                shape: Shape::Point(lonlat),
                entrances: Vec::new(),
            });
        }
    }

    fn way(&mut self, id: i64, raw: RawTags<'a>, refs: Deltas<'a>, millis: Option<i64>) {
        let out = &mut self.out;
        out.ways += 1;
        out.way_ids = Some(match out.way_ids {
            None => (id, id),
            Some((a, b)) => (a.min(id), b.max(id)),
        });
        if let Some(ms) = millis {
            out.newest_ms = out.newest_ms.max(Some(ms));
        }
        if raw.is_empty() {
            // Untagged ways are mostly multipolygon members; keeping their node
            // lists here saves a pass over the file.
            self.untagged(id, refs);
            return;
        }
        // One look at the keys: a highway, or (unless only the network is read)
        // any key some rule looks at.
        let want = match (self.opts.network_only, self.table.highway) {
            (true, None) => false,
            (true, Some(h)) => raw.keys().any(|k| k == h),
            (false, _) => self.table.any(INTERESTING, raw.keys()),
        };
        if !want {
            return;
        }
        self.table.tags(raw.iter(), &mut self.tags);
        if self.tags.is_empty() {
            // Every tag had a bad string index: as untagged.
            self.untagged(id, refs);
            return;
        }
        let tags = &self.tags;
        let out = &mut self.out;
        let tag = |k: &str| tags.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        if let Some(hw) = tag("highway") {
            out.highway_ways += 1;
            if let WayClass::Walkable { direction, .. } = self.opts.rules.classify(tags) {
                let name = tag("name")
                    .or_else(|| tag("name:zh"))
                    .or_else(|| tag("name:en"));
                let start = out.walk_refs.len();
                out.walk_refs.reserve(refs.size_hint().1.unwrap_or(0));
                out.walk_refs.extend(refs.clone());
                let highway = intern(&mut self.strings, &mut out.strings, hw);
                let name = name.map(|n| intern(&mut self.strings, &mut out.strings, n));
                out.walk.push(RawWalk {
                    id,
                    refs: Span::of(&out.walk_refs, start),
                    direction,
                    highway,
                    name,
                });
            }
        }
        if self.opts.network_only {
            return;
        }
        let roles = Roles::of(tags, &self.opts.pois);
        if roles.any() {
            let start = out.area_refs.len();
            out.area_refs.reserve(refs.size_hint().1.unwrap_or(0));
            out.area_refs.extend(refs);
            out.areas.push(RawArea {
                osm: OsmRef {
                    kind: OsmType::Way,
                    id,
                },
                tags: area_tags(tags, roles),
                roles,
                refs: Span::of(&out.area_refs, start),
                outer: Span::default(),
                inner: Span::default(),
            });
        }
    }

    fn relation(&mut self, id: i64, raw: RawTags<'a>, members: &mut dyn Iterator<Item = Member>) {
        self.out.relations += 1;
        if self.opts.network_only || !self.table.any(INTERESTING, raw.keys()) {
            return;
        }
        self.table.tags(raw.iter(), &mut self.tags);
        let is_mp = self
            .tags
            .iter()
            .any(|&(k, v)| k == "type" && (v == "multipolygon" || v == "boundary"));
        if !is_mp {
            return;
        }
        let roles = Roles::of(&self.tags, &self.opts.pois);
        if !roles.any() {
            return;
        }
        let out = &mut self.out;
        let start = out.members.len();
        let mut inner = Vec::new();
        for m in members {
            if m.kind != 1 {
                continue;
            }
            match self.table.get(m.role) {
                Some("inner") => inner.push(m.id),
                _ => out.members.push(m.id),
            }
        }
        let outer = Span::of(&out.members, start);
        let start = out.members.len();
        out.members.extend_from_slice(&inner);
        let inner = Span::of(&out.members, start);
        out.areas.push(RawArea {
            osm: OsmRef {
                kind: OsmType::Relation,
                id,
            },
            tags: area_tags(&self.tags, roles),
            roles,
            refs: Span::default(),
            outer,
            inner,
        });
    }
}

/// Decodes one blob.
fn decode_blob(content: Content<'_>, opts: &ReadOptions, keys: &Keys) -> Result<Decoded, Corrupt> {
    let buf = match content {
        Content::Header(buf) => {
            return Ok(Decoded {
                header: Some(header_of(&header_block(buf)?)),
                ..Decoded::default()
            });
        }
        Content::Data(buf) => buf,
    };
    let block = Block::parse(buf)?;
    let mut c = Collect {
        opts,
        table: Table::new(block.strings(), keys),
        tags: Vec::new(),
        raw: Vec::new(),
        strings: HashMap::new(),
        locations: NodeBlockBuilder::default(),
        out: Decoded::default(),
    };
    block.visit(&mut c)?;
    c.out.locations = c.locations.finish();
    // Kept until every blob is decoded: no slack.
    let o = &mut c.out;
    o.walk.shrink_to_fit();
    o.walk_refs.shrink_to_fit();
    o.areas.shrink_to_fit();
    o.area_refs.shrink_to_fit();
    o.untagged.shrink_to_fit();
    o.untagged_refs.shrink_to_fit();
    o.members.shrink_to_fit();
    o.poi_nodes.shrink_to_fit();
    Ok(c.out)
}

/// The number of `s` in a blob's list of strings.
fn intern<'a>(map: &mut HashMap<&'a str, u32>, list: &mut Vec<String>, s: &'a str) -> u32 {
    *map.entry(s).or_insert_with(|| {
        list.push(s.to_owned());
        list.len() as u32 - 1
    })
}

/// Reads walkable ways, facility candidates and residences from a `.osm.pbf`.
///
/// # Errors
/// A missing, empty, truncated or corrupt file, or one that is not an OSM PBF.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<OsmData, Error> {
    read_with_progress(path, opts, &|_| {})
}

/// [`read`], telling `progress` how many bytes of the file have been read (it may be
/// called from several threads).
///
/// # Errors
/// As [`read`].
pub fn read_with_progress(
    path: &Path,
    opts: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<OsmData, Error> {
    read_from(Source::File(path), opts, progress, &AtomicBool::new(false))
}

/// [`read_with_progress`] from a file or bytes in memory, stopping with
/// [`Error::Cancelled`] once `cancel` is set (checked before each blob is
/// decoded, so within one blob's work per thread).
///
/// # Errors
/// As [`read`], or [`Error::Cancelled`].
pub fn read_from(
    src: Source<'_>,
    opts: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<OsmData, Error> {
    let path = src.name();
    let file_bytes = src.len();
    let mut seconds = ReadSeconds::default();
    let mut t = std::time::Instant::now();
    let mut lap = |s: &mut f64| {
        *s = t.elapsed().as_secs_f64();
        t = std::time::Instant::now();
    };

    // Step 1: decode every blob once.
    let keys = Keys::new(opts);
    let mut blobs = for_blobs(
        src,
        &|_| true,
        &|c| decode_blob(c, opts, &keys),
        progress,
        cancel,
    )?;
    let Some(header) = blobs.iter_mut().find_map(|b| b.header.take()) else {
        return Err(Error::NotPbf(path.to_owned(), "no OSMHeader block"));
    };
    let index = NodeIndex::new(
        blobs
            .iter_mut()
            .map(|b| std::mem::take(&mut b.locations))
            .collect(),
    );
    let mut stats = ReadStats {
        file_bytes,
        blobs: blobs.len() as u64,
        nodes: blobs.iter().map(|b| b.nodes).sum(),
        ways: blobs.iter().map(|b| b.ways).sum(),
        relations: blobs.iter().map(|b| b.relations).sum(),
        highway_ways: blobs.iter().map(|b| b.highway_ways).sum(),
        walkable_ways: blobs.iter().map(|b| b.walk.len() as u64).sum(),
        newest_way_timestamp_ms: blobs.iter().filter_map(|b| b.newest_ms).max(),
        node_index_bytes: index.bytes() as u64,
        ..ReadStats::default()
    };

    lap(&mut seconds.decode);
    let network = walk_network(&blobs, &index, &mut stats);
    lap(&mut seconds.network);
    if opts.network_only {
        return Ok(OsmData {
            header,
            network,
            features: Vec::new(),
            residences: Vec::new(),
            stats,
            seconds,
        });
    }

    // Step 2: node lists of relation members.
    let members = member_refs(src, &blobs, &mut stats, cancel)?;

    // Step 3: areas, in file order, in parallel. Facility candidates and
    // residential land become shapes first; then every building is measured
    // (straight from its ring when it is nothing but a building) and placed.
    let mut features: Vec<Feature> = Vec::new();
    for b in &mut blobs {
        features.append(&mut b.poi_nodes);
    }
    let mut entrances: Vec<i64> = blobs
        .iter_mut()
        .flat_map(|b| std::mem::take(&mut b.entrances))
        .collect();
    entrances.par_sort_unstable();
    entrances.dedup();
    let areas: Vec<(u32, u32)> = blobs
        .iter()
        .enumerate()
        .flat_map(|(b, d)| (0..d.areas.len() as u32).map(move |i| (b as u32, i)))
        .collect();
    let area = |&(b, i): &(u32, u32)| (&blobs[b as usize], &blobs[b as usize].areas[i as usize]);
    let general: Vec<(u32, u32)> = areas
        .iter()
        .copied()
        .filter(|k| !only_building(area(k).1))
        .collect();
    let (shapes, broken_rings): (Vec<Option<Shape>>, Vec<u32>) = general
        .par_iter()
        .with_min_len(64)
        .map(|k| {
            let (blob, a) = area(k);
            area_shape(blob, a, &index, &members)
        })
        .unzip();
    // A facility area's entrances: its outline's nodes that are entrances or gates.
    let area_entrances: Vec<Vec<[f64; 2]>> = general
        .par_iter()
        .with_min_len(64)
        .map(|k| {
            let (blob, a) = area(k);
            if !a.roles.poi || entrances.is_empty() {
                return Vec::new();
            }
            let refs: Vec<i64> = match a.osm.kind {
                OsmType::Way => a.refs.get(&blob.area_refs).to_vec(),
                _ => a
                    .outer
                    .get(&blob.members)
                    .iter()
                    .chain(a.inner.get(&blob.members))
                    .filter_map(|id| members.get(id))
                    .flatten()
                    .copied()
                    .collect(),
            };
            let mut found: Vec<i64> = refs
                .into_iter()
                .filter(|id| entrances.binary_search(id).is_ok())
                .collect();
            found.sort_unstable();
            found.dedup();
            found
                .into_iter()
                .filter_map(|id| index.get(id).map(|(_, l)| l.lonlat()))
                .collect()
        })
        .collect();
    drop(entrances);
    stats.broken_rings = broken_rings.iter().map(|&b| u64::from(b)).sum();
    drop(broken_rings);
    drop(members);
    let mut landuse: Vec<(OsmRef, Option<String>, MultiPolygon)> = Vec::new();
    // Buildings among the general areas: their shape, by area.
    let mut general_shape: HashMap<(u32, u32), usize> = HashMap::new();
    for (gi, (k, shape)) in general.iter().zip(&shapes).enumerate() {
        let a = area(k).1;
        let homes = a.roles.residential_building || a.roles.building_yes;
        match shape {
            None => stats.broken_areas += 1,
            Some(Shape::Point(_)) if homes || a.roles.residential_landuse => {
                stats.broken_areas += 1;
            }
            Some(Shape::Point(_)) => {}
            Some(Shape::Area(mp)) => {
                if a.roles.residential_landuse {
                    landuse.push((a.osm, a.tags.best_name().map(str::to_owned), mp.clone()));
                }
                if homes {
                    general_shape.insert(*k, gi);
                }
            }
        }
    }
    for ((k, shape), entrances) in general.iter().zip(shapes.iter()).zip(area_entrances) {
        let a = area(k).1;
        if a.roles.poi
            && let Some(shape) = shape
        {
            features.push(Feature {
                osm: a.osm,
                tags: a.tags.clone(),
                entrances: match shape {
                    Shape::Area(_) => entrances,
                    Shape::Point(_) => Vec::new(),
                },
                shape: shape.clone(),
            });
        }
    }
    features.par_sort_by_key(|f| f.osm);
    stats.features = features.len() as u64;
    let land = Landuse::new(&landuse);
    let homes: Vec<(u32, u32)> = areas
        .into_iter()
        .filter(|k| {
            let a = area(k).1;
            a.roles.residential_building || a.roles.building_yes
        })
        .collect();
    // Per building: the residence it makes (if any) and the land it lies in; `None`
    // for a building whose outline does not close.
    let placed: Vec<Option<(Option<Residence>, Option<u32>)>> = homes
        .par_iter()
        .with_min_len(256)
        .map_init(Vec::new, |ring, k| {
            let (blob, a) = area(k);
            let (footprint_m2, point) = if only_building(a) {
                measure_ring(blob, a, &index, ring)?
            } else {
                let Some(Shape::Area(mp)) =
                    general_shape.get(k).and_then(|&gi| shapes[gi].as_ref())
                else {
                    // Counted as broken above.
                    return Some((None, None));
                };
                match area_and_point(mp) {
                    Some(m) => m,
                    None => return Some((None, None)),
                }
            };
            let inside = land.containing(point);
            let source = if a.roles.residential_building {
                ResidenceSource::Building
            } else if inside.is_some() {
                ResidenceSource::BuildingInResidentialArea
            } else {
                return Some((None, None));
            };
            Some((
                Some(residence(a.osm, &a.tags, point, footprint_m2, source)),
                inside,
            ))
        })
        .collect();
    drop(shapes);
    drop(blobs);
    drop(index);
    lap(&mut seconds.areas);

    let mut landuse_has_home = vec![false; landuse.len()];
    let mut residences = Vec::with_capacity(placed.len());
    for p in placed {
        match p {
            None => stats.broken_areas += 1,
            Some((r, inside)) => {
                if let Some(i) = inside {
                    landuse_has_home[i as usize] = true;
                }
                residences.extend(r);
            }
        }
    }
    residences.extend(
        landuse
            .into_iter()
            .zip(landuse_has_home)
            .filter(|(_, has)| !has)
            .filter_map(|((osm, name, mp), _)| area_residence(osm, name, &mp)),
    );
    residences.par_sort_by_key(|r| r.osm);
    for r in &residences {
        stats.residences[r.source as usize] += 1;
    }
    lap(&mut seconds.residences);
    Ok(OsmData {
        header,
        network,
        features,
        residences,
        stats,
        seconds,
    })
}

/// The walkable ways, cut where the extract lacks their nodes, with their nodes
/// numbered in id order.
fn walk_network(blobs: &[Decoded], index: &NodeIndex, stats: &mut ReadStats) -> WalkNetwork {
    // Global string numbers for each blob's strings.
    let mut strings = Strings::default();
    let remap: Vec<Vec<u32>> = blobs
        .iter()
        .map(|b| b.strings.iter().map(|s| strings.intern(s)).collect())
        .collect();
    // Ways by id (files are usually sorted already).
    let mut order: Vec<(i64, u32, u32)> = blobs
        .iter()
        .enumerate()
        .flat_map(|(b, d)| {
            d.walk
                .iter()
                .enumerate()
                .map(move |(i, w)| (w.id, b as u32, i as u32))
        })
        .collect();
    if !order.is_sorted_by_key(|o| o.0) {
        order.sort_unstable_by_key(|o| o.0);
    }

    struct Chunk {
        pieces: Vec<WalkPiece>,
        lens: Vec<u32>,
        refs: Vec<u32>,
        missing: u64,
        cut: u64,
    }
    let used: Vec<AtomicU32> = (0..index.len()).map(|_| AtomicU32::new(0)).collect();
    let chunks: Vec<Chunk> = order
        .par_chunks(2048)
        .map(|ways| {
            let mut c = Chunk {
                pieces: Vec::new(),
                lens: Vec::new(),
                refs: Vec::new(),
                missing: 0,
                cut: 0,
            };
            for &(_, b, i) in ways {
                let d = &blobs[b as usize];
                let w = &d.walk[i as usize];
                let piece = WalkPiece {
                    way_id: w.id,
                    direction: w.direction,
                    highway: remap[b as usize][w.highway as usize],
                    name: w.name.map(|n| remap[b as usize][n as usize]),
                };
                let mut start = c.refs.len();
                let mut missing = 0u64;
                for &r in w.refs.get(&d.walk_refs) {
                    if let Some((dense, _)) = index.get(r) {
                        c.refs.push(dense);
                        continue;
                    }
                    missing += 1;
                    if c.refs.len() - start >= 2 {
                        c.pieces.push(piece);
                        c.lens.push((c.refs.len() - start) as u32);
                    } else {
                        c.refs.truncate(start);
                    }
                    start = c.refs.len();
                }
                if c.refs.len() - start >= 2 {
                    c.pieces.push(piece);
                    c.lens.push((c.refs.len() - start) as u32);
                } else {
                    c.refs.truncate(start);
                }
                c.missing += missing;
                c.cut += u64::from(missing > 0);
            }
            for &r in &c.refs {
                used[r as usize].store(1, Ordering::Relaxed);
            }
            c
        })
        .collect();

    // Number the used nodes in id order (dense numbers follow ids).
    let mut node_osm = Vec::new();
    let mut node_lonlat = Vec::new();
    let mut next = 0u32;
    index.for_each(|dense, id, loc| {
        let u = &used[dense as usize];
        if u.load(Ordering::Relaxed) != 0 {
            u.store(next, Ordering::Relaxed);
            next += 1;
            node_osm.push(id);
            node_lonlat.push(loc.lonlat());
        }
    });
    let mut net = WalkNetwork {
        node_osm,
        node_lonlat,
        first: vec![0],
        ..WalkNetwork::default()
    };
    for c in chunks {
        stats.missing_node_refs += c.missing;
        stats.ways_cut += c.cut;
        net.refs.extend(
            c.refs
                .iter()
                .map(|&d| used[d as usize].load(Ordering::Relaxed)),
        );
        for len in c.lens {
            let last = *net.first.last().expect("starts with 0");
            net.first.push(last + len);
        }
        net.pieces.extend(c.pieces);
    }
    net.strings = strings.into_vec();
    stats.walk_pieces = net.pieces.len() as u64;
    net
}

/// The node lists of every way a kept relation uses, by way id.
fn member_refs(
    src: Source<'_>,
    blobs: &[Decoded],
    stats: &mut ReadStats,
    cancel: &AtomicBool,
) -> Result<HashMap<i64, Vec<i64>>, Error> {
    let mut wanted: Vec<i64> = blobs
        .iter()
        .flat_map(|b| {
            b.areas
                .iter()
                .filter(|a| a.osm.kind == OsmType::Relation)
                .flat_map(|a| {
                    a.outer
                        .get(&b.members)
                        .iter()
                        .chain(a.inner.get(&b.members))
                })
        })
        .copied()
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: HashMap<i64, Vec<i64>> = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let is_wanted = |id: i64| wanted.binary_search(&id).is_ok();
    for b in blobs {
        for &(id, refs) in &b.untagged {
            if is_wanted(id) {
                found.insert(id, refs.get(&b.untagged_refs).to_vec());
            }
        }
        for a in &b.areas {
            if a.osm.kind == OsmType::Way && is_wanted(a.osm.id) {
                found.insert(a.osm.id, a.refs.get(&b.area_refs).to_vec());
            }
        }
        for w in &b.walk {
            if is_wanted(w.id) {
                found.insert(w.id, w.refs.get(&b.walk_refs).to_vec());
            }
        }
    }
    let missing: Vec<i64> = wanted
        .into_iter()
        .filter(|id| !found.contains_key(id))
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    // Way blobs whose id range holds a missing member.
    let holds = |b: &Decoded| {
        b.way_ids.is_some_and(|(lo, hi)| {
            let i = missing.partition_point(|&id| id < lo);
            missing.get(i).is_some_and(|&id| id <= hi)
        })
    };
    stats.blobs_reread = blobs.iter().filter(|b| holds(b)).count() as u64;
    let missing = &missing;
    struct Members<'m> {
        missing: &'m [i64],
        found: Vec<(i64, Vec<i64>)>,
    }
    impl<'a> Visitor<'a> for Members<'_> {
        fn node(&mut self, _: i64, _: i64, _: i64, _: &mut dyn Iterator<Item = (u32, u32)>) {}
        fn way(&mut self, id: i64, _: RawTags<'a>, refs: Deltas<'a>, _: Option<i64>) {
            if self.missing.binary_search(&id).is_ok() {
                self.found.push((id, refs.collect()));
            }
        }
        fn relation(&mut self, _: i64, _: RawTags<'a>, _: &mut dyn Iterator<Item = Member>) {}
    }
    let missing = &missing;
    let chunks = for_blobs(
        src,
        &|i| blobs.get(i).is_some_and(holds),
        &|content| {
            let mut m = Members {
                missing,
                found: Vec::new(),
            };
            if let Content::Data(buf) = content {
                Block::parse(buf)?.visit(&mut m)?;
            }
            Ok(m.found)
        },
        &|_| {},
        cancel,
    )?;
    found.extend(chunks.into_iter().flatten());
    Ok(found)
}

/// A way that is a possible home and nothing else: measured straight from its ring.
fn only_building(a: &RawArea) -> bool {
    a.osm.kind == OsmType::Way
        && !a.roles.poi
        && !a.roles.residential_landuse
        && (a.roles.residential_building || a.roles.building_yes)
}

/// Footprint (m²) and point on the surface of a building way whose ring closes and whose nodes
/// are all in the file (the same numbers as [`area_and_point`] of its polygon);
/// `None` otherwise (a broken area). `ring` is a buffer reused across calls.
fn measure_ring(
    blob: &Decoded,
    a: &RawArea,
    index: &NodeIndex,
    ring: &mut Vec<[f64; 2]>,
) -> Option<(f64, [f64; 2])> {
    let refs = a.refs.get(&blob.area_refs);
    let closed = refs.len() >= 4 && refs.first() == refs.last();
    ring.clear();
    ring.extend(
        refs.iter()
            .map_while(|&r| index.get(r).map(|(_, l)| l.lonlat())),
    );
    if !closed || ring.len() != refs.len() {
        return None;
    }
    crate::area::ring_area_and_point(ring)
}

/// The shape of a tagged way or relation: an area when its outline closes, else the
/// mean of its known nodes, else `None`; and how many of a multipolygon's rings were
/// left out because they do not close or miss nodes.
fn area_shape(
    blob: &Decoded,
    a: &RawArea,
    index: &NodeIndex,
    member_refs: &HashMap<i64, Vec<i64>>,
) -> (Option<Shape>, u32) {
    let coord = |id: i64| index.get(id).map(|(_, loc)| loc.lonlat());
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
            let refs = a.refs.get(&blob.area_refs);
            let closed = refs.len() >= 4 && refs.first() == refs.last();
            let shape = match ring_coords(refs) {
                Some(ring) if closed => Some(Shape::Area(multipolygon(vec![ring], vec![]))),
                _ => mean(&mut refs.iter()),
            };
            (shape, 0)
        }
        _ => {
            let parts = |ids: &[i64]| {
                ids.iter()
                    .filter_map(|id| member_refs.get(id).cloned())
                    .collect::<Vec<_>>()
            };
            let outer_ids = a.outer.get(&blob.members);
            let (outer, open_outer) = assemble_rings(parts(outer_ids));
            let (inner, open_inner) = assemble_rings(parts(a.inner.get(&blob.members)));
            let rings = outer.len() + inner.len();
            let outer: Vec<_> = outer.iter().filter_map(|r| ring_coords(r)).collect();
            let inner: Vec<_> = inner.iter().filter_map(|r| ring_coords(r)).collect();
            let broken = (open_outer + open_inner + rings - outer.len() - inner.len()) as u32;
            if outer.is_empty() {
                let all: Vec<i64> = parts(outer_ids).into_iter().flatten().collect();
                return (mean(&mut all.iter()), broken);
            }
            (Some(Shape::Area(multipolygon(outer, inner))), broken)
        }
    }
}

/// The tags a residence uses (its roles are kept apart).
const KEEP: &[&str] = &[
    "name",
    "name:zh",
    "name:en",
    "building:levels",
    "building:flats",
];

/// An area's tags as it is kept: all of them for a facility candidate, else only
/// those a residence keeps (most buildings carry addresses and more).
fn area_tags(tags: &[(&str, &str)], roles: Roles) -> Tags {
    if roles.poi {
        Tags::from_pairs(tags.iter().copied())
    } else {
        Tags::from_pairs(tags.iter().copied().filter(|(k, _)| KEEP.contains(k)))
    }
}

type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Residential land, indexed for the question "which area holds this point?".
struct Landuse {
    index: RTree<Indexed>,
    /// Each area's polygons, prepared: `prepared[first[i]..first[i + 1]]`.
    prepared: Vec<Prepared>,
    first: Vec<usize>,
}

impl Landuse {
    fn new(land: &[(OsmRef, Option<String>, MultiPolygon)]) -> Self {
        use geo::BoundingRect;
        let per_area: Vec<Vec<Prepared>> = land
            .par_iter()
            .map(|(_, _, mp)| mp.0.iter().map(Prepared::new).collect())
            .collect();
        let mut first = vec![0];
        for p in &per_area {
            first.push(first.last().expect("starts with 0") + p.len());
        }
        Landuse {
            index: RTree::bulk_load(
                land.iter()
                    .enumerate()
                    .filter_map(|(i, (_, _, mp))| {
                        let r = mp.bounding_rect()?;
                        Some(GeomWithData::new(
                            Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                            i,
                        ))
                    })
                    .collect(),
            ),
            prepared: per_area.into_iter().flatten().collect(),
            first,
        }
    }

    /// The first area (in the index's order) holding `p`.
    fn containing(&self, p: [f64; 2]) -> Option<u32> {
        self.index
            .locate_in_envelope_intersecting(&AABB::from_point(p))
            .find(|hit| {
                self.prepared[self.first[hit.data]..self.first[hit.data + 1]]
                    .iter()
                    .any(|poly| poly.contains(p))
            })
            .map(|hit| hit.data as u32)
    }
}

/// A residential area without a home mapped inside, as one residence at a point on
/// its surface.
fn area_residence(osm: OsmRef, name: Option<String>, mp: &MultiPolygon) -> Option<Residence> {
    let (footprint_m2, point) = area_and_point(mp)?;
    Some(Residence {
        osm,
        name,
        point,
        footprint_m2,
        levels: None,
        flats: None,
        source: ResidenceSource::ResidentialArea,
    })
}

fn residence(
    osm: OsmRef,
    tags: &Tags,
    point: [f64; 2],
    footprint_m2: f64,
    source: ResidenceSource,
) -> Residence {
    let levels = tags
        .get("building:levels")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|l| l.is_finite() && *l > 0.0);
    let flats = tags
        .get("building:flats")
        .and_then(|v| v.trim().parse::<u32>().ok());
    Residence {
        osm,
        name: tags.best_name().map(str::to_owned),
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
