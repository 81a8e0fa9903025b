//! `livingcircle graph`: the walking graph and its exchange files.

use std::collections::BTreeMap;
use std::time::Instant;

use livingcircle_export as export;
use livingcircle_osm::PoiFilter;
use serde_json::json;

use crate::args::{Global, GraphArgs};
use crate::load::{ensure_dir, load};
use crate::progress::Stages;

/// Main tags by which facility candidates are counted in the summary.
const MAIN_KEYS: &[&str] = &[
    "amenity",
    "shop",
    "leisure",
    "healthcare",
    "office",
    "social_facility",
    "public_transport",
    "railway",
    "highway",
];

pub(crate) fn run(global: &Global, a: &GraphArgs) -> anyhow::Result<()> {
    ensure_dir(&a.out)?;
    let stages = Stages::new(global.quiet || a.json);
    let city = load(&a.osm, PoiFilter::default(), &stages)?;
    stages.stage("writing the graph");
    let t = Instant::now();
    let g = &city.graph;
    let formats = &a.format.format.0;
    let staging = livingcircle::staging::Staging::new(&a.out, "graph")?;
    let out = staging.dir();
    let layers = export::Layers::create(out, formats, export::GPKG_NAME)?;
    export::write_network(g, &layers, formats)?;
    export::write_nodes(g, &layers, &livingcircle::layers::table_formats(formats))?;
    if formats.contains(&export::Format::GeoJson) {
        export::write_nodes_csv(g, &out.join("nodes.csv"))?;
        export::write_edges_csv(g, &out.join("edges.csv"))?;
    }
    layers.finish()?;
    staging.commit()?;
    let write_s = t.elapsed().as_secs_f64();

    let mut by_tag: BTreeMap<String, u64> = BTreeMap::new();
    for f in &city.data.features {
        if let Some((k, v)) = f
            .tags
            .0
            .iter()
            .find(|(k, _)| MAIN_KEYS.contains(&k.as_str()))
        {
            *by_tag.entry(format!("{k}={v}")).or_default() += 1;
        }
    }
    let s = &city.data.stats;
    let r = &city.report;
    let summary = json!({
        "file": city.path.display().to_string(),
        "file_bytes": s.file_bytes,
        "ways_read": s.ways,
        "nodes_read": s.nodes,
        "relations_read": s.relations,
        "highway_ways": s.highway_ways,
        "walkable_ways": s.walkable_ways,
        "missing_node_refs": s.missing_node_refs,
        "ways_cut": s.ways_cut,
        "nodes": r.nodes,
        "edges": r.edges,
        "km": (r.km * 1000.0).round() / 1000.0,
        "components": r.components,
        "components_dropped": r.components_dropped,
        "nodes_dropped": r.nodes_dropped,
        "edges_dropped": r.edges_dropped,
        "parallel_edges": r.parallel_edges,
        "self_loops": r.self_loops,
        "oneway_edges": r.oneway_edges,
        "facility_candidates": s.features,
        "residences": s.residences.iter().sum::<u64>(),
        "residences_by_source": {
            "building": s.residences[0],
            "building_yes_in_residential_area": s.residences[1],
            "residential_area": s.residences[2],
        },
        "broken_areas": s.broken_areas,
        "broken_rings": s.broken_rings,
        "facilities_by_tag": by_tag,
        "layers": livingcircle::layers::summary(formats, &livingcircle::layers::graph()),
        "seconds": { "read": city.read_s, "build": city.build_s, "write": write_s },
        "out": a.out.display().to_string(),
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    if global.quiet {
        return Ok(());
    }
    outln!("{}", city.path.display());
    outln!(
        "  ways read {}, highway {}, walkable {} ({} cut at {} missing node refs)",
        s.ways,
        s.highway_ways,
        s.walkable_ways,
        s.ways_cut,
        s.missing_node_refs
    );
    outln!(
        "  graph: {} nodes, {} edges, {:.1} km; {} components, {} dropped ({} nodes, {} edges)",
        r.nodes,
        r.edges,
        r.km,
        r.components,
        r.components_dropped,
        r.nodes_dropped,
        r.edges_dropped
    );
    outln!(
        "  {} parallel edges kept, {} loops, {} one-way edges",
        r.parallel_edges,
        r.self_loops,
        r.oneway_edges
    );
    outln!(
        "  residences {} (buildings {}, building=yes in residential areas {}, residential areas {})",
        s.residences.iter().sum::<u64>(),
        s.residences[0],
        s.residences[1],
        s.residences[2]
    );
    if s.broken_areas + s.broken_rings > 0 {
        outln!(
            "  areas left out: {} whose outline does not close or misses nodes; {} rings of multipolygons kept without them",
            s.broken_areas,
            s.broken_rings
        );
    }
    let top: Vec<String> = {
        let mut v: Vec<_> = by_tag.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter().take(12).map(|(k, n)| format!("{k} {n}")).collect()
    };
    outln!("  facility candidates {}: {}", s.features, top.join(", "));
    outln!(
        "  read {:.3} s, build {:.3} s, write {:.3} s -> {}",
        city.read_s,
        city.build_s,
        write_s,
        a.out.display()
    );
    Ok(())
}
