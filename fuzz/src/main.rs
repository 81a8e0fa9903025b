//! Mutation fuzzing of the readers on stable Rust: the PBF reader, the user-file
//! readers (CSV and GeoJSON) and the preset TOML.
//!
//! ```text
//! livingcircle-fuzz TARGET [--seconds N] [--seed N] [--out DIR]
//! ```
//!
//! Each round takes a seed input (the repository's fixtures and bundled files, plus
//! a few written here), applies 1–8 random mutations (bit flips, byte values at the
//! edges of their ranges, inserted, deleted, duplicated and truncated ranges, splices
//! with another seed, and for text targets tokens that readers trip over) and hands
//! the result to the reader through a file, as the command line does. A panic, an
//! abort or an input that takes longer than 10 s is a failure: the input is saved
//! in `--out` (default `target/fuzz-failures`) and the run exits non-zero after
//! printing its counts. Errors returned by the readers are the expected outcome.
//!
//! `pbf-blocks` mutates PBF files inside their compression: each seed is split into
//! its blobs, one to three blobs' decompressed blocks are mutated, and the file is
//! rebuilt with valid zlib streams and blob sizes, so the inputs reach the block
//! decoder (string tables, dense nodes, ways, relations) rather than stopping at a
//! broken zlib stream.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest time one input may take.
const HANG: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Pbf,
    PbfBlocks,
    PlacesCsv,
    PlacesGeojson,
    Preset,
}

impl Target {
    const ALL: [(&'static str, Target); 5] = [
        ("pbf", Target::Pbf),
        ("pbf-blocks", Target::PbfBlocks),
        ("places-csv", Target::PlacesCsv),
        ("places-geojson", Target::PlacesGeojson),
        ("preset", Target::Preset),
    ];

    fn ext(self) -> &'static str {
        match self {
            Target::Pbf | Target::PbfBlocks => "osm.pbf",
            Target::PlacesCsv => "csv",
            Target::PlacesGeojson => "geojson",
            Target::Preset => "toml",
        }
    }

    fn is_text(self) -> bool {
        !matches!(self, Target::Pbf | Target::PbfBlocks)
    }

