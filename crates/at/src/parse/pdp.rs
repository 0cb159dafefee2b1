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

/// One `+CGCONTRDP` line: the parameters the network gave one context (one line per IP
/// family for an IPV4V6 context).
///
/// `prefix_len` is `None` when the modem gave **no mask** (Quectel RG501Q/RM520N print
/// a bare address, an IPv6 address comes without one in the layout of 27.007 v9.4+).
/// That is not /32 or /128: the caller decides (ncmd puts the address on the link with an
/// on-link route to the gateway; see DESIGN.md). `gateway` is never the limited broadcast
/// address, and it may equal `address` (TIM Italy's network does that: the link is
/// point-to-point, the route goes out of the interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextParams {
    pub cid: u8,
    pub bearer_id: Option<u8>,
    pub apn: String,
    pub address: Option<IpAddr>,
    pub prefix_len: Option<u8>,
    pub gateway: Option<IpAddr>,
    pub dns: Vec<IpAddr>,
    /// The reply used the layout from before 3GPP TS 27.007 v9.4, where the subnet mask
    /// is a field of its own after the address (every later field one place further).
    pub legacy_layout: bool,
}

/// The prefix length of `text` when it is a contiguous netmask of `family` (v6 or not)
/// with at least 8 bits (`255.255.255.0`, 16 dotted numbers or colon form for IPv6). A
/// gateway or DNS server never looks like that.
fn netmask_len(text: &str, v6: bool) -> Option<u8> {
    let text = text.trim();
    let octets: Vec<u8> = match text.parse::<Ipv6Addr>() {
        Ok(m) if v6 => m.octets().to_vec(),
        _ => text
            .split('.')
            .map(|p| p.parse::<u8>())
            .collect::<Result<_, _>>()
            .ok()?,
    };
    let want = if v6 { 16 } else { 4 };
    (octets.len() == want)
        .then(|| mask_len(&octets))
        .flatten()
        .filter(|l| *l >= 8)
}

/// A gateway field: empty, unspecified or the limited broadcast address → `None`.
fn gateway(f: Option<&Field<'_>>) -> Option<IpAddr> {
    addr(f).filter(|a| *a != IpAddr::V4(Ipv4Addr::BROADCAST))
}

/// Reads `+CGCONTRDP: <cid>,<bearer_id>,<apn>[,<local address and subnet mask>[,<gw>
/// [,<dns1>[,<dns2>…]]]]` in both layouts of 27.007 §10.1.23: since v9.4 the mask is
/// appended to the address in one field (`a1.a2.a3.a4.m1.m2.m3.m4`, 32 numbers for
/// IPv6); before, it was a field of its own. The old layout is recognised when the
/// address field has no mask and the next field is a netmask (a gateway never is);
/// then every later field is read one place further, as ModemManager does
/// (mm_3gpp_parse_cgcontrdp_response).
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
            let separate_mask = match (local, f.get(4)) {
                (Some((a, None)), Some(next)) => netmask_len(next.text, a.is_ipv6()),
                _ => None,
            };
            let shift = usize::from(separate_mask.is_some());
            Ok(ContextParams {
                cid: cid(f.first()).map_err(bad)?,
                bearer_id: f[1].num::<u8>().map_err(bad)?,
                apn: f[2].text.to_string(),
                address: local.map(|(a, _)| a),
                prefix_len: separate_mask.or_else(|| local.and_then(|(_, l)| l)),
                gateway: gateway(f.get(4 + shift)),
                dns: [5, 6]
                    .iter()
                    .filter_map(|i| addr(f.get(i + shift)))
                    .collect(),
                legacy_layout: separate_mask.is_some(),
            })
        })
        .collect()
}

/// The IPv4 side of a context, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ipv4Params {
    pub address: Ipv4Addr,
    /// `None`: the modem gave no mask (see [`ContextParams`]).
    pub prefix_len: Option<u8>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
}

/// The IPv6 side of a context, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ipv6Params {
    /// Often only the link-local interface identifier (`fe80::…`): the global prefix
    /// then comes by router advertisement on the data link.
    pub address: Ipv6Addr,
    /// `None`: the modem gave no prefix length.
    pub prefix_len: Option<u8>,
    pub gateway: Option<Ipv6Addr>,
    pub dns: Vec<Ipv6Addr>,
}

/// Both families of one context, from all its `+CGCONTRDP` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContextIp {
    pub ipv4: Option<Ipv4Params>,
    pub ipv6: Option<Ipv6Params>,
}

