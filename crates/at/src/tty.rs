//! The modem's device node as an async byte stream.
//!
//! Owns: opening a device path (`/dev/ttyUSB2`, a pty, `/dev/cdc-wdm0`) non-blocking and
//! without becoming its controlling terminal, putting a tty into raw 115200 8N1 mode
//! (termios `cfmakeraw`, `CLOCAL|CREAD`), and exposing it to tokio through `AsyncFd`.
//! A node that is not a tty (cdc-wdm) is used as a plain file, termios untouched.
//! Must not know about: lines, commands, modems.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::termios::{self, BaudRate, ControlFlags, FlushArg, SetArg};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An opened modem port.
#[derive(Debug)]
pub(crate) struct Port {
    fd: AsyncFd<File>,
}

impl Port {
    /// Opens `path` read-write, `O_NOCTTY|O_NONBLOCK`; a tty is set raw at 115200 baud.
    pub(crate) fn open(path: &Path) -> io::Result<Port> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
            .open(path)?;
        match termios::tcgetattr(&file) {
            // cdc-wdm and other non-tty nodes: used as they are.
            Err(Errno::ENOTTY | Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
            Ok(t) => make_raw(&file, t)?,
        }
        // SAFETY: `file` owns its descriptor and moves into the AsyncFd, which keeps it open
        // and unchanged (File's as_raw_fd always returns the same fd) until it is dropped.
        let fd = unsafe { AsyncFd::register(file) }.map_err(io::Error::from)?;
        Ok(Port { fd })
    }
}

/// Raw 8N1 at 115200, modem control lines ignored, stale input dropped.
fn make_raw(file: &File, mut t: termios::Termios) -> io::Result<()> {
    termios::cfmakeraw(&mut t);
    termios::cfsetspeed(&mut t, BaudRate::B115200)?;
    t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    termios::tcsetattr(file, SetArg::TCSANOW, &t)?;
    // Bytes queued before we opened belong to nobody (a previous user's late reply).
    termios::tcflush(file, FlushArg::TCIFLUSH)?;
    Ok(())
}

impl AsyncRead for Port {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|f| f.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Port {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the kernel; nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
