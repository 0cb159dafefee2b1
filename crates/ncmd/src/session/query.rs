//! One-shot typed reads of a modem into a status snapshot: identity, SIM, radio, PDP
//! contexts, and the vendor facts (mode, connection state, IP) by profile data.
//!
//! Owns which query fills which status field, and the loading of the vendor profiles.
//! Every query may fail on a given modem: a failed or unparsable reply leaves its field
//! `null`, never a guess. Must not know about session order or how the snapshot is shown.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ncmd_at::{parse, AtChannel};
use ncmd_profile::{Profiles, Vars, VendorProfile};

use crate::status::{IpInfo, ModemStatus, Pdp};

/// Where users' profile files are looked for (later files win over earlier ones and
/// over the built-in table, key by key). `NCMD_PROFILES` (colon-separated) replaces the
/// list; a user's edited `/etc/gcom/ncm.json` works there unchanged. The stock ncm.json
/// is not read by default: it would bring back the fixed bugs (`ATQ0`, positional APN).
fn profile_paths() -> Vec<PathBuf> {
    match std::env::var("NCMD_PROFILES") {
        Ok(v) => v.split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect(),
        Err(_) => vec![PathBuf::from("/etc/ncmd/profiles.json")],
    }
}

/// The profiles, loaded once. A malformed user file is reported and the built-in
/// profiles are used, so a typo never leaves the router offline.
pub fn profiles() -> Arc<Profiles> {
    static P: OnceLock<Arc<Profiles>> = OnceLock::new();
    P.get_or_init(|| {
        let paths: Vec<PathBuf> = profile_paths().into_iter().filter(|p| p.exists()).collect();
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        match Profiles::load(&refs) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::error!("{e}; using the built-in vendor profiles");
                Arc::new(Profiles::builtin())
            }
        }
    })
    .clone()
}

/// Reads everything `info` shows. Never fails as a whole: unknown facts stay null.
pub async fn read(chan: &AtChannel, device: &str, timeout: Duration) -> ModemStatus {
    let mut st = ModemStatus { device: device.to_string(), ..Default::default() };
    // Echo off and numeric errors first; harmless if refused.
    let _ = chan.command("ATE0", timeout).await;
    let _ = chan.command("AT+CMEE=1", timeout).await;
    let q = |cmd: &'static str| async move { chan.command(cmd, timeout).await.ok() };

    st.modem.manufacturer = q("AT+CGMI").await.and_then(|r| parse::info_value(&r, "+CGMI:"));
    st.modem.model = q("AT+CGMM").await.and_then(|r| parse::info_value(&r, "+CGMM:"));
    st.modem.revision = q("AT+CGMR").await.and_then(|r| parse::info_value(&r, "+CGMR:"));
    st.modem.imei = q("AT+CGSN").await.and_then(|r| parse::info_value(&r, "+CGSN:"));
    let profiles = profiles();
    let selected = st.modem.manufacturer.as_deref().and_then(|m| profiles.select(m, st.modem.model.as_deref(), None).ok());
    st.modem.profile = selected.as_ref().map(|s| s.key.to_string()).or_else(|| profiles.get("generic").map(|_| "generic".to_string()));
    let vendor = selected.map(|s| s.profile).or_else(|| profiles.get("generic"));

    fill_sim(chan, timeout, &mut st).await;
    if st.sim.state.as_deref() == Some("ready") {
        st.sim.imsi = q("AT+CIMI").await.and_then(|r| parse::info_value(&r, "+CIMI:"));
    }
    fill_radio(chan, timeout, &mut st).await;
    if let Ok(r) = chan.command("AT+CGDCONT?", timeout).await {
        if let Ok(list) = parse::cgdcont(&r) {
            st.pdp = list.into_iter().map(|c| Pdp { cid: c.cid, pdptype: c.pdp_type, apn: c.apn }).collect();
        }
    }
    if let Some(profile) = vendor {
        fill_vendor(chan, timeout, profile, &mut st).await;
    }
    st
}

