//! The hand-off of the data link to netifd on OpenWrt, through `ubus`, in comgt-ncm's
//! layout: `notify_proto` link-up of `<iface>` (with the modem's facts in `data`), then
//! the dynamic children `<iface>_4` (IPv4) and `<iface>_6` (IPv6) on `@<iface>` that carry
//! the addresses, with the parent's zone, metric, defaultroute, peerdns, ip4table/ip6table,
//! delegate and sourcefilter; link-down; failures with netifd's error codes.
//!
//! Owns the JSON messages netifd expects. Must not know about AT or sessions: the data
//! path calls `link_up`/`describe`/`link_down`, the daemon calls `notify_error`.

use ncmd_config::{IpConfig as IpMode, PdpType, Spec};
use serde_json::{json, Map, Value};

use crate::session::IpConfig;
use crate::status::IpInfo;

pub fn ubus() -> String {
    std::env::var("NCMD_UBUS").unwrap_or_else(|_| "ubus".into())
}

/// A refused or failed ubus call, with netifd's reason.
#[derive(Debug, thiserror::Error)]
pub enum UbusError {
    #[error("cannot run ubus: {0}")]
    Spawn(std::io::Error),
    #[error("ubus {call} failed: {reason}")]
    Failed { call: String, reason: String },
}

impl UbusError {
    /// netifd refuses link notifications while it tears the interface down (ifdown):
    /// expected then, not worth a warning.
    pub fn is_teardown_refusal(&self) -> bool {
        matches!(self, UbusError::Failed { reason, .. } if reason.contains("Permission denied"))
    }
}

pub async fn call(args: &[&str]) -> Result<(), UbusError> {
    let out = tokio::process::Command::new(ubus()).args(args).output().await.map_err(UbusError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(UbusError::Failed { call: args.join(" "), reason: String::from_utf8_lossy(&out.stderr).trim().to_string() })
    }
}

async fn notify(msg: &Value) -> Result<(), UbusError> {
    call(&["call", "network.interface", "notify_proto", &msg.to_string()]).await
}

/// The parent's link-up: the device, no addresses (they sit on the children, as with
/// comgt-ncm), and the modem's facts as `data`.
pub fn link_up_message(interface: &str, ifname: &str, data: &Map<String, Value>) -> Value {
    json!({ "action": 0, "interface": interface, "ifname": ifname, "link-up": true, "keep": false, "data": data })
}

/// A later update of the parent's `data` only (addresses and device kept).
pub fn data_message(interface: &str, data: &Map<String, Value>) -> Value {
    json!({ "action": 0, "interface": interface, "link-up": true, "keep": true, "data": data })
}

/// The modem's facts for the interface's `data` (scripts and LuCI read them with
/// `ifstatus`): `manufacturer` is the vendor key, as comgt-ncm stores it (its teardown
/// reads it back); `model`, `operator`, `technology` and `signal` (dBm/dB values the
/// modem reports) when known.
pub fn facts(status: &crate::status::InterfaceStatus) -> Map<String, Value> {
    let m = &status.modem;
    let mut data = Map::new();
    let mut put = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            data.insert(k.to_string(), json!(v));
        }
    };
    put("manufacturer", m.modem.profile.as_ref().or(m.modem.manufacturer.as_ref()));
    put("model", m.modem.model.as_ref());
    put("operator", m.operator.name.as_ref());
    put("technology", m.registration.technology.as_ref());
    let s = &m.signal;
    let signal: Map<String, Value> = [("rssi_dbm", s.rssi_dbm), ("rsrp_dbm", s.rsrp_dbm), ("rsrq_db", s.rsrq_db), ("sinr_db", s.sinr_db), ("rscp_dbm", s.rscp_dbm), ("ecio_db", s.ecio_db)]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), json!(v?))))
        .collect();
    if !signal.is_empty() {
        data.insert("signal".into(), Value::Object(signal));
    }
    data
}

/// IPv4 netmask of a prefix length, as netifd's static proto wants it.
fn netmask(prefix_len: u8) -> String {
    let bits = if prefix_len == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix_len.min(32))) };
    std::net::Ipv4Addr::from(bits).to_string()
}

