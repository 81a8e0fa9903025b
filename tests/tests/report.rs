//! `report.html`: the page's data, size and language; and, in headless Chromium
//! (skipped with a note when it is not installed; CI installs it), no script errors,
//! the expected features, distances equal to the engine's, a map that is drawn, at
//! every zoom step exactly the residences or H3 cells the data holds for the view, and
//! Chinese labels drawn as glyphs (CI installs fonts-noto-cjk).

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
    headless_env(bin, url, args, &[])
}

/// As [`headless`], with extra environment variables.
fn headless_env(bin: &Path, url: &str, args: &[&str], env: &[(&str, &Path)]) -> (String, String) {
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
        .envs(env.iter().map(|(k, v)| (*k, *v)))
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
        &["--dump-dom", "--window-size=1400,1000"],
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
    // 0.64 MB with one JSON row per feature; the binary columns keep it well under.
    assert!(size < 640_000, "report.html is {size} bytes");
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
    // The page's own Dijkstra (used for distances and isochrones on click) gives the
    // engine's nearest distances for 200 residences × 20 categories.
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
    // `site` prints the `analyze --sites` command that maps its result; it runs as is.
    let out = ok(
        d,
        &[
            "site",
            "--category",
            "kindergarten",
            "--count",
            "2",
            "--speed-kmh",
            "4.5",
            "--out",
            "m",
        ],
    );
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("map: livingcircle "))
        .unwrap_or_else(|| panic!("no map command in:\n{out}"));
    assert!(
        line.contains("--speed-kmh 4.5 --sites m/sites.geojson --out m"),
        "{line}"
    );
    ok(d, &line.split(' ').chain(["-q"]).collect::<Vec<_>>());
    let html = std::fs::read_to_string(d.join("m/report.html")).unwrap();
    let sites = json(&d.join("m/sites.geojson"));
    let gain = &sites["features"][1]["properties"]["gain_residents"];
    assert!(html.contains("\"rank\":2,") && html.contains(&format!("\"gain_residents\":{gain}")));
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
        3,
        "only the page's own scripts (data, columns, code)"
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

/// A residence of `residences.geojson` as the page places it.
struct Placed {
    /// Micro-degrees from the page's origin, on its grid of `step` micro-degrees.
    q: [f64; 2],
    lonlat: [f64; 2],
    snapped: bool,
    /// Per category key: met.
    ok: Vec<bool>,
}

fn placed(path: &Path, origin: [f64; 2], step: f64, keys: &[&str]) -> Vec<Placed> {
    json(path)["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            let lonlat = [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()];
            let grid = |v: f64, o: f64| ((v - o) * 1e6).round() / step;
            let p = &f["properties"];
            Placed {
                q: [
                    grid(lonlat[0], origin[0]).round() * step,
                    grid(lonlat[1], origin[1]).round() * step,
                ],
                lonlat,
                snapped: !p["edge"].is_null(),
                ok: keys
                    .iter()
                    .map(|k| p[format!("{k}_ok")].as_bool().unwrap())
                    .collect(),
            }
        })
        .collect()
}

/// A box `[west, south, east, north]` from the status.
fn bbox(v: &Value) -> [f64; 4] {
    let a = v.as_array().expect("a box");
    [0, 1, 2, 3].map(|i| a[i].as_f64().unwrap())
}

fn meets(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1]
}

