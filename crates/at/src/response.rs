//! A command's reply, as lines.
//!
//! Owns: the [`Response`] value (the reply lines between the echo and the final `OK`,
//! URCs already removed) and its small look-up helpers.
//! Must not know about: how it was obtained (I/O) or what the lines mean (see `parse`).

use crate::result::strip_prefix_ci;

/// The reply lines of a command that ended in `OK`; echo, URCs and the final code removed,
/// each line trimmed and non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    pub lines: Vec<String>,
}

impl Response {
    pub fn new<I, S>(lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Response {
            lines: lines.into_iter().map(Into::into).collect(),
        }
    }

    /// Lines starting with `prefix` (ASCII case ignored), prefix stripped and trimmed.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines
            .iter()
            .filter_map(move |l| strip_prefix_ci(l, prefix).map(str::trim))
    }

    /// The first line starting with `prefix`, prefix stripped and trimmed.
    pub fn first(&self, prefix: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| strip_prefix_ci(l, prefix).map(str::trim))
    }

    /// The first line, if any.
    pub fn text(&self) -> Option<&str> {
        self.lines.first().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let r = Response::new([
            "+CGDCONT: 1,\"IP\",\"a\"",
            "+CGDCONT: 2,\"IPV6\",\"b\"",
            "x",
        ]);
        assert_eq!(r.prefixed("+CGDCONT:").count(), 2);
        assert_eq!(r.first("+cgdcont:"), Some("1,\"IP\",\"a\""));
        assert_eq!(r.first("+CSQ:"), None);
        assert_eq!(r.text(), Some("+CGDCONT: 1,\"IP\",\"a\""));
        assert_eq!(Response::default().text(), None);
    }
}
