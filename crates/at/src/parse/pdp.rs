//! PDP context replies: `+CGDCONT?`/`=?` (3GPP TS 27.007 §10.1.1), `+CGPADDR` (§10.1.14),
//! `+CGCONTRDP` (§10.1.23), `+CGACT?` (§10.1.10), `+CGATT?` (§10.1.9), and the address
//! notations modems print (dotted IPv4 with or without a dotted mask, 16/32-number dotted
//! IPv6, colon IPv6, `addr/len`).

use super::{fields, payload, payloads, Field, ParseError, Reply};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

/// One defined context (`+CGDCONT: <cid>,<PDP_type>,<APN>,…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdpContext {
    pub cid: u8,
    /// `IP`, `IPV6`, `IPV4V6`, … as the modem spells it.
    #[serde(rename = "pdptype")]
    pub pdp_type: String,
    pub apn: String,
}

fn cid(f: Option<&Field<'_>>) -> Result<u8, String> {
    f.ok_or("cid missing")?
        .num::<u8>()?
        .ok_or_else(|| "cid missing".to_string())
}

pub fn cgdcont<R: Reply + ?Sized>(reply: &R) -> Result<Vec<PdpContext>, ParseError> {
    payloads(reply, "+CGDCONT:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+CGDCONT", line, why);
            if f.len() < 2 {
                return Err(bad("expected <cid>,<PDP_type>[,<APN>…]".into()));
            }
            Ok(PdpContext {
                cid: cid(f.first()).map_err(bad)?,
                pdp_type: f[1].text.to_string(),
                apn: f.get(2).map_or("", |a| a.text).to_string(),
            })
        })
        .collect()
}

/// `(1-16)`, `(1,2,5)`, `(1)` or `1-16` → the inclusive range it spans.
fn range(text: &str) -> Option<RangeInclusive<u8>> {
    let inner = text.trim().trim_start_matches('(').trim_end_matches(')');
    let mut lo = u8::MAX;
    let mut hi = u8::MIN;
    for part in inner.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b) = (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?);
        lo = lo.min(a.min(b));
        hi = hi.max(a.max(b));
    }
    (lo <= hi).then_some(lo..=hi)
}

/// `AT+CGDCONT=?` → the cid range supported for each PDP type.
pub fn cgdcont_test<R: Reply + ?Sized>(
    reply: &R,
) -> Result<Vec<(String, RangeInclusive<u8>)>, ParseError> {
    payloads(reply, "+CGDCONT:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: &str| ParseError::new("+CGDCONT=?", line, why);
            let r = range(f[0].text).ok_or_else(|| bad("first field is not a cid range"))?;
            let t = f
                .get(1)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| bad("PDP type missing"))?;
            Ok((t.text.to_string(), r))
        })
        .collect()
}

/// Prefix length of a contiguous netmask; `None` if the mask has holes.
fn mask_len(mask: &[u8]) -> Option<u8> {
    let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
    let contiguous = mask
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1))
        .skip(ones as usize)
        .all(|bit| bit == 0);
    contiguous.then(|| u8::try_from(ones).ok()).flatten()
}

/// An address as modems print it, with the prefix length when a mask or `/len` is given.
pub(crate) fn addr_mask(text: &str) -> Option<(IpAddr, Option<u8>)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some((a, len)) = text.split_once('/') {
        let (addr, _) = addr_mask(a)?;
        return Some((addr, len.trim().parse().ok()));
    }
    if let Some((a, m)) = text.split_once(' ') {
        let (addr, _) = addr_mask(a)?;
        let mask = addr_mask(m).and_then(|(m, _)| match m {
            IpAddr::V4(m) => mask_len(&m.octets()),
            IpAddr::V6(m) => mask_len(&m.octets()),
        });
        return Some((addr, mask));
    }
    if text.contains(':') {
        return text.parse::<IpAddr>().ok().map(|a| (a, None));
    }
    let parts: Vec<u8> = text
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let v4 = |b: &[u8]| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    let v6 = |b: &[u8]| {
        let mut o = [0u8; 16];
        o.copy_from_slice(&b[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    match parts.len() {
        4 => Some((v4(&parts), None)),
        8 => Some((v4(&parts[..4]), mask_len(&parts[4..]))),
        16 => Some((v6(&parts), None)),
        32 => Some((v6(&parts[..16]), mask_len(&parts[16..]))),
        _ => None,
    }
}

/// An address field; empty or unspecified (`0.0.0.0`, `::`) → `None`.
fn addr(f: Option<&Field<'_>>) -> Option<IpAddr> {
    f.and_then(|f| addr_mask(f.text))
        .map(|(a, _)| a)
        .filter(|a| !a.is_unspecified())
}

/// `+CGPADDR: <cid>[,<addr1>[,<addr2>]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PdpAddress {
    pub cid: u8,
    /// Empty when the context has no address yet.
    pub addresses: Vec<IpAddr>,
}

pub fn cgpaddr<R: Reply + ?Sized>(reply: &R) -> Result<Vec<PdpAddress>, ParseError> {
    payloads(reply, "+CGPADDR:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+CGPADDR", line, why);
            Ok(PdpAddress {
                cid: cid(f.first()).map_err(bad)?,
                addresses: f.iter().skip(1).filter_map(|a| addr(Some(a))).collect(),
            })
        })
        .collect()
}

