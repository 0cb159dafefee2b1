//! The pseudo-terminal that plays the modem's AT port: creation (raw mode), the
//! optional symlink to its slave (replaced atomically, removed on drop), and
//! non-blocking reads and writes on the master through tokio's `AsyncFd`.
//!
//! Must not know about AT commands or modem state.

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
    #[error("cannot make the link {link} to {target}: {source}; check that its directory exists and is writable")]
    Link {
        link: PathBuf,
        target: PathBuf,
        source: io::Error,
    },
}

/// One live pseudo-terminal.
pub struct Pty {
    master: AsyncFd<OwnedFd>,
    /// Held open so the master never reads EIO when the client closes the port.
    _slave: OwnedFd,
    slave_path: PathBuf,
}

impl Pty {
    /// Opens a new pty with the slave in raw mode.
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

    /// Waits for bytes from the client. Returns 0 only on a hang-up of the master.
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

/// Points `link` at `target`, replacing any existing link atomically (rename).
pub fn make_link(link: &Path, target: &Path) -> Result<(), PtyError> {
    let fail = |source| PtyError::Link {
        link: link.to_path_buf(),
        target: target.to_path_buf(),
        source,
    };
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

/// Removes `link` if it is a symlink (never a regular file someone put there).
pub fn remove_link(link: &Path) {
    if std::fs::symlink_metadata(link).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(link);
    }
}