/// Sorts the lines of context `cid` by IP family. A line without an address still
/// contributes its DNS servers (T-Mobile US sends IPv6 DNS servers alone on one line).
/// DNS servers go to the family they belong to, whichever line carried them.
pub fn context_ip(params: &[ContextParams], cid: u8) -> ContextIp {
    let mut out = ContextIp::default();
    let lines: Vec<&ContextParams> = params.iter().filter(|p| p.cid == cid).collect();
    let dns4: Vec<Ipv4Addr> = lines
        .iter()
        .flat_map(|p| &p.dns)
        .filter_map(|d| match d {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .collect();
    let dns6: Vec<Ipv6Addr> = lines
        .iter()
        .flat_map(|p| &p.dns)
        .filter_map(|d| match d {
            IpAddr::V6(a) => Some(*a),
            IpAddr::V4(_) => None,
        })
        .collect();
    for p in &lines {
        match p.address {
            Some(IpAddr::V4(address)) if out.ipv4.is_none() => {
                out.ipv4 = Some(Ipv4Params {
                    address,
                    prefix_len: p.prefix_len,
                    gateway: match p.gateway {
                        Some(IpAddr::V4(g)) => Some(g),
                        _ => None,
                    },
                    dns: dns4.clone(),
                })
            }
            Some(IpAddr::V6(address)) if out.ipv6.is_none() => {
                out.ipv6 = Some(Ipv6Params {
                    address,
                    prefix_len: p.prefix_len,
                    gateway: match p.gateway {
                        Some(IpAddr::V6(g)) => Some(g),
                        _ => None,
                    },
                    dns: dns6.clone(),
                })
            }
            _ => {}
        }
    }
    out
}

/// `+CGACT: <cid>,<state>` lines → (cid, active).
pub fn cgact<R: Reply + ?Sized>(reply: &R) -> Result<Vec<(u8, bool)>, ParseError> {
    activation_list(reply, "+CGACT")
}

/// Sierra `!SCACT: <cid>,<state>` lines (the reply to `AT!SCACT?`, one line per context;
/// ModemManager's Sierra plugin tests) → `(cid, active)`, the same shape as `+CGACT`.
pub fn scact<R: Reply + ?Sized>(reply: &R) -> Result<Vec<(u8, bool)>, ParseError> {
    activation_list(reply, "!SCACT")
}

/// `<prefix>: <cid>,<state>` lines with state 0 or 1.
fn activation_list<R: Reply + ?Sized>(
    reply: &R,
    name: &'static str,
) -> Result<Vec<(u8, bool)>, ParseError> {
    payloads(reply, &format!("{name}:"))
        .into_iter()
        .map(|line| {
            let f = fields(line);
            let bad = |why: String| ParseError::new(name, line, why);
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

    /// ModemManager src/tests/test-modem-helpers.c (cgcontrdp_response_tests), commit
    /// 9a2d5863eb21957767dbc826b481080c08736590: (reply, address, prefix, gateway, dns,
    /// legacy layout). The "Pre TS 27.007 v9.4.0" block is TIM Italy's network with the
    /// mask in a field of its own; before the fix it gave gateway 255.255.255.255 and DNS
    /// 2.197.17.49 (the gateway).
    #[test]
    fn cgcontrdp_modemmanager_corpus() {
        type Case = (
            &'static str,
            Option<&'static str>,
            Option<u8>,
            Option<&'static str>,
            &'static [&'static str],
            bool,
        );
        let cases: &[Case] = &[
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49.255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\",\"10.206.56.132\",\"0.0.0.0\",\"0.0.0.0\",0",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &["10.207.43.46", "10.206.56.132"], false),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49.255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\"",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &["10.207.43.46"], false),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49.255.255.255.255\",\"2.197.17.49\"",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &[], false),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49.255.255.255.255\"",
                Some("2.197.17.49"), Some(32), None, &[], false),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\",\"10.206.56.132\",\"0.0.0.0\",\"0.0.0.0\"",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &["10.207.43.46", "10.206.56.132"], true),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\"",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &["10.207.43.46"], true),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\",\"2.197.17.49\"",
                Some("2.197.17.49"), Some(32), Some("2.197.17.49"), &[], true),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\"",
                Some("2.197.17.49"), Some(32), None, &[], true),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\"",
                Some("2.197.17.49"), None, None, &[], false),
            ("+CGCONTRDP: 1,5,\"internetipv6.mnc003.mcc260.gprs\",\"254.128.0.0.0.0.0.0.0.0.0.37.88.136.248.1\",\"\",\"42.1.23.0.0.2.255.255.0.0.0.0.0.0.159.1\",\"42.1.23.0.0.3.255.255.0.0.0.0.0.0.152.34\",\"\",\"\",0,0",
                Some("fe80::25:5888:f801"), None, None, &["2a01:1700:2:ffff::9f01", "2a01:1700:3:ffff::9822"], false),
            // Quectel EG915Q.
            ("+CGCONTRDP: 2,6,\"fast.t-mobile.com\",\"38.7.251.144.154.37.192.120.172.57.189.17.176.171.138.245\",,\"253.0.151.106.0.0.0.0.0.0.0.0.0.0.0.9\",\"253.0.151.106.0.0.0.0.0.0.0.0.0.0.0.16\"",
                Some("2607:fb90:9a25:c078:ac39:bd11:b0ab:8af5"), None, None, &["fd00:976a::9", "fd00:976a::10"], false),
            ("+CGCONTRDP: 1,0,\"fast.t-mobile.com\",\"2607:FB90:B59A:02C1:0AD3:1B57:4FD4:21F4\",\"FE80:0000:0000:0000:B46D:57FF:FE45:4545\",\"fd00:976a::9\",\"fd00:976a::10\"",
                Some("2607:fb90:b59a:2c1:ad3:1b57:4fd4:21f4"), None, Some("fe80::b46d:57ff:fe45:4545"), &["fd00:976a::9", "fd00:976a::10"], false),
            ("+CGCONTRDP: 2,6,\"fast.t-mobile.com\",,,\"253.0.151.106.0.0.0.0.0.0.0.0.0.0.0.9\",\"253.0.151.106.0.0.0.0.0.0.0.0.0.0.0.16\"",
                None, None, None, &["fd00:976a::9", "fd00:976a::10"], false),
            ("+CGCONTRDP: 4,5,\"ibox.tim.it.mnc001.mcc222.gprs\"", None, None, None, &[], false),
            ("+CGCONTRDP: 4,5,\"\"", None, None, None, &[], false),
        ];
        for (reply, address, prefix, gw, dns, legacy) in cases {
            let c = &cgcontrdp(*reply).unwrap_or_else(|e| panic!("{reply}: {e}"))[0];
            assert_eq!(c.address, address.map(ip), "{reply}");
            assert_eq!(c.prefix_len, *prefix, "{reply}");
            assert_eq!(c.gateway, gw.map(ip), "{reply}");
            assert_eq!(
                c.dns,
                dns.iter().map(|d| ip(d)).collect::<Vec<_>>(),
                "{reply}"
            );
            assert_eq!(c.legacy_layout, *legacy, "{reply}");
            assert_ne!(c.gateway, Some(ip("255.255.255.255")), "{reply}");
        }
    }

    #[test]
    fn context_ip_by_family() {
        // An IPV4V6 context as two lines: the v4 line from the TIM corpus entry above,
        // the v6 line from T-Mobile US (both ModemManager test-modem-helpers.c, 9a2d586).
        let list = cgcontrdp(concat!(
            "+CGCONTRDP: 1,5,\"ibox.tim.it.mnc001.mcc222.gprs\",\"2.197.17.49\",\"255.255.255.255\",\"2.197.17.49\",\"10.207.43.46\",\"10.206.56.132\"\r\n",
            "+CGCONTRDP: 1,0,\"fast.t-mobile.com\",\"2607:FB90:B59A:02C1:0AD3:1B57:4FD4:21F4\",\"FE80:0000:0000:0000:B46D:57FF:FE45:4545\",\"fd00:976a::9\",\"fd00:976a::10\"\r\n",
            "+CGCONTRDP: 2,5,\"other\",\"10.0.0.1\""
        ))
        .unwrap();
        let c = context_ip(&list, 1);
        let v4 = c.ipv4.expect("ipv4");
        assert_eq!(
            (v4.address, v4.prefix_len),
            (Ipv4Addr::new(2, 197, 17, 49), Some(32))
        );
        assert_eq!(v4.gateway, Some(Ipv4Addr::new(2, 197, 17, 49)));
        assert_eq!(v4.dns.len(), 2);
        let v6 = c.ipv6.expect("ipv6");
        assert_eq!(
            v6.address,
            "2607:fb90:b59a:2c1:ad3:1b57:4fd4:21f4"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(v6.prefix_len, None);
        assert_eq!(
            v6.gateway,
            Some("fe80::b46d:57ff:fe45:4545".parse().unwrap())
        );
        assert_eq!(
            v6.dns,
            vec![
                "fd00:976a::9".parse::<Ipv6Addr>().unwrap(),
                "fd00:976a::10".parse().unwrap()
            ]
        );
        // Quectel RG501Q (no mask): the address comes back with "no mask", not /32.
        let q = cgcontrdp("+CGCONTRDP: 1,5,SMARTLTE,10.167.105.28,,10.151.151.44,10.151.151.48")
            .unwrap();
        let v4 = context_ip(&q, 1).ipv4.expect("ipv4");
        assert_eq!((v4.prefix_len, v4.gateway), (None, None));
        assert_eq!(context_ip(&q, 3), ContextIp::default());
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

    #[test]
    fn scact_lines() {
        // ModemManager src/plugins/sierra/tests/test-modem-helpers-sierra.c (9a2d586).
        assert_eq!(
            scact("!SCACT: 1,0\r\n!SCACT: 4,1\r\n!SCACT: 5,0").unwrap(),
            vec![(1, false), (4, true), (5, false)]
        );
        assert!(scact("!SCACT: 1,2").is_err());
        assert!(scact("+CGACT: 1,1").unwrap().is_empty());
    }
}
