//! The simulator's event loop: bytes from the pty become echo and command lines,
//! lines go through the modem one at a time (each reply after its latency), timed
//! events and faults are delivered, URCs and garbage are written, and the port is
//! torn down and recreated on reset/unplug/replug.
//!
//! Owns the pty, the output queue, timers and the link path. Must not interpret AT
//! commands (that is `modem`) nor touch network namespaces (that is `datalink`,
//! reached through `DataLinkCmd`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::fault::{Fault, FaultAt};
use crate::modem::{Effect, Modem, Timed};
use ncmd_pty::{make_link, remove_link, Pty, PtyError};
use crate::sms::{Sms, Typed};

/// Output kept for a client that does not read; older bytes are dropped beyond it.
const OUT_CAP: usize = 64 * 1024;
/// Longest command line accepted (longer lines are discarded, as modems do).
const LINE_CAP: usize = 2048;
/// Period of the housekeeping tick (garbage, periodic URCs).
const TICK: Duration = Duration::from_secs(1);
/// Periodic signal URCs every this many ticks.
const SIGNAL_TICKS: u64 = 10;

/// Requests from the `Simulator` handle and the control socket.
#[derive(Debug)]
pub enum Msg {
    /// A fault; the sender, when given, hears back once every effect of it is in place
    /// (the data link's routes and carrier included), so a caller can act on it at once.
    Inject(Fault, Option<tokio::sync::oneshot::Sender<()>>),
    Shutdown,
}

/// Requests to the data-link task.
#[derive(Debug, Clone)]
pub enum DataLinkCmd {
    Carrier(bool),
    Blackhole(bool),
    /// Answered when every command before it has been applied.
    Barrier(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>),
}

/// State shared with the handle and the control socket.
pub struct Shared {
    modem: Mutex<Modem>,
    slave: Mutex<PathBuf>,
}

impl Shared {
    pub fn modem(&self) -> MutexGuard<'_, Modem> {
        // A panic while holding the lock would be a bug in this crate; the state is still usable.
        self.modem.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn slave(&self) -> PathBuf {
        self.slave.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_slave(&self, p: PathBuf) {
        *self.slave.lock().unwrap_or_else(|p| p.into_inner()) = p;
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Modem(TimedKey),
    Fault(FaultKey),
    PortReturn,
    Tick,
}

/// `Timed` and `Fault` carried through the heap by index (they need no ordering).
type TimedKey = usize;
type FaultKey = usize;

/// A reply waiting for its latency to pass.
struct InFlight {
    due: Instant,
    bytes: Vec<u8>,
    effects: Vec<Effect>,
}

/// Small deterministic PRNG (xorshift64*) for garbage bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub struct Engine {
    shared: Arc<Shared>,
    rx: UnboundedReceiver<Msg>,
    link: Option<PathBuf>,
    datalink: Option<UnboundedSender<DataLinkCmd>>,
    pty: Option<Pty>,
    out: VecDeque<u8>,
    line: Vec<u8>,
    overlong: bool,
    pending: VecDeque<String>,
    in_flight: Option<InFlight>,
    sms: Sms,
    timers: BinaryHeap<Reverse<(Instant, u64, TimerKind)>>,
    timed: Vec<Option<Timed>>,
    faults: Vec<Option<Fault>>,
    seq: u64,
    ticks: u64,
    rng: Rng,
}

impl Engine {
    /// Opens the port, boots the modem and schedules the start-up faults.
    pub fn start(
        modem: Modem,
        rx: UnboundedReceiver<Msg>,
        link: Option<PathBuf>,
        datalink: Option<UnboundedSender<DataLinkCmd>>,
        faults: &[FaultAt],
        seed: u64,
    ) -> Result<(Engine, Arc<Shared>), PtyError> {
        let pty = Pty::open()?;
        if let Some(l) = &link {
            make_link(l, pty.slave_path())?;
        }
        let shared = Arc::new(Shared {
            modem: Mutex::new(modem),
            slave: Mutex::new(pty.slave_path().to_path_buf()),
        });
        let mut engine = Engine {
            shared: shared.clone(),
            rx,
            link,
            datalink,
            pty: Some(pty),
            out: VecDeque::new(),
            line: Vec::new(),
            overlong: false,
            pending: VecDeque::new(),
            in_flight: None,
            sms: Sms::default(),
            timers: BinaryHeap::new(),
            timed: Vec::new(),
            faults: Vec::new(),
            seq: 0,
            ticks: 0,
            rng: Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1),
        };
        // Faults due at once hold from power-on: applied before boot, without their URCs.
        let mut early = Vec::new();
        {
            let mut modem = engine.shared.modem();
            for f in faults.iter().filter(|f| f.after.is_zero()) {
                early.extend(
                    modem
                        .fault(f.fault)
                        .into_iter()
                        .filter(|e| !matches!(e, Effect::Urc(_))),
                );
            }
            early.extend(modem.boot());
        }
        engine.apply(early);
        let now = Instant::now();
        for f in faults.iter().filter(|f| !f.after.is_zero()) {
            engine.faults.push(Some(f.fault));
            let key = engine.faults.len() - 1;
            engine.schedule(now + f.after, TimerKind::Fault(key));
        }
        engine.schedule(now + TICK, TimerKind::Tick);
        Ok((engine, shared))
    }

