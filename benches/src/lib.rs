//! Shared helpers for the benchmarks: seeded synthetic street grids and data paths.

use std::path::{Path, PathBuf};

use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};

/// The repository's `data/` directory.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(rel)
}

/// `../shared/data/<name>` when present.
pub fn shared(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(name);
    p.is_file().then_some(p)
}

/// A seeded, irregular street grid of about `nodes` junctions: blocks of ~80 m with
/// jittered corners, one street in eight missing, and a bend in every street (so
/// degree-2 contraction has work to do).
///
/// ```
/// let g = livingcircle_benches::grid_city(400, 42);
/// assert!(g.node_count() > 300 && g.node_count() <= 400);
/// ```
pub fn grid_city(nodes: usize, seed: u64) -> WalkGraph {
    let side = (nodes as f64).sqrt().round() as i64;
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let deg_per_m_lat = 1.0 / 111_195.0;
    let deg_per_m_lon = deg_per_m_lat / 45f64.to_radians().cos();
    let mut at = Vec::with_capacity((side * side) as usize);
    for j in 0..side {
        for i in 0..side {
            let (dx, dy) = ((rnd() - 0.5) * 20.0, (rnd() - 0.5) * 20.0);
            at.push([
                10.0 + (i as f64 * 80.0 + dx) * deg_per_m_lon,
                45.0 + (j as f64 * 80.0 + dy) * deg_per_m_lat,
            ]);
        }
    }
    let id = |i: i64, j: i64| j * side + i + 1;
    let mut ways = Vec::new();
    let mut bend_id = side * side + 1;
    for j in 0..side {
        for i in 0..side {
            for (di, dj) in [(1, 0), (0, 1)] {
                let (i2, j2) = (i + di, j + dj);
                if i2 >= side || j2 >= side || rnd() < 0.125 {
                    continue;
                }
                let (a, b) = (at[(id(i, j) - 1) as usize], at[(id(i2, j2) - 1) as usize]);
                let mid = [
                    (a[0] + b[0]) / 2.0 + (rnd() - 0.5) * 10.0 * deg_per_m_lon,
                    (a[1] + b[1]) / 2.0 + (rnd() - 0.5) * 10.0 * deg_per_m_lat,
                ];
                ways.push(WalkWay {
                    way_id: ways.len() as i64 + 1,
                    nodes: vec![id(i, j), bend_id, id(i2, j2)],
                    coords: vec![a, mid, b],
                    direction: FootDirection::Both,
                    highway: "residential".into(),
                    name: None,
                });
                bend_id += 1;
            }
        }
    }
    WalkGraph::build(&ways, &BuildOptions::default())
        .expect("a grid has streets")
        .0
}
