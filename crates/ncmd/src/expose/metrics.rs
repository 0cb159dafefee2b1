//! Prometheus text exposition (format 0.0.4) of the daemon's status snapshots.
//!
//! Owns the metric names, their types and help texts, and the escaping of label values.
//! It is a pure function of the snapshots and the wall-clock time: it must not know how
//! the facts were obtained, nor anything about HTTP (the web module serves the text).

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::status::{unix_seconds, InterfaceStatus, LegSignal};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Reads one value of a status snapshot.
type Field<T> = fn(&InterfaceStatus) -> T;
/// Reads one measure of a radio leg.
type LegField = fn(&LegSignal) -> Option<f64>;

/// One metric family: its series are written together under one HELP/TYPE header.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }
}

/// Label value escaping of the text format: backslash, double quote and line feed.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Renders every interface's metrics.
pub fn render(list: &[InterfaceStatus], now: SystemTime) -> String {
    let now_s = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut out = String::new();
    let mut f = Family::new(&mut out, "ncmd_up", "gauge", "1 when the interface's link is up, else 0.");
    for s in list {
        f.sample(&[("interface", &s.interface)], f64::from(u8::from(s.state == "up")));
    }
    let mut f = Family::new(&mut out, "ncmd_state", "gauge", "The session state the interface is in (value 1, state in the label).");
    for s in list {
        f.sample(&[("interface", &s.interface), ("state", &s.state)], 1.0);
    }
    let mut f = Family::new(&mut out, "ncmd_link_uptime_seconds", "gauge", "Seconds since the link came up; 0 when it is not up.");
    for s in list {
        let since = s.modem.connection.since.as_deref().and_then(unix_seconds).filter(|_| s.state == "up");
        f.sample(&[("interface", &s.interface)], since.map(|t| now_s.saturating_sub(t) as f64).unwrap_or(0.0));
    }
    let mut f = Family::new(&mut out, "ncmd_reconnects_total", "counter", "Links lost and reconnected since the daemon started, by cause.");
    for s in list {
        for (cause, n) in &s.counters.reconnects_by_cause {
            f.sample(&[("interface", &s.interface), ("cause", cause)], *n as f64);
        }
    }
    // One sample per radio leg (`leg` = gsm | umts | lte | nr; both lte and nr on 5G
    // non-standalone); a +CSQ-only reading, which names no technology, is `leg="any"`.
    let signals: [(&'static str, &str, LegField); 6] = [
        ("ncmd_signal_rssi_dbm", "Received signal strength indicator (dBm), per radio leg.", |l| l.rssi_dbm),
        ("ncmd_signal_rsrp_dbm", "Reference signal received power (dBm): LTE RSRP, NR SS-RSRP.", |l| l.rsrp_dbm),
        ("ncmd_signal_rsrq_db", "Reference signal received quality (dB): LTE RSRQ, NR SS-RSRQ.", |l| l.rsrq_db),
        ("ncmd_signal_sinr_db", "Signal to interference plus noise ratio (dB): LTE SINR, NR SS-SINR.", |l| l.sinr_db),
        ("ncmd_signal_rscp_dbm", "UMTS received signal code power (dBm).", |l| l.rscp_dbm),
        ("ncmd_signal_ecio_db", "UMTS Ec/Io (dB).", |l| l.ecio_db),
    ];
    for (name, help, get) in signals {
        let mut f = Family::new(&mut out, name, "gauge", help);
        for s in list {
            let sig = &s.modem.signal;
            let mut any_leg = false;
            for (leg, values) in sig.legs() {
                any_leg = true;
                if let Some(v) = get(values) {
                    f.sample(&[("interface", &s.interface), ("leg", leg)], v);
                }
            }
            if !any_leg {
                let top = LegSignal { rssi_dbm: sig.rssi_dbm, rsrp_dbm: sig.rsrp_dbm, rsrq_db: sig.rsrq_db, sinr_db: sig.sinr_db, rscp_dbm: sig.rscp_dbm, ecio_db: sig.ecio_db };
                if let Some(v) = get(&top) {
                    f.sample(&[("interface", &s.interface), ("leg", "any")], v);
                }
            }
        }
    }
    let bytes: [(&'static str, &str, Field<u64>); 3] = [
        ("ncmd_receive_bytes_total", "Bytes received on the data interface.", |s| s.counters.rx_bytes),
        ("ncmd_transmit_bytes_total", "Bytes sent on the data interface.", |s| s.counters.tx_bytes),
        ("ncmd_probe_bytes_total", "Bytes the black-hole probes put on the wire (requests and replies).", |s| s.counters.probe_bytes),
    ];
    for (name, help, get) in bytes {
        let mut f = Family::new(&mut out, name, "counter", help);
        for s in list {
            f.sample(&[("interface", &s.interface)], get(s) as f64);
        }
    }
    let mut f = Family::new(&mut out, "ncmd_last_error_info", "gauge", "The last failure (netifd code and message); absent after a good link.");
    for s in list {
        if let Some(code) = &s.last_error_code {
            let message = s.modem.connection.last_error.as_deref().unwrap_or_default();
            f.sample(&[("interface", &s.interface), ("code", code), ("message", message)], 1.0);
        }
    }
    let mut f = Family::new(&mut out, "ncmd_modem_info", "gauge", "The modem, operator and radio technology of the interface (value 1).");
    for s in list {
        let m = &s.modem;
        let or = |v: &Option<String>| v.clone().unwrap_or_default();
        f.sample(
            &[
                ("interface", &s.interface),
                ("device", &m.device),
                ("model", &or(&m.modem.model)),
                ("operator", &or(&m.operator.name)),
                ("technology", &or(&m.registration.technology)),
            ],
            1.0,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> InterfaceStatus {
        let mut s = InterfaceStatus { interface: "wwan".into(), state: "up".into(), ..Default::default() };
        s.modem.connection.since = Some("2026-01-01T00:00:00Z".into());
        s.modem.signal.rsrp_dbm = Some(-95.5);
        s.counters.reconnects_by_cause.insert("network-disconnect".into(), 2);
        s.counters.rx_bytes = 1234;
        s.last_error_code = Some("CONNECT_FAILED".into());
        s.modem.connection.last_error = Some("the modem said \"no\"\nagain \\".into());
        s
    }

    #[test]
    fn families_series_and_escaping() {
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds("2026-01-01T00:01:40Z").unwrap());
        let text = render(&[sample()], now);
        assert!(text.contains("ncmd_up{interface=\"wwan\"} 1\n"), "{text}");
        assert!(text.contains("ncmd_link_uptime_seconds{interface=\"wwan\"} 100\n"), "{text}");
        assert!(text.contains("ncmd_reconnects_total{interface=\"wwan\",cause=\"network-disconnect\"} 2\n"));
        assert!(text.contains("ncmd_signal_rsrp_dbm{interface=\"wwan\",leg=\"any\"} -95.5\n"), "{text}");
        assert!(!text.contains("ncmd_signal_rssi_dbm{"), "absent facts are not invented");
        assert!(text.contains("ncmd_receive_bytes_total{interface=\"wwan\"} 1234\n"));
        assert!(text.contains(r#"message="the modem said \"no\"\nagain \\"} 1"#), "{text}");
        // Every family has exactly one HELP and one TYPE line.
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split(' ').nth(2).unwrap();
            assert_eq!(text.matches(&format!("# TYPE {name} ")).count(), 1);
        }
    }

    #[test]
    fn signal_per_leg_on_5g_nsa() {
        let mut s = sample();
        s.modem.signal.technology = Some("lte+nr5g".into());
        s.modem.signal.lte = Some(LegSignal { rsrp_dbm: Some(-91.0), sinr_db: Some(10.0), ..Default::default() });
        s.modem.signal.nr = Some(LegSignal { rsrp_dbm: Some(-71.0), rsrq_db: Some(-11.0), sinr_db: Some(13.0), ..Default::default() });
        let text = render(&[s], SystemTime::now());
        assert!(text.contains("ncmd_signal_rsrp_dbm{interface=\"wwan\",leg=\"lte\"} -91\n"), "{text}");
        assert!(text.contains("ncmd_signal_rsrp_dbm{interface=\"wwan\",leg=\"nr\"} -71\n"), "{text}");
        assert!(text.contains("ncmd_signal_sinr_db{interface=\"wwan\",leg=\"nr\"} 13\n"), "{text}");
        assert!(!text.contains("leg=\"any\""), "with legs, the top-level copy is not repeated: {text}");
        assert!(!text.contains("ncmd_signal_rsrq_db{interface=\"wwan\",leg=\"lte\"}"));
    }

    #[test]
    fn down_link_has_no_uptime() {
        let mut s = sample();
        s.state = "backoff".into();
        let text = render(&[s], SystemTime::now());
        assert!(text.contains("ncmd_up{interface=\"wwan\"} 0\n"));
        assert!(text.contains("ncmd_link_uptime_seconds{interface=\"wwan\"} 0\n"));
    }
}
