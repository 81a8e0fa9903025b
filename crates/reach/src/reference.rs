//! Test oracles and helpers: a naive reference Dijkstra (O(V^2), no heap, no budget
//! tricks) and a seeded xorshift for test data.

use livingcircle_graph::{NodeId, WalkGraph};

/// Exact distances from the seeds over forward arcs; `u64::MAX` when unreachable.
pub(crate) fn dijkstra(g: &WalkGraph, seeds: &[(NodeId, u32)], backward: bool) -> Vec<u64> {
    let n = g.node_count();
    let mut dist = vec![u64::MAX; n];
    let mut done = vec![false; n];
    for &(s, c) in seeds {
        dist[s as usize] = dist[s as usize].min(u64::from(c));
    }
    while let Some(u) = (0..n)
        .filter(|&i| !done[i] && dist[i] != u64::MAX)
        .min_by_key(|&i| dist[i])
    {
        done[u] = true;
        for e in g.edges() {
            let arcs: &[(u32, u32)] = if e.oneway {
                &[(e.u, e.v)]
            } else {
                &[(e.u, e.v), (e.v, e.u)]
            };
            for &(a, b) in arcs {
                let (a, b) = if backward { (b, a) } else { (a, b) };
                if a as usize == u {
                    let nd = dist[u] + u64::from(e.length_mm);
                    if nd < dist[b as usize] {
                        dist[b as usize] = nd;
                    }
                }
            }
        }
    }
    dist
}

/// A seeded xorshift64 generator of test data (not for anything else).
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
