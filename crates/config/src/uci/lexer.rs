//! The UCI reader: a port of libuci's parser (openwrt/uci `file.c` at commit
//! 66127cd76c5d0bd46d5a90302cc6110f53a4e2f8: `uci_getln`, `parse_backslash`, `parse_str`,
//! `next_arg`, `assert_eol`, `uci_parse_line`, `uci_parse_config`, `uci_parse_option`),
//! so that ncmd accepts exactly the files `uci` accepts and reads the same values from them.
//!
//! Like libuci it works on one line buffer that it rewrites in place: quotes and escapes are
//! removed by copying the word over itself, and a NUL is written where a word ends. Some of
//! libuci's behaviour only follows from that rewriting and is reproduced on purpose:
//! - an unquoted word that runs straight into `;` (`option a b; option c d`) has that `;`
//!   overwritten, so the rest of the line is ignored; `option a 'b'; option c d` is two
//!   statements;
//! - statements are split by `;` but the keyword by space or tab only, so a `;` at the end
//!   of a line (`option a 'b';`) or `;;` is an "invalid command";
//! - `option x ''` and `option x` are ignored (an empty value does not set an option);
//!   `list x ''` adds an empty item;
//! - a `\` at the end of a line (outside single quotes) joins the next line; the keyword
//!   must still be followed by a space or tab; a `\` at the end of the file is dropped;
//! - keywords may be abbreviated to their first letter (`c`, `o`, `l`, `p`).
//!
//! Unlike libuci, the cost is linear in the file's size: sections and options are found
//! through hash maps, not by walking lists. Besides the [`Package`], the parser records
//! where every statement sits, for the writer ([`super::edit`]).

use std::collections::HashMap;
use std::ops::Range;

use super::{shown, Package, Section, UciError, Value};

/// The four statement keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    Package,
    Config,
    Option,
    List,
}

/// One statement of the file and where it sits.
#[derive(Debug, Clone)]
pub(super) struct Stmt {
    pub kind: Keyword,
    /// For `config`: the section it opens; for `option`/`list`: the section it belongs to.
    pub section: Option<usize>,
    /// The option name of an `option`/`list` statement, else empty.
    pub option: String,
    /// An `option x ''` that libuci ignores.
    pub ignored: bool,
    /// From the first byte of the keyword to just after the last byte of its last word.
    pub span: Range<usize>,
    /// True when the statement's last word ran straight into `;`, which makes libuci ignore
    /// the rest of the line ([`Stmt::tail_end`]).
    pub swallows: bool,
    /// Where the `;` (or empty word) that ends the statement ends, when libuci reads another
    /// statement after it on the same line.
    pub chained: Option<usize>,
    /// `span.end`, or for a statement that swallows, the end of its line (before `\r\n`).
    pub tail_end: usize,
    /// Index of its logical line (physical lines joined by `\` continuations).
    pub logical: usize,
}

/// A parsed file: the package and the statements it came from.
pub(super) struct Parsed {
    pub package: Package,
    pub stmts: Vec<Stmt>,
    /// Byte ranges of the logical lines, each through its final line break.
    pub logical_lines: Vec<Range<usize>>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, UciError> {
    if let Some(at) = text.bytes().position(|b| b == 0) {
        let line = text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(UciError::Syntax { line, message: "the file contains a NUL byte, which uci cannot read".into() });
    }
    let mut p = Parser {
        text: text.as_bytes(),
        next: 0,
        next_line: 1,
        buf: Vec::new(),
        lines: Vec::new(),
        pos: 0,
        out: Parsed { package: Package::default(), stmts: Vec::new(), logical_lines: Vec::new() },
        section_by_name: HashMap::new(),
        option_index: Vec::new(),
        current: None,
    };
    // uci_import: one logical line at a time until the end of the file.
    while p.next < p.text.len() {
        let start = p.next;
        p.pos = 0;
        p.getln(0);
        if p.at(0) != 0 {
            p.parse_line()?;
        }
        p.out.logical_lines.push(start..p.next);
    }
    Ok(p.out)
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// libuci's `uci_validate_str`: names are letters, digits and `_` (`-` too for package
/// names); types may be any printable ASCII except space.
fn valid_str(s: &[u8], name: bool, package: bool) -> bool {
    !s.is_empty()
        && s.iter().all(|&c| {
            c.is_ascii_alphanumeric() || c == b'_' || (c == b'-' && package) || (!name && (33..=126).contains(&c))
        })
}

struct Parser<'a> {
    text: &'a [u8],
    /// Offset in `text` of the next physical line not read yet.
    next: usize,
    /// 1-based number of that line.
    next_line: usize,
    /// The current logical line, rewritten in place as libuci does, always ending in a 0.
    buf: Vec<u8>,
    /// The physical lines in the buffer: (index in `buf`, line number, offset in `text`)
    /// where each starts.
    lines: Vec<(usize, usize, usize)>,
    pos: usize,
    out: Parsed,
    section_by_name: HashMap<String, usize>,
    /// Per section: option name -> index in `Section::options`.
    option_index: Vec<HashMap<String, usize>>,
    current: Option<usize>,
}

/// A word read by `next_arg`.
struct Word {
    text: String,
    /// True if reading it consumed any bytes (`''` is empty but consumed).
    consumed: bool,
    /// Source offset just after its last byte.
    end: usize,
    swallowed: bool,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    fn cur(&self) -> u8 {
        self.at(self.pos)
    }

