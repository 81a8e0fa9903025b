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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest time one input may take.
const HANG: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Pbf,
    PlacesCsv,
    PlacesGeojson,
    Preset,
}

impl Target {
    const ALL: [(&'static str, Target); 4] = [
        ("pbf", Target::Pbf),
        ("places-csv", Target::PlacesCsv),
        ("places-geojson", Target::PlacesGeojson),
        ("preset", Target::Preset),
    ];

    fn ext(self) -> &'static str {
        match self {
            Target::Pbf => "osm.pbf",
            Target::PlacesCsv => "csv",
            Target::PlacesGeojson => "geojson",
            Target::Preset => "toml",
        }
    }

    fn is_text(self) -> bool {
        self != Target::Pbf
    }

    /// Runs the reader on the file; its errors are fine.
    fn run(self, path: &Path) {
        match self {
            Target::Pbf => {
                let _ = livingcircle_osm::read(path, &livingcircle_osm::ReadOptions::default());
            }
            Target::PlacesCsv | Target::PlacesGeojson => {
                let _ = livingcircle_analysis::input::read_places(path);
            }
            Target::Preset => {
                let text =
                    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
                let _ = livingcircle_analysis::Preset::parse(&text, "fuzz.toml");
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
            Target::Pbf => files("data/fixtures", ".osm.pbf"),
            Target::PlacesCsv => files("fuzz/seeds", ".csv"),
            Target::PlacesGeojson => files("fuzz/seeds", ".geojson"),
            Target::Preset => files("data/presets", ".toml"),
        };
        if self == Target::Pbf {
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
    let (mut execs, mut failures) = (0u64, 0u64);
    let deadline = Duration::from_secs(seconds);
    while t0.elapsed() < deadline {
        let mut input = seeds[m.rng.usize(0..seeds.len())].clone();
        m.mutate(&mut input, &seeds);
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(&input))
            .expect("writing the input");
        started.store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        let ok = std::panic::catch_unwind(|| target.run(&file)).is_ok();
        started.store(u64::MAX, Ordering::Relaxed);
        execs += 1;
        if !ok {
            failures += 1;
            let saved = save(&out, name, "panic", &input);
            eprintln!("{name}: panic on {}", saved.display());
        }
    }
    println!(
        "{name}: {execs} inputs in {:.0} s ({:.0}/s), {failures} failures, seed {seed}, {} seed inputs",
        t0.elapsed().as_secs_f64(),
        execs as f64 / t0.elapsed().as_secs_f64(),
        seeds.len()
    );
    if failures > 0 {
        std::process::exit(1);
    }
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
