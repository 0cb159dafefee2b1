//! ncmd-profile: vendor profiles as data, and the template engine for their AT commands.
//!
//! Owns the built-in profile file (`data/ncm.json`, embedded; the schema of comgt-ncm's
//! `/etc/gcom/ncm.json` plus ncmd's keys), merging user files over it, choosing the entry
//! for a modem from its `+CGMI`/`+CGMM` answers or USB vendor id, and expanding templates
//! ([`template`]). Must not know about the AT transport, sessions or the configuration
//! crate: callers pass plain, already validated values.

pub mod template;
pub mod vendor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

pub use template::{Expanded, Pattern, Template, TemplateError, Var, Vars};
pub use vendor::{ModeCommand, Query, StatusReply, VendorProfile, DEFAULT_REGISTRATION_QUERIES, DEFAULT_SIGNAL_QUERIES};

/// The built-in profile file.
const BUILTIN: &str = include_str!("../data/ncm.json");

/// Name used for the built-in file in messages.
const BUILTIN_NAME: &str = "built-in profiles";

/// Everything that can go wrong loading or choosing a profile.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProfileError {
    /// A profile file could not be read.
    #[error("cannot read profile file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A profile file is not valid JSON.
    #[error("profile file {file}: not valid JSON: {message}")]
    Json { file: String, message: String },
    /// A profile file is valid JSON but an entry or key is wrong.
    #[error("profile file {file}: key {key}: {message}")]
    Key { file: String, key: String, message: String },
    /// No profile matches the modem.
    #[error("unsupported modem: no profile for manufacturer '{manufacturer}'{}{}; known: {}; add an entry for it to /etc/ncmd/profiles.json", .model.as_ref().map(|m| format!(", model '{m}'")).unwrap_or_default(), .usb_vid.map(|v| format!(", USB vendor {v:04x}")).unwrap_or_default(), .known.join(", "))]
    UnsupportedModem { manufacturer: String, model: Option<String>, usb_vid: Option<u16>, known: Vec<String> },
}

/// The entry chosen for a modem.
#[derive(Debug, Clone, Copy)]
pub struct Selected<'a> {
    /// The key of the entry, as written in the file (`huawei`, `"zte`, `quectel-eg060w`).
    pub key: &'a str,
    /// The entry.
    pub profile: &'a VendorProfile,
}

/// All vendor profiles, built-in and from user files.
#[derive(Debug, Clone)]
pub struct Profiles {
    /// Merged JSON entries, kept so that later files can be merged over them.
    raw: Map<String, Value>,
    /// Parsed entries by key; a `<vendor>-<model>` entry includes its vendor's keys.
    entries: BTreeMap<String, VendorProfile>,
}

