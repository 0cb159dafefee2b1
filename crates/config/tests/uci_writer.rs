//! The UCI writer against random files and random changes:
//! `parse(write(file, changes)) == apply(changes, parse(file))`, for files with `;`,
//! line continuations, comments, CRLF, every quoting style, lists, abbreviated keywords,
//! and several sections of the same and of different types (named ones repeated, so that
//! libuci merges them), plus the attacks of issue 12 items 3 and 10 byte for byte.

use ncmd_config::uci::{parse, Package, Value};
use ncmd_config::{Change, Document, Edit};
use proptest::prelude::*;

/// Reads choices from proptest's random stream (so that failures shrink).
struct Choices<'a> {
    stream: &'a [u16],
    next: usize,
}

impl Choices<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let v = self.stream.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        usize::from(v) % n
    }

    fn one<'b>(&mut self, items: &[&'b str]) -> &'b str {
        items[self.pick(items.len())]
    }
}

/// Values that stress quoting: quotes of both kinds, backslashes, comment and statement
/// characters, spaces, line breaks, non-ASCII.
const VALUES: &[&str] = &[
    "internet",
    "it's",
    "say \"hi\"",
    "back\\slash",
    "#not a comment",
    "x;y",
    "  spaced  ",
    "multi\nline",
    "crlf\r\nline",
    "",
    "ünïcödé",
    "'",
    "\\",
    "1234",
];
const OPTIONS: &[&str] = &["apn", "mode", "pincode", "probe_hosts", "a_b", "proto"];
/// Named sections keep one type each (libuci refuses a redeclaration with another type).
const NAMED: &[(&str, &str)] =
    &[("interface", "wwan"), ("interface", "wwan2"), ("interface", "lan"), ("device", "x_1")];
const ANONYMOUS_TYPES: &[&str] = &["interface", "zone", "a.b-c"];

/// One word for `value`, in a randomly chosen libuci quoting style.
fn render(c: &mut Choices, value: &str) -> String {
    let single = || format!("'{}'", value.replace('\'', "'\\''"));
    match c.pick(5) {
        0 => single(),
        1 => {
            // Double quotes: `\` escapes; a `\` + line break inside joins lines.
            let mut s = String::from("\"");
            for ch in value.chars() {
                if matches!(ch, '"' | '\\') {
                    s.push('\\');
                }
                s.push(ch);
            }
            if c.pick(3) == 0 {
                s.push_str("\\\n");
            }
            s.push('"');
            s
        }
        2 if !value.is_empty() && !value.contains(['\n', '\r']) => {
            // Unquoted, special characters escaped, maybe a continuation in the middle.
            let mut s = String::new();
            for (i, ch) in value.chars().enumerate() {
                if i == 1 && c.pick(3) == 0 {
                    s.push_str("\\\n");
                }
                if ch.is_whitespace() || matches!(ch, '\'' | '"' | '#' | ';' | '\\') {
                    s.push('\\');
                }
                s.push(ch);
            }
            s
        }
        3 => {
            // Adjacent parts form one word: 'first'"second".
            let cut =
                value.char_indices().map(|(i, _)| i).nth(c.pick(value.chars().count() + 1)).unwrap_or(value.len());
            let (a, b) = value.split_at(cut);
            let b: String =
                b.chars().flat_map(|ch| if matches!(ch, '"' | '\\') { vec!['\\', ch] } else { vec![ch] }).collect();
            format!("'{}'\"{b}\"", a.replace('\'', "'\\''"))
        }
        _ => single(),
    }
}

