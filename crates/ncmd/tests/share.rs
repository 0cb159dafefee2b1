//! `option share_port`: while `ncmd up` holds the link up and polls the modem, real
//! programs not written here use the shared ptys as the modem's tty: Debian's comgt
//! (`sig`, `info`, and an SMS sent through the `> ` prompt by a comgt script) and a socat
//! session. The link stays up (no reconnect, data path pings), each side reads only its
//! own replies, every side reads the URCs, link-breaking commands never reach the modem.
//!
//! Needs root (network namespaces), comgt and socat (.ci/install-deps.sh); fails loudly.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_root, Lab, SimSpec};

fn need(program: &str) {
    let found = Command::new("sh").args(["-c", &format!("command -v {program}")]).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(found, "{program} is not installed; run .ci/install-deps.sh (as root) first");
}

/// Runs a program with a bound; returns success and stdout+stderr.
fn run(cmd: &mut Command) -> (bool, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("program starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Reads a pty link until `want` appears (or panics after `limit`).
fn read_until(file: &mut std::fs::File, seen: &mut String, want: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 512];
    loop {
        if let Some(i) = seen.find(want) {
            return seen.drain(..i + want.len()).collect();
        }
        assert!(Instant::now() < deadline, "no {want:?} on the shared pty within {limit:?}; got {seen:?}");
        let mut pfd = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&*file), nix::poll::PollFlags::POLLIN)];
        if nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16)).expect("poll") > 0 {
            let n = file.read(&mut buf).expect("read shared pty");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

fn sms_script(dir: &Path) -> std::path::PathBuf {
    let script = dir.join("sms.gcom");
    // comgt's script language: ^m is CR, ^Z is Ctrl-Z; `waitfor` sets % to -1 on timeout.
    std::fs::write(
        &script,
        "opengt\n set com 115200n81\n set comecho off\n set senddelay 0\n waitquiet 1 0.2\n\
         send \"AT+CMGF=1^m\"\n waitfor 5 \"OK\"\n\
         send \"AT+CMGS=\\\"+491701234567\\\"^m\"\n waitfor 5 \"> \"\n if % = -1 goto noprompt\n\
         send \"Hello through ttyNCM0^Z\"\n waitfor 10 \"+CMGS:\"\n if % = -1 goto nosend\n\
         print \"SENT\\n\"\n exit 0\n\
         :noprompt\n print \"NO PROMPT\\n\"\n exit 1\n\
         :nosend\n print \"NOT SENT\\n\"\n exit 1\n",
    )
    .expect("script");
    script
}

#[test]
fn real_programs_share_the_modem_while_the_link_stays_up() {
    require_root();
    need("comgt");
    need("socat");
    let mut lab = Lab::new(SimSpec::default());
    let share0 = lab.dir.join("ttyNCM0");
    let share1 = lab.dir.join("ttyNCM1");
    let config = lab.config(&format!("\toption share_port '{}'\n\toption share_ports '2'\n\toption watch_interval '1'\n", share0.display()));
    let log = lab.dir.join("ncmd.log");
    lab.up(&config, Some(&log));
    lab.wait_state("up", Duration::from_secs(30));
    assert!(lab.ping(&lab.ping_target()), "data path before sharing");
    let dials_before = lab.sim("stats")["dials"].as_u64().expect("dials");

    // A long-lived client on the second pty: echo off, a command, then it waits for URCs.
    let mut other = std::fs::OpenOptions::new().read(true).write(true).open(&share1).expect("open ttyNCM1");
    let mut other_seen = String::new();
    other.write_all(b"ATE0\r").unwrap();
    read_until(&mut other, &mut other_seen, "OK\r\n", Duration::from_secs(5));

    let port = share0.display().to_string();
    let (ok, sig) = run(Command::new("comgt").args(["-d", &port, "sig"]));
    assert!(ok && sig.contains("Signal Quality:"), "comgt sig: {sig}");
    let (ok, info) = run(Command::new("comgt").args(["-d", &port, "info"]));
    assert!(ok && info.contains("E3372"), "comgt info: {info}");
    let (ok, sms) = run(Command::new("comgt").args(["-s", "-d", &port]).arg(sms_script(&lab.dir)));
    assert!(ok && sms.contains("SENT"), "comgt SMS script: {sms}");

    // A socat session on the first pty: a read, and a hang-up that must be refused.
    let mut session = Command::new("socat")
        .args(["-t", "2", "-", &format!("FILE:{port},raw,echo=0")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("socat starts");
    let mut stdin = session.stdin.take().unwrap();
    stdin.write_all(b"AT+CGMR\r").unwrap();
    other.write_all(b"AT+CGMM\r").unwrap();
    let theirs = read_until(&mut other, &mut other_seen, "OK\r\n", Duration::from_secs(5));
    stdin.write_all(b"AT^NDISDUP=1,0\r").unwrap();
    // The simulated Huawei reports ^RSSI/^HCSQ every 10 s: both ptys must see one.
    let urc = read_until(&mut other, &mut other_seen, "^RSSI:", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    drop(stdin);
    let mut session_out = String::new();
    session.stdout.take().unwrap().read_to_string(&mut session_out).unwrap();
    let _ = session.wait();

    assert!(session_out.contains("22.328"), "socat: its own reply: {session_out:?}");
    assert!(session_out.contains("^RSSI:"), "socat: the URC: {session_out:?}");
    assert!(session_out.contains("ERROR"), "socat: hang-up refused: {session_out:?}");
    assert!(!session_out.contains("E3372"), "socat: another pty's reply leaked: {session_out:?}");
    assert!(theirs.contains("E3372") && !theirs.contains("22.328"), "ttyNCM1: {theirs:?}");
    assert!(!theirs.contains("AT+CGMM"), "ttyNCM1 has echo off: {theirs:?}");
    assert!(urc.contains("^RSSI:"));
    // Nobody saw the daemon's own polls.
    for text in [&sig, &info, &session_out, &theirs] {
        assert!(!text.contains("^NDISSTATQRY:"), "a daemon reply leaked: {text}");
    }

    let stats = lab.sim("stats");
    assert_eq!(stats["sms_sent"], serde_json::json!(["Hello through ttyNCM0"]), "{stats}");
    assert!(!stats["commands"].as_array().unwrap().iter().any(|c| c == "AT^NDISDUP=1,0"), "the hang-up reached the modem");
    assert_eq!(stats["dials"].as_u64(), Some(dials_before), "no redial");
    let status = lab.status().expect("status");
    assert_eq!(status["state"], "up", "{status}");
    let reconnects = &status["counters"]["reconnects_by_cause"];
    assert!(reconnects.as_object().is_none_or(|m| m.values().all(|v| v == 0)), "no reconnect: {status}");
    assert!(lab.ping(&lab.ping_target()), "data path after sharing");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("<- ^RSSI:"), "the daemon saw the URC too");
    assert!(log.contains("refused AT^NDISDUP (write)"), "the refusal is logged");
}

#[test]
fn doctor_points_a_tool_on_the_modem_s_port_at_the_shared_port() {
    let dir = std::env::temp_dir().join(format!("ncmd-doctor-share-{}", std::process::id()));
    let etc = dir.join("config");
    std::fs::create_dir_all(&etc).unwrap();
    let network = dir.join("network");
    std::fs::write(&network, "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n").unwrap();
    // luci-app-sms-tool's /etc/config/sms_tool, pointed at the modem's own AT port.
    std::fs::write(etc.join("sms_tool"), "config sms_tool\n\toption readport '/dev/ttyUSB1'\n\toption sendport '/dev/ttyUSB1'\n").unwrap();
    let dump = Path::new(env!("CARGO_MANIFEST_DIR")).join("../usb/tests/fixtures/huawei_e3372h-stick-ncm_12d1_1506.txt");
    let out = Command::new(common::ncmd())
        .args(["doctor", "--json", "--usb-devices"])
        .arg(&dump)
        .arg("--config")
        .arg(&network)
        .arg("--etc-config")
        .arg(&etc)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<&serde_json::Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["subject"] == "sms_tool").collect();
    assert_eq!(found.len(), 2, "readport and sendport: {report}");
    assert!(found[0]["fix"][0].as_str().unwrap().contains("share_port='/dev/ttyNCM0'"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A person typing an SMS in picocom holds the modem at its `> ` prompt for longer than
/// the daemon's status refresh may take (10 s): that is a modem waiting for text, not a
/// hung one, and the link must stay up.
#[test]
fn a_slow_prompt_on_the_shared_port_is_not_a_hung_modem() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let share0 = lab.dir.join("ttyNCM0");
    let config = lab.config(&format!("\toption share_port '{}'\n\toption watch_interval '1'\n", share0.display()));
    lab.up(&config, None);
    lab.wait_state("up", Duration::from_secs(30));
    let mut tty = std::fs::OpenOptions::new().read(true).write(true).open(&share0).expect("open ttyNCM0");
    let mut seen = String::new();
    tty.write_all(b"ATE0\r").unwrap();
    read_until(&mut tty, &mut seen, "OK\r\n", Duration::from_secs(5));
    tty.write_all(b"AT+CMGF=1\r").unwrap();
    read_until(&mut tty, &mut seen, "OK\r\n", Duration::from_secs(5));
    tty.write_all(b"AT+CMGS=\"+491701234567\"\r").unwrap();
    read_until(&mut tty, &mut seen, "> ", Duration::from_secs(5));
    // The person types for 12 s (the daemon polls every 50 ms meanwhile, queued).
    std::thread::sleep(Duration::from_secs(12));
    tty.write_all(b"typed slowly\x1a").unwrap();
    let reply = read_until(&mut tty, &mut seen, "OK\r\n", Duration::from_secs(10));
    assert!(reply.contains("+CMGS:"), "{reply:?}");
    let status = lab.wait_state("up", Duration::from_secs(5));
    let reconnects = &status["counters"]["reconnects_by_cause"];
    assert!(reconnects.as_object().is_none_or(|m| m.values().all(|v| v == 0)), "the prompt was taken for a hung modem: {status}");
    assert_eq!(lab.sim("stats")["sms_sent"], serde_json::json!(["typed slowly"]));
}
