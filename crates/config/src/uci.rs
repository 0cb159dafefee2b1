//! The UCI file format of OpenWrt (`/etc/config/*`): a reader into [`Package`] and a
//! writer that changes one option of one named section in place ([`set_option`]).
//!
//! Owns the syntax only: words, quotes, escapes, comments, sections, options and lists,
//! with the same lexical rules as libuci (`'single'` quotes take everything literally,
//! `"double"` quotes and unquoted words honour `\` escapes, adjacent quoted and unquoted
//! parts form one word, `#` outside quotes starts a comment, `;` ends a statement, a `\`
//! at the end of a line continues it). It must not know what the options mean: that is
//! [`crate::spec`]'s job.
//!
//! Error texts never repeat option values (a value may be a password); they name the
//! line and what is wrong.

use std::fmt;
use std::ops::Range;

/// Option names whose values are hidden in `Debug` output of a [`Section`].
const SECRET_OPTIONS: &[&str] = &["password", "pincode", "key"];

/// A syntax or edit error in a UCI file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UciError {
    /// The text is not valid UCI syntax.
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// [`set_option`] was asked for a section that the file does not have.
    #[error("no section named '{section}' in the file; add it first (config interface '{section}')")]
    NoSuchSection { section: String },
    /// A section or option name given to [`set_option`] is not a valid UCI name.
    #[error("{what} name '{name}' is not valid: use only letters, digits and '_'")]
    InvalidName { what: &'static str, name: String },
}

/// The value of one option: `option k 'v'` or the collected `list k 'v'` lines.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// From `option name 'value'`.
    Single(String),
    /// From one or more `list name 'value'` lines, in file order.
    List(Vec<String>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Single(s) => write!(f, "{s:?}"),
            Value::List(l) => write!(f, "{l:?}"),
        }
    }
}

/// One `config <type> ['<name>']` section with its options in file order.
#[derive(Clone, PartialEq, Eq)]
pub struct Section {
    /// The section type (`interface`, `device`, `globals`, ...).
    pub kind: String,
    /// The section name; `None` for an anonymous section.
    pub name: Option<String>,
    /// Line of the `config` statement (1-based).
    pub line: usize,
    /// Options in the order they first appeared; a repeated `option` replaces the value.
    pub options: Vec<(String, Value)>,
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Options<'a>(&'a [(String, Value)]);
        impl fmt::Debug for Options<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut m = f.debug_map();
                for (k, v) in self.0 {
                    if SECRET_OPTIONS.contains(&k.as_str()) {
                        m.entry(k, &"***");
                    } else {
                        m.entry(k, v);
                    }
                }
                m.finish()
            }
        }
        f.debug_struct("Section")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("line", &self.line)
            .field("options", &Options(&self.options))
            .finish()
    }
}

impl Section {
    /// A section with no options (used to feed other sources through the same checks).
    pub fn new(kind: &str, name: Option<&str>) -> Section {
        Section { kind: kind.to_owned(), name: name.map(str::to_owned), line: 0, options: Vec::new() }
    }

    /// The value of `option`, if set.
    pub fn get(&self, option: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| k == option).map(|(_, v)| v)
    }

    /// Sets `option` like a later `option` line would (replacing any earlier value).
    pub fn set(&mut self, option: &str, value: Value) {
        match self.options.iter_mut().find(|(k, _)| k == option) {
            Some(slot) => slot.1 = value,
            None => self.options.push((option.to_owned(), value)),
        }
    }

    /// Appends to the list `option` like a `list` line would (an earlier single value
    /// becomes the first list element, as libuci does).
    pub fn add_list(&mut self, option: &str, item: String) {
        match self.options.iter_mut().find(|(k, _)| k == option) {
            Some((_, Value::List(l))) => l.push(item),
            Some((_, slot @ Value::Single(_))) => {
                let Value::Single(old) = std::mem::replace(slot, Value::List(Vec::new())) else {
                    unreachable!("matched Single above")
                };
                *slot = Value::List(vec![old, item]);
            }
            None => self.options.push((option.to_owned(), Value::List(vec![item]))),
        }
    }
}

/// A parsed UCI file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// From a `package <name>` line, if the file has one.
    pub name: Option<String>,
    /// Sections in file order (a named section that appears twice is merged, as libuci does).
    pub sections: Vec<Section>,
}