/// A random file that libuci accepts.
fn file(c: &mut Choices) -> String {
    let mut text = String::new();
    if c.pick(4) == 0 {
        text.push_str(c.one(&["package network\n", "# generated\n\n", "p network\r\n"]));
    }
    let sections = 1 + c.pick(5);
    for _ in 0..sections {
        let kw = c.one(&["config", "config", "c"]);
        let header = if c.pick(4) == 0 {
            format!("{kw} {}", c.one(ANONYMOUS_TYPES))
        } else {
            let (kind, name) = NAMED[c.pick(NAMED.len())];
            let name = match c.pick(3) {
                0 => name.to_owned(),
                1 => format!("'{name}'"),
                _ => format!("\"{name}\""),
            };
            format!("{kw} {kind} {name}")
        };
        text.push_str(&header);
        let statements = c.pick(6);
        let mut ends_unquoted = !header.ends_with(['\'', '"']);
        // libuci reads the word after `config <type>` as the name, even after `;`, so an
        // anonymous header ends its line.
        let mut newline_only = header.split(' ').count() == 2;
        for _ in 0..statements {
            text.push_str(separator(c, ends_unquoted, newline_only));
            newline_only = false;
            text.push_str(c.one(&["", "\t", "    ", " "]));
            let kw = c.one(&["option", "option", "list", "list", "o", "l"]);
            let name = c.one(OPTIONS);
            let raw = c.one(VALUES);
            let value = render(c, raw);
            ends_unquoted = !value.ends_with(['\'', '"']);
            text.push_str(&format!("{kw} {name} {value}"));
            if c.pick(12) == 0 && ends_unquoted && !value.is_empty() {
                // libuci overwrites this `;` and ignores the rest of the line.
                text.push_str("; option ignored 'rest'");
                newline_only = true;
            }
        }
        text.push_str(separator(c, ends_unquoted, newline_only));
    }
    if c.pick(3) == 0 {
        text.truncate(text.trim_end_matches(['\n', '\r']).len());
    }
    text
}

/// What may follow a statement when another statement (or the end) comes next.
fn separator(c: &mut Choices, after_unquoted: bool, newline_only: bool) -> &'static str {
    match c.pick(9) {
        0 => "\r\n",
        1 if !newline_only => " ; ",
        2 if !after_unquoted && !newline_only => "; ",
        3 => " # comment\n",
        4 if !newline_only => " \\\n\t",
        5 => "\n\n# a comment line\n",
        6 => " \t\n",
        _ => "\n",
    }
}

/// Random changes to existing sections.
fn changes(c: &mut Choices, pkg: &Package) -> Vec<Change> {
    (0..1 + c.pick(4))
        .map(|_| {
            let section = c.pick(pkg.sections.len());
            let option = c.one(OPTIONS).to_owned();
            let edit = match c.pick(3) {
                0 => Edit::Set(c.one(VALUES).to_owned()),
                1 => Edit::AddToList(c.one(VALUES).to_owned()),
                _ => Edit::Delete,
            };
            Change { section, option, edit }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parse_of_written_equals_apply_of_parsed(stream in proptest::collection::vec(any::<u16>(), 20..300)) {
        let mut c = Choices { stream: &stream, next: 0 };
        let text = file(&mut c);
        let doc = Document::parse(text.clone());
        prop_assert!(doc.is_ok(), "generated file refused: {:?}\n{text:?}", doc.err());
        let doc = doc.unwrap();
        let changes = changes(&mut c, doc.package());
        let mut expected = doc.package().clone();
        expected.apply(&changes).unwrap();
        let written = doc.edit(&changes);
        prop_assert!(written.is_ok(), "{:?}\nfile: {text:?}\nchanges: {changes:?}", written.err());
        let written = written.unwrap();
        let reparsed = parse(written.text()).unwrap();
        prop_assert!(reparsed.same_content(&expected), "file: {text:?}\nchanges: {changes:?}\nwritten: {:?}", written.text());
    }
}

/// Applies one change to the section called `section`.
fn edit(text: &str, section: &str, option: &str, edit: Edit) -> String {
    let doc = Document::parse(text).unwrap();
    let index = doc.package().section_index(section).unwrap();
    doc.edit(&[Change { section: index, option: option.into(), edit }]).unwrap().into_text()
}

fn single<'a>(pkg: &'a Package, section: &str, option: &str) -> Option<&'a str> {
    match pkg.section(section)?.get(option)? {
        Value::Single(v) => Some(v),
        Value::List(_) => None,
    }
}

/// Issue 12 item 3: the section's last statement shares its line with the next header.
#[test]
fn a_new_option_stays_in_its_section_when_the_next_header_shares_the_line() {
    let text = "config interface 'wwan'\n\toption proto 'ncm'\n\toption probe_interval '0'; config interface 'wwan2'\n\toption proto 'ncm'\n";
    let out = edit(text, "wwan", "apn", Edit::Set("internet".into()));
    assert_eq!(
        out,
        "config interface 'wwan'\n\toption proto 'ncm'\n\toption probe_interval '0'; option apn 'internet' ; config interface 'wwan2'\n\toption proto 'ncm'\n"
    );
    let pkg = parse(&out).unwrap();
    assert_eq!(single(&pkg, "wwan", "apn"), Some("internet"));
    assert_eq!(pkg.section("wwan2").unwrap().get("apn"), None);
    // The same with the PIN, and with the header directly after the `;`.
    let text = "config interface wwan ;option device '/dev/ttyUSB1';config interface wwan2\n";
    let out = edit(text, "wwan", "pincode", Edit::Set("1234".into()));
    assert_eq!(
        out,
        "config interface wwan ;option device '/dev/ttyUSB1';option pincode '1234' ; config interface wwan2\n"
    );
    assert_eq!(parse(&out).unwrap().section("wwan2").unwrap().options, vec![]);
}

