//! The OpenWrt side: the netifd shim keeps the option schema and passes secrets only
//! through the environment; `ncmd netifd run` hands the link to netifd over ubus.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{require_root, Lab, SimSpec};

fn shim() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openwrt/ncmd/files/ncm.sh")
}

/// Sources the shim with netifd's helpers replaced by printing stubs.
fn shell(body: &str) -> String {
    let script = format!(
        "INCLUDE_ONLY=1; . '{}'\n\
         proto_config_add_string() {{ echo \"option ${{1%%:*}}\"; }}\n\
         proto_config_add_int() {{ echo \"option $1\"; }}\n\
         proto_config_add_boolean() {{ echo \"option $1\"; }}\n\
         proto_config_add_array() {{ echo \"option $1\"; }}\n\
         proto_config_add_defaults() {{ echo 'option defaultroute'; echo 'option peerdns'; echo 'option metric'; }}\n\
         proto_export() {{ echo \"export $1\"; }}\n\
         proto_run_command() {{ echo \"run $*\"; }}\n\
         proto_kill_command() {{ echo \"kill $*\"; }}\n\
         {body}\n",
        shim().display()
    );
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn shim_declares_every_option_of_the_existing_handler() {
    let out = shell("proto_ncm_init_config");
    for opt in [
        "device", "apn", "pincode", "username", "password", "auth", "mode", "pdptype", "profile", "ifname", "delay", "mtu", "sourcefilter",
        "delegate", "defaultroute", "peerdns", "metric", "probe_hosts", "probe_interval", "psonly", "linksettle",
    ] {
        assert!(out.lines().any(|l| l == format!("option {opt}")), "ncm.sh does not declare {opt}:\n{out}");
    }
}

#[test]
fn shim_passes_the_config_through_the_environment_only() {
    let out = shell("data='{\"device\":\"/dev/ttyUSB1\",\"pincode\":\"2468\"}'; proto_ncm_setup wwan; proto_ncm_teardown wwan");
    let run = out.lines().find(|l| l.starts_with("run ")).expect("proto_run_command");
    assert_eq!(run, "run wwan /usr/sbin/ncmd netifd run wwan");
    assert!(out.contains("export NCMD_CONFIG={\"device\":\"/dev/ttyUSB1\",\"pincode\":\"2468\"}"));
    assert!(out.contains("kill wwan 15"));
}

#[test]
fn netifd_mode_hands_the_link_to_netifd() {
    require_root();
    let lab = Lab::new(SimSpec::default());
    let ns = lab.netns.clone().unwrap();
    let log = lab.dir.join("ubus.log");
    let fake = lab.dir.join("ubus");
    std::fs::write(&fake, format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\n", log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = serde_json::json!({ "device": lab.tty, "apn": "internet", "ifname": "wwan0", "linksettle": 0, "probe_interval": 0, "metric": 7 });
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(common::ncmd())
        .args(["netifd", "run", "wwan", "--state-dir"])
        .arg(lab.dir.join("state"))
        .env("NCMD_CONFIG", config.to_string())
        .env("NCMD_UBUS", &fake)
        .env("NCMD_RUNTIME_DIR", &lab.dir)
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let (up, child4) = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let up = text.lines().find(|l| l.contains("\"link-up\":true"));
        let child4 = text.lines().find(|l| l.starts_with("call network add_dynamic "));
        if let (Some(up), Some(child4)) = (up, child4) {
            break (up.to_string(), child4.to_string());
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no link-up and wwan_4 sent to netifd; ubus calls: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // comgt-ncm's layout: the parent carries the device and the modem's facts...
    assert!(up.starts_with("call network.interface notify_proto "), "{up}");
    let msg: serde_json::Value = serde_json::from_str(up.trim_start_matches("call network.interface notify_proto ")).unwrap();
    assert_eq!(msg["interface"], "wwan");
    assert_eq!(msg["ifname"], "wwan0");
    assert_eq!(msg["data"]["manufacturer"], "huawei");
    assert!(msg.get("ipaddr").is_none(), "{msg}");
    // ...and the child wwan_4 the address, asking for the one the modem reported.
    let c: serde_json::Value = serde_json::from_str(child4.trim_start_matches("call network add_dynamic ")).unwrap();
    assert_eq!((c["name"].clone(), c["ifname"].clone(), c["proto"].clone()), (serde_json::json!("wwan_4"), serde_json::json!("@wwan"), serde_json::json!("dhcp")));
    assert_eq!(c["ipaddr"], lab.sim_info["ipv4"]);
    assert_eq!(c["metric"], 7);
    // netifd's teardown: SIGTERM; ncmd hangs up and tells netifd the link is down.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().last().unwrap().contains("\"link-up\":false"), "{text}");
    assert_eq!(lab.sim("stats")["connected"], false);
}
