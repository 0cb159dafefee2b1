//! The session's typed modem operations, carried out over AT with the vendor profile.
//!
//! Owns the translation "operation → profile commands → AT channel → parsed reply":
//! read-before-write for mode and PDP context, PIN entry with the secret masked, the
//! connection-state and IP queries, and URC → event mapping. Vendor differences come
//! from the profile data; only 3GPP-standard commands and replies are spelled here.
//! Must not know about session order, backoff or the data interface.

use std::collections::BTreeSet;
use std::time::Duration;

use ncmd_at::{parse, AtChannel, AtError, CmeKind, Urc};
use ncmd_config::Spec;
use ncmd_link::ipcheck::{Proposal, Source};
use ncmd_profile::{Var, Vars, VendorProfile};
use tokio::sync::broadcast;

use crate::session::{Failure, Modem, ModemError, ModemEvent, PinOutcome, Reg, SimInfo, SimLock, Setting, Code};
use crate::session::query::{connected_by_profile, fill_mode, profiles, proposed_v4, proposed_v6};
use crate::status::{InterfaceStatus, ModemStatus};


/// Per-command timeout for ordinary commands; dialling gets longer (the existing
/// handler waited up to 25 s for any answer).
const CMD_TIMEOUT: Duration = Duration::from_secs(10);
/// The cheap connection-status query (polled while up): modems answer it at once, so a
/// modem silent this long is hung.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// The status refresh as a whole (a dozen cheap reads that take well under a second on a
/// working modem).
const REFRESH_LIMIT: Duration = Duration::from_secs(10);

pub struct AtModem {
    chan: AtChannel,
    urcs: broadcast::Receiver<Urc>,
    spec: Spec,
    profile: Option<(String, VendorProfile)>,
    vars: Vars,
    /// Identity read once per opened modem, for status.
    identity: crate::status::Identity,
    registered_domains: RegDomains,
}

