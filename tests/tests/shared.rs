//! Every extract in ../shared/data (skipped with a note when absent): it loads, and
//! the engine's two ways of answering agree, whatever the thread count.

use livingcircle_analysis::{AnalyzeOptions, Preset, analyze, facilities_from_osm, homes_from_osm};
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{ReadOptions, read};

use crate::util::shared_extracts;

#[test]
fn every_shared_extract_loads_and_builds() {
    for p in shared_extracts() {
        let d = read(&p, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let (g, r) = WalkGraph::from_network(&d.network, &BuildOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(g.node_count() > 100, "{}", p.display());
        assert_eq!(r.nodes as usize, g.node_count());
        // Known robustness cases from ../shared/data/README.md.
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "helsinki.osm.pbf" {
            assert_eq!(
                d.stats.missing_node_refs, 860,
                "walkable-way refs missing (osmium check-refs)"
            );
            assert_eq!(d.stats.ways_cut, 175);
        }
    }
}

#[test]
fn per_residence_equals_multi_source_and_threads_do_not_matter() {
    let preset = Preset::load("gb50180").unwrap();
    for p in shared_extracts() {
        let d = read(
            &p,
            &ReadOptions {
                pois: preset.poi_filter(),
                ..ReadOptions::default()
            },
        )
        .unwrap();
        let (g, _) = WalkGraph::from_network(&d.network, &BuildOptions::default()).unwrap();
        let homes = homes_from_osm(&d, &preset.population);
        let facilities = facilities_from_osm(&preset, &d.features);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let snapper = livingcircle_snap::Snapper::new(&g);
                    analyze(
                        &snapper,
                        &preset,
                        &homes,
                        &facilities,
                        &AnalyzeOptions::default(),
                    )
                })
        };
        let ((one, one_rows), (two, two_rows)) = (run(1), run(2));
        assert_eq!(one.cross_check_mismatches, 0, "{}", p.display());
        assert_eq!(two.cross_check_mismatches, 0, "{}", p.display());
        assert_eq!(one_rows, two_rows, "{}", p.display());
        assert_eq!(one.facilities, two.facilities, "{}", p.display());
        assert_eq!(one.gaps, two.gaps, "{}", p.display());
        assert_eq!(one.per_residence, two.per_residence, "{}", p.display());
    }
}
