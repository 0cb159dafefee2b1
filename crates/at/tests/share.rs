//! The shared AT port against the simulated modem on a real pty, with real programs not
//! written here (Debian's comgt, socat) on the shared ptys while a daemon-like poller
//! keeps the modem busy on the same channel. Proves: each side reads only its own
//! replies, every side reads every URC, echo is per pty, the SMS prompt works end to
//! end, link-breaking commands never reach the modem.
//!
//! Needs `comgt` and `socat` (installed by .ci/install-deps.sh); fails loudly without.

use ncmd_at::share::{ShareOptions, SharedPort};
use ncmd_at::share_guard::ShareGuard;
use ncmd_at::AtChannel;
use ncmd_sim::{Fault, SimOptions, Simulator};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

fn need(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} is not installed; run .ci/install-deps.sh (as root) first"
    );
}

/// A daemon stand-in: polls the modem over the channel as ncmd's watch does and checks
/// every reply is its own; collects the URCs it sees.
struct Poller {
    stop: Arc<AtomicBool>,
    polls: Arc<AtomicU64>,
    urcs: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    urc_task: tokio::task::JoinHandle<()>,
}

impl Poller {
    fn start(ch: &AtChannel) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let polls = Arc::new(AtomicU64::new(0));
        let urcs = Arc::new(Mutex::new(Vec::new()));
        let mut rx = ch.urcs();
        let seen = urcs.clone();
        let urc_task = tokio::spawn(async move {
            while let Ok(u) = rx.recv().await {
                seen.lock().expect("urc list").push(u.line);
            }
        });
        let (ch2, stop2, polls2) = (ch.clone(), stop.clone(), polls.clone());
        let task = tokio::spawn(async move {
            while !stop2.load(Ordering::Relaxed) {
                for (cmd, prefix) in [("AT+CSQ", "+CSQ:"), ("AT+CGMI", "")] {
                    let r = ch2.command(cmd, T).await.map_err(|e| e.to_string())?;
                    let own = if prefix.is_empty() {
                        r.lines.len() == 1 && r.lines[0].eq_ignore_ascii_case("huawei")
                    } else {
                        r.lines.len() == 1 && r.lines[0].starts_with(prefix)
                    };
                    if !own {
                        return Err(format!("{cmd} got someone else's reply: {:?}", r.lines));
                    }
                    polls2.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok(())
        });
        Poller {
            stop,
            polls,
            urcs,
            task,
            urc_task,
        }
    }

    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task
            .await
            .expect("poller task")
            .expect("poller saw only its own replies");
        self.urc_task.abort();
        let urcs = self.urcs.lock().expect("urc list").clone();
        (self.polls.load(Ordering::Relaxed), urcs)
    }
}

