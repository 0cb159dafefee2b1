//! System tests: the `ncmd` binary against the simulator, with the data link in network
//! namespaces the test makes (never the machine's own). Needs root, as CI runs.

mod common;

use std::time::Duration;

use common::{require_root, Lab, SimSpec};

const UP: Duration = Duration::from_secs(30);

fn connects_end_to_end(dhcp: bool) {
    require_root();
    let mut lab = Lab::new(SimSpec { dhcp, ..Default::default() });
    let ipconfig = if dhcp { "dhcp" } else { "static" };
    let cfg = lab.config(&format!("\toption apn 'internet'\n\toption ipconfig '{ipconfig}'\n"));
    let d = lab.up(&cfg, None);
    let st = lab.wait_state("up", UP);
    let addr = lab.sim_info["ipv4"].as_str().unwrap().to_string();
    assert_eq!(st["connection"]["ipv4"]["address"], addr.as_str());
    assert!(lab.ip(&["addr", "show", "dev", "wwan0"]).contains(&format!("inet {addr}/")), "wwan0 lacks {addr}");
    assert!(lab.ip(&["route", "show", "default"]).contains("dev wwan0"));
    let target = lab.ping_target();
    assert!(lab.ping(&target), "ping {target} through wwan0 failed");

    let out = lab.ncmd(&["down", "wwan"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(lab.wait_exit(d, Duration::from_secs(10)).success());
    assert!(!lab.ip(&["addr", "show", "dev", "wwan0"]).contains(&addr), "address left behind after down");
    assert!(!lab.ip(&["route", "show", "default"]).contains("wwan0"), "route left behind after down");
    assert_eq!(lab.sim("stats")["connected"], false, "the modem was not disconnected");
}

#[test]
fn static_ip_from_the_modem_up_ping_down() {
    connects_end_to_end(false);
}

#[test]
fn dhcp_against_dnsmasq_up_ping_down() {
    connects_end_to_end(true);
}

#[test]
fn every_vendor_profile_connects() {
    require_root();
    let out = std::process::Command::new(common::ncmd()).args(["sim", "--help"]).output().unwrap();
    assert!(out.status.success());
    for vendor in ["huawei", "generic", "quectel", "quectel-eg060w", "sierra", "zte", "marvell", "mikrotik", "sony", "samsung", "mtk1", "spreadtrum", "fibocom"] {
        let mut lab = Lab::new(SimSpec { vendor, dhcp: true, ..Default::default() });
        let cfg = lab.config("\toption apn 'internet'\n");
        lab.up(&cfg, None);
        let st = lab.wait_state("up", UP);
        assert_eq!(st["connection"]["ipv4"]["address"], lab.sim_info["ipv4"], "{vendor}");
        assert!(lab.ping(&lab.ping_target()), "{vendor}: no ping through the link");
        assert!(lab.sim("stats")["dials"].as_u64().unwrap() >= 1, "{vendor}: never dialled");
        // Each personality lands on its own profile entry (the model entry for EG060W).
        let profile = if vendor == "generic" { "generic".to_string() } else if vendor == "zte" || vendor == "marvell" || vendor == "mikrotik" { format!("\"{vendor}") } else { vendor.to_string() };
        assert!(st["modem"]["profile"].as_str().unwrap().starts_with(&profile), "{vendor}: profile {}", st["modem"]["profile"]);
    }
}

#[test]
fn wrong_pin_is_sent_once_across_restarts() {
    require_root();
    let mut lab = Lab::new(SimSpec { netns: false, extra: vec!["--fault".into(), "pin-required".into(), "--pin".into(), "4321".into()], ..Default::default() });
    let cfg = lab.config("\toption pincode '1111'\n\toption apn 'internet'\n");
    let d = lab.up(&cfg, None);
    let st = lab.wait_state("blocked", UP);
    assert_eq!(st["last_error_code"], "PIN_FAILED");
    assert!(st["connection"]["last_error"].as_str().unwrap().contains("will not retry"));
    assert_eq!(lab.sim("stats")["pin_attempts"], 1);
    lab.terminate(d);
    // A restarted daemon, same config: it must not try the rejected PIN again.
    lab.up(&cfg, None);
    let st = lab.wait_state("blocked", UP);
    assert!(st["connection"]["last_error"].as_str().unwrap().contains("sent before"), "{st}");
    assert_eq!(lab.sim("stats")["pin_attempts"], 1, "the rejected PIN was sent again");
}

#[test]
fn right_pin_unlocks_and_secrets_never_show() {
    require_root();
    // Eight digits: a shorter PIN can turn up by chance inside a log timestamp.
    let mut lab = Lab::new(SimSpec { extra: vec!["--fault".into(), "pin-required".into(), "--pin".into(), "86429753".into()], ..Default::default() });
    let cfg = lab.config("\toption pincode '86429753'\n\toption apn 'internet'\n\toption username 'user'\n\toption password 'Sup3rS3cret'\n\toption auth 'chap'\n");
    let log = lab.dir.join("ncmd.log");
    let d = lab.up(&cfg, Some(&log));
    let st = lab.wait_state("up", UP);
    assert_eq!(lab.sim("stats")["pin_attempts"], 1);
    lab.terminate(d);
    let status = st.to_string();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("AT+CPIN=\"***\""), "the PIN command is logged masked");
    for secret in ["86429753", "Sup3rS3cret"] {
        assert!(!log.contains(secret), "secret {secret} in the log");
        assert!(!status.contains(secret), "secret {secret} in the status");
    }
}

#[test]
fn mode_and_pdp_are_written_only_when_different() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n\toption mode 'lte'\n");
    let d = lab.up(&cfg, None);
    lab.wait_state("up", UP);
    let s = lab.sim("stats");
    assert_eq!((s["mode_writes"].as_u64(), s["pdp_writes"].as_u64()), (Some(1), Some(1)), "{s}");
    lab.ncmd(&["down", "wwan"]);
    lab.wait_exit(d, Duration::from_secs(10));
    lab.up(&cfg, None);
    let st = lab.wait_state("up", UP);
    let s = lab.sim("stats");
    assert_eq!((s["mode_writes"].as_u64(), s["pdp_writes"].as_u64()), (Some(1), Some(1)), "rewrote settings that were already right: {s}");
    let events = st["events"].to_string();
    assert!(events.contains("network mode already right") && events.contains("PDP context already right"), "{events}");
}

