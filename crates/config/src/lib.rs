//! ncmd-config: the configuration of ncmd.
//!
//! Owns reading OpenWrt UCI files ([`uci`]), turning a `config interface` section with
//! `option proto 'ncm'` (or the JSON netifd hands to a proto handler) into a validated,
//! typed [`Spec`], and the error texts that tell the user what to fix. Secrets (password,
//! PIN) are wrapped in [`Secret`] from the moment they are read.
//!
//! Must not know about the modem, AT commands, vendors or the network: callers get values
//! that are already safe to put into an AT string.

pub mod secret;
pub mod spec;
pub mod uci;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use secret::Secret;
pub use spec::{Auth, IpConfig, Mode, PdpType, Spec};
pub use uci::{Change, Document, Edit, UciError};

/// Longest part of a value from outside (file, form) that a message repeats.
pub const SHOWN_CHARS: usize = 64;

/// A value from outside, fit for a one-line message: control characters escaped, at most
/// [`SHOWN_CHARS`] characters, and the full size when it was cut (`first 64… (N bytes)`).
/// Never call it on a secret.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (n, c) in value.chars().enumerate() {
        if n == SHOWN_CHARS {
            out.push_str(&format!("… ({} bytes)", value.len()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything that can be wrong with a configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The file is not valid UCI syntax.
    #[error("{}: line {line}: {message}", path.display())]
    Syntax { path: PathBuf, line: usize, message: String },
    /// An option has a value ncmd cannot use. `value` is `None` for secrets, which are
    /// never repeated.
    #[error("interface {}: option {option}{}: {message}", shown(interface), value.as_ref().map(|v| format!(" '{}'", shown(v))).unwrap_or_default())]
    Invalid { interface: String, option: String, value: Option<String>, message: String },
    /// A required option is missing.
    #[error("interface {}: option {option} is required: {hint}", shown(interface))]
    MissingOption { interface: String, option: String, hint: String },
    /// The requested interface is not an ncm interface of the file.
    #[error("no interface '{}' with option proto 'ncm' in {}; {}", shown(interface), path.display(), list_or_none(available))]
    NoSuchInterface { interface: String, path: PathBuf, available: Vec<String> },
    /// The configuration netifd passed is not a JSON object.
    #[error("interface {}: the configuration from netifd is not a JSON object", shown(interface))]
    NotAnObject { interface: String },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "the file has no ncm interfaces (add one: config interface 'wwan' / option proto 'ncm')".to_owned()
    } else {
        let mut list: Vec<String> = names.iter().take(8).map(|n| shown(n)).collect();
        if names.len() > 8 {
            list.push(format!("and {} more", names.len() - 8));
        }
        format!("ncm interfaces there: {}", list.join(", "))
    }
}

impl ConfigError {
    /// A UCI error of the file at `path`.
    pub fn from_uci(path: &Path, e: UciError) -> ConfigError {
        match e {
            UciError::Syntax { line, message } => ConfigError::Syntax { path: path.to_owned(), line, message },
            other => ConfigError::Syntax { path: path.to_owned(), line: 0, message: other.to_string() },
        }
    }

    /// The interface an error is about, if it is about one.
    pub fn interface(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { interface, .. }
            | ConfigError::MissingOption { interface, .. }
            | ConfigError::NoSuchInterface { interface, .. }
            | ConfigError::NotAnObject { interface } => Some(interface),
            ConfigError::Io { .. } | ConfigError::Syntax { .. } => None,
        }
    }
}

/// All ncm interfaces of one UCI file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file they were read from.
    pub path: PathBuf,
    /// The valid ncm interfaces, in file order.
    pub specs: Vec<Spec>,
    /// One error per invalid ncm interface, so that one bad interface does not hide the others.
    pub errors: Vec<ConfigError>,
}

impl Config {
    /// Builds the configuration from the text of a UCI network file (`path` is only used in
    /// messages).
    pub fn from_text(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let pkg = parse_uci(text).map_err(|e| ConfigError::from_uci(path, e))?;
        Ok(Config::from_package(path, &pkg))
    }

    /// Builds the configuration from an already parsed file (see [`Document`]: parse once,
    /// then validate and write from the same parse).
    pub fn from_package(path: &Path, pkg: &uci::Package) -> Config {
        let mut config = Config { path: path.to_owned(), specs: Vec::new(), errors: Vec::new() };
        for section in pkg.sections_of("interface") {
            if !matches!(section.get("proto"), Some(uci::Value::Single(p)) if p == "ncm") {
                continue;
            }
            match Spec::from_section(section) {
                Ok(spec) => config.specs.push(spec),
                Err(e) => config.errors.push(e),
            }
        }
        config
    }

    /// The interface called `name`: its `Spec`, the error that made it invalid, or
    /// [`ConfigError::NoSuchInterface`] listing the ncm interfaces the file has.
    pub fn interface(&self, name: &str) -> Result<&Spec, ConfigError> {
        if let Some(spec) = self.specs.iter().find(|s| s.interface == name) {
            return Ok(spec);
        }
        if let Some(err) = self.errors.iter().find(|e| e.interface() == Some(name)) {
            return Err(err.clone());
        }
        Err(ConfigError::NoSuchInterface {
            interface: name.to_owned(),
            path: self.path.clone(),
            available: self.names(),
        })
    }

    /// Names of all ncm interfaces, valid or not, in file order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.specs.iter().map(|s| s.interface.clone()).collect();
        names.extend(self.errors.iter().filter_map(|e| e.interface().map(str::to_owned)));
        names
    }
}

/// Parses UCI text (any package, not only `network`).
pub fn parse_uci(text: &str) -> Result<uci::Package, UciError> {
    uci::parse(text)
}

/// Reads a UCI network file once: the parse (to edit it) and its ncm interfaces.
pub fn load_document(path: &Path) -> Result<(Document, Config), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Io { path: path.to_owned(), source: Arc::new(e) })?;
    let doc = Document::parse(text).map_err(|e| ConfigError::from_uci(path, e))?;
    let config = Config::from_package(path, doc.package());
    Ok((doc, config))
}

/// Reads a UCI network file (usually `/etc/config/network`) and returns its ncm interfaces.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_document(path).map(|(_, config)| config)
}

#[cfg(test)]
mod tests;
