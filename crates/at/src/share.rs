//! The shared AT port: pseudo-terminals that behave, to other programs (comgt, picocom,
//! sms_tool, 3ginfo), like the modem's own tty while the daemon keeps the real one.
//!
//! Owns: one pty per configured link (`/dev/ttyNCM0`, `/dev/ttyNCM1`, …, symlinks to
//! `/dev/pts/N`, replaced atomically and removed on drop), each a client of its own: the
//! lines a program writes are judged ([`ShareGuard`]), queued on the [`AtChannel`] between
//! the daemon's commands, and answered to that pty alone through the final result code,
//! `> ` prompts included; URCs go to every pty; echo (`ATE0`/`ATE1`) is simulated per pty.
//! The channel can be swapped (the modem reset and came back) while the ptys stay.
//! Must not know about: sessions, vendors (the guard is given the vendor's writes),
//! configuration files.
//!
//! Why one pty per client, not one pty for all: every program that opens a pty's slave
//! reads the same input queue, so two programs on one pty would take each other's
//! replies, and nothing on the master side says which program wrote a line. Programs
//! that open, write, read and close (comgt, sms_tool, picocom sessions) take turns on one
//! pty without trouble, as they would on the modem's tty; programs that run at the same
//! time (a LuCI status poller and an SMS tool) each get a link of their own.
//!
//! A pty's echo setting persists across the programs that open it, as a modem's does.
//! A program that closes before its answer came leaves it in the pty's buffer, as on
//! the modem's own tty (tools flush on open); output for a pty nobody reads is dropped
//! past [`OUT_WAIT`] rather than ever stalling the daemon.

use crate::channel::{AtChannel, AtError};
use crate::share_guard::{ShareGuard, Verdict};
use ncmd_pty::{make_link, remove_link, Pty, PtyError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tracing::{debug, info, warn};

/// Longest command line a program may write (longer ones are dropped, as modems do).
const LINE_CAP: usize = 2048;
/// How long output may wait for a program to read before it is dropped.
pub const OUT_WAIT: Duration = Duration::from_secs(1);
const CTRL_Z: u8 = 0x1a;
const ESC: u8 = 0x1b;

/// How the shared port behaves.
#[derive(Debug, Clone)]
pub struct ShareOptions {
    /// One pty per link, each a separate client.
    pub links: Vec<PathBuf>,
    /// Longest wait for a passed command's final result code (and for a prompt).
    pub command_timeout: Duration,
    /// Longest a program may take to type a prompt's text; then ESC cancels it.
    pub prompt_timeout: Duration,
    pub guard: ShareGuard,
}

impl ShareOptions {
    /// `count` links numbered from `first` (`/dev/ttyNCM0` → `/dev/ttyNCM0`, `/dev/ttyNCM1`).
    pub fn new(first: &Path, count: usize, guard: ShareGuard) -> ShareOptions {
        ShareOptions {
            links: link_names(first, count),
            command_timeout: Duration::from_secs(30),
            prompt_timeout: Duration::from_secs(60),
            guard,
        }
    }
}

/// `count` paths numbered on from `first`'s trailing number (`ttyNCM0` → `ttyNCM0`,
/// `ttyNCM1`; a name without a number gets `.1`, `.2` after the first).
pub fn link_names(first: &Path, count: usize) -> Vec<PathBuf> {
    let name = first.to_string_lossy();
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, start) = match name[name.len() - digits..].parse::<usize>() {
        Ok(n) if digits > 0 => (name[..name.len() - digits].to_string(), Some(n)),
        _ => (name.to_string(), None),
    };
    (0..count.max(1))
        .map(|i| match (start, i) {
            (Some(n), _) => PathBuf::from(format!("{stem}{}", n + i)),
            (None, 0) => first.to_path_buf(),
            (None, _) => PathBuf::from(format!("{stem}.{i}")),
        })
        .collect()
}

/// Why the shared port could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("shared AT port: {0}")]
    Pty(#[from] PtyError),
}

/// Counts over all ptys of a shared port (read with [`SharedPort::counts`]).
#[derive(Debug, Default)]
struct Counters {
    passed: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    urcs: AtomicU64,
    dropped_bytes: AtomicU64,
}

/// A snapshot of the shared port's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShareCounts {
    /// Commands sent to the modem for programs (each answered with its final code).
    pub passed: u64,
    /// Commands refused by the guard.
    pub refused: u64,
    /// Passed commands that got no final code (timeout, port gone): answered `ERROR`.
    pub failed: u64,
    /// URC lines written to ptys (one per pty per URC).
    pub urcs: u64,
    /// Output bytes dropped because a pty was not read.
    pub dropped_bytes: u64,
}

