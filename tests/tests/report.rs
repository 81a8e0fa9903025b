//! `report.html`: the page's data, size and language; and, in headless Chromium
//! (skipped with a note when it is not installed; CI installs it), no script errors,
//! the expected features, distances equal to the engine's, and a map that is drawn.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{data, json, ok, s, tmp};

/// Debian's Chromium (or `$CHROMIUM`), if installed.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("LIVINGCIRCLE_REQUIRE_BROWSER").is_none(),
            "LIVINGCIRCLE_REQUIRE_BROWSER is set but chromium is not installed"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: chromium is not installed; skipping the headless browser checks of report.html (apt-get install chromium)"
        );
    }
    found
}

/// Runs headless Chromium with `args` on `url`; returns (stdout, stderr). Killed
/// after two minutes.
fn headless(bin: &Path, url: &str, args: &[&str]) -> (String, String) {
    let profile = tmp();
    // Output goes to files: a full pipe would block the browser.
    let out_path = profile.path().join("stdout.txt");
    let err_path = profile.path().join("stderr.txt");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("p").display()
        ))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned(),
        String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
    )
}

/// The page's status block after its scripts ran.
fn page_status(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"lc-status\"")
        .expect("the status block is in the DOM");
    let text = &dom[start..];
    let open = text.find('>').expect("tag end") + 1;
    let close = text.find("</pre>").expect("closed");
    let raw = text[open..close]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("status is not JSON ({e}): {raw}"))
}

/// Opens `page#hash` headless and returns its DOM and status block, after checking
/// that neither the console nor the page reported an error.
fn open_page(bin: &Path, page: &Path, hash: &str) -> (String, Value) {
    let (dom, err) = headless(
        bin,
        &format!("file://{}#{hash}", page.display()),
        &["--dump-dom"],
    );
    no_console_errors(&err);
    let st = page_status(&dom);
    assert_eq!(st["errors"], serde_json::json!([]), "{st}");
    (dom, st)
}

fn no_console_errors(stderr: &str) {
    let bad: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(bad.is_empty(), "console errors:\n{}", bad.join("\n"));
}

fn features(path: &Path) -> usize {
    json(path)["features"].as_array().expect("features").len()
}

#[test]
fn bundled_city_report_opens_cleanly_in_a_browser() {
    let dir = tmp();
    let d = dir.path();
    ok(d, &["analyze", "--out", "o", "-q"]);
    let report = d.join("o/report.html");
    let size = std::fs::metadata(&report).expect("report.html").len();
    assert!(size < 5 << 20, "report.html is {size} bytes");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<html lang=\"zh\">"),
        "gb50180 defaults to Chinese"
    );
    assert!(html.contains("OpenStreetMap</a> contributors"));
    assert!(!html.contains("<script src") && !html.contains("<link rel=\"stylesheet\""));

    let Some(bin) = chromium() else { return };
    let url = format!("file://{}", report.display());
    let (_, st) = open_page(&bin, &report, "selfcheck");
    assert_eq!(st["ready"], true);
    assert_eq!(
        st["residences"].as_u64().unwrap() as usize,
        features(&d.join("o/residences.geojson"))
    );
    assert_eq!(
        st["gaps"].as_u64().unwrap() as usize,
        features(&d.join("o/gaps.geojson"))
    );
    // The page's own Dijkstra (used for isochrones on click) gives the engine's
    // nearest distances for 200 residences × 20 categories.
    assert!(st["self_check"]["checked"].as_u64().unwrap() >= 200, "{st}");
    assert_eq!(st["self_check"]["mismatches"], 0, "{st}");

    // A residence selected (as a click does): its isochrone is drawn; the map is not blank.
    let shot = d.join("shot.png");
    let (_, err) = headless(
        &bin,
        &format!("{url}#home=100"),
        &[
            "--window-size=1400,1000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    no_console_errors(&err);
    let (w, h, rgba) = decode_png(&shot);
    // The map fills the left part of the page below the header.
    let (x0, x1, y0, y1) = (40, (w * 2 / 3).min(1000), 200, (h - 300).min(750));
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    let mut total = 0usize;
    for y in (y0..y1).step_by(3) {
        for x in (x0..x1).step_by(3) {
            let p = &rgba[(y * w + x) * 4..(y * w + x) * 4 + 3];
            colours.insert([p[0] / 8, p[1] / 8, p[2] / 8]);
            total += 1;
            if p.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 235 {
                inked += 1;
            }
        }
    }
    assert!(
        colours.len() > 40,
        "only {} colours in the map area",
        colours.len()
    );
    assert!(
        inked * 10 > total,
        "map area mostly blank: {inked} of {total} samples drawn"
    );
    let (_, st) = open_page(&bin, &report, "home=100");
    assert_eq!(st["selected"]["iso_drawn"], true, "{st}");
}

fn decode_png(path: &Path) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => buf[..info.buffer_size()].to_vec(),
        png::ColorType::Rgb => buf[..info.buffer_size()]
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width as usize, info.height as usize, rgba)
}

