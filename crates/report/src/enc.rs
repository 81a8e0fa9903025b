//! Compact binary columns and the base64 stream that carries them into the page.
//!
//! A column is a run of LEB128 varints (`u`: unsigned; `s`: zigzag-signed; `z`:
//! zigzag-signed steps that the page sums up, for coordinates in a spatial order) or
//! raw bytes (`b`: bit planes, bit `i` of a plane in byte `i / 8`, least significant
//! first). All columns are written one after the other into one base64 stream; the
//! page finds each by the byte offset, length and value count listed in the data
//! block.

use std::io::{self, Write};

use serde_json::{Value, json};

/// How the page reads a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Unsigned varints.
    U,
    /// Zigzag varints.
    S,
    /// Zigzag varint steps from the previous value (the first from 0).
    Z,
    /// Raw bytes.
    B,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::U => "u",
            Kind::S => "s",
            Kind::Z => "z",
            Kind::B => "b",
        }
    }
}

/// One column being built.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    kind: Kind,
    bytes: Vec<u8>,
    count: u64,
    last: i64,
}

impl Col {
    pub(crate) fn new(kind: Kind) -> Col {
        Col {
            kind,
            bytes: Vec::new(),
            count: 0,
            last: 0,
        }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
        self.count += 1;
    }

    /// Appends a value: as is (`u`), zigzagged (`s`) or as the step from the last
    /// value (`z`).
    pub(crate) fn push(&mut self, v: i64) {
        match self.kind {
            Kind::U => {
                debug_assert!(v >= 0);
                self.varint(v as u64);
            }
            Kind::S => self.varint(zigzag(v)),
            Kind::Z => {
                let step = v - self.last;
                self.last = v;
                self.varint(zigzag(step));
            }
            Kind::B => unreachable!("bit columns take bytes"),
        }
    }

    /// A column of raw bytes.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Col {
        Col {
            kind: Kind::B,
            count: bytes.len() as u64,
            bytes,
            last: 0,
        }
    }

    /// Values pushed.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// A growable bit plane.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bits {
    bytes: Vec<u8>,
    len: u64,
}

impl Bits {
    pub(crate) fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            *self.bytes.last_mut().expect("a byte was pushed") |= 1 << (self.len % 8);
        }
        self.len += 1;
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Appends the plane as run lengths to a `u` column: alternately clear and set
    /// bits, starting with clear ones (a first run may be 0).
    pub(crate) fn push_runs(&self, col: &mut Col) {
        let mut bit = false;
        let mut run = 0i64;
        for i in 0..self.len {
            if ((self.bytes[(i / 8) as usize] >> (i % 8)) & 1 == 1) != bit {
                col.push(run);
                bit = !bit;
                run = 0;
            }
            run += 1;
        }
        col.push(run);
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A stream of bits, most significant first within each byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitStream {
    bytes: Vec<u8>,
    len: u64,
}

impl BitStream {
    fn bit(&mut self, b: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b {
            *self.bytes.last_mut().expect("a byte was pushed") |= 0x80 >> (self.len % 8);
        }
        self.len += 1;
    }

    /// `v` in `width` bits, most significant first.
    pub(crate) fn put(&mut self, v: u64, width: u32) {
        debug_assert!(width == 64 || v >> width == 0);
        for i in (0..width).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// `v` as an Exp-Golomb code of order `k`: `v + 2^k` in `n` bits, after `n - k - 1`
    /// zeros (small values short, any value possible).
    pub(crate) fn exp_golomb(&mut self, v: u64, k: u32) {
        let w = v + (1 << k);
        let n = 64 - w.leading_zeros();
        self.put(0, n - k - 1);
        self.put(w, n);
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 over a writer, in bounded pieces; `finish` writes the padding.
pub(crate) struct Base64<'w, W: Write + ?Sized> {
    out: &'w mut W,
    carry: [u8; 3],
    carried: usize,
    buf: Vec<u8>,
    written: u64,
}

impl<'w, W: Write + ?Sized> Base64<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        Base64 {
            out,
            carry: [0; 3],
            carried: 0,
            buf: Vec::with_capacity(1 << 16),
            written: 0,
        }
    }

    fn quad(&mut self, b: [u8; 3]) {
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        self.buf.extend([
            B64[(n >> 18) as usize & 63],
            B64[(n >> 12) as usize & 63],
            B64[(n >> 6) as usize & 63],
            B64[n as usize & 63],
        ]);
    }

    fn drain(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Encodes `data`.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.written += data.len() as u64;
        while self.carried > 0 && self.carried < 3 && !data.is_empty() {
            self.carry[self.carried] = data[0];
            self.carried += 1;
            data = &data[1..];
        }
        if self.carried == 3 {
            self.quad(self.carry);
            self.carried = 0;
        }
        let mut chunks = data.chunks_exact(3);
        for c in &mut chunks {
            self.quad([c[0], c[1], c[2]]);
            if self.buf.len() >= 1 << 16 {
                self.drain()?;
            }
        }
        for &b in chunks.remainder() {
            self.carry[self.carried] = b;
            self.carried += 1;
        }
        Ok(())
    }

    /// Bytes encoded so far.
    pub(crate) fn position(&self) -> u64 {
        self.written
    }

    /// Pads the last group and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.carried > 0 {
            let mut b = [0u8; 3];
            b[..self.carried].copy_from_slice(&self.carry[..self.carried]);
            self.quad(b);
            let keep = self.buf.len() - (3 - self.carried);
            self.buf.truncate(keep);
            self.buf.extend(std::iter::repeat_n(b'=', 3 - self.carried));
        }
        self.drain()
    }
}

