//! Presets: which facilities a standard asks for and how far away they may be.

use serde::Deserialize;
use toml::Spanned;

use crate::TagExpr;
use crate::population::PopulationModel;

/// The presets built into the binary: `(name, TOML source)`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "gb50180",
        include_str!("../../../data/presets/gb50180.toml"),
    ),
    (
        "complete-community",
        include_str!("../../../data/presets/complete-community.toml"),
    ),
    ("15min", include_str!("../../../data/presets/15min.toml")),
];

/// A preset that does not parse or validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PresetError {
    /// The file (or `builtin:<name>`).
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong and what would be valid.
    pub message: String,
}

/// A facility category.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// `[a-z0-9_]+`, unique in the preset.
    pub key: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: Option<String>,
    /// A facility belongs to the category when any expression matches.
    pub tags: Vec<TagExpr>,
    /// Threshold in metres, when given in metres.
    pub max_m: Option<f64>,
    /// Threshold in minutes, when given in minutes.
    pub max_min: Option<f64>,
    /// Living-circle level: 5, 10 or 15.
    pub level: Option<u8>,
    /// Where the rule comes from.
    pub source: Option<String>,
}

impl Category {
    /// Threshold in metres at `speed_kmh`.
    pub fn threshold_m(&self, speed_kmh: f64) -> f64 {
        self.max_m
            .unwrap_or_else(|| self.max_min.unwrap_or(0.0) * speed_kmh * 1000.0 / 60.0)
    }

    /// Threshold in minutes at `speed_kmh`.
    pub fn threshold_min(&self, speed_kmh: f64) -> f64 {
        self.max_min
            .unwrap_or_else(|| self.max_m.unwrap_or(0.0) / (speed_kmh * 1000.0 / 60.0))
    }

    /// Whether an object with these tags belongs to the category.
    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        self.tags.iter().any(|e| e.matches(tags))
    }
}

/// A parsed preset.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Display name.
    pub name: String,
    /// Chinese name.
    pub name_zh: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Walking speed the preset suggests.
    pub speed_kmh: Option<f64>,
    /// Categories, in file order.
    pub categories: Vec<Category>,
    /// How OSM residences' populations are estimated (`[population]`; default:
    /// [`PopulationModel::CHINA`]).
    pub population: PopulationModel,
    /// Where it came from (`builtin:<name>` or a path).
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    name: String,
    name_zh: Option<String>,
    description: Option<String>,
    speed_kmh: Option<Spanned<f64>>,
    #[serde(default)]
    category: Vec<Spanned<RawCategory>>,
    population: Option<RawPopulation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    persons_per_flat: Option<Spanned<f64>>,
    floor_m2_per_person: Option<Spanned<f64>>,
    /// Where the figures come from: accepted for the reader, not used.
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    key: Spanned<String>,
    name: String,
    name_zh: Option<String>,
    tags: Vec<Spanned<String>>,
    max_m: Option<Spanned<f64>>,
    max_min: Option<Spanned<f64>>,
    level: Option<Spanned<u8>>,
    source: Option<String>,
}

impl Preset {
    /// The index of the category `key`; otherwise a message naming it, the preset
    /// (by origin) and the valid keys — the one wording every input check uses.
    pub fn category_index(&self, key: &str) -> Result<usize, String> {
        self.categories
            .iter()
            .position(|c| c.key == key)
            .ok_or_else(|| {
                format!(
                    "unknown category `{key}` for preset {}; valid: {}",
                    self.origin,
                    self.category_keys()
                )
            })
    }

    /// The category keys, comma-separated.
    pub fn category_keys(&self) -> String {
        let keys: Vec<&str> = self.categories.iter().map(|c| c.key.as_str()).collect();
        keys.join(", ")
    }

