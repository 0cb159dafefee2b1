//! Tests of the UCI reader and writer. Expected values of the reader were checked against
//! the real `uci` CLI built from openwrt/uci 66127cd (`uci -c DIR export network`).

use super::*;

fn single(s: &Section, k: &str) -> String {
    match s.get(k) {
        Some(Value::Single(v)) => v.clone(),
        other => panic!("option {k}: {other:?}"),
    }
}

#[test]
fn words_quotes_and_escapes_like_libuci() {
    let pkg = parse(concat!(
        "config interface 'a'\n",
        "\toption q1 'it'\\''s'\n",         // 'it' \' 's'
        "\toption q2 \"say \\\"hi\\\"\"\n", // "say \"hi\""
        "\toption q3 un\\ quoted\n",        // unquoted with escaped space
        "\toption q4 'a'\"b\"c\n",          // concatenated parts
        "\toption q5 'back\\slash'\n",      // single quotes keep backslashes
        "\toption q6 ''\n",                 // empty value
        "\toption q7 plain # comment\n",
        "\toption q8 'multi\nline'\n",
        "\toption q9 two\\\n-lines\n", // backslash-newline continues
    ))
    .unwrap();
    let s = pkg.section("a").unwrap();
    assert_eq!(single(s, "q1"), "it's");
    assert_eq!(single(s, "q2"), "say \"hi\"");
    assert_eq!(single(s, "q3"), "un quoted");
    assert_eq!(single(s, "q4"), "abc");
    assert_eq!(single(s, "q5"), "back\\slash");
    assert_eq!(s.get("q6"), None, "libuci ignores an option with an empty value");
    assert_eq!(single(s, "q7"), "plain");
    assert_eq!(single(s, "q8"), "multi\nline");
    assert_eq!(single(s, "q9"), "two-lines");
}

#[test]
fn sections_lists_anonymous_and_merges() {
    let text = "package network\n\n# comment\nconfig globals\n\toption x '1'\n\
                config zone\n\tlist network 'wan'\n\tlist network wwan ; option name wan\n\
                config interface lan\n\toption proto static\nconfig interface \"lan\"\n\toption proto dhcp\n\
                \toption ipaddr 1\n\tlist ipaddr 2\n";
    let pkg = parse(text).unwrap();
    assert_eq!(pkg.name.as_deref(), Some("network"));
    assert_eq!(pkg.sections.len(), 3);
    assert_eq!(pkg.sections[0].name, None);
    assert_eq!(pkg.sections[1].get("network"), Some(&Value::List(vec!["wan".into(), "wwan".into()])));
    assert_eq!(single(&pkg.sections[1], "name"), "wan");
    let lan = pkg.section("lan").unwrap();
    assert_eq!(single(lan, "proto"), "dhcp");
    assert_eq!(lan.line, 9);
    assert_eq!(lan.get("ipaddr"), Some(&Value::List(vec!["1".into(), "2".into()])));
    assert_eq!(pkg.sections_of("interface").count(), 1);
}

#[test]
fn syntax_errors_name_the_line_and_never_the_value() {
    // Each of these is refused by the real `uci` too.
    let cases: &[(&str, usize, &str)] = &[
        ("option a 'b'\n", 1, "before the first section"),
        ("config interface x\n\toption password 'S3cr3t-Value\n", 2, "unterminated single quote"),
        ("config interface x\n\n\toption password \"S3cr3t-Value\n", 3, "unterminated double quote"),
        ("config interface x\n\toption password S3cr3t Value\n", 2, "too many words"),
        ("config interface x\n\toptoin a b\n", 2, "unknown keyword 'optoin'"),
        ("config interface bad-name\n", 1, "section name 'bad-name' is not valid"),
        ("config\n", 1, "'config' needs its arguments on the same line"),
        ("config interface x\n\toption a.b c\n", 2, "option name 'a.b' is not valid"),
        ("config interface x\n\toption a 'S3cr3t';\n", 2, "';' at the end of the line"),
        ("config interface x\n\toption a 'S3cr3t';;option b c\n", 2, "empty statement"),
        ("config interface x\nconfig device x\n", 2, "declared before with another type"),
        ("config interface x\n\toption a b\0\n", 2, "NUL byte"),
        ("config interface x\n\toption\n", 2, "'option' needs its arguments on the same line"),
        ("config interface x\n\toption", 2, "'option' has no arguments"),
        ("config 'interface x'\n", 1, "section type 'interface x' is not valid"),
    ];
    for (text, line, needle) in cases {
        let err = parse(text).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, UciError::Syntax { line: l, .. } if l == *line), "{text:?}: {msg}");
        assert!(msg.contains(needle), "{text:?}: {msg}");
        assert!(!msg.contains("S3cr3t"), "{msg}");
    }
}