/// Columns written into one base64 stream, with their directory for the page.
pub(crate) struct Blob<'w, W: Write + ?Sized> {
    b64: Base64<'w, W>,
    dir: serde_json::Map<String, Value>,
}

impl<'w, W: Write + ?Sized> Blob<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        Blob {
            b64: Base64::new(out),
            dir: serde_json::Map::new(),
        }
    }

    /// Writes a column under `name` (dropping it).
    pub(crate) fn put(&mut self, name: &str, col: Col) -> io::Result<()> {
        let offset = self.b64.position();
        self.b64.write(&col.bytes)?;
        self.dir.insert(
            name.to_owned(),
            json!({ "kind": col.kind.code(), "offset": offset, "len": col.bytes.len(), "count": col.count }),
        );
        Ok(())
    }

    /// Pads the stream; returns the directory and the bytes encoded.
    pub(crate) fn finish(self) -> io::Result<(Value, u64)> {
        let n = self.b64.position();
        self.b64.finish()?;
        Ok((Value::Object(self.dir), n))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes base64 (test helper).
    pub(crate) fn unbase64(s: &[u8]) -> Vec<u8> {
        let val = |c: u8| B64.iter().position(|&b| b == c).map(|p| p as u32);
        let mut out = Vec::new();
        for q in s.chunks(4) {
            let v: Vec<u32> = q.iter().filter_map(|&c| val(c)).collect();
            let n = v.iter().fold(0u32, |a, &x| (a << 6) | x) << (6 * (4 - v.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend(&bytes[..v.len().saturating_sub(1)]);
        }
        out
    }

    /// Reads `count` values of a column (test helper, the page's decoder in Rust).
    pub(crate) fn read(bytes: &[u8], kind: &str, count: usize) -> Vec<i64> {
        if kind == "b" {
            return bytes.iter().map(|&b| i64::from(b)).collect();
        }
        let mut out = Vec::with_capacity(count);
        let mut p = 0;
        let mut acc = 0i64;
        for _ in 0..count {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = bytes[p];
                p += 1;
                v |= u64::from(b & 127) << shift;
                shift += 7;
                if b < 128 {
                    break;
                }
            }
            let s = ((v >> 1) as i64) ^ -((v & 1) as i64);
            out.push(match kind {
                "u" => v as i64,
                "s" => s,
                _ => {
                    acc += s;
                    acc
                }
            });
        }
        assert_eq!(p, bytes.len(), "the column holds exactly `count` values");
        out
    }

    #[test]
    fn varints_and_base64_round_trip() {
        let mut out = Vec::new();
        let mut blob = Blob::new(&mut out);
        let mut u = Col::new(Kind::U);
        let mut s = Col::new(Kind::S);
        let mut z = Col::new(Kind::Z);
        let vals = [0i64, 1, 127, 128, 300, 16_384, u32::MAX as i64, 1 << 40];
        for &v in &vals {
            u.push(v);
            s.push(-v);
            z.push(v);
        }
        let mut bits = Bits::default();
        for i in 0..11 {
            bits.push(i % 3 == 0);
        }
        blob.put("u", u).unwrap();
        blob.put("s", s).unwrap();
        blob.put("z", z).unwrap();
        let mut runs = Col::new(Kind::U);
        bits.push_runs(&mut runs);
        Bits::default().push_runs(&mut runs);
        blob.put("runs", runs).unwrap();
        blob.put("b", Col::from_bytes(bits.into_bytes())).unwrap();
        let (dir, n) = blob.finish().unwrap();
        assert_eq!(out.len() as u64, n.div_ceil(3) * 4);
        let raw = unbase64(&out);
        assert_eq!(raw.len() as u64, n);
        let col = |name: &str| {
            let d = &dir[name];
            let o = d["offset"].as_u64().unwrap() as usize;
            let l = d["len"].as_u64().unwrap() as usize;
            read(
                &raw[o..o + l],
                d["kind"].as_str().unwrap(),
                d["count"].as_u64().unwrap() as usize,
            )
        };
        assert_eq!(col("u"), vals);
        assert_eq!(col("s"), vals.map(|v| -v));
        assert_eq!(col("z"), vals);
        assert_eq!(col("b"), [0b0100_1001, 0b0000_0010]);
        // 1 0 0 1 0 0 1 0 0 1 0, then an empty plane.
        let mut bs = BitStream::default();
        bs.put(5, 3);
        bs.exp_golomb(0, 2);
        bs.exp_golomb(9, 2);
        bs.put(1, 1);
        // 101 | 100 | 0 1101 | 1, padded.
        assert_eq!(bs.into_bytes(), [0b1011_0001, 0b1011_0000]);
        assert_eq!(col("runs"), [0, 1, 2, 1, 2, 1, 2, 1, 1, 0]);
        // Every remainder length pads correctly.
        for len in 0..7 {
            let mut o = Vec::new();
            let mut b = Base64::new(&mut o);
            let data: Vec<u8> = (0..len).map(|i| i as u8 * 37).collect();
            b.write(&data[..len / 2]).unwrap();
            b.write(&data[len / 2..]).unwrap();
            b.finish().unwrap();
            assert_eq!(unbase64(&o), data, "{len}");
            assert_eq!(o.len(), len.div_ceil(3) * 4);
        }
    }
}