    /// Names of the built-in presets.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// A built-in preset by name, or a TOML file by path.
    ///
    /// # Errors
    /// Unknown name, unreadable file, or an invalid preset.
    pub fn load(name_or_path: &str) -> Result<Self, PresetError> {
        if let Some((n, src)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(src, &format!("builtin:{n}"));
        }
        let path = std::path::Path::new(name_or_path);
        if !name_or_path.ends_with(".toml") && !path.exists() {
            return Err(PresetError {
                file: name_or_path.to_owned(),
                line: None,
                message: format!(
                    "unknown preset; valid: {}, or a path to a .toml file",
                    Self::builtin_names().join(", ")
                ),
            });
        }
        let src = std::fs::read_to_string(path).map_err(|e| PresetError {
            file: name_or_path.to_owned(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&src, name_or_path)
    }

    /// Parses and validates a preset's TOML.
    ///
    /// ```
    /// use livingcircle_analysis::Preset;
    /// let p = Preset::parse(r#"
    /// name = "Mini"
    /// [[category]]
    /// key = "kindergarten"
    /// name = "Kindergarten"
    /// tags = ["amenity=kindergarten"]
    /// max_m = 300
    /// "#, "mini.toml").unwrap();
    /// assert_eq!(p.categories[0].threshold_m(4.0), 300.0);
    /// let err = Preset::parse("name = \"x\"\n[[category]]\nkey = \"a\"\nname = \"A\"\ntags = []\n", "x.toml").unwrap_err();
    /// assert_eq!(err.line, Some(2));
    /// ```
    ///
    /// # Errors
    /// TOML syntax, unknown keys, duplicate category keys, both or neither of
    /// `max_m`/`max_min`, bad levels, bad tag expressions.
    pub fn parse(src: &str, file: &str) -> Result<Self, PresetError> {
        let line_of = |pos: usize| src[..pos.min(src.len())].matches('\n').count() + 1;
        let err = |pos: Option<usize>, message: String| PresetError {
            file: file.to_owned(),
            line: pos.map(line_of),
            message,
        };
        let raw: RawPreset = toml::from_str(src).map_err(|e| {
            let msg = e.message().to_owned();
            let hint = if msg.contains("unknown field") {
                " (preset keys: name, name_zh, description, speed_kmh, [population], [[category]]; population keys: persons_per_flat, floor_m2_per_person, source; category keys: key, name, name_zh, tags, max_m, max_min, level, source)"
            } else {
                ""
            };
            err(e.span().map(|s| s.start), format!("{msg}{hint}"))
        })?;
        if let Some(s) = &raw.speed_kmh
            && !(s.get_ref().is_finite() && *s.get_ref() > 0.0)
        {
            return Err(err(
                Some(s.span().start),
                "speed_kmh must be a positive number".into(),
            ));
        }
        let mut population = PopulationModel::default();
        if let Some(p) = &raw.population {
            for (v, what, slot) in [
                (
                    &p.persons_per_flat,
                    "persons_per_flat",
                    &mut population.persons_per_flat,
                ),
                (
                    &p.floor_m2_per_person,
                    "floor_m2_per_person",
                    &mut population.floor_m2_per_person,
                ),
            ] {
                if let Some(s) = v {
                    if !(s.get_ref().is_finite() && *s.get_ref() > 0.0) {
                        return Err(err(
                            Some(s.span().start),
                            format!("population.{what} must be a positive number"),
                        ));
                    }
                    *slot = *s.get_ref();
                }
            }
        }
        if raw.category.is_empty() {
            return Err(err(
                None,
                "no [[category]]: a preset needs at least one".into(),
            ));
        }
        let mut categories: Vec<Category> = Vec::new();
        let mut first_line: Vec<usize> = Vec::new();
        for c in raw.category {
            let at = c.span().start;
            let c = c.into_inner();
            let key = c.key.get_ref();
            let key_at = Some(c.key.span().start);
            if key.is_empty()
                || !key
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            {
                return Err(err(
                    key_at,
                    format!("category key `{key}` must match [a-z0-9_]+"),
                ));
            }
            if let Some(i) = categories.iter().position(|x| &x.key == key) {
                return Err(err(
                    key_at,
                    format!(
                        "duplicate category key `{key}` (first used at line {})",
                        first_line[i]
                    ),
                ));
            }
            let positive =
                |v: &Option<Spanned<f64>>, what: &str| -> Result<Option<f64>, PresetError> {
                    match v {
                        Some(s) if !(s.get_ref().is_finite() && *s.get_ref() > 0.0) => Err(err(
                            Some(s.span().start),
                            format!("{what} must be a positive number"),
                        )),
                        Some(s) => Ok(Some(*s.get_ref())),
                        None => Ok(None),
                    }
                };
            let (max_m, max_min) = (
                positive(&c.max_m, "max_m")?,
                positive(&c.max_min, "max_min")?,
            );
            if max_m.is_some() == max_min.is_some() {
                return Err(err(
                    Some(at),
                    format!(
                        "category `{key}`: give exactly one of max_m (metres) or max_min (minutes), not {}",
                        if max_m.is_some() { "both" } else { "neither" }
                    ),
                ));
            }
            if let Some(l) = &c.level
                && ![5, 10, 15].contains(l.get_ref())
            {
                return Err(err(
                    Some(l.span().start),
                    format!(
                        "category `{key}`: level {} is not one of 5, 10, 15",
                        l.get_ref()
                    ),
                ));
            }
            if c.tags.is_empty() {
                return Err(err(Some(at), format!("category `{key}`: tags is empty")));
            }
            let mut tags = Vec::new();
            for t in &c.tags {
                tags.push(
                    TagExpr::parse(t.get_ref())
                        .map_err(|m| err(Some(t.span().start), format!("category `{key}`: {m}")))?,
                );
            }
            first_line.push(line_of(at));
            categories.push(Category {
                key: key.clone(),
                name: c.name,
                name_zh: c.name_zh,
                tags,
                max_m,
                max_min,
                level: c.level.map(|l| *l.get_ref()),
                source: c.source,
            });
        }
        Ok(Preset {
            name: raw.name,
            name_zh: raw.name_zh,
            description: raw.description,
            speed_kmh: raw.speed_kmh.map(|s| *s.get_ref()),
            categories,
            population,
            origin: file.to_owned(),
        })
    }

    /// A reader filter that keeps every object any category could match.
    pub fn poi_filter(&self) -> livingcircle_osm::PoiFilter {
        let mut specs: Vec<String> = Vec::new();
        for c in &self.categories {
            for e in &c.tags {
                let first = &e.0[0];
                let s = match first {
                    crate::Cond::Eq(k, v) => format!("{k}={}", v.join("|")),
                    _ => format!("{}=*", first.key()),
                };
                if !specs.contains(&s) {
                    specs.push(s);
                }
            }
        }
        livingcircle_osm::PoiFilter::parse(specs.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "name = \"T\"\n[[category]]\nkey = \"a\"\nname = \"A\"\ntags = [\"amenity=x\"]\nmax_m = 300\n";

    #[test]
    fn builtins_parse() {
        for n in Preset::builtin_names() {
            let p = Preset::load(n).unwrap();
            assert!(!p.categories.is_empty(), "{n}");
        }
    }

    #[test]
    fn population_model_per_preset() {
        let china = PopulationModel::CHINA;
        assert_eq!(Preset::load("gb50180").unwrap().population, china);
        assert_eq!(
            Preset::load("complete-community").unwrap().population,
            china
        );
        let eu = Preset::load("15min").unwrap().population;
        assert_eq!((eu.persons_per_flat, eu.floor_m2_per_person), (2.2, 40.0));
        // Without [population]: the default; one key given, the other default.
        assert_eq!(Preset::parse(OK, "p.toml").unwrap().population, china);
        let p = Preset::parse(
            &format!("{OK}[population]\npersons_per_flat = 3.1\n"),
            "p.toml",
        )
        .unwrap()
        .population;
        assert_eq!((p.persons_per_flat, p.floor_m2_per_person), (3.1, 40.0));
        let e = Preset::parse(
            &format!("{OK}[population]\nfloor_m2_per_person = -5\n"),
            "p.toml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(8), "{e}");
        assert!(
            e.to_string()
                .contains("floor_m2_per_person must be a positive"),
            "{e}"
        );
        let e = Preset::parse(&format!("{OK}[population]\nflats = 2\n"), "p.toml").unwrap_err();
        assert!(e.to_string().contains("persons_per_flat"), "{e}");
    }

    #[test]
    fn unknown_key_names_line_and_choices() {
        let e = Preset::parse(&format!("{OK}colour = 1\n"), "p.toml").unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.to_string().contains("max_min"), "{e}");
        assert!(e.to_string().starts_with("p.toml:7:"), "{e}");
    }

    #[test]
    fn duplicate_key() {
        let src = format!(
            "{OK}[[category]]\nkey = \"a\"\nname = \"B\"\ntags = [\"amenity=y\"]\nmax_m = 5\n"
        );
        let e = Preset::parse(&src, "p.toml").unwrap_err();
        assert_eq!(e.line, Some(8));
        assert!(
            e.message.contains("duplicate") && e.message.contains("line 2"),
            "{e}"
        );
    }

    #[test]
    fn both_or_neither_threshold() {
        let both = OK.replace("max_m = 300", "max_m = 300\nmax_min = 5");
        assert!(
            Preset::parse(&both, "p")
                .unwrap_err()
                .message
                .contains("both")
        );
        let neither = OK.replace("max_m = 300\n", "");
        let e = Preset::parse(&neither, "p").unwrap_err();
        assert!(e.message.contains("neither"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn bad_level_key_and_tags() {
        assert!(
            Preset::parse(&format!("{OK}level = 7\n"), "p")
                .unwrap_err()
                .message
                .contains("5, 10, 15")
        );
        assert!(
            Preset::parse(&OK.replace("key = \"a\"", "key = \"A b\""), "p")
                .unwrap_err()
                .message
                .contains("[a-z0-9_]+")
        );
        assert!(Preset::parse(&OK.replace("amenity=x", "amenity"), "p").is_err());
        assert!(
            Preset::load("nonexistent")
                .unwrap_err()
                .message
                .contains("gb50180")
        );
    }

    #[test]
    fn minutes_and_metres() {
        let p = Preset::parse(&OK.replace("max_m = 300", "max_min = 15"), "p").unwrap();
        assert!((p.categories[0].threshold_m(4.8) - 1200.0).abs() < 1e-9);
    }
}
