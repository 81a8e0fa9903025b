//! Running the real binary in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file under `data/`.
pub(crate) fn data(rel: &str) -> PathBuf {
    root().join("data").join(rel)
}

/// `../shared/data` beside the repository, when present (CI has it).
pub(crate) fn shared_data() -> Option<PathBuf> {
    let p = root().join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        // Written straight to stderr (not `eprintln!`), so the test harness does not
        // capture it and the note shows in a normal `cargo test` run.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: ../shared/data is absent; skipping the tests on the shared extracts"
        );
        None
    }
}

/// Every `.osm.pbf` in `../shared/data`, sorted.
pub(crate) fn shared_extracts() -> Vec<PathBuf> {
    let Some(dir) = shared_data() else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable shared data")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".osm.pbf"))
        .collect();
    v.sort();
    v
}

/// Runs `livingcircle ARGS` in `dir`.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lc"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

/// Runs and requires success; returns stdout.
#[track_caller]
pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "livingcircle {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs and requires exit code 2 with one error line on stderr; returns stderr.
#[track_caller]
pub(crate) fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "livingcircle {args:?}: expected exit 2, stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    err
}

/// Parses a JSON file.
pub(crate) fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A temporary directory.
pub(crate) fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Files in a directory (names), sorted.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `PATH` as a string argument.
pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
