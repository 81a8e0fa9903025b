//! Building the graph from walkable ways.

use livingcircle_osm::proj::{EARTH_RADIUS_M, LocalProjection, haversine_m};
use livingcircle_osm::{WalkNetwork, WalkWay, rules::FootDirection};
use petgraph::unionfind::UnionFind;
use rayon::prelude::*;

use crate::{Adjacency, Edge, EdgeId, Error, NodeId, WalkGraph, hilbert};

/// Options for [`WalkGraph::build`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Keep every connected component, not only the largest.
    pub keep_all_components: bool,
}

/// What [`WalkGraph::build`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildReport {
    /// OSM segments (consecutive node pairs) read.
    pub segments: u64,
    /// Nodes kept.
    pub nodes: u64,
    /// Edges kept.
    pub edges: u64,
    /// Length of kept edges in kilometres.
    pub km: f64,
    /// Connected components before filtering (ignoring `oneway:foot`).
    pub components: u64,
    /// Components dropped.
    pub components_dropped: u64,
    /// Nodes in dropped components.
    pub nodes_dropped: u64,
    /// Edges in dropped components.
    pub edges_dropped: u64,
    /// Kept edges that share both end nodes with an earlier kept edge (kept, not merged).
    pub parallel_edges: u64,
    /// Kept edges whose two ends are the same node (closed loops).
    pub self_loops: u64,
    /// Kept edges that may be walked one way only.
    pub oneway_edges: u64,
}

struct Seg {
    a: u32,
    b: u32,
    piece: u32,
}

/// An edge while building: its geometry is `coords[start..start + len]`, read
/// backwards when `reversed`.
struct RawEdge {
    u: u32,
    v: u32,
    length_m: f64,
    oneway: bool,
    reversed: bool,
    piece: u32,
    start: u32,
    len: u32,
}

impl WalkGraph {
    /// Builds the graph from one [`WalkWay`] per piece (tests and synthetic cities);
    /// see [`WalkGraph::from_network`].
    ///
    /// # Errors
    /// [`Error::NoWalkableWays`] when `ways` hold no segment.
    pub fn build(ways: &[WalkWay], opts: &BuildOptions) -> Result<(WalkGraph, BuildReport), Error> {
        Self::from_network(&WalkNetwork::from_ways(ways), opts)
    }