impl Package {
    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name.as_deref() == Some(name))
    }

    /// All sections of type `kind`, in file order.
    pub fn sections_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind == kind)
    }
}

/// One statement: its words and where it sits in the text.
#[derive(Debug)]
struct Stmt {
    line: usize,
    span: Range<usize>,
    words: Vec<String>,
}

fn syntax(line: usize, message: impl Into<String>) -> UciError {
    UciError::Syntax { line, message: message.into() }
}

/// Splits `text` into statements the way libuci's lexer does.
fn lex(text: &str) -> Result<Vec<Stmt>, UciError> {
    let mut stmts = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut line = 1;
    let mut stmt_line = 1;
    let mut span = 0..0;
    let mut chars = text.char_indices().peekable();

    fn end_word(words: &mut Vec<String>, word: &mut Option<String>) {
        if let Some(w) = word.take() {
            words.push(w);
        }
    }
    fn end_stmt(stmts: &mut Vec<Stmt>, words: &mut Vec<String>, line: usize, span: &Range<usize>) {
        if !words.is_empty() {
            stmts.push(Stmt { line, span: span.clone(), words: std::mem::take(words) });
        }
    }

    while let Some((pos, c)) = chars.next() {
        // Starting a word: remember where the statement begins.
        let starts_word = !matches!(c, '\n' | ' ' | '\t' | '\r' | '#' | ';');
        if starts_word && word.is_none() {
            if words.is_empty() {
                stmt_line = line;
                span.start = pos;
            }
            word = Some(String::new());
        }
        match c {
            '\n' => {
                end_word(&mut words, &mut word);
                end_stmt(&mut stmts, &mut words, stmt_line, &span);
                line += 1;
            }
            ' ' | '\t' | '\r' => end_word(&mut words, &mut word),
            ';' => {
                end_word(&mut words, &mut word);
                end_stmt(&mut stmts, &mut words, stmt_line, &span);
            }
            '#' => {
                end_word(&mut words, &mut word);
                while chars.next_if(|&(_, c)| c != '\n').is_some() {}
            }
            '\'' => {
                let start_line = line;
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((p, '\'')) => {
                            span.end = p + 1;
                            break;
                        }
                        Some((_, ch)) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            w.push(ch);
                        }
                        None => {
                            return Err(syntax(start_line, "unterminated single quote ('): add the closing quote"))
                        }
                    }
                }
            }
            '"' => {
                let start_line = line;
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some((p, '"')) => {
                            span.end = p + 1;
                            break;
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\n')) => line += 1,
                            Some((_, ch)) => w.push(ch),
                            None => {
                                return Err(syntax(start_line, "unterminated double quote (\"): add the closing quote"))
                            }
                        },
                        Some((_, ch)) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            w.push(ch);
                        }
                        None => {
                            return Err(syntax(start_line, "unterminated double quote (\"): add the closing quote"))
                        }
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, '\n')) => line += 1,
                Some((p, ch)) => {
                    if let Some(w) = word.as_mut() {
                        w.push(ch);
                    }
                    span.end = p + ch.len_utf8();
                }
                None => return Err(syntax(line, "backslash at the end of the file: remove it")),
            },
            _ => {
                if let Some(w) = word.as_mut() {
                    w.push(c);
                }
                span.end = pos + c.len_utf8();
            }
        }
    }
    end_word(&mut words, &mut word);
    end_stmt(&mut stmts, &mut words, stmt_line, &span);
    Ok(stmts)
}

