//! OpenWrt integration: the proto handler entry (`ncmd netifd run IFACE CONFIG_JSON`, run
//! by `/lib/netifd/proto/ncm.sh` as a netifd proto task), the hotplug entry
//! (`ncmd netifd hotplug`, run by `/etc/hotplug.d/{tty,usbmisc}/30-ncmd` with procd's
//! environment), and the hand-off of the link to netifd through `ubus` (notify_proto,
//! dynamic `<iface>_4`/`<iface>_6` DHCP children).
//!
//! Owns the JSON messages netifd expects. Must not know about AT or sessions: the
//! session calls `link_up`/`link_down` through the data path.

use std::path::PathBuf;

use ncmd_config::{PdpType, Spec};
use serde_json::{json, Value};

use crate::session::IpConfig;

#[derive(clap::Args)]
pub struct NetifdArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Run one interface as a netifd proto task.
    Run {
        /// The logical interface (UCI section name).
        interface: String,
        /// The interface's configuration as netifd passes it to proto handlers; default:
        /// the NCMD_CONFIG environment variable (the shim passes it there, because a
        /// command line is readable by every user and the JSON holds the PIN).
        config_json: Option<String>,
        /// Directory for persistent state (rejected PINs).
        #[arg(long, default_value = "/etc/ncmd/state")]
        state_dir: PathBuf,
    },
    /// Handle a procd hotplug event (ACTION, DEVICENAME, DEVPATH, ... in the environment).
    Hotplug {
        #[arg(long, default_value = "/etc/config/network")]
        config: PathBuf,
    },
}

fn ubus() -> String {
    std::env::var("NCMD_UBUS").unwrap_or_else(|_| "ubus".into())
}