/// The dynamic children comgt-ncm creates (same names, protos and inherited options):
/// `<iface>_4` (dhcp) for IP and IPV4V6, `<iface>_6` (dhcpv6) for IPV6 and IPV4V6.
/// With `ipconfig auto` the DHCP child asks for the address the modem reported (the
/// modem's own DHCP server confirms it); with `ipconfig static` the children are
/// `static` with the modem's configuration and no DHCP client runs.
pub fn children(interface: &str, spec: &Spec, ip: &IpConfig, zone: Option<&str>) -> Vec<Value> {
    let base = |name: String| {
        let mut c = json!({ "name": name, "ifname": format!("@{interface}"),
            "defaultroute": spec.defaultroute, "peerdns": spec.peerdns, "metric": spec.metric });
        if let Some(z) = zone {
            c["zone"] = json!(z);
        }
        c
    };
    let statics = spec.ipconfig == IpMode::Static;
    let mut out = Vec::new();
    if matches!(spec.pdptype, PdpType::Ip | PdpType::Ipv4v6) {
        let mut c = base(format!("{interface}_4"));
        match (&ip.ipv4, statics) {
            // netifd's static proto cannot add the on-link route a gateway outside the
            // prefix needs (a point-to-point address): that one stays with DHCP.
            (Some(v4), true) if !needs_onlink(v4) => static_v4(&mut c, v4, spec.peerdns),
            (v4, _) => {
                c["proto"] = json!("dhcp");
                if let (Some(v4), IpMode::Auto) = (v4, spec.ipconfig) {
                    c["ipaddr"] = json!(v4.address);
                }
            }
        }
        if let Some(t) = &spec.ip4table {
            c["ip4table"] = json!(t);
        }
        out.push(c);
    }
    if matches!(spec.pdptype, PdpType::Ipv6 | PdpType::Ipv4v6) {
        let mut c = base(format!("{interface}_6"));
        match (&ip.ipv6, statics) {
            (Some(v6), true) => {
                c["proto"] = json!("static");
                c["ip6addr"] = json!([format!("{}/{}", v6.address, v6.prefix_len)]);
                if let (Some(gw), true) = (&v6.gateway, spec.defaultroute) {
                    c["ip6gw"] = json!(gw);
                }
                if spec.peerdns && !v6.dns.is_empty() {
                    c["dns"] = json!(v6.dns);
                }
            }
            _ => {
                c["proto"] = json!("dhcpv6");
                c["extendprefix"] = json!(1);
            }
        }
        if spec.delegate == Some(false) {
            c["delegate"] = json!(0);
        }
        if spec.sourcefilter == Some(false) {
            c["sourcefilter"] = json!(0);
        }
        if let Some(t) = &spec.ip6table {
            c["ip6table"] = json!(t);
        }
        out.push(c);
    }
    out
}

fn needs_onlink(v4: &IpInfo) -> bool {
    match (v4.address.parse(), v4.gateway.as_deref().map(str::parse)) {
        (Ok(a), Some(Ok(g))) => ncmd_link::netlink::gateway_needs_onlink(a, v4.prefix_len, g),
        _ => false,
    }
}

fn static_v4(c: &mut Value, v4: &IpInfo, peerdns: bool) {
    c["proto"] = json!("static");
    c["ipaddr"] = json!([v4.address]);
    c["netmask"] = json!(netmask(v4.prefix_len));
    if let Some(gw) = &v4.gateway {
        // netifd leaves the default route out when the child's `defaultroute` is off.
        c["gateway"] = json!(gw);
    }
    if peerdns && !v4.dns.is_empty() {
        c["dns"] = json!(v4.dns);
    }
}

/// The firewall zone of the interface, as comgt-ncm asks fw3 for it (none without fw3).
async fn zone(interface: &str) -> Option<String> {
    let out = tokio::process::Command::new("fw3").args(["-q", "network", interface]).output().await.ok()?;
    let z = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !z.is_empty()).then_some(z)
}

pub async fn link_up(interface: &str, ifname: &str, spec: &Spec, ip: &IpConfig, data: &Map<String, Value>) -> Result<(), UbusError> {
    notify(&link_up_message(interface, ifname, data)).await?;
    let zone = zone(interface).await;
    for child in children(interface, spec, ip, zone.as_deref()) {
        call(&["call", "network", "add_dynamic", &child.to_string()]).await?;
    }
    Ok(())
}

/// Updates the parent's `data` once the modem's facts are known (after link-up).
pub async fn describe(interface: &str, data: &Map<String, Value>) {
    if let Err(e) = notify(&data_message(interface, data)).await {
        tracing::debug!("netifd did not take the modem's facts: {e}");
    }
}

pub async fn link_down(interface: &str) {
    let msg = json!({ "action": 0, "interface": interface, "ifname": "*", "link-up": false });
    match notify(&msg).await {
        Ok(()) => {}
        Err(e) if e.is_teardown_refusal() => tracing::debug!("netifd is tearing {interface} down already: {e}"),
        Err(e) => tracing::warn!("{e}"),
    }
}

