//! One-shot typed reads of a modem into a status snapshot: identity, SIM, radio, PDP
//! contexts, and the vendor facts (mode, connection state, IP) by profile data.
//!
//! Owns which query fills which status field, and the loading of the vendor profiles.
//! Every query may fail on a given modem: a failed or unparsable reply leaves its field
//! `null`, never a guess. Must not know about session order or how the snapshot is shown.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use std::net::IpAddr;

use ncmd_at::{parse, AtChannel};
use ncmd_link::ipcheck::{Prefix, Proposed};
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

/// Reads everything `info` shows, the connection being that of PDP context `cid` (the
/// UCI `profile`). Never fails as a whole: unknown facts stay null.
pub async fn read(chan: &AtChannel, device: &str, cid: u8, timeout: Duration) -> ModemStatus {
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
    fill_radio(chan, timeout, vendor, &mut st).await;
    if let Some(t) = vendor.and_then(|v| v.system_info_query.as_ref()) {
        if let Ok(cmd) = t.expand(&Vars::new(cid, "IP")) {
            if let Ok(r) = chan.command(&cmd.text, timeout).await {
                if let Ok(s) = parse::sysinfoex(&r) {
                    fill_from_system_info(&s, &mut st);
                }
            }
        }
    }
    if let Ok(r) = chan.command("AT+CGDCONT?", timeout).await {
        if let Ok(list) = parse::cgdcont(&r) {
            st.pdp = list.into_iter().map(|c| Pdp { cid: c.cid, pdptype: c.pdp_type, apn: c.apn }).collect();
        }
    }
    if let Some(profile) = vendor {
        fill_vendor(chan, timeout, profile, cid, &mut st).await;
    }
    st
}

/// What a `^SYSINFOEX` reply adds where the 3GPP queries left a field unknown: the
/// technology, and the SIM state its `sim_state` states (1 valid, 255 not present).
fn fill_from_system_info(s: &parse::SysInfoEx, st: &mut ModemStatus) {
    if st.registration.technology.is_none() {
        st.registration.technology = s.technology.map(|t| t.as_str().to_string());
    }
    if st.sim.state.is_none() {
        st.sim.state = match s.sim_state {
            1 => Some("ready".into()),
            255 => Some("not-inserted".into()),
            _ => None,
        };
    }
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
/// Registration, operator and signal, each with the vendor's best queries (profile
/// data: `registration_queries`, `signal_queries`; 3GPP defaults without a profile).
pub async fn fill_radio(chan: &AtChannel, timeout: Duration, profile: Option<&VendorProfile>, st: &mut ModemStatus) {
    let default = VendorProfile::default();
    let profile = profile.unwrap_or(&default);
    let vars = Vars::new(1, "IP");
    let mut regs = Vec::new();
    for t in profile.registration_queries() {
        let Ok(cmd) = t.expand(&vars) else { continue };
        if let Ok(r) = chan.command(&cmd.text, timeout).await {
            regs.extend(parse::creg(&r).ok());
        }
    }
    if let Some(reg) = parse::best_registration(&regs) {
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
            // Only a numeric MCC/MNC; a name printed under format 2 is not one.
            st.operator.mcc_mnc = parse::cops(&r).ok().and_then(|op| op.mcc_mnc);
        }
        let _ = chan.command("AT+COPS=3,0", timeout).await;
    }
    for t in profile.signal_queries() {
        let Ok(cmd) = t.expand(&vars) else { continue };
        let Ok(r) = chan.command(&cmd.text, timeout).await else { continue };
        if let Ok(s) = parse::signal(&r) {
            st.signal = signal_status(&s);
            fill_from_cell_report(&s, st);
            break;
        }
    }
}

