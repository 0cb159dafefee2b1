//! Files written whole, safely: the resolv file here, and the daemon's state files (the
//! PIN memory, the web token, the UCI file the settings form edits).
//!
//! Owns one procedure: a new temporary file beside the target, created exclusively
//! (`O_CREAT | O_EXCL | O_NOFOLLOW`, an unpredictable name, so a planted file or link is
//! never opened), with the mode asked whatever the umask, synced, then renamed over the
//! target. Must not know what the files mean.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Attempts at an unused temporary name before giving up (each name is random).
const TEMP_ATTEMPTS: usize = 8;

/// An unpredictable temporary name beside `path`'s file name (64 random bits).
fn temp_name(path: &Path) -> std::io::Result<PathBuf> {
    let mut random = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut random)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(path.with_file_name(format!(".{name}.ncmd-{:016x}", u64::from_ne_bytes(random))))
}

/// Creates a new temporary file beside `path`, exclusively, with `mode` whatever the umask.
fn create_temp(path: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = temp_name(path)?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(file) => {
                // The umask may have narrowed the mode; set it exactly.
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists)))
}

/// Replaces the file at `path` with `data`, mode `mode`; `owner` (uid, gid) is kept when
/// given and this process may (root). A link at `path` is replaced, never followed.
pub fn replace(path: &Path, data: &[u8], mode: u32, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let (tmp, mut file) = create_temp(path, mode)?;
    let result = (|| {
        if let (Some((uid, gid)), true) = (owner, nix::unistd::geteuid().is_root()) {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a power cut only once the directory is synced.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        // Best effort: the temp file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_exclusive_and_unpredictable() {
        let dir = std::env::temp_dir().join(format!("ncmd-file-excl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("resolv");
        let (a, b) = (temp_name(&path).unwrap(), temp_name(&path).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(dir.as_path()));
        // A link (even dangling) or a file at the chosen name is never opened.
        let victim = dir.join("victim");
        std::os::unix::fs::symlink(&victim, &a).unwrap();
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(p)
        };
        assert_eq!(
            open(&a).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        assert!(!victim.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