/// Issue 12 item 3: line continuations.
#[test]
fn continuations_are_kept_and_never_join_a_new_statement_to_another() {
    let text =
        "config interface 'wwan'\n\toption apn inter\\\nnet\n\toption proto 'ncm' \\\n\tconfig interface 'lan'\n";
    // The continued option is rewritten whole.
    let out = edit(text, "wwan", "apn", Edit::Set("web".into()));
    assert_eq!(out, "config interface 'wwan'\n\toption apn 'web'\n\toption proto 'ncm' \\\n\tconfig interface 'lan'\n");
    // A new option after a statement whose line continues into the next header goes
    // between them, still in 'wwan'.
    let out = edit(text, "wwan", "mode", Edit::Set("lte".into()));
    assert_eq!(out, "config interface 'wwan'\n\toption apn inter\\\nnet\n\toption proto 'ncm' \\\n\toption mode 'lte' ; config interface 'lan'\n");
    let pkg = parse(&out).unwrap();
    assert_eq!(single(&pkg, "wwan", "mode"), Some("lte"));
    assert_eq!(single(&pkg, "wwan", "apn"), Some("internet"));
    assert_eq!(pkg.section("lan").unwrap().options, vec![]);
    // Deleting the statement before a continuation keeps the next statement.
    let out = edit(text, "wwan", "proto", Edit::Delete);
    assert_eq!(out, "config interface 'wwan'\n\toption apn inter\\\nnet\n\tconfig interface 'lan'\n");
}

#[test]
fn deleting_removes_exactly_the_statement_and_its_separator() {
    let text = "config interface 'w'\r\n\toption a '1'; option b '2' ; option c '3' # c\r\n\tlist d 'x'\r\n\tlist d 'y'\r\nconfig interface 'v'\r\n";
    assert_eq!(
        edit(text, "w", "a", Edit::Delete),
        "config interface 'w'\r\n\toption b '2' ; option c '3' # c\r\n\tlist d 'x'\r\n\tlist d 'y'\r\nconfig interface 'v'\r\n"
    );
    assert_eq!(
        edit(text, "w", "b", Edit::Delete),
        "config interface 'w'\r\n\toption a '1'; option c '3' # c\r\n\tlist d 'x'\r\n\tlist d 'y'\r\nconfig interface 'v'\r\n"
    );
    assert_eq!(
        edit(text, "w", "c", Edit::Delete),
        "config interface 'w'\r\n\toption a '1'; option b '2' # c\r\n\tlist d 'x'\r\n\tlist d 'y'\r\nconfig interface 'v'\r\n"
    );
    assert_eq!(
        edit(text, "w", "d", Edit::Delete),
        "config interface 'w'\r\n\toption a '1'; option b '2' ; option c '3' # c\r\nconfig interface 'v'\r\n"
    );
    // New statements in a CRLF file end in CRLF.
    assert_eq!(edit(text, "v", "apn", Edit::Set("x".into())), format!("{text}\toption apn 'x'\r\n"));
}

#[test]
fn a_statement_that_swallows_its_line_is_rewritten_and_deleted_with_the_rest() {
    // libuci reads `option apn internet; option mode lte` as apn only.
    let text = "config interface 'w'\n\toption apn internet; option mode lte\n\toption proto 'ncm'\n";
    assert_eq!(parse(text).unwrap().section("w").unwrap().get("mode"), None);
    let out = edit(text, "w", "apn", Edit::Set("web".into()));
    assert_eq!(out, "config interface 'w'\n\toption apn 'web' #; option mode lte\n\toption proto 'ncm'\n");
    assert_eq!(parse(&out).unwrap().section("w").unwrap().get("mode"), None);
    let out = edit(text, "w", "apn", Edit::Delete);
    assert_eq!(out, "config interface 'w'\n\toption proto 'ncm'\n");
}