/// The running shared port: its ptys and their tasks. Dropping it stops them and
/// removes the links.
pub struct SharedPort {
    channel: watch::Sender<Option<AtChannel>>,
    links: Vec<(PathBuf, PathBuf)>,
    tasks: Vec<tokio::task::AbortHandle>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for SharedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPort")
            .field("links", &self.links)
            .finish()
    }
}

impl SharedPort {
    /// Creates the ptys and links and starts serving them over `channel` (`None`: no
    /// modem yet; programs get `ERROR` until [`attach`](Self::attach)). Must be called
    /// inside a tokio runtime.
    pub fn start(opts: ShareOptions, channel: Option<AtChannel>) -> Result<SharedPort, ShareError> {
        let (tx, _) = watch::channel(channel);
        let counters = Arc::new(Counters::default());
        let mut port = SharedPort {
            channel: tx,
            links: Vec::new(),
            tasks: Vec::new(),
            counters: counters.clone(),
        };
        let opts = Arc::new(opts);
        for link in &opts.links {
            let pty = Pty::open()?;
            make_link(link, pty.slave_path())?;
            info!(
                "shared AT port {} ({})",
                link.display(),
                pty.slave_path().display()
            );
            port.links
                .push((link.clone(), pty.slave_path().to_path_buf()));
            let client = Client {
                name: link.display().to_string(),
                pty,
                opts: opts.clone(),
                channel: port.channel.subscribe(),
                counters: counters.clone(),
                echo: true,
                input: Vec::new(),
            };
            port.tasks.push(tokio::spawn(client.serve()).abort_handle());
        }
        Ok(port)
    }

    /// Serves the ptys over a new channel (the modem came back), or none.
    pub fn attach(&self, channel: Option<AtChannel>) {
        self.channel.send_replace(channel);
    }

    /// The links and the pty slaves they point at.
    pub fn links(&self) -> &[(PathBuf, PathBuf)] {
        &self.links
    }

    pub fn counts(&self) -> ShareCounts {
        let c = &*self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ShareCounts {
            passed: get(&c.passed),
            refused: get(&c.refused),
            failed: get(&c.failed),
            urcs: get(&c.urcs),
            dropped_bytes: get(&c.dropped_bytes),
        }
    }
}

impl Drop for SharedPort {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for (link, slave) in &self.links {
            // Only our own link: another daemon may have taken the name since.
            remove_link(link, slave);
        }
    }
}

/// Writes all of `bytes` to `pty`, or as much as the program reads within [`OUT_WAIT`];
/// returns how many bytes were dropped.
async fn write_within(pty: &Pty, mut bytes: &[u8]) -> usize {
    let deadline = tokio::time::Instant::now() + OUT_WAIT;
    while !bytes.is_empty() {
        match tokio::time::timeout_at(deadline, pty.write(bytes)).await {
            Ok(Ok(n)) => bytes = &bytes[n..],
            Ok(Err(_)) | Err(_) => return bytes.len(),
        }
    }
    0
}

/// One pty's program: its echo, its unread input, its view of the channel.
struct Client {
    name: String,
    pty: Pty,
    opts: Arc<ShareOptions>,
    channel: watch::Receiver<Option<AtChannel>>,
    counters: Arc<Counters>,
    echo: bool,
    /// Bytes written by the program and not yet taken as a line or prompt text.
    input: Vec<u8>,
}

