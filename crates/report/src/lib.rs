/*!
One self-contained HTML file that shows an analysis at a glance, offline, from a
district to a metropolis: the street network drawn as the base map (no tile server),
residences coloured by how many required categories they meet (zoomed out: H3 cells
with their share of categories met and their people missing a category), switchable
gap cells and facilities per category, a click on a residence for its distances and
its 5/10/15-minute isochrone, coverage charts, distance histograms, the worst gaps and,
when given, proposed sites.

Everything is inlined: the page's own canvas/SVG script and styles (`report.js`,
`report.css`, embedded at build time), a small JSON block (labels, summary, layer
descriptions) and the bulk data as binary columns in one base64 block (varints,
zigzag steps of integer micro-degree coordinates, bit planes), which the page decodes
once into typed arrays. No third-party code is included.

The report is built while residences stream by: [`ReportBuilder::add_residences`]
takes them in chunks and keeps only its compact columns (about 16 bytes per residence
plus one bit per category) and the H3 totals; [`ReportBuilder::finish`] writes the
page straight into a writer.

# Example
```
use livingcircle_report::Lang;
assert_eq!(Lang::default_for("builtin:gb50180"), Lang::Zh);
assert_eq!(Lang::default_for("builtin:15min"), Lang::En);
```
*/

mod cells;
mod enc;
mod network;

use std::io::{self, Write};

use livingcircle_analysis::{Facility, Preset};
use livingcircle_graph::WalkGraph;
use serde_json::{Value, json};

use crate::cells::Cells;
use crate::enc::{BitStream, Bits, Blob, Col, Kind};

/// "No facility within the search budget" in [`ResidenceChunk::nearest_mm`].
pub const NONE: u32 = u32::MAX;

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

/// Where a place joins the network, as the engine sums it: the page's own search
/// starts from here, so its distances are the engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaceSnap {
    /// The edge.
    pub edge: u32,
    /// Distance along the edge from its `u` end (mm).
    pub offset_mm: u32,
    /// Off-network leg (mm).
    pub leg_mm: u32,
}

/// A run of residences, in id order (the first chunk starts at id 0, each next one
/// where the last ended). Every slice has one entry per residence, except
/// `nearest_mm`, which has one per residence and category (residence-major).
#[derive(Debug, Clone, Copy)]
pub struct ResidenceChunk<'a> {
    /// `[lon, lat]`.
    pub lonlat: &'a [[f64; 2]],
    /// Persons.
    pub population: &'a [f64],
    /// Display names.
    pub name: &'a [Option<&'a str>],
    /// Where it joins the network; `None`: unsnapped.
    pub snap: &'a [Option<PlaceSnap>],
    /// Walking distance to the nearest facility of each category (mm); [`NONE`]
    /// beyond the search budget (and when unsnapped).
    pub nearest_mm: &'a [u32],
    /// Whether each category is met (a facility within its threshold), as
    /// `nearest_mm`.
    pub ok: &'a [bool],
}

impl ResidenceChunk<'_> {
    /// Residences in the chunk.
    pub fn len(&self) -> usize {
        self.lonlat.len()
    }

    /// Whether the chunk holds none.
    pub fn is_empty(&self) -> bool {
        self.lonlat.is_empty()
    }
}

/// What the report shows besides the residences.
pub struct ReportSetup<'a> {
    /// Page language.
    pub lang: Lang,
    /// The extract's file name (title).
    pub city: String,
    /// The walking graph.
    pub graph: &'a WalkGraph,
    /// The preset.
    pub preset: &'a Preset,
    /// Facilities, in the analysis' order.
    pub facilities: &'a [Facility],
    /// How many residences will be added (sets the self-check sample).
    pub residences: usize,
    /// H3 resolution of the gap cells (the finest aggregated level).
    pub hex_res: h3o::Resolution,
    /// Buffer (m) of the isochrones drawn on click.
    pub buffer_m: f64,
    /// Proposed sites, if any.
    pub sites: Vec<ProposedSite>,
    /// The command line that produced it.
    pub command: String,
}

