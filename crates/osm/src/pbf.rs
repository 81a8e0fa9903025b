//! The `.osm.pbf` format, decoded without copying: blob framing, inflation, and a
//! visitor over the elements of a data block.
//!
//! This is the reader's hot loop. Nothing is allocated per element: tags, node
//! references and relation members are handed out as iterators over the block's
//! packed varint fields, and metadata the reader does not need (versions,
//! changesets, users) is skipped by length. `osmpbf` decodes the same files in the
//! tests, element by element, as the oracle.
//!
//! Format: <https://wiki.openstreetmap.org/wiki/PBF_Format> (protobuf messages
//! `BlobHeader`, `Blob`, `HeaderBlock`, `PrimitiveBlock`).

use std::io::Read;

/// Largest `BlobHeader` the format allows.
const MAX_HEADER: u32 = 64 * 1024;
/// Largest blob (compressed or not) the format allows.
const MAX_BLOB: u64 = 32 * 1024 * 1024;

/// Why a file does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Corrupt(pub(crate) String);

impl Corrupt {
    fn new(what: impl Into<String>) -> Self {
        Corrupt(what.into())
    }
}

type Res<T> = Result<T, Corrupt>;

/// A protobuf reader over one message.
#[derive(Clone, Copy)]
pub(crate) struct Msg<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A field value.
#[derive(Clone, Copy)]
enum Val<'a> {
    Int(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Msg<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Msg { buf, pos: 0 }
    }

    #[inline]
    fn varint(&mut self) -> Res<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(Corrupt::new("a number runs past the end of its message"));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(Corrupt::new("a number is longer than 10 bytes"))
    }

    /// The next field: number and value.
    #[inline]
    fn field(&mut self) -> Res<Option<(u32, Val<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number =
            u32::try_from(key >> 3).map_err(|_| Corrupt::new("a field number is too large"))?;
        let val = match key & 7 {
            0 => Val::Int(self.varint()?),
            1 => {
                self.skip(8)?;
                Val::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| Corrupt::new("a field length is too large"))?;
                let start = self.pos;
                self.skip(len)?;
                Val::Bytes(&self.buf[start..self.pos])
            }
            5 => {
                self.skip(4)?;
                Val::Fixed
            }
            w => return Err(Corrupt(format!("unknown protobuf wire type {w}"))),
        };
        Ok(Some((number, val)))
    }

    #[inline]
    fn skip(&mut self, n: usize) -> Res<()> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(Corrupt::new("a field runs past the end of its message")),
        }
    }
}

fn bytes<'a>(v: Val<'a>, what: &str) -> Res<&'a [u8]> {
    match v {
        Val::Bytes(b) => Ok(b),
        _ => Err(Corrupt(format!("{what} has the wrong wire type"))),
    }
}

fn int(v: Val<'_>, what: &str) -> Res<u64> {
    match v {
        Val::Int(i) => Ok(i),
        _ => Err(Corrupt(format!("{what} has the wrong wire type"))),
    }
}

#[inline]
fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// A packed repeated varint field.
#[derive(Clone, Copy, Default)]
pub(crate) struct Packed<'a> {
    buf: &'a [u8],
}

impl<'a> Packed<'a> {
    fn of(v: Val<'a>, what: &str) -> Res<Self> {
        Ok(Packed {
            buf: bytes(v, what)?,
        })
    }

    /// The raw values.
    pub(crate) fn iter(self) -> PackedIter<'a> {
        PackedIter {
            msg: Msg::new(self.buf),
        }
    }

    /// Whether the field holds no value.
    pub(crate) fn is_empty(self) -> bool {
        self.buf.is_empty()
    }

    /// The number of values: every byte below 0x80 ends one. The last byte must end
    /// one; an over-long value (more than 10 bytes) shows up when iterating, which
    /// then stops early.
    fn check(self) -> Res<usize> {
        match self.buf.last() {
            Some(&b) if b >= 0x80 => Err(Corrupt::new("a packed list ends inside a number")),
            _ => Ok(self.buf.iter().filter(|&&b| b < 0x80).count()),
        }
    }
}

