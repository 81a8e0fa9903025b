//! Places on the network and how they attach to nodes.

use livingcircle_graph::{EdgeId, NodeId, WalkGraph};

use crate::radix::{radix_sorted, starts};
use crate::{Direction, Scratch, search};

/// A place on the network: a point on an edge plus an off-network leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spot {
    /// The edge it snapped to.
    pub edge: EdgeId,
    /// Distance along the edge from `u`, in millimetres (at most the edge length).
    pub offset_mm: u32,
    /// Off-network distance in millimetres, added to every walk from or to it.
    pub leg_mm: u32,
}

impl Spot {
    /// `(node, cost)` pairs to leave the spot: along its edge to `u` (unless the
    /// edge is one-way) and to `v`, each including the leg.
    pub fn exits(&self, g: &WalkGraph) -> [(NodeId, u32, bool); 2] {
        let e = g.edge(self.edge);
        [
            (e.u, self.leg_mm.saturating_add(self.offset_mm), !e.oneway),
            (
                e.v,
                self.leg_mm.saturating_add(e.length_mm - self.offset_mm),
                true,
            ),
        ]
    }

    /// `(node, cost)` pairs to arrive at the spot: from `u` along the edge, and from
    /// `v` unless the edge is one-way; each including the leg.
    pub fn entries(&self, g: &WalkGraph) -> [(NodeId, u32, bool); 2] {
        let e = g.edge(self.edge);
        [
            (e.u, self.leg_mm.saturating_add(self.offset_mm), true),
            (
                e.v,
                self.leg_mm.saturating_add(e.length_mm - self.offset_mm),
                !e.oneway,
            ),
        ]
    }

    /// Walking distance between two spots on the same edge, along it, legs included
    /// (`None` when the edge is one-way against the walk or they are on other edges).
    pub fn same_edge_mm(&self, to: &Spot, g: &WalkGraph) -> Option<u32> {
        if self.edge != to.edge {
            return None;
        }
        let along = if to.offset_mm >= self.offset_mm {
            to.offset_mm - self.offset_mm
        } else if g.edge(self.edge).oneway {
            return None;
        } else {
            self.offset_mm - to.offset_mm
        };
        Some(self.leg_mm.saturating_add(along).saturating_add(to.leg_mm))
    }
}

impl From<&livingcircle_snap::Snap> for Spot {
    /// The place a snap found: its edge and offset, its distance as the leg.
    fn from(s: &livingcircle_snap::Snap) -> Self {
        Spot {
            edge: s.edge,
            offset_mm: s.offset_mm,
            leg_mm: s.leg_mm(),
        }
    }
}

/// A set of target spots (facilities) indexed for searching: per node, the targets
/// reachable from it along an incident edge; per edge, the targets on it; per
/// meeting point (edge and offset), the targets there, which differ only in their legs.
///
/// Searches report *ids*: each target's own by default ([`Targets::new`]), or its
/// owner's ([`Targets::grouped`]: an area facility's many access points are one id,
/// reached at the nearest of them).
pub struct Targets {
    spots: Vec<Spot>,
    /// The id each target reports as...
    owner: Vec<u32>,
    /// ...out of `0..ids`.
    ids: usize,
    /// Whether ids are owners (else each target is its own).
    grouped: bool,
    /// For owners, their targets: `owned[owned_first[o]..owned_first[o + 1]]`.
    owned_first: Vec<u32>,
    owned: Vec<u32>,
    node_first: Vec<u32>,
    node_hits: Vec<(u32, u32)>,
    /// Target ids by meeting point, each point's by leg (smallest first)...
    point_members: Vec<u32>,
    /// ...point `k` being `point_members[point_first[k]..point_first[k + 1]]`.
    point_first: Vec<u32>,
    edge_first: Vec<u32>,
    edge_hits: Vec<u32>,
}

impl Targets {
    /// Indexes `spots` (their order gives the target ids; each reports as itself).
    pub fn new(g: &WalkGraph, spots: Vec<Spot>) -> Self {
        let owner = (0..spots.len() as u32).collect();
        let ids = spots.len();
        Self::build(g, spots, owner, ids, false)
    }

    /// Indexes `spots`, target `t` reporting as `owner[t]` (ids `0..ids`): searches
    /// give each owner once, at the distance of its nearest target, and start one
    /// search from all of an owner's targets where the engine searches from targets.
    ///
    /// # Panics
    /// When `owner` and `spots` differ in length or an owner is `ids` or more.
    pub fn grouped(g: &WalkGraph, spots: Vec<Spot>, owner: Vec<u32>, ids: usize) -> Self {
        assert_eq!(owner.len(), spots.len(), "one owner per target");
        assert!(
            owner.iter().all(|&o| (o as usize) < ids),
            "owners below ids"
        );
        Self::build(g, spots, owner, ids, true)
    }

