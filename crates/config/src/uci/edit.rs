//! The UCI writer: turns [`Change`]s into byte edits of the original text, at statement
//! boundaries only. Must not know what the options mean.
//!
//! Rules (each one keeps libuci's reading of every other statement, see [`super::lexer`]):
//! - a set option rewrites the statement that created it and removes its other statements;
//! - a removed statement takes its separator with it: the `;` after it when a statement
//!   follows on its logical line, else the `;` before it; alone on its logical line, the
//!   whole line goes; a statement that swallowed the rest of its line (`option a b; ...`)
//!   goes with that rest, and a rewritten one keeps it behind a `#`;
//! - new statements go after the section's last statement: on the next line, indented like
//!   the section's options, or when that statement shares its logical line with the next
//!   one (`option probe_interval '0'; config interface 'wwan2'`), right before that next
//!   one as `option ... ; `, so that the separator before it stays as it was.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::lexer::{Keyword, Parsed};
use super::{quote, Change, Edit, Package};

/// What the changes do to one option of one section.
#[derive(Default)]
struct Plan {
    base: Base,
    /// A delete (or empty set) came first, so a later set creates the option anew at the
    /// end of the section.
    deleted_before: bool,
    appends: Vec<String>,
}

#[derive(Default)]
enum Base {
    /// The existing statements stay.
    #[default]
    Keep,
    /// All statements go.
    Delete,
    /// All statements go; `option name 'value'` is added at the end of the section.
    Add(String),
    /// The creating statement becomes `option name 'value'`; the others go.
    Rewrite(String),
}

/// The new text, or `None` if the edits would overlap (the caller reports it).
pub(super) fn write(text: &str, parsed: &Parsed, expected: &Package, changes: &[Change]) -> Option<String> {
    let stmts = &parsed.stmts;
    // The statements of every changed option.
    let mut matches: HashMap<(usize, &str), Vec<usize>> =
        changes.iter().map(|c| ((c.section, c.option.as_str()), Vec::new())).collect();
    for (i, s) in stmts.iter().enumerate() {
        if matches!(s.kind, Keyword::Option | Keyword::List) {
            if let Some(list) = s.section.and_then(|sec| matches.get_mut(&(sec, s.option.as_str()))) {
                list.push(i);
            }
        }
    }

    let mut plans: HashMap<(usize, &str), Plan> = HashMap::new();
    for c in changes {
        let key = (c.section, c.option.as_str());
        let exists = matches[&key].iter().any(|&i| !stmts[i].ignored);
        let plan = plans.entry(key).or_default();
        match &c.edit {
            Edit::Set(v) if !v.is_empty() => {
                plan.base =
                    if exists && !plan.deleted_before { Base::Rewrite(v.clone()) } else { Base::Add(v.clone()) };
                plan.appends.clear();
            }
            Edit::Set(_) | Edit::Delete => {
                plan.base = Base::Delete;
                plan.deleted_before = true;
                plan.appends.clear();
            }
            Edit::AddToList(v) => plan.appends.push(v.clone()),
        }
    }

    let mut deleted: HashSet<usize> = HashSet::new();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    // Per section: (position of the option in the result, new statements).
    let mut inserts: HashMap<usize, Vec<(usize, Vec<String>)>> = HashMap::new();
    for (&(section, option), plan) in &plans {
        let found = &matches[&(section, option)];
        let mut new = Vec::new();
        match &plan.base {
            Base::Keep => {}
            Base::Delete => deleted.extend(found),
            Base::Add(v) => {
                deleted.extend(found);
                new.push(format!("option {option} {}", quote(v)));
            }
            Base::Rewrite(v) => {
                let creator = *found.iter().find(|&&i| !stmts[i].ignored)?;
                deleted.extend(found.iter().filter(|&&i| i != creator));
                let s = &stmts[creator];
                let hide_rest = if s.swallows { " #" } else { "" };
                edits.push((s.span.clone(), format!("option {option} {}{hide_rest}", quote(v))));
            }
        }
        new.extend(plan.appends.iter().map(|v| format!("list {option} {}", quote(v))));
        if !new.is_empty() {
            let at = expected.sections[section].options.iter().position(|(k, _)| k == option).unwrap_or(usize::MAX);
            inserts.entry(section).or_default().push((at, new));
        }
    }

    removals(parsed, &deleted, &mut edits);
    let mut inserts: Vec<(usize, Vec<String>)> = inserts
        .into_iter()
        .map(|(section, mut groups)| {
            groups.sort_by_key(|(at, _)| *at);
            (section, groups.into_iter().flat_map(|(_, g)| g).collect())
        })
        .collect();
    inserts.sort_by_key(|(section, _)| *section);
    let mut later = Vec::new();
    for (section, new) in inserts {
        match insertion(text, parsed, section, &deleted, &new) {
            Some(Some(edit)) => edits.push(edit),
            Some(None) => later.push((section, new)),
            None => return None,
        }
    }
    let out = splice(text, edits)?;
    if later.is_empty() {
        return Some(out);
    }
    // The section's last statement lost the statements after it on its line: where the new
    // ones may go depends on what is left there, so they are placed in the result.
    let parsed = super::lexer::parse(&out).ok()?;
    let mut edits = Vec::new();
    for (section, new) in later {
        edits.push(insertion(&out, &parsed, section, &HashSet::new(), &new)??);
    }
    splice(&out, edits)
}

/// `text` with `edits` applied; `None` if they overlap.
fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> Option<String> {
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut cursor = 0;
    for (range, replacement) in edits {
        if range.start < cursor {
            return None;
        }
        out.push_str(&text[cursor..range.start]);
        out.push_str(&replacement);
        cursor = range.end;
    }
    out.push_str(&text[cursor..]);
    Some(out)
}

