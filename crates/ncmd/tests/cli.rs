//! The binary against the simulator over a real pty: `info`, `at`, errors.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{ncmd, Lab, SimSpec};

fn info(lab: &Lab) -> serde_json::Value {
    let out = Command::new(ncmd()).args(["info", "--json", "--device"]).arg(&lab.tty).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn info_reads_both_personalities() {
    for vendor in ["huawei", "generic"] {
        let lab = Lab::new(SimSpec { vendor, netns: false, ..Default::default() });
        let v = info(&lab);
        assert_eq!(v["sim"]["state"], "ready", "{vendor}: {v}");
        assert!(matches!(v["registration"]["state"].as_str(), Some("home" | "roaming")), "{vendor}: {v}");
        assert!(v["operator"]["name"].is_string(), "{vendor}: {v}");
        // Huawei's ^HCSQ gives RSSI; the generic modem's +CESQ gives RSRP/RSRQ (no RSSI on LTE).
        assert!(v["signal"]["rssi_dbm"].is_number() || v["signal"]["rsrp_dbm"].is_number(), "{vendor}: {v}");
        assert_eq!(v["signal"]["technology"], "lte", "{vendor}: {v}");
        assert!(v["connection"]["state"].is_string() || v["connection"]["state"].is_null());
        for key in ["device", "modem", "sim", "registration", "operator", "signal", "mode", "pdp", "connection"] {
            assert!(v.get(key).is_some(), "{vendor}: missing {key}");
        }
    }
    let huawei = info(&Lab::new(SimSpec { netns: false, ..Default::default() }));
    assert_eq!(huawei["mode"]["current"], "auto");
    assert!(huawei["signal"]["rsrp_dbm"].is_number());
}

/// 5G through the whole `info` path: the simulator's 5G personalities answer as a Quectel
/// RG801H (standalone) and an RM5xx on EN-DC do (formats checked in ncmd-sim's tests).
#[test]
fn info_shows_5g_standalone_and_non_standalone() {
    let sa = info(&Lab::new(SimSpec { vendor: "quectel-rm500q", netns: false, ..Default::default() }));
    assert_eq!(sa["registration"]["state"], "home", "{sa}");
    assert_eq!(sa["registration"]["technology"], "nr5g", "{sa}");
    assert_eq!(sa["signal"]["technology"], "nr5g", "{sa}");
    assert_eq!(sa["signal"]["nr"]["rsrp_dbm"], -54.0, "{sa}");
    assert_eq!(sa["signal"]["nr"]["sinr_db"], 16.0, "{sa}");
    assert!(sa["signal"]["lte"].is_null(), "{sa}");
    assert_eq!(sa["signal"]["rsrp_dbm"], -54.0, "top level is the serving leg: {sa}");
    assert_eq!(sa["operator"]["mcc_mnc"], "00101", "{sa}");
    let nsa = info(&Lab::new(SimSpec { vendor: "quectel-rm500q-nsa", netns: false, ..Default::default() }));
    // +CEREG says lte (AcT 7); the +QENG report shows the NR leg: non-standalone.
    assert_eq!(nsa["registration"]["technology"], "lte+nr5g", "EN-DC: LTE anchor plus NR leg: {nsa}");
    assert_eq!(nsa["signal"]["technology"], "lte+nr5g", "{nsa}");
    assert_eq!(nsa["signal"]["lte"]["rsrp_dbm"], -91.0, "{nsa}");
    assert_eq!(nsa["signal"]["rsrp_dbm"], -91.0, "top level is the LTE anchor: {nsa}");
    assert_eq!(nsa["signal"]["nr"]["rsrp_dbm"], -71.0, "{nsa}");
    assert_eq!(nsa["signal"]["nr"]["rsrq_db"], -11.0, "{nsa}");
}

#[test]
fn overlay_reply_decodes_as_the_real_modem_said() {
    let dir = std::env::temp_dir().join(format!("ncmd-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let overlay = dir.join("e3372.txt");
    // ^HCSQ reply in the documented LTE form (Huawei HiLink/E3372 AT reference,
    // ^HCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq>).
    // +CEREG: a real reply with odd blanks, from ModemManager's test suite
    // (src/tests/test-modem-helpers.c, the CEREG cases).
    std::fs::write(
        &overlay,
        "> AT^HCSQ?\n< ^HCSQ: \"LTE\",52,48,151,30\n< OK\n> AT+COPS?\n< +COPS: 0,0,\"Test Operator\",7\n< OK\n\
         > AT+CEREG?\n< +CEREG: 2,1, 1F00, 79D903 ,7\n< OK\n",
    )
    .unwrap();
    let lab = Lab::new(SimSpec { netns: false, extra: vec!["--overlay".into(), overlay.display().to_string()], ..Default::default() });
    let v = info(&lab);
    assert_eq!(v["signal"]["rssi_dbm"], -68.0);
    assert_eq!(v["signal"]["rsrp_dbm"], -92.0);
    assert_eq!(v["signal"]["sinr_db"], 10.2);
    assert_eq!(v["signal"]["rsrq_db"], -4.5);
    assert_eq!(v["operator"]["name"], "Test Operator");
    assert_eq!(v["registration"]["state"], "home");
    assert_eq!(v["registration"]["lac"], "1F00");
    assert_eq!(v["registration"]["cell_id"], "79D903");
    assert_eq!(v["registration"]["technology"], "lte");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn at_prints_replies_and_fails_on_error() {
    let lab = Lab::new(SimSpec { netns: false, ..Default::default() });
    let out = Command::new(ncmd()).args(["at", "--device"]).arg(&lab.tty).args(["AT+CGMI", "AT+CSQ"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("huawei") && text.contains("+CSQ:"), "{text}");
    let out = Command::new(ncmd()).args(["at", "--device"]).arg(&lab.tty).arg("AT+NOSUCH").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AT+NOSUCH"));
}

#[test]
fn a_modem_that_never_answers_times_out() {
    let lab = Lab::new(SimSpec { netns: false, ..Default::default() });
    lab.sim("fault hang");
    let t0 = Instant::now();
    let out = Command::new(ncmd()).args(["at", "--timeout", "1", "--device"]).arg(&lab.tty).arg("AT").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(t0.elapsed() < Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not answer") || err.contains("within"), "{err}");
}

#[test]
fn unplug_mid_command_is_a_clear_error_within_the_timeout() {
    let lab = Lab::new(SimSpec { netns: false, ..Default::default() });
    lab.sim("fault slow");
    let child = Command::new(ncmd()).args(["at", "--timeout", "8", "--device"]).arg(&lab.tty).arg("AT+CGMI").stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Unplug only once the command is in flight: the modem has received it.
    let t0 = Instant::now();
    while !lab.sim("stats")["commands"].to_string().contains("AT+CGMI") {
        assert!(t0.elapsed() < Duration::from_secs(5), "the command never reached the modem");
        std::thread::sleep(Duration::from_millis(10));
    }
    let t0 = Instant::now();
    lab.sim("fault unplug");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(t0.elapsed() < Duration::from_secs(8));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("port is gone"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(ncmd()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn usb_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../usb/tests/fixtures").join(name)
}

#[test]
fn doctor_reads_a_usb_devices_dump() {
    let out = Command::new(ncmd())
        .args(["doctor", "--json", "--config", "/nonexistent", "--dhcp-config", "/nonexistent", "--usb-devices"])
        .arg(usb_fixture("huawei_e398-ncm-unbound_12d1_1506.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("kmod-usb-net-huawei-cdc-ncm"), "the missing NCM driver package is named: {text}");
    let human = Command::new(ncmd())
        .args(["doctor", "--config", "/nonexistent", "--dhcp-config", "/nonexistent", "--usb-devices"])
        .arg(usb_fixture("huawei_e3372h-stick-ncm_12d1_1506.txt"))
        .output()
        .unwrap();
    assert!(human.status.success());
    assert!(String::from_utf8_lossy(&human.stdout).contains("option device"), "a ready UCI snippet");
}

#[test]
fn doctor_refuses_garbage_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("ncmd-doctor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk");
    std::fs::write(&junk, [0x7fu8, b'E', b'L', b'F', 0, 1, 2, 0xff, b'\n', b'x', b'y']).unwrap();
    let out = Command::new(ncmd()).args(["doctor", "--usb-devices"]).arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a /sys/kernel/debug/usb/devices dump"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
