//! `ubus call ncmd status|info|reconnect` against the real ubusd and ubus CLI built from
//! OpenWrt's sources by the netifd harness (`shared/netifd-harness/build.sh` from the
//! repository root, or NCMD_UBUS_ROOT), while `ncmd up` keeps a simulated link up.
//! Needs root (network namespaces); fails loudly without ubusd.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_root, Lab, SimSpec};
use serde_json::Value;

fn prefix() -> PathBuf {
    let root = std::env::var_os("NCMD_UBUS_ROOT").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/netifd-harness/root"));
    assert!(
        root.join("sbin/ubusd").exists() && root.join("bin/ubus").exists(),
        "no ubusd/ubus under {}: build them with shared/netifd-harness/build.sh from the repository root, or set NCMD_UBUS_ROOT",
        root.display()
    );
    root
}

fn ubus(root: &Path, socket: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(root.join("bin/ubus")).arg("-s").arg(socket).args(args).env("LD_LIBRARY_PATH", root.join("lib")).output().expect("run ubus");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn ubus_call_ncmd_status_against_the_real_ubusd() {
    require_root();
    let root = prefix();
    let mut lab = Lab::new(SimSpec::default());
    let socket = lab.dir.join("ubus.sock");
    let _ubusd = Reaped(Command::new(root.join("sbin/ubusd")).arg("-s").arg(&socket).env("LD_LIBRARY_PATH", root.join("lib")).stderr(Stdio::null()).spawn().expect("start ubusd"));
    let t0 = Instant::now();
    while !socket.exists() {
        assert!(t0.elapsed() < Duration::from_secs(5), "ubusd made no socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    let share = lab.dir.join("ttyNCM0");
    let config = lab.config(&format!("\toption share_port '{}'\n\nconfig ncmd 'main'\n\toption ubus_socket '{}'\n", share.display(), socket.display()));
    lab.up(&config, None);
    lab.wait_state("up", Duration::from_secs(30));

    // The object appears once the daemon published it.
    let t0 = Instant::now();
    let status = loop {
        let (code, out) = ubus(&root, &socket, &["call", "ncmd", "status"]);
        if code == 0 {
            break serde_json::from_str::<Value>(&out).expect("ubus prints JSON");
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "ubus call ncmd status kept failing ({code})");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status["wwan"]["state"], "up", "{status}");
    assert_eq!(status["wwan"]["modem"]["manufacturer"], "huawei", "{status}");
    assert!(status["wwan"]["connection"]["ipv4"]["address"].is_string(), "{status}");
    let (code, one) = ubus(&root, &socket, &["call", "ncmd", "status", "{\"interface\":\"wwan\"}"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&one).unwrap()["wwan"]["state"], "up");
    let (code, _) = ubus(&root, &socket, &["call", "ncmd", "status", "{\"interface\":\"lan\"}"]);
    assert_eq!(code, 256 - 4, "an unknown interface is NOT_FOUND");

    let (code, info) = ubus(&root, &socket, &["call", "ncmd", "info"]);
    assert_eq!(code, 0);
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["interfaces"], serde_json::json!(["wwan"]));
    assert_eq!(info["share_ports"]["wwan"], serde_json::json!([share.display().to_string()]));

    assert!(lab.status().unwrap()["counters"]["reconnects_by_cause"]["user"].is_null(), "no user reconnect yet");
    let (code, _) = ubus(&root, &socket, &["call", "ncmd", "reconnect", "{\"interface\":\"wwan\"}"]);
    assert_eq!(code, 0);
    lab.wait_status("up again after ubus call ncmd reconnect", Duration::from_secs(30), |s| s["state"] == "up" && s["counters"]["reconnects_by_cause"]["user"] == 1);
    let (code, _) = ubus(&root, &socket, &["call", "ncmd", "reconnect", "{}"]);
    assert_eq!(code, 256 - 2, "reconnect without an interface is INVALID_ARGUMENT");
}

/// A child killed and reaped when the test ends, passed or not.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
