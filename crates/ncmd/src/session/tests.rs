//! Session tests against an in-memory modem, with paused time.

use crate::session::*;
use crate::status::*;
use crate::session::pin_store::Store;
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
}

struct FakeSim {
    state: SimLock,
    attempts: u8,
    correct: &'static str,
    configured: Option<&'static str>,
}

impl Default for FakeSim {
    fn default() -> Self {
        FakeSim { state: SimLock::Ready, attempts: 3, correct: "1234", configured: None }
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
        let s = self.f.lock.lock().unwrap();
        Ok(SimInfo { lock: s.state, pin_attempts_left: Some(s.attempts), puk_attempts_left: Some(10), iccid: Some("8949000".into()), detail: None })
    }
    async fn enter_pin(&mut self) -> Result<PinOutcome, ModemError> {
        self.f.pin_sent.fetch_add(1, Ordering::SeqCst);
        let mut s = self.f.lock.lock().unwrap();
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
    async fn ip_config(&mut self) -> Result<Option<IpConfig>, ModemError> {
        Ok(Some(IpConfig { ipv4: Some(IpInfo { address: "10.64.0.2".into(), prefix_len: 30, gateway: Some("10.64.0.1".into()), dns: vec![] }), ipv6: None }))
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
    async fn refresh_status(&mut self, _s: &mut InterfaceStatus) {}
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
    async fn bring_up(&mut self, ip: Option<IpConfig>) -> Result<IpConfig, String> {
        ip.ok_or_else(|| "no ip".into())
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
        policy: Policy::default(),
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
    assert!(h2.status.snapshot().modem.connection.last_error.unwrap().contains("rejected before"));
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