impl Client {
    async fn serve(mut self) {
        let mut urcs = self.subscribe();
        let mut buf = [0u8; 1024];
        loop {
            if let Some(line) = self.take_line() {
                self.run_line(&line).await;
                continue;
            }
            tokio::select! {
                r = self.pty.read(&mut buf) => match r {
                    // End of file or EIO cannot happen while we hold the slave; should
                    // they, the link stops rather than spin.
                    Ok(0) => {
                        warn!("shared port {}: end of file on the pty; this link stops", self.name);
                        return;
                    }
                    Ok(n) => self.typed(&buf[..n]).await,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!("shared port {}: read failed: {e}; this link stops", self.name);
                        return;
                    }
                },
                urc = recv_urc(&mut urcs) => match urc {
                    Some(line) => self.write_urc(&line).await,
                    None => urcs = None,
                },
                changed = self.channel.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    urcs = self.subscribe();
                }
            }
        }
    }

    fn subscribe(&mut self) -> Option<broadcast::Receiver<crate::Urc>> {
        self.channel
            .borrow_and_update()
            .as_ref()
            .map(AtChannel::urcs)
    }

    /// Bytes from the program: echoed when its echo is on, kept for lines and prompts.
    async fn typed(&mut self, bytes: &[u8]) {
        if self.echo {
            self.out(bytes).await;
        }
        self.input.extend_from_slice(bytes);
        if self.input.len() > 4 * LINE_CAP && !self.input.contains(&b'\r') {
            debug!("shared port {}: overlong input dropped", self.name);
            self.input.clear();
        }
    }

    /// The next complete command line (up to CR), edited as a modem does: LF ignored,
    /// backspace and DEL delete, overlong lines dropped.
    fn take_line(&mut self) -> Option<String> {
        loop {
            let cr = self.input.iter().position(|&b| b == b'\r')?;
            let raw: Vec<u8> = self.input.drain(..=cr).collect();
            let mut line = Vec::with_capacity(raw.len());
            for &b in &raw[..cr] {
                match b {
                    b'\n' | 0 => {}
                    0x08 | 0x7f => {
                        line.pop();
                    }
                    _ => line.push(b),
                }
            }
            if line.len() > LINE_CAP {
                debug!("shared port {}: overlong line dropped", self.name);
                continue;
            }
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() {
                return Some(text);
            }
        }
    }

    async fn run_line(&mut self, line: &str) {
        match self.opts.guard.judge(line) {
            Verdict::Ignore => {}
            Verdict::Echo(on) => {
                self.echo = on;
                self.out(b"\r\nOK\r\n").await;
            }
            Verdict::Refuse(why) => {
                // `why` names the command only: the line may hold a PIN.
                warn!("shared port {}: refused {why}", self.name);
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                self.out(b"\r\nERROR\r\n").await;
            }
            Verdict::Pass => {
                let channel = self.channel.borrow().clone();
                let reply = match channel {
                    Some(ch) => {
                        let timeout = self.opts.command_timeout;
                        let prompt_timeout = self.opts.prompt_timeout;
                        let this = &mut *self;
                        ch.passthrough(line, timeout, || this.prompt_text(prompt_timeout))
                            .await
                    }
                    None => Err(AtError::PortClosed("no modem attached".into())),
                };
                match reply {
                    Ok(r) => {
                        self.counters.passed.fetch_add(1, Ordering::Relaxed);
                        let mut out = Vec::new();
                        for l in r.lines.iter().chain([&r.final_line]) {
                            out.extend_from_slice(b"\r\n");
                            out.extend_from_slice(l.as_bytes());
                            out.extend_from_slice(b"\r\n");
                        }
                        self.out(&out).await;
                    }
                    Err(e) => {
                        warn!("shared port {}: {e}", self.name);
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                        self.out(b"\r\nERROR\r\n").await;
                    }
                }
            }
        }
    }

    /// Shows the modem's prompt to the program and collects its text up to Ctrl-Z or
    /// ESC; ESC when it takes longer than `limit` or its pty fails.
    async fn prompt_text(&mut self, limit: Duration) -> Vec<u8> {
        self.out(b"\r\n> ").await;
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = [0u8; 256];
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == CTRL_Z || b == ESC) {
                return self.input.drain(..=end).collect();
            }
            match tokio::time::timeout_at(deadline, self.pty.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    if self.echo {
                        self.out(&buf[..n]).await;
                    }
                    self.input.extend_from_slice(&buf[..n]);
                }
                Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {
                    warn!(
                        "shared port {}: no text ended by Ctrl-Z within {limit:?}; cancelled",
                        self.name
                    );
                    let mut text = std::mem::take(&mut self.input);
                    text.push(ESC);
                    return text;
                }
            }
        }
    }

    async fn write_urc(&mut self, line: &str) {
        self.counters.urcs.fetch_add(1, Ordering::Relaxed);
        self.out(format!("\r\n{line}\r\n").as_bytes()).await;
    }

    async fn out(&self, bytes: &[u8]) {
        let dropped = write_within(&self.pty, bytes).await;
        if dropped > 0 {
            self.counters
                .dropped_bytes
                .fetch_add(dropped as u64, Ordering::Relaxed);
            debug!(
                "shared port {}: {dropped} bytes dropped (nobody reads)",
                self.name
            );
        }
    }
}

/// The next URC line; `None` when the channel's URC stream ended (port gone) or there
/// is no channel (then it waits forever, as the select's other arms decide).
async fn recv_urc(urcs: &mut Option<broadcast::Receiver<crate::Urc>>) -> Option<String> {
    let Some(rx) = urcs else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(u) => return Some(u.line),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                debug!("shared port: {n} URCs skipped (pty not read)");
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_count_on() {
        assert_eq!(
            link_names(Path::new("/dev/ttyNCM0"), 3),
            [
                PathBuf::from("/dev/ttyNCM0"),
                PathBuf::from("/dev/ttyNCM1"),
                PathBuf::from("/dev/ttyNCM2")
            ]
        );
        assert_eq!(
            link_names(Path::new("/tmp/at"), 2),
            [PathBuf::from("/tmp/at"), PathBuf::from("/tmp/at.1")]
        );
        assert_eq!(link_names(Path::new("/dev/ttyNCM9"), 0).len(), 1);
    }
}
