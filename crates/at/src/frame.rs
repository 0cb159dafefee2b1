//! Byte stream → lines.
//!
//! Owns: cutting the raw bytes read from a modem port into text lines, whatever the line
//! endings (`\r`, `\r\n`, `\n`, `\n\r`), with NUL bytes dropped, invalid UTF-8 replaced
//! (lossy) and a hard bound on the memory held for a line that never ends.
//! Must not know about: commands, result codes, URCs or any I/O — it is a pure state machine
//! fed with whatever chunks the reader got, and gives the same lines however the stream is
//! split.

/// The default bound on one line, in bytes. Real replies are far shorter (the longest
/// common one, `^SYSCFGEX=?`, is about 400 bytes).
pub const DEFAULT_MAX_LINE: usize = 4096;

/// One line of modem output, without its terminator. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The line was longer than the framer's bound: `text` holds its first `max_line`
    /// bytes, the rest up to the next terminator was discarded.
    pub truncated: bool,
}

/// Where the framer is inside the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting bytes of a line (possibly none yet).
    Collecting,
    /// The current line overflowed and was already returned; skipping to its end.
    Skipping,
}

/// Splits a byte stream into [`Line`]s. Pure: no I/O, no clock.
#[derive(Debug, Clone)]
pub struct LineFramer {
    buf: Vec<u8>,
    max_line: usize,
    state: State,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl LineFramer {
    /// A framer that never holds more than `max_line` bytes (at least 1).
    pub fn new(max_line: usize) -> Self {
        let max_line = max_line.max(1);
        LineFramer {
            buf: Vec::with_capacity(max_line.min(256)),
            max_line,
            state: State::Collecting,
        }
    }

    /// Bytes currently held for an unfinished line (always `<= max_line`).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The bytes of the unfinished line (an interactive prompt such as `> ` never ends).
    pub fn pending_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the unfinished line (once a prompt in it has been taken).
    pub fn clear_pending(&mut self) {
        self.buf.clear();
    }

    /// Feeds a chunk; returns the lines it completed, in order. Empty lines are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        for &b in bytes {
            match (b, self.state) {
                (0, _) => {}
                (b'\r' | b'\n', State::Skipping) => self.state = State::Collecting,
                (b'\r' | b'\n', State::Collecting) => {
                    if !self.buf.is_empty() {
                        out.push(self.take(false));
                    }
                }
                (_, State::Skipping) => {}
                (_, State::Collecting) => {
                    if self.buf.len() == self.max_line {
                        out.push(self.take(true));
                        self.state = State::Skipping;
                    } else {
                        if self.buf.len() == self.buf.capacity() {
                            // Grow geometrically but never past the bound.
                            let want = (self.buf.capacity() * 2).clamp(1, self.max_line);
                            self.buf.reserve_exact(want - self.buf.len());
                        }
                        self.buf.push(b);
                    }
                }
            }
        }
        out
    }

    fn take(&mut self, truncated: bool) -> Line {
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        Line { text, truncated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(lines: Vec<Line>) -> Vec<String> {
        lines.into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn mixed_terminators_and_echo() {
        let mut f = LineFramer::default();
        let got = texts(f.push(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n^RSSI: 20\n\rRDY\rX"));
        assert_eq!(got, ["AT+CSQ", "+CSQ: 20,99", "OK", "^RSSI: 20", "RDY"]);
        assert_eq!(f.pending(), 1);
        assert_eq!(texts(f.push(b"\n")), ["X"]);
    }

    #[test]
    fn nul_dropped_and_invalid_utf8_lossy() {
        let mut f = LineFramer::default();
        let got = f.push(b"O\0K\r\n\xff\xfeAB\r\n");
        assert_eq!(got[0].text, "OK");
        assert_eq!(got[1].text, "\u{fffd}\u{fffd}AB");
    }

    #[test]
    fn overlong_line_cut_and_marked() {
        let mut f = LineFramer::new(4);
        let got = f.push(b"abcdefgh\r\nOK\r\n");
        assert_eq!(
            got,
            vec![
                Line {
                    text: "abcd".into(),
                    truncated: true
                },
                Line {
                    text: "OK".into(),
                    truncated: false
                },
            ]
        );
        // Exactly max_line bytes is not truncated.
        assert_eq!(
            f.push(b"wxyz\n"),
            vec![Line {
                text: "wxyz".into(),
                truncated: false
            }]
        );
    }

    fn feed_split(data: &[u8], cuts: &[usize], max: usize) -> Vec<Line> {
        let mut f = LineFramer::new(max);
        let mut out = Vec::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts {
            out.extend(f.push(&data[start..c]));
            start = c;
        }
        out.extend(f.push(&data[start..]));
        out
    }

    proptest! {
        #[test]
        fn random_bytes_bounded(data in proptest::collection::vec(any::<u8>(), 0..4096), max in 1usize..64) {
            let mut f = LineFramer::new(max);
            for chunk in data.chunks(7) {
                for line in f.push(chunk) {
                    prop_assert!(!line.text.is_empty());
                    prop_assert!(line.text.len() <= max * 3); // lossy may widen bytes to U+FFFD
                }
                prop_assert!(f.pending() <= max);
                prop_assert!(f.buf.capacity() <= max);
            }
        }

        #[test]
        fn split_invariant(data in proptest::collection::vec(prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(0u8), Just(b'O'), Just(b'K'), Just(0xffu8), 0x20u8..0x7f], 0..512),
            cuts in proptest::collection::vec(any::<usize>(), 0..20), max in 1usize..40) {
            let whole = feed_split(&data, &[], max);
            let split = feed_split(&data, &cuts, max);
            prop_assert_eq!(whole, split);
        }
    }
}