struct Setup {
    sim: Simulator,
    ch: AtChannel,
    share: SharedPort,
    links: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

async fn setup(count: usize) -> Setup {
    let opts = SimOptions {
        latency_scale: 0.0,
        ..SimOptions::default()
    };
    let sim = Simulator::start(opts).await.expect("simulator starts");
    let ch = AtChannel::open(&sim.tty_path())
        .await
        .expect("open sim tty");
    ch.command("ATE0", T).await.expect("ATE0");
    let dir = tempfile::tempdir().expect("tempdir");
    // The Huawei profile's dial and mode lines (crates/profile/data/ncm.json).
    let guard = ShareGuard::new([
        "AT^NDISDUP=1,1,\"internet\"",
        "AT^SYSCFGEX=\"03\",3fffffff,2,4,7fffffffffffffff,,",
    ]);
    let opts = ShareOptions::new(&dir.path().join("ttyNCM0"), count, guard);
    let links = opts.links.clone();
    let share = SharedPort::start(opts, Some(ch.clone())).expect("shared port starts");
    Setup {
        sim,
        ch,
        share,
        links,
        _dir: dir,
    }
}

/// Runs a program to completion off the runtime, with a bound.
async fn run(cmd: &mut Command) -> (bool, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("program starts");
    let out = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .expect("join");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A raw client on a shared pty (as a program opening the tty does), read off the runtime.
struct Raw {
    file: std::fs::File,
    seen: String,
}

impl Raw {
    fn open(path: &Path) -> Raw {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY)
            .open(path)
            .expect("open shared pty");
        Raw {
            file,
            seen: String::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).expect("write to shared pty");
    }

    /// Reads until `want` has appeared (after what was already consumed); returns the
    /// text up to and including it.
    fn until(&mut self, want: &str) -> String {
        let deadline = Instant::now() + T;
        let mut buf = [0u8; 512];
        loop {
            if let Some(i) = self.seen.find(want) {
                let taken: String = self.seen.drain(..i + want.len()).collect();
                return taken;
            }
            assert!(
                Instant::now() < deadline,
                "no {want:?} on the shared pty; got {:?}",
                self.seen
            );
            let mut pfd = [nix::poll::PollFd::new(
                std::os::fd::AsFd::as_fd(&self.file),
                nix::poll::PollFlags::POLLIN,
            )];
            let ready = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16))
                .expect("poll shared pty");
            if ready > 0 {
                let n = self.file.read(&mut buf).expect("read shared pty");
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comgt_sig_and_info_while_the_daemon_polls() {
    need("comgt");
    let s = setup(1).await;
    let poller = Poller::start(&s.ch);
    let port = s.links[0].to_string_lossy().to_string();
    let (ok, out) = run(Command::new("comgt").args(["-d", &port, "sig"])).await;
    eprintln!("comgt sig: {out}");
    assert!(ok, "comgt sig failed: {out}");
    // The simulator's +CSQ (crates/sim): comgt prints "Signal Quality: <rssi>,<ber>".
    assert!(out.contains("Signal Quality:"), "comgt sig: {out}");
    let (ok, out) = run(Command::new("comgt").args(["-d", &port, "info"])).await;
    eprintln!("comgt info: {out}");
    assert!(ok, "comgt info failed: {out}");
    assert!(out.to_lowercase().contains("huawei"), "comgt info: {out}");
    let (polls, _) = poller.finish().await;
    assert!(polls > 0, "the poller ran meanwhile");
    let counts = s.share.counts();
    assert!(counts.passed > 0 && counts.failed == 0, "{counts:?}");
    drop(s.sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socat_session_sees_its_replies_and_every_urc_as_do_the_others() {
    need("socat");
    let s = setup(2).await;
    let poller = Poller::start(&s.ch);
    let mut other = Raw::open(&s.links[1]);
    other.send(b"ATE0\r");
    other.until("OK\r\n");
    // A socat session on the first pty: echo on (the default), two commands, then it
    // stays open until a URC is seen.
    let link = s.links[0].to_string_lossy().to_string();
    let mut session = Command::new("socat")
        .args(["-t", "3", "-", &format!("FILE:{link},raw,echo=0")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("socat starts");
    let mut stdin = session.stdin.take().expect("socat stdin");
    let mut stdout = session.stdout.take().expect("socat stdout");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    });
    stdin.write_all(b"AT+CGMM\r").expect("to socat");
    other.send(b"AT+CGMR\r");
    let theirs = other.until("OK\r\n");
    stdin.write_all(b"AT+CFUN=0\r").expect("to socat");
    // A URC while everyone is connected: the simulated Huawei reports a removed SIM.
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.sim.inject(Fault::SimRemoved);
    let urc = other.until("^SIMST: 255");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stdin);
    let session_out = tokio::task::spawn_blocking(move || reader.join().expect("reader"))
        .await
        .expect("join");
    let _ = session.wait();

    eprintln!("session: {session_out:?}\ntheirs: {theirs:?}");
    // Its own echo and replies; not the other pty's, not the poller's.
    assert!(
        session_out.contains("AT+CGMM\r"),
        "echo on: {session_out:?}"
    );
    assert!(session_out.contains("E3372"), "its reply: {session_out:?}");
    assert!(
        session_out.contains("^SIMST: 255"),
        "the URC: {session_out:?}"
    );
    assert!(
        !session_out.contains("+CSQ:"),
        "poller's reply leaked: {session_out:?}"
    );
    assert!(
        !session_out.contains("22.328"),
        "other's reply leaked: {session_out:?}"
    );
    // AT+CFUN=0 is refused, never reaches the modem.
    assert!(session_out.contains("ERROR"), "{session_out:?}");
    assert!(!s.sim.stats().commands.iter().any(|c| c.contains("CFUN=0")));
    // The other pty: echo off, only its reply, the URC too.
    assert!(!theirs.contains("AT+CGMR"), "echo off: {theirs:?}");
    assert!(
        !theirs.contains("E3372") && !theirs.contains("+CSQ:"),
        "{theirs:?}"
    );
    assert!(urc.contains("^SIMST: 255"));
    let (_, urcs) = poller.finish().await;
    assert!(
        urcs.iter().any(|u| u == "^SIMST: 255"),
        "daemon URCs: {urcs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_sent_with_the_prompt_by_comgt_script() {
    need("comgt");
    let s = setup(1).await;
    let poller = Poller::start(&s.ch);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("sms.gcom");
    // comgt's script language: send, waitfor; ^m is CR, ^Z Ctrl-Z.
    std::fs::write(
        &script,
        "opengt\n set com 115200n81\n set comecho off\n set senddelay 0\n waitquiet 1 0.2\n\
         send \"AT+CMGF=1^m\"\n waitfor 5 \"OK\"\n\
         send \"AT+CMGS=\\\"+491701234567\\\"^m\"\n waitfor 5 \"> \"\n if % = -1 goto noprompt\n\
         send \"Hello from the shared port^Z\"\n waitfor 10 \"+CMGS:\"\n if % = -1 goto nosend\n\
         print \"SENT\\n\"\n exit 0\n\
         :noprompt\n print \"NO PROMPT\\n\"\n exit 1\n\
         :nosend\n print \"NOT SENT\\n\"\n exit 1\n",
    )
    .expect("script");
    let port = s.links[0].to_string_lossy().to_string();
    let (ok, out) =
        run(Command::new("comgt").args(["-s", "-d", &port, &script.to_string_lossy()])).await;
    eprintln!("comgt sms: {out}");
    assert!(ok && out.contains("SENT"), "comgt SMS script: {out}");
    let (polls, _) = poller.finish().await;
    assert!(polls > 0);
    assert_eq!(s.sim.stats().sms_sent, ["Hello from the shared port"]);
    // ESC cancels: nothing sent, the port is usable right after.
    let mut raw = Raw::open(&s.links[0]);
    raw.send(b"ATE0\r");
    raw.until("OK\r\n");
    raw.send(b"AT+CMGS=\"+491701234567\"\r");
    raw.until("> ");
    raw.send(b"never sent\x1b");
    raw.until("OK\r\n");
    raw.send(b"AT+CSQ\r");
    assert!(raw.until("OK\r\n").contains("+CSQ:"));
    assert_eq!(s.sim.stats().sms_sent.len(), 1);
    s.ch.command("AT", T)
        .await
        .expect("daemon's channel still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picocom_session_reads_its_own_replies_while_the_daemon_polls() {
    need("picocom");
    let s = setup(1).await;
    let poller = Poller::start(&s.ch);
    let port = s.links[0].to_string_lossy().to_string();
    // picocom as a person uses it, typing into its stdin; it exits 2 s after the last byte.
    let mut child = Command::new("picocom")
        .args(["-q", "-b", "115200", "--exit-after", "2000", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("picocom starts");
    let mut stdin = child.stdin.take().expect("picocom stdin");
    let typed = tokio::task::spawn_blocking(move || {
        // Typed ahead, as a paste: the lines are queued and answered in order.
        stdin
            .write_all(b"AT+CGMM\rAT^NDISDUP=1,0\rAT+CGMR\r")
            .expect("type into picocom");
        drop(stdin);
        child.wait_with_output().expect("picocom output")
    })
    .await
    .expect("join");
    let out = String::from_utf8_lossy(&typed.stdout).into_owned();
    eprintln!("picocom: {out:?}");
    // Echo on (the pty's default: the paste comes back as typed), then its replies in
    // order, the hang-up refused.
    assert!(
        out.starts_with(
            "AT+CGMM\rAT^NDISDUP=1,0\rAT+CGMR\r\r\nE3372\r\n\r\nOK\r\n\r\nERROR\r\n\r\n22.328"
        ),
        "{out:?}"
    );
    assert!(
        !out.contains("+CSQ:") && !out.contains("huawei"),
        "the poller's replies leaked: {out:?}"
    );
    let (polls, _) = poller.finish().await;
    assert!(polls > 0);
    assert!(!s.sim.stats().commands.iter().any(|c| c.contains("NDISDUP")));
}
