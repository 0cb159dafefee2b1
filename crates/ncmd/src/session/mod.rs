//! The connection state machine and the recovery ladder.
//!
//! Owns the order of the steps (wait for the device → delay → identify → initialize →
//! SIM → configure → mode → PDP → register → dial → confirm → IP → up), each step's time
//! limit, what a failure means (netifd's codes and their effects), supervision of a
//! running link, and recovery with backoff.
//!
//! It must not know about bytes, AT syntax or netlink: it talks to the modem through
//! the [`Modem`] trait (typed operations) and to the data interface through [`DataPath`].
//! That keeps it testable with paused time against an in-memory modem.

pub mod datapath;
pub mod modem;
pub mod pin_store;
pub mod query;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ncmd_link::ipcheck::Proposal;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

use crate::status::{InterfaceStatus, IpInfo};
use crate::session::pin_store::Store;

/// The states of a session, in the order a connection goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    WaitDevice,
    Delay,
    Identify,
    Initialize,
    Sim,
    Configure,
    Mode,
    Pdp,
    Register,
    Dial,
    Confirm,
    IpConfig,
    Up,
    Recover,
    Backoff,
    /// Stopped until the configuration changes or the user acts (PIN rejected, PUK).
    Blocked,
    Disconnecting,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::WaitDevice => "wait-device",
            State::Delay => "delay",
            State::Identify => "identify",
            State::Initialize => "initialize",
            State::Sim => "sim",
            State::Configure => "configure",
            State::Mode => "mode",
            State::Pdp => "pdp",
            State::Register => "register",
            State::Dial => "dial",
            State::Confirm => "confirm",
            State::IpConfig => "ip-config",
            State::Up => "up",
            State::Recover => "recover",
            State::Backoff => "backoff",
            State::Blocked => "blocked",
            State::Disconnecting => "disconnecting",
            State::Down => "down",
        }
    }
}

/// netifd's error codes, as the existing handler reports them (LuCI shows their texts),
/// plus `NETWORK_REGISTRATION_FAILED` (proposed upstream in PR #25286) and `SIM_NOT_READY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NoDevice,
    NoIface,
    GetinfoFailed,
    UnsupportedModem,
    InitializeFailed,
    PinFailed,
    SimNotReady,
    ConfigureFailed,
    SetmodeFailed,
    NetworkRegistrationFailed,
    ConnectFailed,
    FinalizeFailed,
    DisconnectFailed,
    /// The network side's IP configuration failed the IP check (ncmd's own code; LuCI
    /// shows it as is). Nothing was applied; retried after a backoff.
    IpConfigRefused,
}

/// What a failure does to the session (the existing handler's effects, with backoff
/// instead of netifd's immediate unbounded loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Try again after a backoff.
    Retry,
    /// The interface is unavailable until the device (re)appears.
    WaitDevice,
    /// No automatic retry until the configuration changes (netifd: block restart).
    Block,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NoDevice => "NO_DEVICE",
            Code::NoIface => "NO_IFACE",
            Code::GetinfoFailed => "GETINFO_FAILED",
            Code::UnsupportedModem => "UNSUPPORTED_MODEM",
            Code::InitializeFailed => "INITIALIZE_FAILED",
            Code::PinFailed => "PIN_FAILED",
            Code::SimNotReady => "SIM_NOT_READY",
            Code::ConfigureFailed => "CONFIGURE_FAILED",
            Code::SetmodeFailed => "SETMODE_FAILED",
            Code::NetworkRegistrationFailed => "NETWORK_REGISTRATION_FAILED",
            Code::ConnectFailed => "CONNECT_FAILED",
            Code::FinalizeFailed => "FINALIZE_FAILED",
            Code::DisconnectFailed => "DISCONNECT_FAILED",
            Code::IpConfigRefused => "IPCONFIG_REFUSED",
        }
    }

    pub fn effect(self) -> Effect {
        match self {
            Code::NoDevice | Code::NoIface | Code::UnsupportedModem => Effect::WaitDevice,
            Code::PinFailed => Effect::Block,
            _ => Effect::Retry,
        }
    }
}

/// A failed step: the code netifd and LuCI understand, and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

// ---------------------------------------------------------------------------------------
// What the session needs from the modem and the data interface.

/// An error of one modem operation, already worded for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemError {
    /// The port vanished (unplug, reset).
    PortGone(String),
    /// The modem did not answer in time.
    Timeout(String),
    /// The modem answered with an error or something unusable.
    Failed(String),
}

impl std::fmt::Display for ModemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModemError::PortGone(m) | ModemError::Timeout(m) | ModemError::Failed(m) => f.write_str(m),
        }
    }
}

/// The SIM as the modem reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimLock {
    Ready,
    PinRequired,
    PukRequired,
    NotInserted,
    /// Anything else (PH-NET PIN, SIM failure, busy): worded in `SimInfo::detail`.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInfo {
    pub lock: SimLock,
    pub pin_attempts_left: Option<u8>,
    pub puk_attempts_left: Option<u8>,
    pub iccid: Option<String>,
    pub detail: Option<String>,
}