/// jshn's key mangling: lower case, every character outside `[a-z0-9_]` becomes `_`.
fn mangle(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// The mangled name without leading/trailing `_` (so `zte` finds `"zte`).
fn core(s: &str) -> String {
    mangle(s).trim_matches('_').to_owned()
}

impl Profiles {
    /// The profiles embedded in ncmd.
    pub fn builtin() -> Profiles {
        // The embedded file is checked by the tests; failing here is a build defect.
        Profiles::from_json(BUILTIN_NAME, BUILTIN, Map::new()).expect("the built-in data/ncm.json is valid")
    }

    /// The built-in profiles with `paths` merged over them, later files winning (for
    /// example `/etc/gcom/ncm.json`, then `/etc/ncmd/profiles.json`). Within an entry the
    /// keys a file gives replace those of the earlier entry and the others are kept, so an
    /// old comgt-ncm entry keeps ncmd's query keys; a key set to `null` removes it, an entry
    /// set to `null` removes the entry. Every path must exist (check default paths first).
    pub fn load(paths: &[&Path]) -> Result<Profiles, ProfileError> {
        let mut profiles = Profiles::builtin();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ProfileError::Io { path: path.to_path_buf(), source: Arc::new(e) })?;
            profiles = Profiles::from_json(&path.display().to_string(), &text, profiles.raw)?;
        }
        Ok(profiles)
    }

    /// Merges the file `text` (named `file` in messages) over `base`.
    fn from_json(file: &str, text: &str, mut base: Map<String, Value>) -> Result<Profiles, ProfileError> {
        let json: Value =
            serde_json::from_str(text).map_err(|e| ProfileError::Json { file: file.to_owned(), message: e.to_string() })?;
        let Value::Object(top) = json else {
            return Err(ProfileError::Json {
                file: file.to_owned(),
                message: "expected an object of vendor entries at the top level".into(),
            });
        };
        let key_error = |key: &str, (sub, message): (String, String)| ProfileError::Key {
            file: file.to_owned(),
            key: if sub.is_empty() { key.to_owned() } else { format!("{key}.{sub}") },
            message,
        };
        for (key, entry) in top {
            match entry {
                Value::Null => {
                    base.remove(&key);
                }
                Value::Object(fields) => {
                    // Check what this file says on its own, so errors name this file.
                    let given: Map<String, Value> = fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
                    VendorProfile::from_json(&Value::Object(given)).map_err(|e| key_error(&key, e))?;
                    let slot = base.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(existing) = slot {
                        for (k, v) in fields {
                            if v.is_null() {
                                existing.remove(&k);
                            } else {
                                existing.insert(k, v);
                            }
                        }
                    }
                }
                other => {
                    let found = if other.is_array() { "a list" } else { "a single value" };
                    return Err(key_error(&key, (String::new(), format!("expected an object of commands, found {found}"))));
                }
            }
        }
        let mut entries = BTreeMap::new();
        for (key, value) in &base {
            let mut value = value.clone();
            // A model entry inherits the keys it does not set from its vendor entry.
            if let Some((vendor, _)) = key.split_once('-') {
                if let (Some(Value::Object(parent)), Value::Object(own)) = (base.get(vendor), &mut value) {
                    for (k, v) in parent {
                        own.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            let profile = VendorProfile::from_json(&value).map_err(|e| key_error(key, e))?;
            entries.insert(key.clone(), profile);
        }
        Ok(Profiles { raw: base, entries })
    }

    /// The entry with exactly this key.
    pub fn get(&self, key: &str) -> Option<&VendorProfile> {
        self.entries.get(key)
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Chooses the entry for a modem, as comgt-ncm does and a little more forgiving.
    ///
    /// `cgmi` is the manufacturer line the modem answered to `AT+CGMI` with the
    /// `+CGMI: ` prefix already removed by the caller (a leftover prefix is stripped too);
    /// its first word is used (`"ZTE CORPORATION` → `"zte`, `Sierra Wireless, Incorporated`
    /// → `sierra`). `cgmm` is the `AT+CGMM` line (lower-cased, cut at the first `-`:
    /// `EG060W-EAAA` → `eg060w`). Keys are compared after jshn's mangling (lower case,
    /// characters outside `[a-z0-9_]` → `_`), first exactly, then ignoring leading and
    /// trailing quotes, so `"MikroTik"` finds `"mikrotik"` and an unquoted `ZTE` finds `"zte`.
    /// `<vendor>-<model>` wins over `<vendor>`; with no match by name, the first vendor entry
    /// listing `usb_vid` in `usb_vendor_ids` is taken.
    pub fn select(&self, cgmi: &str, cgmm: Option<&str>, usb_vid: Option<u16>) -> Result<Selected<'_>, ProfileError> {
        let cgmi = strip_prefix(cgmi, "+CGMI:");
        let vendor = cgmi.split_whitespace().next().unwrap_or("");
        let model = cgmm
            .map(|m| strip_prefix(m, "+CGMM:").to_ascii_lowercase())
            .map(|m| m.split('-').next().unwrap_or("").trim().to_owned())
            .filter(|m| !m.is_empty() && m != "error");

        let find = |wanted: &str, by_core: bool| {
            self.entries.iter().find(|(k, _)| if by_core { core(k) == wanted } else { mangle(k) == wanted })
        };
        let mut candidates: Vec<(String, bool)> = Vec::new();
        if !vendor.is_empty() {
            if let Some(model) = &model {
                candidates.push((mangle(&format!("{vendor}-{model}")), false));
                candidates.push((format!("{}_{}", core(vendor), core(model)), true));
            }
            candidates.push((mangle(vendor), false));
            candidates.push((core(vendor), true));
        }
        let by_name = candidates.iter().find_map(|(wanted, by_core)| find(wanted, *by_core));
        let by_usb = || {
            let vid = usb_vid?;
            self.entries.iter().find(|(k, p)| !k.contains('-') && p.usb_vendor_ids.contains(&vid))
        };
        match by_name.or_else(by_usb) {
            Some((key, profile)) => Ok(Selected { key, profile }),
            None => Err(ProfileError::UnsupportedModem {
                manufacturer: cgmi.to_owned(),
                model,
                usb_vid,
                known: self.entries.keys().cloned().collect(),
            }),
        }
    }
}

fn strip_prefix<'a>(s: &'a str, prefix: &str) -> &'a str {
    let s = s.trim();
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => s[prefix.len()..].trim(),
        _ => s,
    }
}

#[cfg(test)]
mod tests;