    fn schedule(&mut self, at: Instant, kind: TimerKind) {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, kind)));
    }

    /// Runs until `Msg::Shutdown` or until every handle is dropped.
    pub async fn run(mut self) {
        let mut buf = [0u8; 1024];
        loop {
            self.start_next_command();
            let next_due = self
                .in_flight
                .as_ref()
                .map(|f| f.due)
                .into_iter()
                .chain(self.timers.peek().map(|Reverse((t, _, _))| *t))
                .min();
            // Due now (zero latency): answer at once. A timer for "now" would wait for
            // tokio's next 1 ms tick and add a millisecond to every round trip.
            if next_due.is_some_and(|t| t <= Instant::now()) {
                self.fire_due();
                continue;
            }
            let wants_write = !self.out.is_empty();
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(Msg::Inject(f, done)) => {
                        self.inject(f);
                        if let Some(done) = done {
                            self.after_datalink(done);
                        }
                    }
                    Some(Msg::Shutdown) | None => break,
                },
                r = read_port(&self.pty, &mut buf) => match r {
                    Ok(0) => {
                        tracing::warn!("simulated port: master read end of file; closing the port");
                        self.pty = None;
                    }
                    Ok(n) => self.received(&buf[..n]),
                    Err(e) => {
                        tracing::warn!("simulated port: read failed: {e}; closing the port");
                        self.pty = None;
                    }
                },
                r = write_port(&self.pty, &mut self.out), if wants_write => {
                    if let Err(e) = r {
                        tracing::warn!("simulated port: write failed: {e}; output dropped");
                        self.out.clear();
                    }
                },
                _ = sleep_until(next_due) => self.fire_due(),
            }
        }
        if let Some(l) = &self.link {
            remove_link(l, &self.shared.slave());
        }
    }

    fn inject(&mut self, f: Fault) {
        tracing::info!("fault: {f}");
        let fx = self.shared.modem().fault(f);
        self.apply(fx);
    }

    /// Bytes typed by the client: echo, then assemble lines ended by CR.
    fn received(&mut self, bytes: &[u8]) {
        let (hung, echo) = {
            let m = self.shared.modem();
            (m.hung(), m.echo())
        };
        if hung {
            return;
        }
        if echo {
            self.push_out(bytes);
        }
        self.assemble(bytes);
    }

    /// Typed bytes: message text while an SMS prompt is open, else command lines.
    fn assemble(&mut self, bytes: &[u8]) {
        let mut bytes = bytes.to_vec();
        if self.sms.entering() {
            let typed = self.sms.typed(&bytes, &mut self.shared.modem());
            match typed {
                Typed::More(out) => {
                    self.push_out(&out);
                    return;
                }
                Typed::Done { reply, rest } => {
                    self.push_out(&reply);
                    bytes = rest;
                }
            }
        }
        for &b in &bytes {
            match b {
                b'\r' => {
                    let line = String::from_utf8_lossy(&self.line).into_owned();
                    self.line.clear();
                    if !std::mem::take(&mut self.overlong) && !line.trim().is_empty() {
                        self.pending.push_back(line);
                    }
                }
                b'\n' => {}
                0x08 | 0x7f => {
                    self.line.pop();
                }
                _ if self.line.len() >= LINE_CAP => self.overlong = true,
                _ => self.line.push(b),
            }
        }
    }

    /// Starts the next queued command when the modem is idle.
    fn start_next_command(&mut self) {
        if self.in_flight.is_some() || self.pty.is_none() {
            return;
        }
        let Some(line) = self.pending.pop_front() else {
            return;
        };
        let mut modem = self.shared.modem();
        if modem.hung() {
            return;
        }
        if let Some(out) = self.sms.command(&line, &mut modem) {
            drop(modem);
            self.push_out(&out);
            if self.sms.entering() && !self.line.is_empty() {
                // Text typed before the prompt showed belongs to the message.
                let early = std::mem::take(&mut self.line);
                self.assemble(&early);
            }
            return;
        }
        let reply = modem.command(&line);
        drop(modem);
        self.in_flight = Some(InFlight {
            due: Instant::now() + reply.delay,
            bytes: reply.bytes,
            effects: reply.effects,
        });
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        if self.in_flight.as_ref().is_some_and(|f| f.due <= now) {
            if let Some(f) = self.in_flight.take() {
                // A hang that started while the command was in flight swallows its reply.
                if !self.shared.modem().hung() {
                    self.push_out(&f.bytes);
                }
                self.apply(f.effects);
            }
        }
        while self
            .timers
            .peek()
            .is_some_and(|Reverse((t, _, _))| *t <= now)
        {
            let Some(Reverse((_, _, kind))) = self.timers.pop() else {
                break;
            };
            match kind {
                TimerKind::Modem(key) => {
                    if let Some(t) = self.timed.get_mut(key).and_then(Option::take) {
                        let fx = self.shared.modem().event(t);
                        self.apply(fx);
                    }
                }
                TimerKind::Fault(key) => {
                    if let Some(f) = self.faults.get_mut(key).and_then(Option::take) {
                        self.inject(f);
                    }
                }
                TimerKind::PortReturn => self.port_return(),
                TimerKind::Tick => self.tick(now),
            }
        }
        self.compact_slots();
    }

    /// Frees event slots once nothing refers to them.
    fn compact_slots(&mut self) {
        if self
            .timers
            .iter()
            .all(|Reverse((_, _, k))| !matches!(k, TimerKind::Modem(..)))
        {
            self.timed.clear();
        }
    }

    fn tick(&mut self, now: Instant) {
        self.schedule(now + TICK, TimerKind::Tick);
        self.ticks += 1;
        let signal_due = self.ticks == SIGNAL_TICKS;
        if signal_due {
            self.ticks = 0;
        }
        let (hung, garbage, urcs) = {
            let m = self.shared.modem();
            let urcs = if signal_due {
                m.periodic_urcs()
            } else {
                Vec::new()
            };
            (m.hung(), m.garbage(), urcs)
        };
        if hung || self.pty.is_none() {
            return;
        }
        if garbage && self.rng.next() & 1 == 0 {
            let len = 1 + (self.rng.next() % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = self.rng.next();
                    if r & 3 == 0 {
                        0
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            self.push_out(&bytes);
        }
        for u in urcs {
            self.push_out(format!("\r\n{u}\r\n").as_bytes());
        }
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Urc(u) => {
                    if self.pty.is_some() && !self.shared.modem().hung() {
                        self.push_out(format!("\r\n{u}\r\n").as_bytes());
                    }
                }
                Effect::After(d, t) => {
                    self.timed.push(Some(t));
                    let key = self.timed.len() - 1;
                    self.schedule(Instant::now() + d, TimerKind::Modem(key));
                }
                Effect::Carrier(up) => self.to_datalink(DataLinkCmd::Carrier(up)),
                Effect::Blackhole(on) => self.to_datalink(DataLinkCmd::Blackhole(on)),
                Effect::Vanish(back) => {
                    tracing::info!("simulated port vanishes");
                    self.pty = None;
                    self.out.clear();
                    self.line.clear();
                    self.pending.clear();
                    self.in_flight = None;
                    if let Some(l) = &self.link {
                        remove_link(l, &self.shared.slave());
                    }
                    if let Some(d) = back {
                        self.schedule(Instant::now() + d, TimerKind::PortReturn);
                    }
                }
                Effect::Return => self.port_return(),
            }
        }
    }

    /// The port comes back: a new pty, the link moved to it, the modem booted.
    fn port_return(&mut self) {
        if self.pty.is_some() {
            return;
        }
        let pty = match Pty::open() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("simulated port cannot come back: {e}");
                return;
            }
        };
        if let Some(l) = &self.link {
            if let Err(e) = make_link(l, pty.slave_path()) {
                tracing::error!("{e}");
            }
        }
        tracing::info!("simulated port back at {}", pty.slave_path().display());
        self.shared.set_slave(pty.slave_path().to_path_buf());
        self.pty = Some(pty);
        let fx = self.shared.modem().boot();
        self.apply(fx);
    }

    /// Tells `done` once the data link has applied everything sent to it so far (at once
    /// when there is no data link).
    fn after_datalink(&self, done: tokio::sync::oneshot::Sender<()>) {
        match &self.datalink {
            Some(tx) => {
                let _ = tx.send(DataLinkCmd::Barrier(std::sync::Arc::new(std::sync::Mutex::new(Some(done)))));
            }
            None => {
                let _ = done.send(());
            }
        }
    }

    fn to_datalink(&self, cmd: DataLinkCmd) {
        if let Some(tx) = &self.datalink {
            // The task only ends at shutdown; a failed send then is harmless.
            let _ = tx.send(cmd);
        }
    }

    fn push_out(&mut self, bytes: &[u8]) {
        self.out.extend(bytes);
        let excess = self.out.len().saturating_sub(OUT_CAP);
        self.out.drain(..excess);
    }
}

async fn read_port(pty: &Option<Pty>, buf: &mut [u8]) -> std::io::Result<usize> {
    match pty {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn write_port(pty: &Option<Pty>, out: &mut VecDeque<u8>) -> std::io::Result<()> {
    match pty {
        Some(p) => {
            let n = p.write(out.make_contiguous()).await?;
            out.drain(..n);
            Ok(())
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
