//! Bad input: one line on stderr naming the file and the problem, exit 2, no panic,
//! no partial output.

use crate::util::{data, fails, s, tmp};

fn graph_fails(file: &std::path::Path, expect: &str) {
    let dir = tmp();
    let err = fails(dir.path(), &["graph", "--osm", s(file), "--out", "g"]);
    assert!(
        err.contains(s(file)) || err.contains(&*file.file_name().unwrap().to_string_lossy()),
        "{err}"
    );
    assert!(err.contains(expect), "expected `{expect}` in: {err}");
    // The cause is said once (not again as a chained source).
    let said = err.replace(s(file), "").matches(expect).count();
    assert_eq!(said, 1, "said once: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let g = dir.path().join("g");
    if g.exists() {
        assert!(
            crate::util::listing(&g).is_empty(),
            "no partial output: {:?}",
            crate::util::listing(&g)
        );
    }
}

#[test]
fn missing_file() {
    let d = tmp();
    graph_fails(&d.path().join("nope.osm.pbf"), "No such file");
}

#[test]
fn directory() {
    let d = tmp();
    graph_fails(d.path(), "is a directory");
}

#[test]
fn empty_file() {
    let d = tmp();
    let p = d.path().join("empty.osm.pbf");
    std::fs::write(&p, b"").unwrap();
    graph_fails(&p, "empty");
}

#[test]
fn random_bytes() {
    let d = tmp();
    let p = d.path().join("random.osm.pbf");
    // A fixed pseudo-random sequence (xorshift), not the clock.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&p, bytes).unwrap();
    graph_fails(&p, "not a valid .osm.pbf");
}

#[test]
fn truncated_pbf() {
    let d = tmp();
    let p = d.path().join("truncated.osm.pbf");
    let full = std::fs::read(data("munchen.osm.pbf")).unwrap();
    std::fs::write(&p, &full[..full.len() / 2]).unwrap();
    graph_fails(&p, "not a valid .osm.pbf");
}

#[test]
fn text_file_is_not_a_pbf() {
    let d = tmp();
    let p = d.path().join("x.osm.pbf");
    std::fs::write(&p, b"<osm version=\"0.6\"></osm>\n").unwrap();
    graph_fails(&p, "not a valid .osm.pbf");
}

#[test]
fn no_walkable_ways() {
    // A valid extract holding one building and one motorway without foot=yes.
    graph_fails(&data("fixtures/no_walkable.osm.pbf"), "no walkable ways");
}

#[test]
fn unwritable_out() {
    let d = tmp();
    let blocker = d.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = fails(d.path(), &["graph", "--out", "file/sub"]);
    assert!(err.contains("file/sub"), "{err}");
    let err = fails(d.path(), &["analyze", "--out", "file"]);
    assert!(
        err.contains("file") && err.contains("not a directory"),
        "{err}"
    );
}

#[test]
fn unknown_option_and_bad_values() {
    let d = tmp();
    let out = crate::util::run(d.path(), &["graph", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = crate::util::run(d.path(), &["analyze", "--speed-kmh", "-3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = fails(d.path(), &["analyze", "--preset", "nonsense", "--out", "o"]);
    assert!(err.contains("gb50180"), "{err}");
    let err = fails(d.path(), &["bench", "--sources", "many"]);
    assert!(err.contains("--sources"), "{err}");
    // An H3 resolution outside 0-15 is refused, not taken as 9.
    for res in ["16", "255", "nine"] {
        let err = fails(d.path(), &["analyze", "--hex-res", res, "--out", "o"]);
        assert!(err.contains("--hex-res") && err.contains("0-15"), "{err}");
    }
    assert!(!d.path().join("o").exists());
}

#[test]
fn bad_user_files_name_file_and_row() {
    let d = tmp();
    std::fs::write(d.path().join("r.csv"), "lon,lat\n11.57,48.14\n11.57,95\n").unwrap();
    let err = fails(
        d.path(),
        &["analyze", "--residences", "r.csv", "--out", "o"],
    );
    assert!(
        err.contains("r.csv, row 3") && err.contains("outside"),
        "{err}"
    );
    std::fs::write(
        d.path().join("f.csv"),
        "lon,lat,category\n11.57,48.14,zoo\n",
    )
    .unwrap();
    let err = fails(
        d.path(),
        &["analyze", "--facilities", "f.csv", "--out", "o"],
    );
    assert!(err.contains("f.csv, row 2") && err.contains("zoo"), "{err}");
    assert!(!d.path().join("o/residences.geojson").exists());
    std::fs::write(
        d.path().join("p.toml"),
        "name = \"x\"\n[[category]]\nkey = \"a\"\nname = \"A\"\ntags = [\"amenity=x\"]\n",
    )
    .unwrap();
    let err = fails(d.path(), &["analyze", "--preset", "p.toml", "--out", "o"]);
    assert!(err.contains("p.toml:2") && err.contains("max_m"), "{err}");
}

#[test]
fn closed_stdout_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    for args in [
        &["presets"][..],
        &["presets", "gb50180"][..],
        &["graph", "--out", "g", "--json"][..],
    ] {
        let d = tmp();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lc"))
            .args(args)
            .current_dir(d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the program writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn memory_budget_too_small_stops_before_reading() {
    let d = tmp();
    let osm = data("city.osm.pbf");
    let err = fails(
        d.path(),
        &[
            "analyze",
            "--osm",
            s(&osm),
            "--max-memory",
            "1K",
            "--out",
            "o",
        ],
    );
    assert!(err.contains("city.osm.pbf"), "{err}");
    assert!(err.contains("--max-memory"), "{err}");
    let o = d.path().join("o");
    assert!(
        !o.exists() || crate::util::listing(&o).is_empty(),
        "nothing written"
    );
    let err = fails(
        d.path(),
        &["graph", "--osm", s(&osm), "--max-memory", "lots"],
    );
    assert!(
        err.contains("--max-memory") || err.contains("lots"),
        "{err}"
    );
}

/// Paths that are not UTF-8 (legal on Unix) are taken as given: the run writes
/// into them, and a missing input is named in one line (no panic, exit 2).
#[cfg(unix)]
#[test]
fn non_utf8_paths_are_paths() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let d = tmp();
    let out_dir = OsStr::from_bytes(b"out\xff");
    let run = |args: &[&OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lc"))
            .args(args)
            .current_dir(d.path())
            .output()
            .expect("the binary runs")
    };
    let osm = data("munchen.osm.pbf");
    let o = run(&[
        OsStr::new("-q"),
        OsStr::new("analyze"),
        OsStr::new("--osm"),
        osm.as_os_str(),
        OsStr::new("--no-report"),
        OsStr::new("--out"),
        out_dir,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(d.path().join(out_dir).join("residences.geojson").is_file());
    let mut missing = osm.into_os_string();
    missing.push(OsStr::from_bytes(b"\xff"));
    let o = run(&[
        OsStr::new("graph"),
        OsStr::new("--osm"),
        &missing,
        OsStr::new("--out"),
        OsStr::new("g"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("munchen.osm.pbf") && err.contains("No such file"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
