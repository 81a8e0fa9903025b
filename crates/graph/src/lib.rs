/*!
The walking graph.

[`WalkGraph::build`] turns walkable ways into a graph whose nodes are junctions and
way ends: chains of degree-2 nodes become one edge that keeps its full geometry, and
its cost is the length of that geometry on the sphere, in whole millimetres. The graph
is frozen into a compact forward and backward adjacency (CSR) for the search engine;
[`WalkGraph::petgraph`] gives it as a `petgraph` directed graph (one arc per walkable
direction) on demand.

Nodes are numbered along a Hilbert curve so that a walking-distance ball touches few
cache lines; edges are numbered by their first node.

# Example
```
use livingcircle_graph::{WalkGraph, BuildOptions};
use livingcircle_osm::{WalkWay, rules::FootDirection};
let way = |id, nodes: Vec<i64>, coords: Vec<[f64; 2]>| WalkWay {
    way_id: id, nodes, coords, direction: FootDirection::Both,
    highway: "footway".into(), name: None,
};
// A T junction: way 1 runs 1-2-3, way 2 runs 2-4.
let ways = vec![
    way(1, vec![1, 2, 3], vec![[0.0, 0.0], [0.001, 0.0], [0.002, 0.0]]),
    way(2, vec![2, 4], vec![[0.001, 0.0], [0.001, 0.001]]),
];
let (g, report) = WalkGraph::build(&ways, &BuildOptions::default()).unwrap();
assert_eq!((g.node_count(), g.edge_count()), (4, 3));
assert_eq!(report.components, 1);
```
*/

mod build;
mod hilbert;

pub use build::{BuildOptions, BuildReport};

use livingcircle_osm::proj::LocalProjection;
use petgraph::graph::{DiGraph, NodeIndex};

/// Index of a graph node.
pub type NodeId = u32;
/// Index of a graph edge (as in `edges.csv`).
pub type EdgeId = u32;

/// Why a graph could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is nothing to walk on.
    #[error(
        "no walkable ways (the extract has no footways, paths or streets a pedestrian may use)"
    )]
    NoWalkableWays,
}

/// One edge: a chain of OSM segments between two junctions or way ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// First node.
    pub u: NodeId,
    /// Last node.
    pub v: NodeId,
    /// Length in millimetres (haversine on the mean Earth radius, summed per segment).
    pub length_mm: u32,
    /// Only walkable from `u` to `v` (`oneway:foot`).
    pub oneway: bool,
    /// The OSM way that contributes most of its length.
    pub way_id: i64,
    /// That way's `highway` value, as an index into [`WalkGraph::string`].
    pub highway: u32,
    /// That way's name, as an index into [`WalkGraph::string`].
    pub name: Option<u32>,
}

/// A compact adjacency: for each node, its arcs `(head, cost)` and their edge ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjacency {
    first: Vec<u32>,
    arcs: Vec<(NodeId, u32)>,
    edge: Vec<EdgeId>,
}

impl Adjacency {
    /// Arcs leaving (or, for the backward adjacency, entering) `n`: `(other end, mm)`.
    #[inline]
    pub fn arcs(&self, n: NodeId) -> &[(NodeId, u32)] {
        let n = n as usize;
        &self.arcs[self.first[n] as usize..self.first[n + 1] as usize]
    }

    /// The edge ids of [`Adjacency::arcs`], in the same order.
    #[inline]
    pub fn edges(&self, n: NodeId) -> &[EdgeId] {
        let n = n as usize;
        &self.edge[self.first[n] as usize..self.first[n + 1] as usize]
    }

    /// Number of arcs.
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    fn heap_bytes(&self) -> usize {
        self.first.capacity() * 4 + self.arcs.capacity() * 8 + self.edge.capacity() * 4
    }
}

/// The walking graph of a study area.
#[derive(Debug, Clone)]
pub struct WalkGraph {
    proj: LocalProjection,
    node_osm: Vec<i64>,
    node_lonlat: Vec<[f64; 2]>,
    node_xy: Vec<[f64; 2]>,
    edges: Vec<Edge>,
    geom_first: Vec<u32>,
    geom_lonlat: Vec<[f64; 2]>,
    geom_xy: Vec<[f64; 2]>,
    strings: Vec<String>,
    forward: Adjacency,
    backward: Adjacency,
}

