//! A pseudo-terminal that plays a serial port: the master side, served by us; the slave
//! side (`/dev/pts/N`), opened by another program as if it were a modem's tty.
//!
//! Owns: creating the pty in raw mode, async reads and writes on its master, and the
//! symlink that gives the slave a stable name (`/dev/ttyNCM0`, the simulator's port),
//! replaced atomically and never over a file that is not a link.
//! Must not know about: AT commands, modems, who reads the other side.
//!
//! Two users, one copy: the simulated modem's port (`ncmd-sim`) and the shared AT port
//! (`ncmd-at`'s `share`). They cannot depend on each other (the simulator must not share
//! the parsers), so the pty lives here.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;

/// A pty failure, with the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("cannot create a pseudo-terminal ({step}): {source}; is /dev/pts mounted?")]
    Create {
        step: &'static str,
        source: nix::Error,
    },
    #[error("cannot register the pty with the async runtime: {0}")]
    Register(io::Error),
    #[error("cannot make the link {link} to {target}: {source}; check that its directory exists and that nothing but a link is there")]
    Link {
        link: PathBuf,
        target: PathBuf,
        source: io::Error,
    },
}

/// One live pseudo-terminal.
pub struct Pty {
    master: AsyncFd<OwnedFd>,
    /// Held open so the master never reads a hang-up (EIO) between the programs that
    /// open and close the slave, and so the raw mode set here stays.
    _slave: OwnedFd,
    slave_path: PathBuf,
}

impl Pty {
    /// Opens a new pty with the slave in raw mode. Must run inside a tokio runtime.
    pub fn open() -> Result<Pty, PtyError> {
        let err = |step| move |source| PtyError::Create { step, source };
        let pair = openpty(None, None).map_err(err("openpty"))?;
        let mut tio = tcgetattr(&pair.slave).map_err(err("tcgetattr"))?;
        cfmakeraw(&mut tio);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &tio).map_err(err("tcsetattr"))?;
        for fd in [&pair.master, &pair.slave] {
            fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(err("cloexec"))?;
        }
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .map_err(err("nonblock"))?;
        let slave_path = nix::unistd::ttyname(pair.slave.as_fd()).map_err(err("ttyname"))?;
        // SAFETY: the OwnedFd is moved into the AsyncFd, which owns it (and so keeps
        // it open, referring to the same description) for its whole lifetime.
        let master = unsafe { AsyncFd::register(pair.master) }
            .map_err(|e| PtyError::Register(io::Error::from(e)))?;
        Ok(Pty {
            master,
            _slave: pair.slave,
            slave_path,
        })
    }

    /// Path of the slave device (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// Waits for bytes from the program on the slave side.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|fd| nix::unistd::read(fd.as_raw_fd(), buf).map_err(io::Error::from))
            {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits until the master can take bytes, then writes as many as it takes.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from))
            {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

/// Points `link` at `target`, replacing an existing symlink atomically (a rename), and
/// refusing when something other than a symlink has the name: a device node or a file
/// someone put there is never replaced.
pub fn make_link(link: &Path, target: &Path) -> Result<(), PtyError> {
    let fail = |source| PtyError::Link {
        link: link.to_path_buf(),
        target: target.to_path_buf(),
        source,
    };
    if std::fs::symlink_metadata(link).is_ok_and(|m| !m.file_type().is_symlink()) {
        return Err(fail(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a symlink is there",
        )));
    }
    let mut tmp = link.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(fail)?;
    std::fs::rename(&tmp, link).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// Removes `link` only if it still points at `target`: another process may have taken
/// the name since, and a file that is not our link is never removed.
pub fn remove_link(link: &Path, target: &Path) {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        let _ = std::fs::remove_file(link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn bytes_cross_the_pty_both_ways_and_the_slave_is_raw() {
        let pty = Pty::open().expect("this test needs /dev/ptmx");
        let mut slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(pty.slave_path())
            .expect("open slave");
        // Raw mode: CR stays CR (no ICRNL), and nothing is echoed back to the master.
        slave.write_all(b"AT\r").expect("write slave");
        let mut buf = [0u8; 16];
        let n = pty.read(&mut buf).await.expect("read master");
        assert_eq!(&buf[..n], b"AT\r");
        // Raw mode: LF stays LF on the way out (no ONLCR).
        assert_eq!(pty.write(b"\r\nOK\r\n").await.expect("write master"), 6);
        let mut got = [0u8; 6];
        slave.read_exact(&mut got).expect("read slave");
        assert_eq!(&got, b"\r\nOK\r\n");
    }

    #[tokio::test]
    async fn a_link_is_replaced_but_never_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("ttyNCM0");
        let (a, b) = (Pty::open().expect("pty"), Pty::open().expect("pty"));
        make_link(&link, a.slave_path()).expect("first link");
        make_link(&link, b.slave_path()).expect("replaced link");
        assert_eq!(std::fs::read_link(&link).expect("link"), b.slave_path());

        // Not ours any more: left alone.
        remove_link(&link, a.slave_path());
        assert!(std::fs::symlink_metadata(&link).is_ok());
        remove_link(&link, b.slave_path());
        assert!(std::fs::symlink_metadata(&link).is_err());

        std::fs::write(&link, b"not a link").expect("plant a file");
        let err = make_link(&link, a.slave_path()).expect_err("a file is never replaced");
        assert!(err.to_string().contains("not a symlink"), "{err}");
        remove_link(&link, a.slave_path());
        assert_eq!(std::fs::read(&link).expect("file kept"), b"not a link");
    }
}