/// Reports a failure code to netifd (LuCI shows its text) and its availability effect.
pub async fn notify_error(interface: &str, code: &str, unavailable: bool, block: bool) {
    let mut msgs = vec![json!({ "action": 3, "interface": interface, "error": [code] })];
    if block {
        msgs.push(json!({ "action": 4, "interface": interface }));
    }
    if unavailable {
        msgs.push(json!({ "action": 5, "interface": interface, "available": false }));
    }
    for m in msgs {
        if let Err(e) = notify(&m).await {
            tracing::debug!("netifd did not take {m}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: Value) -> Spec {
        let mut cfg = json!({ "device": "/dev/ttyUSB1", "apn": "internet", "metric": 10, "delegate": false, "ip4table": "100" });
        for (k, v) in extra.as_object().into_iter().flatten() {
            cfg[k] = v.clone();
        }
        Spec::from_netifd_json("wwan", &cfg).unwrap()
    }

    fn modem_ip() -> IpConfig {
        IpConfig {
            ipv4: Some(IpInfo { address: "10.64.0.2".into(), prefix_len: 30, gateway: Some("10.64.0.1".into()), dns: vec!["10.64.0.1".into()] }),
            ipv6: Some(IpInfo { address: "fd00::2".into(), prefix_len: 64, gateway: Some("fd00::1".into()), dns: vec![] }),
        }
    }

    #[test]
    fn parent_link_up_carries_the_device_and_data_only() {
        let mut data = Map::new();
        data.insert("manufacturer".into(), json!("huawei"));
        let m = link_up_message("wwan", "wwan0", &data);
        assert_eq!((m["action"].clone(), m["link-up"].clone(), m["ifname"].clone()), (json!(0), json!(true), json!("wwan0")));
        assert_eq!(m["data"]["manufacturer"], "huawei");
        assert!(m.get("ipaddr").is_none() && m.get("routes").is_none() && m.get("dns").is_none(), "{m}");
        let d = data_message("wwan", &data);
        assert_eq!((d["keep"].clone(), d.get("ifname")), (json!(true), None));
    }

    #[test]
    fn children_match_the_existing_handler_and_ask_for_the_modems_address() {
        let c = children("wwan", &spec(json!({ "pdptype": "IPV4V6" })), &modem_ip(), Some("wan"));
        assert_eq!(c.len(), 2);
        assert_eq!((c[0]["name"].clone(), c[0]["proto"].clone(), c[0]["ifname"].clone()), (json!("wwan_4"), json!("dhcp"), json!("@wwan")));
        assert_eq!(c[0]["ipaddr"], "10.64.0.2", "the DHCP child requests the address the modem reported");
        assert_eq!((c[0]["metric"].clone(), c[0]["zone"].clone(), c[0]["ip4table"].clone()), (json!(10), json!("wan"), json!("100")));
        assert_eq!((c[1]["name"].clone(), c[1]["proto"].clone(), c[1]["extendprefix"].clone()), (json!("wwan_6"), json!("dhcpv6"), json!(1)));
        assert_eq!(c[1]["delegate"], 0);
        assert!(c[1].get("sourcefilter").is_none());
        assert_eq!(children("wwan", &spec(json!({ "pdptype": "IP" })), &modem_ip(), None).len(), 1);
        let v6 = children("wwan", &spec(json!({ "pdptype": "IPV6" })), &modem_ip(), None);
        assert_eq!((v6.len(), v6[0]["name"].clone()), (1, json!("wwan_6")));
    }

    #[test]
    fn dhcp_mode_asks_for_nothing_and_static_mode_runs_no_dhcp_client() {
        let d = children("wwan", &spec(json!({ "ipconfig": "dhcp" })), &modem_ip(), None);
        assert!(d[0].get("ipaddr").is_none(), "{}", d[0]);
        let s = children("wwan", &spec(json!({ "ipconfig": "static", "pdptype": "IPV4V6" })), &modem_ip(), None);
        assert_eq!((s[0]["proto"].clone(), s[0]["ipaddr"].clone(), s[0]["netmask"].clone()), (json!("static"), json!(["10.64.0.2"]), json!("255.255.255.252")));
        assert_eq!((s[0]["gateway"].clone(), s[0]["dns"].clone()), (json!("10.64.0.1"), json!(["10.64.0.1"])));
        assert_eq!((s[1]["proto"].clone(), s[1]["ip6addr"].clone(), s[1]["ip6gw"].clone()), (json!("static"), json!(["fd00::2/64"]), json!("fd00::1")));
        // Without an address from the modem, even `static` falls back to DHCP children.
        let none = children("wwan", &spec(json!({ "ipconfig": "static" })), &IpConfig::default(), None);
        assert_eq!(none[0]["proto"], "dhcp");
        // A point-to-point address (gateway outside the prefix) stays with DHCP too.
        let mut p2p = modem_ip();
        p2p.ipv4 = Some(IpInfo { address: "10.64.0.2".into(), prefix_len: 32, gateway: Some("10.9.0.1".into()), dns: vec![] });
        let c = children("wwan", &spec(json!({ "ipconfig": "static" })), &p2p, None);
        assert_eq!((c[0]["proto"].clone(), c[0]["ipaddr"].clone()), (json!("dhcp"), Value::Null));
    }

    #[test]
    fn netmasks() {
        assert_eq!((netmask(30).as_str(), netmask(24).as_str(), netmask(32).as_str(), netmask(0).as_str()), ("255.255.255.252", "255.255.255.0", "255.255.255.255", "0.0.0.0"));
    }

    #[test]
    fn a_refused_link_down_during_teardown_is_no_warning() {
        let e = UbusError::Failed { call: "call network.interface notify_proto".into(), reason: "Command failed: ubus call ... (Permission denied)".into() };
        assert!(e.is_teardown_refusal());
        assert!(!UbusError::Failed { call: String::new(), reason: "Not found".into() }.is_teardown_refusal());
    }
}
