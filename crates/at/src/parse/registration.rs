//! Registration and operator replies: `+CREG`/`+CGREG`/`+CEREG`/`+C5GREG`
//! (3GPP TS 27.007 §7.2, §10.1.20, §10.1.22, §10.1.40) and `+COPS` (§7.3).

use super::{fields, payload, Field, ParseError, Reply, Technology};
use serde::{Serialize, Serializer};

/// Registration state, reduced to what a connection cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegStatus {
    NotRegistered,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    /// Codes with no equivalent above (8: emergency bearer services only, …).
    Other(u8),
}

impl RegStatus {
    /// From 27.007 `<stat>`. 6/9 (home, SMS-only / CSFB not preferred) are registered at
    /// home as far as data goes, 7/10 likewise roaming.
    pub fn from_stat(stat: u8) -> RegStatus {
        match stat {
            0 => RegStatus::NotRegistered,
            1 | 6 | 9 => RegStatus::Home,
            2 => RegStatus::Searching,
            3 => RegStatus::Denied,
            4 => RegStatus::Unknown,
            5 | 7 | 10 => RegStatus::Roaming,
            n => RegStatus::Other(n),
        }
    }

    /// The status JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            RegStatus::NotRegistered => "not-registered",
            RegStatus::Home => "home",
            RegStatus::Searching => "searching",
            RegStatus::Denied => "denied",
            RegStatus::Unknown | RegStatus::Other(_) => "unknown",
            RegStatus::Roaming => "roaming",
        }
    }

    pub fn is_registered(self) -> bool {
        matches!(self, RegStatus::Home | RegStatus::Roaming)
    }
}

impl Serialize for RegStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One registration report (query reply or URC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub stat: RegStatus,
    /// LAC (2G/3G) or TAC (LTE/NR), from hex.
    pub lac: Option<u32>,
    /// Cell identity, from hex (NR cell ids are 36 bits, hence u64).
    pub cell_id: Option<u64>,
    /// From `<AcT>`; without one, a registered `+CEREG` means LTE (EPS) and a registered
    /// `+C5GREG` means NR (5GS), since each reports one domain only.
    pub technology: Option<Technology>,
}

/// The registration that best says how the modem is attached, from the replies to
/// `+C5GREG?`, `+CEREG?`, `+CGREG?`, `+CREG?` in any order: a registered one first,
/// the newest technology among them (NR over LTE over UMTS over GSM), then the most
/// telling unregistered state (denied, searching, not registered, unknown).
pub fn best_registration(regs: &[Registration]) -> Option<Registration> {
    let rank = |r: &Registration| {
        let registered = r.stat.is_registered();
        let tech = r.technology.map_or(0, |t| match t {
            Technology::Gsm => 1,
            Technology::Umts => 2,
            Technology::Lte => 3,
            Technology::Nr5g | Technology::LteNr5g => 4,
        });
        let state = match r.stat {
            RegStatus::Home | RegStatus::Roaming => 5,
            RegStatus::Denied => 4,
            RegStatus::Searching => 3,
            RegStatus::NotRegistered => 2,
            RegStatus::Unknown | RegStatus::Other(_) => 1,
        };
        (registered, tech, state)
    };
    // max_by_key keeps the last of equals; reverse so the caller's order breaks ties.
    regs.iter().rev().max_by_key(|r| rank(r)).copied()
}

const REG_PREFIXES: &[&str] = &["+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:"];

fn hex<T: TryFrom<u64>>(f: Option<&Field<'_>>) -> Result<Option<T>, String> {
    let Some(f) = f.filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let digits = f.text.trim_start_matches("0x").trim_start_matches("0X");
    u64::from_str_radix(digits, 16)
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| format!("{:?} is not a hex value in range", f.text))
}

