//! Which OSM ways a pedestrian may walk on.
//!
//! The rules are deliberately small pure functions over `(key, value)` pairs so that
//! each one can be tested on its own. They follow OSRM's `foot.lua`, GraphHopper's
//! foot profile and OSMnx's `walk` filter; where they differ, README.md says why.

/// Highway values that are walkable without any further tag.
const WALKABLE: &[&str] = &[
    "footway",
    "path",
    "pedestrian",
    "steps",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "track",
    "tertiary",
    "tertiary_link",
    "secondary",
    "secondary_link",
    "primary",
    "primary_link",
    "road",
    "corridor",
];

/// Highway values that are walkable only with an explicit foot permission.
const NEED_FOOT_PERMISSION: &[&str] = &["cycleway", "bridleway"];

/// Highway values that are walkable only with `foot=yes` (motor roads).
const NEED_FOOT_YES: &[&str] = &["motorway", "motorway_link", "trunk", "trunk_link"];

/// Direction rule for walking along a way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FootDirection {
    /// Walkable both ways (`oneway` is ignored for pedestrians).
    Both,
    /// Walkable only in the way's node order (`oneway:foot=yes`).
    Forward,
    /// Walkable only against the way's node order (`oneway:foot=-1`).
    Backward,
}

/// The verdict for one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WayClass {
    /// Not part of the walking network.
    NotWalkable,
    /// Part of the walking network.
    Walkable {
        /// Direction in which it may be walked.
        direction: FootDirection,
        /// The road says its sidewalks are mapped as separate ways.
        sidewalk_separate: bool,
    },
}

/// Options that change the walking rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkRules {
    /// Drop roads tagged `sidewalk=separate` (their sidewalks are mapped as footways).
    pub drop_sidewalk_separate: bool,
}

fn get<'a>(tags: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// `foot=yes|designated|permissive`: an explicit permission for pedestrians.
fn foot_permitted(tags: &[(&str, &str)]) -> bool {
    matches!(get(tags, "foot"), Some("yes" | "designated" | "permissive"))
}

/// Whether a node is a way into the area whose outline it lies on: `entrance=*`
/// (not `no`, `emergency` or `exit`), or a gate (`barrier=gate`, `entrance`,
/// `kissing_gate`, `swing_gate`, `lift_gate`, `sliding_gate`, `turnstile`); unless
/// it is closed to pedestrians (`access` or `foot` `no` or `private`, without a
/// foot permission).
pub fn is_entrance(tags: &[(&str, &str)]) -> bool {
    let open = match get(tags, "entrance") {
        Some("no" | "emergency" | "exit") => false,
        Some(_) => true,
        None => matches!(
            get(tags, "barrier"),
            Some(
                "gate"
                    | "entrance"
                    | "kissing_gate"
                    | "swing_gate"
                    | "lift_gate"
                    | "sliding_gate"
                    | "turnstile"
            )
        ),
    };
    let closed = matches!(get(tags, "foot"), Some("no" | "private"))
        || (matches!(get(tags, "access"), Some("no" | "private")) && !foot_permitted(tags));
    open && !closed
}

/// Whether the road's sidewalks are all mapped separately.
fn sidewalk_separate(tags: &[(&str, &str)]) -> bool {
    if matches!(get(tags, "sidewalk"), Some("separate"))
        || matches!(get(tags, "sidewalk:both"), Some("separate"))
    {
        return true;
    }
    let left = get(tags, "sidewalk:left");
    let right = get(tags, "sidewalk:right");
    matches!(left, Some("separate" | "no"))
        && matches!(right, Some("separate" | "no"))
        && (left == Some("separate") || right == Some("separate"))
}

