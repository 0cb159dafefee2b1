//! The simulator over its real pseudo-terminal, driven by a tiny test client
//! (written here on purpose, not `ncmd-at`, so the two sides share no parser).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ncmd_sim::{Fault, FaultAt, SimOptions, Simulator};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::{timeout, Instant};

mod common;

use common::{Client, WAIT};

fn opts(vendor: &str) -> SimOptions {
    SimOptions {
        vendor: vendor.into(),
        latency_scale: 0.0,
        ..SimOptions::default()
    }
}

/// Opens the port and turns echo off, skipping boot URCs.
async fn quiet_client(sim: &Simulator) -> Client {
    let mut c = Client::open(&sim.tty_path());
    let reply = c.command("ATE0").await;
    assert_eq!(reply.last().map(String::as_str), Some("OK"), "{reply:?}");
    c
}

#[tokio::test]
async fn echo_until_ate0() {
    let sim = Simulator::start(opts("huawei")).await.expect("start");
    assert_eq!(sim.ready_line(), sim.tty_path().display().to_string());
    assert!(
        sim.tty_path().starts_with("/dev/pts"),
        "{}",
        sim.tty_path().display()
    );
    let mut c = Client::open(&sim.tty_path());
    assert_eq!(c.wait_for(|l| l == "^SYSSTART").await, "^SYSSTART");
    assert_eq!(c.command("AT").await, ["AT", "OK"]);
    assert_eq!(c.command("at+cgmi").await, ["at+cgmi", "huawei", "OK"]);
    assert_eq!(c.command("ATE0").await, ["ATE0", "OK"]);
    assert_eq!(c.command("AT+CGMM").await, ["E3372", "OK"]);
    assert_eq!(c.command("AT+NOPE").await, ["COMMAND NOT SUPPORT"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_pins_decrement_and_lock_to_puk() {
    let o = SimOptions {
        faults: vec![FaultAt {
            fault: Fault::PinRequired,
            after: Duration::ZERO,
        }],
        pin: Some("4711".into()),
        ..opts("huawei")
    };
    let sim = Simulator::start(o).await.expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("AT+CPIN?").await, ["+CPIN: SIM PIN", "OK"]);
    for want in [
        "^CPIN: SIM PIN,2,10,2,10,3",
        "^CPIN: SIM PIN,1,10,1,10,3",
        "^CPIN: SIM PUK,10,10,0,10,3",
    ] {
        assert_eq!(c.command("AT+CPIN=\"1234\"").await, ["+CME ERROR: 16"]);
        assert_eq!(c.command("AT^CPIN?").await, [want, "OK"]);
    }
    assert_eq!(c.command("AT+CPIN?").await, ["+CPIN: SIM PUK", "OK"]);
    let stats = sim.stats();
    assert_eq!(stats.pin_attempts, 3);
    assert!(
        stats.commands.iter().all(|l| !l.contains("1234")),
        "{:?}",
        stats.commands
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn client_may_close_and_reopen_the_port() {
    let sim = Simulator::start(opts("generic")).await.expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("AT").await, ["OK"]);
    drop(c);
    let mut c = Client::open(&sim.tty_path());
    assert_eq!(
        c.command("AT+CGMI").await,
        ["Generic", "OK"],
        "echo setting kept while powered"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unplug_until_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("ttyMODEM");
    let sim = Simulator::start(SimOptions {
        tty_link: Some(link.clone()),
        ..opts("quectel")
    })
    .await
    .expect("start");
    let mut c = quiet_client(&sim).await;
    sim.inject(Fault::Unplug);
    wait_until("the link to vanish", || {
        std::fs::symlink_metadata(&link).is_err()
    })
    .await;
    assert!(!sim.summary().present);
    assert!(
        matches!(timeout(WAIT, c.fill()).await, Ok(Ok(0) | Err(_))),
        "port still readable"
    );
    sim.inject(Fault::Replug);
    wait_until("the link to come back", || link.exists()).await;
    let mut c = Client::open(&link);
    assert_eq!(c.line().await, "RDY", "boot URCs first");
    assert_eq!(
        c.wait_for(|l| l == "+QIND: SMS DONE").await,
        "+QIND: SMS DONE"
    );
    assert_eq!(c.command("AT+CGMM").await, ["AT+CGMM", "EC25", "OK"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_injects_bytes_between_replies() {
    let sim = Simulator::start(SimOptions {
        faults: vec!["garbage".parse().expect("fault")],
        ..opts("generic")
    })
    .await
    .expect("start");
    let mut c = Client::open(&sim.tty_path());
    // The tick runs every second; within a few seconds some non-text bytes arrive.
    let seen = timeout(Duration::from_secs(8), async {
        loop {
            c.fill().await.expect("read");
            if c.buf.iter().any(|&b| b == 0 || b >= 0x80) {
                return;
            }
        }
    })
    .await;
    assert!(seen.is_ok(), "no garbage seen");
    sim.shutdown().await;
}

#[tokio::test]
async fn correct_pin_emits_ready_urcs() {
    let o = SimOptions {
        faults: vec!["pin-required".parse().expect("fault")],
        ..opts("huawei")
    };
    let sim = Simulator::start(o).await.expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("AT+CPIN=1234").await, ["OK"]);
    assert_eq!(c.wait_for(|l| l.starts_with("+CPIN")).await, "+CPIN: READY");
    assert_eq!(c.line().await, "^SIMST: 1");
    assert_eq!(c.command("AT+CPIN?").await, ["+CPIN: READY", "OK"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn syscfgex_reads_and_counts_writes() {
    let sim = Simulator::start(opts("huawei")).await.expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(
        c.command("AT^SYSCFGEX?").await,
        ["^SYSCFGEX: \"00\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF", "OK"]
    );
    assert_eq!(sim.stats().mode_writes, 0);
    assert_eq!(
        c.command("AT^SYSCFGEX=\"03\",3fffffff,2,4,7fffffffffffffff,,")
            .await,
        ["OK"]
    );
    assert_eq!(
        c.command("AT^SYSCFGEX?").await[0],
        "^SYSCFGEX: \"03\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF"
    );
    assert_eq!(sim.stats().mode_writes, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn dial_sends_ndisstat_urc() {
    let sim = Simulator::start(opts("huawei")).await.expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("AT^NDISDUP=1,1,\"internet\"").await, ["OK"]);
    assert_eq!(
        c.wait_for(|l| l.starts_with("^NDISSTAT")).await,
        "^NDISSTAT: 1,,,\"IPV4\""
    );
    assert_eq!(
        c.command("AT^NDISSTATQRY?").await[0],
        "^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\""
    );
    sim.inject(Fault::DropUrc);
    assert_eq!(
        c.wait_for(|l| l.starts_with("^NDISSTAT")).await,
        "^NDISSTAT: 0,33,,\"IPV4\""
    );
    let stats = sim.stats();
    assert_eq!((stats.dials, stats.connected), (1, false));
    sim.shutdown().await;
}

#[tokio::test]
async fn overlay_replays_a_transcript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e3372.overlay");
    std::fs::write(
        &path,
        "# replayed\n> AT+CGMR\n< 21.180.01.00.00\n< OK\n> AT^DHCP?\n< ERROR\n",
    )
    .expect("write overlay");
    let sim = Simulator::start(SimOptions {
        overlay: Some(path),
        ..opts("huawei")
    })
    .await
    .expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("at+cgmr").await, ["21.180.01.00.00", "OK"]);
    assert_eq!(c.command("AT^DHCP?").await, ["ERROR"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_overlay_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.overlay");
    std::fs::write(&path, "> AT\n< OK\noops\n").expect("write overlay");
    let err = Simulator::start(SimOptions {
        overlay: Some(path),
        ..opts("huawei")
    })
    .await
    .err()
    .expect("error");
    assert!(err.to_string().contains("line 3"), "{err}");
}

/// Waits until `cond` holds, checking every few milliseconds.
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn reset_makes_the_port_vanish_and_come_back_at_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link: PathBuf = dir.path().join("ttyMODEM");
    let o = SimOptions {
        tty_link: Some(link.clone()),
        latency_scale: 0.05,
        ..opts("huawei")
    };
    let sim = Simulator::start(o).await.expect("start");
    assert_eq!(sim.tty_path(), link);
    let mut c = quiet_client(&sim).await;
    sim.inject(Fault::Reset);
    let gone = timeout(WAIT, async {
        loop {
            match c.fill().await {
                Ok(0) | Err(_) => return,
                Ok(_) => c.buf.clear(),
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "client read did not see the port vanish");
    wait_until("the link to come back", || link.exists()).await;
    let mut c = Client::open(&link);
    assert_eq!(c.wait_for(|l| l == "^SYSSTART").await, "^SYSSTART");
    assert_eq!(
        c.command("AT").await,
        ["AT", "OK"],
        "fresh state: echo on again"
    );
    sim.shutdown().await;
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link removed on exit"
    );
}

/// A control-socket client: one line out, one JSON line back.
struct Control {
    lines: tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    w: tokio::net::unix::OwnedWriteHalf,
}

impl Control {
    async fn connect(path: &Path) -> Control {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .expect("connect control socket");
        let (r, w) = stream.into_split();
        Control {
            lines: BufReader::new(r).lines(),
            w,
        }
    }

    async fn ask(&mut self, cmd: &str) -> serde_json::Value {
        self.w
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .expect("send");
        let line = timeout(WAIT, self.lines.next_line())
            .await
            .expect("answer in time")
            .expect("read");
        serde_json::from_str(&line.expect("a line")).expect("json")
    }
}

#[tokio::test]
async fn control_socket_stats_and_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let control = dir.path().join("sim.sock");
    let sim = Simulator::start(SimOptions {
        control: Some(control.clone()),
        ..opts("generic")
    })
    .await
    .expect("start");
    let mut c = quiet_client(&sim).await;
    assert_eq!(c.command("AT+CGDCONT=1,\"IP\",\"internet\"").await, ["OK"]);
    assert_eq!(c.command("AT+CGACT=1,1").await, ["OK"]);

    let mut ctl = Control::connect(&control).await;
    let stats = ctl.ask("stats").await;
    assert_eq!(stats["pdp_writes"], 1);
    assert_eq!(stats["dials"], 1);
    assert_eq!(stats["connected"], true);
    assert_eq!(stats["mode_writes"], 0);
    assert_eq!(stats["pin_attempts"], 0);
    assert!(stats["commands"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c == "AT+CGACT=1,1")));

    let ack = ctl.ask("fault drop-urc").await;
    assert_eq!(ack["ok"], true);
    assert_eq!(
        c.wait_for(|l| l.starts_with("+CGEV")).await,
        "+CGEV: NW DEACT \"IP\",\"192.0.2.10\",1"
    );

    let state = ctl.ask("state").await;
    assert_eq!(state["connection"]["state"], "disconnected");

    let err = ctl.ask("fault melt").await;
    assert!(err["error"]
        .as_str()
        .is_some_and(|e| e.contains("unknown fault")));
    sim.shutdown().await;
    assert!(!control.exists(), "control socket removed on exit");
}

#[tokio::test]
async fn hang_stops_answers_until_unhang() {
    let sim = Simulator::start(opts("huawei")).await.expect("start");
    let mut c = quiet_client(&sim).await;
    sim.inject(Fault::Hang);
    wait_until("the hang", || sim.summary().faults.contains(&"hang")).await;
    c.send("AT").await;
    assert!(
        timeout(Duration::from_millis(200), c.fill()).await.is_err(),
        "a hung modem answered"
    );
    sim.inject(Fault::Unhang);
    assert_eq!(c.command("AT").await, ["OK"]);
    sim.shutdown().await;
}

/// Latency is the point here: default figures scaled by 0.1 (dial 2.5 s -> 250 ms,
/// registration 3 s -> 300 ms). Only lower bounds are checked, so a slow machine
/// cannot make it fail. (Paused time cannot be used: the pty is real I/O.)
#[tokio::test]
async fn scaled_latencies_delay_registration_and_dial() {
    let sim = Simulator::start(SimOptions {
        latency_scale: 0.1,
        ..SimOptions::default()
    })
    .await
    .expect("start");
    let start = Instant::now();
    let mut c = quiet_client(&sim).await;
    loop {
        let r = c.command("AT+CEREG?").await;
        if r[0] == "+CEREG: 0,1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "registered after {:?}",
        start.elapsed()
    );
    assert_eq!(c.command("AT^NDISDUP=1,1").await, ["OK"]);
    let sent = Instant::now();
    c.wait_for(|l| l.starts_with("^NDISSTAT: 1")).await;
    assert!(
        sent.elapsed() >= Duration::from_millis(240),
        "connected after {:?}",
        sent.elapsed()
    );
    sim.shutdown().await;
}
