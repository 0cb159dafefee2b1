//! Session tests against an in-memory modem, with paused time.

use crate::session::*;
use crate::status::*;
use crate::session::pin_store::Store;
use ncmd_link::ipcheck::{Prefix, Proposal, Proposed, Source};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::{mpsc, Notify};

#[derive(Default)]
struct Fake {
    lock: Mutex<FakeSim>,
    pin_sent: AtomicU32,
    dials: AtomicU32,
    hangups: AtomicU32,
    resets: AtomicU32,
    releases: AtomicU32,
    rebinds: AtomicU32,
    connected: std::sync::atomic::AtomicBool,
    /// Registration replies to give, then `Registered` forever.
    reg_script: Mutex<Vec<Reg>>,
    /// When set, every dial fails.
    dial_fails: std::sync::atomic::AtomicBool,
    /// When set, the status refresh finds the modem silent (a hang half way through it).
    refresh_hangs: std::sync::atomic::AtomicBool,
    /// IP configurations the modem reports, then the carrier's good one forever.
    ip_script: Mutex<Vec<Proposal>>,
    /// Configurations the data path applied.
    applied: AtomicU32,
}

fn proposal(address: [u8; 4], mask: [u8; 4], gateway: [u8; 4], dns: &[[u8; 4]]) -> Proposal {
    let v4 = |a: [u8; 4]| std::net::IpAddr::from(a);
    Proposal {
        from: Source::Modem,
        ipv4: Some(Proposed { address: v4(address), prefix: Prefix::Mask(v4(mask)), gateway: Some(v4(gateway)), dns: dns.iter().map(|&d| v4(d)).collect() }),
        ipv6: None,
        mtu: None,
    }
}

struct FakeSim {
    state: SimLock,
    attempts: u8,
    correct: &'static str,
    configured: Option<&'static str>,
    /// How the modem answers `AT+CPIN=...` (a lying or failing modem, or an honest one).
    pin_reply: PinReply,
    /// The next SIM read finds the port gone (a reset right after the PIN).
    vanish_once: bool,
}

#[derive(Clone, Copy, Debug)]
enum PinReply {
    Honest,
    /// OK, but the SIM stays locked.
    OkStillLocked,
    /// ERROR (or any failure that is not a clear rejection).
    Error,
    Timeout,
    /// The port vanishes mid-command.
    PortGone,
    /// OK, then the modem resets: the port goes away and the SIM asks again.
    ResetAfterOk,
}

impl Default for FakeSim {
    fn default() -> Self {
        FakeSim { state: SimLock::Ready, attempts: 3, correct: "1234", configured: None, pin_reply: PinReply::Honest, vanish_once: false }
    }
}

struct FakeModem {
    f: Arc<Fake>,
    events: mpsc::Receiver<ModemEvent>,
}