/// What a vendor cell report (`+QENG`, `!GSTATUS`) adds to the registration: the serving
/// cell and MCC/MNC where the 3GPP replies gave none, "not registered" when it says so,
/// and the technology — EN-DC (`lte+nr5g`) also over a plain `lte` from `+CEREG`, whose
/// AcT 7 cannot show the NR leg.
fn fill_from_cell_report(s: &parse::Signal, st: &mut ModemStatus) {
    // Only a cell report names a cell or a registration; a plain signal reply (^HCSQ's
    // sysmode, +CESQ's legs) does not speak for the registration.
    if s.cell.is_none() && s.registered.is_none() {
        return;
    }
    let reg = &mut st.registration;
    if let Some(t) = s.technology {
        let endc_over_lte = t == parse::Technology::LteNr5g && reg.technology.as_deref() == Some("lte");
        if reg.technology.is_none() || endc_over_lte {
            reg.technology = Some(t.as_str().to_string());
        }
    }
    if let Some(c) = &s.cell {
        if reg.lac.is_none() && reg.cell_id.is_none() {
            reg.lac = c.area.map(|a| format!("{a:X}"));
            reg.cell_id = c.cell_id.map(|c| format!("{c:X}"));
        }
        if st.operator.mcc_mnc.is_none() {
            st.operator.mcc_mnc = c.mcc_mnc.clone();
        }
    }
    if reg.state.is_none() && s.registered == Some(false) {
        reg.state = Some(parse::RegStatus::NotRegistered.as_str().to_string());
        reg.technology = None;
    }
}

/// The status JSON's signal from the typed one. Huawei's steps are 0.2/0.5 dB and the
/// others whole or half dB: one decimal keeps every value exact.
pub fn signal_status(s: &parse::Signal) -> crate::status::Signal {
    let r = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
    let leg = |l: &parse::LegSignal| crate::status::LegSignal {
        rssi_dbm: r(l.rssi_dbm),
        rsrp_dbm: r(l.rsrp_dbm),
        rsrq_db: r(l.rsrq_db),
        sinr_db: r(l.sinr_db),
        rscp_dbm: r(l.rscp_dbm),
        ecio_db: r(l.ecio_db),
    };
    let primary = s.primary().map(leg).unwrap_or_default();
    crate::status::Signal {
        rssi_dbm: primary.rssi_dbm.or(r(s.rssi_dbm)),
        rsrp_dbm: primary.rsrp_dbm,
        rsrq_db: primary.rsrq_db,
        sinr_db: primary.sinr_db,
        rscp_dbm: primary.rscp_dbm,
        ecio_db: primary.ecio_db,
        technology: s.technology.map(|t| t.as_str().to_string()),
        gsm: s.gsm.as_ref().map(leg),
        umts: s.umts.as_ref().map(leg),
        lte: s.lte.as_ref().map(leg),
        nr: s.nr.as_ref().map(leg),
    }
}

/// IPv4 settings as the modem reports them, unchecked, from whichever reply the
/// profile's `ip_query` gives: `^DHCP` keeps its netmask as sent (holes and all), for
/// the IP check to judge; `+CGCONTRDP` without a mask is a host address.
pub fn proposed_v4(r: &ncmd_at::Response, cid: u8) -> Option<Proposed> {
    if let Ok(d) = parse::dhcp(r) {
        return Some(Proposed {
            address: d.address.into(),
            prefix: Prefix::Mask(d.netmask.into()),
            gateway: d.gateway.map(Into::into),
            dns: d.dns.iter().map(|&a| a.into()).collect(),
        });
    }
    let list = parse::cgcontrdp(r).ok()?;
    let v4 = parse::context_ip(&list, cid).ipv4?;
    Some(Proposed {
        address: v4.address.into(),
        prefix: v4.prefix_len.map_or(Prefix::Unknown, Prefix::Len),
        gateway: v4.gateway.map(Into::into),
        dns: v4.dns.iter().map(|&a| a.into()).collect(),
    })
}

/// IPv6 settings as the modem reports them, unchecked: `^DHCPV6`, or the IPv6 line of
/// a `+CGCONTRDP` reply (16 dotted numbers or colon form). A context that gives only its
/// link-local interface identifier (`fe80::…`) leaves the global address to the router
/// advertisement: `None` here. `+CGCONTRDP` without a prefix length is /64, the prefix a
/// 3GPP network gives a PDN connection (TS 23.401 §5.3.1.2.2).
pub fn proposed_v6(r: &ncmd_at::Response, cid: u8) -> Option<Proposed> {
    let p = reported_v6(r, cid)?;
    if matches!(p.address, IpAddr::V6(a) if a.is_unicast_link_local()) {
        tracing::info!("the modem gave only the link-local IPv6 identifier {}; the global address comes by router advertisement", p.address);
        return None;
    }
    Some(p)
}