/// SIM state, attempts left, ICCID: tries the standard and the vendor forms in turn.
pub async fn fill_sim(chan: &AtChannel, timeout: Duration, st: &mut ModemStatus) {
    match chan.command("AT+CPIN?", timeout).await {
        Ok(r) => {
            st.sim.state = parse::cpin(&r).ok().map(|l| sim_state(&l).to_string());
        }
        Err(ncmd_at::AtError::Cme { error, .. }) => {
            st.sim.state = Some(
                match error.kind() {
                    ncmd_at::CmeKind::SimNotInserted => "not-inserted",
                    ncmd_at::CmeKind::SimPinRequired => "pin-required",
                    ncmd_at::CmeKind::SimPukRequired => "puk-required",
                    _ => "error",
                }
                .into(),
            )
        }
        Err(_) => {}
    }
    // Attempts: Huawei ^CPIN, 3GPP-ish +CPINR, Quectel +QPINC, whichever answers.
    if let Ok(r) = chan.command("AT^CPIN?", timeout).await {
        if let Ok(c) = parse::huawei_cpin(&r) {
            st.sim.pin_attempts_left = c.pin_times;
            st.sim.puk_attempts_left = c.puk_times;
        }
    }
    if st.sim.pin_attempts_left.is_none() {
        if let Ok(r) = chan.command("AT+CPINR=\"SIM PIN\"", timeout).await {
            if let Ok(list) = parse::cpinr(&r) {
                st.sim.pin_attempts_left = list.iter().find(|p| p.code.eq_ignore_ascii_case("SIM PIN")).map(|p| p.retries);
            }
        }
        if let Ok(r) = chan.command("AT+CPINR=\"SIM PUK\"", timeout).await {
            if let Ok(list) = parse::cpinr(&r) {
                st.sim.puk_attempts_left = list.iter().find(|p| p.code.eq_ignore_ascii_case("SIM PUK")).map(|p| p.retries);
            }
        }
    }
    for cmd in ["AT^ICCID?", "AT+CCID", "AT+ICCID", "AT+QCCID"] {
        if let Ok(r) = chan.command(cmd, timeout).await {
            if let Some(iccid) = parse::iccid(&r) {
                st.sim.iccid = Some(iccid);
                break;
            }
        }
    }
}

pub fn sim_state(l: &parse::SimLock) -> &'static str {
    match l {
        parse::SimLock::Ready => "ready",
        parse::SimLock::SimPin => "pin-required",
        parse::SimLock::SimPuk => "puk-required",
        _ => "error",
    }
}

/// Registration (packet domain first), operator and signal.
pub async fn fill_radio(chan: &AtChannel, timeout: Duration, st: &mut ModemStatus) {
    let mut best: Option<parse::Registration> = None;
    for cmd in ["AT+CEREG?", "AT+CGREG?", "AT+CREG?"] {
        if let Ok(r) = chan.command(cmd, timeout).await {
            if let Ok(reg) = parse::creg(&r) {
                let registered = matches!(reg.stat, parse::RegStatus::Home | parse::RegStatus::Roaming);
                if best.is_none() || registered {
                    best = Some(reg);
                }
                if registered {
                    break;
                }
            }
        }
    }
    if let Some(reg) = best {
        st.registration.state = Some(reg.stat.as_str().to_string());
        st.registration.technology = reg.technology.map(|t| t.as_str().to_string());
        st.registration.lac = reg.lac.map(|l| format!("{l:X}"));
        st.registration.cell_id = reg.cell_id.map(|c| format!("{c:X}"));
    }
    // +COPS=3,n only selects the reply format (RAM, not flash).
    if chan.command("AT+COPS=3,0", timeout).await.is_ok() {
        if let Ok(r) = chan.command("AT+COPS?", timeout).await {
            if let Ok(op) = parse::cops(&r) {
                st.operator.name = op.name;
                if st.registration.technology.is_none() {
                    st.registration.technology = op.technology.map(|t| t.as_str().to_string());
                }
            }
        }
    }
    if chan.command("AT+COPS=3,2", timeout).await.is_ok() {
        if let Ok(r) = chan.command("AT+COPS?", timeout).await {
            if let Ok(op) = parse::cops(&r) {
                st.operator.mcc_mnc = op.mcc_mnc.or(op.name);
            }
        }
        let _ = chan.command("AT+COPS=3,0", timeout).await;
    }
    match chan.command("AT^HCSQ?", timeout).await.ok().and_then(|r| parse::hcsq(&r).ok()) {
        Some(h) => {
            // Huawei's steps are 0.2/0.5 dB: one decimal keeps every value exact.
            let r = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
            st.signal.rssi_dbm = r(h.rssi_dbm);
            st.signal.rsrp_dbm = r(h.rsrp_dbm);
            st.signal.rsrq_db = r(h.rsrq_db);
            st.signal.sinr_db = r(h.sinr_db);
            st.signal.rscp_dbm = r(h.rscp_dbm);
            st.signal.ecio_db = r(h.ecio_db);
        }
        None => {
            if let Some(c) = chan.command("AT+CSQ", timeout).await.ok().and_then(|r| parse::csq(&r).ok()) {
                st.signal.rssi_dbm = c.rssi_dbm.map(f64::from);
            }
        }
    }
}