    /// Builds the graph. Parallel edges are kept (each has its own geometry, which
    /// snapping and isochrones need); the search simply relaxes both.
    ///
    /// # Errors
    /// [`Error::NoWalkableWays`] when the network holds no segment.
    ///
    /// # Complexity
    /// O(S + N log N + E log E) for S segments, N kept nodes and E edges; the sorts
    /// are of nodes (Hilbert order) and edges, not of segments.
    pub fn from_network(
        net: &WalkNetwork,
        opts: &BuildOptions,
    ) -> Result<(WalkGraph, BuildReport), Error> {
        let ids = &net.node_osm;
        let coord = &net.node_lonlat;
        let n_local = ids.len();
        let mut segs = Vec::with_capacity(net.refs.len());
        for p in 0..net.piece_count() {
            for pair in net.piece_refs(p).windows(2) {
                if pair[0] == pair[1] {
                    continue;
                }
                segs.push(Seg {
                    a: pair[0],
                    b: pair[1],
                    piece: p as u32,
                });
            }
        }
        if segs.is_empty() {
            return Err(Error::NoWalkableWays);
        }
        let direction = |piece: u32| net.pieces[piece as usize].direction;
        // Incidence lists (CSR) of segments per node.
        let mut deg = vec![0u32; n_local + 1];
        for s in &segs {
            deg[s.a as usize] += 1;
            deg[s.b as usize] += 1;
        }
        let mut first = vec![0u32; n_local + 1];
        for i in 0..n_local {
            first[i + 1] = first[i] + deg[i];
        }
        let mut fill = first.clone();
        let mut inc = vec![0u32; first[n_local] as usize];
        for (i, s) in segs.iter().enumerate() {
            for n in [s.a, s.b] {
                inc[fill[n as usize] as usize] = i as u32;
                fill[n as usize] += 1;
            }
        }
        drop(fill);
        // Junctions, way ends and nodes next to one-way pieces stay; the rest of the
        // degree-2 nodes are contracted away.
        let mut keep: Vec<bool> = (0..n_local)
            .map(|n| {
                if deg[n] != 2 {
                    return true;
                }
                let (s1, s2) = (
                    &segs[inc[first[n] as usize] as usize],
                    &segs[inc[first[n] as usize + 1] as usize],
                );
                s1.piece != s2.piece
                    && (direction(s1.piece) != FootDirection::Both
                        || direction(s2.piece) != FootDirection::Both)
            })
            .collect();
        drop(deg);

        // Segment lengths, in parallel (the trigonometry dominates the build).
        let seg_len: Vec<f64> = segs
            .par_iter()
            .with_min_len(4096)
            .map(|s| haversine_m(coord[s.a as usize], coord[s.b as usize]))
            .collect();
        // Walk the chains; their node sequences go into one flat list.
        let mut used = vec![false; segs.len()];
        let mut raw: Vec<RawEdge> = Vec::new();
        let mut chain: Vec<u32> = Vec::with_capacity(segs.len() + n_local);
        let mut per_piece: Vec<(u32, f64)> = Vec::new();
        let mut walk_from =
            |start: u32, seg0: u32, keep: &[bool], used: &mut Vec<bool>, raw: &mut Vec<RawEdge>| {
                let at = chain.len();
                chain.push(start);
                per_piece.clear();
                let mut length_m = 0.0;
                let mut oneway = false;
                let mut cur = start;
                let mut seg = seg0;
                loop {
                    used[seg as usize] = true;
                    let s = &segs[seg as usize];
                    let next = if s.a == cur { s.b } else { s.a };
                    let forward_in_way = s.a == cur;
                    let d = seg_len[seg as usize];
                    length_m += d;
                    match per_piece.last_mut() {
                        Some((p, l)) if *p == s.piece => *l += d,
                        _ => per_piece.push((s.piece, d)),
                    }
                    // A one-way chain lies within one piece; remember its orientation.
                    let dir = direction(s.piece);
                    if dir != FootDirection::Both {
                        oneway = true;
                    }
                    let reversed = (dir == FootDirection::Forward && !forward_in_way)
                        || (dir == FootDirection::Backward && forward_in_way);
                    chain.push(next);
                    cur = next;
                    if keep[cur as usize] {
                        let piece = per_piece
                            .iter()
                            .fold(
                                (u32::MAX, -1.0),
                                |best, &(p, l)| if l > best.1 { (p, l) } else { best },
                            )
                            .0;
                        let flip = oneway && reversed;
                        raw.push(RawEdge {
                            u: if flip { cur } else { start },
                            v: if flip { start } else { cur },
                            length_m,
                            oneway,
                            reversed: flip,
                            piece,
                            start: at as u32,
                            len: (chain.len() - at) as u32,
                        });
                        return;
                    }
                    let (i0, i1) = (
                        inc[first[cur as usize] as usize],
                        inc[first[cur as usize] as usize + 1],
                    );
                    seg = if i0 == seg { i1 } else { i0 };
                }
            };
        for n in 0..n_local as u32 {
            if !keep[n as usize] {
                continue;
            }
            for k in first[n as usize]..first[n as usize + 1] {
                let s = inc[k as usize];
                if !used[s as usize] {
                    walk_from(n, s, &keep, &mut used, &mut raw);
                }
            }
        }
        // Closed loops with no junction at all: anchor them at their lowest node.
        for s in 0..segs.len() {
            if !used[s] {
                let a = segs[s].a.min(segs[s].b);
                keep[a as usize] = true;
                let s0 = inc[first[a as usize] as usize];
                walk_from(a, s0, &keep, &mut used, &mut raw);
            }
        }
        drop((used, seg_len, inc, first, segs));
        // A chain's geometry, from `u` to `v`.
        let geometry = |e: &RawEdge, out: &mut Vec<[f64; 2]>| {
            let c = &chain[e.start as usize..(e.start + e.len) as usize];
            if e.reversed {
                out.extend(c.iter().rev().map(|&n| coord[n as usize]));
            } else {
                out.extend(c.iter().map(|&n| coord[n as usize]));
            }
        };
        let geometry_bits = |e: &RawEdge| {
            let mut v = Vec::with_capacity(e.len as usize);
            geometry(e, &mut v);
            v.into_iter()
                .flatten()
                .map(f64::to_bits)
                .collect::<Vec<u64>>()
        };

        // Components (weak connectivity), with petgraph's union-find.
        let mut uf = UnionFind::<u32>::new(n_local);
        for e in &raw {
            uf.union(e.u, e.v);
        }
        let labels = uf.into_labeling();
        let mut size = vec![0u64; n_local];
        for (n, &k) in keep.iter().enumerate() {
            if k {
                size[labels[n] as usize] += 1;
            }
        }
        let components = size.iter().filter(|&&s| s > 0).count() as u64;
        // Largest by node count; ties go to the component with the lowest OSM node id,
        // which is the first in `ids` order.
        let mut best = None;
        for (n, &k) in keep.iter().enumerate() {
            if !k {
                continue;
            }
            let c = labels[n] as usize;
            if best.is_none_or(|b: usize| size[c] > size[b]) {
                best = Some(c);
            }
        }
        let best = best.expect("at least one edge");
        let in_kept = |n: u32| opts.keep_all_components || labels[n as usize] as usize == best;
        let mut report = BuildReport {
            segments: (chain.len() - raw.len()) as u64,
            components,
            ..BuildReport::default()
        };
        if !opts.keep_all_components {
            report.components_dropped = components - 1;
            report.nodes_dropped = size.iter().sum::<u64>() - size[best];
            report.edges_dropped = raw.iter().filter(|e| !in_kept(e.u)).count() as u64;
        }
        raw.retain(|e| in_kept(e.u));

        // Renumber kept nodes along a Hilbert curve of their projected position.
        let mut nodes: Vec<u32> = (0..n_local as u32)
            .filter(|&n| keep[n as usize] && in_kept(n))
            .collect();
        drop((keep, labels, size));
        let proj = LocalProjection::centred_on(nodes.iter().map(|&n| coord[n as usize]));
        // The order only needs nearby nodes near each other: an equirectangular
        // frame at the centre (cheaper than the graph's, and the node numbering of
        // earlier versions).
        let [lon0, lat0] = proj.origin();
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        let kx = ky * lat0.to_radians().cos();
        let xy: Vec<[f64; 2]> = nodes
            .par_iter()
            .map(|&n| {
                let [lon, lat] = coord[n as usize];
                let mut d = lon - lon0;
                if d > 180.0 {
                    d -= 360.0;
                } else if d < -180.0 {
                    d += 360.0;
                }
                [d * kx, (lat - lat0) * ky]
            })
            .collect();
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &xy {
            minx = minx.min(p[0]);
            miny = miny.min(p[1]);
            maxx = maxx.max(p[0]);
            maxy = maxy.max(p[1]);
        }
        let scale = 65535.0 / (maxx - minx).max(maxy - miny).max(1e-9);
        let mut order: Vec<(u64, i64, u32)> = nodes
            .par_iter()
            .zip(&xy)
            .map(|(&n, p)| {
                let hx = ((p[0] - minx) * scale) as u32;
                let hy = ((p[1] - miny) * scale) as u32;
                (hilbert::index(hx, hy), ids[n as usize], n)
            })
            .collect();
        drop(xy);
        order.par_sort_unstable();
        nodes = order.iter().map(|o| o.2).collect();
        drop(order);
        let mut new_id = vec![u32::MAX; n_local];
        for (i, &n) in nodes.iter().enumerate() {
            new_id[n as usize] = i as u32;
        }
        for e in &mut raw {
            e.u = new_id[e.u as usize];
            e.v = new_id[e.v as usize];
        }
        drop(new_id);
        // Edge order: by first node, then second, then length, then OSM way id, then
        // geometry.
        let key = |e: &RawEdge| {
            (
                e.u.min(e.v),
                e.u.max(e.v),
                e.u,
                e.length_m.to_bits(),
                net.pieces[e.piece as usize].way_id,
            )
        };
        raw.par_sort_by(|a, b| {
            key(a)
                .cmp(&key(b))
                .then_with(|| geometry_bits(a).cmp(&geometry_bits(b)))
        });

        let node_count = nodes.len();
        let points: usize = raw.iter().map(|e| e.len as usize).sum();
        let mut g = WalkGraph {
            proj,
            node_osm: nodes.iter().map(|&n| ids[n as usize]).collect(),
            node_lonlat: nodes.iter().map(|&n| coord[n as usize]).collect(),
            node_xy: nodes
                .par_iter()
                .map(|&n| proj.project(coord[n as usize]))
                .collect(),
            edges: Vec::with_capacity(raw.len()),
            geom_first: Vec::with_capacity(raw.len() + 1),
            geom_lonlat: Vec::with_capacity(points),
            geom_xy: Vec::new(),
            strings: net.strings.clone(),
            forward: Adjacency::default(),
            backward: Adjacency::default(),
        };
        g.geom_first.push(0);
        let mut last_pair = None;
        for e in &raw {
            let piece = &net.pieces[e.piece as usize];
            let length_mm = (e.length_m * 1000.0).round().min(f64::from(u32::MAX - 1)) as u32;
            let pair = (e.u.min(e.v), e.u.max(e.v));
            report.parallel_edges += u64::from(last_pair == Some(pair));
            last_pair = Some(pair);
            report.self_loops += u64::from(e.u == e.v);
            report.oneway_edges += u64::from(e.oneway);
            g.edges.push(Edge {
                u: e.u,
                v: e.v,
                length_mm,
                oneway: e.oneway,
                way_id: piece.way_id,
                highway: piece.highway,
                name: piece.name,
            });
            geometry(e, &mut g.geom_lonlat);
            g.geom_first.push(g.geom_lonlat.len() as u32);
        }
        g.geom_xy = g
            .geom_lonlat
            .par_iter()
            .with_min_len(4096)
            .map(|&c| proj.project(c))
            .collect();
        g.forward = adjacency(node_count, &g.edges, false);
        g.backward = adjacency(node_count, &g.edges, true);
        report.nodes = node_count as u64;
        report.edges = g.edges.len() as u64;
        report.km = g.total_length_m() / 1000.0;
        Ok((g, report))
    }
}