/// The packet registration domains (`+CGREG`, `+CEREG`, `+C5GREG`) last seen registered.
/// A URC that one domain is not registered loses the link only when no domain is left:
/// a 5G standalone modem reports `+CEREG: 0` while registered on 5GS. `+CREG` (circuit
/// switched) is left out: its URCs are not asked for, so it would never be cleared.
#[derive(Debug, Default)]
struct RegDomains(BTreeSet<&'static str>);

impl RegDomains {
    const PACKET: [&'static str; 3] = ["+CGREG:", "+CEREG:", "+C5GREG:"];

    /// The packet domain a registration line reports (`+CEREG: 0,1` → `+CEREG:`).
    fn domain(line: &str) -> Option<&'static str> {
        let upper = line.trim_start().to_ascii_uppercase();
        Self::PACKET.into_iter().find(|d| upper.starts_with(d))
    }

    /// Notes a registration line (reply or URC); true when it leaves no domain registered.
    fn note(&mut self, line: &str) -> bool {
        let (Some(domain), Ok(reg)) = (Self::domain(line), parse::creg(line)) else { return false };
        if reg.stat.is_registered() {
            self.0.insert(domain);
            false
        } else {
            self.0.remove(domain) && self.0.is_empty()
        }
    }
}

fn modem_error(e: AtError) -> ModemError {
    match e {
        AtError::PortClosed(m) => ModemError::PortGone(format!("the modem's port closed: {m}")),
        AtError::Timeout { .. } => ModemError::Timeout(e.to_string()),
        other => ModemError::Failed(other.to_string()),
    }
}

impl AtModem {
    pub fn new(chan: AtChannel, spec: Spec) -> Self {
        let urcs = chan.urcs();
        let mut vars = Vars::new(spec.profile, spec.pdptype.as_str());
        if let Some(apn) = &spec.apn {
            vars = vars.set(Var::Apn, apn);
        }
        if let Some(u) = &spec.username {
            vars = vars.set(Var::Username, u);
        }
        if let Some(p) = &spec.password {
            vars = vars.set(Var::Password, p.expose());
        }
        AtModem { chan, urcs, spec, profile: None, vars, identity: Default::default(), registered_domains: RegDomains::default() }
    }

    fn profile(&self) -> Result<&VendorProfile, ModemError> {
        self.profile.as_ref().map(|(_, p)| p).ok_or_else(|| ModemError::Failed("modem not identified yet".into()))
    }

    async fn send(&self, template: &ncmd_profile::Template, timeout: Duration) -> Result<ncmd_at::Response, ModemError> {
        let e = template.expand(&self.vars).map_err(|e| ModemError::Failed(e.to_string()))?;
        tracing::info!(target: "ncmd", "{}: sending -> {}", self.spec.interface, e.shown);
        self.chan.command_redacted(&e.text, &e.shown, timeout).await.map_err(modem_error)
    }

    async fn query(&self, cmd: &str) -> Result<ncmd_at::Response, ModemError> {
        self.chan.command(cmd, CMD_TIMEOUT).await.map_err(modem_error)
    }

    /// Sends `list`, leaving out (`pdp_writes == false`) or keeping only (`true`) the
    /// commands that write the PDP context.
    async fn send_list(&self, list: &[ncmd_profile::Template], pdp_writes: bool) -> Result<usize, ModemError> {
        let profile = self.profile()?;
        let mut sent = 0;
        for t in list {
            let text = t.expand(&self.vars).map_err(|e| ModemError::Failed(e.to_string()))?.text;
            if profile.is_pdp_write(&text) != pdp_writes {
                continue;
            }
            self.send(t, CMD_TIMEOUT).await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Does a reply line of `query` match the named state of a read-compare query?
    async fn query_matches(&self, q: &ncmd_profile::Query, state: &str) -> Result<bool, ModemError> {
        let Some(pattern) = q.matches.get(state) else { return Ok(false) };
        let r = self.send(&q.command, CMD_TIMEOUT).await?;
        Ok(pattern.matches_any(&self.vars, r.lines.iter().map(String::as_str)).unwrap_or(false))
    }

    fn classify(&mut self, urc: &Urc) -> Option<ModemEvent> {
        let line = urc.line.trim();
        if let Some((_, p)) = &self.profile {
            if p.disconnected_urc.iter().any(|pat| pat.matches(&self.vars, line).unwrap_or(false)) {
                return Some(ModemEvent::Disconnected(line.to_string()));
            }
            if p.connected_urc.iter().any(|pat| pat.matches(&self.vars, line).unwrap_or(false)) {
                return Some(ModemEvent::Connected);
            }
        }
        let upper = line.to_ascii_uppercase();
        // 3GPP TS 27.007 +CGEV and V.250 NO CARRIER.
        if upper.starts_with("+CGEV:") && upper.contains("DEACT") || upper == "NO CARRIER" {
            return Some(ModemEvent::Disconnected(line.to_string()));
        }
        if upper.starts_with("+CGEV:") && upper.contains("DETACH") {
            return Some(ModemEvent::RegistrationLost);
        }
        // A packet-domain registration URC: registered ends a wait for registration at
        // once; the link is lost only when no packet domain is left registered.
        if let (Some(_), Ok(reg)) = (RegDomains::domain(line), parse::creg(line)) {
            let none_left = self.registered_domains.note(line);
            if reg.stat.is_registered() {
                return Some(ModemEvent::Registered);
            }
            if none_left {
                return Some(ModemEvent::RegistrationLost);
            }
            return None;
        }
        if upper.starts_with("^SIMST: 255") || upper.starts_with("+CPIN: NOT INSERTED") || upper.starts_with("+SIMCARD: NOT AVAILABLE") {
            return Some(ModemEvent::SimRemoved);
        }
        None
    }

    fn drain_urcs(&mut self) {
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = self.urcs.try_recv() {}
    }
}

impl Modem for AtModem {
    async fn identify(&mut self) -> Result<String, Failure> {
        // A booting modem may answer garbage or nothing: retry until the step's deadline.
        let cgmi = loop {
            let _ = self.chan.command("ATE0", CMD_TIMEOUT).await;
            match self.query("AT+CGMI").await {
                Ok(r) => {
                    if let Some(v) = parse::info_value(&r, "+CGMI:") {
                        break v;
                    }
                }
                Err(ModemError::PortGone(m)) => return Err(Failure::new(Code::NoDevice, m)),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let cgmm = self.query("AT+CGMM").await.ok().and_then(|r| parse::info_value(&r, "+CGMM:"));
        let _ = self.query("AT+CMEE=1").await;
        let profiles = profiles();
        let (key, profile) = match profiles.select(&cgmi, cgmm.as_deref(), None) {
            Ok(s) => (s.key.to_string(), s.profile.clone()),
            // No vendor entry: standard 3GPP commands still dial most modems.
            Err(e) => match profiles.get("generic") {
                Some(p) => {
                    tracing::warn!("{e}; trying the generic 3GPP profile");
                    ("generic".to_string(), p.clone())
                }
                None => return Err(Failure::new(Code::UnsupportedModem, format!("Unsupported modem: {e}"))),
            },
        };
        if let Some(auth) = self.spec.auth {
            match profile.auth_value(auth.as_str()) {
                Some(v) => self.vars = self.vars.clone().set(Var::Auth, v),
                None => tracing::warn!("vendor profile {key} has no value for auth {}; using its default", auth.as_str()),
            }
        }
        self.identity = crate::status::Identity {
            manufacturer: Some(cgmi),
            model: cgmm,
            revision: self.query("AT+CGMR").await.ok().and_then(|r| parse::info_value(&r, "+CGMR:")),
            imei: self.query("AT+CGSN").await.ok().and_then(|r| parse::info_value(&r, "+CGSN:")),
            profile: Some(key.clone()),
        };
        self.profile = Some((key.clone(), profile));
        Ok(key)
    }

    async fn initialize(&mut self) -> Result<(), ModemError> {
        let list = self.profile()?.initialize.clone();
        self.send_list(&list, false).await?;
        // Ask for the events supervision uses (RAM settings, not flash): registration
        // URCs with location, and packet-domain event reports. Refusals are fine.
        let five_gs = self.profile()?.registration_queries().iter().any(|t| t.expand(&self.vars).is_ok_and(|e| e.text.eq_ignore_ascii_case("AT+C5GREG?")));
        let urcs: &[&str] = if five_gs { &["AT+CGREG=2", "AT+CEREG=2", "AT+C5GREG=2", "AT+CGEREP=2,1"] } else { &["AT+CGREG=2", "AT+CEREG=2", "AT+CGEREP=2,1"] };
        for cmd in urcs {
            if let Err(ModemError::PortGone(m)) = self.query(cmd).await {
                return Err(ModemError::PortGone(m));
            }
        }
        Ok(())
    }

    async fn sim(&mut self) -> Result<SimInfo, ModemError> {
        let lock = match self.chan.command("AT+CPIN?", CMD_TIMEOUT).await {
            Ok(r) => match parse::cpin(&r) {
                Ok(parse::SimLock::Ready) => SimLock::Ready,
                Ok(parse::SimLock::SimPin) => SimLock::PinRequired,
                Ok(parse::SimLock::SimPuk) => SimLock::PukRequired,
                _ => SimLock::Other,
            },
            Err(AtError::Cme { error, .. }) => match error.kind() {
                CmeKind::SimNotInserted => SimLock::NotInserted,
                CmeKind::SimPinRequired => SimLock::PinRequired,
                CmeKind::SimPukRequired => SimLock::PukRequired,
                _ => SimLock::Other,
            },
            Err(e) => return Err(modem_error(e)),
        };
        let mut st = ModemStatus::default();
        crate::session::query::fill_sim(&self.chan, CMD_TIMEOUT, &mut st).await;
        Ok(SimInfo {
            lock,
            pin_attempts_left: st.sim.pin_attempts_left,
            puk_attempts_left: st.sim.puk_attempts_left,
            iccid: st.sim.iccid,
            detail: st.sim.state,
        })
    }

    async fn enter_pin(&mut self) -> Result<PinOutcome, ModemError> {
        let Some(pin) = self.spec.pincode.clone() else { return Err(ModemError::Failed("no PIN configured".into())) };
        // The config crate guarantees 4–8 digits: nothing here can end the command.
        let cmd = format!("AT+CPIN=\"{}\"", pin.expose());
        tracing::info!(target: "ncmd", "{}: sending -> AT+CPIN=\"***\"", self.spec.interface);
        match self.chan.command_redacted(&cmd, "AT+CPIN=\"***\"", CMD_TIMEOUT).await {
            Ok(_) => Ok(PinOutcome::Accepted),
            Err(AtError::Cme { .. }) | Err(AtError::Error { .. }) => {
                let mut st = ModemStatus::default();
                crate::session::query::fill_sim(&self.chan, CMD_TIMEOUT, &mut st).await;
                Ok(PinOutcome::Rejected { attempts_left: st.sim.pin_attempts_left })
            }
            Err(e) => Err(modem_error(e)),
        }
    }

    async fn configure(&mut self) -> Result<(), ModemError> {
        let list = self.profile()?.configure.clone();
        self.send_list(&list, false).await.map(|_| ())
    }

    async fn ensure_mode(&mut self) -> Result<Setting, ModemError> {
        let Some(mode) = self.spec.mode else { return Ok(Setting::NotRequested) };
        let profile = self.profile()?.clone();
        let ncmd_profile::ModeCommand::Command(cmd) = profile.mode_command(mode.as_str()) else {
            tracing::warn!("vendor profile has no command for mode {}; skipped", mode.as_str());
            return Ok(Setting::Unsupported);
        };
        if let Some(q) = &profile.mode_query {
            if self.query_matches(q, mode.as_str()).await? {
                return Ok(Setting::AlreadySet);
            }
        }
        self.send(cmd, CMD_TIMEOUT).await?;
        Ok(Setting::Written)
    }

    async fn ensure_pdp(&mut self) -> Result<Setting, ModemError> {
        let profile = self.profile()?.clone();
        let writes: Vec<_> = profile.initialize.iter().chain(profile.configure.iter()).cloned().collect();
        let has_writes = writes.iter().any(|t| t.expand(&self.vars).map(|e| profile.is_pdp_write(&e.text)).unwrap_or(false));
        if !has_writes {
            return Ok(Setting::NotRequested);
        }
        let query = match &profile.pdp_query {
            Some(q) => self.send(q, CMD_TIMEOUT).await.ok(),
            None => self.query("AT+CGDCONT?").await.ok(),
        };
        let want_apn = self.spec.apn.clone().unwrap_or_default();
        let right = query.and_then(|r| parse::cgdcont(&r).ok()).is_some_and(|list| {
            list.iter().any(|c| c.cid == self.spec.profile && c.pdp_type.eq_ignore_ascii_case(self.spec.pdptype.as_str()) && c.apn.eq_ignore_ascii_case(&want_apn))
        });
        if right {
            return Ok(Setting::AlreadySet);
        }
        self.send_list(&writes, true).await?;
        Ok(Setting::Written)
    }

    /// Registered in any packet domain the profile asks about (`+C5GREG` too on 5G
    /// modules: a 5G standalone modem is registered on 5GS alone, `+CEREG` says 0).
    /// `+CREG` (circuit switched) decides only when no packet domain answered: a modem
    /// registered for calls while `+CGREG`/`+CEREG` search cannot carry data (Quectel
    /// EC21-J in corpus/sessions/quectel-ec21j-wiolte-never-registers.overlay).
    async fn registration(&mut self) -> Result<Reg, ModemError> {
        let queries = self.profile()?.registration_queries();
        let (mut packet, mut circuit) = (Vec::new(), Vec::new());
        self.registered_domains = RegDomains::default();
        for t in queries {
            let Ok(cmd) = t.expand(&self.vars) else { continue };
            match self.chan.command(&cmd.text, CMD_TIMEOUT).await {
                Ok(r) => {
                    if let Ok(reg) = parse::creg(&r) {
                        let mut is_packet = false;
                        r.lines.iter().for_each(|l| {
                            is_packet |= RegDomains::domain(l).is_some();
                            self.registered_domains.note(l);
                        });
                        if is_packet { &mut packet } else { &mut circuit }.push(reg);
                    }
                }
                Err(AtError::PortClosed(m)) => return Err(ModemError::PortGone(m)),
                Err(_) => {}
            }
        }
        let regs = if packet.is_empty() { circuit } else { packet };
        Ok(match parse::best_registration(&regs).map(|r| r.stat) {
            Some(parse::RegStatus::Home | parse::RegStatus::Roaming) => Reg::Registered,
            Some(parse::RegStatus::Denied) => Reg::Denied,
            Some(parse::RegStatus::Searching) => Reg::Searching,
            Some(_) => Reg::NotRegistered,
            None => Reg::Unknown,
        })
    }

    async fn dial(&mut self) -> Result<(), ModemError> {
        self.drain_urcs();
        let Some(connect) = self.profile()?.connect.clone() else { return Ok(()) };
        self.send(&connect, DIAL_TIMEOUT).await.map(|_| ())
    }

    async fn connected(&mut self) -> Result<Option<bool>, ModemError> {
        let profile = self.profile()?.clone();
        let Some(q) = &profile.status_query else { return Ok(None) };
        let r = self.send(q, STATUS_TIMEOUT).await?;
        Ok(connected_by_profile(&profile, &self.vars, &r))
    }

    async fn ip_config(&mut self) -> Result<Option<Proposal>, ModemError> {
        let profile = self.profile()?.clone();
        let mut ip = Proposal { from: Source::Modem, ipv4: None, ipv6: None, mtu: None };
        let cid = self.spec.profile;
        // The ip_query reply (+CGCONTRDP) may carry both families.
        let mut first = None;
        if let Some(q) = &profile.ip_query {
            match self.send(q, CMD_TIMEOUT).await {
                Ok(r) => first = Some(r),
                Err(ModemError::PortGone(m)) => return Err(ModemError::PortGone(m)),
                Err(_) => {}
            }
        }
        if self.spec.pdptype.has_ipv4() {
            ip.ipv4 = first.as_ref().and_then(|r| proposed_v4(r, cid));
        }
        if self.spec.pdptype.has_ipv6() {
            if let Some(q) = &profile.ipv6_query {
                ip.ipv6 = self.send(q, CMD_TIMEOUT).await.ok().and_then(|r| proposed_v6(&r, cid));
            }
            if ip.ipv6.is_none() {
                ip.ipv6 = first.as_ref().and_then(|r| proposed_v6(r, cid));
            }
        }
        Ok((ip.ipv4.is_some() || ip.ipv6.is_some()).then_some(ip))
    }

    async fn finalize(&mut self) -> Result<(), ModemError> {
        match self.profile()?.finalize.clone() {
            Some(t) => self.send(&t, CMD_TIMEOUT).await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn hangup(&mut self) -> Result<(), ModemError> {
        match self.profile()?.disconnect.clone() {
            Some(t) => self.send(&t, CMD_TIMEOUT).await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn ensure_ps_only(&mut self) -> Result<Setting, ModemError> {
        if !self.spec.psonly {
            return Ok(Setting::NotRequested);
        }
        let profile = self.profile()?.clone();
        let Some(set) = &profile.psonly else { return Ok(Setting::Unsupported) };
        if let Some(q) = &profile.psonly_query {
            if self.query_matches(q, "psonly").await? {
                return Ok(Setting::AlreadySet);
            }
        }
        self.send(set, CMD_TIMEOUT).await?;
        Ok(Setting::Written)
    }

    async fn reset(&mut self) -> Result<(), ModemError> {
        let reset = self.profile()?.reset.clone();
        match reset {
            Some(t) => self.send(&t, CMD_TIMEOUT).await.map(|_| ()),
            // 3GPP: full functionality with reset.
            None => self.query("AT+CFUN=1,1").await.map(|_| ()),
        }
    }

    async fn refresh_status(&mut self, status: &mut InterfaceStatus) -> Result<(), ModemError> {
        // Each read below gives up quietly on its own; the whole is bounded so that a
        // modem hanging half way through is reported, not waited on read after read.
        let refresh = async {
            status.modem.modem = self.identity.clone();
            let profile = self.profile.as_ref().map(|(_, p)| p);
            crate::session::query::fill_radio(&self.chan, CMD_TIMEOUT, profile, &mut status.modem).await;
            if let Some((_, p)) = &self.profile {
                fill_mode(&self.chan, CMD_TIMEOUT, p, &mut status.modem).await;
            }
            if let Ok(r) = self.query("AT+CGDCONT?").await {
                if let Ok(list) = parse::cgdcont(&r) {
                    status.modem.pdp = list.into_iter().map(|c| crate::status::Pdp { cid: c.cid, pdptype: c.pdp_type, apn: c.apn }).collect();
                }
            }
        };
        // Programs on the shared AT port (`option share_port`) may hold the modem between
        // these reads (an SMS being typed at its prompt): the bound is on the modem's
        // silence, not on the wall clock.
        let chan = self.chan.clone();
        tokio::pin!(refresh);
        let mut wait = REFRESH_LIMIT;
        loop {
            if tokio::time::timeout(wait, &mut refresh).await.is_ok() {
                return Ok(());
            }
            let silent = chan.silent_for();
            if silent >= REFRESH_LIMIT {
                return Err(ModemError::Timeout(format!("the modem stopped answering the status reads for {} s", REFRESH_LIMIT.as_secs())));
            }
            wait = REFRESH_LIMIT - silent;
        }
    }

    async fn next_event(&mut self) -> ModemEvent {
        loop {
            tokio::select! {
                urc = self.urcs.recv() => match urc {
                    Ok(u) => if let Some(ev) = self.classify(&u) { return ev },
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return ModemEvent::PortGone,
                },
                _ = self.chan.closed() => return ModemEvent::PortGone,
            }
        }
    }
}

#[cfg(test)]
mod reg_domain_tests {
    use super::RegDomains;

    #[test]
    fn a_domain_going_down_loses_the_link_only_when_none_is_left() {
        // 5G SA (the simulator's quectel-rm500q, formats of a Quectel RG801H log): the
        // +CEREG: 0 URC while registered on 5GS is no loss; +C5GREG going to 2 is.
        let mut d = RegDomains::default();
        assert!(!d.note("+C5GREG: 2,1,\"46550B\",\"0000000170C23000\",11,1,\"01\""));
        assert!(!d.note("+CEREG: 2,0"));
        assert!(!d.note("+CEREG: 0"));
        assert!(d.note("+C5GREG: 2"));
        // LTE: both packet domains registered; the link is lost when both say so.
        let mut d = RegDomains::default();
        d.note("+CGREG: 2,1,\"00C8\",\"01A2B3C4\",7");
        d.note("+CEREG: 2,1,\"00C8\",\"01A2B3C4\",7");
        assert!(!d.note("+CEREG: 2"));
        assert!(d.note("+CGREG: 2"));
        // +CREG never counts; a domain never seen registered cannot be lost.
        let mut d = RegDomains::default();
        assert!(!d.note("+CREG: 0,1"));
        assert!(!d.note("+CEREG: 0"));
    }
}
