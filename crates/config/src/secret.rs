//! [`Secret`]: a string that must never be printed (password, PIN).
//!
//! Owns only the wrapping: `Debug`, `Display` and `Serialize` show `***`, and the one place
//! that needs the value calls [`Secret::expose`]. It must not know where secrets come from.

use std::fmt;

/// A secret string. `Debug`, `Display` and `Serialize` print `***`; use [`Secret::expose`]
/// at the single place that hands the value to the modem.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself. Call this only where the value leaves ncmd (the AT command).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("Hunter2-Xy");
        assert_eq!(format!("{s} {s:?} {s:#?}"), "*** *** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "Hunter2-Xy");
    }
}