impl WalkRules {
    /// Classifies a way from its tags.
    ///
    /// ```
    /// use livingcircle_osm::rules::{WalkRules, WayClass};
    /// let rules = WalkRules::default();
    /// assert!(matches!(rules.classify(&[("highway", "footway")]), WayClass::Walkable { .. }));
    /// assert_eq!(rules.classify(&[("highway", "motorway")]), WayClass::NotWalkable);
    /// ```
    pub fn classify(&self, tags: &[(&str, &str)]) -> WayClass {
        let Some(highway) = get(tags, "highway") else {
            return WayClass::NotWalkable;
        };
        let allowed = if WALKABLE.contains(&highway) {
            true
        } else if NEED_FOOT_PERMISSION.contains(&highway) {
            foot_permitted(tags)
        } else if NEED_FOOT_YES.contains(&highway) {
            get(tags, "foot") == Some("yes")
        } else {
            // construction, proposed, abandoned, platform, raceway, bus_guideway,
            // escape and every value not listed above.
            false
        };
        // `foot=private` closes a way to the public as `foot=no` does.
        if !allowed || matches!(get(tags, "foot"), Some("no" | "private")) {
            return WayClass::NotWalkable;
        }
        // Closed to the public, or open only to farm, forestry, delivery or
        // military traffic, unless pedestrians are let in explicitly (as OSRM's and
        // GraphHopper's foot profiles read these tags).
        if matches!(
            get(tags, "access"),
            Some("no" | "private" | "agricultural" | "forestry" | "delivery" | "military")
        ) && !foot_permitted(tags)
        {
            return WayClass::NotWalkable;
        }
        let separate = sidewalk_separate(tags);
        if separate && self.drop_sidewalk_separate {
            return WayClass::NotWalkable;
        }
        let direction = match get(tags, "oneway:foot") {
            Some("yes" | "true" | "1") => FootDirection::Forward,
            Some("-1" | "reverse") => FootDirection::Backward,
            _ => FootDirection::Both,
        };
        WayClass::Walkable {
            direction,
            sidewalk_separate: separate,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn entrances_and_gates() {
        assert!(is_entrance(&[("entrance", "main")]));
        assert!(is_entrance(&[("entrance", "yes")]));
        assert!(is_entrance(&[("barrier", "gate")]));
        assert!(is_entrance(&[("barrier", "kissing_gate")]));
        assert!(is_entrance(&[
            ("barrier", "gate"),
            ("access", "private"),
            ("foot", "yes")
        ]));
        assert!(!is_entrance(&[("barrier", "fence")]));
        assert!(!is_entrance(&[("entrance", "emergency")]));
        assert!(!is_entrance(&[("entrance", "exit")]));
        assert!(!is_entrance(&[("entrance", "no"), ("barrier", "gate")]));
        assert!(!is_entrance(&[("barrier", "gate"), ("access", "private")]));
        assert!(!is_entrance(&[("entrance", "main"), ("foot", "no")]));
        assert!(!is_entrance(&[("name", "Tor")]));
    }

    use super::*;

    fn walkable(tags: &[(&str, &str)]) -> bool {
        matches!(
            WalkRules::default().classify(tags),
            WayClass::Walkable { .. }
        )
    }

    #[test]
    fn plain_walkable_highways() {
        for v in WALKABLE {
            assert!(walkable(&[("highway", v)]), "{v}");
        }
    }

    #[test]
    fn no_highway_is_not_walkable() {
        assert!(!walkable(&[("building", "yes")]));
        assert!(!walkable(&[]));
    }

    #[test]
    fn cycleway_and_bridleway_need_foot_permission() {
        for hw in ["cycleway", "bridleway"] {
            assert!(!walkable(&[("highway", hw)]));
            assert!(!walkable(&[("highway", hw), ("foot", "no")]));
            for foot in ["yes", "designated", "permissive"] {
                assert!(walkable(&[("highway", hw), ("foot", foot)]), "{hw} {foot}");
            }
        }
    }

    #[test]
    fn motor_roads_need_foot_yes() {
        for hw in NEED_FOOT_YES {
            assert!(!walkable(&[("highway", hw)]));
            assert!(!walkable(&[("highway", hw), ("foot", "designated")]));
            assert!(walkable(&[("highway", hw), ("foot", "yes")]));
        }
    }

    #[test]
    fn excluded_highways() {
        for hw in [
            "construction",
            "proposed",
            "abandoned",
            "platform",
            "raceway",
            "bus_guideway",
            "escape",
        ] {
            assert!(!walkable(&[("highway", hw)]), "{hw}");
            assert!(!walkable(&[("highway", hw), ("foot", "yes")]), "{hw}");
        }
    }

    #[test]
    fn foot_no_wins() {
        assert!(!walkable(&[("highway", "residential"), ("foot", "no")]));
    }

    #[test]
    fn private_access_unless_foot_permitted() {
        for access in ["no", "private"] {
            assert!(!walkable(&[("highway", "service"), ("access", access)]));
            assert!(walkable(&[
                ("highway", "service"),
                ("access", access),
                ("foot", "permissive")
            ]));
        }
        assert!(walkable(&[
            ("highway", "service"),
            ("access", "destination")
        ]));
    }

    #[test]
    fn foot_private_is_not_walkable() {
        for hw in ["footway", "residential", "path", "service"] {
            assert!(!walkable(&[("highway", hw), ("foot", "private")]), "{hw}");
        }
        // Even where `access` would let everyone in.
        assert!(!walkable(&[
            ("highway", "track"),
            ("access", "yes"),
            ("foot", "private")
        ]));
    }

    #[test]
    fn access_for_farm_forestry_delivery_military_only_unless_foot_permitted() {
        for access in ["agricultural", "forestry", "delivery", "military"] {
            assert!(
                !walkable(&[("highway", "track"), ("access", access)]),
                "{access}"
            );
            assert!(
                !walkable(&[("highway", "service"), ("access", access)]),
                "{access}"
            );
            for foot in ["yes", "designated", "permissive"] {
                assert!(
                    walkable(&[("highway", "track"), ("access", access), ("foot", foot)]),
                    "{access} {foot}"
                );
            }
        }
        // Other restrictions leave pedestrians alone.
        for access in ["destination", "customers", "permissive", "yes"] {
            assert!(
                walkable(&[("highway", "service"), ("access", access)]),
                "{access}"
            );
        }
    }

    #[test]
    fn area_pedestrian_is_walked_along_its_outline() {
        assert!(walkable(&[("highway", "pedestrian"), ("area", "yes")]));
    }

    #[test]
    fn oneway_is_ignored_but_oneway_foot_is_respected() {
        let r = WalkRules::default();
        let both = WayClass::Walkable {
            direction: FootDirection::Both,
            sidewalk_separate: false,
        };
        assert_eq!(
            r.classify(&[("highway", "residential"), ("oneway", "yes")]),
            both
        );
        assert_eq!(
            r.classify(&[("highway", "footway"), ("oneway:foot", "yes")]),
            WayClass::Walkable {
                direction: FootDirection::Forward,
                sidewalk_separate: false
            }
        );
        assert_eq!(
            r.classify(&[("highway", "footway"), ("oneway:foot", "-1")]),
            WayClass::Walkable {
                direction: FootDirection::Backward,
                sidewalk_separate: false
            }
        );
    }

    #[test]
    fn sidewalk_separate_kept_by_default_dropped_on_request() {
        let tags = [("highway", "secondary"), ("sidewalk", "separate")];
        assert_eq!(
            WalkRules::default().classify(&tags),
            WayClass::Walkable {
                direction: FootDirection::Both,
                sidewalk_separate: true
            }
        );
        let drop = WalkRules {
            drop_sidewalk_separate: true,
        };
        assert_eq!(drop.classify(&tags), WayClass::NotWalkable);
        let lr = [
            ("highway", "secondary"),
            ("sidewalk:left", "separate"),
            ("sidewalk:right", "no"),
        ];
        assert_eq!(drop.classify(&lr), WayClass::NotWalkable);
        let half = [
            ("highway", "secondary"),
            ("sidewalk:left", "separate"),
            ("sidewalk:right", "yes"),
        ];
        assert!(matches!(drop.classify(&half), WayClass::Walkable { .. }));
    }
}
