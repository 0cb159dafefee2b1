//! Human-readable rendering of status snapshots (`ncmd info`, `ncmd status`, the demo).
//!
//! Owns the text layout only. Must not know how the facts were obtained.

use crate::status::{InterfaceStatus, IpInfo, ModemStatus};

fn or_dash<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn ip_line(ip: &Option<IpInfo>) -> String {
    match ip {
        Some(i) => format!(
            "{}/{} via {} dns {}",
            i.address,
            i.prefix_len,
            i.gateway.as_deref().unwrap_or("-"),
            if i.dns.is_empty() { "-".to_string() } else { i.dns.join(",") }
        ),
        None => "-".into(),
    }
}

/// Short readable form of a modem status.
pub fn render(st: &ModemStatus) -> String {
    let m = &st.modem;
    let mut out = String::new();
    let signal = match (st.signal.rsrp_dbm, st.signal.rssi_dbm) {
        (Some(rsrp), _) => format!(
            "RSRP {rsrp:.0} dBm, RSRQ {} dB, SINR {} dB",
            or_dash(&st.signal.rsrq_db.map(|v| format!("{v:.1}"))),
            or_dash(&st.signal.sinr_db.map(|v| format!("{v:.1}")))
        ),
        (None, Some(rssi)) => format!("RSSI {rssi:.0} dBm"),
        _ => "-".into(),
    };
    let lines = [
        ("device", st.device.clone()),
        ("modem", format!("{} {} (rev {}, IMEI {}, profile {})", or_dash(&m.manufacturer), or_dash(&m.model), or_dash(&m.revision), or_dash(&m.imei), or_dash(&m.profile))),
        ("sim", format!("{} (PIN attempts {}, PUK attempts {}, ICCID {})", or_dash(&st.sim.state), or_dash(&st.sim.pin_attempts_left), or_dash(&st.sim.puk_attempts_left), or_dash(&st.sim.iccid))),
        ("network", format!("{} on {} ({}) {}", or_dash(&st.registration.state), or_dash(&st.operator.name), or_dash(&st.operator.mcc_mnc), or_dash(&st.registration.technology))),
        ("signal", signal),
        ("mode", format!("{} (raw {})", or_dash(&st.mode.current), or_dash(&st.mode.raw))),
        ("pdp", st.pdp.iter().map(|p| format!("{}:{}:{}", p.cid, p.pdptype, p.apn)).collect::<Vec<_>>().join(" ")),
        ("connection", or_dash(&st.connection.state)),
        ("ipv4", ip_line(&st.connection.ipv4)),
        ("ipv6", ip_line(&st.connection.ipv6)),
    ];
    for (k, v) in lines {
        out.push_str(&format!("{k:>10}: {v}\n"));
    }
    out
}

/// `ncmd status` for one interface.
pub fn render_interface(s: &InterfaceStatus) -> String {
    let mut out = format!("{} [{}] on {}", s.interface, s.state, s.ifname.as_deref().unwrap_or("-"));
    if let Some(since) = &s.modem.connection.since {
        out.push_str(&format!(", up since {since}"));
    }
    out.push_str(&format!(", {} reconnects\n", s.modem.connection.reconnects));
    if let (Some(code), Some(msg)) = (&s.last_error_code, &s.modem.connection.last_error) {
        out.push_str(&format!("  last error: {msg} ({code})\n"));
    }
    for line in render(&s.modem).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    for e in s.events.iter().rev().take(5).collect::<Vec<_>>().into_iter().rev() {
        out.push_str(&format!("  {} {}: {}\n", e.time, e.kind, e.message));
    }
    out
}