impl Modem for FakeModem {
    async fn identify(&mut self) -> Result<String, Failure> {
        Ok("fake".into())
    }
    async fn initialize(&mut self) -> Result<(), ModemError> {
        Ok(())
    }
    async fn sim(&mut self) -> Result<SimInfo, ModemError> {
        let mut s = self.f.lock.lock().unwrap();
        if std::mem::take(&mut s.vanish_once) {
            return Err(ModemError::PortGone("port gone (reset)".into()));
        }
        Ok(SimInfo { lock: s.state, pin_attempts_left: Some(s.attempts), puk_attempts_left: Some(10), iccid: Some("8949000".into()), detail: None })
    }
    async fn enter_pin(&mut self) -> Result<PinOutcome, ModemError> {
        self.f.pin_sent.fetch_add(1, Ordering::SeqCst);
        let mut s = self.f.lock.lock().unwrap();
        match s.pin_reply {
            PinReply::Honest => {}
            PinReply::OkStillLocked => return Ok(PinOutcome::Accepted),
            PinReply::Error => return Err(ModemError::Failed("ERROR".into())),
            PinReply::Timeout => return Err(ModemError::Timeout("no answer within 10 s".into())),
            PinReply::PortGone => return Err(ModemError::PortGone("port gone mid-command".into())),
            PinReply::ResetAfterOk => {
                s.vanish_once = true;
                return Ok(PinOutcome::Accepted);
            }
        }
        if s.configured == Some(s.correct) {
            s.state = SimLock::Ready;
            Ok(PinOutcome::Accepted)
        } else {
            s.attempts -= 1;
            if s.attempts == 0 {
                s.state = SimLock::PukRequired;
            }
            Ok(PinOutcome::Rejected { attempts_left: Some(s.attempts) })
        }
    }
    async fn configure(&mut self) -> Result<(), ModemError> {
        Ok(())
    }
    async fn ensure_mode(&mut self) -> Result<Setting, ModemError> {
        Ok(Setting::AlreadySet)
    }
    async fn ensure_pdp(&mut self) -> Result<Setting, ModemError> {
        Ok(Setting::AlreadySet)
    }
    async fn registration(&mut self) -> Result<Reg, ModemError> {
        let mut script = self.f.reg_script.lock().unwrap();
        Ok(if script.is_empty() { Reg::Registered } else { script.remove(0) })
    }
    async fn dial(&mut self) -> Result<(), ModemError> {
        self.f.dials.fetch_add(1, Ordering::SeqCst);
        if self.f.dial_fails.load(Ordering::SeqCst) {
            return Err(ModemError::Failed("ERROR".into()));
        }
        self.f.connected.store(true, Ordering::SeqCst);
        Ok(())
    }
    async fn connected(&mut self) -> Result<Option<bool>, ModemError> {
        Ok(Some(self.f.connected.load(Ordering::SeqCst)))
    }
    async fn ip_config(&mut self) -> Result<Option<Proposal>, ModemError> {
        let mut script = self.f.ip_script.lock().unwrap();
        Ok(Some(if script.is_empty() { proposal([10, 64, 0, 2], [255, 255, 255, 252], [10, 64, 0, 1], &[]) } else { script.remove(0) }))
    }
    async fn finalize(&mut self) -> Result<(), ModemError> {
        Ok(())
    }
    async fn hangup(&mut self) -> Result<(), ModemError> {
        self.f.hangups.fetch_add(1, Ordering::SeqCst);
        self.f.connected.store(false, Ordering::SeqCst);
        Ok(())
    }
    async fn ensure_ps_only(&mut self) -> Result<Setting, ModemError> {
        Ok(Setting::Unsupported)
    }
    async fn reset(&mut self) -> Result<(), ModemError> {
        self.f.resets.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn refresh_status(&mut self, _s: &mut InterfaceStatus) -> Result<(), ModemError> {
        if self.f.refresh_hangs.swap(false, Ordering::SeqCst) {
            return Err(ModemError::Timeout("no answer".into()));
        }
        Ok(())
    }
    async fn next_event(&mut self) -> ModemEvent {
        match self.events.recv().await {
            Some(e) => e,
            None => std::future::pending().await,
        }
    }
}

struct FakePath {
    f: Arc<Fake>,
}

impl DataPath for FakePath {
    fn ifname(&self) -> &str {
        "wwan0"
    }
    /// The pure IP check (no other interfaces here), then "applied".
    async fn bring_up(&mut self, ip: Option<Proposal>) -> Result<IpConfig, BringUpError> {
        let p = ip.ok_or_else(|| BringUpError::Failed("no ip".into()))?;
        let checked = ncmd_link::ipcheck::check(&p, &[]).map_err(|e| BringUpError::Refused(e.to_string()))?;
        self.f.applied.fetch_add(1, Ordering::SeqCst);
        let ipv4 = checked.ipv4.map(|v| IpInfo {
            address: v.address.to_string(),
            prefix_len: v.prefix_len,
            gateway: v.gateway.map(|g| g.to_string()),
            dns: v.dns.iter().map(|d| d.to_string()).collect(),
        });
        Ok(IpConfig { ipv4, ipv6: None })
    }
    async fn release(&mut self) {
        self.f.releases.fetch_add(1, Ordering::SeqCst);
    }
    async fn next_event(&mut self) -> LinkEvent {
        std::future::pending().await
    }
    async fn traffic(&mut self) -> (u64, u64, u64) {
        (0, 0, 0)
    }
}

struct FakeConnector {
    f: Arc<Fake>,
    /// Each opened modem takes the next event receiver.
    events: Arc<Mutex<Vec<mpsc::Receiver<ModemEvent>>>>,
    present: Arc<Notify>,
    /// Notified when the test unplugs the control port (hotplug removal).
    gone: Arc<Notify>,
}

impl Connector for FakeConnector {
    type Modem = FakeModem;
    type Path = FakePath;
    async fn wait_device(&mut self) {}
    async fn device_gone(&mut self) {
        self.gone.notified().await
    }
    async fn open(&mut self) -> Result<FakeModem, Failure> {
        let rx = {
            let mut v = self.events.lock().unwrap();
            if v.is_empty() {
                let (_tx, rx) = mpsc::channel(1);
                rx
            } else {
                v.remove(0)
            }
        };
        Ok(FakeModem { f: self.f.clone(), events: rx })
    }
    async fn data_path(&mut self) -> Result<FakePath, Failure> {
        Ok(FakePath { f: self.f.clone() })
    }
    async fn usb_rebind(&mut self) -> Result<(), String> {
        self.f.rebinds.fetch_add(1, Ordering::SeqCst);
        let _ = &self.present;
        Ok(())
    }
}

struct Harness {
    f: Arc<Fake>,
    status: StatusCell,
    cmd: mpsc::Sender<Command>,
    urc: Vec<mpsc::Sender<ModemEvent>>,
    gone: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

fn start(f: Arc<Fake>, store: Option<Store>, modems: usize) -> Harness {
    start_with(f, store, modems, Policy::default())
}

fn start_with(f: Arc<Fake>, store: Option<Store>, modems: usize, policy: Policy) -> Harness {
    let mut urc = Vec::new();
    let mut rxs = Vec::new();
    for _ in 0..modems {
        let (tx, rx) = mpsc::channel(8);
        urc.push(tx);
        rxs.push(rx);
    }
    let status = StatusCell::new("wwan", "/dev/ttyUSB0");
    let (cmd, commands) = mpsc::channel(4);
    let gone = Arc::new(Notify::new());
    let session = Session {
        connector: FakeConnector { f: f.clone(), events: Arc::new(Mutex::new(rxs)), present: Arc::new(Notify::new()), gone: gone.clone() },
        policy,
        status: status.clone(),
        commands,
        store,
    };
    let task = tokio::spawn(session.run());
    Harness { f, status, cmd, urc, gone, task }
}

async fn wait_state(status: &StatusCell, state: State) {
    for _ in 0..100_000 {
        if status.snapshot().state == state.as_str() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never reached {state:?}; status: {:?}", status.snapshot());
}

fn temp_store(name: &str, pin: Option<&str>) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("ncmd-session-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (Store::new(&dir, "wwan", pin), dir)
}

#[tokio::test(start_paused = true)]
async fn connects_and_goes_down_cleanly() {
    let h = start(Arc::new(Fake::default()), None, 1);
    wait_state(&h.status, State::Up).await;
    let s = h.status.snapshot();
    assert_eq!(s.modem.connection.state.as_deref(), Some("connected"));
    assert_eq!(s.modem.connection.ipv4.as_ref().unwrap().address, "10.64.0.2");
    assert_eq!(s.ifname.as_deref(), Some("wwan0"));
    h.cmd.send(Command::Down).await.unwrap();
    h.task.await.unwrap();
    assert_eq!(h.f.hangups.load(Ordering::SeqCst), 1);
    assert_eq!(h.f.releases.load(Ordering::SeqCst), 1);
    assert_eq!(h.status.snapshot().state, "down");
}

#[tokio::test(start_paused = true)]
async fn port_removed_while_up_is_a_loss_and_followed() {
    let h = start(Arc::new(Fake::default()), None, 2);
    wait_state(&h.status, State::Up).await;
    // The hotplug removal of the control port, before any read on it fails.
    h.gone.notify_one();
    for _ in 0..10_000 {
        if h.status.snapshot().modem.connection.reconnects == 1 && h.status.snapshot().state == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let s = h.status.snapshot();
    assert_eq!(s.state, "up", "{s:?}");
    assert_eq!(s.counters.reconnects_by_cause.get("port-gone"), Some(&1));
    assert_eq!(h.f.dials.load(Ordering::SeqCst), 2, "the modem was opened and dialled again");
    h.task.abort();
}

/// Under netifd the session ends with NO_DEVICE when the port vanishes: the interface
/// is unavailable until hotplug sees the port again.
#[tokio::test(start_paused = true)]
async fn under_netifd_a_vanished_port_ends_the_session_with_no_device() {
    let policy = Policy { user_command: "ifup wwan".into(), end_on_block: true, ..Policy::default() };
    let h = start_with(Arc::new(Fake::default()), None, 1, policy);
    wait_state(&h.status, State::Up).await;
    h.gone.notify_one();
    tokio::time::timeout(Duration::from_secs(60), h.task).await.expect("the session ends by itself").expect("no panic");
    let s = h.status.snapshot();
    assert_eq!((s.state.as_str(), s.last_error_code.as_deref()), ("wait-device", Some("NO_DEVICE")));
    assert_eq!(h.f.dials.load(Ordering::SeqCst), 1, "no dial after the port vanished");
}

#[tokio::test(start_paused = true)]
async fn network_drop_urc_redials_at_once() {
    let h = start(Arc::new(Fake::default()), None, 1);
    wait_state(&h.status, State::Up).await;
    let t0 = Instant::now();
    h.f.connected.store(false, Ordering::SeqCst);
    h.urc[0].send(ModemEvent::Disconnected("^NDISSTAT: 0".into())).await.unwrap();
    // Wait until the second dial has brought the link up again.
    for _ in 0..10_000 {
        if h.f.dials.load(Ordering::SeqCst) == 2 && h.status.snapshot().state == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(h.f.dials.load(Ordering::SeqCst), 2);
    assert!(t0.elapsed() < Duration::from_secs(1), "re-dial took {:?}", t0.elapsed());
    let s = h.status.snapshot();
    assert_eq!(s.modem.connection.reconnects, 1);
    assert_eq!(s.counters.reconnects_by_cause.get("network-disconnect"), Some(&1));
    assert!(s.events.iter().any(|e| e.kind == "loss" && e.message.contains("network-disconnect")));
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn wrong_pin_is_sent_once_even_across_restarts() {
    let f = Arc::new(Fake::default());
    {
        let mut s = f.lock.lock().unwrap();
        s.state = SimLock::PinRequired;
        s.configured = Some("1111");
    }
    let (store, dir) = temp_store("wrongpin", Some("1111"));
    let h = start(f.clone(), Some(store.clone()), 1);
    wait_state(&h.status, State::Blocked).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 1);
    let s = h.status.snapshot();
    assert_eq!(s.last_error_code.as_deref(), Some("PIN_FAILED"));
    assert!(s.modem.connection.last_error.unwrap().contains("2 attempts left"));
    // Blocked means blocked: time passes, nothing more is sent.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 1);
    h.task.abort();

    // A restarted daemon with the same config must not send it again.
    let (store2, _) = temp_store_keep(&dir, Some("1111"));
    let h2 = start(f.clone(), Some(store2), 1);
    wait_state(&h2.status, State::Blocked).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 1, "a rejected PIN was sent again after a restart");
    assert!(h2.status.snapshot().modem.connection.last_error.unwrap().contains("sent before"));
    h2.task.abort();

    // A corrected PIN is tried.
    f.lock.lock().unwrap().configured = Some("1234");
    let (store3, _) = temp_store_keep(&dir, Some("1234"));
    let h3 = start(f.clone(), Some(store3), 1);
    wait_state(&h3.status, State::Up).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 2);
    h3.task.abort();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn temp_store_keep(dir: &std::path::Path, pin: Option<&str>) -> (Store, ()) {
    (Store::new(dir, "wwan", pin), ())
}

#[tokio::test(start_paused = true)]
async fn pin_never_sent_automatically_with_one_attempt_left() {
    let f = Arc::new(Fake::default());
    {
        let mut s = f.lock.lock().unwrap();
        s.state = SimLock::PinRequired;
        s.attempts = 1;
        s.configured = Some("1234");
    }
    let (store, dir) = temp_store("lastattempt", Some("1234"));
    let h = start(f.clone(), Some(store), 1);
    wait_state(&h.status, State::Blocked).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 0);
    assert!(h.status.snapshot().modem.connection.last_error.unwrap().contains("one PIN attempt left"));
    h.task.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn puk_is_a_clear_stop() {
    let f = Arc::new(Fake::default());
    f.lock.lock().unwrap().state = SimLock::PukRequired;
    let (store, dir) = temp_store("puk", Some("1234"));
    let h = start(f.clone(), Some(store), 1);
    wait_state(&h.status, State::Blocked).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 0);
    assert!(h.status.snapshot().modem.connection.last_error.unwrap().contains("PUK"));
    h.task.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under netifd a blocking failure ends the proto task (netifd then shows it: not
/// pending, autostart off), and the text names the user's command there.
#[tokio::test(start_paused = true)]
async fn under_netifd_a_puk_ends_the_session_and_names_ifup() {
    let f = Arc::new(Fake::default());
    f.lock.lock().unwrap().state = SimLock::PukRequired;
    let (store, dir) = temp_store("puk-netifd", Some("1234"));
    let policy = Policy { user_command: "ifup wwan".into(), end_on_block: true, ..Policy::default() };
    let h = start_with(f.clone(), Some(store), 1, policy);
    tokio::time::timeout(Duration::from_secs(60), h.task).await.expect("the session ends by itself").expect("no panic");
    let s = h.status.snapshot();
    assert_eq!((s.state.as_str(), s.last_error_code.as_deref()), ("blocked", Some("PIN_FAILED")));
    assert!(s.modem.connection.last_error.unwrap().contains("`ifup wwan`"));
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn denied_registration_is_retried_with_growing_backoff() {
    let f = Arc::new(Fake::default());
    *f.reg_script.lock().unwrap() = vec![Reg::Denied; 4];
    let h = start(f.clone(), None, 0);
    let t0 = Instant::now();
    wait_state(&h.status, State::Up).await;
    // Four failures with backoff 1, 2, 4, 8 s (±25 %) before success.
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs_f64(15.0 * 0.75) && waited <= Duration::from_secs_f64(15.0 * 1.25 + 1.0), "{waited:?}");
    let s = h.status.snapshot();
    assert!(s.events.iter().filter(|e| e.message.contains("NETWORK_REGISTRATION_FAILED")).count() == 4);
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_refused_ip_configuration_is_never_applied_and_backs_off() {
    // Issue 12: `^DHCP: 0500007F,000000FF,0100007F,0100007F,0100007F,…` (127.0.0.5/8 via
    // 127.0.0.1), three times, then a sound configuration.
    let f = Arc::new(Fake::default());
    let attack = proposal([127, 0, 0, 5], [255, 0, 0, 0], [127, 0, 0, 1], &[[127, 0, 0, 1], [127, 0, 0, 1]]);
    *f.ip_script.lock().unwrap() = vec![attack; 3];
    let h = start(f.clone(), None, 0);
    let t0 = Instant::now();
    wait_for(|| h.status.snapshot().state == "backoff").await;
    let s = h.status.snapshot();
    assert_eq!(s.last_error_code.as_deref(), Some("IPCONFIG_REFUSED"));
    assert_eq!(
        s.modem.connection.last_error.as_deref(),
        Some("refused the IP configuration for wwan0: the modem's address 127.0.0.5 is a loopback address, not a unicast address")
    );
    assert_eq!(f.applied.load(Ordering::SeqCst), 0, "nothing applied");
    assert_eq!(f.hangups.load(Ordering::SeqCst), 1, "the data session is hung up");
    wait_state(&h.status, State::Up).await;
    // Three refusals with backoff 1, 2, 4 s (±25 %): retried, not looped.
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs_f64(7.0 * 0.75), "{waited:?}");
    assert_eq!(f.dials.load(Ordering::SeqCst), 4);
    assert_eq!(f.applied.load(Ordering::SeqCst), 1);
    let s = h.status.snapshot();
    assert_eq!(s.events.iter().filter(|e| e.message.contains("IPCONFIG_REFUSED")).count(), 3);
    assert_eq!(s.modem.connection.ipv4.as_ref().unwrap().address, "10.64.0.2");
    h.task.abort();
}

#[tokio::test(start_paused = true)]
async fn repeated_losses_climb_the_ladder() {
    let f = Arc::new(Fake::default());
    let h = start(f.clone(), None, 4);
    wait_state(&h.status, State::Up).await;
    // 1st loss: re-dial in place on the same modem (same URC channel).
    h.urc[0].send(ModemEvent::Disconnected("drop".into())).await.unwrap();
    wait_for(|| f.dials.load(Ordering::SeqCst) == 2 && h.status.snapshot().state == "up").await;
    // 2nd loss soon after: modem reset, then a fresh connection (next channel).
    h.urc[0].send(ModemEvent::Disconnected("drop".into())).await.unwrap();
    wait_for(|| f.resets.load(Ordering::SeqCst) == 1 && f.dials.load(Ordering::SeqCst) == 3 && h.status.snapshot().state == "up").await;
    // 3rd: USB re-bind.
    h.urc[1].send(ModemEvent::Disconnected("drop".into())).await.unwrap();
    wait_for(|| f.rebinds.load(Ordering::SeqCst) == 1 && f.dials.load(Ordering::SeqCst) == 4 && h.status.snapshot().state == "up").await;
    // 4th: rest with backoff, then start over.
    h.urc[2].send(ModemEvent::Disconnected("drop".into())).await.unwrap();
    wait_for(|| h.status.snapshot().state == "backoff").await;
    wait_for(|| f.dials.load(Ordering::SeqCst) == 5 && h.status.snapshot().state == "up").await;
    assert_eq!(h.status.snapshot().modem.connection.reconnects, 4);
    h.task.abort();
}

async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never became true");
}

#[test]
fn backoff_grows_and_is_bounded() {
    let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 42);
    let waits: Vec<_> = (0..12).map(|_| b.next_delay()).collect();
    assert!(waits[0] >= Duration::from_millis(750) && waits[0] <= Duration::from_millis(1250));
    assert!(waits[3] >= Duration::from_secs(6));
    assert!(waits.iter().all(|w| *w <= Duration::from_secs(60)));
    b.reset();
    assert!(b.next_delay() <= Duration::from_millis(1250));
}

/// The PIN rule is absolute: whatever the modem answers, one attempt per PIN value until
/// the configured PIN changes, across retries and restarts.
#[tokio::test(start_paused = true)]
async fn a_pin_is_sent_at_most_once_whatever_the_modem_answers() {
    for reply in [PinReply::OkStillLocked, PinReply::Error, PinReply::Timeout, PinReply::PortGone, PinReply::ResetAfterOk, PinReply::Honest] {
        let f = Arc::new(Fake::default());
        {
            let mut s = f.lock.lock().unwrap();
            s.state = SimLock::PinRequired;
            s.configured = Some("1111"); // wrong: an honest modem rejects it (CME 16)
            s.pin_reply = reply;
        }
        let name = format!("{reply:?}").to_lowercase();
        let (store, dir) = temp_store(&name, Some("1111"));
        let h = start(f.clone(), Some(store), 2);
        wait_state(&h.status, State::Blocked).await;
        // Hours of retries, a reconnect request (it lifts a block), then a restart.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        h.cmd.send(Command::Reconnect).await.unwrap();
        wait_for(|| h.status.snapshot().state == State::Blocked.as_str() && f.pin_sent.load(Ordering::SeqCst) >= 1).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(f.pin_sent.load(Ordering::SeqCst), 1, "{reply:?}: the PIN went out more than once");
        let s = h.status.snapshot();
        assert_eq!(s.last_error_code.as_deref(), Some("PIN_FAILED"), "{reply:?}: {s:?}");
        h.task.abort();
        let (again, _) = temp_store_keep(&dir, Some("1111"));
        let h2 = start(f.clone(), Some(again), 1);
        wait_state(&h2.status, State::Blocked).await;
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(f.pin_sent.load(Ordering::SeqCst), 1, "{reply:?}: sent again after a restart");
        h2.task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A PIN the SIM took is sent again the next time the SIM asks (after a power cycle):
/// only unconfirmed attempts block.
#[tokio::test(start_paused = true)]
async fn a_confirmed_pin_is_entered_again_after_the_sim_locks_again() {
    let f = Arc::new(Fake::default());
    {
        let mut s = f.lock.lock().unwrap();
        s.state = SimLock::PinRequired;
        s.configured = Some("1234");
    }
    let (store, dir) = temp_store("confirmed", Some("1234"));
    let h = start(f.clone(), Some(store.clone()), 1);
    wait_state(&h.status, State::Up).await;
    h.task.abort();
    assert!(!store.was_tried(Some("8949000")));
    f.lock.lock().unwrap().state = SimLock::PinRequired; // the modem was power-cycled
    let (again, _) = temp_store_keep(&dir, Some("1234"));
    let h2 = start(f.clone(), Some(again), 1);
    wait_state(&h2.status, State::Up).await;
    assert_eq!(f.pin_sent.load(Ordering::SeqCst), 2);
    h2.task.abort();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A modem that hangs in the middle of the status refresh (after the cheap status query
/// answered) is noticed as hung at once, not after every read of the refresh timed out.
#[tokio::test(start_paused = true)]
async fn a_hang_during_the_status_refresh_is_a_loss() {
    let f = Arc::new(Fake::default());
    let h = start(f.clone(), None, 1);
    wait_state(&h.status, State::Up).await;
    f.refresh_hangs.store(true, Ordering::SeqCst);
    wait_for(|| h.status.snapshot().counters.reconnects_by_cause.contains_key("modem-hung")).await;
    wait_state(&h.status, State::Up).await;
    h.task.abort();
}