    fn build(g: &WalkGraph, spots: Vec<Spot>, owner: Vec<u32>, ids: usize, grouped: bool) -> Self {
        let owned_first = starts(owner.iter().copied(), ids);
        let owned = radix_sorted(0..spots.len() as u32, spots.len(), |&t| owner[t as usize]);
        let mut by_node: Vec<(NodeId, u32, u32)> = Vec::new();
        let mut by_edge: Vec<(EdgeId, u32)> = Vec::new();
        for (i, s) in spots.iter().enumerate() {
            for (n, c, ok) in s.entries(g) {
                if ok {
                    by_node.push((n, i as u32, c));
                }
            }
            by_edge.push((s.edge, i as u32));
        }
        by_node.sort_unstable();
        by_edge.sort_unstable();
        let mut point_members: Vec<u32> = (0..spots.len() as u32).collect();
        point_members.sort_unstable_by_key(|&t| {
            let s = &spots[t as usize];
            (s.edge, s.offset_mm, s.leg_mm, t)
        });
        let mut point_first = vec![0u32];
        for (i, w) in point_members.windows(2).enumerate() {
            let (a, b) = (&spots[w[0] as usize], &spots[w[1] as usize]);
            if (a.edge, a.offset_mm) != (b.edge, b.offset_mm) {
                point_first.push(i as u32 + 1);
            }
        }
        if !point_members.is_empty() {
            point_first.push(point_members.len() as u32);
        }
        Targets {
            owner,
            ids,
            grouped,
            owned_first,
            owned,
            point_members,
            point_first,
            node_first: starts(by_node.iter().map(|x| x.0), g.node_count()),
            node_hits: by_node.iter().map(|x| (x.1, x.2)).collect(),
            edge_first: starts(by_edge.iter().map(|x| x.0), g.edge_count()),
            edge_hits: by_edge.iter().map(|x| x.1).collect(),
            spots,
        }
    }

    /// The spots, by target id.
    pub fn spots(&self) -> &[Spot] {
        &self.spots
    }

    /// Number of targets.
    pub fn len(&self) -> usize {
        self.spots.len()
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.spots.is_empty()
    }

    /// Number of ids searches report (owners, or targets).
    pub fn ids(&self) -> usize {
        self.ids
    }

    /// The id target `t` reports as.
    #[inline]
    pub fn id_of(&self, t: u32) -> u32 {
        self.owner[t as usize]
    }

    /// Whether ids are owners ([`Targets::grouped`]).
    pub(crate) fn is_grouped(&self) -> bool {
        self.grouped
    }

    /// The targets of owner `o` ([`Targets::grouped`]).
    #[inline]
    pub(crate) fn owned(&self, o: usize) -> &[u32] {
        &self.owned[self.owned_first[o] as usize..self.owned_first[o + 1] as usize]
    }

    /// `(target, cost)` for targets entered from node `n` along an incident edge.
    #[inline]
    pub fn at_node(&self, n: NodeId) -> &[(u32, u32)] {
        let n = n as usize;
        &self.node_hits[self.node_first[n] as usize..self.node_first[n + 1] as usize]
    }

    /// Targets on edge `e`.
    #[inline]
    pub fn on_edge(&self, e: EdgeId) -> &[u32] {
        let e = e as usize;
        &self.edge_hits[self.edge_first[e] as usize..self.edge_first[e + 1] as usize]
    }

    /// Number of distinct meeting points (edge and offset) of the targets.
    pub(crate) fn points(&self) -> usize {
        self.point_first.len().saturating_sub(1)
    }

    /// The targets at meeting point `k`, by leg (smallest first).
    #[inline]
    pub(crate) fn at_point(&self, k: usize) -> &[u32] {
        &self.point_members[self.point_first[k] as usize..self.point_first[k + 1] as usize]
    }
}

/// A reached stretch of an edge: fractions `start..end` of its length from `u`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdgeReach {
    /// The edge.
    pub edge: EdgeId,
    /// Start of the reached stretch, as a fraction of the edge from `u` (0..=1).
    pub start: f64,
    /// End of the reached stretch (`start..=1`).
    pub end: f64,
}

/// Every stretch of network reached from `spot` within `budget_mm` (leg included),
/// sorted by edge then start. Fully reached edges give `0..1`; frontier edges give
/// the part reached from either end; the spot's own edge gives the part around it.
///
/// Afterwards the scratch holds the node distances of the search, so
/// [`stretches_within`] can give the stretches of any smaller budget.
pub fn reach_from_spot(
    g: &WalkGraph,
    spot: &Spot,
    budget_mm: u32,
    s: &mut Scratch,
) -> Vec<EdgeReach> {
    search_from_spot(g, spot, budget_mm, s);
    stretches_within(g, spot, s, budget_mm)
}

