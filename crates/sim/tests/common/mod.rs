//! A minimal AT client for the simulator's tests, over the real pty (written here on
//! purpose, not `ncmd-at`, so the simulator and its client share no parser).
#![allow(dead_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use tokio::io::unix::AsyncFd;
use tokio::time::timeout;

pub const WAIT: Duration = Duration::from_secs(5);

/// A minimal AT client: writes commands, splits the byte stream into non-empty lines.
pub struct Client {
    fd: AsyncFd<OwnedFd>,
    pub buf: Vec<u8>,
}

impl Client {
    pub fn open(path: &Path) -> Client {
        let raw = open(
            path,
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        // SAFETY: `raw` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd is moved into the AsyncFd and stays open as long as it.
        let fd = unsafe { AsyncFd::register(fd) }.expect("register pty fd");
        Client {
            fd,
            buf: Vec::new(),
        }
    }

    pub async fn send(&self, cmd: &str) {
        let data = format!("{cmd}\r");
        let mut done = 0;
        while done < data.len() {
            let mut g = self.fd.writable().await.expect("writable");
            if let Ok(r) = g.try_io(|fd| {
                nix::unistd::write(fd.get_ref(), &data.as_bytes()[done..]).map_err(io::Error::from)
            }) {
                done += r.expect("write to pty");
            }
        }
    }

    /// Reads more bytes; Ok(0) on end of file, Err on EIO (port gone).
    pub async fn fill(&mut self) -> io::Result<usize> {
        loop {
            let mut g = self.fd.readable().await?;
            let mut tmp = [0u8; 512];
            match g
                .try_io(|fd| nix::unistd::read(fd.as_raw_fd(), &mut tmp).map_err(io::Error::from))
            {
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => continue,
            }
        }
    }

    /// The next non-empty line (split on CR or LF).
    pub async fn line(&mut self) -> String {
        loop {
            while let Some(pos) = self.buf.iter().position(|&b| b == b'\r' || b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                if !text.is_empty() {
                    return text;
                }
            }
            let n = timeout(WAIT, self.fill())
                .await
                .expect("modem answers in time")
                .expect("read");
            assert!(n > 0, "unexpected end of file");
        }
    }

    /// Lines up to and including the final result code.
    pub async fn command(&mut self, cmd: &str) -> Vec<String> {
        self.send(cmd).await;
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            let fin = l == "OK"
                || l == "ERROR"
                || l.starts_with("+CME ERROR")
                || l == "COMMAND NOT SUPPORT";
            lines.push(l);
            if fin {
                return lines;
            }
        }
    }

    /// Waits for a line satisfying `pred`, skipping others.
    pub async fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let l = self.line().await;
            if pred(&l) {
                return l;
            }
        }
    }
}