    /// Runs the reader on the file; its errors are fine, and returned as text (which
    /// errors the inputs meet tells how deep the mutations go).
    fn run(self, path: &Path) -> Result<(), String> {
        let text = |e: &dyn std::error::Error| {
            let mut t = e.to_string();
            let mut src = e.source();
            while let Some(c) = src {
                t = format!("{t}: {c}");
                src = c.source();
            }
            t
        };
        match self {
            Target::Pbf | Target::PbfBlocks => {
                livingcircle_osm::read(path, &livingcircle_osm::ReadOptions::default())
                    .map(drop)
                    .map_err(|e| text(&e))
            }
            Target::PlacesCsv | Target::PlacesGeojson => {
                livingcircle_analysis::input::read_places(path)
                    .map(drop)
                    .map_err(|e| text(&e))
            }
            Target::Preset => {
                let t =
                    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
                livingcircle_analysis::Preset::parse(&t, "fuzz.toml")
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Seed inputs: files of the repository, and a few written here.
    fn seeds(self, root: &Path) -> Vec<Vec<u8>> {
        let files = |dir: &str, suffix: &str| -> Vec<Vec<u8>> {
            let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            v.sort();
            v.into_iter()
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .filter_map(|p| std::fs::read(p).ok())
                .collect()
        };
        let mut seeds = match self {
            // The fixtures: small files, many rounds a second.
            Target::Pbf | Target::PbfBlocks => files("data/fixtures", ".osm.pbf"),
            Target::PlacesCsv => files("fuzz/seeds", ".csv"),
            Target::PlacesGeojson => files("fuzz/seeds", ".geojson"),
            Target::Preset => files("data/presets", ".toml"),
        };
        if matches!(self, Target::Pbf | Target::PbfBlocks) {
            // One real city, for blocks of every kind.
            seeds.extend(std::fs::read(root.join("data/nanjing.osm.pbf")));
        }
        seeds
    }
}

/// Tokens that text readers trip over.
const TOKENS: &[&str] = &[
    "\"",
    ",",
    "\n",
    "\r\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    "=",
    "#",
    "'",
    "\\",
    "\u{0}",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "180.0000001",
    "-90.5",
    "99999999999999999999",
    "null",
    "true",
    "[]",
    "{}",
    "\"type\"",
    "\"Polygon\"",
    "\"MultiPolygon\"",
    "\"coordinates\"",
    "[[[0,0],[1,0],[0,0]]]",
    "lon",
    "lat",
    "population",
    "category",
    "id",
    "[[categories]]",
    "key = \"x\"",
    "minutes = 0",
    "minutes = -5",
    "tags = [\"=\"]",
    "tags = [\"&\"]",
    "level = 255",
    "ü",
    "幼儿园",
    "\u{feff}",
];

const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'0', b'9'];

struct Mutator {
    rng: fastrand::Rng,
    text: bool,
}

impl Mutator {
    fn range(&mut self, len: usize) -> (usize, usize) {
        if len == 0 {
            return (0, 0);
        }
        let a = self.rng.usize(0..len);
        let max = (len - a).min(if self.rng.bool() { 16 } else { 4096 });
        (a, a + self.rng.usize(0..=max))
    }

    fn mutate(&mut self, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        for _ in 0..self.rng.usize(1..=8) {
            let len = input.len();
            match self.rng.u8(0..10) {
                0 if len > 0 => {
                    let i = self.rng.usize(0..len);
                    input[i] ^= 1 << self.rng.u8(0..8);
                }
                1 if len > 0 => {
                    let i = self.rng.usize(0..len);
                    input[i] = INTERESTING[self.rng.usize(0..INTERESTING.len())];
                }
                2 => {
                    let i = self.rng.usize(0..=len);
                    let n = self.rng.usize(1..=8);
                    let bytes: Vec<u8> = (0..n).map(|_| self.rng.u8(..)).collect();
                    input.splice(i..i, bytes);
                }
                3 => {
                    let (a, b) = self.range(len);
                    input.drain(a..b);
                }
                4 => {
                    let (a, b) = self.range(len);
                    let copy = input[a..b].to_vec();
                    let i = self.rng.usize(0..=input.len());
                    input.splice(i..i, copy);
                }
                5 if len > 0 => {
                    input.truncate(self.rng.usize(0..len));
                }
                6 if !seeds.is_empty() => {
                    // Splice: this input's start, another seed's end.
                    let other = &seeds[self.rng.usize(0..seeds.len())];
                    let cut = self.rng.usize(0..=len);
                    let from = self.rng.usize(0..=other.len());
                    input.truncate(cut);
                    input.extend_from_slice(&other[from..]);
                }
                7 if len > 0 => {
                    // A 4-byte big-endian length (PBF blob headers) set to an extreme.
                    let i = self.rng.usize(0..len);
                    let v: u32 = match self.rng.u8(0..4) {
                        0 => 0,
                        1 => u32::MAX,
                        2 => 1 << 31,
                        _ => self.rng.u32(..),
                    };
                    for (k, b) in v.to_be_bytes().into_iter().enumerate() {
                        if let Some(x) = input.get_mut(i + k) {
                            *x = b;
                        }
                    }
                }
                _ if self.text => {
                    let t = TOKENS[self.rng.usize(0..TOKENS.len())].as_bytes();
                    let i = self.rng.usize(0..=len);
                    if self.rng.bool() {
                        input.splice(i..i, t.iter().copied());
                    } else {
                        let end = (i + t.len()).min(len);
                        input.splice(i..end, t.iter().copied());
                    }
                }
                _ => {}
            }
        }
    }
}

fn usage() -> ! {
    let names: Vec<&str> = Target::ALL.iter().map(|t| t.0).collect();
    eprintln!(
        "usage: livingcircle-fuzz TARGET [--seconds N] [--seed N] [--out DIR]\ntargets: {}",
        names.join(", ")
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else { usage() };
    let Some(&(_, target)) = Target::ALL.iter().find(|t| t.0 == name) else {
        usage()
    };
    let mut seconds = 60u64;
    let mut seed = 1u64;
    let mut out = PathBuf::from("target/fuzz-failures");
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--seconds" => seconds = value.parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = value.parse().unwrap_or_else(|_| usage()),
            "--out" => out = PathBuf::from(value),
            _ => usage(),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seeds = target.seeds(&root);
    if seeds.is_empty() {
        eprintln!("{name}: no seed inputs found under {}", root.display());
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join(format!("input.{}", target.ext()));

    // The watchdog: an input running longer than HANG is saved and the run aborts.
    let started = std::sync::Arc::new(AtomicU64::new(u64::MAX));
    let t0 = Instant::now();
    {
        let started = started.clone();
        let (file, out, name) = (file.clone(), out.clone(), name.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let s = started.load(Ordering::Relaxed);
                if s != u64::MAX && t0.elapsed().as_millis() as u64 - s > HANG.as_millis() as u64 {
                    let saved = save(
                        &out,
                        &name,
                        "hang",
                        &std::fs::read(&file).unwrap_or_default(),
                    );
                    eprintln!(
                        "{name}: an input ran longer than {HANG:?}: {}",
                        saved.display()
                    );
                    std::process::exit(1);
                }
            }
        });
    }
    // Panics are counted and their inputs saved; their messages stay on stderr.
    let mut m = Mutator {
        rng: fastrand::Rng::with_seed(seed),
        text: target.is_text(),
    };
    // For `pbf-blocks`: the seeds split into blobs, blocks decompressed.
    let framed: Vec<Vec<Frame>> = if target == Target::PbfBlocks {
        seeds.iter().filter_map(|s| frames(s)).collect()
    } else {
        Vec::new()
    };
    if target == Target::PbfBlocks && framed.is_empty() {
        eprintln!("{name}: no seed input splits into blobs");
        std::process::exit(2);
    }
    let (mut execs, mut failures, mut accepted) = (0u64, 0u64, 0u64);
    // Errors by their kind (the message without the file's path and numbers).
    let mut kinds: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let deadline = Duration::from_secs(seconds);
    while t0.elapsed() < deadline {
        let input = if target == Target::PbfBlocks {
            let mut f = framed[m.rng.usize(0..framed.len())].clone();
            let blocks: Vec<Vec<u8>> = framed.iter().flatten().map(|b| b.block.clone()).collect();
            for _ in 0..m.rng.usize(1..=3) {
                let k = m.rng.usize(0..f.len());
                m.mutate(&mut f[k].block, &blocks);
            }
            unframe(&f)
        } else {
            let mut input = seeds[m.rng.usize(0..seeds.len())].clone();
            m.mutate(&mut input, &seeds);
            input
        };
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(&input))
            .expect("writing the input");
        started.store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        let result = std::panic::catch_unwind(|| target.run(&file));
        started.store(u64::MAX, Ordering::Relaxed);
        execs += 1;
        match &result {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(e)) => *kinds.entry(error_kind(e, &file)).or_default() += 1,
            Err(_) => {}
        }
        if result.is_err() {
            failures += 1;
            let saved = save(&out, name, "panic", &input);
            eprintln!("{name}: panic on {}", saved.display());
        }
    }
    println!(
        "{name}: {execs} inputs in {:.0} s ({:.0}/s), {accepted} accepted by the reader, {failures} failures, seed {seed}, {} seed inputs",
        t0.elapsed().as_secs_f64(),
        execs as f64 / t0.elapsed().as_secs_f64(),
        seeds.len()
    );
    let mut kinds: Vec<(String, u64)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("{} kinds of error; the most common:", kinds.len());
    for (k, n) in kinds.iter().take(12) {
        println!("{n:>10}  {k}");
    }
    if failures > 0 {
        std::process::exit(1);
    }
}