/// True for names libuci accepts for sections and options: letters, digits, `_`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Section types may also contain `-`.
fn is_valid_type(kind: &str) -> bool {
    !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Shortens a word for an error message (keywords only; values are never shown).
fn shown(word: &str) -> String {
    let mut s: String = word.chars().filter(|c| !c.is_control()).take(24).collect();
    if word.chars().count() > 24 {
        s.push('…');
    }
    s
}

/// Parses a UCI file.
pub fn parse(text: &str) -> Result<Package, UciError> {
    let mut pkg = Package::default();
    // Index into pkg.sections of the section that option/list lines belong to.
    let mut current: Option<usize> = None;
    for stmt in lex(text)? {
        let line = stmt.line;
        let w = &stmt.words;
        match w[0].as_str() {
            "package" => {
                if w.len() != 2 {
                    return Err(syntax(line, "'package' needs exactly one name"));
                }
                pkg.name = Some(w[1].clone());
            }
            "config" => {
                let (kind, name) = match w.len() {
                    2 => (&w[1], None),
                    3 => (&w[1], Some(&w[2])),
                    1 => return Err(syntax(line, "'config' needs a section type, e.g. config interface 'wwan'")),
                    _ => {
                        return Err(syntax(
                            line,
                            "too many words after 'config': expected a type and an optional name",
                        ))
                    }
                };
                if !is_valid_type(kind) {
                    return Err(syntax(
                        line,
                        format!("section type '{}' is not valid: use letters, digits, '_' and '-'", shown(kind)),
                    ));
                }
                if let Some(name) = name {
                    if !is_valid_name(name) {
                        return Err(syntax(
                            line,
                            format!("section name '{}' is not valid: use letters, digits and '_'", shown(name)),
                        ));
                    }
                }
                let existing = name.and_then(|n| pkg.sections.iter().position(|s| s.name.as_ref() == Some(n)));
                current = Some(match existing {
                    Some(i) => {
                        pkg.sections[i].kind = kind.clone();
                        i
                    }
                    None => {
                        pkg.sections.push(Section {
                            kind: kind.clone(),
                            name: name.cloned(),
                            line,
                            options: Vec::new(),
                        });
                        pkg.sections.len() - 1
                    }
                });
            }
            kw @ ("option" | "list") => {
                let Some(i) = current else {
                    return Err(syntax(
                        line,
                        format!("'{kw}' outside of a section: put a 'config <type> <name>' line before it"),
                    ));
                };
                match w.len() {
                    3 => {}
                    1 => return Err(syntax(line, format!("'{kw}' needs a name and a value, e.g. {kw} apn 'internet'"))),
                    2 => {
                        return Err(syntax(
                            line,
                            format!("{kw} '{}' has no value: write {kw} {} '<value>'", shown(&w[1]), shown(&w[1])),
                        ))
                    }
                    _ => {
                        return Err(syntax(
                            line,
                            format!(
                                "{kw} '{}' has more than one value word: put the value in quotes if it contains spaces",
                                shown(&w[1])
                            ),
                        ))
                    }
                }
                if !is_valid_name(&w[1]) {
                    return Err(syntax(
                        line,
                        format!("option name '{}' is not valid: use letters, digits and '_'", shown(&w[1])),
                    ));
                }
                let section = &mut pkg.sections[i];
                if kw == "option" {
                    section.set(&w[1], Value::Single(w[2].clone()));
                } else {
                    section.add_list(&w[1], w[2].clone());
                }
            }
            other => {
                return Err(syntax(
                    line,
                    format!("unknown keyword '{}': expected config, option, list or package", shown(other)),
                ))
            }
        }
    }
    Ok(pkg)
}

/// Quotes a value for a UCI file: single quotes, a `'` inside written as `'\''`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Returns `text` with option `option` of the section named `section` set to `value`
/// (`None` removes it). Everything else — comments, blank lines, order, other sections,
/// the quoting of untouched lines — is kept byte for byte. An existing `option`/`list`
/// line is rewritten where it stands (extra ones are removed); a new option goes after the
/// section's last statement, indented like its neighbours.
pub fn set_option(text: &str, section: &str, option: &str, value: Option<&str>) -> Result<String, UciError> {
    if !is_valid_name(section) {
        return Err(UciError::InvalidName { what: "section", name: shown(section) });
    }
    if !is_valid_name(option) {
        return Err(UciError::InvalidName { what: "option", name: shown(option) });
    }
    // Validate the whole file first so that we never rewrite text we do not understand.
    parse(text)?;
    let stmts = lex(text)?;

    let mut in_target = false;
    let mut found_section = false;
    let mut last_in_section: Option<&Stmt> = None;
    let mut indent_from: Option<&Stmt> = None;
    let mut matches: Vec<&Stmt> = Vec::new();
    for stmt in &stmts {
        match stmt.words[0].as_str() {
            "config" => {
                in_target = stmt.words.get(2).map(String::as_str) == Some(section);
                if in_target {
                    found_section = true;
                    last_in_section = Some(stmt);
                }
            }
            "option" | "list" if in_target => {
                last_in_section = Some(stmt);
                indent_from = Some(stmt);
                if stmt.words[1] == option {
                    matches.push(stmt);
                }
            }
            _ => {}
        }
    }
    if !found_section {
        return Err(UciError::NoSuchSection { section: section.to_owned() });
    }

    let new_stmt = value.map(|v| format!("option {option} {}", quote(v)));
    // (range to replace, replacement), applied from the end so offsets stay valid.
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut remaining = matches.iter();
    if let Some(new_stmt) = &new_stmt {
        if let Some(first) = remaining.next() {
            edits.push((first.span.clone(), new_stmt.clone()));
        } else if let Some(anchor) = last_in_section {
            let indent = indent_from.map(|s| line_indent(text, s.span.start)).unwrap_or("\t");
            let at = text[anchor.span.end..].find('\n').map(|i| anchor.span.end + i + 1);
            match at {
                Some(at) => edits.push((at..at, format!("{indent}{new_stmt}\n"))),
                None => edits.push((text.len()..text.len(), format!("\n{indent}{new_stmt}\n"))),
            }
        }
    }
    for stmt in remaining {
        edits.push((removal_range(text, &stmt.span), String::new()));
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_owned();
    for (range, replacement) in edits {
        out.replace_range(range, &replacement);
    }
    Ok(out)
}

/// The whitespace before the statement starting at `start`.
fn line_indent(text: &str, start: usize) -> &str {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..start];
    if before.chars().all(|c| c == ' ' || c == '\t') {
        before
    } else {
        "\t"
    }
}

/// The range to delete for a statement: the whole line when nothing else is on it.
fn removal_range(text: &str, span: &Range<usize>) -> Range<usize> {
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[span.end..].find('\n').map_or(text.len(), |i| span.end + i + 1);
    let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if blank(&text[line_start..span.start]) && blank(&text[span.end..line_end]) {
        line_start..line_end
    } else {
        span.clone()
    }
}

#[cfg(test)]
mod tests {
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
            "\toption q1 'it'\\''s'\n",       // 'it' \' 's'
            "\toption q2 \"say \\\"hi\\\"\"\n", // "say \"hi\""
            "\toption q3 un\\ quoted\n",       // unquoted with escaped space
            "\toption q4 'a'\"b\"c\n",         // concatenated parts
            "\toption q5 'back\\slash'\n",     // single quotes keep backslashes
            "\toption q6 ''\n",                // empty value
            "\toption q7 plain # comment\n",
            "\toption q8 'multi\nline'\n",
            "\toption q9 two\\\n-lines\n",      // backslash-newline continues
        ))
        .unwrap();
        let s = pkg.section("a").unwrap();
        assert_eq!(single(s, "q1"), "it's");
        assert_eq!(single(s, "q2"), "say \"hi\"");
        assert_eq!(single(s, "q3"), "un quoted");
        assert_eq!(single(s, "q4"), "abc");
        assert_eq!(single(s, "q5"), "back\\slash");
        assert_eq!(single(s, "q6"), "");
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
        let cases: &[(&str, usize, &str)] = &[
            ("option a 'b'\n", 1, "outside of a section"),
            ("config interface x\n\toption password 'S3cr3t-Value\n", 2, "unterminated single quote"),
            ("config interface x\n\n\toption password \"S3cr3t-Value\n", 3, "unterminated double quote"),
            ("config interface x\n\toption apn\n", 2, "has no value"),
            ("config interface x\n\toption password S3cr3t Value\n", 2, "more than one value word"),
            ("config interface x\n\toptoin a b\n", 2, "unknown keyword 'optoin'"),
            ("config interface bad-name\n", 1, "section name 'bad-name' is not valid"),
            ("config\n", 1, "needs a section type"),
            ("config interface x\n\toption a.b c\n", 2, "option name 'a.b' is not valid"),
            ("config interface x\n\toption a b\\", 2, "backslash at the end"),
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
            assert_eq!(single(pkg.section("wwan").unwrap(), "password"), v);
            assert_eq!(single(pkg.section("wwan").unwrap(), "apn"), "internet");
        }
    }

    #[test]
    fn set_option_refuses_unknown_sections_bad_names_and_bad_files() {
        assert_eq!(
            set_option(NETWORK, "lte", "apn", Some("x")),
            Err(UciError::NoSuchSection { section: "lte".into() })
        );
        assert!(matches!(set_option(NETWORK, "wwan", "a b", Some("x")), Err(UciError::InvalidName { .. })));
        assert!(matches!(set_option("config x y\n'", "y", "a", Some("b")), Err(UciError::Syntax { .. })));
    }
}
