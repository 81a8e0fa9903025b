/*!
One self-contained HTML file that shows an analysis at a glance, offline: the street
network drawn as the base map (no tile server), residences coloured by how many
required categories they meet, switchable gap hexagons and facilities per category,
a click on a residence for its distances and its 5/10/15-minute isochrone, coverage
charts, distance histograms, the worst gaps and, when given, proposed sites.

Everything is inlined: the page's own canvas/SVG script and styles
(`report.js`, `report.css`, embedded at build time) and the data as one JSON block.
No third-party code is included.

Coordinates are stored as integers (micro-degrees from the area's south-west corner),
which keeps the bundled city's report near 0.6 MB; size grows linearly with edges,
residences and gap cells (see [`Report::html`]).

# Example
```
use livingcircle_report::Lang;
assert_eq!(Lang::default_for("builtin:gb50180"), Lang::Zh);
assert_eq!(Lang::default_for("builtin:15min"), Lang::En);
```
*/

use geo::{Coord, LineString, SimplifyIdx};
use livingcircle_analysis::{Analysis, Facility, Home, HomeResults, Preset, r1};
use livingcircle_graph::WalkGraph;
use serde_json::{Value, json};

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Chinese for the Chinese standards (gb50180, complete-community), else English.
    pub fn default_for(preset_origin: &str) -> Lang {
        match preset_origin {
            "builtin:gb50180" | "builtin:complete-community" => Lang::Zh,
            _ => Lang::En,
        }
    }

    /// `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// A proposed site (from `sites.geojson`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedSite {
    /// `[lon, lat]`.
    pub lonlat: [f64; 2],
    /// Category key.
    pub category: String,
    /// 1 for the first pick.
    pub rank: u32,
    /// Display name.
    pub name: Option<String>,
    /// Residences it newly covers.
    pub gain_residents: u64,
    /// People it newly covers.
    pub gain_population: f64,
    /// Population covered after this pick, %.
    pub covered_after_pct: Option<f64>,
}

/// What the report shows.
pub struct Report<'a> {
    /// Page language.
    pub lang: Lang,
    /// The extract's file name (title).
    pub city: String,
    /// The walking graph.
    pub graph: &'a WalkGraph,
    /// The preset.
    pub preset: &'a Preset,
    /// Residences, in the analysis' order.
    pub homes: &'a [Home],
    /// Facilities, in the analysis' order.
    pub facilities: &'a [Facility],
    /// The analysis.
    pub analysis: &'a Analysis,
    /// Every residence's distances (from the same analysis).
    pub results: &'a HomeResults,
    /// Buffer (m) of the isochrones drawn on click.
    pub buffer_m: f64,
    /// Proposed sites, if any.
    pub sites: Vec<ProposedSite>,
    /// The analysis' `summary.json`: the page shows its `tool`, `input`,
    /// `parameters`, `counts`, `categories` and `levels` as they are.
    pub summary: &'a Value,
    /// The command line that produced it.
    pub command: String,
}

/// Douglas-Peucker tolerance of the drawn network (m): invisible at street zoom, and
/// it drops most vertices of finely mapped curves.
const SIMPLIFY_M: f64 = 1.0;

/// Micro-degree integer grid anchored at `origin`.
struct Grid {
    origin: [f64; 2],
}

impl Grid {
    fn xy(&self, p: [f64; 2]) -> [i64; 2] {
        [
            ((p[0] - self.origin[0]) * 1e6).round() as i64,
            ((p[1] - self.origin[1]) * 1e6).round() as i64,
        ]
    }
}