/// `+CGCONTRDP: <cid>,<bearer_id>,<apn>[,<addr and mask>[,<gw>[,<dns1>[,<dns2>…]]]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextParams {
    pub cid: u8,
    pub bearer_id: Option<u8>,
    pub apn: String,
    pub address: Option<IpAddr>,
    pub prefix_len: Option<u8>,
    pub gateway: Option<IpAddr>,
    pub dns: Vec<IpAddr>,
}

pub fn cgcontrdp<R: Reply + ?Sized>(reply: &R) -> Result<Vec<ContextParams>, ParseError> {
    payloads(reply, "+CGCONTRDP:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+CGCONTRDP", line, why);
            if f.len() < 3 {
                return Err(bad("expected <cid>,<bearer_id>,<apn>,…".into()));
            }
            let local = f
                .get(3)
                .and_then(|a| addr_mask(a.text))
                .filter(|(a, _)| !a.is_unspecified());
            Ok(ContextParams {
                cid: cid(f.first()).map_err(bad)?,
                bearer_id: f[1].num::<u8>().map_err(bad)?,
                apn: f[2].text.to_string(),
                address: local.map(|(a, _)| a),
                prefix_len: local.and_then(|(_, l)| l),
                gateway: addr(f.get(4)),
                dns: [5, 6].iter().filter_map(|i| addr(f.get(*i))).collect(),
            })
        })
        .collect()
}

/// `+CGACT: <cid>,<state>` lines → (cid, active).
pub fn cgact<R: Reply + ?Sized>(reply: &R) -> Result<Vec<(u8, bool)>, ParseError> {
    payloads(reply, "+CGACT:")
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new("+CGACT", line, why);
            let state = f.get(1).ok_or_else(|| bad("state missing".into()))?;
            match state.num::<u8>().map_err(bad)? {
                Some(s @ (0 | 1)) => Ok((cid(f.first()).map_err(bad)?, s == 1)),
                _ => Err(bad("state is not 0 or 1".into())),
            }
        })
        .collect()
}

