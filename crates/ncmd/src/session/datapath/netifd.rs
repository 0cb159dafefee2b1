//! The hand-off of the data link to netifd on OpenWrt, through `ubus`: `notify_proto`
//! link-up with the modem's address (or the dynamic `<iface>_4`/`<iface>_6` DHCP children
//! comgt-ncm creates), link-down, and failures with netifd's error codes.
//!
//! Owns the JSON messages netifd expects. Must not know about AT or sessions: the data
//! path calls `link_up`/`link_down`, the daemon calls `notify_error`.

use ncmd_config::{PdpType, Spec};
use serde_json::{json, Value};

use crate::session::IpConfig;

pub fn ubus() -> String {
    std::env::var("NCMD_UBUS").unwrap_or_else(|_| "ubus".into())
}

pub async fn call(args: &[&str]) -> Result<(), String> {
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