/// The IPv6 settings exactly as the modem reports them, link-local identifier included
/// (what `info` shows; [`proposed_v6`] is what the session may configure).
fn reported_v6(r: &ncmd_at::Response, cid: u8) -> Option<Proposed> {
    if let Ok(d) = parse::dhcpv6(r) {
        return Some(Proposed {
            address: d.address.into(),
            prefix: d.prefix_len.map_or(Prefix::Unknown, Prefix::Len),
            gateway: d.gateway.map(Into::into),
            dns: d.dns.iter().map(|&a| a.into()).collect(),
        });
    }
    let list = parse::cgcontrdp(r).ok()?;
    let v6 = parse::context_ip(&list, cid).ipv6?;
    Some(Proposed {
        address: v6.address.into(),
        prefix: Prefix::Len(v6.prefix_len.unwrap_or(64)),
        gateway: v6.gateway.map(Into::into),
        dns: v6.dns.iter().map(|&a| a.into()).collect(),
    })
}

/// A report as `ncmd info` shows it (the prefix length of a netmask with holes is its
/// count of ones; no mask shows as a host address).
fn reported(p: &Proposed) -> IpInfo {
    let width = if p.address.is_ipv6() { 128 } else { 32 };
    let prefix_len = match p.prefix {
        Prefix::Len(l) => l,
        Prefix::Mask(IpAddr::V4(m)) => u32::from(m).count_ones() as u8,
        Prefix::Mask(IpAddr::V6(m)) => u128::from(m).count_ones() as u8,
        Prefix::Unknown => width,
    };
    IpInfo {
        address: p.address.to_string(),
        prefix_len,
        gateway: p.gateway.map(|g| g.to_string()),
        dns: p.dns.iter().map(|a| a.to_string()).collect(),
    }
}

/// IPv4 settings as reported, for display.
pub fn ipv4_from_reply(r: &ncmd_at::Response, cid: u8) -> Option<IpInfo> {
    proposed_v4(r, cid).as_ref().map(reported)
}

/// IPv6 settings as reported, for display (a link-local identifier shows as sent).
pub fn ipv6_from_reply(r: &ncmd_at::Response, cid: u8) -> Option<IpInfo> {
    reported_v6(r, cid).as_ref().map(reported)
}

