//! The status snapshot: the public JSON contract of DESIGN.md (`info --json`,
//! `status --json`) plus what the session adds (state, last error, events).
//!
//! Owns the shape and the field names only. It must not know how the facts were
//! obtained (AT replies, netlink): the modem and session layers fill it in.
//! Absent facts are `None` and serialise as `null`, never invented.

use serde::{Deserialize, Serialize};

/// One modem as `ncmd info` reads it, and as the daemon reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ModemStatus {
    pub device: String,
    pub modem: Identity,
    pub sim: Sim,
    pub registration: Registration,
    pub operator: Operator,
    pub signal: Signal,
    pub mode: Mode,
    pub pdp: Vec<Pdp>,
    pub connection: Connection,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub revision: Option<String>,
    pub imei: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sim {
    /// ready | pin-required | puk-required | not-inserted | error
    pub state: Option<String>,
    pub pin_attempts_left: Option<u8>,
    pub puk_attempts_left: Option<u8>,
    pub imsi: Option<String>,
    pub iccid: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Registration {
    /// home | roaming | searching | denied | not-registered | unknown
    pub state: Option<String>,
    /// gsm | umts | lte | nr5g | lte+nr5g
    pub technology: Option<String>,
    pub lac: Option<String>,
    pub cell_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Operator {
    pub name: Option<String>,
    pub mcc_mnc: Option<String>,
}

/// Signal: the top-level values are those of the serving leg (kept for existing
/// consumers); `technology` and the per-leg objects say which leg is which. On 5G
/// non-standalone both `lte` (the anchor) and `nr` are set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Signal {
    pub rssi_dbm: Option<f64>,
    pub rsrp_dbm: Option<f64>,
    pub rsrq_db: Option<f64>,
    pub sinr_db: Option<f64>,
    pub rscp_dbm: Option<f64>,
    pub ecio_db: Option<f64>,
    /// gsm | umts | lte | nr5g | lte+nr5g: the serving technology, when the reply says it.
    pub technology: Option<String>,
    pub gsm: Option<LegSignal>,
    pub umts: Option<LegSignal>,
    pub lte: Option<LegSignal>,
    /// NR: SS-RSRP, SS-RSRQ, SS-SINR.
    pub nr: Option<LegSignal>,
}

/// The measures of one radio leg (`null` when unknown).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct LegSignal {
    pub rssi_dbm: Option<f64>,
    pub rsrp_dbm: Option<f64>,
    pub rsrq_db: Option<f64>,
    pub sinr_db: Option<f64>,
    pub rscp_dbm: Option<f64>,
    pub ecio_db: Option<f64>,
}

impl Signal {
    /// The legs present, with the name the metrics use as `leg` label.
    pub fn legs(&self) -> impl Iterator<Item = (&'static str, &LegSignal)> {
        [("gsm", &self.gsm), ("umts", &self.umts), ("lte", &self.lte), ("nr", &self.nr)]
            .into_iter()
            .filter_map(|(name, leg)| leg.as_ref().map(|l| (name, l)))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Mode {
    /// auto | lte | umts | gsm | preferlte | preferumts
    pub current: Option<String>,
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pdp {
    pub cid: u8,
    pub pdptype: String,
    pub apn: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Connection {
    /// disconnected | connecting | connected | disconnecting
    pub state: Option<String>,
    pub ipv4: Option<IpInfo>,
    pub ipv6: Option<IpInfo>,
    /// RFC 3339 time the link came up.
    pub since: Option<String>,
    pub reconnects: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IpInfo {
    pub address: String,
    pub prefix_len: u8,
    pub gateway: Option<String>,
    pub dns: Vec<String>,
}

/// What `ncmd status --json` prints per interface: the modem status plus the
/// session's own view.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InterfaceStatus {
    pub interface: String,
    /// The session state (see `session::State`), e.g. `register`, `up`, `backoff`.
    pub state: String,
    /// netifd error code of the last failure (`CONNECT_FAILED`, `PIN_FAILED`, ...).
    pub last_error_code: Option<String>,
    /// Data interface (`wwan0`).
    pub ifname: Option<String>,
    #[serde(flatten)]
    pub modem: ModemStatus,
    /// Counters since the daemon started (for metrics and the web page).
    pub counters: Counters,
    /// Most recent events, oldest first (bounded).
    pub events: Vec<Event>,
    /// Links of the shared AT port other programs use (`option share_port`); empty: off.
    #[serde(default)]
    pub share_ports: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counters {
    /// Reconnects by cause (`network-disconnect`, `carrier-lost`, `black-hole`, ...).
    pub reconnects_by_cause: std::collections::BTreeMap<String, u64>,
    /// Bytes the black-hole probes put on the wire (request and reply).
    pub probe_bytes: u64,
    /// Data interface counters, as of the last refresh.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// One entry of the bounded event history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// RFC 3339 UTC time.
    pub time: String,
    /// Seconds since the daemon started (monotonic; for ordering and durations).
    pub uptime_s: f64,
    pub kind: String,
    pub message: String,
}

/// Formats a wall-clock time as RFC 3339 UTC without pulling in a date crate.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// The inverse of [`rfc3339`]: seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SSZ`
/// (what this module writes; anything else is `None`).
#[cfg(any(feature = "web", test))]
pub fn unix_seconds(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days-from-civil (Howard Hinnant's algorithm), the inverse of the one above.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_inverts_rfc3339() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_799] {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            assert_eq!(unix_seconds(&rfc3339(t)), Some(secs));
        }
        assert_eq!(unix_seconds("2026-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn rfc3339_known_instants() {
        let t = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(rfc3339(t(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(t(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(t(1_795_000_000)), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn absent_facts_are_null() {
        let v = serde_json::to_value(ModemStatus::default()).unwrap();
        assert!(v["modem"]["imei"].is_null());
        assert!(v["signal"]["rsrp_dbm"].is_null());
        assert!(v["connection"]["ipv4"].is_null());
        assert_eq!(v["pdp"], serde_json::json!([]));
    }
}