/// The H3 cells at `res` holding snapped residences that pass `keep`, with their
/// outlines' boxes in micro-degrees from `origin` (rounded, as the page stores them).
fn cells(
    homes: &[Placed],
    res: u8,
    origin: [f64; 2],
    keep: impl Fn(&Placed) -> bool,
) -> Vec<[f64; 4]> {
    let res = h3o::Resolution::try_from(res).expect("a resolution");
    let set: std::collections::BTreeSet<h3o::CellIndex> = homes
        .iter()
        .filter(|h| h.snapped && keep(h))
        .map(|h| {
            h3o::LatLng::new(h.lonlat[1], h.lonlat[0])
                .expect("lat/lon")
                .to_cell(res)
        })
        .collect();
    set.iter()
        .map(|c| {
            let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for v in c.boundary().iter() {
                let x = ((v.lng() - origin[0]) * 1e6).round();
                let y = ((v.lat() - origin[1]) * 1e6).round();
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            b
        })
        .collect()
}

#[test]
fn every_zoom_step_draws_what_the_data_holds_for_the_view() {
    let dir = tmp();
    let d = dir.path();
    ok(d, &["analyze", "--out", "o", "-q"]);
    let Some(bin) = chromium() else { return };
    let report = d.join("o/report.html");
    // As it opens (every residence one by one: the bundled city is small), then with
    // the limits lowered so that the zoomed-out steps draw H3 cells and simplified
    // network levels.
    for (hash, want_cells, want_levels) in [
        ("zoomtest", false, false),
        ("zoomtest&points=300", true, false),
        ("zoomtest&points=300&edges=400", true, true),
    ] {
        let (_, st) = open_page(&bin, &report, hash);
        let origin = [
            st["origin"][0].as_f64().unwrap(),
            st["origin"][1].as_f64().unwrap(),
        ];
        let step = st["geom_step"].as_f64().unwrap();
        let keys: Vec<&str> = st["category_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let homes = placed(&d.join("o/residences.geojson"), origin, step, &keys);
        let steps = st["zoom"].as_array().expect("zoom steps");
        assert!(steps.len() >= 8, "{hash}: {} steps", steps.len());
        let (mut seen_points, mut seen_cells, mut seen_level) = (false, false, false);
        for (k, s) in steps.iter().enumerate() {
            let at = format!("{hash}, step {k}: {s}");
            // Drawn through the tile indexes = counted over all the data.
            assert_eq!(s["drawn"], s["all"], "{at}");
            let res = s["res"].as_u64().unwrap() as u8;
            let view = bbox(&s["box"]);
            if s["mode"] == "points" {
                seen_points = true;
                let pbox = bbox(&s["pbox"]);
                let want = homes
                    .iter()
                    .filter(|h| meets([h.q[0], h.q[1], h.q[0], h.q[1]], pbox))
                    .count();
                assert_eq!(s["drawn"]["homes"], want, "{at}");
                assert_eq!(s["drawn"]["cells"], 0, "{at}");
            } else {
                seen_cells = true;
                assert_eq!(s["drawn"]["homes"], 0, "{at}");
                let want = cells(&homes, res, origin, |_| true)
                    .into_iter()
                    .filter(|b| meets(*b, view))
                    .count();
                assert_eq!(s["drawn"]["cells"], want, "{at}");
            }
            // The gap layer: the cells at the same resolution where someone misses the
            // chosen category.
            let c = s["gap_cat"]
                .as_str()
                .unwrap()
                .parse::<usize>()
                .expect("a category");
            let want = cells(&homes, res, origin, |h| !h.ok[c])
                .into_iter()
                .filter(|b| meets(*b, view))
                .count();
            assert_eq!(s["drawn"]["gap_cells"], want, "{at}");
            seen_level |= s["net"] != "full";
        }
        assert!(seen_points, "{hash}: the last steps show residences");
        assert_eq!(seen_cells, want_cells, "{hash}: H3 cells when zoomed out");
        assert_eq!(seen_level, want_levels, "{hash}: simplified network");
    }
}

/// Whether the glyph strip of a screenshot shows four different Chinese glyphs, none
/// like the box drawn for a code point no font has.
fn glyphs_drawn(shot: &Path, strip: &Value) -> Result<(), String> {
    let (w, _, rgba) = decode_png(shot);
    let cells: Vec<Vec<bool>> = strip
        .as_array()
        .expect("the strip's cells")
        .iter()
        .map(|c| {
            let [x0, y0, cw, ch] = ["x", "y", "w", "h"].map(|k| c[k].as_f64().unwrap() as usize);
            let mut dark = Vec::with_capacity(cw * ch);
            for y in y0..y0 + ch {
                for x in x0..x0 + cw {
                    let p = &rgba[(y * w + x) * 4..(y * w + x) * 4 + 3];
                    dark.push(p.iter().map(|&v| u32::from(v)).sum::<u32>() < 3 * 128);
                }
            }
            dark
        })
        .collect();
    let (chinese, missing) = cells.split_at(4);
    let differ = |a: &[bool], b: &[bool]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    for (i, a) in chinese.iter().enumerate() {
        let ink = a.iter().filter(|&&b| b).count();
        if ink < 40 {
            return Err(format!("glyph {i} is blank ({ink} dark pixels)"));
        }
        let d = differ(a, &missing[0]);
        if d < 40 {
            return Err(format!(
                "glyph {i} is the missing-glyph box ({d} pixels differ)"
            ));
        }
        for (j, b) in chinese.iter().enumerate().skip(i + 1) {
            let d = differ(a, b);
            if d < 40 {
                return Err(format!(
                    "glyphs {i} and {j} are the same box ({d} pixels differ)"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn chinese_labels_render_as_glyphs_not_boxes() {
    let dir = tmp();
    let d = dir.path();
    ok(d, &["analyze", "--out", "o", "-q"]);
    let Some(bin) = chromium() else { return };
    let report = d.join("o/report.html");
    let (_, st) = open_page(&bin, &report, "glyphs");
    let strip = &st["glyphs"];
    let shoot = |name: &str, env: &[(&str, &Path)]| {
        let shot = d.join(name);
        let (_, err) = headless_env(
            &bin,
            &format!("file://{}#glyphs", report.display()),
            &[
                "--window-size=1400,1000",
                &format!("--screenshot={}", shot.display()),
            ],
            env,
        );
        no_console_errors(&err);
        shot
    };
    // With the machine's fonts (CI installs fonts-noto-cjk): real glyphs.
    let shot = shoot("fonts.png", &[]);
    if let Err(e) = glyphs_drawn(&shot, strip) {
        panic!(
            "Chinese text renders as boxes ({e}); install a CJK font (apt-get install fonts-noto-cjk)"
        );
    }
    // The same check fails when the only font has no Chinese glyphs.
    let latin = Path::new("/usr/share/fonts/truetype/dejavu");
    if !latin.is_dir() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: {} is absent; skipping the check without Chinese fonts",
            latin.display()
        );
        return;
    }
    let conf = d.join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig><dir>{}</dir><cachedir>{}</cachedir></fontconfig>\n",
            latin.display(),
            d.join("fc-cache").display()
        ),
    )
    .unwrap();
    let shot = shoot("latin-only.png", &[("FONTCONFIG_FILE", &conf)]);
    assert!(
        glyphs_drawn(&shot, strip).is_err(),
        "the check passes even without a Chinese font"
    );
}