    fn line_of(&self, i: usize) -> usize {
        let k = self.lines.partition_point(|&(start, _, _)| start <= i);
        self.lines.get(k.wrapping_sub(1)).map_or(self.next_line, |&(_, line, _)| line)
    }

    /// Offset in `text` of `buf[i]`; for the final 0, where reading stopped.
    fn src(&self, i: usize) -> usize {
        if i + 1 >= self.buf.len() {
            return self.next;
        }
        let k = self.lines.partition_point(|&(start, _, _)| start <= i);
        self.lines.get(k.wrapping_sub(1)).map_or(self.next, |&(start, _, offset)| offset + i - start)
    }

    fn error(&self, at: usize, message: impl Into<String>) -> UciError {
        UciError::Syntax { line: self.line_of(at), message: message.into() }
    }

    /// `uci_getln`: replaces the buffer from `offset` on with the next physical line.
    fn getln(&mut self, offset: usize) {
        self.buf.truncate(offset);
        let keep = self.lines.partition_point(|&(start, _, _)| start < offset);
        self.lines.truncate(keep);
        if self.next < self.text.len() {
            let rest = &self.text[self.next..];
            let len = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
            self.lines.push((offset, self.next_line, self.next));
            self.buf.extend_from_slice(&rest[..len]);
            self.next += len;
            self.next_line += 1;
        }
        self.buf.push(0);
    }

    /// `parse_backslash`: false if the backslash joined the next line.
    fn parse_backslash(&mut self) -> bool {
        self.pos += 1;
        let c = self.cur();
        if c == 0 || c == b'\n' || (c == b'\r' && self.at(self.pos + 1) == b'\n' && self.at(self.pos + 2) == 0) {
            self.getln(self.pos);
            return false;
        }
        true
    }

    fn skip_whitespace(&mut self) {
        while self.cur() != 0 && is_space(self.cur()) {
            self.pos += 1;
        }
    }

    fn addc(&mut self, target: &mut usize) {
        self.buf[*target] = self.buf[self.pos];
        *target += 1;
        self.pos += 1;
    }

    /// `addc` for the whole run of bytes before the first one `stop` accepts (`stop` must
    /// accept the final 0): what libuci does byte by byte, in one copy.
    fn add_run(&mut self, target: &mut usize, stop: impl Fn(u8) -> bool) {
        let n = self.buf[self.pos..].iter().position(|&b| stop(b)).unwrap_or(self.buf.len() - self.pos);
        self.buf.copy_within(self.pos..self.pos + n, *target);
        *target += n;
        self.pos += n;
    }