/// The byte ranges that remove the `deleted` statements with their separators.
fn removals(parsed: &Parsed, deleted: &HashSet<usize>, edits: &mut Vec<(Range<usize>, String)>) {
    let stmts = &parsed.stmts;
    let mut sorted: Vec<usize> = deleted.iter().copied().collect();
    sorted.sort_unstable();
    let mut done_lines = HashSet::new();
    for &d in &sorted {
        let logical = stmts[d].logical;
        if !done_lines.insert(logical) {
            continue;
        }
        // The statements of this logical line: first..=last.
        let mut first = d;
        while first > 0 && stmts[first - 1].logical == logical {
            first -= 1;
        }
        let mut last = d;
        while last + 1 < stmts.len() && stmts[last + 1].logical == logical {
            last += 1;
        }
        if (first..=last).all(|i| deleted.contains(&i)) {
            edits.push((parsed.logical_lines[logical].clone(), String::new()));
            continue;
        }
        let mut i = first;
        while i <= last {
            if !deleted.contains(&i) {
                i += 1;
                continue;
            }
            let run_start = i;
            while i <= last && deleted.contains(&i) {
                i += 1;
            }
            let range = if i <= last {
                // A kept statement follows: remove up to it, separator included.
                stmts[run_start].span.start..stmts[i].span.start
            } else {
                // The run ends the line: remove from the end of the kept one before it.
                stmts[run_start - 1].span.end..stmts[last].tail_end
            };
            edits.push((range, String::new()));
        }
    }
}

/// Where and how the `new` statements of `section` go: after its last kept statement.
/// `Some(None)` when statements after it on its line are deleted: then the place depends on
/// the text that is left, and the caller asks again on the edited text.
fn insertion(
    text: &str,
    parsed: &Parsed,
    section: usize,
    deleted: &HashSet<usize>,
    new: &[String],
) -> Option<Option<(Range<usize>, String)>> {
    let stmts = &parsed.stmts;
    let belongs =
        |i: usize| stmts[i].kind != Keyword::Package && stmts[i].section == Some(section) && !deleted.contains(&i);
    let anchor = (0..stmts.len()).rev().find(|&i| belongs(i))?;
    let a = &stmts[anchor];
    let on_line = || (anchor + 1..stmts.len()).take_while(|&i| stmts[i].logical == a.logical);
    if let Some(next) = on_line().find(|i| !deleted.contains(i)) {
        // Another statement follows on the logical line: the new ones go right before it,
        // each ended by `;`, so that whatever separates them from the section stays.
        let at = stmts[next].span.start;
        return Some(Some((at..at, new.iter().map(|s| format!("{s} ; ")).collect())));
    }
    if on_line().next().is_some() {
        return Some(None);
    }
    let indent = (0..stmts.len())
        .rev()
        .filter(|&i| belongs(i) && stmts[i].kind != Keyword::Config)
        .filter(|&i| i == 0 || stmts[i - 1].logical != stmts[i].logical)
        .map(|i| line_prefix(text, stmts[i].span.start))
        .find(|p| p.bytes().all(|b| b == b' ' || b == b'\t'))
        .unwrap_or("\t");
    // The anchor ends its logical line: the new statements start the next one.
    let line_end = parsed.logical_lines[a.logical].end;
    match text[..line_end].ends_with('\n').then_some(line_end) {
        Some(at) => {
            let eol = if text[..at - 1].ends_with('\r') { "\r\n" } else { "\n" };
            // A `\` before that line break found the end of the file; it would join the new
            // line: a line with only a comment goes between (a blank one would leave the `\n`
            // of a `\r\n` to be read as a command).
            let joined = text[..at].trim_end_matches(['\r', '\n']).ends_with('\\');
            let blank = if joined { format!(" #{eol}") } else { String::new() };
            let lines: String = new.iter().map(|s| format!("{indent}{s}{eol}")).collect();
            Some(Some((at..at, format!("{blank}{lines}"))))
        }
        None if a.chained.is_some_and(|end| text[end..].bytes().all(|b| b == b' ' || b == b'\t')) => {
            // `... ;` or `... ''` at the end of the file: libuci reads the rest of that line
            // as the next statement, and a line break there would be an invalid command.
            let space = if text.ends_with([' ', '\t']) { "" } else { " " };
            Some(Some((text.len()..text.len(), format!("{space}{}", new.join(" ; ")))))
        }
        None => {
            let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
            let lines: String = new.iter().map(|s| format!("{indent}{s}{eol}")).collect();
            // A `\` that ends the file is dropped by libuci; followed by a line break it would
            // join the next line, so a line with only a comment goes between. A final `\r`
            // would become part of a `\r\n` line break: a space ends the word first.
            let last_line = text.rfind('\n').map_or(0, |i| i + 1);
            let before = if text.ends_with('\\') {
                format!("{eol} #{eol}")
            } else if parsed.logical_lines[a.logical].start < last_line {
                // The last line is joined to the anchor's by a `\`: what is left of it is
                // blank or a comment, and a line break right after a blank rest would be an
                // invalid command; after `#` it is not.
                format!(" #{eol}")
            } else if text.ends_with('\r') {
                format!(" {eol}")
            } else {
                eol.to_owned()
            };
            Some(Some((text.len()..text.len(), format!("{before}{lines}"))))
        }
    }
}

/// The text between the start of the physical line and `at`.
fn line_prefix(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    &text[start..at]
}
