//! Command/response over one modem port.
//!
//! Owns: the single reader task per port, the one-command-in-flight discipline, per-command
//! timeouts, echo removal, handing URCs to subscribers, the treatment of late replies to
//! timed-out commands, and the port's closed state.
//! Must not know about: what commands mean, sessions, vendors, or how replies are parsed
//! into values (see `parse`).
//!
//! Late replies. A command that timed out may still be answered. Modems answer commands in
//! order and end every reply with exactly one final result code (ITU-T V.250 §5.7), so after
//! a timeout the channel enters `Draining`: lines are discarded (URCs still delivered) until
//! a final result code arrives, which is taken as the stale command's and ends the drain.
//! The next command is not written while draining, so that final cannot be confused with
//! its own. The drain is bounded by [`STALE_DRAIN`]: a modem that dropped the command
//! altogether would otherwise block the port; after that window the stale command is given
//! up and the next command is written. We preferred this to a resync probe (`AT` → `OK`):
//! a probe's `OK` is indistinguishable from the stale command's `OK`, so it does not remove
//! the ambiguity, it only moves it.
//!
//! Prompts. A few commands (SMS `AT+CMGS`, `AT+CMGW`) answer with a `> ` prompt that ends
//! no line, then take text ended by Ctrl-Z (send) or ESC (cancel) before their final code.
//! [`AtChannel::passthrough`] serves them for programs sharing the port: the prompt is
//! recognised in the unfinished line, the caller supplies the text, and the one-command
//! discipline holds throughout. A modem left at a prompt would take the next command as
//! message text, so a prompt abandoned for any reason (timeout, cancelled caller) is
//! closed with ESC before anything else is written.

use crate::frame::{Line, LineFramer, DEFAULT_MAX_LINE};
use crate::response::Response;
use crate::result::{classify_final, CmeError, CmsError, Final};
use crate::tty::Port;
use crate::urc::{is_unsolicited, reply_prefix, route, Route, Urc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, oneshot, watch, Mutex, Notify};
use tokio::time::Instant;
use tracing::debug;

/// How many URCs a slow subscriber may fall behind before it sees `Lagged`.
pub const URC_CAPACITY: usize = 256;
/// How long the channel waits for the late final result code of a timed-out command
/// before giving it up (see the module doc).
pub const STALE_DRAIN: Duration = Duration::from_secs(5);

/// Why a command failed. `command` fields hold the shown (redacted) form of the command.
#[derive(Debug, thiserror::Error)]
pub enum AtError {
    #[error("the modem did not answer {command} within {timeout:?}; it may be busy or hung (retry; reset the modem if it keeps happening)")]
    Timeout { command: String, timeout: Duration },
    #[error("the modem port is gone ({0}); the modem was unplugged, reset or crashed (wait for it to come back, then reopen the port)")]
    PortClosed(String),
    #[error("the modem answered ERROR to {command}")]
    Error { command: String },
    #[error("the modem refused {command}: {error}")]
    Cme { command: String, error: CmeError },
    #[error("the modem refused {command}: {error}")]
    Cms { command: String, error: CmsError },
    #[error("{command} ended with NO CARRIER")]
    NoCarrier { command: String },
    #[error("the modem does not support {command} (it answered COMMAND NOT SUPPORT)")]
    NotSupported { command: String },
    #[error("{command} ended with BUSY")]
    Busy { command: String },
    #[error("{command} ended with NO ANSWER")]
    NoAnswer { command: String },
    #[error("{command} ended with NO DIALTONE")]
    NoDialtone { command: String },
    #[error("refusing to send {0}: it contains a control character (CR, LF, NUL, ...) that would end or inject an AT command")]
    InvalidCommand(String),
    #[error("cannot open modem port {path}: {source} (check the device exists and no other program holds it)")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl AtError {
    /// The error for a non-`OK` final result code; `None` for `OK`.
    fn from_final(command: &str, fin: Final) -> Option<AtError> {
        let command = command.to_string();
        Some(match fin {
            Final::Ok => return None,
            Final::Error => AtError::Error { command },
            Final::Cme(error) => AtError::Cme { command, error },
            Final::Cms(error) => AtError::Cms { command, error },
            Final::NoCarrier => AtError::NoCarrier { command },
            Final::NotSupported => AtError::NotSupported { command },
            Final::Busy => AtError::Busy { command },
            Final::NoAnswer => AtError::NoAnswer { command },
            Final::NoDialtone => AtError::NoDialtone { command },
        })
    }
}