    fn parse_quoted(&mut self, target: &mut usize, quote: u8) -> Result<(), UciError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.cur() {
                c if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    // A value over several lines.
                    self.getln(self.pos);
                    if self.cur() == 0 {
                        let (kind, q) = if quote == b'"' { ("double", '"') } else { ("single", '\'') };
                        return Err(
                            self.error(start, format!("unterminated {kind} quote ({q}): add the closing quote"))
                        );
                    }
                }
                b'\\' if quote == b'"' => {
                    if self.parse_backslash() {
                        self.addc(target);
                    }
                }
                _ => self.add_run(target, |b| b == quote || b == 0 || (b == b'\\' && quote == b'"')),
            }
        }
    }

    /// `parse_str`; returns where the word stopped (index in `buf`) and whether it ran
    /// into a `;` that is now overwritten.
    fn parse_str(&mut self, target: &mut usize) -> Result<(usize, bool), UciError> {
        let mut next = true;
        loop {
            match self.cur() {
                q @ (b'\'' | b'"') => self.parse_quoted(target, q)?,
                b'#' => {
                    self.buf[self.pos] = 0;
                    break;
                }
                0 => break,
                b';' => {
                    next = false;
                    break;
                }
                b'\\' => {
                    if self.parse_backslash() {
                        self.addc(target);
                    }
                }
                _ => self.add_run(target, |b| is_space(b) || matches!(b, 0 | b'\'' | b'"' | b'#' | b';' | b'\\')),
            }
            if self.cur() == 0 || is_space(self.cur()) {
                break;
            }
        }
        let stop = self.pos;
        let swallowed = !next && *target == self.pos;
        if self.cur() != 0 && next {
            self.pos += 1;
        }
        self.buf[*target] = 0;
        Ok((stop, swallowed))
    }

    /// `next_arg` without the checks (the callers word their own messages).
    fn next_arg(&mut self) -> Result<Word, UciError> {
        self.skip_whitespace();
        let val = self.pos;
        let mut ptr = val;
        let (end, swallowed) = if self.cur() == b';' {
            // The `;` is this (empty) word: a statement that ends with it owns it.
            self.buf[self.pos] = 0;
            self.pos += 1;
            (self.src(val) + 1, false)
        } else {
            let (stop, swallowed) = self.parse_str(&mut ptr)?;
            (self.src(stop), swallowed)
        };
        let consumed = self.pos > val;
        let text =
            String::from_utf8(self.buf[val..ptr].to_vec()).map_err(|_| self.error(val, "a word is not valid UTF-8"))?;
        Ok(Word { text, consumed, end, swallowed })
    }

    /// `assert_eol`: libuci (strict by default) refuses a further word. If it read a `;` or
    /// an empty word (`''`), after which libuci reads another statement from the same line:
    /// where that ends.
    fn assert_eol(&mut self, kw: &str) -> Result<Option<usize>, UciError> {
        self.skip_whitespace();
        let at = self.pos;
        let first = self.cur();
        let extra = self.next_arg()?;
        if !extra.text.is_empty() {
            return Err(self.error(
                at,
                format!("too many words in this '{kw}' statement: put a value in quotes if it contains spaces, and separate statements with ';' or a new line"),
            ));
        }
        Ok(matches!(first, b';' | b'\'' | b'"').then(|| self.src(self.pos)))
    }

    /// `uci_parse_line`: the statements of one logical line.
    fn parse_line(&mut self) -> Result<(), UciError> {
        self.skip_whitespace();
        loop {
            // strtok(cur, " \t")
            let mut s = self.pos;
            while matches!(self.at(s), b' ' | b'\t') {
                s += 1;
            }
            if self.at(s) == 0 {
                return Ok(());
            }
            let mut e = s;
            while !matches!(self.at(e), 0 | b' ' | b'\t') {
                e += 1;
            }
            let word = self.buf[s..e].to_vec();
            let kind = match word.as_slice() {
                [b'#', ..] => return Ok(()),
                b"p" | b"package" => Keyword::Package,
                b"c" | b"config" => Keyword::Config,
                b"o" | b"option" => Keyword::Option,
                b"l" | b"list" => Keyword::List,
                _ => return Err(self.invalid_command(s, &word)),
            };
            if matches!(kind, Keyword::Option | Keyword::List) && self.current.is_none() {
                let kw = if kind == Keyword::List { "list" } else { "option" };
                return Err(self.error(
                    s,
                    format!("'{kw}' before the first section: put a 'config <type> <name>' line before it"),
                ));
            }
            // uci_increase_pos(strlen(cur) + 1): the keyword must be followed by something.
            if self.at(e) == 0 {
                return Err(self.error(s, format!("'{}' has no arguments", String::from_utf8_lossy(&word))));
            }
            self.buf[e] = 0;
            self.pos = e + 1;
            let start = self.src(s);
            match kind {
                Keyword::Package => self.package_stmt(start)?,
                Keyword::Config => self.config_stmt(start, self.line_of(s))?,
                Keyword::Option | Keyword::List => self.option_stmt(start, kind == Keyword::List)?,
            }
        }
    }

    fn invalid_command(&self, at: usize, word: &[u8]) -> UciError {
        let keyword = String::from_utf8_lossy(word.trim_ascii_end());
        let message = match word.first() {
            _ if ["package", "config", "option", "list"].contains(&keyword.as_ref()) => {
                format!("'{keyword}' needs its arguments on the same line")
            }
            Some(b';') => "an empty statement (';' twice): remove one ';'".to_owned(),
            Some(b'\n' | b'\r') => {
                "';' at the end of the line: remove it (uci expects another statement after ';')".to_owned()
            }
            _ => format!(
                "unknown keyword '{}': expected config, option, list or package",
                shown(&String::from_utf8_lossy(word))
            ),
        };
        self.error(at, message)
    }

    /// Records a statement whose last word is `last`.
    fn push_stmt(
        &mut self,
        kind: Keyword,
        option: String,
        ignored: bool,
        start: usize,
        last: &Word,
        chained: Option<usize>,
    ) {
        let tail_end = if last.swallowed {
            // The rest of the physical line is ignored: it belongs to this statement.
            let rest = &self.text[last.end..];
            let mut end = last.end + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            if end > last.end && self.text[end - 1] == b'\r' {
                end -= 1;
            }
            end
        } else {
            last.end
        };
        self.out.stmts.push(Stmt {
            kind,
            section: self.current,
            option,
            ignored,
            span: start..last.end,
            swallows: last.swallowed,
            chained,
            tail_end,
            logical: self.out.logical_lines.len(),
        });
    }

    fn package_stmt(&mut self, start: usize) -> Result<(), UciError> {
        let at = self.pos;
        let name = self.next_arg()?;
        if name.text.is_empty() {
            return Err(self.error(at, "'package' needs a name, e.g. package network"));
        }
        if !valid_str(name.text.as_bytes(), true, true) {
            return Err(self.error(
                at,
                format!("package name '{}' is not valid: use letters, digits, '_' and '-'", shown(&name.text)),
            ));
        }
        let chained = self.assert_eol("package")?;
        // Loading /etc/config/<name> ignores the statement (uci_import with single = true).
        self.out.package.name = Some(name.text.clone());
        self.push_stmt(Keyword::Package, String::new(), false, start, &name, chained);
        Ok(())
    }

    fn config_stmt(&mut self, start: usize, line: usize) -> Result<(), UciError> {
        let at = self.pos;
        let kind = self.next_arg()?;
        if kind.text.is_empty() {
            return Err(self.error(at, "'config' needs a section type, e.g. config interface 'wwan'"));
        }
        if !valid_str(kind.text.as_bytes(), false, false) {
            return Err(self.error(
                at,
                format!("section type '{}' is not valid: use printable characters without spaces", shown(&kind.text)),
            ));
        }
        let at = self.pos;
        let name = self.next_arg()?;
        if !name.text.is_empty() && !valid_str(name.text.as_bytes(), true, false) {
            return Err(self
                .error(at, format!("section name '{}' is not valid: use letters, digits and '_'", shown(&name.text))));
        }
        let chained = self.assert_eol("config")?;
        let index = if name.text.is_empty() { None } else { self.section_by_name.get(&name.text).copied() };
        let index = match index {
            Some(i) => {
                if self.out.package.sections[i].kind != kind.text {
                    return Err(self.error(
                        at,
                        format!(
                            "section '{}' was declared before with another type ('{}'); use another name",
                            shown(&name.text),
                            shown(&self.out.package.sections[i].kind)
                        ),
                    ));
                }
                i
            }
            None => {
                let i = self.out.package.sections.len();
                let section_name = (!name.text.is_empty()).then(|| name.text.clone());
                if let Some(n) = &section_name {
                    self.section_by_name.insert(n.clone(), i);
                }
                self.out.package.sections.push(Section {
                    kind: kind.text.clone(),
                    name: section_name,
                    line,
                    options: Vec::new(),
                });
                self.option_index.push(HashMap::new());
                i
            }
        };
        self.current = Some(index);
        let last = if name.consumed { name } else { kind };
        self.push_stmt(Keyword::Config, String::new(), false, start, &last, chained);
        Ok(())
    }

    fn option_stmt(&mut self, start: usize, list: bool) -> Result<(), UciError> {
        let kw = if list { "list" } else { "option" };
        let at = self.pos;
        let name = self.next_arg()?;
        if name.text.is_empty() {
            return Err(self.error(at, format!("'{kw}' needs a name and a value, e.g. {kw} apn 'internet'")));
        }
        if !valid_str(name.text.as_bytes(), true, false) {
            return Err(self
                .error(at, format!("option name '{}' is not valid: use letters, digits and '_'", shown(&name.text))));
        }
        let value = self.next_arg()?;
        let chained = self.assert_eol(kw)?;
        let Some(section) = self.current else {
            return Err(self.error(at, format!("'{kw}' before the first section")));
        };
        let ignored = !list && value.text.is_empty();
        let options = &mut self.out.package.sections[section].options;
        let index = &mut self.option_index[section];
        if !ignored {
            match index.get(&name.text) {
                None => {
                    index.insert(name.text.clone(), options.len());
                    let v =
                        if list { Value::List(vec![value.text.clone()]) } else { Value::Single(value.text.clone()) };
                    options.push((name.text.clone(), v));
                }
                Some(&i) => {
                    let slot = &mut options[i].1;
                    if !list {
                        *slot = Value::Single(value.text.clone());
                    } else {
                        match slot {
                            Value::List(items) => items.push(value.text.clone()),
                            Value::Single(old) => *slot = Value::List(vec![std::mem::take(old), value.text.clone()]),
                        }
                    }
                }
            }
        }
        let kind = if list { Keyword::List } else { Keyword::Option };
        let last = if value.consumed { &value } else { &name };
        self.push_stmt(kind, name.text.clone(), ignored, start, last, chained);
        Ok(())
    }
}