/// What the analysis knows once every residence has passed.
pub struct Finish<'a> {
    /// Every access point of each facility (an area has many; empty: unsnapped), in
    /// the order of [`ReportSetup::facilities`]: the page's search reaches a facility
    /// at the nearest of them, as the engine does.
    pub facility_access: &'a [Vec<PlaceSnap>],
    /// The search budget (mm): distances beyond it are unknown.
    pub budget_mm: u32,
    /// The analysis' `summary.json`: the page shows its `tool`, `input`, `parameters`,
    /// `counts`, `categories` and `levels` as they are.
    pub summary: &'a Value,
}

/// Micro-degree integer grid anchored at `origin`, with metres per micro-degree at
/// the area's middle latitude.
pub(crate) struct Grid {
    origin: [f64; 2],
    lat_ref: f64,
    kx: f64,
    ky: f64,
}

impl Grid {
    fn new(origin: [f64; 2], lat_ref: f64) -> Grid {
        let m_per_deg = std::f64::consts::PI / 180.0 * 6_371_008.8;
        Grid {
            origin,
            lat_ref,
            kx: m_per_deg * lat_ref.to_radians().cos() * 1e-6,
            ky: m_per_deg * 1e-6,
        }
    }

    pub(crate) fn xy(&self, p: [f64; 2]) -> [i64; 2] {
        [
            ((p[0] - self.origin[0]) * 1e6).round() as i64,
            ((p[1] - self.origin[1]) * 1e6).round() as i64,
        ]
    }

    /// On the coarser grid of the drawn geometry ([`GEOM_STEP`] micro-degrees).
    pub(crate) fn q(&self, p: [f64; 2]) -> [i64; 2] {
        self.xy(p)
            .map(|v| (v as f64 / GEOM_STEP as f64).round() as i64)
    }

    /// Length in metres of a step in micro-degrees.
    pub(crate) fn metres(&self, d: [i64; 2]) -> f64 {
        (d[0] as f64 * self.kx).hypot(d[1] as f64 * self.ky)
    }
}

/// Nodes, residences and inner vertices of the network are drawn on a grid of this
/// many micro-degrees (about 1 m); facilities, sites and H3 cells on micro-degrees.
pub(crate) const GEOM_STEP: i64 = 10;

/// Exp-Golomb order of the residences' legs (mm): legs under 8 m take 14 bits.
const LEG_ORDER: u32 = 13;

/// The self-check sample holds about this many residences (every k-th).
const CHECK_SAMPLE: usize = 256;

/// The page draws residences one by one while this many at most are in view, else
/// H3 cells.
const POINT_LIMIT: usize = 40_000;

/// The page draws H3 cells of the finest resolution at least this wide (pixels).
const MIN_CELL_PX: f64 = 10.0;

/// Builds the page from residences streamed in chunks; see the crate docs.
pub struct ReportBuilder<'a> {
    setup: ReportSetup<'a>,
    grid: Grid,
    ncat: usize,
    check_step: usize,
    count: usize,
    snapped: usize,
    /// Residences' and nodes' extent in micro-degrees (multiples of [`GEOM_STEP`]):
    /// west, south, east, north.
    bounds: [i64; 4],
    /// x, y (steps of [`GEOM_STEP`]), population (0.1), edge (-1: unsnapped).
    cols: [Col; 4],
    /// Offsets along the edge, in as many bits as the edge's length needs.
    offsets: BitStream,
    /// Legs, Exp-Golomb.
    legs: BitStream,
    met: Vec<Bits>,
    name_id: Col,
    names: Vec<String>,
    check_id: Col,
    check_dm: Col,
    /// Per category: residences by distance in whole decimetres (binned when the
    /// budget is known), and those with none within the search.
    hist_dm: Vec<Vec<u32>>,
    hist_none: Vec<u64>,
    cells: Cells,
}