async fn call(args: &[&str]) -> Result<(), String> {
    let out = tokio::process::Command::new(ubus())
        .args(args)
        .output()
        .await
        .map_err(|e| format!("cannot run ubus: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ubus {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The notify_proto message that sets the link up, with the modem's static
/// configuration when there is one (netifd applies addresses, routes and DNS).
pub fn link_up_message(interface: &str, ifname: &str, spec: &Spec, ip: &IpConfig) -> Value {
    let mut m = json!({ "action": 0, "interface": interface, "ifname": ifname, "link-up": true, "keep": false });
    if let Some(v4) = &ip.ipv4 {
        m["ipaddr"] = json!([{ "ipaddr": v4.address, "mask": v4.prefix_len.to_string() }]);
        if spec.defaultroute {
            if let Some(gw) = &v4.gateway {
                m["routes"] = json!([{ "target": "0.0.0.0", "netmask": "0", "gateway": gw, "metric": spec.metric }]);
            }
        }
        if spec.peerdns {
            m["dns"] = json!(v4.dns);
        }
    }
    if let Some(v6) = &ip.ipv6 {
        m["ip6addr"] = json!([{ "ipaddr": v6.address, "mask": v6.prefix_len.to_string() }]);
    }
    m
}

/// The dynamic DHCP children the existing handler creates (same names and options), used
/// when the modem gives no static configuration.
pub fn dhcp_children(interface: &str, spec: &Spec) -> Vec<Value> {
    let mut out = Vec::new();
    let common = |name: String, proto: &str| {
        let mut c = json!({ "name": name, "ifname": format!("@{interface}"), "proto": proto,
            "defaultroute": spec.defaultroute, "peerdns": spec.peerdns, "metric": spec.metric });
        let (key, table) = if proto == "dhcp" { ("ip4table", &spec.ip4table) } else { ("ip6table", &spec.ip6table) };
        if let Some(t) = table {
            c[key] = json!(t);
        }
        c
    };
    if matches!(spec.pdptype, PdpType::Ip | PdpType::Ipv4v6) {
        out.push(common(format!("{interface}_4"), "dhcp"));
    }
    if matches!(spec.pdptype, PdpType::Ipv6 | PdpType::Ipv4v6) {
        let mut c = common(format!("{interface}_6"), "dhcpv6");
        c["extendprefix"] = json!(1);
        if spec.delegate == Some(false) {
            c["delegate"] = json!(0);
        }
        if spec.sourcefilter == Some(false) {
            c["sourcefilter"] = json!(0);
        }
        out.push(c);
    }
    out
}

pub async fn link_up(interface: &str, ifname: &str, spec: &Spec, ip: &IpConfig) -> Result<(), String> {
    let msg = link_up_message(interface, ifname, spec, ip);
    call(&["call", "network.interface", "notify_proto", &msg.to_string()]).await?;
    if ip.ipv4.is_none() && ip.ipv6.is_none() {
        for child in dhcp_children(interface, spec) {
            call(&["call", "network", "add_dynamic", &child.to_string()]).await?;
        }
    }
    Ok(())
}

pub async fn link_down(interface: &str, _ifname: &str) {
    let msg = json!({ "action": 0, "interface": interface, "ifname": "*", "link-up": false });
    if let Err(e) = call(&["call", "network.interface", "notify_proto", &msg.to_string()]).await {
        tracing::warn!("{e}");
    }
}

/// Reports a failure code to netifd (LuCI shows its text) and its availability effect.
pub async fn notify_error(interface: &str, code: &str, unavailable: bool, block: bool) {
    let err = json!({ "action": 3, "interface": interface, "error": [code] });
    let _ = call(&["call", "network.interface", "notify_proto", &err.to_string()]).await;
    if block {
        let _ = call(&["call", "network.interface", "notify_proto", &json!({ "action": 4, "interface": interface }).to_string()]).await;
    }
    if unavailable {
        let _ = call(&["call", "network.interface", "notify_proto", &json!({ "action": 5, "interface": interface, "available": false }).to_string()]).await;
    }
}

/// `ncmd netifd ...`.
pub async fn run(args: NetifdArgs) -> Result<(), crate::Error> {
    match args.action {
        Action::Run { interface, config_json, state_dir } => run_interface(interface, config_json, state_dir).await,
        Action::Hotplug { config } => hotplug(&config, |k| std::env::var(k).ok()).await,
    }
}

/// One interface, supervised by netifd as a proto task.
async fn run_interface(interface: String, config_json: Option<String>, state_dir: PathBuf) -> Result<(), crate::Error> {
    let config_json = config_json.or_else(|| std::env::var("NCMD_CONFIG").ok()).ok_or("no configuration: pass it as an argument or in NCMD_CONFIG")?;
    let config: Value = serde_json::from_str(&config_json).map_err(|e| format!("netifd passed a configuration that is not JSON: {e}"))?;
    let spec = Spec::from_netifd_json(&interface, &config)?;
    crate::daemon::run_specs(
        vec![spec],
        crate::daemon::Options {
            control: crate::control::runtime_dir().join(format!("{interface}.sock")),
            config: None,
            state_dir,
            netifd: true,
            sysfs_root: PathBuf::from("/sys"),
            dry_run: false,
        },
    )
    .await
}

/// The ncm interfaces whose control port is the device of a hotplug event: matched by
/// the resolved path and by the basename (as comgt's 30-3g does), so symlinks such as
/// /dev/serial/by-id/... and cdc-wdm nodes work too.
pub fn matching_interfaces(config: &ncmd_config::Config, devicename: &str) -> Vec<String> {
    let dev = std::path::Path::new("/dev").join(devicename);
    config
        .specs
        .iter()
        .filter(|s| {
            s.device.file_name().is_some_and(|n| n == devicename)
                || std::fs::canonicalize(&s.device).is_ok_and(|r| r == dev || r.file_name().is_some_and(|n| n == devicename))
        })
        .map(|s| s.interface().to_string())
        .collect()
}

/// A device was added: make the matching interfaces available again (a NO_DEVICE failure
/// marked them unavailable). Removal needs nothing: the running ncmd notices the port
/// vanish itself and waits for it to come back.
pub async fn hotplug(config_path: &std::path::Path, env: impl Fn(&str) -> Option<String>) -> Result<(), crate::Error> {
    let (Some(action), Some(devicename)) = (env("ACTION"), env("DEVICENAME")) else {
        return Err("ncmd netifd hotplug runs from procd's hotplug with ACTION and DEVICENAME set".into());
    };
    if action != "add" {
        return Ok(());
    }
    let config = ncmd_config::load(config_path)?;
    for iface in matching_interfaces(&config, &devicename) {
        let msg = json!({ "action": 5, "interface": iface, "available": true });
        call(&["call", "network.interface", "notify_proto", &msg.to_string()]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::IpInfo;

    fn spec(pdptype: &str) -> Spec {
        let cfg = json!({ "device": "/dev/ttyUSB1", "apn": "internet", "pdptype": pdptype, "metric": 10, "delegate": false });
        Spec::from_netifd_json("wwan", &cfg).unwrap()
    }

    #[test]
    fn static_link_up_carries_address_route_and_dns() {
        let ip = IpConfig {
            ipv4: Some(IpInfo { address: "10.64.0.2".into(), prefix_len: 30, gateway: Some("10.64.0.1".into()), dns: vec!["10.64.0.1".into()] }),
            ipv6: None,
        };
        let m = link_up_message("wwan", "wwan0", &spec("IP"), &ip);
        assert_eq!(m["action"], 0);
        assert_eq!(m["link-up"], true);
        assert_eq!(m["ifname"], "wwan0");
        assert_eq!(m["ipaddr"][0]["ipaddr"], "10.64.0.2");
        assert_eq!(m["ipaddr"][0]["mask"], "30");
        assert_eq!(m["routes"][0]["gateway"], "10.64.0.1");
        assert_eq!(m["routes"][0]["metric"], 10);
        assert_eq!(m["dns"][0], "10.64.0.1");
    }

    #[tokio::test]
    async fn hotplug_add_makes_the_matching_interface_available() {
        let dir = std::env::temp_dir().join(format!("ncmd-hotplug-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("network");
        std::fs::write(&cfg, "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB7'\n\nconfig interface 'lte2'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB9'\n").unwrap();
        let log = dir.join("ubus.log");
        let fake = dir.join("ubus");
        std::fs::write(&fake, format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        // SAFETY of the env change: this is the only test in the binary that reads NCMD_UBUS.
        std::env::set_var("NCMD_UBUS", &fake);
        let env = |action: &'static str| move |k: &str| match k {
            "ACTION" => Some(action.to_string()),
            "DEVICENAME" => Some("ttyUSB9".to_string()),
            _ => None,
        };
        hotplug(&cfg, env("remove")).await.unwrap();
        assert!(!log.exists(), "remove needs no action");
        hotplug(&cfg, env("add")).await.unwrap();
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(calls.lines().count(), 1, "{calls}");
        assert!(calls.contains("\"interface\":\"lte2\"") && calls.contains("\"available\":true") && calls.contains("\"action\":5"), "{calls}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dhcp_children_match_the_existing_handler() {
        let c = dhcp_children("wwan", &spec("IPV4V6"));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0]["name"], "wwan_4");
        assert_eq!(c[0]["proto"], "dhcp");
        assert_eq!(c[0]["ifname"], "@wwan");
        assert_eq!(c[1]["name"], "wwan_6");
        assert_eq!(c[1]["proto"], "dhcpv6");
        assert_eq!(c[1]["extendprefix"], 1);
        assert_eq!(c[1]["delegate"], 0);
        assert!(c[1].get("sourcefilter").is_none());
        assert_eq!(dhcp_children("wwan", &spec("IP")).len(), 1);
    }
}
