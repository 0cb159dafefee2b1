//! The IP check through the binary (issue 12 item 1): the simulator answers `AT^DHCP?`
//! with a hostile configuration (an overlay), and `ncmd up` refuses it with
//! IPCONFIG_REFUSED in status, applies nothing to wwan0, writes no DNS file, and backs
//! off between attempts. Network namespaces the lab makes; needs root.

mod common;

use std::time::Duration;

use common::{require_root, Lab, SimSpec};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A lab whose modem answers `AT^DHCP?` with `dhcp_line`.
fn lab_answering(dhcp_line: &str) -> Lab {
    require_root();
    let overlay = std::env::temp_dir().join(format!("ncmd-ipcheck-overlay-{}-{}", std::process::id(), dhcp_line.len()));
    std::fs::write(&overlay, format!("> AT^DHCP?\n< {dhcp_line}\n< OK\n")).unwrap();
    let lab = Lab::new(SimSpec { extra: vec!["--overlay".into(), overlay.display().to_string()], ..Default::default() });
    let _ = std::fs::remove_file(&overlay);
    lab
}

fn refusals(s: &Value) -> Vec<String> {
    s["events"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["message"].as_str()).filter(|m| m.contains("IPCONFIG_REFUSED")).map(String::from).collect())
        .unwrap_or_default()
}

/// The backoff waits the session announced, in order ("retrying in X s").
fn backoffs(s: &Value) -> Vec<f64> {
    s["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["message"].as_str()?.strip_prefix("retrying in ")?.strip_suffix(" s")?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Nothing of a refused configuration on wwan0, in the routing table or the DNS file.
fn assert_nothing_applied(lab: &Lab, dns_file: &std::path::Path) {
    let addrs = lab.ip(&["-4", "addr", "show", "dev", "wwan0"]);
    assert!(!addrs.contains("inet "), "wwan0 got an address: {addrs}");
    let routes = lab.ip(&["-4", "route", "show", "dev", "wwan0"]);
    assert!(routes.trim().is_empty(), "routes on wwan0: {routes}");
    let all = lab.ip(&["-4", "route", "show", "table", "all"]);
    assert!(!all.contains("127.0.0.1") && !all.contains("dev wwan0"), "routing tables: {all}");
    assert!(!dns_file.exists(), "the DNS file was written");
    // Not even set up: the check comes before anything touches the link.
    let link = lab.ip(&["link", "show", "dev", "wwan0"]);
    let flags = link.split(['<', '>']).nth(1).unwrap_or_default();
    assert!(!flags.split(',').any(|f| f == "UP"), "wwan0 was set up: {link}");
}

#[test]
fn the_attack_dhcp_reply_is_refused_with_nothing_applied() {
    // Issue 12: `^DHCP: 0500007F,000000FF,0100007F,...` (little-endian hex) is
    // 127.0.0.5/8 via 127.0.0.1 with DNS 127.0.0.1; it used to come up as `up`.
    let mut lab = lab_answering("^DHCP: 0500007F,000000FF,0100007F,0100007F,0100007F,0,150000000,50000000");
    let dns_file = lab.dir.join("resolv.conf.auto");
    let cfg = lab.config(&format!("\toption ipconfig 'static'\n\toption dns_file '{}'\n", dns_file.display()));
    lab.up(&cfg, None);
    let st = lab.wait_status("IPCONFIG_REFUSED", LIMIT, |s| s["last_error_code"] == "IPCONFIG_REFUSED");
    assert_eq!(
        st["connection"]["last_error"],
        "refused the IP configuration for wwan0: the modem's address 127.0.0.5 is a loopback address, not a unicast address"
    );
    assert_ne!(st["state"], "up");
    assert_nothing_applied(&lab, &dns_file);
    // Retried with a growing backoff, never looped, never up.
    let st = lab.wait_status("three refusals", LIMIT, |s| refusals(s).len() >= 3 && backoffs(s).len() >= 3);
    let waits = backoffs(&st);
    assert!(waits.windows(2).all(|w| w[1] > w[0] * 1.2), "backoff does not grow: {waits:?}");
    assert_ne!(st["state"], "up");
    assert_nothing_applied(&lab, &dns_file);
}

#[test]
fn a_modem_address_overlapping_the_lan_is_refused_naming_both_sides() {
    // Issue 12: a modem reporting 192.168.1.130/25 (gateway .129) while the LAN is
    // 192.168.1.0/24 took half of the LAN's routes.
    let mut lab = lab_answering("^DHCP: 8201A8C0,80FFFFFF,8101A8C0,8101A8C0,00000000,00000000,150000000,50000000");
    let ns = lab.netns.clone().expect("lab namespace");
    for args in [
        &["-n", &ns, "link", "add", "br-lan", "type", "veth", "peer", "name", "lan1"][..],
        &["-n", &ns, "addr", "add", "192.168.1.1/24", "dev", "br-lan"],
        &["-n", &ns, "link", "set", "br-lan", "up"],
        &["-n", &ns, "link", "set", "lan1", "up"],
    ] {
        let out = std::process::Command::new("ip").args(args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let dns_file = lab.dir.join("resolv.conf.auto");
    let cfg = lab.config(&format!("\toption dns_file '{}'\n", dns_file.display()));
    lab.up(&cfg, None);
    let st = lab.wait_status("IPCONFIG_REFUSED", LIMIT, |s| s["last_error_code"] == "IPCONFIG_REFUSED");
    assert_eq!(
        st["connection"]["last_error"],
        "refused the IP configuration for wwan0: the modem's address 192.168.1.130/25 overlaps 192.168.1.0/24 on br-lan (its address 192.168.1.1)"
    );
    assert_nothing_applied(&lab, &dns_file);
    assert!(lab.ip(&["route", "get", "192.168.1.130"]).contains("dev br-lan"));
}

#[test]
fn netifd_mode_reports_the_refusal_and_never_hands_the_link_up() {
    // The same attack as the OpenWrt proto task: netifd gets the error code, never a
    // link-up with the loopback address (ubus is a fake that logs its calls).
    let lab = lab_answering("^DHCP: 0500007F,000000FF,0100007F,0100007F,0100007F,0,150000000,50000000");
    let ns = lab.netns.clone().expect("lab namespace");
    let log = lab.dir.join("ubus.log");
    let fake = lab.dir.join("ubus");
    std::fs::write(&fake, format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\n", log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = serde_json::json!({ "device": lab.tty, "apn": "internet", "ifname": "wwan0", "linksettle": 0, "probe_interval": 0 });
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(common::ncmd())
        .args(["netifd", "run", "wwan", "--state-dir"])
        .arg(lab.dir.join("state"))
        .env("NCMD_CONFIG", config.to_string())
        .env("NCMD_UBUS", &fake)
        .env("NCMD_RUNTIME_DIR", &lab.dir)
        .env("NCMD_TEST_SCALE_MS", "50")
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().filter(|l| l.contains(r#""error":["IPCONFIG_REFUSED"]"#)).count() >= 2 {
            break text;
        }
        assert!(t0.elapsed() < LIMIT, "no IPCONFIG_REFUSED sent to netifd twice; ubus calls: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!text.contains(r#""link-up":true"#), "the refused link was handed to netifd: {text}");
    assert!(!text.contains("127.0.0.5"), "{text}");
    let addrs = lab.ip(&["-4", "addr", "show", "dev", "wwan0"]);
    assert!(!addrs.contains("inet "), "wwan0 got an address: {addrs}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
}
