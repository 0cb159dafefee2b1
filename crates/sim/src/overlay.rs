//! Overlay files: replies replayed verbatim from a real modem's transcript.
//!
//! Format (DESIGN.md "The simulator"): blocks of one `> COMMAND` line followed by
//! `< reply line`s exactly as the modem sent them, final code included; `#` starts a
//! comment line; blank lines are ignored. `<` alone stands for an empty reply line.
//! Commands match case-insensitively on the whole (trimmed) command line.
//!
//! Pure parser plus lookup; it must not know about modem state or the port.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::matcher::normalize;

/// Replies that replace the modem's own, keyed by normalised command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    replies: HashMap<String, Vec<String>>,
}

/// An overlay file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot read overlay file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("overlay {path}, line {line}: {what}")]
    Syntax {
        path: PathBuf,
        line: usize,
        what: String,
    },
}

impl Overlay {
    /// Reads and parses an overlay file.
    pub fn load(path: &Path) -> Result<Overlay, OverlayError> {
        let text = std::fs::read_to_string(path).map_err(|source| OverlayError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Overlay::parse(&text).map_err(|(line, what)| OverlayError::Syntax {
            path: path.to_path_buf(),
            line,
            what,
        })
    }

    /// Parses overlay text; an error gives the 1-based line number and what is wrong.
    pub fn parse(text: &str) -> Result<Overlay, (usize, String)> {
        let mut replies: HashMap<String, Vec<String>> = HashMap::new();
        // The block being read: its command and the line it started on.
        let mut current: Option<(String, usize, Vec<String>)> = None;
        let mut finish = |block: Option<(String, usize, Vec<String>)>| match block {
            Some((cmd, line, lines)) if lines.is_empty() => Err((
                line,
                format!(
                    "command '{cmd}' has no reply lines; add '< OK' (or the reply the modem sent)"
                ),
            )),
            Some((cmd, _, lines)) => {
                replies.insert(normalize(&cmd), lines);
                Ok(())
            }
            None => Ok(()),
        };
        for (idx, raw) in text.lines().enumerate() {
            let n = idx + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(cmd) = trimmed.strip_prefix('>') {
                let cmd = cmd.trim();
                if cmd.is_empty() {
                    return Err((
                        n,
                        "'>' must be followed by the command, e.g. '> AT+CGMI'".into(),
                    ));
                }
                finish(current.take())?;
                current = Some((cmd.to_string(), n, Vec::new()));
            } else if let Some(reply) = trimmed.strip_prefix('<') {
                let reply = reply.strip_prefix(' ').unwrap_or(reply);
                match current.as_mut() {
                    Some((_, _, lines)) => lines.push(reply.to_string()),
                    None => return Err((n, "reply line before any '> COMMAND' line".into())),
                }
            } else {
                return Err((
                    n,
                    format!(
                        "expected '> COMMAND', '< reply' or '# comment', found '{}'",
                        line.trim()
                    ),
                ));
            }
        }
        finish(current.take())?;
        Ok(Overlay { replies })
    }

    /// The replacement reply lines for a command line, if the overlay has one.
    pub fn reply(&self, line: &str) -> Option<&[String]> {
        self.replies.get(&normalize(line)).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_and_comments() {
        let text =
            "# E3372h transcript\n> AT+CGMI\n< huawei\n< OK\n\n> at^dhcp?\n<\n< ^DHCP: x\r\n< OK\n";
        let o = Overlay::parse(text).expect("parses");
        assert_eq!(
            o.reply("AT+cgmi"),
            Some(&["huawei".to_string(), "OK".to_string()][..])
        );
        assert_eq!(o.reply("AT^DHCP?").map(|l| l.len()), Some(3));
        assert_eq!(o.reply("AT+CGMM"), None);
    }

    #[test]
    fn corpus_metadata_lines_are_comments() {
        // The layout of corpus/ files: `# key: value` metadata before each block.
        let text = "# id: x\r\n# source: https://example.org/log\r\n# expect: sim.state = \"ready\"\r\n> AT+CPIN?\r\n<\r\n< +CPIN: READY\r\n< OK\r\n";
        let o = Overlay::parse(text).expect("parses");
        assert_eq!(
            o.reply("AT+CPIN?"),
            Some(&["".to_string(), "+CPIN: READY".to_string(), "OK".to_string()][..])
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Overlay::parse("> AT\n> ATI\n< OK\n")
                .map(|_| ())
                .unwrap_err()
                .0,
            1
        );
        assert_eq!(Overlay::parse("# c\n< OK\n").unwrap_err().0, 2);
        assert_eq!(Overlay::parse("> AT\n< OK\nbogus\n").unwrap_err().0, 3);
        assert_eq!(Overlay::parse("> AT\n< OK\n>\n").unwrap_err().0, 3);
        assert_eq!(Overlay::parse("> AT+CGMI\n").unwrap_err().0, 1);
    }
}
