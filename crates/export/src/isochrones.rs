//! The columns of the isochrone layer (`isochrones`, `analyze --isochrones`).

use livingcircle_analysis::Preset;

use crate::schema::{Field, GeometryType, Schema, Type};

/// What an isochrone layer holds besides the preset's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoColumns {
    /// Thresholds were given in minutes: `threshold_min` (and `from_min`).
    pub minutes: bool,
    /// Rings between consecutive thresholds: `from_m` (and `from_min`).
    pub rings: bool,
}

/// The columns of `isochrones`: one (Multi)Polygon per place and threshold.
pub fn isochrones_schema(preset: &Preset, c: IsoColumns) -> Schema {
    isochrones_fields(
        preset
            .categories
            .iter()
            .map(|k| (k.key.clone(), k.name.clone()))
            .collect(),
        c,
    )
}

/// `isochrones` as README documents it (every optional column, `<category>_count`).
pub fn isochrones_schema_doc() -> Schema {
    isochrones_fields(
        vec![("<category>".into(), "the category".into())],
        IsoColumns {
            minutes: true,
            rings: true,
        },
    )
}

fn isochrones_fields(cats: Vec<(String, String)>, c: IsoColumns) -> Schema {
    let mut f = vec![
        Field::new("id", Type::Text).doc(
            "",
            "the place: a residence's OSM object (`w123`), its `id` in the `--residences` file, else its index; \
             a `--points` row's `id`, else the row from 0; with `analyze --isochrones` the residence's `id`",
        ),
        Field::new("name", Type::Text).doc("", "its name"),
    ];
    if c.minutes {
        f.push(
            Field::new("threshold_min", Type::Float).doc("min", "walking time to the outer edge"),
        );
        if c.rings {
            f.push(
                Field::new("from_min", Type::Float)
                    .doc("min", "walking time to the inner edge (`--rings`)"),
            );
        }
    }
    f.push(Field::new("threshold_m", Type::Float).doc("m", "walking distance to the outer edge"));
    if c.rings {
        f.push(
            Field::new("from_m", Type::Float)
                .doc("m", "walking distance to the inner edge (`--rings`)"),
        );
    }
    f.push(Field::new("area_m2", Type::Float).doc("m²", "area of the polygon (rounded to 1 m²)"));
    f.push(Field::new("network_m", Type::Float).doc("m", "length of the network reached"));
    f.push(
        Field::new("population", Type::Float)
            .doc("people", "residents whose snapped point is reached"),
    );
    for (key, name) in &cats {
        f.push(
            Field::new(format!("{key}_count"), Type::Int)
                .doc("facilities", format!("facilities of {name} reached")),
        );
    }
    Schema {
        name: "isochrones".into(),
        geometry: GeometryType::MultiPolygon,
        fields: f,
    }
}
