//! DNS: ncmd's name servers in a resolv.conf-format file.
//!
//! Owns: the section ncmd writes into such a file (for instance OpenWrt's
//! /tmp/resolv.conf.d/resolv.conf.auto), written atomically (temp file + rename) and
//! removed again on release, leaving other sections alone. A section is a line
//! `# <comment>` followed by the lines up to the next comment line, which is the
//! layout netifd writes ("# Interface wan").
//!
//! Must not know about: where the servers came from (modem, DHCP), or which process
//! reads the file.

use std::io::Write;
use std::net::IpAddr;
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

fn read(path: &Path) -> Result<String, DnsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(DnsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<(), DnsError> {
    let err = |source| DnsError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.ncmd-{}", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        // Best effort: the temp file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes (or replaces) ncmd's section `# comment` listing `servers` in the file at
/// `path`, creating the file if missing. An empty `servers` removes the section.
pub fn write_resolv(path: &Path, servers: &[IpAddr], comment: &str) -> Result<(), DnsError> {
    check_comment(comment)?;
    let text = read(path)?;
    write_atomically(path, &with_section(&text, comment, servers))
}

/// Removes ncmd's section `# comment` from the file at `path`; a missing file or section
/// is not an error.
pub fn remove_resolv(path: &Path, comment: &str) -> Result<(), DnsError> {
    check_comment(comment)?;
    let text = read(path)?;
    let stripped = without_section(&text, comment);
    if stripped == text {
        return Ok(());
    }
    write_atomically(path, &stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
