//! The simulator's personalities against real devices (issue 11): for each personality,
//! every command of the corpus (`corpus/replies`) for the vendors it stands for is sent to
//! the simulated modem over its pty, and each line of its reply must have the *shape* of a
//! line a real device sent for that command — same prefix (case and blank after the colon
//! included), same number of fields, same quoting, same kind of value per field (decimal,
//! hex with its letter case, dotted address, colon address, text with its letter case).
//! Values may differ; formats may not. This reads replies with its own tokenizer, never
//! `ncmd-at`'s parsers, so the simulator cannot drift into the parsers' assumptions.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::Client;
use ncmd_corpus::{is_final, load_replies, Entry};
use ncmd_sim::{SimOptions, Simulator};

/// The corpus files a personality stands for. Standard 3GPP commands (`AT+C…`) of the
/// `generic` file apply to every personality.
fn vendor_files(personality: &str) -> &'static [&'static str] {
    match personality {
        "huawei" => &["huawei"],
        "quectel" | "quectel-eg060w" | "quectel-rm500q" | "quectel-rm500q-nsa" => &["quectel"],
        "sierra" => &["sierra"],
        "fibocom" => &["fibocom"],
        "zte" => &["zte"],
        "mikrotik" => &[],
        _ => &["generic", "simcom", "ublox", "others"],
    }
}

/// The kind of one field's value.
fn kind(v: &str) -> String {
    let t = v.trim();
    let letters_case = |s: &str| {
        let up = s.chars().any(|c| c.is_ascii_uppercase());
        let low = s.chars().any(|c| c.is_ascii_lowercase());
        match (up, low) {
            (true, false) => "upper",
            (false, true) => "lower",
            (true, true) => "mixed",
            _ => "none",
        }
    };
    if t.is_empty() {
        return "empty".into();
    }
    let body = t.strip_prefix('-').unwrap_or(t);
    if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
        return "num".into();
    }
    if body.contains('.')
        && body
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return if body.split('.').count() >= 4 {
            "dotted".into()
        } else {
            "num".into()
        };
    }
    if t.contains(':') && t.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
        return "v6".into();
    }
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let x = if hex.len() == t.len() { "" } else { &t[..2] };
        return format!("hex{x}-{}", letters_case(hex));
    }
    format!("text-{}", letters_case(t))
}

/// Splits on commas outside double quotes.
fn fields(payload: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in payload.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&payload[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&payload[start..]);
    out
}

/// The prefix of a line (`+CSQ: `, `^HCSQ:`, `!GSTATUS:`), or "" for an unprefixed line.
fn prefix(line: &str) -> &str {
    if !line.starts_with(['+', '^', '!', '$', '#', '*', '%']) {
        return "";
    }
    match line.find(':') {
        Some(i) => {
            let end = if line[i + 1..].starts_with(' ') {
                i + 2
            } else {
                i + 1
            };
            &line[..end]
        }
        None => line,
    }
}

/// The shape of one line: prefix, then per field its quoting and kind. Unprefixed lines
/// (identity values, `!GSTATUS?` tables) keep their labels (words ending in `:`) and
/// their quotes; every other word is a value (`<v>`); blank runs count as one.
fn shape(line: &str) -> String {
    let p = prefix(line);
    if p.is_empty() {
        let (q, body) = match line.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
            Some(inner) => ("\"", inner),
            None => ("", line),
        };
        let words: Vec<&str> = body
            .split_whitespace()
            .map(|w| if w.ends_with(':') { w } else { "<v>" })
            .collect();
        return format!("{q}{}{q}", words.join(" "));
    }
    let rest = &line[p.len()..];
    let parts: Vec<String> = fields(rest)
        .into_iter()
        .map(|f| {
            let f = f.trim();
            match f.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
                Some(inner) => format!("\"{}\"", kind(inner)),
                None => kind(f),
            }
        })
        .collect();
    format!("{p}{}", parts.join(","))
}

/// Field by field: decimal and hex values are interchangeable in a field that carries
/// hex (a LAC of "0502" and one of "8BE3" are the same format), and an empty value fits
/// any kind (an unset APN is still the APN field); quoting must agree.
fn compatible(real: &str, sim: &str) -> bool {
    let split = |s: &str| -> (String, Vec<String>) {
        let p = prefix(s).to_string();
        let rest = s[p.len()..].to_string();
        (p, rest.split(',').map(str::to_string).collect())
    };
    let ((rp, rf), (sp, sf)) = (split(real), split(sim));
    if rp.is_empty() || sp.is_empty() {
        return real == sim;
    }
    let norm = |f: &str| f.replace("hex-upper", "num").replace("hex-lower", "num");
    rp == sp
        && rf.len() == sf.len()
        && rf.iter().zip(&sf).all(|(r, s)| {
            let (rq, sq) = (r.starts_with('"'), s.starts_with('"'));
            let (r, s) = (r.trim_matches('"'), s.trim_matches('"'));
            rq == sq && (r == "empty" || s == "empty" || norm(r) == norm(s))
        })
}

