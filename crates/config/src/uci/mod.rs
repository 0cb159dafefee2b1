//! The UCI file format of OpenWrt (`/etc/config/*`): a reader into [`Package`] that accepts
//! exactly what libuci accepts ([`lexer`]), and a writer that changes options statement by
//! statement and keeps every other byte ([`Document::edit`]).
//!
//! Owns the syntax only. It must not know what the options mean: that is
//! [`crate::spec`]'s job. Callers parse once ([`Document::parse`]), read the [`Package`],
//! and write [`Change`]s against that same parse.
//!
//! Error texts never repeat option values (a value may be a password); they name the
//! line and what is wrong, and every name they echo is bounded ([`crate::shown`]).

mod edit;
mod lexer;
#[cfg(test)]
mod tests;

use std::fmt;

pub(crate) use crate::shown;

/// Option names whose values are hidden in `Debug` output.
const SECRET_OPTIONS: &[&str] = &["password", "pincode", "key"];

/// A syntax or edit error in a UCI file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UciError {
    /// The text is not valid UCI syntax (libuci would refuse it too).
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// A change names a section that the file does not have.
    #[error("no section named '{section}' in the file; add it first (config interface '{section}')")]
    NoSuchSection { section: String },
    /// A [`Change`] names a section index the parse does not have.
    #[error("the file has no section #{0} (it has fewer sections than when it was read)")]
    NoSectionIndex(usize),
    /// A section or option name given to the writer is not a valid UCI name.
    #[error("{what} name '{name}' is not valid: use only letters, digits and '_'")]
    InvalidName { what: &'static str, name: String },
    /// A value given to the writer contains a NUL byte, which a UCI file cannot hold.
    #[error("the new value of option {option} contains a NUL byte, which a UCI file cannot hold")]
    InvalidValue { option: String },
    /// The writer could not express the change without touching other statements; nothing
    /// was written. (A bug guard: the written text is parsed again and compared.)
    #[error("cannot write option {option} into this file without changing other statements; edit the file by hand")]
    Unwritable { option: String },
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

    /// Sets `option` like a later `option` line would (replacing any earlier value in place).
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
            Some((_, slot)) => {
                if let Value::Single(old) = slot {
                    *slot = Value::List(vec![std::mem::take(old), item]);
                }
            }
            None => self.options.push((option.to_owned(), Value::List(vec![item]))),
        }
    }

    /// Removes `option`.
    pub fn remove(&mut self, option: &str) {
        self.options.retain(|(k, _)| k != option);
    }
}

/// A parsed UCI file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// From a `package <name>` line, if the file has one (libuci ignores it when loading
    /// `/etc/config/<name>`).
    pub name: Option<String>,
    /// Sections in file order (a named section that appears twice is merged, as libuci does).
    pub sections: Vec<Section>,
}

impl Package {
    /// The section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name.as_deref() == Some(name))
    }

    /// Index of the section called `name` in [`Package::sections`].
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name.as_deref() == Some(name))
    }

    /// All sections of type `kind`, in file order.
    pub fn sections_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    /// Applies `changes` in order, as libuci's `uci set` / `uci add_list` / `uci delete`
    /// would. Fails (changing nothing) if a change names a section that does not exist
    /// or an invalid option name.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), UciError> {
        for c in changes {
            self.check(c)?;
        }
        for c in changes {
            let section = &mut self.sections[c.section];
            match &c.edit {
                Edit::Set(v) if !v.is_empty() => section.set(&c.option, Value::Single(v.clone())),
                Edit::Set(_) | Edit::Delete => section.remove(&c.option),
                Edit::AddToList(v) => section.add_list(&c.option, v.clone()),
            }
        }
        Ok(())
    }

    fn check(&self, c: &Change) -> Result<(), UciError> {
        if c.section >= self.sections.len() {
            return Err(UciError::NoSectionIndex(c.section));
        }
        if !is_valid_name(&c.option) {
            return Err(UciError::InvalidName { what: "option", name: shown(&c.option) });
        }
        match &c.edit {
            Edit::Set(v) | Edit::AddToList(v) if v.contains('\0') => {
                Err(UciError::InvalidValue { option: shown(&c.option) })
            }
            _ => Ok(()),
        }
    }

    /// Same sections, types, names and values (line numbers aside).
    pub fn same_content(&self, other: &Package) -> bool {
        self.sections.len() == other.sections.len()
            && self
                .sections
                .iter()
                .zip(&other.sections)
                .all(|(a, b)| a.kind == b.kind && a.name == b.name && a.options == b.options)
    }
}

