//! The corpus of real modem replies (`corpus/`, see its README) through the pure parsers of
//! `ncmd_at::parse`: each reply is decoded by the parser ncmd uses for its command, turned
//! into the status-JSON fields it fills, and compared with the facts the entry states.
//! An entry whose command has no parser here fails with that reason: nothing is skipped.

use ncmd_at::parse::{self, Technology};
use ncmd_corpus::{insert, load_replies, lookup, Entry};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn tech(t: Option<Technology>) -> Value {
    t.map_or(Value::Null, |t| json!(t.as_str()))
}

fn num<T: Into<f64>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |v| json!(v.into()))
}

fn hex(v: Option<u64>) -> Value {
    v.map_or(Value::Null, |v| json!(format!("{v:X}")))
}

/// `connection.ipv4`/`ipv6` of one address with its prefix, gateway and DNS servers.
fn put_ip(out: &mut Value, addr: IpAddr, prefix: Option<u8>, gw: Option<IpAddr>, dns: &[IpAddr]) {
    let fam = if addr.is_ipv4() {
        "connection.ipv4"
    } else {
        "connection.ipv6"
    };
    insert(out, &format!("{fam}.address"), json!(addr.to_string()));
    insert(out, &format!("{fam}.prefix_len"), num(prefix));
    insert(
        out,
        &format!("{fam}.gateway"),
        gw.map_or(Value::Null, |g| json!(g.to_string())),
    );
    let same: Vec<String> = dns
        .iter()
        .filter(|d| d.is_ipv4() == addr.is_ipv4())
        .map(|d| d.to_string())
        .collect();
    insert(out, &format!("{fam}.dns"), json!(same));
}

/// The signal fields as `info` shows them: the serving leg (the LTE anchor under EN-DC)
/// at the top, the NR leg under `signal.nr`; a vendor cell report also names the
/// technology, the serving cell and, when it says so, that the modem is not registered.
fn put_signal(out: &mut Value, s: &parse::Signal) {
    let put_leg = |out: &mut Value, pre: &str, l: &parse::LegSignal| {
        for (k, v) in [
            ("rssi_dbm", l.rssi_dbm.or(s.rssi_dbm)),
            ("rsrp_dbm", l.rsrp_dbm),
            ("rsrq_db", l.rsrq_db),
            ("sinr_db", l.sinr_db),
            ("rscp_dbm", l.rscp_dbm),
            ("ecio_db", l.ecio_db),
        ] {
            insert(out, &format!("{pre}.{k}"), num(v));
        }
    };
    let none = parse::LegSignal::default();
    put_leg(out, "signal", s.primary().unwrap_or(&none));
    if let Some(nr) = &s.nr {
        put_leg(out, "signal.nr", nr);
    }
    if s.technology.is_some() {
        insert(out, "registration.technology", tech(s.technology));
    }
    if let Some(c) = &s.cell {
        insert(out, "registration.lac", hex(c.area));
        insert(out, "registration.cell_id", hex(c.cell_id));
        if let Some(m) = &c.mcc_mnc {
            insert(out, "operator.mcc_mnc", json!(m));
        }
    }
    if s.registered == Some(false) {
        insert(out, "registration.state", json!("not-registered"));
        insert(out, "registration.technology", Value::Null);
    }
}

fn sim_state(l: &parse::SimLock) -> &'static str {
    match l {
        parse::SimLock::Ready => "ready",
        parse::SimLock::SimPin => "pin-required",
        parse::SimLock::SimPuk => "puk-required",
        _ => "error",
    }
}