/// `+CGATT: <state>` → attached to the packet domain?
pub fn cgatt<R: Reply + ?Sized>(reply: &R) -> Result<bool, ParseError> {
    let line = payload(reply, &["+CGATT:"], false)
        .ok_or_else(|| ParseError::new("+CGATT", "", "no +CGATT line"))?;
    match line {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(ParseError::new("+CGATT", line, "state is not 0 or 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses() {
        assert_eq!(addr_mask("10.0.0.1"), Some((ip("10.0.0.1"), None)));
        assert_eq!(
            addr_mask("10.40.54.48.255.255.255.224"),
            Some((ip("10.40.54.48"), Some(27)))
        );
        assert_eq!(
            addr_mask("192.168.97.2/30"),
            Some((ip("192.168.97.2"), Some(30)))
        );
        assert_eq!(
            addr_mask("2001:db8::1/64"),
            Some((ip("2001:db8::1"), Some(64)))
        );
        assert_eq!(
            addr_mask("10.1.2.3 255.255.0.0"),
            Some((ip("10.1.2.3"), Some(16)))
        );
        assert_eq!(
            addr_mask("10.1.2.3.255.0.255.0"),
            Some((ip("10.1.2.3"), None))
        );
        assert_eq!(addr_mask("1.2.3"), None);
        assert_eq!(addr_mask("300.1.1.1"), None);
        assert_eq!(addr_mask(""), None);
    }

    #[test]
    fn cgdcont_replies() {
        // Pycom LTE driver source comment (Sequans modem):
        // +CGDCONT: 1,"IP","spe.inetd.vodafone.nbiot",,,,0,0,0,0,0,0,1,,0
        let c =
            cgdcont("+CGDCONT: 1,\"IP\",\"spe.inetd.vodafone.nbiot\",,,,0,0,0,0,0,0,1,,0\r\nOK")
                .unwrap();
        assert_eq!(
            c,
            vec![PdpContext {
                cid: 1,
                pdp_type: "IP".into(),
                apn: "spe.inetd.vodafone.nbiot".into()
            }]
        );
        let c = cgdcont(
            "+CGDCONT: 1,\"IPV4V6\",\"internet\",\"0.0.0.0\",0,0\r\n+CGDCONT: 2,\"IPV6\",\"\"",
        )
        .unwrap();
        assert_eq!((c.len(), c[1].cid, c[1].apn.as_str()), (2, 2, ""));
        assert!(cgdcont("+CGDCONT: x,\"IP\"").is_err());
        assert_eq!(cgdcont("OK").unwrap(), vec![]);
    }

    #[test]
    fn cgdcont_test_replies() {
        // Constructed per 27.007 §10.1.1 (one line per PDP type).
        let t = cgdcont_test("+CGDCONT: (1-16),\"IP\",,,(0-2),(0-4),(0-1),(0-1)\r\n+CGDCONT: (1-16),\"IPV6\",,,(0-2),(0-4)\r\n+CGDCONT: (1,2,5),\"IPV4V6\"").unwrap();
        assert_eq!(
            t,
            vec![
                ("IP".into(), 1..=16),
                ("IPV6".into(), 1..=16),
                ("IPV4V6".into(), 1..=5)
            ]
        );
        assert!(cgdcont_test("+CGDCONT: (a-b),\"IP\"").is_err());
    }

    #[test]
    fn cgpaddr_replies() {
        // A public diagnostics tool's tests: +CGPADDR: 1,"10.117.101.195" and an empty one.
        let a = cgpaddr("+CGPADDR: 1,\"10.117.101.195\"\r\n+CGPADDR: 2,\"\"").unwrap();
        assert_eq!(a[0].addresses, vec![ip("10.117.101.195")]);
        assert!(a[1].addresses.is_empty());
        let a =
            cgpaddr("+CGPADDR: 1,\"10.1.1.1\",\"254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1\"").unwrap();
        assert_eq!(a[0].addresses, vec![ip("10.1.1.1"), ip("fe80::1")]);
    }

    #[test]
    fn cgcontrdp_replies() {
        // Pycom LTE driver comment (Sequans): quoted address+mask, empty gateway, MTU tail.
        let c = cgcontrdp("+CGCONTRDP: 1,5,\"spe.inetd.vodafone.nbiot.mnc028.mcc901.gprs\",\"10.175.213.177.255.255.255.255\",\"\",\"10.105.16.254\",\"10.105.144.254\",\"\",\"\",,,1430").unwrap();
        assert_eq!(c[0].address, Some(ip("10.175.213.177")));
        assert_eq!(c[0].prefix_len, Some(32));
        assert_eq!(c[0].gateway, None);
        assert_eq!(c[0].dns, vec![ip("10.105.16.254"), ip("10.105.144.254")]);
        // WNC (AT&T M18Q) mbed driver comment: unquoted address+mask and gateway.
        let c = cgcontrdp("+CGCONTRDP: 1,5,\"m2m.com.attz.mnc170.mcc310.gprs\",10.192.234.63.255.255.255.128,10.192.234.1,8.8.8.8,8.8.4.4,,,").unwrap();
        assert_eq!(
            (c[0].address, c[0].prefix_len, c[0].gateway),
            (
                Some(ip("10.192.234.63")),
                Some(25),
                Some(ip("10.192.234.1"))
            )
        );
        // Rohde & Schwarz CMW500 test network, IPv6 in 32-number dotted form.
        let c = cgcontrdp("+CGCONTRDP: 1,5,\"cmw500.rohde-schwarz.com.mnc001.mcc001.gprs\",254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1.255.255.255.255.255.255.255.255.255.255.255.255.255.255.255.255,,252.177.202.254.0.0.0.0.0.0.0.0.0.0.0.2,,,").unwrap();
        assert_eq!(
            (c[0].address, c[0].prefix_len),
            (Some(ip("fe80::1")), Some(128))
        );
        assert_eq!(c[0].dns, vec![ip("fcb1:cafe::2")]);
        // Quectel RG501Q-EU prints bare tokens, RM520N-GL quotes them (same network).
        let q = cgcontrdp("+CGCONTRDP: 1,5,SMARTLTE,10.167.105.28,,10.151.151.44,10.151.151.48")
            .unwrap();
        let r = cgcontrdp(
            "+CGCONTRDP: 1,5,\"SMARTLTE\",\"10.148.167.210\",,\"10.151.151.44\",\"10.151.151.48\"",
        )
        .unwrap();
        assert_eq!(
            (q[0].apn.as_str(), q[0].dns.len(), q[0].prefix_len),
            ("SMARTLTE", 2, None)
        );
        assert_eq!(r[0].address, Some(ip("10.148.167.210")));
        assert!(cgcontrdp("+CGCONTRDP: 1").is_err());
    }

    #[test]
    fn cgact_cgatt() {
        assert_eq!(
            cgact("+CGACT: 1,1\r\n+CGACT: 2,0").unwrap(),
            vec![(1, true), (2, false)]
        );
        assert!(cgact("+CGACT: 1,7").is_err());
        assert!(cgact("+CGACT: 1").is_err());
        // "+CGATT: 1" from a SIMCom emulator in a public repo; 27.007 §10.1.9.
        assert_eq!(cgatt("+CGATT: 1"), Ok(true));
        assert_eq!(cgatt("+CGATT: 0\r\nOK"), Ok(false));
        assert!(cgatt("+CGATT: 2").is_err());
    }
}
