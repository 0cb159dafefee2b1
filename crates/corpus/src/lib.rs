//! The corpus of real modem replies (`corpus/` at the repository root): reading its files.
//!
//! Owns: the corpus file format (see `corpus/README.md`) — entries of one command and the
//! reply lines a real modem sent, with their source, device and expected decode — and the
//! session files (whole transcripts replayed with `ncmd sim --overlay`), plus the checks
//! an expected value makes against a status JSON value.
//! Must not know about: any parser of modem replies (the `at` crate's parsers and the
//! simulator are both checked against this crate, so it must share no code with either).
//!
//! Both file kinds are valid overlay files: metadata lives in `# key: value` comment lines.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The corpus directory of this repository.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus")
}

/// A corpus file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {what}")]
    Syntax {
        path: PathBuf,
        line: usize,
        what: String,
    },
}

/// What an entry's reply states about one status field.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Exactly this JSON value (`null` included).
    Exact(Value),
    /// A number within these bounds, inclusive: values derived from a table index, whose
    /// quantisation interval is all the reply states.
    Within(f64, f64),
}

/// One `# expect: KEY = VALUE [(derived)]` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Dotted path into the status JSON (`signal.rsrp_dbm`, `pdp[cid=1].apn`).
    pub key: String,
    pub value: Expected,
    /// Derived from a table index rather than stated in the reply's own units.
    pub derived: bool,
}

impl Expect {
    /// Does `actual` (the value found at `key`, `None` when the path is missing) match?
    pub fn check(&self, actual: Option<&Value>) -> Result<(), String> {
        let shown = actual.map_or("missing".to_string(), Value::to_string);
        match (&self.value, actual) {
            (Expected::Exact(Value::Null), None | Some(Value::Null)) => Ok(()),
            (Expected::Exact(want), Some(got)) if json_equal(want, got) => Ok(()),
            (Expected::Exact(want), _) => Err(format!("{} = {shown}, expected {want}", self.key)),
            (Expected::Within(lo, hi), Some(got)) => match got.as_f64() {
                Some(v) if v >= lo - 1e-9 && v <= hi + 1e-9 => Ok(()),
                _ => Err(format!(
                    "{} = {shown}, expected within [{lo}, {hi}]",
                    self.key
                )),
            },
            (Expected::Within(lo, hi), None) => Err(format!(
                "{} missing, expected within [{lo}, {hi}]",
                self.key
            )),
        }
    }
}

/// Numbers compare by value (`-72` equals `-72.0`); strings exactly; the rest structurally.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        _ => a == b,
    }
}

/// The value at a dotted `key` of a status JSON object. A segment `name[cid=N]` selects the
/// element of array `name` whose `cid` is N.
pub fn lookup<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    let mut v = root;
    for seg in key.split('.') {
        match seg.split_once('[') {
            Some((name, sel)) => {
                let (field, want) = sel.trim_end_matches(']').split_once('=')?;
                v = v
                    .get(name)?
                    .as_array()?
                    .iter()
                    .find(|e| selects(e, field, want))?;
            }
            None => v = v.get(seg)?,
        }
    }
    Some(v)
}

/// The value of a `[field=VALUE]` selector: JSON when it parses (`1`), else a string.
fn selector_value(want: &str) -> Value {
    serde_json::from_str(want).unwrap_or_else(|_| Value::String(want.into()))
}

/// Does array element `e` match the selector `[field=want]`?
fn selects(e: &Value, field: &str, want: &str) -> bool {
    e.get(field) == Some(&selector_value(want))
}