/// Iterator over a [`Packed`] field (ends early on a malformed value, which
/// [`Packed::check`] has ruled out for every field a block hands out).
#[derive(Clone)]
pub(crate) struct PackedIter<'a> {
    msg: Msg<'a>,
}

impl Iterator for PackedIter<'_> {
    type Item = u64;
    #[inline]
    fn next(&mut self) -> Option<u64> {
        if self.msg.pos >= self.msg.buf.len() {
            return None;
        }
        self.msg.varint().ok()
    }
}

/// Delta-coded signed values (node references, member ids), decoded.
#[derive(Clone)]
pub(crate) struct Deltas<'a> {
    it: PackedIter<'a>,
    cur: i64,
    /// Values left (from [`Packed::check`]).
    left: usize,
}

impl Iterator for Deltas<'_> {
    type Item = i64;
    #[inline]
    fn next(&mut self) -> Option<i64> {
        let d = zigzag(self.it.next()?);
        self.left = self.left.saturating_sub(1);
        self.cur = self.cur.wrapping_add(d);
        Some(self.cur)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // An over-long value ends the iteration early, so `left` is an upper bound.
        (0, Some(self.left))
    }
}

fn deltas(p: Packed<'_>, n: usize) -> Deltas<'_> {
    Deltas {
        it: p.iter(),
        cur: 0,
        left: n,
    }
}

/// Tags as string-table indices.
#[derive(Clone, Copy, Default)]
pub(crate) struct RawTags<'a> {
    keys: Packed<'a>,
    vals: Packed<'a>,
}

impl<'a> RawTags<'a> {
    /// `(key, value)` string-table indices.
    pub(crate) fn iter(self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.keys
            .iter()
            .zip(self.vals.iter())
            .map(|(k, v)| (k as u32, v as u32))
    }

    /// The key indices alone.
    pub(crate) fn keys(self) -> impl Iterator<Item = u32> + 'a {
        self.keys.iter().map(|k| k as u32)
    }

    /// Whether there is no tag.
    pub(crate) fn is_empty(self) -> bool {
        self.keys.is_empty()
    }
}

/// The tags of one dense node: `left` pairs of key and value indices.
#[derive(Clone)]
pub(crate) struct DenseTags<'a> {
    it: PackedIter<'a>,
    left: u32,
}

impl Iterator for DenseTags<'_> {
    type Item = (u32, u32);
    #[inline]
    fn next(&mut self) -> Option<(u32, u32)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let k = self.it.next()?;
        let v = self.it.next()?;
        Some((k as u32, v as u32))
    }
}

/// A relation member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    /// 0 node, 1 way, 2 relation.
    pub(crate) kind: u8,
    pub(crate) id: i64,
    pub(crate) role: u32,
}

/// What a visitor of a block's elements hears.
pub(crate) trait Visitor<'a> {
    /// A node (plain or dense) in nanodegrees, with its tags.
    fn node(
        &mut self,
        id: i64,
        nano_lon: i64,
        nano_lat: i64,
        tags: &mut dyn Iterator<Item = (u32, u32)>,
    );
    /// A way: tags, node references, and its timestamp in milliseconds if the file has one.
    fn way(&mut self, id: i64, tags: RawTags<'a>, refs: Deltas<'a>, millis: Option<i64>);
    /// A relation.
    fn relation(&mut self, id: i64, tags: RawTags<'a>, members: &mut dyn Iterator<Item = Member>);
}

/// A decoded `PrimitiveBlock`: its string table and groups, not yet visited.
pub(crate) struct Block<'a> {
    strings: Vec<&'a [u8]>,
    groups: Vec<&'a [u8]>,
    granularity: i64,
    lat_offset: i64,
    lon_offset: i64,
    date_granularity: i64,
}