/// Distance in mm as whole decimetres, rounded half up (as the page rounds).
fn dm(mm: u32) -> u32 {
    mm / 100 + u32::from(mm % 100 >= 50)
}

impl<'a> ReportBuilder<'a> {
    /// Starts a report.
    pub fn new(setup: ReportSetup<'a>) -> ReportBuilder<'a> {
        let g = setup.graph;
        let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for i in 0..g.node_count() as u32 {
            let p = g.node_lonlat(i);
            (w, s, e, n) = (w.min(p[0]), s.min(p[1]), e.max(p[0]), n.max(p[1]));
        }
        if !w.is_finite() || w > e {
            (w, s, e, n) = (0.0, 0.0, 0.0, 0.0);
        }
        let grid = Grid::new([w, s], (s + n) / 2.0);
        let [x0, y0] = grid.q([w, s]).map(|v| v * GEOM_STEP);
        let [x1, y1] = grid.q([e, n]).map(|v| v * GEOM_STEP);
        let ncat = setup.preset.categories.len();
        ReportBuilder {
            ncat,
            check_step: (setup.residences / CHECK_SAMPLE).max(1),
            count: 0,
            snapped: 0,
            bounds: [x0, y0, x1, y1],
            cols: [Kind::Z, Kind::Z, Kind::U, Kind::Z].map(Col::new),
            offsets: BitStream::default(),
            legs: BitStream::default(),
            met: vec![Bits::default(); ncat],
            name_id: Col::new(Kind::Z),
            names: Vec::new(),
            check_id: Col::new(Kind::Z),
            check_dm: Col::new(Kind::U),
            hist_dm: vec![Vec::new(); ncat],
            hist_none: vec![0; ncat],
            cells: Cells::new(setup.hex_res, ncat),
            grid,
            setup,
        }
    }

    /// Categories of the preset (per residence in a chunk's `nearest_mm` and `ok`).
    pub fn categories(&self) -> usize {
        self.ncat
    }

    /// Adds the next residences.
    ///
    /// # Panics
    /// When the chunk's slices do not have one entry per residence (and per category
    /// in `nearest_mm`).
    pub fn add_residences(&mut self, chunk: &ResidenceChunk<'_>) {
        let n = chunk.len();
        let ncat = self.ncat;
        assert!(
            chunk.population.len() == n
                && chunk.name.len() == n
                && chunk.snap.len() == n
                && chunk.nearest_mm.len() == n * ncat
                && chunk.ok.len() == n * ncat,
            "a residence chunk has one entry per residence (and category)"
        );
        for i in 0..n {
            let id = self.count;
            self.count += 1;
            let [x, y] = self.grid.q(chunk.lonlat[i]);
            let (ux, uy) = (x * GEOM_STEP, y * GEOM_STEP);
            let b = &mut self.bounds;
            *b = [b[0].min(ux), b[1].min(uy), b[2].max(ux), b[3].max(uy)];
            let [cx, cy, cpop, cedge] = &mut self.cols;
            cx.push(x);
            cy.push(y);
            cpop.push((chunk.population[i] * 10.0).round().max(0.0) as i64);
            let near = &chunk.nearest_mm[i * ncat..(i + 1) * ncat];
            let ok = &chunk.ok[i * ncat..(i + 1) * ncat];
            if let Some(name) = chunk.name[i] {
                self.name_id.push(id as i64);
                self.names.push(name.to_owned());
            }
            let Some(s) = chunk.snap[i] else {
                cedge.push(-1);
                for plane in &mut self.met {
                    plane.push(false);
                }
                continue;
            };
            self.snapped += 1;
            cedge.push(i64::from(s.edge));
            let len = self.setup.graph.edge(s.edge).length_mm;
            self.offsets
                .put(u64::from(s.offset_mm.min(len)), 32 - len.leading_zeros());
            self.legs.exp_golomb(u64::from(s.leg_mm), LEG_ORDER);
            for c in 0..ncat {
                self.met[c].push(ok[c]);
                if near[c] == NONE {
                    self.hist_none[c] += 1;
                } else {
                    let h = &mut self.hist_dm[c];
                    let d = dm(near[c]) as usize;
                    if h.len() <= d {
                        h.resize(d + 1, 0);
                    }
                    h[d] += 1;
                }
            }
            if id.is_multiple_of(self.check_step) {
                self.check_id.push(id as i64);
                for &d in near {
                    self.check_dm
                        .push(if d == NONE { 0 } else { i64::from(dm(d)) + 1 });
                }
            }
            self.cells
                .add(chunk.lonlat[i], chunk.population[i], near, ok);
        }
    }

    /// Writes the page into `out`. Returns the bytes written.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish<W: Write + ?Sized>(self, end: &Finish<'_>, out: &mut W) -> io::Result<u64> {
        let mut out = Counting { inner: out, n: 0 };
        let preset = self.setup.preset;
        let lang = self.setup.lang;
        let title = html_escape(&format!(
            "{} — {}",
            self.setup.city,
            match lang {
                Lang::Zh => preset.name_zh.as_deref().unwrap_or(&preset.name),
                Lang::En => &preset.name,
            }
        ));
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{BODY}<script id=\"lc-bin\" type=\"application/octet-stream\">",
            lang.code()
        )?;
        let data = self.write_columns(end, &mut out)?;
        out.write_all(b"</script>\n<script id=\"lc-data\" type=\"application/json\">")?;
        out.write_all(script_safe(&data.to_string()).as_bytes())?;
        out.write_all(b"</script>\n<script>\n")?;
        out.write_all(JS.as_bytes())?;
        out.write_all(b"</script>\n</body>\n</html>\n")?;
        out.flush()?;
        Ok(out.n)
    }

    /// Writes every column into the base64 block; returns the data block.
    fn write_columns<W: Write + ?Sized>(self, end: &Finish<'_>, out: &mut W) -> io::Result<Value> {
        let summary = end.summary;
        let budget_mm = end.budget_mm;
        let g = self.setup.graph;
        let grid = &self.grid;
        let mut blob = Blob::new(out);
        let [cx, cy, cpop, cedge] = self.cols;
        let checks = self.check_id.count();
        for (name, col) in [
            ("res.x", cx),
            ("res.y", cy),
            ("res.pop", cpop),
            ("res.edge", cedge),
            ("res.off", Col::from_bytes(self.offsets.into_bytes())),
            ("res.leg", Col::from_bytes(self.legs.into_bytes())),
            ("res.name_id", self.name_id),
            ("check.id", self.check_id),
            ("check.dm", self.check_dm),
        ] {
            blob.put(name, col)?;
        }
        // Categories met, one plane per category as run lengths (neighbours in the
        // input order tend to share them).
        let mut runs = Col::new(Kind::U);
        for p in &self.met {
            p.push_runs(&mut runs);
        }
        blob.put("res.met", runs)?;
        drop(self.met);

        let [mut fx, mut fy, mut fcat] = [Kind::Z, Kind::Z, Kind::U].map(Col::new);
        // Access points: their facility, edge, offset and leg.
        let [mut afac, mut aedge, mut aoff, mut aleg] =
            [Kind::U, Kind::U, Kind::U, Kind::U].map(Col::new);
        for (i, (f, pts)) in self
            .setup
            .facilities
            .iter()
            .zip(end.facility_access)
            .enumerate()
        {
            let [x, y] = grid.xy(f.lonlat);
            fx.push(x);
            fy.push(y);
            fcat.push(f.category as i64);
            for s in pts {
                afac.push(i as i64);
                aedge.push(i64::from(s.edge));
                aoff.push(i64::from(s.offset_mm));
                aleg.push(i64::from(s.leg_mm));
            }
        }
        for (name, col) in [
            ("fac.x", fx),
            ("fac.y", fy),
            ("fac.cat", fcat),
            ("acc.fac", afac),
            ("acc.edge", aedge),
            ("acc.off", aoff),
            ("acc.leg", aleg),
        ] {
            blob.put(name, col)?;
        }

        let net = network::write_full(g, grid, &mut blob)?;
        let b = self.bounds;
        let extent_m = grid
            .metres([b[2] - b[0], 0])
            .max(grid.metres([0, b[3] - b[1]]));
        let net_levels = network::write_levels(g, grid, extent_m, &mut blob)?;
        let gap_cells = self.cells.gap_count();
        let (h3, worst) = self.cells.write(grid, &mut blob)?;
        let (columns, bytes) = blob.finish()?;

        // 20 bins up to the search budget, then those beyond.
        let bin_m = f64::from(budget_mm) / 1000.0 / 20.0;
        let hist: Vec<Vec<u64>> = self
            .hist_dm
            .iter()
            .zip(&self.hist_none)
            .map(|(h, &none)| {
                let mut bins = vec![0u64; 21];
                for (d, &n) in h.iter().enumerate() {
                    bins[((d as f64 / 10.0 / bin_m).floor() as usize).min(19)] += u64::from(n);
                }
                bins[20] = none;
                bins
            })
            .collect();
        let sites: Vec<Value> = self
            .setup
            .sites
            .iter()
            .map(|s| {
                let [x, y] = grid.xy(s.lonlat);
                json!({
                    "x": x, "y": y, "category": s.category, "rank": s.rank, "name": s.name,
                    "gain_residents": s.gain_residents,
                    "gain_population": livingcircle_analysis::r1(s.gain_population),
                    "covered_after_pct": s.covered_after_pct,
                })
            })
            .collect();
        let preset = self.setup.preset;
        Ok(json!({
            "format": 2,
            "lang": self.setup.lang.code(),
            "city": self.setup.city,
            "preset": { "name": preset.name, "name_zh": preset.name_zh, "origin": preset.origin },
            "speed_kmh": summary["parameters"]["speed_kmh"],
            "data_timestamp": summary["input"]["data_timestamp"],
            "tool": summary["tool"],
            "command": self.setup.command,
            "origin": grid.origin,
            "lat_ref": grid.lat_ref,
            "geom_step": GEOM_STEP,
            "leg_order": LEG_ORDER,
            "bounds": self.bounds,
            "buffer_m": self.setup.buffer_m,
            "search_budget_m": f64::from(budget_mm) / 1000.0,
            "budget_mm": budget_mm,
            "counts": summary["counts"],
            "categories": summary["categories"],
            "levels": summary["levels"],
            "n": {
                "residences": self.count,
                "snapped": self.snapped,
                "facilities": self.setup.facilities.len(),
                "names": self.names.len(),
                "checks": checks,
            },
            "network": net,
            "net_levels": net_levels,
            "h3": h3,
            "hex_res": u8::from(self.setup.hex_res),
            "gap_cells": gap_cells,
            "worst_gaps": worst,
            "hist": hist,
            "hist_bin_m": bin_m,
            "lod": { "point_limit": POINT_LIMIT, "edge_limit": network::EDGE_LIMIT, "min_cell_px": MIN_CELL_PX },
            "sites": sites,
            "names": self.names,
            "binary_bytes": bytes,
            "columns": columns,
        }))
    }
}

/// Counts the bytes written.
struct Counting<'w, W: Write + ?Sized> {
    inner: &'w mut W,
    n: u64,
}

impl<W: Write + ?Sized> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Inside <script>, "</script" would close the element and "<!--<script" would keep
/// the real end tag from closing it: no "<" reaches the page (JSON reads "\u003c" as
/// "<"); ">" and "&" likewise, for good measure.
fn script_safe(json: &str) -> String {
    let mut safe = String::with_capacity(json.len() + json.len() / 64);
    for ch in json.chars() {
        match ch {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            _ => safe.push(ch),
        }
    }
    safe
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
mod tests;