/// Freezes edges into a CSR. `reverse` gives arcs entering each node.
fn adjacency(n: usize, edges: &[Edge], reverse: bool) -> Adjacency {
    let mut arcs: Vec<(NodeId, NodeId, u32, EdgeId)> = Vec::with_capacity(edges.len() * 2);
    for (i, e) in edges.iter().enumerate() {
        let (from, to) = if reverse { (e.v, e.u) } else { (e.u, e.v) };
        arcs.push((from, to, e.length_mm, i as EdgeId));
        if !e.oneway && e.u != e.v {
            arcs.push((to, from, e.length_mm, i as EdgeId));
        }
    }
    arcs.sort_unstable_by_key(|a| (a.0, a.1, a.2, a.3));
    let mut first = vec![0u32; n + 1];
    for a in &arcs {
        first[a.0 as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    Adjacency {
        first,
        edge: arcs.iter().map(|a| a.3).collect(),
        arcs: arcs.iter().map(|a| (a.1, a.2)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way(id: i64, nodes: &[i64], dir: FootDirection) -> WalkWay {
        // Node k sits at (k * 0.001, (k % 3) * 0.0005) degrees.
        WalkWay {
            way_id: id,
            nodes: nodes.to_vec(),
            coords: nodes
                .iter()
                .map(|&k| [k as f64 * 0.001, (k % 3) as f64 * 0.0005])
                .collect(),
            direction: dir,
            highway: "footway".into(),
            name: None,
        }
    }

    #[test]
    fn chains_contract_across_ways_and_keep_geometry() {
        // 1-2-3 and 3-4-5 meet only at 3 (degree 2): one edge 1..5 with 5 points.
        let ways = [
            way(1, &[1, 2, 3], FootDirection::Both),
            way(2, &[3, 4, 5], FootDirection::Both),
        ];
        let (g, r) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
        assert_eq!((g.node_count(), g.edge_count()), (2, 1));
        assert_eq!(g.edge_lonlat(0).len(), 5);
        let expect: f64 = ways
            .iter()
            .flat_map(|w| w.coords.windows(2))
            .map(|p| haversine_m(p[0], p[1]))
            .sum();
        assert_eq!(g.edge(0).length_mm, (expect * 1000.0).round() as u32);
        assert_eq!(r.segments, 4);
    }

    #[test]
    fn largest_component_is_kept_and_rest_reported() {
        let ways = [
            way(1, &[1, 2, 3, 4], FootDirection::Both),
            way(2, &[2, 9], FootDirection::Both),
            way(3, &[20, 21], FootDirection::Both),
        ];
        let (g, r) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
        assert_eq!(r.components, 2);
        assert_eq!(r.components_dropped, 1);
        assert_eq!((r.nodes_dropped, r.edges_dropped), (2, 1));
        assert_eq!(g.node_count(), 4);
        let all = BuildOptions {
            keep_all_components: true,
        };
        let (g, r) = WalkGraph::build(&ways, &all).unwrap();
        assert_eq!(r.components_dropped, 0);
        assert_eq!(g.node_count(), 6);
    }

    #[test]
    fn oneway_foot_keeps_direction() {
        let ways = [
            way(1, &[1, 2, 3], FootDirection::Forward),
            way(2, &[3, 4, 1], FootDirection::Both),
        ];
        let (g, r) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
        assert_eq!(r.oneway_edges, 1);
        let e = g.edges().iter().find(|e| e.oneway).unwrap();
        assert_eq!(g.node_osm_id(e.u), 1);
        assert_eq!(g.node_osm_id(e.v), 3);
        // Forward adjacency: 1 -> 3 exists; 3 -> 1 only via the other edge.
        assert_eq!(g.forward().arc_count(), 3);
        assert_eq!(g.petgraph().edge_count(), 3);
        assert_eq!(g.forward().arc_count(), g.backward().arc_count());
        let back = [
            way(1, &[1, 2, 3], FootDirection::Backward),
            way(2, &[3, 4, 1], FootDirection::Both),
        ];
        let (g, _) = WalkGraph::build(&back, &BuildOptions::default()).unwrap();
        let e = g.edges().iter().find(|e| e.oneway).unwrap();
        assert_eq!((g.node_osm_id(e.u), g.node_osm_id(e.v)), (3, 1));
        assert_eq!(g.edge_lonlat(0).len() + g.edge_lonlat(1).len(), 6);
    }

    #[test]
    fn closed_loop_without_junction_becomes_a_self_loop() {
        let ways = [way(1, &[1, 2, 3, 1], FootDirection::Both)];
        let (g, r) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
        assert_eq!((g.node_count(), g.edge_count(), r.self_loops), (1, 1, 1));
        assert_eq!(g.edge_lonlat(0).len(), 4);
    }

    #[test]
    fn parallel_edges_are_kept() {
        let ways = [
            way(1, &[1, 2, 3], FootDirection::Both),
            way(2, &[1, 4, 3], FootDirection::Both),
            way(3, &[3, 5], FootDirection::Both),
            way(4, &[6, 1], FootDirection::Both),
        ];
        let (g, r) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
        assert_eq!(
            (g.node_count(), g.edge_count(), r.parallel_edges),
            (4, 4, 1)
        );
    }

    #[test]
    fn no_segments_is_an_error() {
        assert!(matches!(
            WalkGraph::build(&[], &BuildOptions::default()),
            Err(Error::NoWalkableWays)
        ));
    }
}