/// An error message without the input's path, digits and anything quoted, cut to
/// 90 characters: errors of one kind read the same.
fn error_kind(e: &str, file: &Path) -> String {
    let e = e.replace(&*file.to_string_lossy(), "FILE");
    let mut out = String::new();
    let mut quoted = false;
    for c in e.chars() {
        if c == '`' || c == '"' {
            quoted = !quoted;
            out.push(c);
        } else if quoted {
        } else if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out.chars().take(90).collect()
}

/// Saves a failing input as `DIR/<target>-<kind>-<hash>` and returns its path.
fn save(dir: &Path, target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    // FNV-1a: a name that repeats for the same input.
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{target}-{kind}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

/// One blob of a PBF file: its type (`OSMHeader`, `OSMData`) and its block,
/// decompressed.
#[derive(Clone)]
struct Frame {
    kind: Vec<u8>,
    block: Vec<u8>,
}

/// A protobuf field: its number, and its varint value (`Ok`) or bytes (`Err`).
type Field<'a> = (u64, Result<u64, &'a [u8]>);

/// A protobuf message's fields.
fn fields(mut b: &[u8]) -> Option<Vec<Field<'_>>> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&x, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => out.push((key >> 3, Ok(varint(&mut b)?))),
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..n)?, b.get(n..)?);
                b = rest;
                out.push((key >> 3, Err(v)));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Splits a PBF file into blobs and decompresses each block (`None` when it is not
/// a well-formed PBF of raw or zlib blobs).
fn frames(file: &[u8]) -> Option<Vec<Frame>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let n = u32::from_be_bytes(file.get(at..at + 4)?.try_into().ok()?) as usize;
        let header = fields(file.get(at + 4..at + 4 + n)?)?;
        let kind = header.iter().find(|f| f.0 == 1)?.1.err()?.to_vec();
        let size = header.iter().find(|f| f.0 == 3)?.1.ok()? as usize;
        let blob = fields(file.get(at + 4 + n..at + 4 + n + size)?)?;
        let block = if let Some((_, Err(raw))) = blob.iter().find(|f| f.0 == 1) {
            raw.to_vec()
        } else {
            let z = blob.iter().find(|f| f.0 == 3)?.1.err()?;
            let mut v = Vec::new();
            flate2::read::ZlibDecoder::new(z).read_to_end(&mut v).ok()?;
            v
        };
        out.push(Frame { kind, block });
        at += 4 + n + size;
    }
    (!out.is_empty()).then_some(out)
}