/// The status-JSON fields the reply fills, through the parser for its command.
fn decode(e: &Entry) -> Result<Value, String> {
    let lines: &[String] = &e.reply;
    let cmd = e.command.trim().to_ascii_uppercase();
    let mut out = json!({});
    let err = |x: parse::ParseError| x.to_string();
    match cmd.as_str() {
        "AT+CGMI" | "AT+CGMM" | "AT+CGMR" | "AT+CGSN" | "AT+CIMI" => {
            let (prefix, key) = match cmd.as_str() {
                "AT+CGMI" => ("+CGMI", "modem.manufacturer"),
                "AT+CGMM" => ("+CGMM", "modem.model"),
                "AT+CGMR" => ("+CGMR", "modem.revision"),
                "AT+CGSN" => ("+CGSN", "modem.imei"),
                _ => ("+CIMI", "sim.imsi"),
            };
            let v = parse::info_value(lines, prefix).ok_or("info_value found no value")?;
            insert(&mut out, key, json!(v));
        }
        "AT^ICCID?" | "AT+CCID" | "AT+ICCID" | "AT+QCCID" => {
            insert(
                &mut out,
                "sim.iccid",
                json!(parse::iccid(lines).ok_or("iccid found no ICCID")?),
            );
        }
        "AT+CPIN?" => {
            let cme = lines.iter().find_map(|l| match ncmd_at::classify_final(l) {
                Some(ncmd_at::Final::Cme(c)) => Some(c.kind()),
                _ => None,
            });
            let state = match cme {
                Some(ncmd_at::CmeKind::SimNotInserted) => "not-inserted",
                Some(ncmd_at::CmeKind::SimPinRequired) => "pin-required",
                Some(ncmd_at::CmeKind::SimPukRequired) => "puk-required",
                Some(_) => "error",
                None => sim_state(&parse::cpin(lines).map_err(err)?),
            };
            insert(&mut out, "sim.state", json!(state));
        }
        "AT^CPIN?" => {
            let c = parse::huawei_cpin(lines).map_err(err)?;
            insert(&mut out, "sim.state", json!(sim_state(&c.code)));
            insert(&mut out, "sim.pin_attempts_left", num(c.pin_times));
            insert(&mut out, "sim.puk_attempts_left", num(c.puk_times));
        }
        "AT+CSQ" => {
            insert(
                &mut out,
                "signal.rssi_dbm",
                num(parse::csq(lines).map_err(err)?.rssi_dbm),
            );
        }
        "AT+CESQ" | "AT+QENG=\"SERVINGCELL\"" | "AT!GSTATUS?" => {
            put_signal(&mut out, &parse::signal(lines).map_err(err)?);
        }
        "AT^SYSINFOEX" => {
            let s = parse::sysinfoex(lines).map_err(err)?;
            insert(&mut out, "registration.technology", tech(s.technology));
            // sim_state 1 is a valid SIM, 255 none (Huawei AT reference, ^SYSINFOEX).
            match s.sim_state {
                1 => insert(&mut out, "sim.state", json!("ready")),
                255 => insert(&mut out, "sim.state", json!("not-inserted")),
                _ => {}
            }
        }
        "AT!SCACT?" => {
            let active = parse::scact(lines)
                .map_err(err)?
                .iter()
                .any(|(cid, on)| *cid == 1 && *on);
            insert(
                &mut out,
                "connection.state",
                json!(if active { "connected" } else { "disconnected" }),
            );
        }
        "AT^HCSQ?" => {
            let h = parse::hcsq(lines).map_err(err)?;
            let pre = if matches!(h.technology, Some(Technology::Nr5g | Technology::LteNr5g)) {
                "signal.nr"
            } else {
                "signal"
            };
            for (k, v) in [
                ("rssi_dbm", h.rssi_dbm),
                ("rsrp_dbm", h.rsrp_dbm),
                ("sinr_db", h.sinr_db),
                ("rsrq_db", h.rsrq_db),
                ("rscp_dbm", h.rscp_dbm),
                ("ecio_db", h.ecio_db),
            ] {
                insert(&mut out, &format!("{pre}.{k}"), num(v));
            }
        }
        "AT+CREG?" | "AT+CGREG?" | "AT+CEREG?" | "AT+C5GREG?" => {
            let r = parse::creg(lines).map_err(err)?;
            insert(&mut out, "registration.state", json!(r.stat.as_str()));
            insert(&mut out, "registration.lac", hex(r.lac.map(u64::from)));
            insert(&mut out, "registration.cell_id", hex(r.cell_id));
            insert(&mut out, "registration.technology", tech(r.technology));
        }
        "AT+COPS?" => {
            let o = parse::cops(lines).map_err(err)?;
            insert(
                &mut out,
                "operator.name",
                o.name.map_or(Value::Null, |n| json!(n)),
            );
            insert(
                &mut out,
                "operator.mcc_mnc",
                o.mcc_mnc.map_or(Value::Null, |n| json!(n)),
            );
            insert(&mut out, "registration.technology", tech(o.technology));
        }
        "AT+CGDCONT?" => {
            for c in parse::cgdcont(lines).map_err(err)? {
                insert(
                    &mut out,
                    &format!("pdp[cid={}].pdptype", c.cid),
                    json!(c.pdp_type),
                );
                insert(&mut out, &format!("pdp[cid={}].apn", c.cid), json!(c.apn));
            }
        }
        c if c.starts_with("AT+CGCONTRDP") => {
            for p in parse::cgcontrdp(lines).map_err(err)? {
                if let Some(a) = p.address {
                    put_ip(&mut out, a, p.prefix_len, p.gateway, &p.dns);
                }
            }
        }
        c if c.starts_with("AT+CGPADDR") => {
            for p in parse::cgpaddr(lines).map_err(err)? {
                for a in p.addresses {
                    let fam = if a.is_ipv4() {
                        "connection.ipv4"
                    } else {
                        "connection.ipv6"
                    };
                    insert(&mut out, &format!("{fam}.address"), json!(a.to_string()));
                }
            }
        }
        "AT^DHCP?" => {
            let d = parse::dhcp(lines).map_err(err)?;
            let dns: Vec<IpAddr> = d.dns.iter().map(|a| IpAddr::V4(*a)).collect();
            put_ip(
                &mut out,
                IpAddr::V4(d.address),
                Some(d.prefix_len),
                d.gateway.map(IpAddr::V4),
                &dns,
            );
        }
        "AT^DHCPV6?" => {
            let d = parse::dhcpv6(lines).map_err(err)?;
            let dns: Vec<IpAddr> = d.dns.iter().map(|a| IpAddr::V6(*a)).collect();
            put_ip(
                &mut out,
                IpAddr::V6(d.address),
                d.prefix_len,
                d.gateway.map(IpAddr::V6),
                &dns,
            );
        }
        "AT^NDISSTATQRY?" => {
            let s = parse::ndisstat(lines).map_err(err)?;
            let up = [s.ipv4, s.ipv6].contains(&Some(parse::NdisState::Connected));
            insert(
                &mut out,
                "connection.state",
                json!(if up { "connected" } else { "disconnected" }),
            );
        }
        "AT^SYSCFGEX?" => {
            let s = parse::syscfgex(lines).map_err(err)?;
            let mode = match s.acqorder.as_str() {
                "00" => "auto",
                "03" => "lte",
                "02" => "umts",
                "01" => "gsm",
                "030201" => "preferlte",
                "0201" => "preferumts",
                other => {
                    return Err(format!(
                        "acquisition order {other:?} is none of ncmd's modes"
                    ))
                }
            };
            insert(&mut out, "mode.current", json!(mode));
        }
        "AT+CGACT?" => {
            let active = parse::cgact(lines)
                .map_err(err)?
                .iter()
                .any(|(cid, on)| *cid == 1 && *on);
            insert(
                &mut out,
                "connection.state",
                json!(if active { "connected" } else { "disconnected" }),
            );
        }
        _ => return Err(format!("no parser in ncmd_at::parse for {}", e.command)),
    }
    Ok(out)
}