/// Outcome of entering the PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOutcome {
    Accepted,
    Rejected { attempts_left: Option<u8> },
}

/// Outcome of a read-compare-write step (mode, PDP context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The modem already had it; nothing was written.
    AlreadySet,
    /// Different before: written now.
    Written,
    /// The vendor profile has no command for it; skipped.
    Unsupported,
    /// Not configured (e.g. no `mode` option): nothing to do.
    NotRequested,
}

/// Packet-domain registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reg {
    Registered,
    Searching,
    Denied,
    NotRegistered,
    Unknown,
}

/// IP configuration as the modem reports it (`^DHCP`, `+CGCONTRDP`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IpConfig {
    pub ipv4: Option<IpInfo>,
    pub ipv6: Option<IpInfo>,
}

/// Something the modem told us on its own (URCs), already typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModemEvent {
    Connected,
    /// Network-side disconnect (`^NDISSTAT: 0`, `+CGEV: NW DEACT`, `NO CARRIER`).
    Disconnected(String),
    /// Registered on the packet network (`+CEREG`/`+CGREG` home or roaming).
    Registered,
    RegistrationLost,
    SimRemoved,
    PortGone,
}

/// Typed operations on one opened modem. Implemented over AT by `modem::AtModem`.
pub trait Modem: Send {
    /// Identification; also selects the vendor profile. Returns the profile's key.
    fn identify(&mut self) -> impl Future<Output = Result<String, Failure>> + Send;
    fn initialize(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    fn sim(&mut self) -> impl Future<Output = Result<SimInfo, ModemError>> + Send;
    fn enter_pin(&mut self) -> impl Future<Output = Result<PinOutcome, ModemError>> + Send;
    fn configure(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    fn ensure_mode(&mut self) -> impl Future<Output = Result<Setting, ModemError>> + Send;
    fn ensure_pdp(&mut self) -> impl Future<Output = Result<Setting, ModemError>> + Send;
    fn registration(&mut self) -> impl Future<Output = Result<Reg, ModemError>> + Send;
    fn dial(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    /// `Some(true)` connected, `Some(false)` not, `None` the modem cannot tell.
    fn connected(&mut self) -> impl Future<Output = Result<Option<bool>, ModemError>> + Send;
    /// The IP configuration the modem reports, unchecked (the data path checks it).
    fn ip_config(&mut self) -> impl Future<Output = Result<Option<Proposal>, ModemError>> + Send;
    fn finalize(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    fn hangup(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    /// Apply the PS-only service domain when configured and not already set.
    fn ensure_ps_only(&mut self) -> impl Future<Output = Result<Setting, ModemError>> + Send;
    /// Vendor reset (`AT+CFUN=1,1` or detach/attach); the port may vanish afterwards.
    fn reset(&mut self) -> impl Future<Output = Result<(), ModemError>> + Send;
    /// Refresh the status snapshot (signal, operator...) for `status`. A modem that stops
    /// answering part way is reported (`Timeout`): the refresh is bounded, so a hang in
    /// the middle of it is noticed as quickly as one in the status poll.
    fn refresh_status(&mut self, status: &mut InterfaceStatus) -> impl Future<Output = Result<(), ModemError>> + Send;
    /// Wait for the next unsolicited event.
    fn next_event(&mut self) -> impl Future<Output = ModemEvent> + Send;
}

/// What happened on the data interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    CarrierDown,
    Removed,
    /// Probes failed while no traffic came in: the data path is black-holed.
    BlackHole,
}

/// Why the data interface did not come up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BringUpError {
    /// The network side's IP configuration (modem or DHCP) failed the IP check;
    /// nothing of it was applied.
    Refused(String),
    Failed(String),
}

/// The data interface: configure, watch, release.
pub trait DataPath: Send {
    fn ifname(&self) -> &str;
    /// Bring the interface up with the modem's configuration, or by DHCP when the
    /// modem gives none (or the config asks for it), once it passed the IP check.
    /// Returns what was applied.
    fn bring_up(&mut self, modem_ip: Option<Proposal>) -> impl Future<Output = Result<IpConfig, BringUpError>> + Send;
    fn release(&mut self) -> impl Future<Output = ()> + Send;
    /// The modem's facts (identity, operator, technology, signal) for whoever shows the
    /// link (netifd's interface `data`): before `bring_up`, and after each refresh.
    fn describe(&mut self, _status: &InterfaceStatus) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Wait for the next loss signal of the data interface (carrier, removal, probes).
    fn next_event(&mut self) -> impl Future<Output = LinkEvent> + Send;
    /// (rx bytes, tx bytes, probe bytes spent) for status and metrics.
    fn traffic(&mut self) -> impl Future<Output = (u64, u64, u64)> + Send;
}

/// Opens modems and data paths for one configured interface.
pub trait Connector: Send {
    type Modem: Modem;
    type Path: DataPath;
    /// Wait until the control port exists (hotplug); returns at once when it does.
    fn wait_device(&mut self) -> impl Future<Output = ()> + Send;
    /// Returns when the control port has vanished (hotplug removal); pending while it
    /// exists. Cancel-safe: the session selects over it while the link is up.
    fn device_gone(&mut self) -> impl Future<Output = ()> + Send;
    fn open(&mut self) -> impl Future<Output = Result<Self::Modem, Failure>> + Send;
    fn data_path(&mut self) -> impl Future<Output = Result<Self::Path, Failure>> + Send;
    /// Last rung of the ladder: unbind and rebind the USB device.
    fn usb_rebind(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

// ---------------------------------------------------------------------------------------
// Timing and policy.

/// Step time limits and recovery policy. Defaults are for real modems; tests shrink them.
#[derive(Debug, Clone)]
pub struct Policy {
    pub delay: Duration,
    pub identify: Duration,
    pub sim_ready: Duration,
    pub register: Duration,
    pub confirm: Duration,
    pub ip: Duration,
    pub poll: Duration,
    /// Period of the cheap status query while up (catches silent drops, a hung modem).
    pub watch: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// After this long up, the recovery ladder starts again from its first rung.
    pub stable_after: Duration,
    /// The command the user runs to try again, named in error texts (`ncmd up wwan`;
    /// `ifup wwan` under netifd).
    pub user_command: String,
    /// End the session on a failure that blocks or makes the interface unavailable, and
    /// when the port vanishes, instead of waiting: under netifd, which then shows the
    /// failure (not pending) and starts a new handler on `ifup` or hotplug.
    pub end_on_block: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            delay: Duration::ZERO,
            identify: Duration::from_secs(20),
            sim_ready: Duration::from_secs(30),
            register: Duration::from_secs(60),
            confirm: Duration::from_secs(30),
            ip: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            watch: Duration::from_secs(15),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            stable_after: Duration::from_secs(120),
            user_command: "ncmd up".into(),
            end_on_block: false,
        }
    }
}

/// Exponential backoff with jitter, bounded.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    seed: u64,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff { min, max: max.max(min), attempt: 0, seed: seed | 1 }
    }

    /// The next wait: min·2^n capped at max, with ±25 % jitter (xorshift; no rand crate).
    pub fn next_delay(&mut self) -> Duration {
        let base = self.min.saturating_mul(1u32 << self.attempt.min(16)).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = (self.seed % 501) as f64 / 1000.0 + 0.75; // 0.75 ..= 1.25
        base.mul_f64(jitter).min(self.max)
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Requests from the supervisor (control socket, hotplug).
#[derive(Debug)]
pub enum Command {
    /// Disconnect, release and end the session.
    Down,
    /// Drop the link and connect again now (user's "reconnect"); also lifts a block,
    /// as `ifup` does (a PIN sent before and not confirmed is still never sent again).
    Reconnect,
}

/// The shared, bounded status of one interface.
#[derive(Clone)]
pub struct StatusCell {
    inner: Arc<Mutex<InterfaceStatus>>,
    started: Instant,
    on_failure: Arc<Mutex<Option<FailureHook>>>,
}

/// Called on every failure (OpenWrt: tell netifd the code).
pub type FailureHook = Arc<dyn Fn(&Failure) + Send + Sync>;

const EVENT_HISTORY: usize = 64;

impl StatusCell {
    pub fn new(interface: &str, device: &str) -> Self {
        let mut s = InterfaceStatus { interface: interface.to_string(), state: State::WaitDevice.as_str().into(), ..Default::default() };
        s.modem.device = device.to_string();
        s.modem.connection.state = Some("disconnected".into());
        StatusCell { inner: Arc::new(Mutex::new(s)), started: Instant::now(), on_failure: Arc::new(Mutex::new(None)) }
    }

    pub fn on_failure(&self, hook: FailureHook) {
        *self.on_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    pub fn snapshot(&self) -> InterfaceStatus {
        self.lock().clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut InterfaceStatus)) {
        f(&mut self.lock());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InterfaceStatus> {
        // A panic while holding the lock cannot leave the status half-written in a way
        // that matters more than losing it; recover the data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an event in the bounded history and the log.
    pub fn event(&self, kind: &str, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(target: "ncmd", "{}: {kind}: {message}", self.lock().interface);
        let uptime_s = self.started.elapsed().as_secs_f64();
        let mut s = self.lock();
        if s.events.len() >= EVENT_HISTORY {
            s.events.remove(0);
        }
        s.events.push(crate::status::Event {
            time: crate::status::rfc3339(std::time::SystemTime::now()),
            uptime_s,
            kind: kind.to_string(),
            message,
        });
    }

    fn set_state(&self, state: State) {
        let mut s = self.lock();
        s.state = state.as_str().to_string();
        s.modem.connection.state = Some(
            match state {
                State::Up => "connected",
                State::Dial | State::Confirm | State::IpConfig => "connecting",
                State::Disconnecting => "disconnecting",
                _ => "disconnected",
            }
            .into(),
        );
    }

    fn fail(&self, f: &Failure) {
        {
            let mut s = self.lock();
            s.last_error_code = Some(f.code.as_str().to_string());
            s.modem.connection.last_error = Some(f.message.clone());
        }
        self.event("error", f.to_string());
        let hook = self.on_failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(hook) = hook {
            hook(f);
        }
    }
}

/// Why a running link was lost; the cause shown in status and counted in metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss {
    NetworkDisconnect(String),
    StatusDown,
    CarrierLost,
    LinkRemoved,
    PortGone,
    ModemHung,
    BlackHole,
    RegistrationLost,
    SimRemoved,
    User,
}

impl Loss {
    pub fn cause(&self) -> &'static str {
        match self {
            Loss::NetworkDisconnect(_) => "network-disconnect",
            Loss::StatusDown => "status-down",
            Loss::CarrierLost => "carrier-lost",
            Loss::LinkRemoved => "link-removed",
            Loss::PortGone => "port-gone",
            Loss::ModemHung => "modem-hung",
            Loss::BlackHole => "black-hole",
            Loss::RegistrationLost => "registration-lost",
            Loss::SimRemoved => "sim-removed",
            Loss::User => "user",
        }
    }
}

/// The outcome of a supervised connection.
enum Ended {
    /// Lost; connect again from the start.
    Lost(Loss),
    /// Lost again after every rung of the ladder: rest before starting over.
    Exhausted,
    Down,
}

/// One interface's session: connects, supervises, recovers, until told to go down.
pub struct Session<C: Connector> {
    pub connector: C,
    pub policy: Policy,
    pub status: StatusCell,
    pub commands: mpsc::Receiver<Command>,
    pub store: Option<Store>,
}

/// Which rung of the recovery ladder the next recovery starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rung {
    Redial,
    Reset,
    UsbRebind,
    Rest,
}

impl<C: Connector> Session<C> {
    fn state(&self, s: State) {
        self.status.set_state(s);
    }

    /// Runs until `Command::Down` (or the command channel closes).
    pub async fn run(mut self) {
        let mut backoff = Backoff::new(self.policy.backoff_min, self.policy.backoff_max, seed());
        let mut rung = Rung::Redial;
        let mut failures = 0u32;
        loop {
            self.state(State::WaitDevice);
            let waited = tokio::select! {
                _ = self.connector.wait_device() => None,
                c = self.commands.recv() => Some(c),
            };
            if let Some(c) = waited {
                match c {
                    None | Some(Command::Down) => return self.finish(None).await,
                    Some(_) => continue,
                }
            }
            let outcome = self.connect_and_supervise(&mut rung).await;
            match outcome {
                Ok(Ended::Down) => return,
                // Under netifd a vanished port makes the interface unavailable, as with
                // comgt-ncm; hotplug makes it available again when the port is back, and
                // netifd starts a new handler.
                Ok(Ended::Lost(Loss::PortGone)) if self.policy.end_on_block => {
                    self.status.fail(&Failure::new(Code::NoDevice, "the modem's port vanished; the interface comes back when hotplug sees the port again"));
                    self.state(State::WaitDevice);
                    return;
                }
                // Connect again from the start; the rung taken is in `rung`.
                Ok(Ended::Lost(_)) => {
                    // It was up: the next failures start from the shortest wait again.
                    failures = 0;
                    backoff.reset();
                }
                Ok(Ended::Exhausted) => {
                    failures = 0;
                    let d = backoff.next_delay();
                    self.status.event("recover", format!("recovery failed at every rung; resting {:.0} s before starting again", d.as_secs_f64()));
                    if self.rest(d).await {
                        return;
                    }
                }
                Err(f) => {
                    self.status.fail(&f);
                    failures += 1;
                    // A modem that stops answering cannot be reset by AT: re-bind it.
                    if failures.is_multiple_of(3) && matches!(f.code, Code::GetinfoFailed | Code::InitializeFailed) {
                        self.status.event("recover", "the modem does not answer; re-binding its USB device");
                        if let Err(e) = self.connector.usb_rebind().await {
                            self.status.event("recover", format!("USB re-bind failed: {e}"));
                        }
                    }
                    match f.code.effect() {
                        Effect::Retry => {
                            let d = backoff.next_delay();
                            self.status.event("backoff", format!("retrying in {:.1} s", d.as_secs_f64()));
                            if self.rest(d).await {
                                return;
                            }
                        }
                        Effect::WaitDevice | Effect::Block if self.policy.end_on_block => {
                            self.state(if f.code.effect() == Effect::Block { State::Blocked } else { State::WaitDevice });
                            return;
                        }
                        Effect::WaitDevice => {
                            // Unavailable until the device changes: wait for it to vanish
                            // (hotplug) or for the backoff, whichever is later for sanity.
                            let d = backoff.next_delay();
                            if self.rest(d).await {
                                return;
                            }
                        }
                        Effect::Block => {
                            self.state(State::Blocked);
                            match self.commands.recv().await {
                                None | Some(Command::Down) => return self.finish(None).await,
                                Some(Command::Reconnect) => {}
                            }
                        }
                    }
                }
            }
        }
    }

    /// Waits `d` in `Backoff`, still obeying commands. Returns true when told to go down.
    async fn rest(&mut self, d: Duration) -> bool {
        self.state(State::Backoff);
        tokio::select! {
            _ = sleep(d) => false,
            c = self.commands.recv() => match c {
                None | Some(Command::Down) => { self.finish(None).await; true }
                Some(Command::Reconnect) => false,
            }
        }
    }

    async fn finish(&mut self, _m: Option<()>) {
        self.state(State::Down);
        self.status.event("down", "interface released");
    }

    /// Connects, then supervises the link; handles in-place recovery (re-dial, reset).
    async fn connect_and_supervise(&mut self, rung: &mut Rung) -> Result<Ended, Failure> {
        let mut modem = self.connect_modem().await?;
        let mut path = self.connector.data_path().await?;
        loop {
            let ip = self.dial_and_configure(&mut modem, &mut path).await;
            let ip = match ip {
                Ok(ip) => ip,
                Err(f) => {
                    path.release().await;
                    let _ = modem.hangup().await;
                    return Err(f);
                }
            };
            self.link_up(&ip, path.ifname());
            // A modem that stops answering here is found by the watch that follows.
            let _ = self.refresh(&mut modem).await;
            path.describe(&self.status.snapshot()).await;
            match modem.ensure_ps_only().await {
                Ok(Setting::Written) => self.status.event("psonly", "service domain set to PS only"),
                Ok(Setting::AlreadySet) => self.status.event("psonly", "service domain already PS only; not written"),
                Ok(Setting::Unsupported) => self.status.event("psonly", "this vendor profile has no PS-only command; skipped"),
                Ok(Setting::NotRequested) => {}
                Err(e) => self.status.event("psonly", format!("could not set PS-only service: {e}")),
            }
            let since = Instant::now();
            let ended = self.supervise(&mut modem, &mut path).await;
            self.status.update(|s| {
                s.modem.connection.ipv4 = None;
                s.modem.connection.ipv6 = None;
                s.modem.connection.since = None;
            });
            let loss = match ended {
                Ended::Exhausted => return Ok(Ended::Exhausted),
                Ended::Down => {
                    self.state(State::Disconnecting);
                    if let Err(e) = modem.hangup().await {
                        self.status.fail(&Failure::new(Code::DisconnectFailed, format!("disconnect failed: {e}")));
                    }
                    path.release().await;
                    self.finish(None).await;
                    return Ok(Ended::Down);
                }
                Ended::Lost(l) => l,
            };
            if since.elapsed() >= self.policy.stable_after {
                *rung = Rung::Redial;
            }
            self.state(State::Recover);
            path.release().await;
            let detail = match &loss {
                Loss::NetworkDisconnect(why) => format!("link lost: {} ({why})", loss.cause()),
                _ => format!("link lost: {}", loss.cause()),
            };
            self.status.event("loss", detail);
            let cause = loss.cause().to_string();
            self.status.update(|s| {
                s.modem.connection.reconnects += 1;
                *s.counters.reconnects_by_cause.entry(cause).or_default() += 1;
            });
            match (&loss, *rung) {
                // The port is gone or the SIM left: nothing to re-dial on; start over.
                (Loss::PortGone | Loss::SimRemoved | Loss::User, _) => return Ok(Ended::Lost(loss)),
                (_, Rung::Redial) => {
                    *rung = Rung::Reset;
                    self.status.event("recover", "re-dialling");
                    let _ = modem.hangup().await;
                    // Loop: dial again on the same modem.
                }
                (_, Rung::Reset) => {
                    *rung = Rung::UsbRebind;
                    self.status.event("recover", "resetting the modem");
                    if let Err(e) = modem.reset().await {
                        self.status.event("recover", format!("modem reset failed: {e}"));
                    }
                    return Ok(Ended::Lost(loss));
                }
                (_, Rung::UsbRebind) => {
                    *rung = Rung::Rest;
                    self.status.event("recover", "re-binding the USB device");
                    if let Err(e) = self.connector.usb_rebind().await {
                        self.status.event("recover", format!("USB re-bind failed: {e}"));
                    }
                    return Ok(Ended::Lost(loss));
                }
                (_, Rung::Rest) => {
                    *rung = Rung::Redial;
                    return Ok(Ended::Exhausted);
                }
            }
        }
    }

    /// Reads signal, registration, operator, mode and PDP contexts into the status
    /// (the session's own fields, such as the connection, are left alone).
    async fn refresh_traffic(&self, path: &mut C::Path) {
        let (rx, tx, probe) = path.traffic().await;
        self.status.update(|s| {
            s.counters.rx_bytes = rx;
            s.counters.tx_bytes = tx;
            s.counters.probe_bytes = probe;
        });
    }

    /// Refreshes the snapshot's radio facts; says when the modem stopped answering.
    async fn refresh(&self, modem: &mut C::Modem) -> Result<(), ModemError> {
        let mut s = self.status.snapshot();
        let result = modem.refresh_status(&mut s).await;
        self.status.update(|cur| {
            cur.modem.modem = s.modem.modem;
            cur.modem.signal = s.modem.signal;
            cur.modem.operator = s.modem.operator;
            cur.modem.registration = s.modem.registration;
            cur.modem.mode = s.modem.mode;
            cur.modem.pdp = s.modem.pdp;
        });
        result
    }

    fn link_up(&self, ip: &IpConfig, ifname: &str) {
        self.state(State::Up);
        let ifname = ifname.to_string();
        let ip = ip.clone();
        self.status.update(move |s| {
            s.ifname = Some(ifname);
            s.modem.connection.ipv4 = ip.ipv4;
            s.modem.connection.ipv6 = ip.ipv6;
            s.modem.connection.since = Some(crate::status::rfc3339(std::time::SystemTime::now()));
            s.last_error_code = None;
            s.modem.connection.last_error = None;
        });
        let s = self.status.snapshot();
        let addr = s.modem.connection.ipv4.as_ref().map(|i| format!("{}/{}", i.address, i.prefix_len)).unwrap_or_else(|| "no IPv4".into());
        self.status.event("up", format!("link up on {} with {addr}", s.ifname.unwrap_or_default()));
    }

    /// Steps up to a registered modem ready to dial.
    async fn connect_modem(&mut self) -> Result<C::Modem, Failure> {
        if !self.policy.delay.is_zero() {
            self.state(State::Delay);
            sleep(self.policy.delay).await;
        }
        self.state(State::Identify);
        let mut modem = self.connector.open().await?;
        let key = step(self.policy.identify, modem.identify(), Code::GetinfoFailed, "identifying the modem").await??;
        self.status.event("identify", format!("vendor profile {key}"));
        // Only facts for `status`: a silent modem fails the next step with its own code.
        let _ = self.refresh(&mut modem).await;

        self.state(State::Initialize);
        step(self.policy.identify, modem.initialize(), Code::InitializeFailed, "initializing the modem")
            .await?
            .map_err(|e| Failure::new(Code::InitializeFailed, format!("Failed to initialize modem: {e}")))?;

        self.state(State::Sim);
        self.unlock_sim(&mut modem).await?;

        self.state(State::Configure);
        step(self.policy.identify, modem.configure(), Code::ConfigureFailed, "configuring the modem")
            .await?
            .map_err(|e| Failure::new(Code::ConfigureFailed, format!("Failed to configure modem: {e}")))?;

        self.state(State::Mode);
        match step(self.policy.identify, modem.ensure_mode(), Code::SetmodeFailed, "setting the mode").await? {
            Ok(Setting::Written) => self.status.event("mode", "network mode written"),
            Ok(Setting::AlreadySet) => self.status.event("mode", "network mode already right; not written"),
            Ok(Setting::Unsupported) => self.status.event("mode", "this vendor profile has no command for the configured mode; skipped"),
            Ok(Setting::NotRequested) => {}
            Err(e) => return Err(Failure::new(Code::SetmodeFailed, format!("Failed to set operating mode: {e}"))),
        }

        self.state(State::Pdp);
        match step(self.policy.identify, modem.ensure_pdp(), Code::ConfigureFailed, "setting the PDP context").await? {
            Ok(Setting::Written) => self.status.event("pdp", "PDP context written"),
            Ok(Setting::AlreadySet) => self.status.event("pdp", "PDP context already right; not written"),
            Ok(Setting::Unsupported) | Ok(Setting::NotRequested) => {}
            Err(e) => return Err(Failure::new(Code::ConfigureFailed, format!("Failed to set the PDP context: {e}"))),
        }
        Ok(modem)
    }

    async fn unlock_sim(&mut self, modem: &mut C::Modem) -> Result<(), Failure> {
        let deadline = Instant::now() + self.policy.sim_ready;
        let mut pin_sent = false;
        loop {
            let sim = match modem.sim().await {
                Ok(s) => s,
                Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
                Err(e) => {
                    if Instant::now() >= deadline {
                        return Err(Failure::new(Code::SimNotReady, format!("could not read the SIM state: {e}")));
                    }
                    sleep(self.policy.poll).await;
                    continue;
                }
            };
            self.status.update(|s| {
                s.modem.sim.pin_attempts_left = sim.pin_attempts_left;
                s.modem.sim.puk_attempts_left = sim.puk_attempts_left;
                if sim.iccid.is_some() {
                    s.modem.sim.iccid = sim.iccid.clone();
                }
                s.modem.sim.state = Some(
                    match sim.lock {
                        SimLock::Ready => "ready",
                        SimLock::PinRequired => "pin-required",
                        SimLock::PukRequired => "puk-required",
                        SimLock::NotInserted => "not-inserted",
                        SimLock::Other => "error",
                    }
                    .into(),
                );
            });
            match sim.lock {
                SimLock::Ready => {
                    if pin_sent {
                        if let Some(store) = &self.store {
                            store.confirmed(sim.iccid.as_deref());
                        }
                    }
                    self.status.event("sim", "SIM ready");
                    return Ok(());
                }
                SimLock::PukRequired => {
                    return Err(Failure::new(
                        Code::PinFailed,
                        format!("SIM is locked and needs its PUK; ncmd never sends a PUK. Unlock the SIM in a phone, then run `{}`", self.policy.user_command),
                    ))
                }
                SimLock::NotInserted => return Err(Failure::new(Code::SimNotReady, "no SIM card: insert one")),
                SimLock::Other => {
                    if Instant::now() >= deadline {
                        return Err(Failure::new(Code::SimNotReady, format!("SIM not ready: {}", sim.detail.unwrap_or_default())));
                    }
                    sleep(self.policy.poll).await;
                }
                SimLock::PinRequired if pin_sent => {
                    // Accepted but not ready yet: wait for the SIM to initialise. It is
                    // never sent twice: a SIM still locked at the deadline is a stop.
                    if Instant::now() >= deadline {
                        return Err(self.pin_stop("the SIM still asks for its PIN after ncmd sent it and the modem answered OK"));
                    }
                    sleep(self.policy.poll).await;
                }
                SimLock::PinRequired => {
                    self.check_pin_allowed(&sim)?;
                    // Written down before it goes out: whatever happens next (an error,
                    // a timeout, the port vanishing, a reset, a crash), this value is not
                    // sent again until the configured PIN changes.
                    if let Some(store) = &self.store {
                        if let Err(e) = store.attempt(sim.iccid.as_deref()) {
                            tracing::warn!("could not record the PIN attempt in {}: {e}; it is remembered until ncmd restarts", store.path().display());
                        }
                    }
                    pin_sent = true;
                    match modem.enter_pin().await {
                        Ok(PinOutcome::Accepted) => self.status.event("sim", "PIN accepted"),
                        Ok(PinOutcome::Rejected { attempts_left }) => {
                            let left = attempts_left.map(|n| format!("{n} attempts left; ")).unwrap_or_default();
                            return Err(Failure::new(
                                Code::PinFailed,
                                format!("SIM PIN rejected; {left}ncmd will not retry it. Fix option pincode and run `{}`", self.policy.user_command),
                            ));
                        }
                        Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
                        Err(e) => return Err(self.pin_stop(&format!("the modem answered the PIN with: {e}"))),
                    }
                }
            }
        }
    }

    /// The stop after a PIN was sent and not confirmed: says why, and how to go on.
    fn pin_stop(&self, why: &str) -> Failure {
        let file = self.store.as_ref().map(|s| s.path().display().to_string()).unwrap_or_else(|| "the state directory".into());
        Failure::new(
            Code::PinFailed,
            format!(
                "{why}; ncmd sends a PIN only once and will not send it again. Check option pincode; if it is right, delete {file}; then run `{}`",
                self.policy.user_command
            ),
        )
    }

    fn check_pin_allowed(&self, sim: &SimInfo) -> Result<(), Failure> {
        match &self.store {
            None => return Err(Failure::new(Code::PinFailed, "SIM needs a PIN: set option pincode")),
            Some(store) => {
                if !store.has_pin() {
                    return Err(Failure::new(Code::PinFailed, "SIM needs a PIN: set option pincode"));
                }
                if store.was_tried(sim.iccid.as_deref()) {
                    return Err(Failure::new(
                        Code::PinFailed,
                        format!(
                            "this PIN was sent before and the SIM did not accept it; ncmd will not send it again. Fix option pincode and run `{}` (if the PIN is right, delete {} first)",
                            self.policy.user_command,
                            store.path().display()
                        ),
                    ));
                }
            }
        }
        if sim.pin_attempts_left == Some(1) {
            return Err(Failure::new(
                Code::PinFailed,
                "SIM has one PIN attempt left; ncmd will not risk it automatically. Check the PIN and enter it once by hand (ncmd at --device ... 'AT+CPIN=\"....\"')",
            ));
        }
        if sim.pin_attempts_left == Some(0) {
            return Err(Failure::new(Code::PinFailed, "SIM has no PIN attempts left: it needs its PUK"));
        }
        Ok(())
    }

    /// Register → dial → confirm → IP → data link up.
    async fn dial_and_configure(&mut self, modem: &mut C::Modem, path: &mut C::Path) -> Result<IpConfig, Failure> {
        self.state(State::Register);
        let deadline = Instant::now() + self.policy.register;
        loop {
            match modem.registration().await {
                Ok(Reg::Registered) => {
                    self.status.event("register", "registered on the packet network");
                    break;
                }
                Ok(Reg::Denied) => {
                    return Err(Failure::new(
                        Code::NetworkRegistrationFailed,
                        "the network denied registration: check that the SIM's plan includes data and the operator allows this modem",
                    ))
                }
                Ok(_) | Err(ModemError::Failed(_)) | Err(ModemError::Timeout(_)) => {}
                Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(
                    Code::NetworkRegistrationFailed,
                    format!("not registered on the packet network after {} s: check coverage, antenna and mode", self.policy.register.as_secs()),
                ));
            }
            tokio::select! {
                _ = sleep(self.policy.poll) => {}
                // The modem's registration URC asks again at once instead of a poll later.
                ev = modem.next_event() => if ev == ModemEvent::PortGone {
                    return Err(Failure::new(Code::NoDevice, "the modem's port vanished while registering"));
                },
            }
        }

        self.state(State::Dial);
        modem.dial().await.map_err(|e| Failure::new(Code::ConnectFailed, format!("Failed to connect: {e}")))?;

        self.status.event("dial", "dialled; waiting for the modem to confirm the connection");
        self.state(State::Confirm);
        let deadline = Instant::now() + self.policy.confirm;
        loop {
            match modem.connected().await {
                Ok(Some(true)) | Ok(None) => break,
                Ok(Some(false)) => {}
                Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(
                    Code::ConnectFailed,
                    format!("the modem accepted the dial but did not connect within {} s: check the APN and credentials", self.policy.confirm.as_secs()),
                ));
            }
            tokio::select! {
                _ = sleep(self.policy.poll) => {}
                // The modem's own announcement (`^NDISSTAT: 1`) ends the wait at once.
                ev = modem.next_event() => match ev {
                    ModemEvent::PortGone => return Err(Failure::new(Code::NoDevice, "the modem's port vanished while connecting")),
                    ModemEvent::Connected => break,
                    _ => {}
                },
            }
        }

        self.status.event("connected", "the modem reports the data session up");
        self.state(State::IpConfig);
        let from_modem = match modem.ip_config().await {
            Ok(ip) => ip,
            Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
            Err(_) => None,
        };
        path.describe(&self.status.snapshot()).await;
        let ip = timeout(self.policy.ip, path.bring_up(from_modem))
            .await
            .map_err(|_| Failure::new(Code::ConnectFailed, format!("no IP configuration within {} s", self.policy.ip.as_secs())))?
            .map_err(|e| match e {
                BringUpError::Refused(why) => Failure::new(Code::IpConfigRefused, format!("refused the IP configuration for {}: {why}", path.ifname())),
                BringUpError::Failed(e) => Failure::new(Code::ConnectFailed, format!("could not configure {}: {e}", path.ifname())),
            })?;
        if let Err(e) = modem.finalize().await {
            // The link is up already; report, as the existing handler does, but keep it.
            self.status.fail(&Failure::new(Code::FinalizeFailed, format!("Finalizing failed: {e}")));
        }
        Ok(ip)
    }

