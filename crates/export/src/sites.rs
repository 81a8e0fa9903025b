//! The siting layers: chosen sites and the residences they newly cover.

use livingcircle_analysis::{Home, Preset, m1, pct, r1};
use livingcircle_graph::WalkGraph;
use livingcircle_site::Plan;

use crate::schema::{Field, GeometryType, RowBuf, Rows, Schema, Type, Value};

/// The columns of `sites`: one feature per chosen site, in rank order; `category`
/// makes the file a valid facilities input, and `analyze --facilities sites.geojson`
/// reaches each site where `site` did. A point site is the point that was snapped;
/// an area site (candidates with polygons) its outline, so the layer is
/// [`GeometryType::Mixed`] when `areas`, else Point.
pub fn sites_schema(areas: bool) -> Schema {
    Schema {
        name: "sites".into(),
        geometry: if areas {
            GeometryType::Mixed
        } else {
            GeometryType::Point
        },
        fields: vec![
            Field::new("rank", Type::Int).doc("", "order of choice, from 1"),
            Field::new("category", Type::Text).doc("", "the category sited (preset key)"),
            Field::new("name", Type::Text).doc("", "the candidate's name, if the file gave one"),
            Field::new("candidate_id", Type::Text)
                .doc("", "the candidate's id, if the file gave one"),
            Field::new("node", Type::Int)
                .doc("", "graph node, when the candidates are the graph's nodes"),
            Field::new("gain_residents", Type::Int)
                .doc("residences", "residences newly within the threshold"),
            Field::new("gain_population", Type::Float)
                .doc("people", "people newly within the threshold"),
            Field::new("covered_after_pct", Type::Float).doc(
                "%",
                "people within the threshold with this and the earlier sites",
            ),
            Field::new("covered_residences_after_pct", Type::Float).doc(
                "%",
                "residences within the threshold with this and the earlier sites",
            ),
            Field::new("snap_lon", Type::Float).doc("°", "where the site joins the network"),
            Field::new("snap_lat", Type::Float).doc("°", "where the site joins the network"),
            Field::new("snap_m", Type::Float).doc("m", "distance from the site to the network"),
            Field::new("access_points", Type::Int).doc(
                "",
                "where a walk may reach it: 1 for a point, an area's access points",
            ),
            Field::new("edge", Type::Int).doc(
                "",
                "the network edge it joins (`id` in `network` and `edges.csv`)",
            ),
        ],
    }
}

/// Rows of `sites`.
pub struct SiteRows<'a> {
    /// The graph (to unproject the snapped points).
    pub graph: &'a WalkGraph,
    /// The preset.
    pub preset: &'a Preset,
    /// The category sited.
    pub category: usize,
    /// The plan.
    pub plan: &'a Plan,
}

impl Rows for SiteRows<'_> {
    fn len(&self) -> usize {
        self.plan.sites.len()
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let s = &self.plan.sites[i];
        let p = self.plan;
        if s.outline.is_empty() {
            buf.coords.push(s.lonlat);
        } else {
            let mut r = 0;
            for &end in &s.polygons {
                for ring in &s.outline[r..end as usize] {
                    buf.coords.extend_from_slice(ring);
                    buf.end_ring();
                }
                buf.end_polygon();
                r = end as usize;
            }
        }
        let snapped = self.graph.projection().unproject(s.snap.xy);
        buf.values.extend([
            Value::Int(s.rank as i64),
            Value::Text(&self.preset.categories[self.category].key),
            Value::from(s.name.as_deref()),
            Value::from(s.id.as_deref()),
            Value::from(s.node.map(i64::from)),
            Value::Int(i64::from(s.gain_residences)),
            Value::Float(r1(s.gain_population)),
            Value::Float(pct(s.covered_population_after, p.population)),
            Value::Float(pct(
                f64::from(s.covered_residences_after),
                f64::from(p.residences),
            )),
            Value::Float(crate::round7(snapped[0])),
            Value::Float(crate::round7(snapped[1])),
            Value::Float(r1(s.snap.dist_m)),
            Value::Int(s.access_points as i64),
            Value::Int(i64::from(s.snap.edge)),
        ]);
    }
}

/// The columns of `site_coverage`: one Point per newly covered residence.
pub fn site_coverage_schema() -> Schema {
    Schema {
        name: "site_coverage".into(),
        geometry: GeometryType::Point,
        fields: vec![
            Field::new("id", Type::Int).doc("", "the residence (`id` of `residences`)"),
            Field::new("osm_id", Type::Text).doc("", "its OSM object, e.g. `w123`"),
            Field::new("name", Type::Text).doc("", "its name"),
            Field::new("population", Type::Float).doc("people", "its estimated population"),
            Field::new("rank", Type::Int).doc("", "the site that covers it (`rank` of `sites`)"),
            Field::new("distance_m", Type::Float).doc("m", "walking distance to that site"),
        ],
    }
}

/// Rows of `site_coverage`, site by site.
pub struct SiteCoverageRows<'a> {
    homes: &'a [Home],
    plan: &'a Plan,
    /// Rows before each site.
    starts: Vec<usize>,
}

impl<'a> SiteCoverageRows<'a> {
    /// The residences each site of `plan` newly covers.
    pub fn new(homes: &'a [Home], plan: &'a Plan) -> Self {
        let mut starts = Vec::with_capacity(plan.sites.len() + 1);
        let mut n = 0;
        for s in &plan.sites {
            starts.push(n);
            n += s.homes.len();
        }
        starts.push(n);
        SiteCoverageRows {
            homes,
            plan,
            starts,
        }
    }
}

impl Rows for SiteCoverageRows<'_> {
    fn len(&self) -> usize {
        *self.starts.last().expect("one start per site and the end")
    }

    fn row<'a>(&'a self, i: usize, buf: &mut RowBuf<'a>) {
        let k = self.starts.partition_point(|&s| s <= i) - 1;
        let s = &self.plan.sites[k];
        let (h, mm) = s.homes[i - self.starts[k]];
        let home = &self.homes[h];
        buf.coords.push(home.lonlat);
        buf.values.push(Value::Int(h as i64));
        buf.push_display(home.osm_id.as_ref().map(|o| o as &dyn std::fmt::Display));
        buf.values.extend([
            Value::from(home.name.as_deref()),
            Value::Float(home.population),
            Value::Int(s.rank as i64),
            Value::Float(m1(mm)),
        ]);
    }
}