fn info_lines(reply: &[String]) -> Vec<&str> {
    reply
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty() && !is_final(l))
        .collect()
}

struct Real {
    /// The command as the corpus spells it (first entry).
    command: String,
    /// A device of the personality's own vendor answered it. For the personalities of the
    /// generic family other than `generic` itself (marvell, sony, ...), the unnamed devices
    /// of the `generic` file are not their vendor: a refusal is not judged against them.
    own: bool,
    shapes: BTreeSet<String>,
    prefixes: BTreeSet<String>,
    sources: Vec<String>,
}

/// Real line shapes per command (upper-cased) for a set of corpus files. Standard
/// commands of the `generic` file are judged only on the lines a personality gives.
fn real_shapes(entries: &[Entry], files: &[&str], personality: &str) -> BTreeMap<String, Real> {
    let mut out: BTreeMap<String, Real> = BTreeMap::new();
    for e in entries {
        let own = files.contains(&e.vendor.as_str());
        let standard = e.vendor == "generic" && e.command.to_ascii_uppercase().starts_with("AT+C");
        if !(own || (standard && personality != "generic")) {
            continue;
        }
        let cmd = e.command.trim().to_ascii_uppercase();
        let echo = cmd.clone();
        let slot = out.entry(cmd).or_insert_with(|| Real {
            command: e.command.trim().to_string(),
            own: false,
            shapes: BTreeSet::new(),
            prefixes: BTreeSet::new(),
            sources: vec![],
        });
        slot.own |= own && (e.vendor != "generic" || personality == "generic");
        for l in info_lines(&e.reply) {
            if l.trim().eq_ignore_ascii_case(&echo) {
                continue; // the command's echo
            }
            slot.shapes.insert(shape(l.trim()));
            slot.prefixes
                .insert(prefix(l.trim()).trim_end().to_ascii_uppercase());
        }
        slot.sources.push(e.id.clone());
    }
    out.retain(|_, r| !r.shapes.is_empty());
    out
}

async fn command(c: &mut Client, cmd: &str) -> Option<Vec<String>> {
    tokio::time::timeout(Duration::from_secs(3), c.command(cmd))
        .await
        .ok()
}

/// `<stat>` of a `+CREG`/`+CEREG`/`+C5GREG: <n>,<stat>[,…]` query reply.
fn reg_stat(reply: &[String]) -> Option<u32> {
    let line = reply.iter().find_map(|l| {
        let (name, rest) = l.trim().split_once(':')?;
        matches!(name, "+CREG" | "+CEREG" | "+C5GREG").then_some(rest)
    })?;
    fields(line).get(1)?.trim().parse().ok()
}

/// `+C5GREG` is a 5G command: an LTE-only module answers ERROR (Quectel EC25, see the
/// quectel profile's `_signal_source`), which is its real behaviour, not a wrong shape.
fn five_g_only_refusal(personality: &str, cmd: &str) -> bool {
    let Some(p) = ncmd_sim::personality::find(personality) else { return false };
    cmd.to_ascii_uppercase().starts_with("AT+C5GREG")
        && p.radio == ncmd_sim::personality::Radio::Lte
        && !p.commands.iter().any(|(name, _)| *name == "+C5GREG")
}