impl Report<'_> {
    /// The data block the page reads (also used by tests).
    pub fn data(&self) -> Value {
        let g = self.graph;
        let a = self.analysis;
        let mut west = f64::MAX;
        let mut south = f64::MAX;
        for n in 0..g.node_count() as u32 {
            let p = g.node_lonlat(n);
            west = west.min(p[0]);
            south = south.min(p[1]);
        }
        for h in self.homes {
            west = west.min(h.lonlat[0]);
            south = south.min(h.lonlat[1]);
        }
        if !west.is_finite() {
            (west, south) = (0.0, 0.0);
        }
        let grid = Grid {
            origin: [west, south],
        };
        // A polyline as its first point and then steps between points (short numbers).
        let deltas = |pts: &mut dyn Iterator<Item = [f64; 2]>| -> Vec<i64> {
            let mut out = Vec::new();
            let mut last = [0i64, 0];
            for p in pts {
                let q = grid.xy(p);
                out.push(q[0] - last[0]);
                out.push(q[1] - last[1]);
                last = q;
            }
            out
        };

        // Network: per edge u, v, length (mm), one-way flag, geometry (simplified for
        // display by Douglas-Peucker at SIMPLIFY_M, delta-encoded).
        let edges: Vec<Value> = (0..g.edge_count() as u32)
            .map(|e| {
                let ed = g.edge(e);
                let ll = g.edge_lonlat(e);
                let line: LineString<f64> = g
                    .edge_xy(e)
                    .iter()
                    .map(|p| Coord { x: p[0], y: p[1] })
                    .collect();
                let keep = line.simplify_idx(SIMPLIFY_M);
                json!([
                    ed.u,
                    ed.v,
                    ed.length_mm,
                    u8::from(ed.oneway),
                    deltas(&mut keep.iter().map(|&i| ll[i]))
                ])
            })
            .collect();
        // Residences: x, y, population, met, bit mask of the categories met, edge,
        // offset_mm, leg_mm, then the distance (0.1 m, rounded) to the nearest
        // facility of each category (-1: none within the search). Unsnapped
        // residences have edge -1.
        let rows = self.results.rows(a);
        let ncat = self.preset.categories.len();
        let homes: Vec<Value> = self
            .homes
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let [x, y] = grid.xy(h.lonlat);
                let (mut met, mut mask) = (0u32, 0u64);
                for c in 0..ncat {
                    if rows.ok(i, c) {
                        met += 1;
                        // Bit masks stay exact in JavaScript numbers up to 53 categories.
                        if c < 53 {
                            mask |= 1 << c;
                        }
                    }
                }
                let mut row = Vec::with_capacity(8 + ncat);
                row.extend([
                    json!(x),
                    json!(y),
                    json!(r1(h.population)),
                    json!(met),
                    json!(mask),
                ]);
                match rows.snap(i) {
                    Some(s) => {
                        row.push(json!(s.edge));
                        row.push(json!(s.offset_mm));
                        row.push(json!(s.leg_mm()));
                    }
                    None => row.extend([json!(-1), json!(0), json!(0)]),
                }
                for c in 0..ncat {
                    row.push(json!(rows.nearest_mm(i, c).map_or(-1, |mm| i64::from(
                        mm / 100 + u32::from(mm % 100 >= 50)
                    ))));
                }
                Value::Array(row)
            })
            .collect();
        let names: Vec<Value> = self.homes.iter().map(|h| json!(h.name)).collect();
        // Facilities: x, y, category, edge, offset_mm, leg_mm (edge -1: unsnapped), name.
        let facs: Vec<Value> = self
            .facilities
            .iter()
            .zip(&a.facilities)
            .map(|(f, r)| {
                let [x, y] = grid.xy(f.lonlat);
                let (e, o, l) = r
                    .snap
                    .as_ref()
                    .map_or((-1, 0, 0), |s| (i64::from(s.edge), s.offset_mm, s.leg_mm()));
                json!([x, y, f.category, e, o, l, f.name])
            })
            .collect();
        let gaps: Vec<Value> = a
            .gaps
            .iter()
            .map(|gc| {
                let ring: Vec<[f64; 2]> = gc
                    .cell
                    .boundary()
                    .iter()
                    .map(|ll| [ll.lng(), ll.lat()])
                    .collect();
                json!([
                    gc.category,
                    gc.residents_missing,
                    r1(gc.population_missing),
                    gc.nearest_mm.map(|mm| r1(f64::from(mm) / 1000.0)),
                    deltas(&mut ring.into_iter()),
                    gc.cell.to_string()
                ])
            })
            .collect();
        let sites: Vec<Value> = self
            .sites
            .iter()
            .map(|s| {
                let [x, y] = grid.xy(s.lonlat);
                json!({
                    "x": x, "y": y, "category": s.category, "rank": s.rank, "name": s.name,
                    "gain_residents": s.gain_residents,
                    "gain_population": r1(s.gain_population),
                    "covered_after_pct": s.covered_after_pct,
                })
            })
            .collect();
        let sum = self.summary;
        let mut data = json!({
            "lang": self.lang.code(),
            "city": self.city,
            "preset": { "name": self.preset.name, "name_zh": self.preset.name_zh, "origin": self.preset.origin },
            "speed_kmh": sum["parameters"]["speed_kmh"],
            "data_timestamp": sum["input"]["data_timestamp"],
            "tool": sum["tool"],
            "command": self.command,
            "origin": grid.origin,
            "buffer_m": self.buffer_m,
            "search_budget_m": sum["parameters"]["search_budget_m"],
            "counts": sum["counts"],
            "categories": sum["categories"],
            "levels": sum["levels"],
            "nodes": deltas(&mut (0..g.node_count() as u32).map(|n| g.node_lonlat(n))),
        });
        // The big layers are moved in: `json!` would serialise them a second time.
        let map = data.as_object_mut().expect("an object");
        for (k, v) in [
            ("edges", edges),
            ("homes", homes),
            ("home_names", names),
            ("facilities", facs),
            ("gaps", gaps),
            ("sites", sites),
        ] {
            map.insert(k.into(), Value::Array(v));
        }
        data
    }

    /// The whole page. Its size is about 40 bytes per edge vertex, 60 bytes plus 4
    /// per category per residence, and 120 bytes per gap cell.
    pub fn html(&self) -> String {
        let data = serde_json::to_string(&self.data()).expect("serialisable");
        // Inside <script>, "</script" would close the element and "<!--<script" would
        // keep the real end tag from closing it: no "<" reaches the page (JSON reads
        // "\u003c" as "<"); ">" and "&" likewise, for good measure.
        let mut safe = String::with_capacity(data.len() + data.len() / 64);
        for ch in data.chars() {
            match ch {
                '<' => safe.push_str("\\u003c"),
                '>' => safe.push_str("\\u003e"),
                '&' => safe.push_str("\\u0026"),
                _ => safe.push(ch),
            }
        }
        let data = safe;
        let title = html_escape(&format!(
            "{} — {}",
            self.city,
            match self.lang {
                Lang::Zh => self.preset.name_zh.as_deref().unwrap_or(&self.preset.name),
                Lang::En => &self.preset.name,
            }
        ));
        let mut out = String::with_capacity(data.len() + JS.len() + CSS.len() + 4096);
        out.push_str("<!DOCTYPE html>\n<html lang=\"");
        out.push_str(self.lang.code());
        out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
        out.push_str(&title);
        out.push_str("</title>\n<style>\n");
        out.push_str(CSS);
        out.push_str("</style>\n</head>\n<body>\n");
        out.push_str(BODY);
        out.push_str("<script id=\"lc-data\" type=\"application/json\">");
        out.push_str(&data);
        out.push_str("</script>\n<script>\n");
        out.push_str(JS);
        out.push_str("</script>\n</body>\n</html>\n");
        out
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");
const BODY: &str = include_str!("body.html");

#[cfg(test)]
mod tests {
    use super::*;
    use livingcircle_analysis::population::PopulationSource;
    use livingcircle_analysis::{AnalyzeOptions, Origin, analyze};
    use livingcircle_graph::BuildOptions;
    use livingcircle_osm::{WalkWay, rules::FootDirection};

    fn street() -> WalkGraph {
        let way = WalkWay {
            way_id: 1,
            nodes: vec![1, 2, 3],
            coords: vec![[11.0, 48.0], [11.001, 48.0], [11.002, 48.0]],
            direction: FootDirection::Both,
            highway: "residential".into(),
            name: None,
        };
        WalkGraph::build(&[way], &BuildOptions::default())
            .unwrap()
            .0
    }

    #[test]
    fn data_block_and_escaping() {
        let g = street();
        let preset = Preset::load("15min").unwrap();
        let homes = vec![Home {
            osm_id: None,
            name: Some("</script><script>alert(1)</script> <!--<script> & x".into()),
            lonlat: [11.0005, 48.0001],
            population: 3.0,
            population_source: PopulationSource::User,
            origin: Origin::User,
        }];
        let facilities = vec![Facility {
            category: 0,
            name: Some("Shop".into()),
            osm_id: None,
            origin: Origin::User,
            lonlat: [11.0015, 48.0],
            outline: vec![],
        }];
        let snapper = livingcircle_snap::Snapper::new(&g);
        let (an, results) = analyze(
            &snapper,
            &preset,
            &homes,
            &facilities,
            &AnalyzeOptions::default(),
        );
        let r = Report {
            lang: Lang::En,
            city: "street".into(),
            graph: &g,
            preset: &preset,
            homes: &homes,
            facilities: &facilities,
            analysis: &an,
            results: &results,
            buffer_m: 25.0,
            sites: vec![],
            summary: &serde_json::json!({"tool": "livingcircle test"}),
            command: "livingcircle analyze".into(),
        };
        let d = r.data();
        let ncat = preset.categories.len();
        let row = d["homes"][0].as_array().unwrap();
        assert_eq!(row.len(), 8 + ncat);
        // About 74 m along the street plus a 11 m leg, in 0.1 m.
        let rows = results.rows(&an);
        let want = rows.nearest_mm(0, 0).unwrap();
        assert_eq!(row[8].as_i64().unwrap(), i64::from((want + 50) / 100));
        assert_eq!(
            row[3].as_u64().unwrap() as usize,
            (0..ncat).filter(|&c| rows.ok(0, c)).count()
        );
        assert_eq!(d["edges"].as_array().unwrap().len(), g.edge_count());
        assert_eq!(d["nodes"].as_array().unwrap().len(), 2 * g.node_count());
        let html = r.html();
        // The only closing script tags are the page's own two.
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(html.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
        // Nothing in the data can open a comment or a tag.
        let data = &html[html.find("id=\"lc-data\"").unwrap()..];
        let data = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
        assert!(!data.contains('<'));
    }
}
