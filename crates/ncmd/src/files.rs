//! The daemon's private files: the runtime directory (control sockets, the web token) and
//! the whole-file writes of its state (the PIN memory, the web token, the UCI file the
//! settings form edits), through `ncmd_link::file::replace` (exclusive temporary, never
//! through a symlink, synced, renamed over).
//!
//! Owns only where and how; must not know what the files mean.

use std::path::Path;

/// Replaces `path` with `data`, mode `mode` whatever the umask. The directory must exist.
pub fn replace(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    ncmd_link::file::replace(path, data, mode, None)
}

/// Makes sure `dir` exists and cannot be used by others to swap our files: a directory
/// created here is mode 0700 whatever the umask; an existing one must belong to this
/// user, and one that others may write to without the sticky bit (which `/tmp` has) is
/// tightened to 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let existed = dir.exists();
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a directory", dir.display())));
    }
    let sticky = meta.mode() & 0o1000 != 0;
    if !existed || (meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 != 0 && !sticky) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    } else if meta.uid() != nix::unistd::geteuid().as_raw() && !sticky {
        return Err(std::io::Error::other(format!("{} belongs to uid {}, not to this user; remove it or choose another path", dir.display(), meta.uid())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ncmd-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn replaces_whole_with_the_mode_asked_whatever_the_umask() {
        let d = scratch("mode");
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let f = d.join("state");
        replace(&f, b"one", 0o600).unwrap();
        replace(&f, b"two", 0o600).unwrap();
        nix::sys::stat::umask(old);
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no temporary file left behind");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let d = scratch("link");
        let victim = d.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let f = d.join("network");
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        replace(&f, b"new", 0o644).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep", "the link's target was written");
        assert!(!std::fs::symlink_metadata(&f).unwrap().file_type().is_symlink());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_runtime_dir_is_private_whatever_the_umask() {
        let d = scratch("rundir");
        let run = d.join("run/ncmd");
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        private_dir(&run).unwrap();
        nix::sys::stat::umask(old);
        assert_eq!(std::fs::metadata(&run).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&run).unwrap();
        assert_eq!(std::fs::metadata(&run).unwrap().permissions().mode() & 0o777, 0o700, "an existing loose directory is tightened");
        // A shared sticky directory such as /tmp is used as it is, never changed.
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o1777)).unwrap();
        private_dir(&run).unwrap();
        assert_eq!(std::fs::metadata(&run).unwrap().permissions().mode() & 0o7777, 0o1777);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