/// What a [`Change`] does to its option. An option a change set does not name is kept as
/// it is: "not named" is the absence of a `Change`, never an `Edit`.
#[derive(Clone, PartialEq, Eq)]
pub enum Edit {
    /// `option name 'value'`, replacing any earlier value or list. An empty value unsets
    /// the option (libuci ignores `option name ''`).
    Set(String),
    /// One more `list name 'value'` item (a single value becomes the first item).
    AddToList(String),
    /// Removes the option: every `option`/`list` statement of it in the section.
    Delete,
}

/// One change to one option of one section.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    /// Index of the section in [`Package::sections`] of the parse the change is made for.
    pub section: usize,
    /// The option name.
    pub option: String,
    pub edit: Edit,
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = SECRET_OPTIONS.contains(&self.option.as_str());
        let value = |v: &String| if secret { "***".to_owned() } else { format!("{v:?}") };
        let edit = match &self.edit {
            Edit::Set(v) => format!("Set({})", value(v)),
            Edit::AddToList(v) => format!("AddToList({})", value(v)),
            Edit::Delete => "Delete".to_owned(),
        };
        write!(f, "Change(#{} {} {edit})", self.section, self.option)
    }
}

impl Change {
    pub fn set(section: usize, option: &str, value: &str) -> Change {
        Change { section, option: option.to_owned(), edit: Edit::Set(value.to_owned()) }
    }

    pub fn add_to_list(section: usize, option: &str, value: &str) -> Change {
        Change { section, option: option.to_owned(), edit: Edit::AddToList(value.to_owned()) }
    }

    pub fn delete(section: usize, option: &str) -> Change {
        Change { section, option: option.to_owned(), edit: Edit::Delete }
    }
}

/// A UCI file parsed once: its text, its [`Package`] and where each statement sits, so
/// that reading, validating and writing all use the same parse.
pub struct Document {
    text: String,
    parsed: lexer::Parsed,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document").field("bytes", &self.text.len()).field("package", &self.parsed.package).finish()
    }
}

impl Document {
    /// Parses `text` (time linear in its length).
    pub fn parse(text: impl Into<String>) -> Result<Document, UciError> {
        let text = text.into();
        let parsed = lexer::parse(&text)?;
        Ok(Document { text, parsed })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn package(&self) -> &Package {
        &self.parsed.package
    }

    pub fn into_text(self) -> String {
        self.text
    }

    /// The file with `changes` applied: each existing statement of a changed option is
    /// rewritten or removed where it stands, a new statement goes at the end of its section
    /// (on the same line, after `;`, when the section's last statement shares its line with
    /// the next one), and every other byte is kept. The result is parsed again and checked
    /// to equal [`Package::apply`] of the changes; if it does not, nothing is returned but
    /// [`UciError::Unwritable`].
    pub fn edit(&self, changes: &[Change]) -> Result<Document, UciError> {
        let mut expected = self.parsed.package.clone();
        expected.apply(changes)?;
        let text = edit::write(&self.text, &self.parsed, &expected, changes);
        let unwritable =
            || UciError::Unwritable { option: changes.first().map(|c| c.option.clone()).unwrap_or_default() };
        let text = text.ok_or_else(unwritable)?;
        let doc = Document::parse(text).map_err(|_| unwritable())?;
        if !doc.package().same_content(&expected) {
            return Err(unwritable());
        }
        Ok(doc)
    }
}

/// True for names libuci accepts for sections and options: letters, digits, `_`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a UCI file.
pub fn parse(text: &str) -> Result<Package, UciError> {
    lexer::parse(text).map(|p| p.package)
}

/// Quotes a value for a UCI file: single quotes, a `'` inside written as `'\''`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Returns `text` with option `option` of the section named `section` set to `value`
/// (`None` removes it); see [`Document::edit`].
pub fn set_option(text: &str, section: &str, option: &str, value: Option<&str>) -> Result<String, UciError> {
    if !is_valid_name(section) {
        return Err(UciError::InvalidName { what: "section", name: shown(section) });
    }
    let doc = Document::parse(text)?;
    let index =
        doc.package().section_index(section).ok_or_else(|| UciError::NoSuchSection { section: shown(section) })?;
    let edit = value.map_or(Edit::Delete, |v| Edit::Set(v.to_owned()));
    Ok(doc.edit(&[Change { section: index, option: option.to_owned(), edit }])?.into_text())
}