/// Brings the simulated modem to where the corpus replies were taken: radio on,
/// registered (in any domain: a 5G standalone modem is registered on 5GS alone),
/// context 1 dialled (the personality's own dial command).
async fn bring_up(c: &mut Client, personality: &str) -> Result<(), String> {
    let _ = command(c, "ATE0").await;
    let _ = command(c, "AT+CFUN=1").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    'registered: loop {
        let mut reply = Vec::new();
        for q in ["AT+CREG?", "AT+CEREG?", "AT+C5GREG?"] {
            reply = command(c, q).await.unwrap_or_default();
            if matches!(reg_stat(&reply), Some(1 | 5)) {
                break 'registered;
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "{personality}: not registered within 5 s (last AT+C5GREG? reply {reply:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let p = ncmd_sim::personality::find(personality).ok_or("unknown personality")?;
    let dials: Vec<(&str, bool)> = p
        .commands
        .iter()
        .filter_map(|(name, action)| match action {
            ncmd_sim::personality::Action::Dial(style) => {
                Some((*name, *style == ncmd_sim::personality::DialStyle::NdisDup))
            }
            _ => None,
        })
        .collect();
    let dial = match dials.iter().find(|(n, _)| *n == "+CGACT").or(dials.first()) {
        Some((name, true)) => format!("AT{name}=1,1,\"internet\""),
        Some((name, false)) => format!("AT{name}=1,1"),
        None => "AT+CGATT=1".to_string(),
    };
    match command(c, &dial).await {
        Some(r) if r.last().map(String::as_str) == Some("OK") => Ok(()),
        other => Err(format!("{personality}: {dial} answered {other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personalities_answer_in_the_shape_of_real_devices() {
    let entries = load_replies(&ncmd_corpus::corpus_dir())
        .unwrap_or_else(|e| panic!("corpus unreadable: {e}"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for &personality in ncmd_sim::vendors() {
        let real = real_shapes(&entries, vendor_files(personality), personality);
        let sim = Simulator::start(SimOptions {
            vendor: personality.into(),
            latency_scale: 0.0,
            ..SimOptions::default()
        })
        .await
        .unwrap_or_else(|e| panic!("start {personality}: {e}"));
        let mut c = Client::open(&sim.tty_path());
        if let Err(why) = bring_up(&mut c, personality).await {
            failures.push(why);
        }
        for r in real.values() {
            let cmd = &r.command;
            checked += 1;
            let Some(reply) = command(&mut c, cmd).await else {
                failures.push(format!(
                    "{personality} {cmd}: no final result code within 3 s"
                ));
                continue;
            };
            // Lines with prefixes the real replies of this command never carry are URCs.
            let judged: Vec<&str> = info_lines(&reply)
                .into_iter()
                .filter(|l| {
                    let p = prefix(l.trim()).trim_end().to_ascii_uppercase();
                    r.prefixes.contains(&p) || (p.is_empty() && r.prefixes.contains(""))
                })
                .collect();
            let refused = reply.last().is_none_or(|l| l.trim() != "OK");
            if judged.is_empty() && (!refused || !r.own || five_g_only_refusal(personality, cmd)) {
                // An empty OK (a context the simulator has not), or a standard command that
                // only devices of other vendors answered: nothing to judge.
                continue;
            }
            if judged.is_empty() {
                failures.push(format!(
                    "{personality} {cmd}: answered {reply:?}; real devices answer e.g. {:?} ({})",
                    r.shapes
                        .iter()
                        .next()
                        .map(String::as_str)
                        .unwrap_or_default(),
                    r.sources.first().map(String::as_str).unwrap_or_default()
                ));
                continue;
            }
            for l in judged {
                let s = shape(l.trim());
                if !r.shapes.iter().any(|real| compatible(real, &s)) {
                    failures.push(format!(
                        "{personality} {cmd}: line {l:?} has shape {s:?}; real shapes: {:?} ({})",
                        r.shapes,
                        r.sources.join(", ")
                    ));
                }
            }
        }
        drop(c);
        sim.shutdown().await;
    }
    println!(
        "corpus shapes: {} of {checked} personality replies match a real device",
        checked - failures.len().min(checked)
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} personality replies do not have the shape of any real reply:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_corpus_file_is_a_valid_overlay() {
    let dir = ncmd_corpus::corpus_dir();
    for sub in ["replies", "sessions"] {
        let files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap_or_else(|e| panic!("corpus/{sub}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        assert!(!files.is_empty(), "corpus/{sub} is empty");
        for f in files {
            if let Err(e) = ncmd_sim::overlay::Overlay::load(&f) {
                panic!("{e}");
            }
        }
    }
}

#[test]
fn shapes_keep_format_and_drop_values() {
    assert_eq!(shape("+CSQ: 20,99"), shape("+CSQ: 7,0"));
    assert_ne!(shape("+CSQ:99,99"), shape("+CSQ: 99,99"));
    assert_eq!(
        shape("+CREG: 2,1,\"8BE3\",\"00002BAF\""),
        "+CREG: num,num,\"hex-upper\",\"hex-upper\""
    );
    assert!(compatible(
        &shape("+CGCONTRDP: 1,5,\"apn\""),
        &shape("+CGCONTRDP: 1,5,\"\"")
    ));
    assert!(!compatible(
        &shape("+CGCONTRDP: 1,5,\"apn\""),
        &shape("+CGCONTRDP: 1,5,apn")
    ));
    assert!(compatible(
        &shape("+CREG: 2,1,\"0502\",\"0404736D\""),
        &shape("+CREG: 2,1,\"8BE3\",\"00002BAF\"")
    ));
    assert!(!compatible(
        &shape("^HCSQ: \"LTE\",1,2,3,4"),
        &shape("^HCSQ: LTE,1,2,3,4")
    ));
    assert_eq!(kind("0xCCDB080A"), "hex0x-upper");
    assert_eq!(kind("fcffffff"), "hex-lower");
    assert_eq!(kind("LTE"), "text-upper");
    assert_eq!(kind("10.8.219.204"), "dotted");
    assert_eq!(kind("fd00:976a::9"), "v6");
    assert_eq!(
        shape("System mode:   LTE              PS state:    Attached"),
        "<v> mode: <v> <v> state: <v>"
    );
    assert_eq!(shape("\"MF286R\""), "\"<v>\"");
    assert_ne!(shape("\"ZTE CORPORATION\""), shape("ZTE CORPORATION"));
}
