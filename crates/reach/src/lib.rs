/*!
The search engine: exact bounded walking distances on a [`WalkGraph`].

* [`search`]: one bounded Dijkstra from a set of seeds (node, initial cost), on the
  forward or backward adjacency, in integer millimetres, reusing a per-thread
  [`Scratch`] (generation-stamped distances: no allocation and no O(V) clearing per
  query).
* [`per_residence`]: for every residence, every target (facility) within the budget
  with its exact walking distance. One search per distinct end node of the residences'
  edges, in parallel (rayon, per-thread scratch); residences on one edge share their
  two end searches and no node is searched twice.
* [`multi_source`]: one search from all targets of a set at once on the backward
  adjacency: every node's distance *to* the nearest of them. Used for nearest-facility
  questions and as a cross-check of [`per_residence`].
* [`reach_from_spot`]: the reached edges (and reached parts of frontier edges) from
  one place, the input for isochrone polygons.

A place on the network is a [`Spot`]: an edge, an offset from its `u` end and an
off-network leg. The walking distance between two spots is
`leg(a) + along-edge and network distance + leg(b)`.

# Example
```
use livingcircle_graph::{BuildOptions, WalkGraph};
use livingcircle_osm::{WalkWay, rules::FootDirection};
use livingcircle_reach::{Scratch, Direction, search};
let way = WalkWay { way_id: 1, nodes: vec![1, 2, 3], coords: vec![[11.0, 48.0], [11.001, 48.0], [11.002, 48.0]],
    direction: FootDirection::Both, highway: "footway".into(), name: None };
let (g, _) = WalkGraph::build(&[way], &BuildOptions::default()).unwrap();
let mut s = Scratch::new(g.node_count());
search(&g, Direction::Forward, &[(0, 0)], 1_000_000, &mut s);
assert_eq!(s.settled().len(), 2);
assert_eq!(s.dist(1), Some(g.edge(0).length_mm));
```
*/

mod batch;
mod ch;
mod queue;
mod radix;
mod spots;
mod stamped;

pub use batch::{
    ManyToMany, PerResidence, PerThread, multi_source, nearest_from_node_distances, per_residence,
    search_many, source_nodes,
};
pub use ch::{Ch, UpScratch};
pub use spots::{EdgeReach, Spot, Targets, reach_from_spot, search_from_spot, stretches_within};

use livingcircle_graph::{NodeId, WalkGraph};
use queue::Queue;
use stamped::Stamped;

/// Which way arcs are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the seeds outwards, as a pedestrian walks.
    Forward,
    /// Towards the seeds (distances *to* them), on reversed arcs.
    Backward,
}

/// Work counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Searches run.
    pub searches: u64,
    /// Nodes settled.
    pub settled: u64,
    /// Arcs relaxed (looked at from a settled node).
    pub relaxed: u64,
}

impl std::ops::AddAssign for SearchStats {
    fn add_assign(&mut self, o: Self) {
        self.searches += o.searches;
        self.settled += o.settled;
        self.relaxed += o.relaxed;
    }
}

impl std::ops::Sub for SearchStats {
    type Output = SearchStats;
    /// The work done between two readings of the same counters.
    fn sub(self, o: Self) -> Self {
        SearchStats {
            searches: self.searches - o.searches,
            settled: self.settled - o.settled,
            relaxed: self.relaxed - o.relaxed,
        }
    }
}

/// Reusable per-thread search state.
pub struct Scratch {
    dist: Stamped,
    queue: Queue,
    settled: Vec<NodeId>,
    /// Counters accumulated over every search run with this scratch.
    pub stats: SearchStats,
}

impl Scratch {
    /// Scratch for a graph of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Scratch {
            dist: Stamped::new(nodes),
            queue: Queue::default(),
            settled: Vec::new(),
            stats: SearchStats::default(),
        }
    }

    /// Distance found by the last search, if the node was reached within the budget.
    #[inline]
    pub fn dist(&self, n: NodeId) -> Option<u32> {
        self.dist.get(n as usize)
    }

    /// Nodes settled by the last search, in settling (distance) order.
    pub fn settled(&self) -> &[NodeId] {
        &self.settled
    }

    pub(crate) fn reset(&mut self) {
        self.dist.reset();
        self.queue.clear();
        self.settled.clear();
    }
}

/// Bounded Dijkstra: settles every node whose distance from the nearest seed
/// (plus that seed's initial cost) is at most `budget` millimetres.
///
/// # Complexity
/// O((V' + E') log V') for the V' nodes and E' arcs within the budget; nothing
/// outside the ball is touched.
pub fn search(
    g: &WalkGraph,
    dir: Direction,
    seeds: &[(NodeId, u32)],
    budget: u32,
    s: &mut Scratch,
) {
    let adj = match dir {
        Direction::Forward => g.forward(),
        Direction::Backward => g.backward(),
    };
    s.reset();
    for &(n, c) in seeds {
        if c <= budget && s.dist.lower(n as usize, c) {
            s.queue.push(c, n);
        }
    }
    let mut relaxed = 0u64;
    while let Some((d, n)) = s.queue.pop() {
        if d > s.dist.get_or_max(n as usize) {
            continue;
        }
        s.settled.push(n);
        let arcs = adj.arcs(n);
        relaxed += arcs.len() as u64;
        for &(m, len) in arcs {
            let nd = d.saturating_add(len);
            if nd <= budget && s.dist.lower(m as usize, nd) {
                s.queue.push(nd, m);
            }
        }
    }
    s.stats.searches += 1;
    s.stats.settled += s.settled.len() as u64;
    s.stats.relaxed += relaxed;
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