/// The bounded search of [`reach_from_spot`] alone: afterwards the scratch holds
/// the node distances from `spot` (leg included) for [`stretches_within`].
pub fn search_from_spot(g: &WalkGraph, spot: &Spot, budget_mm: u32, s: &mut Scratch) {
    if spot.leg_mm > budget_mm {
        s.reset();
        return;
    }
    search(
        g,
        Direction::Forward,
        &Seeds::usable(spot.exits(g)),
        budget_mm,
        s,
    );
}

/// The usable `(node, cost)` pairs of a spot's [`Spot::exits`] or [`Spot::entries`],
/// as search seeds, without allocating.
pub(crate) struct Seeds {
    pairs: [(NodeId, u32); 2],
    len: usize,
}

impl Seeds {
    pub(crate) fn usable(ends: [(NodeId, u32, bool); 2]) -> Self {
        let mut seeds = Seeds {
            pairs: [(0, 0); 2],
            len: 0,
        };
        for (node, cost, ok) in ends {
            if ok {
                seeds.pairs[seeds.len] = (node, cost);
                seeds.len += 1;
            }
        }
        seeds
    }
}

impl IntoIterator for Seeds {
    type Item = (NodeId, u32);
    type IntoIter = std::iter::Take<std::array::IntoIter<(NodeId, u32), 2>>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter().take(self.len)
    }
}

impl std::ops::Deref for Seeds {
    type Target = [(NodeId, u32)];
    fn deref(&self) -> &Self::Target {
        &self.pairs[..self.len]
    }
}

/// The stretches reached within `budget_mm`, from the node distances of the last
/// [`search_from_spot`] (or [`reach_from_spot`]) in `s` (which must have used a budget of at least
/// `budget_mm`, from the same spot).
pub fn stretches_within(g: &WalkGraph, spot: &Spot, s: &Scratch, budget_mm: u32) -> Vec<EdgeReach> {
    let mut out = Vec::new();
    if spot.leg_mm > budget_mm {
        return out;
    }
    // The spot's own edge, around the spot.
    let own = g.edge(spot.edge);
    let left = budget_mm - spot.leg_mm;
    if own.length_mm > 0 {
        let len = f64::from(own.length_mm);
        let lo = if own.oneway {
            spot.offset_mm
        } else {
            spot.offset_mm.saturating_sub(left)
        };
        let hi = spot.offset_mm.saturating_add(left).min(own.length_mm);
        out.push(EdgeReach {
            edge: spot.edge,
            start: f64::from(lo) / len,
            end: f64::from(hi) / len,
        });
    }
    let adj = g.forward();
    for &n in s.settled() {
        let d = s.dist(n).expect("settled nodes have a distance");
        if d > budget_mm {
            // Settled in distance order: nothing further is within this budget.
            break;
        }
        let left = budget_mm - d;
        for (&(_, len), &e) in adj.arcs(n).iter().zip(adj.edges(n)) {
            if len == 0 {
                out.push(EdgeReach {
                    edge: e,
                    start: 0.0,
                    end: 1.0,
                });
                continue;
            }
            let f = (f64::from(left) / f64::from(len)).min(1.0);
            let edge = g.edge(e);
            if edge.u == n {
                out.push(EdgeReach {
                    edge: e,
                    start: 0.0,
                    end: f,
                });
            }
            if edge.v == n {
                out.push(EdgeReach {
                    edge: e,
                    start: 1.0 - f,
                    end: 1.0,
                });
            }
        }
    }
    sort_stretches(&mut out);
    out
}

/// Sorts stretches by edge, then start, then end: a stable radix sort on the edge id,
/// then a sort within each edge's few stretches. Several times faster than a
/// comparison sort on the thousands of stretches of a 15-minute walk.
fn sort_stretches(v: &mut Vec<EdgeReach>) {
    *v = radix_sorted(v.iter().copied(), v.len(), |r| r.edge);
    // Fractions are in 0..=1, where f64 bit patterns order like the values.
    let key = |r: &EdgeReach| (r.start.to_bits(), r.end.to_bits());
    for run in v.chunk_by_mut(|a, b| a.edge == b.edge) {
        run.sort_unstable_by_key(key);
    }
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    /// The radix pass itself is tested in `radix.rs`; here, the order within an
    /// edge (many stretches on few edges).
    #[test]
    fn stretches_sort_by_edge_then_start_then_end() {
        let mut rnd = crate::reference::xorshift(99);
        let mut v: Vec<EdgeReach> = (0..3_000)
            .map(|_| {
                let a = (rnd() % 1_000) as f64 / 1_000.0;
                let b = (rnd() % 1_000) as f64 / 1_000.0;
                EdgeReach {
                    edge: (rnd() % 40) as u32,
                    start: a.min(b),
                    end: a.max(b),
                }
            })
            .collect();
        let mut want = v.clone();
        want.sort_by(|a, b| {
            (a.edge, a.start, a.end)
                .partial_cmp(&(b.edge, b.start, b.end))
                .unwrap()
        });
        sort_stretches(&mut v);
        assert_eq!(v, want);
    }
}
