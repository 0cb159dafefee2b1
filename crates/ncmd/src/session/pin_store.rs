//! Small persistent memory across restarts: which PIN the SIM rejected.
//!
//! Owns one text file per interface in the state directory. It never stores the PIN,
//! only a fingerprint of it, so "the PIN in the config changed" can be told apart from
//! "the same rejected PIN again". (A 4–8 digit PIN cannot be hidden by any hash: the
//! file is root-only; the fingerprint only keeps it out of casual view.)
//!
//! Must not know about the modem or AT: the session tells it what happened.

use std::path::{Path, PathBuf};

/// Where rejected-PIN facts for one interface live.
#[derive(Debug, Clone)]
pub struct Store {
    file: PathBuf,
    /// Fingerprint of the configured PIN, if one is configured. Shared by clones, so a
    /// settings change reaches the session that checks it.
    pin: std::sync::Arc<std::sync::Mutex<Option<u64>>>,
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

impl Store {
    pub fn new(state_dir: &Path, interface: &str, pin: Option<&str>) -> Self {
        Store { file: state_dir.join(format!("{interface}.pin-rejected")), pin: std::sync::Arc::new(std::sync::Mutex::new(pin.map(fingerprint))) }
    }

    fn pin(&self) -> Option<u64> {
        *self.pin.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configured PIN changed (settings reloaded).
    pub fn set_pin(&self, pin: Option<&str>) {
        *self.pin.lock().unwrap_or_else(|e| e.into_inner()) = pin.map(fingerprint);
    }

    pub fn has_pin(&self) -> bool {
        self.pin().is_some()
    }

    fn line(&self, iccid: Option<&str>) -> Option<String> {
        self.pin().map(|p| format!("{} {p:016x}", iccid.unwrap_or("-")))
    }

    /// Was this PIN (for this SIM, when its ICCID is known) rejected before?
    pub fn was_rejected(&self, iccid: Option<&str>) -> bool {
        let Some(pin) = self.pin() else { return false };
        let Ok(text) = std::fs::read_to_string(&self.file) else { return false };
        let pin = format!("{pin:016x}");
        text.lines().any(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next()) {
                (Some(sim), Some(p)) => p == pin && (sim == "-" || iccid.is_none() || Some(sim) == iccid),
                _ => false,
            }
        })
    }

    /// Remembers that the SIM rejected the configured PIN. Failure to write is logged:
    /// the in-process block still holds, only the memory across restarts is lost.
    pub fn pin_rejected(&self, iccid: Option<&str>) {
        let Some(line) = self.line(iccid) else { return };
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = self.file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut text = std::fs::read_to_string(&self.file).unwrap_or_default();
            text.push_str(&line);
            text.push('\n');
            let tmp = self.file.with_extension("tmp");
            write_private(&tmp, text.as_bytes())?;
            std::fs::rename(&tmp, &self.file)
        })();
        if let Err(e) = result {
            tracing::warn!("could not record the rejected PIN in {}: {e}", self.file.display());
        }
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_pin_is_remembered_until_it_changes() {
        let dir = std::env::temp_dir().join(format!("ncmd-store-{}", std::process::id()));
        let s = Store::new(&dir, "wwan", Some("1111"));
        assert!(!s.was_rejected(Some("8949")));
        s.pin_rejected(Some("8949"));
        // A new process (new Store) still knows.
        let again = Store::new(&dir, "wwan", Some("1111"));
        assert!(again.was_rejected(Some("8949")));
        assert!(again.was_rejected(None));
        // Another SIM, or a changed PIN, may be tried.
        assert!(!again.was_rejected(Some("1234")));
        assert!(!Store::new(&dir, "wwan", Some("2222")).was_rejected(Some("8949")));
        // A settings change reaches every clone.
        let shared = again.clone();
        again.set_pin(Some("2222"));
        assert!(!shared.was_rejected(Some("8949")));
        again.set_pin(Some("1111"));
        assert!(shared.was_rejected(Some("8949")));
        let text = std::fs::read_to_string(dir.join("wwan.pin-rejected")).unwrap();
        assert!(!text.contains("1111"), "the PIN itself is never stored");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