/// What the reader hands the waiting command: its reply lines, final code line and its
/// meaning, or the reason the port closed.
type Outcome = Result<(Vec<String>, String, Final), String>;

/// ESC: ends a prompt without sending (3GPP TS 27.005 §3.5.1).
const ESC: u8 = 0x1b;
/// Ctrl-Z: ends a prompt's text and sends it.
const CTRL_Z: u8 = 0x1a;

/// The whole answer to a command passed through for another program: its reply lines
/// (echo and URCs removed) and its final result code exactly as the modem sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    pub lines: Vec<String>,
    pub final_line: String,
}

/// The command currently written and not yet answered.
#[derive(Debug)]
struct InFlight {
    /// The exact text written (without CR), to recognise its echo.
    echo: String,
    /// What logs and errors may show.
    shown: String,
    /// The prefix of this command's own reply lines (`+CREG:` for `AT+CREG?`).
    prefix: Option<String>,
    lines: Vec<String>,
    done: oneshot::Sender<Outcome>,
    /// Told when the modem shows a `> ` prompt; `None` for commands that take no text.
    prompt: Option<oneshot::Sender<()>>,
    /// The modem showed its prompt: it waits for text until Ctrl-Z or ESC.
    at_prompt: bool,
    /// A prompt was shown: later `> ` are the modem's continuation prompts after each CR
    /// in text-mode text (TS 27.005 §3.5.1), not reply lines.
    prompted: bool,
}

/// The exchange state of a port.
#[derive(Debug)]
enum Exchange {
    Idle,
    InFlight(InFlight),
    /// A command timed out; waiting (until `deadline`) for its late final result code.
    Draining {
        shown: String,
        deadline: Instant,
        /// The command was abandoned at its prompt: ESC must close the prompt first.
        escape: bool,
    },
    Closed(String),
}

/// State shared by the handles and the reader task.
#[derive(Debug)]
struct Shared {
    state: StdMutex<Exchange>,
    urc_tx: StdMutex<Option<broadcast::Sender<Urc>>>,
    closed_tx: watch::Sender<Option<String>>,
    /// Signalled when a drain ends or the port closes.
    drained: Notify,
    /// When the modem last ended a reply with a final result code (or the channel opened).
    last_final: StdMutex<Instant>,
}

