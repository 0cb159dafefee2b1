//! SMS submission with the interactive prompt (3GPP TS 27.005 §3.5.1): `AT+CMGF` (PDU or
//! text mode) and `AT+CMGS`, answered with the four-byte prompt `\r\n> `; the text (or
//! PDU) that follows ends with Ctrl-Z (sent: `+CMGS: <mr>` then `OK`) or ESC (cancelled:
//! `OK`); a CR inside text-mode text is answered with a new prompt, as Telit's LE910C
//! AT reference describes.
//!
//! Owns the text-entry state only. Must not know about the pty or other commands (the
//! engine routes lines and typed bytes here).

use crate::modem::Modem;

/// The prompt a modem shows after `AT+CMGS=...<CR>`.
pub const PROMPT: &[u8] = b"\r\n> ";
const CTRL_Z: u8 = 0x1a;
const ESC: u8 = 0x1b;
/// Longest text kept (a concatenation of ten messages is about 1530 characters).
const TEXT_CAP: usize = 4096;

/// The SMS part of the modem's command set.
#[derive(Debug, Default)]
pub struct Sms {
    text_mode: bool,
    /// Text typed after the prompt, while entry is open.
    entry: Option<Vec<u8>>,
    next_reference: u8,
}

/// What typed bytes did while entry was open.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    /// Entry goes on; write these bytes (a new prompt after a CR, or nothing).
    More(Vec<u8>),
    /// Entry ended (Ctrl-Z or ESC): write this reply; bytes after the end are returned
    /// for the line assembler.
    Done { reply: Vec<u8>, rest: Vec<u8> },
}

impl Sms {
    /// Is text entry open (typed bytes belong to the message)?
    pub fn entering(&self) -> bool {
        self.entry.is_some()
    }

    /// Answers `AT+CMGF` and opens entry for `AT+CMGS=`; `None` for any other line.
    /// The line is logged in the modem's command record.
    pub fn command(&mut self, line: &str, modem: &mut Modem) -> Option<Vec<u8>> {
        let upper = line.trim().to_ascii_uppercase();
        let reply: &[u8] = match upper.strip_prefix("AT+CMGF") {
            Some("=0") => {
                self.text_mode = false;
                b"\r\nOK\r\n"
            }
            Some("=1") => {
                self.text_mode = true;
                b"\r\nOK\r\n"
            }
            Some("?") => {
                modem.record_command(line);
                let mode = u8::from(self.text_mode);
                return Some(format!("\r\n+CMGF: {mode}\r\n\r\nOK\r\n").into_bytes());
            }
            Some(_) => b"\r\nERROR\r\n",
            None => match upper.strip_prefix("AT+CMGS=") {
                Some("?") => b"\r\nOK\r\n",
                Some(arg) if !arg.is_empty() => {
                    self.entry = Some(Vec::new());
                    PROMPT
                }
                _ => return None,
            },
        };
        modem.record_command(line);
        Some(reply.to_vec())
    }

    /// A byte typed while entry is open.
    pub fn typed(&mut self, bytes: &[u8], modem: &mut Modem) -> Typed {
        let mut out = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            let Some(text) = self.entry.as_mut() else {
                break;
            };
            match b {
                CTRL_Z => {
                    let text = String::from_utf8_lossy(text).into_owned();
                    self.entry = None;
                    self.next_reference = self.next_reference.wrapping_add(1);
                    modem.record_sms(&text);
                    let reply = format!("\r\n+CMGS: {}\r\n\r\nOK\r\n", self.next_reference);
                    return Typed::Done {
                        reply: reply.into_bytes(),
                        rest: bytes[i + 1..].to_vec(),
                    };
                }
                ESC => {
                    self.entry = None;
                    return Typed::Done {
                        reply: b"\r\nOK\r\n".to_vec(),
                        rest: bytes[i + 1..].to_vec(),
                    };
                }
                b'\r' if self.text_mode => {
                    text.push(b'\n');
                    out.extend_from_slice(PROMPT);
                }
                0x08 | 0x7f => {
                    text.pop();
                }
                _ if text.len() >= TEXT_CAP => {}
                _ => text.push(b),
            }
        }
        Typed::More(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::Config;
    use crate::overlay::Overlay;
    use crate::personality::find;

    fn modem() -> Modem {
        Modem::new(Config {
            personality: find("huawei").expect("known vendor"),
            pin: "1234".into(),
            latency_scale: 0.0,
            overlay: Overlay::default(),
            ip: Default::default(),
        })
    }

    #[test]
    fn text_mode_send_with_continuation_prompt() {
        let mut m = modem();
        let mut s = Sms::default();
        assert_eq!(
            s.command("AT+CMGF=1", &mut m).as_deref(),
            Some(&b"\r\nOK\r\n"[..])
        );
        assert_eq!(
            s.command("AT+CMGS=\"+491701234567\"", &mut m).as_deref(),
            Some(PROMPT)
        );
        assert!(s.entering());
        assert_eq!(s.typed(b"Hello\r", &mut m), Typed::More(PROMPT.to_vec()));
        let done = s.typed(b"world\x1aAT\r", &mut m);
        assert_eq!(
            done,
            Typed::Done {
                reply: b"\r\n+CMGS: 1\r\n\r\nOK\r\n".to_vec(),
                rest: b"AT\r".to_vec()
            }
        );
        assert!(!s.entering());
        let stats = m.stats();
        assert_eq!(stats.sms_sent, ["Hello\nworld"]);
        assert_eq!(stats.commands, ["AT+CMGF=1", "AT+CMGS=\"+491701234567\""]);
    }

    #[test]
    fn escape_cancels_and_other_lines_are_not_sms() {
        let mut m = modem();
        let mut s = Sms::default();
        assert_eq!(s.command("AT+CSQ", &mut m), None);
        assert_eq!(
            s.command("AT+CMGS=?", &mut m).as_deref(),
            Some(&b"\r\nOK\r\n"[..])
        );
        assert_eq!(s.command("AT+CMGS=25", &mut m), Some(PROMPT.to_vec()));
        let done = s.typed(b"0011000B91\x1b", &mut m);
        assert!(matches!(done, Typed::Done { ref reply, .. } if reply == b"\r\nOK\r\n"));
        assert!(m.stats().sms_sent.is_empty());
        assert_eq!(
            s.command("AT+CMGF?", &mut m).as_deref(),
            Some(&b"\r\n+CMGF: 0\r\n\r\nOK\r\n"[..])
        );
    }
}
