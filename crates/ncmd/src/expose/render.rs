//! Human-readable rendering of status snapshots (`ncmd info`, `ncmd status`, the demo).
//!
//! Owns the text layout only. Must not know how the facts were obtained.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::status::{InterfaceStatus, IpInfo, ModemStatus};

/// Would this character act on a terminal instead of being shown? C0 and C1 controls
/// (ESC starts colour, cursor and title sequences; CR and BS overwrite), DEL, and the
/// bidirectional overrides that reorder what is shown.
fn acts_on_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// A value from outside (the modem, the network, a file) made safe to print: every
/// character that would act on a terminal is shown escaped (`\x1b`, `\u{202e}`).
pub fn printable(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// The same for a whole text of several lines: line breaks and tabs stay.
pub fn printable_text(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_layout: bool) -> Cow<'_, str> {
    let bad = |c: char| acts_on_terminal(c) && !(keep_layout && (c == '\n' || c == '\t'));
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !bad(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

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
    let leg_text = |l: &crate::status::LegSignal| match (l.rsrp_dbm, l.rscp_dbm, l.rssi_dbm) {
        (Some(rsrp), _, _) => Some(format!(
            "RSRP {rsrp:.0} dBm, RSRQ {} dB, SINR {} dB",
            or_dash(&l.rsrq_db.map(|v| format!("{v:.1}"))),
            or_dash(&l.sinr_db.map(|v| format!("{v:.1}")))
        )),
        (None, Some(rscp), _) => Some(format!("RSCP {rscp:.0} dBm, Ec/Io {} dB", or_dash(&l.ecio_db.map(|v| format!("{v:.1}"))))),
        (None, None, Some(rssi)) => Some(format!("RSSI {rssi:.0} dBm")),
        _ => None,
    };
    // Per leg when the reply named them ("lte: …; nr: …" on 5G NSA), else the top level.
    let legs: Vec<String> = st.signal.legs().filter_map(|(name, l)| leg_text(l).map(|t| format!("{name}: {t}"))).collect();
    let top = crate::status::LegSignal {
        rssi_dbm: st.signal.rssi_dbm,
        rsrp_dbm: st.signal.rsrp_dbm,
        rsrq_db: st.signal.rsrq_db,
        sinr_db: st.signal.sinr_db,
        rscp_dbm: st.signal.rscp_dbm,
        ecio_db: st.signal.ecio_db,
    };
    let signal = if legs.is_empty() { leg_text(&top).unwrap_or_else(|| "-".into()) } else { legs.join("; ") };
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
    // Every value is one line; whatever it holds from the modem is shown, never obeyed.
    for (k, v) in lines {
        out.push_str(&format!("{k:>10}: {}\n", printable(&v)));
    }
    out
}

/// `ncmd status` for one interface.
pub fn render_interface(s: &InterfaceStatus) -> String {
    let mut head = format!("{} [{}] on {}", s.interface, s.state, s.ifname.as_deref().unwrap_or("-"));
    if let Some(since) = &s.modem.connection.since {
        head.push_str(&format!(", up since {since}"));
    }
    head.push_str(&format!(", {} reconnects", s.modem.connection.reconnects));
    let mut out = format!("{}\n", printable(&head));
    if let (Some(code), Some(msg)) = (&s.last_error_code, &s.modem.connection.last_error) {
        out.push_str(&format!("  {}\n", printable(&format!("last error: {msg} ({code})"))));
    }
    for line in render(&s.modem).lines() {
        out.push_str(&format!("  {line}\n"));
    }
    for e in s.events.iter().rev().take(5).collect::<Vec<_>>().into_iter().rev() {
        out.push_str(&format!("  {}\n", printable(&format!("{} {}: {}", e.time, e.kind, e.message))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_from_outside_are_shown_not_obeyed() {
        assert_eq!(printable("E3372h-153"), "E3372h-153");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("\x1b[31mRED\x1b]0;title\x07"), "\\x1b[31mRED\\x1b]0;title\\x07");
        assert_eq!(printable("a\rb\nc\u{9b}d\u{202e}e\u{7f}"), "a\\x0db\\x0ac\\x9bd\\u{202e}e\\x7f");
        assert_eq!(printable_text("line 1\n\tline 2\x1b"), "line 1\n\tline 2\\x1b");
        let mut st = ModemStatus::default();
        st.modem.model = Some("E3372\x1b[2J".into());
        st.operator.name = Some("Op\u{202e}".into());
        let text = render(&st);
        assert!(!text.contains('\x1b') && !text.contains('\u{202e}'), "{text}");
        assert!(text.contains("E3372\\x1b[2J"), "{text}");
    }
}