#[test]
fn corpus_replies_decode_as_the_real_modem_said() {
    let dir = ncmd_corpus::corpus_dir();
    let entries = load_replies(&dir).unwrap_or_else(|e| panic!("corpus unreadable: {e}"));
    assert!(
        entries.len() >= 150,
        "the corpus has {} entries; issue 11 asks for at least 150",
        entries.len()
    );
    let mut failures = Vec::new();
    let mut by_command: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in &entries {
        let reasons: Vec<String> = match decode(e) {
            Ok(got) => e
                .expect
                .iter()
                .filter_map(|x| x.check(lookup(&got, &x.key)).err())
                .collect(),
            Err(why) => vec![why],
        };
        let key = e
            .command
            .split('=')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let slot = by_command.entry(key).or_default();
        slot.1 += 1;
        if reasons.is_empty() {
            slot.0 += 1;
        } else {
            failures.push(format!(
                "{} {}: {}",
                e.locator(),
                e.command,
                reasons.join("; ")
            ));
        }
    }
    let ok = entries.len() - failures.len();
    println!("corpus: {ok} of {} decoded as expected", entries.len());
    for (cmd, (good, all)) in &by_command {
        println!("  {cmd}: {good} of {all}");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "corpus: {ok} of {} decoded as expected; {} failures:\n{}",
        entries.len(),
        failures.len(),
        failures.join("\n")
    );
}