/// Connected or not by the reply to the profile's `status_query`: its typed reader
/// (`status_reply`) when it names one, else its patterns. `None`: the reply says neither.
pub fn connected_by_profile(profile: &VendorProfile, vars: &Vars, r: &ncmd_at::Response) -> Option<bool> {
    if let Some(ncmd_profile::StatusReply::Ndisstat) = profile.status_reply {
        if let Ok(s) = parse::ndisstat(r) {
            return Some(s.connected());
        }
    }
    let lines = || r.lines.iter().map(String::as_str);
    if profile.connected_pattern.as_ref().is_some_and(|p| p.matches_any(vars, lines()).unwrap_or(false)) {
        return Some(true);
    }
    if profile.disconnected_pattern.as_ref().is_some_and(|p| p.matches_any(vars, lines()).unwrap_or(false)) {
        return Some(false);
    }
    // Answered, but neither pattern: a profile with only `connected_pattern` means
    // anything else is "not connected".
    profile.connected_pattern.is_some().then_some(false)
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

/// Vendor facts for `info`: mode (read-only), connection state of context `cid` and the
/// IP settings the modem reports for it, by profile data. The IP query is asked whatever
/// the status query says: its reply is per context and empty (or an error) for an
/// inactive one, so `info` shows what the modem reports rather than what a status
/// pattern implies (a modem whose status reply ncmd misreads still shows its address).
pub async fn fill_vendor(chan: &AtChannel, timeout: Duration, profile: &VendorProfile, cid: u8, st: &mut ModemStatus) {
    fill_mode(chan, timeout, profile, st).await;
    let vars = Vars::new(cid, "IP");
    let expand = |t: &ncmd_profile::Template| t.expand(&vars).ok().map(|e| e.text);
    if let Some(cmd) = profile.status_query.as_ref().and_then(expand) {
        if let Ok(r) = chan.command(&cmd, timeout).await {
            let up = connected_by_profile(profile, &vars, &r).unwrap_or(false);
            st.connection.state = Some(if up { "connected" } else { "disconnected" }.into());
        }
    }
    if let Some(cmd) = profile.ip_query.as_ref().and_then(expand) {
        if let Ok(r) = chan.command(&cmd, timeout).await {
            st.connection.ipv4 = ipv4_from_reply(&r, cid);
            st.connection.ipv6 = ipv6_from_reply(&r, cid);
        }
    }
    if let Some(cmd) = profile.ipv6_query.as_ref().and_then(expand) {
        if let Ok(r) = chan.command(&cmd, timeout).await {
            st.connection.ipv6 = ipv6_from_reply(&r, cid).or(st.connection.ipv6.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ncmd_link::ipcheck::{check, IpCheckError, Proposal, Source};
    use ncmd_at::Response;

    fn checked_v4(line: &str) -> Result<ncmd_link::ipcheck::Checked, IpCheckError> {
        let p = proposed_v4(&ncmd_at::Response::new([line]), 1).expect("a report");
        check(&Proposal { from: Source::Modem, ipv4: Some(p), ipv6: None, mtu: None }, &[])
    }

    #[test]
    fn reports_reach_the_check_as_the_modem_sent_them() {
        // Issue 12: a ^DHCP netmask with holes (255.0.255.0, little-endian hex) used to
        // become /16 by counting its ones.
        let e = checked_v4("^DHCP: 0200400A,00FF00FF,0100400A,0100400A,0,0,150000000,50000000").unwrap_err();
        assert!(matches!(e, IpCheckError::MaskHoles { .. }), "{e}");
        // `/200` in +CGCONTRDP.
        let e = checked_v4("+CGCONTRDP: 1,5,\"internet\",\"10.64.0.2/200\",\"10.64.0.1\"").unwrap_err();
        assert!(matches!(e, IpCheckError::PrefixRange { len: 200, .. }), "{e}");
        // Without a mask: a host address, its gateway on-link.
        let c = checked_v4("+CGCONTRDP: 1,5,\"internet\",\"10.64.0.2\",\"10.9.0.1\"").unwrap();
        assert_eq!(c.ipv4.unwrap().prefix_len, 32);
        // Huawei's own At_QryDhcpPara test reply (see ncmd-at huawei.rs) passes.
        let c = checked_v4("^DHCP: 413DA8C0,00FFFFFF,423DA8C0,423DA8C0,00000000,00000000,81920000,81920000").unwrap();
        assert_eq!(c.ipv4.unwrap().prefix_len, 24);
    }

    #[test]
    fn cgcontrdp_replies_become_ip_settings() {
        // ModemManager test-modem-helpers.c (9a2d586): TIM Italy in the pre-v9.4 layout.
        // Before: gateway 255.255.255.255, DNS 2.197.17.49 and 10.207.43.46.
        let r = Response::new(["+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\",\"10.206.56.132\",\"0.0.0.0\",\"0.0.0.0\""]);
        let ip = ipv4_from_reply(&r, 4).expect("ipv4");
        assert_eq!((ip.address.as_str(), ip.prefix_len, ip.gateway.as_deref()), ("2.197.17.49", 32, Some("2.197.17.49")));
        assert_eq!(ip.dns, ["10.207.43.46", "10.206.56.132"]);
        // It reaches the IP check as sent (/32, gateway = its own address), which refuses
        // such a gateway with a clear reason instead of a route via 255.255.255.255.
        let p = proposed_v4(&r, 4).expect("report");
        assert_eq!(p.prefix, Prefix::Len(32));
        let e = check(&Proposal { from: Source::Modem, ipv4: Some(p), ipv6: None, mtu: None }, &[]).unwrap_err();
        assert!(e.to_string().contains("is the address itself"), "{e}");
        // T-Mobile US, IPv6 in colon form (same file): used as the IPv6 settings, /64.
        let r = Response::new(["+CGCONTRDP: 1,0,\"fast.t-mobile.com\",\"2607:FB90:B59A:02C1:0AD3:1B57:4FD4:21F4\",\"FE80:0000:0000:0000:B46D:57FF:FE45:4545\",\"fd00:976a::9\",\"fd00:976a::10\""]);
        let ip = ipv6_from_reply(&r, 1).expect("ipv6");
        assert_eq!((ip.address.as_str(), ip.prefix_len), ("2607:fb90:b59a:2c1:ad3:1b57:4fd4:21f4", 64));
        assert_eq!(ip.gateway.as_deref(), Some("fe80::b46d:57ff:fe45:4545"));
        assert_eq!(ipv4_from_reply(&r, 1), None);
        // Only the link-local identifier: left to router advertisements by the session,
        // shown as sent by info.
        let r = Response::new(["+CGCONTRDP: 1,5,\"internetipv6.mnc003.mcc260.gprs\",\"254.128.0.0.0.0.0.0.0.0.0.37.88.136.248.1\",\"\",\"42.1.23.0.0.2.255.255.0.0.0.0.0.0.159.1\",\"42.1.23.0.0.3.255.255.0.0.0.0.0.0.152.34\",\"\",\"\",0,0"]);
        assert_eq!(proposed_v6(&r, 1), None);
        let shown = ipv6_from_reply(&r, 1).expect("shown");
        assert_eq!((shown.address.as_str(), shown.dns.len()), ("fe80::25:5888:f801", 2));
    }

    #[test]
    fn huawei_ipv6_only_session_is_connected() {
        let profiles = Profiles::builtin();
        let huawei = profiles.get("huawei").expect("huawei");
        let vars = Vars::new(1, "IPV6");
        // ModemManager test-modem-helpers-huawei.c (ndisstatqry_tests), 9a2d586. The old
        // pattern "^NDISSTATQRY: 1*" read this as disconnected.
        let r = Response::new(["^NDISSTATQRY: 0,,,\"IPV4\",1,,,\"IPV6\""]);
        assert_eq!(connected_by_profile(huawei, &vars, &r), Some(true));
        let r = Response::new(["^NDISSTATQry:1"]);
        assert_eq!(connected_by_profile(huawei, &vars, &r), Some(true));
        let r = Response::new(["^NDISSTATQRY: 0,,,\"IPV4\",0,,,\"IPV6\""]);
        assert_eq!(connected_by_profile(huawei, &vars, &r), Some(false));
    }

    #[test]
    fn signal_status_keeps_the_serving_leg_on_top() {
        // Quectel EN-DC (see ncmd-at's qeng_nsa test for the sources).
        let s = parse::signal("+QENG: \"servingcell\",\"NOCONN\"\r\n+QENG: \"LTE\",\"FDD\",520,04,4D8002,167,250,1,3,3,7E7,-128,-17,-94,7,10,23-\r\n+QENG:\"NR5G-NSA\",460,01,747,-71,13,-11,627264,78,12,1").unwrap();
        let st = signal_status(&s);
        // EN-DC: the LTE anchor on top, the NR leg beside it.
        assert_eq!(st.technology.as_deref(), Some("lte+nr5g"));
        assert_eq!((st.rsrp_dbm, st.sinr_db), (Some(-128.0), Some(-18.6)));
        assert_eq!(st.nr.and_then(|l| l.sinr_db), Some(13.0));
        assert_eq!(st.legs().map(|(n, _)| n).collect::<Vec<_>>(), ["lte", "nr"]);
        // +CSQ alone: rssi on top, no legs.
        let st = signal_status(&parse::signal("+CSQ: 23,99").unwrap());
        assert_eq!((st.rssi_dbm, st.technology.as_deref(), st.legs().count()), (Some(-67.0), None, 0));
    }
}