fn lock<T>(m: &StdMutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn emit_urc(&self, line: &str) {
        let tx = lock(&self.urc_tx).clone();
        if let Some(tx) = tx {
            // No subscriber is not an error: URCs nobody listens to are dropped.
            let _ = tx.send(Urc {
                line: line.to_string(),
            });
        }
    }

    /// Routes one line from the modem.
    fn on_line(&self, line: Line) {
        let text = line.text.trim();
        if text.is_empty() {
            return;
        }
        if line.truncated {
            debug!("<- (line cut at {DEFAULT_MAX_LINE} bytes)");
        }
        let mut st = lock(&self.state);
        match &mut *st {
            Exchange::InFlight(f) => {
                let echo = f.echo.as_str();
                // Garbage may precede the echo on its line, hence ends_with; not for very
                // short commands (`AT`), whose text ends many an unrelated line.
                if text.eq_ignore_ascii_case(echo) || (echo.len() >= 4 && text.ends_with(echo)) {
                    debug!("<- (echo) {}", f.shown);
                    return;
                }
                if f.prompted && text == ">" {
                    return;
                }
                debug!("<- {text}");
                if route(text, Some(f.prefix.as_deref())) == Route::Urc {
                    drop(st);
                    self.emit_urc(text);
                    return;
                }
                let Some(fin) = classify_final(text) else {
                    f.lines.push(text.to_string());
                    return;
                };
                *lock(&self.last_final) = Instant::now();
                if let Exchange::InFlight(f) = std::mem::replace(&mut *st, Exchange::Idle) {
                    // The command may have given up meanwhile; then nobody listens.
                    let _ = f.done.send(Ok((f.lines, text.to_string(), fin)));
                }
            }
            Exchange::Draining { shown, .. } => {
                if classify_final(text).is_some() {
                    *lock(&self.last_final) = Instant::now();
                    debug!("<- {text} (late final code of timed-out {shown}, discarded)");
                    *st = Exchange::Idle;
                    drop(st);
                    self.drained.notify_waiters();
                } else if is_unsolicited(text) {
                    debug!("<- {text}");
                    drop(st);
                    self.emit_urc(text);
                } else {
                    debug!("<- {text} (late reply to timed-out {shown}, discarded)");
                }
            }
            Exchange::Idle => {
                debug!("<- {text}");
                drop(st);
                self.emit_urc(text);
            }
            Exchange::Closed(_) => {}
        }
    }

    /// Looks at the unfinished line: a `> ` prompt awaited by the in-flight command is
    /// taken (true) and handed to it.
    fn on_partial(&self, pending: &[u8]) -> bool {
        if pending.trim_ascii() != b">" {
            return false;
        }
        let mut st = lock(&self.state);
        let Exchange::InFlight(f) = &mut *st else {
            return false;
        };
        let Some(tx) = f.prompt.take() else {
            return f.prompted;
        };
        debug!("<- > (prompt for {})", f.shown);
        f.at_prompt = true;
        f.prompted = true;
        let _ = tx.send(());
        true
    }

    /// Marks the port closed: the in-flight command and every later one fail with
    /// `PortClosed`, URC subscribers see the end of the stream. The first reason wins.
    fn close(&self, reason: String) {
        let prev = {
            let mut st = lock(&self.state);
            if matches!(*st, Exchange::Closed(_)) {
                return;
            }
            std::mem::replace(&mut *st, Exchange::Closed(reason.clone()))
        };
        debug!("port closed: {reason}");
        if let Exchange::InFlight(f) = prev {
            let _ = f.done.send(Err(reason.clone()));
        }
        lock(&self.urc_tx).take();
        self.closed_tx.send_replace(Some(reason));
        self.drained.notify_waiters();
    }

    /// Waits (bounded by the drain deadline) until no stale command is being drained.
    async fn wait_drained(&self) -> Result<(), AtError> {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let deadline = {
                let mut st = lock(&self.state);
                match &*st {
                    Exchange::Draining {
                        shown, deadline, ..
                    } => {
                        if Instant::now() >= *deadline {
                            debug!("no late reply to timed-out {shown}; giving it up");
                            *st = Exchange::Idle;
                            return Ok(());
                        }
                        *deadline
                    }
                    Exchange::Closed(reason) => return Err(AtError::PortClosed(reason.clone())),
                    Exchange::Idle | Exchange::InFlight(_) => return Ok(()),
                }
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

/// Turns the exchange to `Draining` if the command it guards is dropped unanswered
/// (timeout, or the caller's future cancelled).
struct InFlightGuard<'a>(&'a Shared);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        if let Exchange::InFlight(f) = &*st {
            *st = Exchange::Draining {
                shown: f.shown.clone(),
                deadline: Instant::now() + STALE_DRAIN,
                escape: f.at_prompt,
            };
        }
    }
}

type BoxWriter = Box<dyn AsyncWrite + Unpin + Send>;

struct Inner {
    /// Held for the whole exchange: the lock is the one-command-in-flight queue (tokio's
    /// mutex is fair, so commands run in the order they asked).
    writer: Mutex<BoxWriter>,
    shared: Arc<Shared>,
    reader: tokio::task::AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A cheap, cloneable handle on one modem port.
#[derive(Clone)]
pub struct AtChannel {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AtChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtChannel")
            .field("closed", &self.is_closed())
            .finish()
    }
}