#[test]
fn injection_is_refused_before_any_byte_reaches_the_modem() {
    require_root();
    let lab = Lab::new(SimSpec { netns: false, ..Default::default() });
    // (config lines, a secret that must not be echoed)
    let cases = [
        ("\toption apn 'internet\";+CFUN=0'\n", None),
        ("\toption username 'a\"b'\n\toption apn 'x'\n", None),
        ("\toption password 'Pw\r\nAT+CFUN=0'\n\toption apn 'x'\n", Some("Pw")),
        ("\toption pincode '12;4'\n", Some("12;4")),
    ];
    for (bad, secret) in cases {
        let cfg = lab.config(bad);
        let out = std::process::Command::new(common::ncmd())
            .args(["up", "wwan", "--config"])
            .arg(&cfg)
            .arg("--control")
            .arg(&lab.control)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "accepted {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("option"), "the error names the option: {err}");
        if let Some(secret) = secret {
            assert!(!err.contains(secret), "the error echoes a secret: {err}");
        }
    }
    assert_eq!(lab.sim("stats")["commands"], serde_json::json!([]), "bytes reached the modem");
}

#[test]
fn network_drop_with_urc_is_redialled() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    lab.sim("fault drop-urc");
    let st = lab.wait_status("reconnect", UP, |s| s["state"] == "up" && s["connection"]["reconnects"].as_u64() >= Some(1));
    assert!(st["events"].to_string().contains("network-disconnect"), "{st}");
    assert!(lab.ping(&lab.ping_target()));
}

#[test]
fn modem_reset_is_followed_without_user_action() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    lab.sim("fault reset");
    let st = lab.wait_status("recovery after reset", Duration::from_secs(60), |s| s["state"] == "up" && s["connection"]["reconnects"].as_u64() >= Some(1));
    assert!(st["events"].to_string().contains("port-gone") || st["events"].to_string().contains("carrier-lost"), "{st}");
    assert!(lab.ping(&lab.ping_target()));
}

#[test]
fn black_hole_is_found_by_probes() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n\toption probe_interval '2'\n\toption probe_timeout '1'\n\toption probe_count '2'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    lab.sim("fault blackhole");
    let st = lab.wait_status("black hole noticed", UP, |s| s["events"].to_string().contains("black-hole"));
    lab.sim("fault unblackhole");
    lab.wait_status("back up", UP, |s| s["state"] == "up" && s["connection"]["reconnects"].as_u64() >= Some(1));
    drop(st);
}