impl<'a> Block<'a> {
    /// Parses the block's top-level fields.
    pub(crate) fn parse(buf: &'a [u8]) -> Res<Self> {
        let mut b = Block {
            strings: Vec::new(),
            groups: Vec::new(),
            granularity: 100,
            lat_offset: 0,
            lon_offset: 0,
            date_granularity: 1000,
        };
        let mut m = Msg::new(buf);
        while let Some((f, v)) = m.field()? {
            match f {
                1 => {
                    let mut st = Msg::new(bytes(v, "the string table")?);
                    while let Some((f, v)) = st.field()? {
                        if f == 1 {
                            b.strings.push(bytes(v, "a string")?);
                        }
                    }
                }
                2 => b.groups.push(bytes(v, "a group")?),
                17 => b.granularity = int(v, "granularity")? as i32 as i64,
                18 => b.date_granularity = int(v, "date granularity")? as i32 as i64,
                19 => b.lat_offset = int(v, "lat offset")? as i64,
                20 => b.lon_offset = int(v, "lon offset")? as i64,
                _ => {}
            }
        }
        if b.granularity <= 0 {
            return Err(Corrupt::new("a block has a granularity of 0 or less"));
        }
        Ok(b)
    }

    /// The string table.
    pub(crate) fn strings(&self) -> &[&'a [u8]] {
        &self.strings
    }

    #[inline]
    fn lon(&self, raw: i64) -> i64 {
        self.lon_offset
            .wrapping_add(self.granularity.wrapping_mul(raw))
    }

    #[inline]
    fn lat(&self, raw: i64) -> i64 {
        self.lat_offset
            .wrapping_add(self.granularity.wrapping_mul(raw))
    }