async fn reader_loop<R: AsyncRead + Unpin>(mut rd: R, shared: Arc<Shared>) {
    let mut framer = LineFramer::new(DEFAULT_MAX_LINE);
    let mut buf = [0u8; 1024];
    let reason = loop {
        match rd.read(&mut buf).await {
            // EOF: a pty whose other side closed, a vanished device. It can repeat forever,
            // so it ends the port rather than being retried.
            Ok(0) => break "end of file on the port".to_string(),
            Ok(n) => {
                framer
                    .push(&buf[..n])
                    .into_iter()
                    .for_each(|l| shared.on_line(l));
                if framer.pending() > 0 && shared.on_partial(framer.pending_bytes()) {
                    framer.clear_pending();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break format!("read failed: {e}"),
        }
    };
    shared.close(reason);
}

impl AtChannel {
    /// Wraps any byte stream (tty, pty, TCP, in-memory duplex) and spawns its reader task.
    /// Must be called inside a tokio runtime.
    pub fn new<S>(stream: S) -> AtChannel
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(stream);
        let (urc_tx, _) = broadcast::channel(URC_CAPACITY);
        let shared = Arc::new(Shared {
            state: StdMutex::new(Exchange::Idle),
            urc_tx: StdMutex::new(Some(urc_tx)),
            closed_tx: watch::channel(None).0,
            drained: Notify::new(),
            last_final: StdMutex::new(Instant::now()),
        });
        let reader = tokio::spawn(reader_loop(rd, shared.clone())).abort_handle();
        let writer: BoxWriter = Box::new(wr);
        AtChannel {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                shared,
                reader,
            }),
        }
    }

    /// Opens a modem port: a tty is set raw, 115200 baud; a non-tty node (cdc-wdm) is used
    /// as it is.
    pub async fn open(path: &Path) -> Result<AtChannel, AtError> {
        let port = Port::open(path).map_err(|source| AtError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(AtChannel::new(port))
    }

    /// Sends `cmd` (without CR) and waits up to `timeout` for its final result code. The
    /// time spent waiting for other commands to finish does not count.
    pub async fn command(&self, cmd: &str, timeout: Duration) -> Result<Response, AtError> {
        self.run(cmd, cmd, timeout).await
    }

    /// As [`command`](Self::command), for commands carrying a secret (PIN, password): logs
    /// and errors show only `shown`, never `cmd`.
    pub async fn command_redacted(
        &self,
        cmd: &str,
        shown: &str,
        timeout: Duration,
    ) -> Result<Response, AtError> {
        self.run(cmd, shown, timeout).await
    }

    /// A new subscription to the port's URCs (each subscriber gets every URC from now on).
    /// After the port closed, the receiver reports `Closed` at once.
    pub fn urcs(&self) -> broadcast::Receiver<Urc> {
        match lock(&self.inner.shared.urc_tx).as_ref() {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// How long the modem has given no final result code; zero while it waits at a `> `
    /// prompt for a sharing program's text (then it is busy, not hung). Lets a caller
    /// that bounds a series of commands tell a hung modem from a port shared with others.
    pub fn silent_for(&self) -> Duration {
        let shared = &*self.inner.shared;
        if matches!(&*lock(&shared.state), Exchange::InFlight(f) if f.at_prompt) {
            return Duration::ZERO;
        }
        lock(&shared.last_final).elapsed()
    }

    /// The port is gone (end of file, read or write error): every command now fails with
    /// [`AtError::PortClosed`].
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed_tx.borrow().is_some()
    }

    /// Resolves when the port is gone.
    pub async fn closed(&self) {
        let mut rx = self.inner.shared.closed_tx.subscribe();
        // An error means the sender is gone, which only happens with the channel itself.
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Sends a command line written by another program sharing the port and returns its
    /// whole reply, whatever the final code (an `ERROR` is the program's to read, not a
    /// failure here). When the modem shows a `> ` prompt, `on_prompt` is awaited for the
    /// text to send (ended by Ctrl-Z, or ESC to cancel; ESC is added when neither ends
    /// it). `timeout` bounds the wait for the prompt and, afresh, for the final code after
    /// the text; the time `on_prompt` takes is the caller's to bound.
    pub async fn passthrough<F, Fut>(
        &self,
        cmd: &str,
        timeout: Duration,
        on_prompt: F,
    ) -> Result<RawReply, AtError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Vec<u8>>,
    {
        let (lines, final_line, _) = self.exchange(cmd, cmd, timeout, Some(on_prompt)).await?;
        Ok(RawReply { lines, final_line })
    }

    async fn run(&self, cmd: &str, shown: &str, timeout: Duration) -> Result<Response, AtError> {
        let no_prompt: Option<fn() -> std::future::Ready<Vec<u8>>> = None;
        let (lines, _, fin) = self.exchange(cmd, shown, timeout, no_prompt).await?;
        match AtError::from_final(shown, fin) {
            None => Ok(Response { lines }),
            Some(e) => Err(e),
        }
    }

    async fn exchange<F, Fut>(
        &self,
        cmd: &str,
        shown: &str,
        timeout: Duration,
        on_prompt: Option<F>,
    ) -> Result<(Vec<String>, String, Final), AtError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Vec<u8>>,
    {
        if cmd.chars().any(char::is_control) {
            return Err(AtError::InvalidCommand(shown.escape_debug().to_string()));
        }
        let shared = &*self.inner.shared;
        let mut writer = self.inner.writer.lock().await;
        close_abandoned_prompt(shared, &mut writer).await?;
        shared.wait_drained().await?;
        let (tx, mut rx) = oneshot::channel();
        let (prompt_tx, mut prompt_rx) = match on_prompt {
            Some(_) => {
                let (t, r) = oneshot::channel();
                (Some(t), Some(r))
            }
            None => (None, None),
        };
        {
            let mut st = lock(&shared.state);
            if let Exchange::Closed(reason) = &*st {
                return Err(AtError::PortClosed(reason.clone()));
            }
            *st = Exchange::InFlight(InFlight {
                echo: cmd.trim().to_string(),
                shown: shown.to_string(),
                prefix: reply_prefix(cmd),
                lines: Vec::new(),
                done: tx,
                prompt: prompt_tx,
                at_prompt: false,
                prompted: false,
            });
        }
        let guard = InFlightGuard(shared);
        debug!("-> {shown}");
        let mut bytes = Vec::with_capacity(cmd.len() + 1);
        bytes.extend_from_slice(cmd.as_bytes());
        bytes.push(b'\r');
        write_or_close(shared, &mut writer, &bytes)
            .await
            .map_err(AtError::PortClosed)?;
        if let (Some(on_prompt), Some(prompt_rx)) = (on_prompt, prompt_rx.as_mut()) {
            let prompted = tokio::time::timeout(timeout, async {
                tokio::select! {
                    biased;
                    outcome = &mut rx => Some(outcome),
                    Ok(()) = prompt_rx => None,
                }
            })
            .await;
            match prompted {
                Ok(Some(outcome)) => return finish(outcome),
                Err(_) => {
                    // The prompt may still come: close it with ESC before the next command.
                    if let Some(f) = lock(&shared.state).in_flight_mut() {
                        f.at_prompt = true;
                    }
                    drop(guard);
                    debug!("{shown} timed out after {timeout:?} (no prompt)");
                    return Err(AtError::Timeout {
                        command: shown.to_string(),
                        timeout,
                    });
                }
                Ok(None) => {
                    let mut text = on_prompt().await;
                    if !matches!(text.last(), Some(&(CTRL_Z | ESC))) {
                        text.push(ESC);
                    }
                    debug!("-> ({} bytes of text for {shown})", text.len());
                    write_or_close(shared, &mut writer, &text)
                        .await
                        .map_err(AtError::PortClosed)?;
                    if let Some(fin) = lock(&shared.state).in_flight_mut() {
                        fin.at_prompt = false;
                    }
                }
            }
        }
        let outcome = match tokio::time::timeout(timeout, &mut rx).await {
            Ok(outcome) => outcome,
            // The answer may have landed just as the timer fired.
            Err(_) => match rx.try_recv() {
                Ok(outcome) => Ok(outcome),
                Err(_) => {
                    drop(guard);
                    debug!("{shown} timed out after {timeout:?}");
                    return Err(AtError::Timeout {
                        command: shown.to_string(),
                        timeout,
                    });
                }
            },
        };
        drop(guard);
        finish(outcome)
    }
}

/// The waiting command's result from what the reader sent.
fn finish(
    outcome: Result<Outcome, oneshot::error::RecvError>,
) -> Result<(Vec<String>, String, Final), AtError> {
    match outcome {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(reason)) => Err(AtError::PortClosed(reason)),
        Err(_) => Err(AtError::PortClosed("the port's reader stopped".to_string())),
    }
}

/// Writes and flushes; a failed write closes the port (its reason is returned).
async fn write_or_close(
    shared: &Shared,
    writer: &mut BoxWriter,
    bytes: &[u8],
) -> Result<(), String> {
    let written = async {
        writer.write_all(bytes).await?;
        writer.flush().await
    };
    written.await.map_err(|e| {
        let reason = format!("write failed: {e}");
        shared.close(reason.clone());
        reason
    })
}

/// A command abandoned at its prompt left the modem waiting for text: ESC closes the
/// prompt (its final code then ends the drain) before the next command is written.
async fn close_abandoned_prompt(shared: &Shared, writer: &mut BoxWriter) -> Result<(), AtError> {
    let escape = match &mut *lock(&shared.state) {
        Exchange::Draining { escape, shown, .. } if *escape => {
            *escape = false;
            debug!("-> ESC (closing the prompt of abandoned {shown})");
            true
        }
        _ => false,
    };
    if escape {
        write_or_close(shared, writer, &[ESC])
            .await
            .map_err(AtError::PortClosed)?;
    }
    Ok(())
}

impl Exchange {
    fn in_flight_mut(&mut self) -> Option<&mut InFlight> {
        match self {
            Exchange::InFlight(f) => Some(f),
            _ => None,
        }
    }
}