impl WalkGraph {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_osm.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// The local metric projection of the study area.
    pub fn projection(&self) -> &LocalProjection {
        &self.proj
    }

    /// OSM node id of a graph node.
    pub fn node_osm_id(&self, n: NodeId) -> i64 {
        self.node_osm[n as usize]
    }

    /// `[lon, lat]` of a node.
    pub fn node_lonlat(&self, n: NodeId) -> [f64; 2] {
        self.node_lonlat[n as usize]
    }

    /// `[x, y]` metres of a node in [`WalkGraph::projection`].
    pub fn node_xy(&self, n: NodeId) -> [f64; 2] {
        self.node_xy[n as usize]
    }

    /// An edge.
    pub fn edge(&self, e: EdgeId) -> &Edge {
        &self.edges[e as usize]
    }

    /// All edges, indexed by [`EdgeId`].
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Whether every edge is walkable both ways (no `oneway:foot`): then every arc has
    /// its reverse at the same length.
    pub fn two_way(&self) -> bool {
        !self.edges.iter().any(|e| e.oneway)
    }

    /// The edge's geometry in `[lon, lat]`, from `u` to `v`.
    pub fn edge_lonlat(&self, e: EdgeId) -> &[[f64; 2]] {
        let e = e as usize;
        &self.geom_lonlat[self.geom_first[e] as usize..self.geom_first[e + 1] as usize]
    }

    /// The edge's geometry in projected metres, from `u` to `v`.
    pub fn edge_xy(&self, e: EdgeId) -> &[[f64; 2]] {
        let e = e as usize;
        &self.geom_xy[self.geom_first[e] as usize..self.geom_first[e + 1] as usize]
    }

    /// Arcs in walking direction.
    pub fn forward(&self) -> &Adjacency {
        &self.forward
    }

    /// Arcs against walking direction (for searches towards a target set).
    pub fn backward(&self) -> &Adjacency {
        &self.backward
    }

    /// The graph as a `petgraph` graph, built on demand: one arc per walkable
    /// direction, weighted by its [`EdgeId`]. Node indices equal [`NodeId`]s.
    pub fn petgraph(&self) -> DiGraph<(), EdgeId, u32> {
        let mut g = DiGraph::with_capacity(self.node_count(), self.forward.arc_count());
        for _ in 0..self.node_count() {
            g.add_node(());
        }
        for (i, e) in self.edges.iter().enumerate() {
            let (u, v) = (NodeIndex::new(e.u as usize), NodeIndex::new(e.v as usize));
            g.add_edge(u, v, i as EdgeId);
            if !e.oneway && e.u != e.v {
                g.add_edge(v, u, i as EdgeId);
            }
        }
        g
    }

    /// An interned string ([`Edge::highway`], [`Edge::name`]).
    pub fn string(&self, s: u32) -> &str {
        &self.strings[s as usize]
    }

    /// The `highway` value of an edge.
    pub fn edge_highway(&self, e: EdgeId) -> &str {
        self.string(self.edges[e as usize].highway)
    }

    /// The name of an edge, if it has one.
    pub fn edge_name(&self, e: EdgeId) -> Option<&str> {
        self.edges[e as usize].name.map(|n| self.string(n))
    }

    /// Heap bytes the graph holds (its arrays' capacities).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.node_osm.capacity() * 8
            + (self.node_lonlat.capacity() + self.node_xy.capacity()) * 16
            + self.edges.capacity() * size_of::<Edge>()
            + self.geom_first.capacity() * 4
            + (self.geom_lonlat.capacity() + self.geom_xy.capacity()) * 16
            + self.strings.iter().map(String::capacity).sum::<usize>()
            + self.forward.heap_bytes()
            + self.backward.heap_bytes()
    }

    /// Total length of all edges in metres.
    pub fn total_length_m(&self) -> f64 {
        self.edges
            .iter()
            .map(|e| f64::from(e.length_mm) / 1000.0)
            .sum()
    }
}
