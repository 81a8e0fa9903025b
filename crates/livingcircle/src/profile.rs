//! Walking profiles: who walks, and how fast.

/// A walking profile: a speed for a kind of walker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// 4.8 km/h (cityseer's 80 m/min; Helsinki adults measured 4.8–5.2 km/h).
    Adult,
    /// 4.0 km/h (Helsinki elderly measured 3.9–4.3 km/h).
    Elderly,
    /// 3.6 km/h.
    Wheelchair,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 3] = [Profile::Adult, Profile::Elderly, Profile::Wheelchair];

    /// The profile's walking speed.
    pub fn speed_kmh(self) -> f64 {
        match self {
            Profile::Adult => 4.8,
            Profile::Elderly => 4.0,
            Profile::Wheelchair => 3.6,
        }
    }

    /// Its name: `adult`, `elderly`, `wheelchair`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Adult => "adult",
            Profile::Elderly => "elderly",
            Profile::Wheelchair => "wheelchair",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    /// A profile by name.
    ///
    /// ```
    /// use livingcircle::Profile;
    /// assert_eq!("elderly".parse::<Profile>().unwrap().speed_kmh(), 4.0);
    /// assert_eq!("child".parse::<Profile>().unwrap_err(),
    ///     "unknown profile `child` (valid: adult, elderly, wheelchair)");
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown profile `{s}` (valid: adult, elderly, wheelchair)"))
    }
}
