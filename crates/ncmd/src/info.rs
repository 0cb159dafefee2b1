//! `ncmd info` and `ncmd at`: one-shot reads of a modem, and the readable rendering of
//! a status snapshot (shared with `ncmd status`).
//!
//! Owns which queries fill which status field. Every query may fail on a given modem:
//! a failed or unparsable reply leaves its field `null`, never a guess. Vendor commands
//! (mode, connection state, IP) come from the vendor profile, not from branches here.

use std::path::Path;
use std::time::Duration;

use ncmd_at::{parse, AtChannel};

use crate::status::{InterfaceStatus, IpInfo, ModemStatus, Pdp};

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
    let profiles = crate::modem::profiles();
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
        crate::modem::fill_vendor(chan, timeout, profile, &mut st).await;
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

/// `ncmd at`: through the daemon when one owns the port, else directly.
pub async fn raw_at(device: &Path, timeout: Duration, commands: &[String]) -> Result<(), crate::Error> {
    if let Some(iface) = daemon_owning(device).await {
        for cmd in commands {
            let reply = crate::control::request(
                &iface.1,
                &crate::control::Request::At { interface: iface.0.clone(), command: cmd.clone(), timeout_ms: timeout.as_millis() as u64 },
            )
            .await?;
            if !reply.ok {
                return Err(format!("{cmd}: {}", reply.error.unwrap_or_default()).into());
            }
            for l in reply.data.as_array().into_iter().flatten() {
                println!("{}", l.as_str().unwrap_or_default());
            }
            println!("OK");
        }
        return Ok(());
    }
    let chan = AtChannel::open(device).await?;
    for cmd in commands {
        let r = chan.command(cmd, timeout).await?;
        for l in &r.lines {
            println!("{l}");
        }
        println!("OK");
    }
    Ok(())
}

/// The (interface, socket) of a running daemon whose session uses `device`.
pub async fn daemon_owning(device: &Path) -> Option<(String, std::path::PathBuf)> {
    let dir = crate::control::runtime_dir();
    let want = std::fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf());
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sock") {
            continue;
        }
        let Ok(reply) = crate::control::request(&path, &crate::control::Request::Status { interface: None }).await else { continue };
        let list: Vec<InterfaceStatus> = serde_json::from_value(reply.data).unwrap_or_default();
        for s in list {
            let dev = Path::new(&s.modem.device);
            if std::fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf()) == want {
                return Some((s.interface, path));
            }
        }
    }
    None
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
