//! The page's data read back with an independent decoder and compared with the
//! analysis it came from; the HTML's escaping; chunking that does not matter.

use std::collections::BTreeMap;

use livingcircle_analysis::population::PopulationSource;
use livingcircle_analysis::{
    Analysis, AnalyzeOptions, Home, HomeResults, Origin, analyze, facilities_from_osm,
    homes_from_osm,
};
use livingcircle_graph::BuildOptions;
use livingcircle_osm::{ReadOptions, WalkWay, rules::FootDirection};
use livingcircle_snap::Snapper;
use serde_json::Value;

use super::*;
use crate::enc::tests::{read, unbase64};

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

fn snap(s: &livingcircle_snap::Snap) -> PlaceSnap {
    PlaceSnap {
        edge: s.edge,
        offset_mm: s.offset_mm,
        leg_mm: s.leg_mm(),
    }
}

/// The page for an analysis, residences fed in chunks of `chunk`.
fn page(
    g: &WalkGraph,
    preset: &Preset,
    homes: &[Home],
    facilities: &[Facility],
    (an, results): &(Analysis, HomeResults),
    chunk: usize,
) -> String {
    let mut b = ReportBuilder::new(ReportSetup {
        lang: Lang::En,
        city: "test".into(),
        graph: g,
        preset,
        facilities,
        residences: homes.len(),
        hex_res: h3o::Resolution::Nine,
        buffer_m: 25.0,
        sites: vec![],
        command: "livingcircle analyze".into(),
    });
    let rows = results.rows(an);
    let ncat = preset.categories.len();
    for first in (0..homes.len()).step_by(chunk) {
        let ids = first..(first + chunk).min(homes.len());
        let hs = &homes[ids.clone()];
        let lonlat: Vec<[f64; 2]> = hs.iter().map(|h| h.lonlat).collect();
        let population: Vec<f64> = hs.iter().map(|h| h.population).collect();
        let name: Vec<Option<&str>> = hs.iter().map(|h| h.name.as_deref()).collect();
        let snaps: Vec<Option<PlaceSnap>> = ids.clone().map(|i| rows.snap(i).map(snap)).collect();
        let nearest: Vec<u32> = ids
            .clone()
            .flat_map(|i| (0..ncat).map(move |c| rows.nearest_mm(i, c).unwrap_or(NONE)))
            .collect();
        let ok: Vec<bool> = ids
            .flat_map(|i| (0..ncat).map(move |c| rows.ok(i, c)))
            .collect();
        b.add_residences(&ResidenceChunk {
            lonlat: &lonlat,
            population: &population,
            name: &name,
            snap: &snaps,
            nearest_mm: &nearest,
            ok: &ok,
        });
    }
    let summary =
        serde_json::json!({"tool": "livingcircle test", "parameters": {"speed_kmh": 4.8}});
    let facility_access: Vec<Vec<PlaceSnap>> = an
        .facilities
        .iter()
        .map(|f| f.access_points.iter().map(snap).collect())
        .collect();
    let end = Finish {
        facility_access: &facility_access,
        budget_mm: an.budget_mm,
        summary: &summary,
    };
    let mut out = Vec::new();
    let n = b.finish(&end, &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    String::from_utf8(out).unwrap()
}

/// The data block and the binary columns of a page.
struct Decoded {
    data: Value,
    bin: Vec<u8>,
}

impl Decoded {
    fn of(html: &str) -> Decoded {
        let between = |open: &str| {
            let s = &html[html.find(open).expect(open) + open.len()..];
            &s[..s.find("</script>").unwrap()]
        };
        let data =
            serde_json::from_str(between("<script id=\"lc-data\" type=\"application/json\">"))
                .unwrap();
        let bin = unbase64(
            between("<script id=\"lc-bin\" type=\"application/octet-stream\">").as_bytes(),
        );
        Decoded { data, bin }
    }

    fn raw(&self, name: &str) -> &[u8] {
        let c = &self.data["columns"][name];
        let o = c["offset"].as_u64().unwrap() as usize;
        &self.bin[o..o + c["len"].as_u64().unwrap() as usize]
    }

    fn col(&self, name: &str) -> Vec<i64> {
        let c = &self.data["columns"][name];
        read(
            self.raw(name),
            c["kind"].as_str().unwrap(),
            c["count"].as_u64().unwrap() as usize,
        )
    }
}

/// Reads bits most significant first.
struct BitReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn take(&mut self, w: u32) -> u64 {
        let mut v = 0;
        for _ in 0..w {
            v = v * 2 + u64::from((self.b[self.pos / 8] >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        v
    }

    fn exp_golomb(&mut self, k: u32) -> u64 {
        let mut z = 0;
        while self.take(1) == 0 {
            z += 1;
        }
        (1 << (z + k)) + self.take(z + k) - (1 << k)
    }
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
        user: None,
    }];
    let facilities = vec![Facility {
        category: 0,
        name: Some("Shop".into()),
        osm_id: None,
        origin: Origin::User,
        lonlat: [11.0015, 48.0],
        outline: vec![],
        entrances: vec![],
        user: None,
    }];
    let run = analyze(
        &Snapper::new(&g),
        &preset,
        &homes,
        &facilities,
        &AnalyzeOptions::default(),
    );
    let html = page(&g, &preset, &homes, &facilities, &run, 1);
    let d = Decoded::of(&html);
    let rows = run.1.rows(&run.0);
    assert_eq!(d.data["n"]["residences"], 1);
    assert_eq!(d.col("res.edge"), [i64::from(rows.snap(0).unwrap().edge)]);
    // The self-check sample holds the engine's distances (0.1 m, + 1; 0: none).
    let want = rows.nearest_mm(0, 0).unwrap();
    assert_eq!(d.col("check.id"), [0]);
    assert_eq!(d.col("check.dm")[0], i64::from((want + 50) / 100) + 1);
    assert_eq!(d.data["names"][0], homes[0].name.as_deref().unwrap());
    // The only closing script tags are the page's own three.
    assert_eq!(html.matches("</script>").count(), 3);
    assert!(html.contains("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
    // Nothing in the data can open a comment or a tag.
    let data = &html[html.find("id=\"lc-data\"").unwrap()..];
    let data = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
    assert!(!data.contains('<'));
}

fn munchen() -> (WalkGraph, Preset, Vec<Home>, Vec<Facility>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/munchen.osm.pbf");
    let preset = Preset::load("gb50180").unwrap();
    let data = livingcircle_osm::read(
        &path,
        &ReadOptions {
            pois: preset.poi_filter(),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let g = WalkGraph::from_network(&data.network, &BuildOptions::default())
        .unwrap()
        .0;
    let homes = homes_from_osm(&data, &preset.population);
    let facilities = facilities_from_osm(&preset, &data.features);
    (g, preset, homes, facilities)
}

#[test]
fn the_bundled_city_read_back_equals_the_analysis() {
    let (g, preset, homes, facilities) = munchen();
    let run = analyze(
        &Snapper::new(&g),
        &preset,
        &homes,
        &facilities,
        &AnalyzeOptions::default(),
    );
    let (an, rows) = (&run.0, run.1.rows(&run.0));
    let html = page(&g, &preset, &homes, &facilities, &run, 1000);
    // Chunks of any size give the same page.
    assert_eq!(html, page(&g, &preset, &homes, &facilities, &run, 7));
    assert_eq!(
        html,
        page(&g, &preset, &homes, &facilities, &run, homes.len())
    );
    let d = Decoded::of(&html);
    let ncat = preset.categories.len();
    let n = homes.len();
    let step = d.data["geom_step"].as_i64().unwrap();
    let origin: Vec<f64> = serde_json::from_value(d.data["origin"].clone()).unwrap();

    // Residences: positions on the grid, snaps exactly, categories met.
    let (x, y, edge) = (d.col("res.x"), d.col("res.y"), d.col("res.edge"));
    assert_eq!(x.len(), n);
    let mut offs = BitReader {
        b: d.raw("res.off"),
        pos: 0,
    };
    let mut legs = BitReader {
        b: d.raw("res.leg"),
        pos: 0,
    };
    for (i, h) in homes.iter().enumerate() {
        let ux = (h.lonlat[0] - origin[0]) * 1e6;
        let uy = (h.lonlat[1] - origin[1]) * 1e6;
        assert!(
            ((x[i] * step) as f64 - ux).abs() <= step as f64 / 2.0 + 1.0,
            "{i}"
        );
        assert!(
            ((y[i] * step) as f64 - uy).abs() <= step as f64 / 2.0 + 1.0,
            "{i}"
        );
        let s = rows.snap(i).unwrap();
        assert_eq!(edge[i], i64::from(s.edge));
        let len = g.edge(s.edge).length_mm;
        assert_eq!(offs.take(32 - len.leading_zeros()), u64::from(s.offset_mm));
        assert_eq!(legs.exp_golomb(13), u64::from(s.leg_mm()));
    }
    let runs = d.col("res.met");
    let mut r = 0;
    for c in 0..ncat {
        let (mut i, mut set) = (0usize, false);
        loop {
            let len = runs[r] as usize;
            r += 1;
            for k in i..i + len {
                assert_eq!(set, rows.ok(k, c), "{k} {c}");
            }
            i += len;
            set = !set;
            if i >= n {
                break;
            }
        }
        assert_eq!(i, n);
    }
    assert_eq!(r, runs.len());

    // The finest H3 level holds exactly the analysis' gap cells; the coarser ones
    // hold the same people.
    assert_eq!(
        d.data["gap_cells"].as_u64().unwrap() as usize,
        an.gaps.len()
    );
    let mut want: BTreeMap<usize, f64> = BTreeMap::new();
    for gc in &an.gaps {
        *want.entry(gc.category).or_default() += (gc.population_missing * 10.0).round();
    }
    let levels = d.data["h3"].as_array().unwrap();
    assert!(levels.len() >= 2, "{levels:?}");
    let total_pop: f64 = homes.iter().map(|h| h.population).sum();
    for (k, lv) in levels.iter().enumerate() {
        let cells = lv["cells"].as_u64().unwrap() as usize;
        let mask = d.raw(&format!("h3.{k}.gap_mask"));
        let vals = d.col(&format!("h3.{k}.gap_pop"));
        let mb = cells.div_ceil(8);
        let mut got: BTreeMap<usize, f64> = BTreeMap::new();
        let mut j = 0;
        let mut pairs = 0;
        for i in 0..cells {
            for c in 0..ncat {
                if (mask[c * mb + i / 8] >> (i % 8)) & 1 == 1 {
                    *got.entry(c).or_default() += vals[j] as f64;
                    j += 1;
                    pairs += 1;
                }
            }
        }
        assert_eq!(j, vals.len());
        if k == 0 {
            assert_eq!(pairs, an.gaps.len());
        }
        for (c, v) in &want {
            // Sums of rounded tenths: within half a tenth per cell.
            assert!(
                (got[c] - v).abs() <= cells as f64 * 0.5 + 0.5,
                "level {k} category {c}: {} vs {v}",
                got[c]
            );
        }
        let res: i64 = d.col(&format!("h3.{k}.res")).iter().sum();
        assert_eq!(res as usize, n, "level {k}");
        let pop: i64 = d.col(&format!("h3.{k}.pop")).iter().sum();
        assert!((pop as f64 / 10.0 - total_pop).abs() <= cells as f64 * 0.05 + 0.05);
    }
    // Histograms count every snapped residence once per category.
    for h in d.data["hist"].as_array().unwrap() {
        let s: u64 = h
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(s as usize, n);
    }
    // The full network: every edge, its length exactly.
    let len = d.col("edge.len");
    assert_eq!(len.len(), g.edge_count());
    for (e, l) in len.iter().enumerate() {
        assert_eq!(*l, i64::from(g.edge(e as u32).length_mm));
    }
    // Edge geometry runs from u to v (the page starts each edge at its u node).
    for e in 0..g.edge_count() as u32 {
        let ll = g.edge_lonlat(e);
        assert_eq!(ll[0], g.node_lonlat(g.edge(e).u));
        assert_eq!(*ll.last().unwrap(), g.node_lonlat(g.edge(e).v));
    }
    // The page stays small: about 0.2 MB here.
    assert!(html.len() < 400_000, "{} bytes", html.len());
}