/// A PBF file of `frames`: each block zlib-compressed, sizes right.
fn unframe(frames: &[Frame]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
    let mut out = Vec::new();
    for f in frames {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&f.block).expect("compressing into memory");
        let z = z.finish().expect("compressing into memory");
        let mut blob = Vec::new();
        varint(&mut blob, 2 << 3);
        varint(&mut blob, f.block.len() as u64);
        bytes(&mut blob, 3, &z);
        let mut header = Vec::new();
        bytes(&mut header, 1, &f.kind);
        varint(&mut header, 3 << 3);
        varint(&mut header, blob.len() as u64);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&blob);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splitting a PBF into blobs and rebuilding it reads back the same: the
    /// `pbf-blocks` target's unmutated inputs are the seeds themselves.
    #[test]
    fn blobs_rebuild_into_the_same_file_contents() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let seeds = Target::PbfBlocks.seeds(&root);
        assert!(seeds.len() > 3, "the fixtures and nanjing are seeds");
        let dir = tempfile::tempdir().unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            let f = frames(seed).unwrap_or_else(|| panic!("seed {i} splits into blobs"));
            let (a, b) = (dir.path().join("a.osm.pbf"), dir.path().join("b.osm.pbf"));
            std::fs::write(&a, seed).unwrap();
            std::fs::write(&b, unframe(&f)).unwrap();
            let opts = livingcircle_osm::ReadOptions::default();
            let (x, mut y) = (
                livingcircle_osm::read(&a, &opts).unwrap(),
                livingcircle_osm::read(&b, &opts).unwrap(),
            );
            // Compressed anew, the file's size differs; nothing else may.
            y.stats.file_bytes = x.stats.file_bytes;
            assert_eq!(
                format!("{:?}", x.stats),
                format!("{:?}", y.stats),
                "seed {i}"
            );
            assert_eq!(x.residences, y.residences, "seed {i}");
            assert_eq!(x.features, y.features, "seed {i}");
        }
    }
}