    /// Visits every element, in file order within each group.
    pub(crate) fn visit(&self, v: &mut dyn Visitor<'a>) -> Res<()> {
        for &g in &self.groups {
            let mut m = Msg::new(g);
            while let Some((f, val)) = m.field()? {
                match f {
                    1 => self.node(bytes(val, "a node")?, v)?,
                    2 => self.dense(bytes(val, "dense nodes")?, v)?,
                    3 => self.way(bytes(val, "a way")?, v)?,
                    4 => self.relation(bytes(val, "a relation")?, v)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn node(&self, buf: &'a [u8], v: &mut dyn Visitor<'a>) -> Res<()> {
        let (mut id, mut lat, mut lon) = (None, None, None);
        let mut tags = RawTags::default();
        let mut m = Msg::new(buf);
        while let Some((f, val)) = m.field()? {
            match f {
                1 => id = Some(zigzag(int(val, "a node id")?)),
                2 => tags.keys = Packed::of(val, "node keys")?,
                3 => tags.vals = Packed::of(val, "node values")?,
                8 => lat = Some(zigzag(int(val, "a latitude")?)),
                9 => lon = Some(zigzag(int(val, "a longitude")?)),
                _ => {}
            }
        }
        let (Some(id), Some(lat), Some(lon)) = (id, lat, lon) else {
            return Err(Corrupt::new("a node lacks its id or coordinates"));
        };
        check_tags(tags)?;
        v.node(id, self.lon(lon), self.lat(lat), &mut tags.iter());
        Ok(())
    }

    fn dense(&self, buf: &'a [u8], v: &mut dyn Visitor<'a>) -> Res<()> {
        let (mut ids, mut lats, mut lons, mut kv) = (
            Packed::default(),
            Packed::default(),
            Packed::default(),
            Packed::default(),
        );
        let mut m = Msg::new(buf);
        while let Some((f, val)) = m.field()? {
            match f {
                1 => ids = Packed::of(val, "dense ids")?,
                8 => lats = Packed::of(val, "dense latitudes")?,
                9 => lons = Packed::of(val, "dense longitudes")?,
                10 => kv = Packed::of(val, "dense tags")?,
                _ => {}
            }
        }
        let n = ids.check()?;
        if lats.check()? != n || lons.check()? != n {
            return Err(Corrupt::new(
                "dense nodes have unequal id and coordinate lists",
            ));
        }
        kv.check()?;
        let (mut id, mut lat, mut lon) = (0i64, 0i64, 0i64);
        let mut kv = kv.iter();
        let (mut ii, mut la, mut lo) = (ids.iter(), lats.iter(), lons.iter());
        for _ in 0..n {
            let (Some(di), Some(dla), Some(dlo)) = (ii.next(), la.next(), lo.next()) else {
                break;
            };
            id = id.wrapping_add(zigzag(di));
            lat = lat.wrapping_add(zigzag(dla));
            lon = lon.wrapping_add(zigzag(dlo));
            // This node's tags run up to the next 0 (or the end).
            let start = kv.clone();
            let mut pairs = 0;
            while let Some(k) = kv.next() {
                if k == 0 || kv.next().is_none() {
                    break;
                }
                pairs += 1;
            }
            let mut tags = DenseTags {
                it: start,
                left: pairs,
            };
            v.node(id, self.lon(lon), self.lat(lat), &mut tags);
        }
        Ok(())
    }

    fn way(&self, buf: &'a [u8], v: &mut dyn Visitor<'a>) -> Res<()> {
        let mut id = None;
        let mut tags = RawTags::default();
        let mut refs = Packed::default();
        let mut millis = None;
        let mut m = Msg::new(buf);
        while let Some((f, val)) = m.field()? {
            match f {
                1 => id = Some(int(val, "a way id")? as i64),
                2 => tags.keys = Packed::of(val, "way keys")?,
                3 => tags.vals = Packed::of(val, "way values")?,
                4 => {
                    let mut info = Msg::new(bytes(val, "way info")?);
                    while let Some((f, val)) = info.field()? {
                        if f == 2 {
                            let t = int(val, "a timestamp")? as i64;
                            millis = Some(t.wrapping_mul(self.date_granularity));
                        }
                    }
                }
                8 => refs = Packed::of(val, "way nodes")?,
                _ => {}
            }
        }
        let Some(id) = id else {
            return Err(Corrupt::new("a way lacks its id"));
        };
        check_tags(tags)?;
        let n = refs.check()?;
        v.way(id, tags, deltas(refs, n), millis);
        Ok(())
    }

    fn relation(&self, buf: &'a [u8], v: &mut dyn Visitor<'a>) -> Res<()> {
        let mut id = None;
        let mut tags = RawTags::default();
        let (mut roles, mut ids, mut types) =
            (Packed::default(), Packed::default(), Packed::default());
        let mut m = Msg::new(buf);
        while let Some((f, val)) = m.field()? {
            match f {
                1 => id = Some(int(val, "a relation id")? as i64),
                2 => tags.keys = Packed::of(val, "relation keys")?,
                3 => tags.vals = Packed::of(val, "relation values")?,
                8 => roles = Packed::of(val, "member roles")?,
                9 => ids = Packed::of(val, "member ids")?,
                10 => types = Packed::of(val, "member types")?,
                _ => {}
            }
        }
        let Some(id) = id else {
            return Err(Corrupt::new("a relation lacks its id"));
        };
        check_tags(tags)?;
        let n = ids.check()?;
        if roles.check()? != n || types.check()? != n {
            return Err(Corrupt::new("a relation has unequal member lists"));
        }
        let mut members =
            roles
                .iter()
                .zip(deltas(ids, n))
                .zip(types.iter())
                .map(|((role, id), kind)| Member {
                    kind: kind.min(3) as u8,
                    id,
                    role: role as u32,
                });
        v.relation(id, tags, &mut members);
        Ok(())
    }
}

fn check_tags(t: RawTags<'_>) -> Res<()> {
    if t.keys.check()? != t.vals.check()? {
        return Err(Corrupt::new(
            "an element has unequal tag key and value lists",
        ));
    }
    Ok(())
}

/// What a file's `OSMHeader` block says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HeaderBlock {
    /// `[left, right, top, bottom]` in nanodegrees.
    pub(crate) bbox: Option<[i64; 4]>,
    pub(crate) required: Vec<String>,
    pub(crate) writing_program: Option<String>,
    pub(crate) replication_timestamp: Option<i64>,
}

/// Features this reader implements (anything else in `required_features` is refused).
const SUPPORTED: &[&str] = &["OsmSchema-V0.6", "DenseNodes", "Sort.Type_then_ID"];

pub(crate) fn header_block(buf: &[u8]) -> Res<HeaderBlock> {
    let mut h = HeaderBlock::default();
    let mut m = Msg::new(buf);
    let text = |v: Val<'_>, what: &str| -> Res<String> {
        String::from_utf8(bytes(v, what)?.to_vec())
            .map_err(|_| Corrupt(format!("{what} is not UTF-8")))
    };
    while let Some((f, v)) = m.field()? {
        match f {
            1 => {
                let mut b = [0i64; 4];
                let mut bm = Msg::new(bytes(v, "the bounding box")?);
                while let Some((f, v)) = bm.field()? {
                    if (1..=4).contains(&f) {
                        b[f as usize - 1] = zigzag(int(v, "a bounding box side")?);
                    }
                }
                h.bbox = Some(b);
            }
            4 => h.required.push(text(v, "a required feature")?),
            16 => h.writing_program = Some(text(v, "the writing program")?),
            32 => h.replication_timestamp = Some(int(v, "the replication timestamp")? as i64),
            _ => {}
        }
    }
    if let Some(f) = h.required.iter().find(|f| !SUPPORTED.contains(&f.as_str())) {
        return Err(Corrupt(format!(
            "the file requires a feature this reader lacks: {f}"
        )));
    }
    Ok(h)
}

/// A blob as it sits in the file.
pub(crate) struct RawBlob {
    /// `OSMHeader`, `OSMData` or another type (skipped).
    pub(crate) kind: BlobKind,
    /// Byte offset of the blob's length prefix in the file.
    pub(crate) offset: u64,
    /// The encoded `Blob` message.
    pub(crate) data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobKind {
    Header,
    Data,
    Other,
}

/// Reads the blobs of a file one after another.
pub(crate) struct Blobs<R> {
    reader: R,
    offset: u64,
    done: bool,
}

impl<R: Read> Blobs<R> {
    pub(crate) fn new(reader: R) -> Self {
        Blobs {
            reader,
            offset: 0,
            done: false,
        }
    }

    fn next_blob(&mut self) -> Result<Option<RawBlob>, BlobError> {
        let offset = self.offset;
        let mut len = [0u8; 4];
        match read_full(&mut self.reader, &mut len) {
            Ok(0) => return Ok(None),
            Ok(4) => {}
            Ok(_) => {
                return Err(BlobError::corrupt(
                    offset,
                    "the file ends inside a blob header's length",
                ));
            }
            Err(e) => return Err(BlobError::Io(e)),
        }
        let hlen = u32::from_be_bytes(len);
        if hlen == 0 || hlen > MAX_HEADER {
            return Err(BlobError::corrupt(
                offset,
                format!("a blob header of {hlen} bytes"),
            ));
        }
        let mut header = vec![0u8; hlen as usize];
        self.fill(&mut header, offset)?;
        let (mut kind, mut size) = (None, None);
        let mut m = Msg::new(&header);
        while let Some((f, v)) = m.field().map_err(|c| BlobError::Corrupt(offset, c))? {
            match (f, v) {
                (1, Val::Bytes(b)) => kind = Some(b.to_vec()),
                (3, Val::Int(n)) => size = Some(n),
                _ => {}
            }
        }
        let (Some(kind), Some(size)) = (kind, size) else {
            return Err(BlobError::corrupt(
                offset,
                "a blob header lacks its type or size",
            ));
        };
        if size == 0 || size > MAX_BLOB {
            return Err(BlobError::corrupt(
                offset,
                format!("a blob of {size} bytes"),
            ));
        }
        let mut data = vec![0u8; size as usize];
        self.fill(&mut data, offset)?;
        self.offset += 4 + u64::from(hlen) + size;
        let kind = match kind.as_slice() {
            b"OSMHeader" => BlobKind::Header,
            b"OSMData" => BlobKind::Data,
            _ => BlobKind::Other,
        };
        Ok(Some(RawBlob { kind, offset, data }))
    }

    fn fill(&mut self, buf: &mut [u8], offset: u64) -> Result<(), BlobError> {
        match read_full(&mut self.reader, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(BlobError::corrupt(offset, "the file ends inside a blob")),
            Err(e) => Err(BlobError::Io(e)),
        }
    }
}

impl<R: Read> Iterator for Blobs<R> {
    type Item = Result<RawBlob, BlobError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_blob().transpose();
        if !matches!(r, Some(Ok(_))) {
            self.done = true;
        }
        r
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A blob that could not be read or framed.
#[derive(Debug)]
pub(crate) enum BlobError {
    Io(std::io::Error),
    /// Offset of the blob, and what is wrong.
    Corrupt(u64, Corrupt),
}

impl BlobError {
    fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        BlobError::Corrupt(offset, Corrupt::new(what))
    }
}

/// The uncompressed content of a `Blob` message, into `out` (which is cleared first).
pub(crate) fn inflate(blob: &[u8], out: &mut Vec<u8>) -> Res<()> {
    let (mut raw, mut zlib, mut size, mut other) = (None, None, None, None);
    let mut m = Msg::new(blob);
    while let Some((f, v)) = m.field()? {
        match (f, v) {
            (1, Val::Bytes(b)) => raw = Some(b),
            (2, Val::Int(n)) => size = Some(n),
            (3, Val::Bytes(b)) => zlib = Some(b),
            (4, _) => other = Some("lzma"),
            (5, _) => other = Some("bzip2"),
            (6, _) => other = Some("lz4"),
            (7, _) => other = Some("zstd"),
            _ => {}
        }
    }
    out.clear();
    if let Some(raw) = raw {
        out.extend_from_slice(raw);
        return Ok(());
    }
    let Some(zlib) = zlib else {
        return Err(match other {
            Some(c) => Corrupt(format!(
                "a blob is compressed with {c}, which this reader does not support (recompress with osmium cat -f pbf)"
            )),
            None => Corrupt::new("a blob holds no data"),
        });
    };
    let size = size.ok_or_else(|| Corrupt::new("a compressed blob lacks its size"))?;
    if size > MAX_BLOB {
        return Err(Corrupt(format!("a blob inflates to {size} bytes")));
    }
    out.reserve(size as usize);
    let mut z = flate2::Decompress::new(true);
    match z.decompress_vec(zlib, out, flate2::FlushDecompress::Finish) {
        Ok(flate2::Status::StreamEnd) if out.len() as u64 == size => Ok(()),
        Ok(_) => Err(Corrupt::new("a blob does not inflate to its stated size")),
        Err(_) => Err(Corrupt::new("a blob's zlib data is corrupt")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One element, strings resolved, as both decoders see it.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    enum Elem {
        Node(i64, i64, i64, Vec<(String, String)>),
        Way(i64, Vec<(String, String)>, Vec<i64>, Option<i64>),
        Relation(i64, Vec<(String, String)>, Vec<(u8, i64, String)>),
    }

    struct Collect<'a> {
        strings: Vec<Option<&'a str>>,
        out: Vec<Elem>,
    }

    impl Collect<'_> {
        fn tags(&self, t: impl Iterator<Item = (u32, u32)>) -> Vec<(String, String)> {
            let s = |i: u32| self.strings.get(i as usize).copied().flatten();
            t.filter_map(|(k, v)| Some((s(k)?.to_owned(), s(v)?.to_owned())))
                .collect()
        }
    }

    impl<'a> Visitor<'a> for Collect<'a> {
        fn node(&mut self, id: i64, lon: i64, lat: i64, t: &mut dyn Iterator<Item = (u32, u32)>) {
            let tags = self.tags(t);
            self.out.push(Elem::Node(id, lon, lat, tags));
        }
        fn way(&mut self, id: i64, t: RawTags<'a>, refs: Deltas<'a>, ms: Option<i64>) {
            let tags = self.tags(t.iter());
            self.out.push(Elem::Way(id, tags, refs.collect(), ms));
        }
        fn relation(&mut self, id: i64, t: RawTags<'a>, m: &mut dyn Iterator<Item = Member>) {
            let tags = self.tags(t.iter());
            let role = |r: u32| {
                self.strings
                    .get(r as usize)
                    .copied()
                    .flatten()
                    .unwrap_or("")
                    .to_owned()
            };
            let members = m.map(|m| (m.kind, m.id, role(m.role))).collect();
            self.out.push(Elem::Relation(id, tags, members));
        }
    }

    /// Every data blob's elements, by our decoder.
    fn ours(path: &std::path::Path) -> Vec<Vec<Elem>> {
        let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for blob in Blobs::new(f) {
            let blob = blob.unwrap();
            if blob.kind != BlobKind::Data {
                continue;
            }
            inflate(&blob.data, &mut buf).unwrap();
            let block = Block::parse(&buf).unwrap();
            let mut c = Collect {
                strings: block
                    .strings()
                    .iter()
                    .map(|b| std::str::from_utf8(b).ok())
                    .collect(),
                out: Vec::new(),
            };
            block.visit(&mut c).unwrap();
            c.out.sort();
            out.push(c.out);
        }
        out
    }

    /// Every data blob's elements, by `osmpbf`.
    fn reference(path: &std::path::Path) -> Vec<Vec<Elem>> {
        use osmpbf::{BlobDecode, BlobReader, Element, RelMemberType};
        let tags = |t: &mut dyn Iterator<Item = (&str, &str)>| {
            t.map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        };
        let mut out = Vec::new();
        for blob in BlobReader::from_path(path).unwrap() {
            let BlobDecode::OsmData(block) = blob.unwrap().decode().unwrap() else {
                continue;
            };
            let mut v = Vec::new();
            for e in block.elements() {
                v.push(match e {
                    Element::Node(n) => {
                        Elem::Node(n.id(), n.nano_lon(), n.nano_lat(), tags(&mut n.tags()))
                    }
                    Element::DenseNode(n) => {
                        Elem::Node(n.id(), n.nano_lon(), n.nano_lat(), tags(&mut n.tags()))
                    }
                    Element::Way(w) => Elem::Way(
                        w.id(),
                        tags(&mut w.tags()),
                        w.refs().collect(),
                        w.info().milli_timestamp(),
                    ),
                    Element::Relation(r) => {
                        let members = r
                            .members()
                            .map(|m| {
                                let kind = match m.member_type {
                                    RelMemberType::Node => 0,
                                    RelMemberType::Way => 1,
                                    RelMemberType::Relation => 2,
                                };
                                (kind, m.member_id, m.role().unwrap_or("").to_owned())
                            })
                            .collect();
                        Elem::Relation(r.id(), tags(&mut r.tags()), members)
                    }
                });
            }
            v.sort();
            out.push(v);
        }
        out
    }

    /// Both decoders agree on every element of every extract at hand: the bundled
    /// ones, the fixtures, and `../shared/data` when present.
    #[test]
    fn decodes_every_element_as_osmpbf_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in [
            root.join("data"),
            root.join("data/fixtures"),
            root.join("../shared/data"),
        ] {
            match std::fs::read_dir(&dir) {
                Ok(rd) => files.extend(
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.to_string_lossy().ends_with(".osm.pbf")),
                ),
                Err(_) => eprintln!("note: {} is absent; skipping its extracts", dir.display()),
            }
        }
        assert!(files.len() >= 3, "{files:?}");
        for f in &files {
            let (a, b) = (ours(f), reference(f));
            assert_eq!(a.len(), b.len(), "{}", f.display());
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(x == y, "{}: blob {i} differs", f.display());
            }
            assert!(a.iter().map(Vec::len).sum::<usize>() > 0, "{}", f.display());
        }
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn varints_and_zigzag() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut b = Vec::new();
            varint(v, &mut b);
            assert_eq!(Msg::new(&b).varint().unwrap(), v);
        }
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(1), -1);
        assert_eq!(zigzag(2), 1);
        assert_eq!(zigzag(u64::MAX), i64::MIN);
        // Truncated and over-long numbers are errors, not panics.
        assert!(Msg::new(&[0x80]).varint().is_err());
        assert!(Msg::new(&[0xff; 11]).varint().is_err());
    }

    #[test]
    fn fields_past_the_end_are_errors() {
        // Field 2, length-delimited, length 5, but only 2 bytes follow.
        let mut m = Msg::new(&[0x12, 5, 1, 2]);
        assert!(m.field().is_err());
        // Wire type 3 (groups) is refused.
        assert!(Msg::new(&[0x0b]).field().is_err());
    }

    #[test]
    fn a_zlib_blob_inflates_and_a_broken_one_does_not() {
        use std::io::Write;
        let content = b"hello, blob";
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(content).unwrap();
        let z = enc.finish().unwrap();
        let mut blob = vec![0x10];
        varint(content.len() as u64, &mut blob);
        blob.push(0x1a);
        varint(z.len() as u64, &mut blob);
        blob.extend_from_slice(&z);
        let mut out = Vec::new();
        inflate(&blob, &mut out).unwrap();
        assert_eq!(out, content);
        let n = blob.len();
        blob[n - 3] ^= 0xff;
        assert!(inflate(&blob, &mut out).is_err());
    }
}