    /// Watches a running link until it is lost or the user takes it down.
    async fn supervise(&mut self, modem: &mut C::Modem, path: &mut C::Path) -> Ended {
        let mut poll = tokio::time::interval(self.policy.watch);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        poll.tick().await;
        loop {
            tokio::select! {
                ev = modem.next_event() => match ev {
                    ModemEvent::Disconnected(why) => return Ended::Lost(Loss::NetworkDisconnect(why)),
                    ModemEvent::PortGone => return Ended::Lost(Loss::PortGone),
                    ModemEvent::SimRemoved => return Ended::Lost(Loss::SimRemoved),
                    ModemEvent::RegistrationLost => return Ended::Lost(Loss::RegistrationLost),
                    ModemEvent::Connected | ModemEvent::Registered => {}
                },
                ev = path.next_event() => match ev {
                    LinkEvent::CarrierDown => return Ended::Lost(Loss::CarrierLost),
                    LinkEvent::Removed => return Ended::Lost(Loss::LinkRemoved),
                    LinkEvent::BlackHole => return Ended::Lost(Loss::BlackHole),
                },
                c = self.commands.recv() => match c {
                    None | Some(Command::Down) => return Ended::Down,
                    Some(Command::Reconnect) => return Ended::Lost(Loss::User),
                },
                _ = self.connector.device_gone() => return Ended::Lost(Loss::PortGone),
                _ = poll.tick() => {
                    // One cheap status query: catches silent drops and a hung modem.
                    match modem.connected().await {
                        Ok(Some(false)) => {
                            // A URC that came with the drop names the cause better than the poll.
                            if let Ok(ModemEvent::Disconnected(why)) = timeout(Duration::ZERO, modem.next_event()).await {
                                return Ended::Lost(Loss::NetworkDisconnect(why));
                            }
                            return Ended::Lost(Loss::StatusDown);
                        }
                        Ok(_) => {
                            // A modem that hangs half way through the refresh is as hung
                            // as one that ignores the status query.
                            if let Err(ModemError::Timeout(_)) = self.refresh(modem).await {
                                return Ended::Lost(Loss::ModemHung);
                            }
                            self.refresh_traffic(path).await;
                        }
                        Err(ModemError::PortGone(_)) => return Ended::Lost(Loss::PortGone),
                        Err(ModemError::Timeout(_)) => return Ended::Lost(Loss::ModemHung),
                        Err(ModemError::Failed(_)) => {}
                    }
                }
            }
        }
    }

}

/// Runs one step with its time limit; a timeout becomes the step's failure code.
async fn step<T>(limit: Duration, fut: impl Future<Output = T>, code: Code, what: &str) -> Result<T, Failure> {
    timeout(limit, fut)
        .await
        .map_err(|_| Failure::new(code, format!("timed out after {} s {what}", limit.as_secs())))
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    t ^ u64::from(std::process::id()).rotate_left(32)
}
