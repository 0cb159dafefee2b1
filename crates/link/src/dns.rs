//! DNS: ncmd's name servers in a resolv.conf-format file.
//!
//! Owns: the section ncmd writes into such a file (for instance OpenWrt's
//! /tmp/resolv.conf.d/resolv.conf.auto), written atomically and removed again on
//! release, leaving other sections alone. The temporary file has an unpredictable name
//! in the target's directory and is created exclusively without following links
//! (O_EXCL|O_NOFOLLOW), with the target's mode (0644 when new) whatever the umask, then
//! renamed over the target; a target that is a link or not a regular file is refused. A section is a line
//! `# <comment>` followed by the lines up to the next comment line, which is the
//! layout netifd writes ("# Interface wan").
//!
//! Must not know about: where the servers came from (modem, DHCP), or which process
//! reads the file.

use std::io::Read;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What failed while writing the resolv file.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("DNS section name {0:?} must be one line of text")]
    BadComment(String),
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("will not use {path}: it is {what}; point option dns_file at a regular file")]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("could not write {path}: {source}; check that its directory exists and is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn header(comment: &str) -> String {
    format!("# {comment}")
}

/// `text` without the section headed `# comment` (pure).
pub fn without_section(text: &str, comment: &str) -> String {
    let header = header(comment);
    let mut out = String::with_capacity(text.len());
    let mut in_ours = false;
    for line in text.lines() {
        if line.starts_with('#') {
            in_ours = line.trim_end() == header;
        }
        if !in_ours {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `text` with the section headed `# comment` replaced by one naming `servers` (pure).
pub fn with_section(text: &str, comment: &str, servers: &[IpAddr]) -> String {
    let mut out = without_section(text, comment);
    if servers.is_empty() {
        return out;
    }
    out.push_str(&header(comment));
    out.push('\n');
    for server in servers {
        out.push_str(&format!("nameserver {server}\n"));
    }
    out
}

fn check_comment(comment: &str) -> Result<(), DnsError> {
    if comment.contains(['\n', '\r']) || comment.trim().is_empty() {
        return Err(DnsError::BadComment(comment.to_owned()));
    }
    Ok(())
}

/// Reads the file at `path`; a missing file reads as empty. A symbolic link, a FIFO or
/// anything else that is not a regular file is refused: reading through a link planted
/// there would copy another file's contents into a world-readable resolv file.
fn read(path: &Path) -> Result<(String, Option<std::fs::Metadata>), DnsError> {
    let err = |source| DnsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO planted at the path must not block the open.
        .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_NONBLOCK | libc_flags::O_CLOEXEC)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), None)),
        Err(e) if e.raw_os_error() == Some(libc_flags::ELOOP) => {
            return Err(DnsError::NotRegular {
                path: path.to_owned(),
                what: "a symbolic link",
            })
        }
        Err(source) => return Err(err(source)),
    };
    let meta = file.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(DnsError::NotRegular {
            path: path.to_owned(),
            what: "not a regular file",
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(err)?;
    Ok((text, Some(meta)))
}

/// Flags and errno values from the C library (through nix, which the crate already uses).
mod libc_flags {
    pub const O_NOFOLLOW: i32 = nix::libc::O_NOFOLLOW;
    pub const O_NONBLOCK: i32 = nix::libc::O_NONBLOCK;
    pub const O_CLOEXEC: i32 = nix::libc::O_CLOEXEC;
    pub const ELOOP: i32 = nix::libc::ELOOP;
}

/// Mode of a resolv file ncmd creates: readable by every resolver, as netifd's.
const NEW_FILE_MODE: u32 = 0o644;

/// Replaces the file at `path` with `text` (see [`crate::file::replace`]), with the mode
/// and owner of the file it replaces (0644 for a new one).
fn write_atomically(path: &Path, text: &str, replaced: Option<&std::fs::Metadata>) -> Result<(), DnsError> {
    let mode = replaced.map_or(NEW_FILE_MODE, |m| m.mode() & 0o7777);
    let owner = replaced.map(|m| (m.uid(), m.gid()));
    crate::file::replace(path, text.as_bytes(), mode, owner).map_err(|source| DnsError::Write { path: path.to_owned(), source })
}

/// Writes (or replaces) ncmd's section `# comment` listing `servers` in the file at
/// `path`, creating the file if missing. An empty `servers` removes the section.
pub fn write_resolv(path: &Path, servers: &[IpAddr], comment: &str) -> Result<(), DnsError> {
    check_comment(comment)?;
    let (text, meta) = read(path)?;
    write_atomically(path, &with_section(&text, comment, servers), meta.as_ref())
}

/// Removes ncmd's section `# comment` from the file at `path`; a missing file or section
/// is not an error.
pub fn remove_resolv(path: &Path, comment: &str) -> Result<(), DnsError> {
    check_comment(comment)?;
    let (text, meta) = read(path)?;
    let stripped = without_section(&text, comment);
    if stripped == text {
        return Ok(());
    }
    write_atomically(path, &stripped, meta.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    // Layout as written by OpenWrt netifd (interface-ip.c, write_resolv_conf_entries):
    // "# Interface <name>" followed by its nameserver/search lines.
    const NETIFD: &str = "# Interface lan\nsearch lan\n# Interface wan6\nnameserver 2001:db8::1\n";

    #[test]
    fn section_is_added_replaced_and_removed_leaving_others() {
        let servers: Vec<IpAddr> = vec![
            "10.64.0.1".parse().unwrap(),
            "2001:db8::53".parse().unwrap(),
        ];
        let with = with_section(NETIFD, "ncmd wwan0", &servers);
        assert_eq!(
            with,
            format!("{NETIFD}# ncmd wwan0\nnameserver 10.64.0.1\nnameserver 2001:db8::53\n")
        );
        let replaced = with_section(&with, "ncmd wwan0", &servers[..1]);
        assert_eq!(
            replaced,
            format!("{NETIFD}# ncmd wwan0\nnameserver 10.64.0.1\n")
        );
        assert_eq!(without_section(&replaced, "ncmd wwan0"), NETIFD);
        assert_eq!(
            without_section(NETIFD, "Interface lan"),
            "# Interface wan6\nnameserver 2001:db8::1\n"
        );
    }

    #[test]
    fn file_is_written_atomically_and_cleaned() {
        let dir = std::env::temp_dir().join(format!("ncmd-dns-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("resolv.conf.auto");
        std::fs::write(&path, NETIFD).unwrap();
        let servers: Vec<IpAddr> = vec!["10.64.0.1".parse().unwrap()];
        write_resolv(&path, &servers, "ncmd wwan0").unwrap();
        write_resolv(&path, &servers, "ncmd wwan0").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{NETIFD}# ncmd wwan0\nnameserver 10.64.0.1\n")
        );
        remove_resolv(&path, "ncmd wwan0").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), NETIFD);
        // Only the target file is left in the directory (no temp files).
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(matches!(
            write_resolv(&path, &servers, "a\nnameserver 6.6.6.6"),
            Err(DnsError::BadComment(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn scratch(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ncmd-dns-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn planted_links_at_every_predictable_name_are_not_followed() {
        // Issue 12 item 8: the temporary name was `.NAME.ncmd-PID` and followed if a link.
        let dir = scratch("links");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let path = dir.join("resolv.conf.auto");
        std::fs::write(&path, NETIFD).unwrap();
        let pid = std::process::id();
        let planted: Vec<String> = [
            format!(".resolv.conf.auto.ncmd-{pid}"),
            format!(".resolv.conf.auto.ncmd-{}", pid + 1),
            ".resolv.conf.auto.tmp".into(),
            "resolv.conf.auto.tmp".into(),
            "resolv.conf.auto~".into(),
            ".resolv.conf.auto.swp".into(),
        ]
        .into();
        for name in &planted {
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        }
        let servers: Vec<IpAddr> = vec!["10.64.0.1".parse().unwrap()];
        write_resolv(&path, &servers, "ncmd wwan0").unwrap();
        remove_resolv(&path, "ncmd wwan0").unwrap();
        write_resolv(&path, &servers, "ncmd wwan0").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{NETIFD}# ncmd wwan0\nnameserver 10.64.0.1\n")
        );
        // The links are still links (nothing renamed over them), and no temp file is left.
        for name in &planted {
            assert!(std::fs::symlink_metadata(dir.join(name))
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), planted.len() + 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_target_that_is_a_link_or_a_fifo_is_refused() {
        let dir = scratch("target");
        let victim = dir.join("shadow");
        std::fs::write(&victim, "secret\n").unwrap();
        let path = dir.join("resolv.conf.auto");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let servers: Vec<IpAddr> = vec!["10.64.0.1".parse().unwrap()];
        let e = write_resolv(&path, &servers, "ncmd wwan0").unwrap_err();
        assert!(e.to_string().contains("it is a symbolic link"), "{e}");
        assert!(matches!(
            remove_resolv(&path, "ncmd wwan0"),
            Err(DnsError::NotRegular { .. })
        ));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = write_resolv(&fifo, &servers, "ncmd wwan0").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mode_is_0644_whatever_the_umask_or_that_of_the_replaced_file() {
        let dir = scratch("mode");
        let path = dir.join("resolv");
        let servers: Vec<IpAddr> = vec!["10.64.0.1".parse().unwrap()];
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let written = write_resolv(&path, &servers, "ncmd wwan0");
        nix::sys::stat::umask(old);
        written.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        remove_resolv(&path, "ncmd wwan0").unwrap();
        assert_eq!(mode(&path), 0o640);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
