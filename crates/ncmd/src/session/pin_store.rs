//! Small persistent memory across restarts: which PIN values were sent to which SIM and
//! not confirmed.
//!
//! The rule it serves is absolute: a PIN value is sent at most once until the configured
//! PIN changes, whatever the modem answers (OK while the SIM stays locked, ERROR, a
//! rejection, a timeout, the port vanishing mid-command, a reset right after). So the
//! attempt is written down (and synced) *before* the PIN goes out, and only erased when
//! the SIM is seen ready after it. A crash or power cut at any point leaves the value
//! marked as tried.
//!
//! Owns one text file per interface in the state directory. It never stores the PIN,
//! only a fingerprint of it, so "the PIN in the config changed" can be told apart from
//! "the same PIN again". (A 4–8 digit PIN cannot be hidden by any hash: the file is
//! root-only; the fingerprint only keeps it out of casual view.)
//!
//! Must not know about the modem or AT: the session tells it what happened.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where the PIN attempts for one interface are remembered.
#[derive(Debug, Clone)]
pub struct Store {
    file: PathBuf,
    /// Fingerprint of the configured PIN, if one is configured. Shared by clones, so a
    /// settings change reaches the session that checks it.
    pin: Arc<Mutex<Option<u64>>>,
    /// The same records in memory: the rule holds in this process even if the state
    /// directory cannot be written.
    tried: Arc<Mutex<Vec<String>>>,
}

fn fingerprint(pin: &str) -> u64 {
    // FNV-1a: stable across Rust versions (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"ncmd-pin\0".iter().chain(pin.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Does a record line `"<iccid or -> <fingerprint>"` cover this PIN on this SIM?
fn covers(line: &str, pin: &str, iccid: Option<&str>) -> bool {
    let mut f = line.split_whitespace();
    match (f.next(), f.next()) {
        (Some(sim), Some(p)) => p == pin && (sim == "-" || iccid.is_none() || Some(sim) == iccid),
        _ => false,
    }
}

impl Store {
    pub fn new(state_dir: &Path, interface: &str, pin: Option<&str>) -> Self {
        Store {
            file: state_dir.join(format!("{interface}.pin-rejected")),
            pin: Arc::new(Mutex::new(pin.map(fingerprint))),
            tried: Arc::default(),
        }
    }

    /// The file that records the attempts (named in messages, so a user who is sure of
    /// the PIN knows what to delete).
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn pin(&self) -> Option<String> {
        self.pin.lock().unwrap_or_else(|e| e.into_inner()).map(|p| format!("{p:016x}"))
    }

    /// The configured PIN changed (settings reloaded).
    pub fn set_pin(&self, pin: Option<&str>) {
        *self.pin.lock().unwrap_or_else(|e| e.into_inner()) = pin.map(fingerprint);
    }

    pub fn has_pin(&self) -> bool {
        self.pin().is_some()
    }

    fn records(&self) -> Vec<String> {
        let mut all = self.tried.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Ok(text) = std::fs::read_to_string(&self.file) {
            all.extend(text.lines().map(str::to_string));
        }
        all
    }

    /// Was this PIN (for this SIM, when its ICCID is known) sent before without the SIM
    /// confirming it?
    pub fn was_tried(&self, iccid: Option<&str>) -> bool {
        let Some(pin) = self.pin() else { return false };
        self.records().iter().any(|l| covers(l, &pin, iccid))
    }

    /// Call right before the PIN is sent. The record is in memory at once and on disk
    /// (synced) when the directory can be written; an error says the memory across
    /// restarts could not be kept, and the caller decides whether to send at all.
    pub fn attempt(&self, iccid: Option<&str>) -> std::io::Result<()> {
        let Some(pin) = self.pin() else { return Ok(()) };
        let line = format!("{} {pin}", iccid.unwrap_or("-"));
        self.tried.lock().unwrap_or_else(|e| e.into_inner()).push(line.clone());
        let mut text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.push_str(&line);
        text.push('\n');
        self.replace_file(&text)
    }

    /// The SIM is ready after ncmd sent this PIN: the value is good, and may be sent
    /// again the next time the SIM asks (after a power cycle).
    pub fn confirmed(&self, iccid: Option<&str>) {
        let Some(pin) = self.pin() else { return };
        self.tried.lock().unwrap_or_else(|e| e.into_inner()).retain(|l| !covers(l, &pin, iccid));
        let Ok(text) = std::fs::read_to_string(&self.file) else { return };
        let kept: String = text.lines().filter(|l| !covers(l, &pin, iccid)).map(|l| format!("{l}\n")).collect();
        if kept.len() != text.len() {
            if let Err(e) = self.replace_file(&kept) {
                tracing::warn!("could not update {}: {e}", self.file.display());
            }
        }
    }

    /// Writes the whole record file (private, synced, through an exclusive temporary).
    fn replace_file(&self, text: &str) -> std::io::Result<()> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::files::replace(&self.file, text.as_bytes(), 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tried_pin_is_remembered_until_it_changes_or_is_confirmed() {
        let dir = std::env::temp_dir().join(format!("ncmd-store-{}", std::process::id()));
        let s = Store::new(&dir, "wwan", Some("1111"));
        assert!(!s.was_tried(Some("8949")));
        s.attempt(Some("8949")).unwrap();
        // A new process (new Store) still knows.
        let again = Store::new(&dir, "wwan", Some("1111"));
        assert!(again.was_tried(Some("8949")));
        assert!(again.was_tried(None));
        // Another SIM, or a changed PIN, may be tried.
        assert!(!again.was_tried(Some("1234")));
        assert!(!Store::new(&dir, "wwan", Some("2222")).was_tried(Some("8949")));
        // A settings change reaches every clone.
        let shared = again.clone();
        again.set_pin(Some("2222"));
        assert!(!shared.was_tried(Some("8949")));
        again.set_pin(Some("1111"));
        assert!(shared.was_tried(Some("8949")));
        let text = std::fs::read_to_string(dir.join("wwan.pin-rejected")).unwrap();
        assert!(!text.contains("1111"), "the PIN itself is never stored");
        // Confirmed by a ready SIM: the value may be sent again after a power cycle.
        shared.confirmed(Some("8949"));
        assert!(!Store::new(&dir, "wwan", Some("1111")).was_tried(Some("8949")));
        assert!(!shared.was_tried(Some("8949")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_rule_holds_in_memory_when_the_state_dir_cannot_be_written() {
        let s = Store::new(Path::new("/proc/ncmd-cannot-write-here"), "wwan", Some("1111"));
        assert!(s.attempt(None).is_err());
        assert!(s.was_tried(None), "the attempt is remembered in this process anyway");
    }
}
