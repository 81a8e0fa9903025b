//! Tag expressions of the presets: `k=v`, `k=v1|v2`, `k=*`, `k~text`, joined by `&`.

use std::fmt;

/// One condition on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// The value is one of these.
    Eq(String, Vec<String>),
    /// The key is present with a value other than `no` (OSM's "not this": `shop=no`
    /// is a building without a shop).
    Any(String),
    /// The value contains one of these.
    Contains(String, Vec<String>),
}

impl Cond {
    /// The key it tests.
    pub fn key(&self) -> &str {
        match self {
            Cond::Eq(k, _) | Cond::Any(k) | Cond::Contains(k, _) => k,
        }
    }

    fn holds(&self, tags: &[(&str, &str)]) -> bool {
        let value = tags.iter().find(|(k, _)| *k == self.key()).map(|(_, v)| *v);
        match (self, value) {
            (_, None) => false,
            (Cond::Any(_), Some(v)) => v != "no",
            (Cond::Eq(_, vs), Some(v)) => vs.iter().any(|x| x == v),
            (Cond::Contains(_, vs), Some(v)) => vs.iter().any(|x| v.contains(x.as_str())),
        }
    }
}

/// All of its conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagExpr(pub Vec<Cond>);

impl TagExpr {
    /// Parses `k=v`, `k=v1|v2`, `k=*`, `k~text`, and `a=b&c~d`.
    ///
    /// ```
    /// use livingcircle_analysis::TagExpr;
    /// let e = TagExpr::parse("amenity=school&name~中学").unwrap();
    /// assert!(e.matches(&[("amenity", "school"), ("name", "南京市第一中学")]));
    /// assert!(!e.matches(&[("amenity", "school"), ("name", "小学")]));
    /// assert!(TagExpr::parse("amenity").is_err());
    /// ```
    ///
    /// # Errors
    /// A part without `=` or `~`, or with an empty key or value.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut conds = Vec::new();
        for part in s.split('&') {
            let part = part.trim();
            let (key, op, val) = match (part.find('='), part.find('~')) {
                (Some(i), Some(j)) if j < i => (&part[..j], '~', &part[j + 1..]),
                (Some(i), _) => (&part[..i], '=', &part[i + 1..]),
                (None, Some(j)) => (&part[..j], '~', &part[j + 1..]),
                (None, None) => {
                    return Err(format!(
                        "`{part}` is not a tag condition; write key=value, key=v1|v2, key=* or key~text"
                    ));
                }
            };
            let (key, val) = (key.trim(), val.trim());
            if key.is_empty() || val.is_empty() {
                return Err(format!("`{part}` has an empty key or value"));
            }
            let vals: Vec<String> = val.split('|').map(|v| v.trim().to_owned()).collect();
            if vals.iter().any(String::is_empty) {
                return Err(format!("`{part}` has an empty alternative"));
            }
            conds.push(match op {
                '=' if val == "*" => Cond::Any(key.to_owned()),
                '=' => Cond::Eq(key.to_owned(), vals),
                _ => Cond::Contains(key.to_owned(), vals),
            });
        }
        Ok(TagExpr(conds))
    }

    /// Whether every condition holds.
    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        self.0.iter().all(|c| c.holds(tags))
    }
}

impl fmt::Display for TagExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            match c {
                Cond::Eq(k, v) => write!(f, "{k}={}", v.join("|"))?,
                Cond::Any(k) => write!(f, "{k}=*")?,
                Cond::Contains(k, v) => write!(f, "{k}~{}", v.join("|"))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = [("amenity", "clinic"), ("healthcare", "clinic")];
        assert!(TagExpr::parse("amenity=clinic").unwrap().matches(&t));
        assert!(
            TagExpr::parse("amenity=doctors|clinic")
                .unwrap()
                .matches(&t)
        );
        assert!(TagExpr::parse("healthcare=*").unwrap().matches(&t));
        assert!(!TagExpr::parse("shop=*").unwrap().matches(&t));
        // `key=no` is the key's absence.
        assert!(!TagExpr::parse("shop=*").unwrap().matches(&[("shop", "no")]));
        assert!(
            TagExpr::parse("shop=no")
                .unwrap()
                .matches(&[("shop", "no")])
        );
        assert!(
            TagExpr::parse("amenity=clinic&healthcare=clinic")
                .unwrap()
                .matches(&t)
        );
        assert!(!TagExpr::parse("amenity=clinic&shop=*").unwrap().matches(&t));
        assert!(TagExpr::parse("amenity~lin").unwrap().matches(&t));
        assert_eq!(
            TagExpr::parse("a=b|c&d~e").unwrap().to_string(),
            "a=b|c&d~e"
        );
    }

    #[test]
    fn errors() {
        for bad in ["amenity", "=x", "a=", "a=b|", "a~"] {
            assert!(TagExpr::parse(bad).is_err(), "{bad}");
        }
    }
}