/// Issue 12 item 10: a change set names only the fields it changes.
#[test]
fn options_a_change_set_does_not_name_are_kept() {
    let text = "config interface 'wwan'\n\toption proto 'ncm'\n\toption apn 'internet'\n\toption mode 'lte'\n\toption pdptype 'IPV4V6'\n";
    let doc = Document::parse(text).unwrap();
    let out = doc.edit(&[]).unwrap();
    assert_eq!(out.text(), text);
    let out = doc.edit(&[Change::set(0, "pincode", "1234")]).unwrap();
    assert_eq!(out.text(), format!("{text}\toption pincode '1234'\n"));
    // Setting to empty unsets, like libuci; that is a named change, not an omission.
    let out = doc.edit(&[Change::set(0, "mode", "")]).unwrap();
    assert_eq!(out.text(), text.replace("\toption mode 'lte'\n", ""));
}

#[test]
fn lists_grow_in_place_and_merged_sections_are_edited_where_they_end() {
    let text =
        "config interface 'w'\n\tlist probe_hosts 'a'\nconfig device 'd'\nconfig interface 'w'\n\toption x '1'\n";
    let out = edit(text, "w", "probe_hosts", Edit::AddToList("b".into()));
    assert_eq!(out, format!("{text}\tlist probe_hosts 'b'\n"));
    assert_eq!(
        parse(&out).unwrap().section("w").unwrap().get("probe_hosts"),
        Some(&Value::List(vec!["a".into(), "b".into()]))
    );
    let out = edit(text, "w", "probe_hosts", Edit::Set("c".into()));
    assert_eq!(out, text.replace("list probe_hosts 'a'", "option probe_hosts 'c'"));
}

/// Found by the fuzzer: a `\`, `\r`, `;` or `''` at the very end of the file keeps its meaning.
#[test]
fn whatever_ends_the_file_keeps_its_meaning() {
    for text in [
        "c \\\\\\\\\\\\\\\\\\i\\",
        "config interface x\n\toption a b\\\r",
        "config interface x\n\toption a 'b' \\",
        "\nconfig interfaconfmgn ;",
        "config x y\n\to a 'b' ;",
        "c ierfce  ;  ;  ",
        "config t ;  \\\n\toption a 'b'\n",
        "c ieac xlist\t''''\t\t",
        "c ieac xlist ''",
        "c ieac xlist \"\\\n\"",
        "c R\\\\\\\\\\\\\\\\\\\r\n\\\\\\@\\\\\\\\i\\",
        "c i\n\tl a\t\t\t??ea\\\n",
        "c \\\\\\\\\\\\+apn\\\\\\\\\\\r\n\\\\\\\\\\\\\\\\d\\\\\r\\c \\",
        "\r\nconfig ce wan3\r\n\tl apn ;\r",
        "config interface x\n\toption a 'b' \\\n\t",
        "config interface x\n\toption a b\\\nc\r",
    ] {
        let doc = Document::parse(text).unwrap();
        let changes = [Change::set(0, "apn", "internet")];
        let out = doc.edit(&changes).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let mut expected = doc.package().clone();
        expected.apply(&changes).unwrap();
        assert!(parse(out.text()).unwrap().same_content(&expected), "{:?}", out.text());
    }
}

/// Deleting the statements after the section's last one on its line and adding one: the new
/// statement goes where the rest of the line leaves room.
#[test]
fn adding_after_deleting_the_rest_of_the_line() {
    let text = "config interface 'w'\n\toption a '1'; option b '2'\nconfig interface 'v'\n";
    let doc = Document::parse(text).unwrap();
    let out = doc.edit(&[Change::delete(0, "b"), Change::set(0, "c", "3")]).unwrap();
    assert_eq!(out.text(), "config interface 'w'\n\toption a '1'\n\toption c '3'\nconfig interface 'v'\n");
    for text in ["config t ; ; option a 'b' ;", "config t ; ; option a 'b' ; # c\n", "config t x; o a b; o c d\n"] {
        let doc = Document::parse(text).unwrap();
        let changes = [Change::delete(0, "a"), Change::set(0, "c", "3")];
        let out = doc.edit(&changes).unwrap();
        let mut expected = doc.package().clone();
        expected.apply(&changes).unwrap();
        assert!(parse(out.text()).unwrap().same_content(&expected), "{:?}", out.text());
    }
}