/// Sets `key` in `root` (creating objects on the way); for decoders that build a status
/// JSON fragment. Array selectors (`[cid=N]`) find or append the element.
pub fn insert(root: &mut Value, key: &str, value: Value) {
    let mut v = root;
    for seg in key.split('.') {
        if !v.is_object() {
            *v = Value::Object(Default::default());
        }
        let obj = v.as_object_mut().expect("made an object above");
        match seg.split_once('[') {
            Some((name, sel)) => {
                let (field, want) = sel
                    .trim_end_matches(']')
                    .split_once('=')
                    .unwrap_or(("cid", "0"));
                let list = obj.entry(name).or_insert_with(|| Value::Array(vec![]));
                if !list.is_array() {
                    *list = Value::Array(vec![]);
                }
                let arr = list.as_array_mut().expect("made an array above");
                let pos = arr.iter().position(|e| selects(e, field, want));
                let idx = pos.unwrap_or_else(|| {
                    arr.push(serde_json::json!({ field: selector_value(want) }));
                    arr.len() - 1
                });
                v = &mut arr[idx];
            }
            None => v = obj.entry(seg).or_insert(Value::Null),
        }
    }
    *v = value;
}

/// One reply of a real modem, with what it states.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    /// From the file name (`replies/huawei.txt` → `huawei`).
    pub vendor: String,
    pub file: PathBuf,
    /// 1-based line of the entry's `# id:` line.
    pub line: usize,
    /// The command as sent (or, when the source shows only the reply, the command that
    /// yields it; see `corpus/README.md`).
    pub command: String,
    /// The reply lines exactly as the modem sent them (final code when the source shows it).
    pub reply: Vec<String>,
    pub source: String,
    pub device: Option<String>,
    pub firmware: Option<String>,
    pub expect: Vec<Expect>,
}

impl Entry {
    /// `file:line (id)`, for failure lists.
    pub fn locator(&self) -> String {
        format!(
            "{}:{} ({})",
            self.file
                .file_name()
                .map_or_else(Default::default, |f| format!(
                    "{}/{}",
                    self.file
                        .parent()
                        .and_then(Path::file_name)
                        .map_or_else(Default::default, |p| p.to_string_lossy().into_owned()),
                    f.to_string_lossy()
                )),
            self.line,
            self.id
        )
    }

    /// The reply text as the modem put it on the wire (`\r\n` around each line).
    pub fn wire_text(&self) -> String {
        self.reply.iter().map(|l| format!("\r\n{l}\r\n")).collect()
    }

    /// Does the reply end in a final result code?
    pub fn has_final(&self) -> bool {
        self.reply
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| is_final(l))
    }
}

/// A final result code line (27.007 / V.250 and Huawei's `COMMAND NOT SUPPORT`).
pub fn is_final(line: &str) -> bool {
    let l = line.trim();
    matches!(
        l,
        "OK" | "ERROR" | "NO CARRIER" | "COMMAND NOT SUPPORT" | "BUSY" | "NO ANSWER"
    ) || l.starts_with("+CME ERROR")
        || l.starts_with("+CMS ERROR")
}

/// What a whole session should end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The interface comes up.
    Connects,
    /// The session fails with this netifd error code (`PIN_FAILED`, `CONNECT_FAILED`, …).
    Fails(String),
}

/// A whole transcript of one real connection attempt, as an overlay file.
#[derive(Debug, Clone)]
pub struct Session {
    pub file: PathBuf,
    /// `# vendor:` — the simulator personality to run it on.
    pub vendor: String,
    pub source: String,
    pub device: Option<String>,
    pub outcome: Outcome,
    /// `# config:` lines: UCI option lines added to the interface (`option apn 'internet'`).
    pub config: Vec<String>,
    /// `# expect:` lines checked against `ncmd status --json` once the outcome is reached.
    pub expect: Vec<Expect>,
    /// The exchanges of the transcript, in order: command and reply lines.
    pub blocks: Vec<(String, Vec<String>)>,
}

impl Session {
    /// The transcript as overlay text, `OK` appended to every reply whose source shows no
    /// final result code (so the simulated modem completes the command).
    pub fn overlay_text(&self) -> String {
        self.blocks
            .iter()
            .map(|(cmd, reply)| overlay_block(cmd, reply))
            .collect()
    }
}