#[test]
fn nanjing_report_in_chinese_shows_chinese_category_names() {
    let dir = tmp();
    let d = dir.path();
    let nanjing = data("nanjing.osm.pbf");
    ok(
        d,
        &[
            "analyze",
            "--osm",
            s(&nanjing),
            "--lang",
            "zh",
            "--out",
            "o",
            "-q",
        ],
    );
    let html = std::fs::read_to_string(d.join("o/report.html")).unwrap();
    assert!(html.contains("<html lang=\"zh\">"));
    assert!(
        html.contains("幼儿园"),
        "the kindergarten's Chinese name is in the page"
    );
    let Some(bin) = chromium() else { return };
    let (dom, st) = open_page(&bin, &d.join("o/report.html"), "selfcheck");
    let names: Vec<&str> = st["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"幼儿园") && names.contains(&"社区卫生服务站"),
        "{names:?}"
    );
    // The page's interface is Chinese too.
    assert!(dom.contains("步行路网"), "Chinese interface strings");
    assert!(st["self_check"]["checked"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(st["self_check"]["mismatches"], 0, "{st}");
}

#[test]
fn report_language_options_sites_and_opt_out() {
    let dir = tmp();
    let d = dir.path();
    // The 15-minute city preset defaults to English; --no-report skips the file.
    ok(d, &["analyze", "--preset", "15min", "--out", "en", "-q"]);
    let html = std::fs::read_to_string(d.join("en/report.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    ok(d, &["analyze", "--no-report", "--out", "none", "-q"]);
    assert!(!d.join("none/report.html").exists());
    assert!(d.join("none/residences.geojson").exists());
    // Proposed sites from `site` appear in the page's data.
    ok(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "3",
            "--out",
            "s",
            "-q",
        ],
    );
    ok(
        d,
        &[
            "analyze",
            "--sites",
            "s/sites.geojson",
            "--lang",
            "en",
            "--out",
            "w",
            "-q",
        ],
    );
    let html = std::fs::read_to_string(d.join("w/report.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    let sites = json(&d.join("s/sites.geojson"));
    let gain = &sites["features"][0]["properties"]["gain_residents"];
    assert!(
        html.contains(&format!("\"gain_residents\":{gain}")),
        "the first site's gain is in the page"
    );
    // A file that is not a sites layer is one clear error.
    std::fs::write(d.join("bad.geojson"), "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[11.5,48.1]},\"properties\":{}}]}").unwrap();
    let err = crate::util::fails(d, &["analyze", "--sites", "bad.geojson", "--out", "b"]);
    assert!(
        err.contains("bad.geojson") && err.contains("category"),
        "{err}"
    );
    // Sites of a category the preset does not have: named, with the valid keys.
    let other = std::fs::read_to_string(d.join("s/sites.geojson"))
        .unwrap()
        .replace("\"category\":\"", "\"category\":\"not_a_key_");
    std::fs::write(d.join("other.geojson"), other).unwrap();
    let err = crate::util::fails(d, &["analyze", "--sites", "other.geojson", "--out", "c"]);
    assert!(
        err.contains("other.geojson") && err.contains("not_a_key_") && err.contains("valid: "),
        "{err}"
    );
    assert!(
        crate::util::listing(&d.join("c")).is_empty(),
        "no output at all"
    );
}

#[test]
fn hostile_names_cannot_break_the_page() {
    let dir = tmp();
    let d = dir.path();
    std::fs::write(
        d.join("homes.csv"),
        "lon,lat,population,name\n11.5755,48.1372,10,a <!--<script> b\n11.5800,48.1400,5,</script><b>x\n",
    )
    .unwrap();
    ok(
        d,
        &["analyze", "--residences", "homes.csv", "--out", "o", "-q"],
    );
    let html = std::fs::read_to_string(d.join("o/report.html")).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own scripts"
    );
    let Some(bin) = chromium() else { return };
    let (dom, st) = open_page(&bin, &d.join("o/report.html"), "home=0");
    assert_eq!(st["ready"], true, "{st}");
    assert_eq!(st["residences"], 2);
    // The name is shown as text in the info panel.
    assert!(
        dom.contains("a &lt;!--&lt;script&gt; b"),
        "escaped name in the panel"
    );
}

#[test]
fn progress_is_hidden_without_a_terminal() {
    // The tests' stderr is a pipe, as in scripts and CI: no bars, no escape codes.
    let dir = tmp();
    for args in [
        &["analyze", "--out", "a"][..],
        &["isochrones", "--meters", "300", "--out", "i.geojson"][..],
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "2",
            "--out",
            "s",
        ][..],
    ] {
        let out = crate::util::run(dir.path(), args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn no_arguments_prints_a_short_help_with_examples() {
    let dir = tmp();
    let out = ok(dir.path(), &[]);
    assert!(out.contains("Examples:"), "{out}");
    assert_eq!(out.matches("\n  livingcircle ").count(), 3, "{out}");
    assert!(out.lines().count() < 25);
}