/// IPv4 settings from whichever reply the profile's `ip_query` gives.
pub fn ipv4_from_reply(r: &ncmd_at::Response, cid: u8) -> Option<IpInfo> {
    if let Ok(d) = parse::dhcp(r) {
        return Some(IpInfo {
            address: d.address.to_string(),
            prefix_len: d.prefix_len,
            gateway: d.gateway.map(|g| g.to_string()),
            dns: d.dns.iter().map(|a| a.to_string()).collect(),
        });
    }
    if let Ok(list) = parse::cgcontrdp(r) {
        if let Some(c) = list.into_iter().find(|c| c.cid == cid && c.address.is_some_and(|a| a.is_ipv4())) {
            return Some(IpInfo {
                address: c.address?.to_string(),
                prefix_len: c.prefix_len.unwrap_or(32),
                gateway: c.gateway.map(|g| g.to_string()),
                dns: c.dns.iter().map(|a| a.to_string()).collect(),
            });
        }
    }
    None
}

pub fn ipv6_from_reply(r: &ncmd_at::Response) -> Option<IpInfo> {
    let d = parse::dhcpv6(r).ok()?;
    Some(IpInfo {
        address: d.address.to_string(),
        prefix_len: d.prefix_len.unwrap_or(64),
        gateway: d.gateway.map(|g| g.to_string()),
        dns: d.dns.iter().map(|a| a.to_string()).collect(),
    })
}

/// The current mode by the profile's read-only `mode_query`.
pub async fn fill_mode(chan: &AtChannel, timeout: Duration, profile: &VendorProfile, st: &mut ModemStatus) {
    let vars = Vars::new(1, "IP");
    let expand = |t: &ncmd_profile::Template| t.expand(&vars).ok().map(|e| e.text);
    if let Some(q) = &profile.mode_query {
        if let Some(cmd) = expand(&q.command) {
            if let Ok(r) = chan.command(&cmd, timeout).await {
                st.mode.raw = r.lines.first().cloned();
                st.mode.current = q
                    .matches
                    .iter()
                    .find(|(_, p)| p.matches_any(&vars, r.lines.iter().map(String::as_str)).unwrap_or(false))
                    .map(|(name, _)| name.clone());
            }
        }
    }
}

/// Vendor facts for `info`: mode (read-only), connection state and IP, by profile data.
pub async fn fill_vendor(chan: &AtChannel, timeout: Duration, profile: &VendorProfile, st: &mut ModemStatus) {
    fill_mode(chan, timeout, profile, st).await;
    let vars = Vars::new(1, "IP");
    let expand = |t: &ncmd_profile::Template| t.expand(&vars).ok().map(|e| e.text);
    if let Some(cmd) = profile.status_query.as_ref().and_then(expand) {
        if let Ok(r) = chan.command(&cmd, timeout).await {
            let lines = || r.lines.iter().map(String::as_str);
            let up = profile.connected_pattern.as_ref().is_some_and(|p| p.matches_any(&vars, lines()).unwrap_or(false));
            st.connection.state = Some(if up { "connected" } else { "disconnected" }.into());
            if up {
                if let Some(cmd) = profile.ip_query.as_ref().and_then(expand) {
                    if let Ok(r) = chan.command(&cmd, timeout).await {
                        st.connection.ipv4 = ipv4_from_reply(&r, 1);
                    }
                }
            }
        }
    }
}