/// One overlay block (`> CMD`, `< line`…), `OK` appended when `reply` has no final code.
pub fn overlay_block(command: &str, reply: &[String]) -> String {
    let mut s = format!("> {command}\n");
    for l in reply {
        if l.is_empty() {
            s.push_str("<\n");
        } else {
            s.push_str(&format!("< {l}\n"));
        }
    }
    if !reply
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| is_final(l))
    {
        s.push_str("< OK\n");
    }
    s
}

/// Every reply entry under `dir/replies`, files in name order.
pub fn load_replies(dir: &Path) -> Result<Vec<Entry>, CorpusError> {
    let mut out = Vec::new();
    for path in files(&dir.join("replies"), "txt")? {
        out.extend(parse_replies(&path, &read(&path)?)?);
    }
    Ok(out)
}

/// Every session under `dir/sessions` (`*.overlay`), in name order.
pub fn load_sessions(dir: &Path) -> Result<Vec<Session>, CorpusError> {
    files(&dir.join("sessions"), "overlay")?
        .into_iter()
        .map(|p| {
            let text = read(&p)?;
            parse_session(&p, &text)
        })
        .collect()
}

fn read(path: &Path) -> Result<String, CorpusError> {
    std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, CorpusError> {
    let rd = std::fs::read_dir(dir).map_err(|source| CorpusError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    Ok(v)
}

/// One line of a corpus file, classified.
enum Line<'a> {
    Meta(&'a str, &'a str),
    Comment,
    Command(&'a str),
    Reply(&'a str),
}

const META_KEYS: &[&str] = &[
    "id", "source", "device", "firmware", "expect", "vendor", "outcome", "config", "note",
];

fn classify(raw: &str) -> Result<Line<'_>, String> {
    let line = raw.strip_suffix('\r').unwrap_or(raw);
    let t = line.trim_start();
    if t.is_empty() {
        return Ok(Line::Comment);
    }
    if let Some(c) = t.strip_prefix('#') {
        if let Some((k, v)) = c.trim_start().split_once(':') {
            if META_KEYS.contains(&k.trim()) {
                return Ok(Line::Meta(k.trim(), v.trim()));
            }
        }
        return Ok(Line::Comment);
    }
    if let Some(c) = t.strip_prefix('>') {
        return Ok(Line::Command(c.trim()));
    }
    if let Some(r) = t.strip_prefix('<') {
        return Ok(Line::Reply(r.strip_prefix(' ').unwrap_or(r)));
    }
    Err(format!(
        "expected '# key: value', '> COMMAND' or '< reply', found {line:?}"
    ))
}

/// `KEY = VALUE [(derived)]`; VALUE is JSON, or `LO..HI` for a derived range.
pub fn parse_expect(text: &str) -> Result<Expect, String> {
    let (key, value) = text
        .split_once(" = ")
        .ok_or_else(|| format!("expect {text:?}: want 'KEY = VALUE'"))?;
    let mut value = value.trim();
    let derived = match value.strip_suffix("(derived)") {
        Some(v) => {
            value = v.trim();
            true
        }
        None => false,
    };
    let range = value
        .split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    let value = match range {
        Some((lo, hi)) if lo <= hi => Expected::Within(lo, hi),
        Some(_) => return Err(format!("expect {text:?}: range low end above high end")),
        None => Expected::Exact(
            serde_json::from_str(value)
                .map_err(|e| format!("expect {text:?}: value is not JSON ({e})"))?,
        ),
    };
    Ok(Expect {
        key: key.trim().to_string(),
        value,
        derived,
    })
}

/// Reads the entries of one replies file.
pub fn parse_replies(path: &Path, text: &str) -> Result<Vec<Entry>, CorpusError> {
    let vendor = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let err = |line: usize, what: String| CorpusError::Syntax {
        path: path.to_path_buf(),
        line,
        what,
    };
    let mut out: Vec<Entry> = Vec::new();
    let mut cur: Option<Entry> = None;
    let finish = |e: Option<Entry>, out: &mut Vec<Entry>| -> Result<(), CorpusError> {
        if let Some(e) = e {
            let what = if e.command.is_empty() {
                Some("entry has no '> COMMAND' line")
            } else if e.reply.is_empty() {
                Some("entry has no '< reply' line")
            } else if e.source.is_empty() {
                Some("entry has no '# source:' line")
            } else if e.expect.is_empty() {
                Some("entry has no '# expect:' line")
            } else {
                None
            };
            if let Some(w) = what {
                return Err(err(e.line, format!("{}: {w}", e.id)));
            }
            if out.iter().any(|o| o.id == e.id) {
                return Err(err(e.line, format!("duplicate id {}", e.id)));
            }
            out.push(e);
        }
        Ok(())
    };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        match classify(raw).map_err(|w| err(n, w))? {
            Line::Comment => {}
            Line::Meta("id", id) => {
                finish(cur.take(), &mut out)?;
                cur = Some(Entry {
                    id: id.to_string(),
                    vendor: vendor.clone(),
                    file: path.to_path_buf(),
                    line: n,
                    command: String::new(),
                    reply: vec![],
                    source: String::new(),
                    device: None,
                    firmware: None,
                    expect: vec![],
                });
            }
            Line::Meta(k, v) => {
                let e = cur
                    .as_mut()
                    .ok_or_else(|| err(n, format!("'# {k}:' before any '# id:'")))?;
                if !e.command.is_empty() {
                    return Err(err(
                        n,
                        format!("'# {k}:' after the reply; start a new '# id:'"),
                    ));
                }
                match k {
                    "source" => e.source = v.to_string(),
                    "device" => e.device = Some(v.to_string()),
                    "firmware" => e.firmware = Some(v.to_string()),
                    "expect" => e.expect.push(parse_expect(v).map_err(|w| err(n, w))?),
                    "note" => {}
                    other => return Err(err(n, format!("'# {other}:' is for session files"))),
                }
            }
            Line::Command(c) => {
                let e = cur
                    .as_mut()
                    .ok_or_else(|| err(n, "'>' before any '# id:'".into()))?;
                if !e.command.is_empty() {
                    return Err(err(n, "one command per entry; start a new '# id:'".into()));
                }
                e.command = c.to_string();
            }
            Line::Reply(r) => {
                let e = cur
                    .as_mut()
                    .filter(|e| !e.command.is_empty())
                    .ok_or_else(|| err(n, "'<' before the entry's '>' line".into()))?;
                e.reply.push(r.to_string());
            }
        }
    }
    finish(cur.take(), &mut out)?;
    Ok(out)
}

/// Reads one session file.
pub fn parse_session(path: &Path, text: &str) -> Result<Session, CorpusError> {
    let err = |line: usize, what: String| CorpusError::Syntax {
        path: path.to_path_buf(),
        line,
        what,
    };
    let mut s = Session {
        file: path.to_path_buf(),
        vendor: String::new(),
        source: String::new(),
        device: None,
        outcome: Outcome::Connects,
        config: vec![],
        expect: vec![],
        blocks: vec![],
    };
    let mut outcome = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        match classify(raw).map_err(|w| err(n, w))? {
            Line::Meta("vendor", v) => s.vendor = v.to_string(),
            Line::Meta("source", v) => s.source = v.to_string(),
            Line::Meta("device", v) => s.device = Some(v.to_string()),
            Line::Meta("config", v) => s.config.push(v.to_string()),
            Line::Meta("expect", v) => s.expect.push(parse_expect(v).map_err(|w| err(n, w))?),
            Line::Meta("outcome", v) => {
                outcome = Some(match v.split_once(' ') {
                    None if v == "connects" => Outcome::Connects,
                    Some(("fails", code)) => Outcome::Fails(code.trim().to_string()),
                    _ => {
                        return Err(err(
                            n,
                            format!("outcome {v:?}: want 'connects' or 'fails CODE'"),
                        ))
                    }
                })
            }
            Line::Command(c) => s.blocks.push((c.to_string(), vec![])),
            Line::Reply(r) => match s.blocks.last_mut() {
                Some((_, lines)) => lines.push(r.to_string()),
                None => return Err(err(n, "'<' before any '>' line".into())),
            },
            _ => {}
        }
    }
    s.outcome = outcome.ok_or_else(|| err(1, "no '# outcome:' line".into()))?;
    if s.vendor.is_empty() || s.source.is_empty() {
        return Err(err(1, "a session needs '# vendor:' and '# source:'".into()));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_entries_and_rejects_incomplete_ones() {
        let text = "# free comment\n# id: a\n# source: s\n# expect: signal.rssi_dbm = -113..-111 (derived)\n# expect: operator.name = \"X\"\n> AT+CSQ\n< +CSQ: 1,99\n<\n< OK\n";
        let e = parse_replies(Path::new("x/huawei.txt"), text).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].vendor, "huawei");
        assert_eq!(e[0].reply, ["+CSQ: 1,99", "", "OK"]);
        assert!(e[0].has_final());
        assert_eq!(e[0].expect[0].value, Expected::Within(-113.0, -111.0));
        assert!(e[0].expect[0].derived);
        assert!(parse_replies(Path::new("x.txt"), "# id: a\n> AT\n< OK\n").is_err());
        assert!(parse_replies(
            Path::new("x.txt"),
            "# id: a\n# source: s\n# expect: k = 1\n> AT\n"
        )
        .is_err());
        assert!(parse_replies(
            Path::new("x.txt"),
            "# id: a\n# source: s\n# expect: k = nope\n> AT\n< OK\n"
        )
        .is_err());
    }

    #[test]
    fn lookup_and_check() {
        let v = json!({"signal": {"rssi_dbm": -72.0}, "pdp": [{"cid": 1, "apn": "a"}, {"cid": 3, "apn": "b"}]});
        assert_eq!(lookup(&v, "pdp[cid=3].apn"), Some(&json!("b")));
        let e = parse_expect("signal.rssi_dbm = -72").unwrap();
        assert!(e.check(lookup(&v, "signal.rssi_dbm")).is_ok());
        assert!(parse_expect("signal.rsrp_dbm = null")
            .unwrap()
            .check(lookup(&v, "signal.rsrp_dbm"))
            .is_ok());
        assert!(parse_expect("signal.rssi_dbm = -80..-73")
            .unwrap()
            .check(lookup(&v, "signal.rssi_dbm"))
            .is_err());
        let mut built = json!({});
        insert(&mut built, "pdp[cid=3].apn", json!("b"));
        insert(&mut built, "signal.nr.rsrp_dbm", json!(-90));
        assert_eq!(lookup(&built, "pdp[cid=3].apn"), Some(&json!("b")));
        assert_eq!(lookup(&built, "pdp[cid=3].cid"), Some(&json!(3)));
        assert_eq!(lookup(&built, "signal.nr.rsrp_dbm"), Some(&json!(-90)));
    }

    #[test]
    fn reads_sessions() {
        let s = parse_session(
            Path::new("s.overlay"),
            "# vendor: huawei\n# source: u\n# outcome: fails PIN_FAILED\n# config: option pincode '1234'\n> AT+CPIN?\n< +CPIN: SIM PIN\n< OK\n",
        )
        .unwrap();
        assert_eq!(s.outcome, Outcome::Fails("PIN_FAILED".into()));
        assert_eq!(
            s.blocks,
            [(
                "AT+CPIN?".to_string(),
                vec!["+CPIN: SIM PIN".to_string(), "OK".to_string()]
            )]
        );
        assert_eq!(s.overlay_text(), "> AT+CPIN?\n< +CPIN: SIM PIN\n< OK\n");
        assert_eq!(
            overlay_block("AT+CSQ", &["+CSQ: 1,99".into(), "".into()]),
            "> AT+CSQ\n< +CSQ: 1,99\n<\n< OK\n"
        );
        assert!(parse_session(Path::new("s"), "# vendor: h\n> AT\n< OK\n").is_err());
    }
}