#[test]
fn reload_applies_changed_settings_without_a_restart() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    assert_eq!(lab.sim("stats")["pdp_writes"], 1);
    // The user edits the file, then asks the daemon to apply it.
    lab.config("\toption apn 'other.apn'\n");
    let out = lab.ncmd(&["reload", "wwan"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = lab.wait_status("reconnected with the new APN", UP, |s| {
        s["state"] == "up" && s["pdp"].as_array().is_some_and(|l| l.iter().any(|p| p["apn"] == "other.apn"))
    });
    assert_eq!(lab.sim("stats")["pdp_writes"], 2, "the new context is written once");
    assert!(st["events"].to_string().contains("settings reloaded"));
    // A file that no longer validates is refused and the running settings stay.
    lab.config("\toption apn 'bad\";+CFUN=0'\n");
    let out = lab.ncmd(&["reload", "wwan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("option apn"));
    assert_eq!(lab.status().unwrap()["state"], "up");
}

#[test]
fn dual_stack_static_configuration_from_the_modem() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n\toption pdptype 'IPV4V6'\n\toption ipconfig 'static'\n");
    let d = lab.up(&cfg, None);
    let st = lab.wait_state("up", UP);
    let v6 = lab.sim_info["ipv6"].as_str().unwrap().to_string();
    assert_eq!(st["connection"]["ipv6"]["address"], v6.as_str(), "{st}");
    assert_eq!(st["connection"]["ipv6"]["prefix_len"], 64);
    assert!(lab.ip(&["-6", "addr", "show", "dev", "wwan0"]).contains(&format!("inet6 {v6}/64")), "wwan0 lacks {v6}");
    assert!(lab.ip(&["-6", "route", "show", "default"]).contains("dev wwan0"), "no IPv6 default route");
    assert!(lab.ping(&lab.ping_target()), "IPv4 ping failed");
    let target6 = lab.sim_info["ping_target6"].as_str().unwrap().to_string();
    // The new address is tentative until the kernel's duplicate address detection ends.
    let t0 = std::time::Instant::now();
    while !lab.ping(&target6) {
        assert!(t0.elapsed() < Duration::from_secs(10), "ping {target6} through wwan0 failed");
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.ncmd(&["down", "wwan"]);
    assert!(lab.wait_exit(d, Duration::from_secs(10)).success());
    assert!(!lab.ip(&["-6", "addr", "show", "dev", "wwan0"]).contains(&v6), "IPv6 address left behind");
}

/// The whole flow on 5G: a standalone module (registered on 5GS only: `+CEREG` says 0)
/// and an EN-DC one, dual stack, addresses from `+CGCONTRDP` (the IPv6 line has no mask
/// and no gateway: /64 and an on-link default route).
#[test]
fn five_g_standalone_and_non_standalone_connect_dual_stack() {
    require_root();
    for (vendor, technology) in [("quectel-rm500q", "nr5g"), ("quectel-rm500q-nsa", "lte+nr5g")] {
        let mut lab = Lab::new(SimSpec { vendor, ..Default::default() });
        let cfg = lab.config("\toption apn 'internet'\n\toption pdptype 'IPV4V6'\n\toption ipconfig 'static'\n");
        let d = lab.up(&cfg, None);
        let st = lab.wait_state("up", UP);
        assert_eq!(st["modem"]["profile"], "quectel", "{vendor}: {st}");
        assert_eq!(st["registration"]["technology"], technology, "{vendor}: {st}");
        assert_eq!(st["signal"]["technology"], technology, "{vendor}: {st}");
        assert!(st["signal"]["nr"]["rsrp_dbm"].is_number(), "{vendor}: {st}");
        assert_eq!(st["connection"]["ipv4"]["address"], lab.sim_info["ipv4"], "{vendor}: {st}");
        let v6 = lab.sim_info["ipv6"].as_str().unwrap().to_string();
        assert_eq!(st["connection"]["ipv6"]["address"], v6.as_str(), "{vendor}: {st}");
        assert_eq!(st["connection"]["ipv6"]["prefix_len"], 64, "{vendor}: {st}");
        assert!(lab.ip(&["-6", "addr", "show", "dev", "wwan0"]).contains(&format!("inet6 {v6}/64")), "{vendor}: wwan0 lacks {v6}");
        assert!(lab.ip(&["-6", "route", "show", "default"]).contains("dev wwan0"), "{vendor}: no IPv6 default route");
        assert!(lab.ping(&lab.ping_target()), "{vendor}: no IPv4 ping through the link");
        lab.ncmd(&["down", "wwan"]);
        assert!(lab.wait_exit(d, Duration::from_secs(10)).success(), "{vendor}");
    }
}
