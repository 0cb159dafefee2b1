//! The reader against the real `uci` (openwrt/uci 66127cd, built by
//! `shared/netifd-harness/build.sh` into `target/netifd-harness/root`): for thousands of
//! random texts made of UCI's special characters, both accept or both refuse, and when they
//! accept they read the same sections, options and lists (`uci -c DIR export network`).
//!
//! Needs that build (`scripts/test` makes it as root, as CI does); `NCMD_UCI_ROOT` points
//! at another install prefix. Without it the test fails and says how to build it.

use std::path::PathBuf;
use std::process::Command;

use ncmd_config::uci::{parse, Value};

/// Pieces the random texts are made of: keywords and their abbreviations, names, every
/// separator, quote, escape and comment character, line breaks of both kinds.
const PIECES: &[&str] = &[
    "config",
    "option",
    "list",
    "package",
    "c",
    "o",
    "l",
    "p",
    "interface",
    "wwan",
    "a",
    "b",
    "x_1",
    " ",
    " ",
    "\t",
    "\n",
    "\n",
    "\r\n",
    ";",
    "; ",
    " ;",
    "#",
    "# c",
    "\\",
    "\\\n",
    "\\\r\n",
    "'",
    "\"",
    "'v w'",
    "\"q\\\"r\"",
    "''",
    "it'\\''s",
    "val",
    "-",
    ".",
    "é",
    "\\'",
    "\\\\",
];

/// A well-formed skeleton with random separators, or a soup of pieces.
fn text(rng: &mut u64) -> String {
    let mut next = |n: usize| {
        *rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*rng >> 33) as usize) % n
    };
    let mut t = String::new();
    if next(2) == 0 {
        for _ in 0..1 + next(40) {
            t.push_str(PIECES[next(PIECES.len())]);
        }
        return t;
    }
    for _ in 0..1 + next(3) {
        t.push_str(["config interface wwan", "c interface 'x_1'", "config device", "config a.b \"wwan\""][next(4)]);
        t.push_str(["\n", "\r\n", " ; ", " # c\n", " \\\n\t"][next(5)]);
        for _ in 0..next(4) {
            t.push_str(["option", "list", "o", "l"][next(4)]);
            t.push_str([" a ", " b ", " x_1 "][next(3)]);
            t.push_str(
                ["val", "'v w'", "\"q\\\"r\"", "''", "a\\\nb", "'m\nl'", "\"d\\\ne\"", "it'\\''s", "x#y", ""][next(10)],
            );
            t.push_str(["\n", "\r\n", "; ", " ; ", ";", " # c\n", " \\\n", "\n\n", " ''\n", ";\n"][next(10)]);
        }
    }
    t
}

/// Our reading in `uci export`'s format, without the `package` line.
fn ours(text: &str) -> Option<String> {
    let pkg = parse(text).ok()?;
    let q = |s: &str| s.replace('\'', "'\\''");
    let mut out = String::new();
    for s in &pkg.sections {
        match &s.name {
            Some(n) => out.push_str(&format!("config {} '{}'\n", q(&s.kind), q(n))),
            None => out.push_str(&format!("config {}\n", q(&s.kind))),
        }
        for (k, v) in &s.options {
            match v {
                Value::Single(x) => out.push_str(&format!("\toption {k} '{}'\n", q(x))),
                Value::List(items) => items.iter().for_each(|x| out.push_str(&format!("\tlist {k} '{}'\n", q(x)))),
            }
        }
    }
    Some(out)
}

#[test]
fn reads_what_libuci_reads() {
    let root = std::env::var_os("NCMD_UCI_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/netifd-harness/root"));
    let uci = root.join("bin/uci");
    assert!(uci.exists(), "{} is missing: build it with ../shared/netifd-harness/build.sh from the repository root (scripts/test does, as root)", uci.display());
    let dir = std::env::temp_dir().join(format!("ncmd-libuci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut rng, mut accepted) = (7u64, 0);
    let cases = 3000;
    for _ in 0..cases {
        let t = text(&mut rng);
        std::fs::write(dir.join("network"), &t).unwrap();
        let out = Command::new(&uci)
            .arg("-c")
            .arg(&dir)
            .args(["export", "network"])
            .env("LD_LIBRARY_PATH", root.join("lib"))
            .output()
            .unwrap();
        let real = out.status.success().then(|| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines()
                .filter(|l| !l.is_empty() && !l.starts_with("package "))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        });
        assert_eq!(ours(&t), real, "{t:?}");
        accepted += usize::from(real.is_some());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(accepted > cases / 10, "only {accepted} of {cases} texts were valid: the generator is too noisy");
}