#[test]
fn debug_hides_secret_options() {
    let pkg = parse("config interface w\n\toption password 'Zq9-secret'\n\toption pincode '8642'\n").unwrap();
    let dbg = format!("{pkg:?}");
    assert!(!dbg.contains("Zq9-secret") && !dbg.contains("8642"), "{dbg}");
    assert!(dbg.contains("***"));
}

const NETWORK: &str = "config interface 'loopback'\n\
    \toption device 'lo'\n\
    \toption proto 'static'\n\
    \n\
    # the modem\n\
    config interface 'wwan'\n\
    \toption proto 'ncm'\n\
    \toption device '/dev/ttyUSB1' # PC UI port\n\
    \toption apn 'internet'\n\
    \n\
    config interface 'wan'\n\
    \toption proto 'dhcp'\n";

#[test]
fn set_option_replaces_in_place_keeping_everything_else() {
    let out = set_option(NETWORK, "wwan", "device", Some("/dev/ttyUSB2")).unwrap();
    assert_eq!(out, NETWORK.replace("'/dev/ttyUSB1'", "'/dev/ttyUSB2'"));
    assert!(out.contains("# PC UI port"));
}

#[test]
fn set_option_adds_after_the_last_option_of_the_section() {
    let out = set_option(NETWORK, "wwan", "pincode", Some("1234")).unwrap();
    assert_eq!(out, NETWORK.replace("'internet'\n", "'internet'\n\toption pincode '1234'\n"));
    // A section without options, at the end of a file without a final newline.
    let out = set_option("config interface 'x'", "x", "proto", Some("ncm")).unwrap();
    assert_eq!(out, "config interface 'x'\n\toption proto 'ncm'\n");
}

#[test]
fn set_option_removes_lines_and_lists() {
    let out = set_option(NETWORK, "wwan", "apn", None).unwrap();
    assert_eq!(out, NETWORK.replace("\toption apn 'internet'\n", ""));
    let text = "config interface 'w'\n\tlist probe_hosts 'a'\n\tlist probe_hosts 'b'\n\toption x y\n";
    let out = set_option(text, "w", "probe_hosts", Some("c")).unwrap();
    assert_eq!(out, "config interface 'w'\n\toption probe_hosts 'c'\n\toption x y\n");
    // Removing an option that is not there changes nothing.
    assert_eq!(set_option(NETWORK, "wan", "apn", None).unwrap(), NETWORK);
}

#[test]
fn set_option_round_trips_awkward_values() {
    for v in ["it's", "a \"b\" c", "back\\slash", "", "#not a comment", "x;y", "  spaced  "] {
        let out = set_option(NETWORK, "wwan", "password", Some(v)).unwrap();
        let pkg = parse(&out).unwrap();
        if v.is_empty() {
            assert_eq!(pkg.section("wwan").unwrap().get("password"), None, "an empty value unsets");
        } else {
            assert_eq!(single(pkg.section("wwan").unwrap(), "password"), v);
        }
        assert_eq!(single(pkg.section("wwan").unwrap(), "apn"), "internet");
    }
}

#[test]
fn set_option_refuses_unknown_sections_bad_names_and_bad_files() {
    assert_eq!(set_option(NETWORK, "lte", "apn", Some("x")), Err(UciError::NoSuchSection { section: "lte".into() }));
    assert!(matches!(set_option(NETWORK, "wwan", "a b", Some("x")), Err(UciError::InvalidName { .. })));
    assert!(matches!(set_option("config x y\n'", "y", "a", Some("b")), Err(UciError::Syntax { .. })));
}

#[test]
fn changes_are_checked_before_anything_is_applied() {
    let doc = Document::parse(NETWORK).unwrap();
    let good = Change::set(1, "apn", "web");
    for (bad, err) in [
        (Change::set(9, "apn", "x"), UciError::NoSectionIndex(9)),
        (Change::set(1, "a b", "x"), UciError::InvalidName { what: "option", name: "a b".into() }),
        (Change::add_to_list(1, "apn", "x\0y"), UciError::InvalidValue { option: "apn".into() }),
    ] {
        let mut pkg = doc.package().clone();
        assert_eq!(pkg.apply(&[good.clone(), bad.clone()]), Err(err.clone()));
        assert_eq!(&pkg, doc.package(), "nothing applied");
        assert_eq!(doc.edit(&[good.clone(), bad]).unwrap_err(), err);
    }
}