/// Parses `+CREG`/`+CGREG`/`+CEREG`/`+C5GREG`, in the query form `<n>,<stat>[,<lac>,<ci>[,<AcT>…]]`
/// or the URC form `<stat>[,<lac>,<ci>[,<AcT>…]]`. The forms are told apart by where the
/// first quoted field (the LAC) sits; for unquoted replies by the field count and by the
/// second field: a `<stat>` is one or two digits, a LAC/TAC is longer hex. A non-numeric
/// AcT (seen on a Samsung S8500) is read as unknown rather than rejected, and so is a
/// LAC or cell id that is not hex (Qualcomm Gobi `+CREG: 2,1,  0 5, 2715`): the state and
/// the other fields still count. Novatel LTE modems put a one-byte RAC between TAC and
/// cell id (`+CEREG: 2,1, 1F00, 20 ,79D903 ,7`); that layout is recognised as
/// ModemManager does (test-modem-helpers.c): a short field where the cell id belongs,
/// followed by a long one where 27.007 has the AcT.
pub fn creg<R: Reply + ?Sized>(reply: &R) -> Result<Registration, ParseError> {
    let line = payload(reply, REG_PREFIXES, false)
        .ok_or_else(|| ParseError::new("+CREG", "", "no +CREG/+CGREG/+CEREG/+C5GREG line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("+CREG", line, why);
    let urc_form = match f.len() {
        1 => true,
        2 => false,
        _ if f[1].quoted => true,
        _ if f[2].quoted => false,
        3 => true,
        _ => f[1].text.len() > 2,
    };
    let base = usize::from(!urc_form);
    let stat = f
        .get(base)
        .ok_or_else(|| bad("stat missing".into()))?
        .num::<u8>()
        .map_err(bad)?
        .ok_or_else(|| bad("stat missing".into()))?;
    let short = |i: usize| f.get(i).is_some_and(|x| x.text.len() <= 2);
    let long = |i: usize| f.get(i).is_some_and(|x| x.text.len() > 2);
    let ci_at = if short(base + 2) && long(base + 3) && f.len() > base + 4 {
        base + 3
    } else {
        base + 2
    };
    let act = f.get(ci_at + 1).and_then(|a| a.num::<u8>().ok().flatten());
    let stat = RegStatus::from_stat(stat);
    let lines = reply.reply_lines();
    let prefix = lines.iter().find_map(|l| {
        REG_PREFIXES
            .iter()
            .find(|p| crate::result::strip_prefix_ci(l, p).is_some())
    });
    let domain = match prefix {
        Some(&"+CEREG:") if stat.is_registered() => Some(Technology::Lte),
        Some(&"+C5GREG:") if stat.is_registered() => Some(Technology::Nr5g),
        _ => None,
    };
    Ok(Registration {
        stat,
        lac: hex(f.get(base + 1)).ok().flatten(),
        cell_id: hex(f.get(ci_at)).ok().flatten(),
        technology: act.and_then(Technology::from_act).or(domain),
    })
}

/// `+COPS: <mode>[,<format>,<oper>[,<AcT>]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// 0 automatic, 1 manual, 2 deregister, 3 format only, 4 manual/automatic.
    pub mode: u8,
    /// Long or short alphanumeric name (format 0 or 1), or whatever non-numeric text a
    /// modem prints under format 2.
    pub name: Option<String>,
    /// MCC+MNC: only when the format field says numeric (2) and the value is 5 or 6
    /// digits. An operator name never lands here.
    pub mcc_mnc: Option<String>,
    pub technology: Option<Technology>,
}

pub fn cops<R: Reply + ?Sized>(reply: &R) -> Result<Operator, ParseError> {
    let line = payload(reply, &["+COPS:"], false)
        .ok_or_else(|| ParseError::new("+COPS", "", "no +COPS line"))?;
    if line.starts_with('(') {
        return Err(ParseError::new(
            "+COPS",
            line,
            "this is a network scan (AT+COPS=?) reply, not the current operator",
        ));
    }
    let f = fields(line);
    let bad = |why: String| ParseError::new("+COPS", line, why);
    let mode = f[0]
        .num::<u8>()
        .map_err(bad)?
        .ok_or_else(|| bad("mode missing".into()))?;
    let format = match f.get(1) {
        Some(x) => x.num::<u8>().map_err(bad)?,
        None => None,
    };
    let oper = f.get(2).map(|o| o.text.trim()).filter(|o| !o.is_empty());
    let numeric = |o: &str| (5..=6).contains(&o.len()) && o.bytes().all(|b| b.is_ascii_digit());
    let (name, mcc_mnc) = match (format, oper) {
        (_, None) => (None, None),
        (Some(2), Some(o)) if numeric(o) => (None, Some(o.to_string())),
        (Some(0..=2) | None, Some(o)) => (Some(o.to_string()), None),
        (Some(n), Some(_)) => return Err(bad(format!("unknown operator format {n}"))),
    };
    let act = match f.get(3) {
        Some(a) => a.num::<u8>().map_err(bad)?,
        None => None,
    };
    Ok(Operator {
        mode,
        name,
        mcc_mnc,
        technology: act.and_then(Technology::from_act),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real replies from ModemManager's src/tests/test-modem-helpers.c (test_creg*,
    /// test_cgreg*, test_cereg*, test_c5greg*), each with the modem it came from:
    /// (reply, stat, lac, ci, technology).
    type Case = (
        &'static str,
        RegStatus,
        Option<u32>,
        Option<u64>,
        Option<Technology>,
    );
    const MM_CREG: &[Case] = &[
        ("+CREG: 1,3", RegStatus::Denied, None, None, None),
        ("+CREG: 3", RegStatus::Denied, None, None, None),
        // Sierra Mercury, solicited then unsolicited.
        (
            "+CREG: 1,1,84CD,00D30173",
            RegStatus::Home,
            Some(0x84cd),
            Some(0xd30173),
            None,
        ),
        (
            "+CREG: 1,84CD,00D30156",
            RegStatus::Home,
            Some(0x84cd),
            Some(0xd30156),
            None,
        ),
        // Sony Ericsson K850i.
        (
            "+CREG: 2,1,\"CE00\",\"01CEAD8F\"",
            RegStatus::Home,
            Some(0xce00),
            Some(0x01cead8f),
            None,
        ),
        (
            "+CREG: 1,\"CE00\",\"00005449\"",
            RegStatus::Home,
            Some(0xce00),
            Some(0x5449),
            None,
        ),
        // Huawei E160G, unregistered and registered.
        (
            "+CREG: 2,0,00,0",
            RegStatus::NotRegistered,
            Some(0),
            Some(0),
            None,
        ),
        (
            "+CREG: 2,1,8BE3,2BAF",
            RegStatus::Home,
            Some(0x8be3),
            Some(0x2baf),
            None,
        ),
        (
            "+CREG: 1,8BE3,2BAF",
            RegStatus::Home,
            Some(0x8be3),
            Some(0x2baf),
            None,
        ),
        // Sony Ericsson TM-506 (leading zeros in the CI).
        (
            "+CREG: 2,1,\"8BE3\",\"00002BAF\"",
            RegStatus::Home,
            Some(0x8be3),
            Some(0x2baf),
            None,
        ),
        // Novatel XU870 unregistered.
        ("+CREG: 2,,", RegStatus::Searching, None, None, None),
        // Iridium and leading-zero variants.
        (
            "+CREG:002,001,\"18d8\",\"ffff\"",
            RegStatus::Home,
            Some(0x18d8),
            Some(0xffff),
            None,
        ),
        (
            "+CREG:2,1,0001,0010",
            RegStatus::Home,
            Some(1),
            Some(0x10),
            None,
        ),
        (
            "+CREG: 1,0001,0010,0",
            RegStatus::Home,
            Some(1),
            Some(0x10),
            Some(Technology::Gsm),
        ),
        (
            "+CREG: 001,\"0001\",\"0010\",000",
            RegStatus::Home,
            Some(1),
            Some(0x10),
            Some(Technology::Gsm),
        ),
        // u-blox TOBY-L2 on LTE, stat 6 (SMS only, home).
        (
            "+CREG: 2,6,\"8B37\",\"0A265185\",7",
            RegStatus::Home,
            Some(0x8b37),
            Some(0x0a265185),
            Some(Technology::Lte),
        ),
        (
            "+CREG: 6,\"8B37\",\"0A265185\",7",
            RegStatus::Home,
            Some(0x8b37),
            Some(0x0a265185),
            Some(Technology::Lte),
        ),
        // Ericsson F3607gw, EDGE.
        (
            "+CGREG: 2,1,\"8BE3\",\"00002B5D\",3",
            RegStatus::Home,
            Some(0x8be3),
            Some(0x2b5d),
            Some(Technology::Gsm),
        ),
        (
            "+CGREG: 1,\"8BE3\",\"00002B5D\",3",
            RegStatus::Home,
            Some(0x8be3),
            Some(0x2b5d),
            Some(Technology::Gsm),
        ),
        // Sony-Ericsson MD400 roaming.
        (
            "+CREG: 2,5,\"0502\",\"0404736D\"",
            RegStatus::Roaming,
            Some(0x0502),
            Some(0x0404736d),
            None,
        ),
        (
            "+CGREG: 5,\"0502\",\"0404736D\",2",
            RegStatus::Roaming,
            Some(0x0502),
            Some(0x0404736d),
            Some(Technology::Umts),
        ),
        // Alcatel X220D (random blanks).
        (
            "+CGREG: 2,1, 81ED, 1A9CEB",
            RegStatus::Home,
            Some(0x81ed),
            Some(0x1a9ceb),
            None,
        ),
        // Samsung Wave S8500 (junk after the CI).
        (
            "+CREG: 2,1,000B,2816, B, C2816",
            RegStatus::Home,
            Some(0xb),
            Some(0x2816),
            None,
        ),
        // CGREG with RAC.
        (
            "+CGREG: 1,\"1422\",\"00000142\",3,\"00\"",
            RegStatus::Home,
            Some(0x1422),
            Some(0x142),
            Some(Technology::Gsm),
        ),
        (
            "+CEREG: 2,1, 1F00, 79D903 ,7",
            RegStatus::Home,
            Some(0x1f00),
            Some(0x79d903),
            Some(Technology::Lte),
        ),
        (
            "+CEREG: 1, 1F00, 79D903 ,7",
            RegStatus::Home,
            Some(0x1f00),
            Some(0x79d903),
            Some(Technology::Lte),
        ),
        // Altair LTE.
        (
            "+CEREG: 1, 2, 0001, 00000100, 7",
            RegStatus::Searching,
            Some(1),
            Some(0x100),
            Some(Technology::Lte),
        ),
        (
            "+CEREG: 2, 0001, 00000100, 7",
            RegStatus::Searching,
            Some(1),
            Some(0x100),
            Some(Technology::Lte),
        ),
        // Thuraya.
        (
            "+CGREG: 2, 1, \"0426\", \"F00F\"",
            RegStatus::Home,
            Some(0x0426),
            Some(0xf00f),
            None,
        ),
        (
            "+CGREG: 1, \"0426\", \"F00F\"",
            RegStatus::Home,
            Some(0x0426),
            Some(0xf00f),
            None,
        ),
        ("+C5GREG: 1,3", RegStatus::Denied, None, None, None),
        (
            "+C5GREG: 2,1,1F00,79D903,11,6,ABCDEF",
            RegStatus::Home,
            Some(0x1f00),
            Some(0x79d903),
            Some(Technology::Nr5g),
        ),
        (
            "+C5GREG: 1,1F00,79D903,11,6,ABCDEF",
            RegStatus::Home,
            Some(0x1f00),
            Some(0x79d903),
            Some(Technology::Nr5g),
        ),
    ];

    #[test]
    fn creg_modemmanager_corpus() {
        for (line, stat, lac, ci, tech) in MM_CREG {
            let got = creg(*line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(
                got,
                Registration {
                    stat: *stat,
                    lac: *lac,
                    cell_id: *ci,
                    technology: *tech
                },
                "{line}"
            );
        }
    }

    #[test]
    fn creg_constructed() {
        // Constructed per 27.007 §10.1.22 (+CEREG n=4, no location) and a 36-bit NR cell id.
        assert_eq!(creg("+CEREG: 4,3,,,,0,15").unwrap().stat, RegStatus::Denied);
        let nr = creg("+C5GREG: 2,1,\"00A1B2\",\"9A0B1C2D3\",11").unwrap();
        assert_eq!(
            (nr.cell_id, nr.technology),
            (Some(0x9A0B1C2D3), Some(Technology::Nr5g))
        );
        assert!(creg("+CREG: x").is_err());
        // A LAC that is not hex is unknown; the state and cell id still count.
        let r = creg("+CREG: 2,1,\"zz\",\"1\"").unwrap();
        assert_eq!((r.stat, r.lac, r.cell_id), (RegStatus::Home, None, Some(1)));
        assert!(creg("+CSQ: 1,2").is_err());
    }

    /// ModemManager src/tests/test-modem-helpers.c (9a2d586): Qualcomm Gobi's garbled LAC
    /// (L1525) and the Novatel LTE layout with a RAC before the cell id (L1625, L1665).
    #[test]
    fn creg_gobi_and_novatel_layouts() {
        let gobi = creg("+CREG: 2,1,  0 5, 2715").unwrap();
        assert_eq!(
            (gobi.stat, gobi.lac, gobi.cell_id),
            (RegStatus::Home, None, Some(0x2715))
        );
        for (line, stat, tac, ci) in [
            (
                "+CEREG: 2,1, 1F00, 20 ,79D903 ,7",
                RegStatus::Home,
                0x1f00,
                0x79d903,
            ),
            (
                "+CEREG: 2,10, 2CA8, 20 ,B5583D ,7",
                RegStatus::Roaming,
                0x2ca8,
                0xb5583d,
            ),
        ] {
            let r = creg(line).unwrap();
            assert_eq!(
                (r.stat, r.lac, r.cell_id, r.technology),
                (stat, Some(tac), Some(ci), Some(Technology::Lte)),
                "{line}"
            );
        }
    }

    /// Real 5G replies: Quectel RG801H in 5G SA (quectel-CM log in FUjr/QModem,
    /// application/quectel_CM_5G_M/src/log/ecm_ncm_rndis.txt, commit
    /// f5035b7d6d643666556e5c3fe7e765b3ebe79379) and ModemManager's multi-digit stat case
    /// (src/tests/test-modem-helpers.c, 9a2d586).
    #[test]
    fn c5greg_real_and_best_of() {
        let nr = creg("+C5GREG: 2,1,\"46550B\",\"0000000170C23000\",11,1,\"01\"").unwrap();
        assert_eq!(
            nr,
            Registration {
                stat: RegStatus::Home,
                lac: Some(0x46550B),
                cell_id: Some(0x170C23000),
                technology: Some(Technology::Nr5g)
            }
        );
        assert_eq!(
            creg("\r\n+C5GREG: 1, 10\r\n").unwrap().stat,
            RegStatus::Roaming
        );
        // Registered +C5GREG / +CEREG without AcT: the domain says the technology.
        assert_eq!(
            creg("+C5GREG: 0,1").unwrap().technology,
            Some(Technology::Nr5g)
        );
        assert_eq!(
            creg("+CEREG: 0,1").unwrap().technology,
            Some(Technology::Lte)
        );
        assert_eq!(creg("+CEREG: 0,2").unwrap().technology, None);
        assert_eq!(creg("+CGREG: 0,1").unwrap().technology, None);
        // 5G SA: CEREG not registered (EPS), C5GREG registered → nr5g.
        let regs = [
            creg("+CEREG: 2,0").unwrap(),
            nr,
            creg("+CREG: 0,0").unwrap(),
        ];
        assert_eq!(
            best_registration(&regs).map(|r| r.technology),
            Some(Some(Technology::Nr5g))
        );
        // LTE registered, 5GS searching: lte.
        let regs = [
            creg("+C5GREG: 2,2").unwrap(),
            creg("+CEREG: 2,1,\"00C8\",\"01A2B3C4\",7").unwrap(),
        ];
        assert_eq!(
            best_registration(&regs).map(|r| (r.stat, r.technology)),
            Some((RegStatus::Home, Some(Technology::Lte)))
        );
        // Nothing registered: denied says more than searching.
        let regs = [creg("+CREG: 0,2").unwrap(), creg("+CEREG: 0,3").unwrap()];
        assert_eq!(
            best_registration(&regs).map(|r| r.stat),
            Some(RegStatus::Denied)
        );
        assert_eq!(best_registration(&[]), None);
    }

    #[test]
    fn regstatus_strings() {
        assert_eq!(RegStatus::from_stat(0).as_str(), "not-registered");
        assert_eq!(RegStatus::from_stat(5).as_str(), "roaming");
        assert_eq!(RegStatus::from_stat(8), RegStatus::Other(8));
        assert_eq!(RegStatus::Other(8).as_str(), "unknown");
    }

    #[test]
    fn cops_forms() {
        // Constructed per 27.007 §7.3.
        assert_eq!(
            cops("+COPS: 0,0,\"vodafone ES\",7").unwrap(),
            Operator {
                mode: 0,
                name: Some("vodafone ES".into()),
                mcc_mnc: None,
                technology: Some(Technology::Lte)
            }
        );
        // Quectel RG801H, 5G SA (FUjr/QModem quectel_CM_5G_M/src/log/ecm_ncm_rndis.txt,
        // f5035b7d): AcT 12 (NG-RAN) → nr5g; the long and short names of the same log.
        let o = cops("+COPS: 0,2,\"46000\",12").unwrap();
        assert_eq!(
            (o.mcc_mnc.as_deref(), o.technology),
            (Some("46000"), Some(Technology::Nr5g))
        );
        assert_eq!(
            cops("+COPS: 0,0,\"CHINA  MOBILE\",12")
                .unwrap()
                .name
                .as_deref(),
            Some("CHINA  MOBILE")
        );
        // Quectel RM510Q-GL on EN-DC, AcT 13 (pchat-imm/quectel_rm510q_gl README.md, 7e20450).
        assert_eq!(
            cops("+COPS: 0,0,\"TRUE-H TRUE-H\",13").unwrap().technology,
            Some(Technology::LteNr5g)
        );
        // "+COPS: 0,2,\"302490\",7" from a Quectel/T77 log (RooterSource t77data.sh).
        let o = cops("+COPS: 0,2,\"302490\",7").unwrap();
        assert_eq!(o.mcc_mnc.as_deref(), Some("302490"));
        assert_eq!(
            cops("+COPS: 0").unwrap(),
            Operator {
                mode: 0,
                name: None,
                mcc_mnc: None,
                technology: None
            }
        );
        assert_eq!(
            cops("+COPS: 1,1,\"O2\"").unwrap().name.as_deref(),
            Some("O2")
        );
        assert!(cops("+COPS: (2,\"Vodafone\",\"voda\",\"21401\",2),,(0-4),(0-2)").is_err());
        assert!(cops("+COPS: 0,7,\"x\"").is_err());
        // A name printed under format 2 stays a name, never an MCC/MNC.
        let o = cops("+COPS: 0,2,\"vodafone ES\",7").unwrap();
        assert_eq!((o.name.as_deref(), o.mcc_mnc), (Some("vodafone ES"), None));
        // Digits under format 0 are what the modem calls the name (Huawei 5G CPE log).
        assert_eq!(cops("+COPS: 0,0,\"46000\",7").unwrap().mcc_mnc, None);
        assert!(cops("+COPS: a").is_err());
    }
}
