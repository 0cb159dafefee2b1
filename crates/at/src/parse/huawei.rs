//! Huawei vendor replies: `^SYSCFGEX?`/`=?` (network mode and bands), `^SYSINFOEX` (serving
//! system), `^NDISSTAT` URC and
//! `^NDISSTATQRY?` (NDIS connection state per IP family), `^DHCP?` and `^DHCPV6?` (the
//! addresses the modem gave the NCM link).

use super::{fields, payload, payloads, Field, ParseError, Reply, Technology};
use serde::Serialize;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `^SYSCFGEX: "<acqorder>",<band>,<roam>,<srvdomain>,<lteband>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysCfgEx {
    /// `00` auto, `01` GSM, `02` WCDMA, `03` LTE, `030201` LTE>WCDMA>GSM, …
    pub acqorder: String,
    /// 2G/3G band mask, hex as the modem printed it.
    pub band: String,
    pub roam: u8,
    pub srvdomain: u8,
    /// LTE band mask, hex; empty on modems without LTE.
    pub lteband: String,
}

pub fn syscfgex<R: Reply + ?Sized>(reply: &R) -> Result<SysCfgEx, ParseError> {
    let line = payload(reply, &["^SYSCFGEX:"], false)
        .ok_or_else(|| ParseError::new("^SYSCFGEX", "", "no ^SYSCFGEX line"))?;
    if line.starts_with('(') {
        return Err(ParseError::new(
            "^SYSCFGEX",
            line,
            "this is the AT^SYSCFGEX=? reply, not the current setting",
        ));
    }
    let f = fields(line);
    let bad = |why: String| ParseError::new("^SYSCFGEX", line, why);
    if f.len() < 4 {
        return Err(bad("expected acqorder,band,roam,srvdomain[,lteband]".into()));
    }
    let n = |i: usize| {
        f[i].num::<u8>()
            .map_err(bad)?
            .ok_or_else(|| bad("field missing".into()))
    };
    Ok(SysCfgEx {
        acqorder: f[0].text.to_string(),
        band: f[1].text.to_string(),
        roam: n(2)?,
        srvdomain: n(3)?,
        lteband: f.get(4).map_or("", |b| b.text).to_string(),
    })
}

/// `AT^SYSCFGEX=?`: what the modem accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysCfgExTest {
    /// Accepted `<acqorder>` strings (`00`, `03`, `030201`, …; `99` = no change).
    pub acqorders: Vec<String>,
    /// (hex mask, name) of the 2G/3G band choices.
    pub bands: Vec<(String, String)>,
    /// (hex mask, name) of the LTE band choices; empty on modems without LTE.
    pub lte_bands: Vec<(String, String)>,
}

/// The items of a `(a,b,…)` group, blanks and quotes removed.
fn group(f: Option<&Field<'_>>) -> Vec<String> {
    let Some(f) = f else { return Vec::new() };
    let inner = f
        .text
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or("");
    fields(inner)
        .into_iter()
        .filter(|i| !i.is_empty())
        .map(|i| i.text.to_string())
        .collect()
}

/// `((mask,"name"),(mask,"name"))` → pairs.
fn band_list(f: Option<&Field<'_>>) -> Vec<(String, String)> {
    group(f)
        .into_iter()
        .filter_map(|pair| {
            let inner = pair.strip_prefix('(')?.strip_suffix(')')?.to_string();
            let p = fields(&inner);
            Some((
                p.first()?.text.to_string(),
                p.get(1).map_or("", |n| n.text).to_string(),
            ))
        })
        .collect()
}

pub fn syscfgex_test<R: Reply + ?Sized>(reply: &R) -> Result<SysCfgExTest, ParseError> {
    let line = payload(reply, &["^SYSCFGEX:"], false)
        .ok_or_else(|| ParseError::new("^SYSCFGEX=?", "", "no ^SYSCFGEX line"))?;
    let f = fields(line);
    if !f[0].text.starts_with('(') {
        return Err(ParseError::new(
            "^SYSCFGEX=?",
            line,
            "first field is not a list of acquisition orders",
        ));
    }
    Ok(SysCfgExTest {
        acqorders: group(f.first()),
        bands: band_list(f.get(1)),
        lte_bands: band_list(f.get(4)),
    })
}

/// State of one NDIS connection (`<stat>` of `^NDISSTAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NdisState {
    Disconnected,
    Connected,
    Connecting,
    Disconnecting,
}

/// Per IP family; `None` when the reply says nothing about that family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NdisStatus {
    pub ipv4: Option<NdisState>,
    pub ipv6: Option<NdisState>,
}

impl NdisStatus {
    /// The data session is up on at least one family: a modem connected on IPv6 only
    /// (`^NDISSTATQRY: 0,,,"IPV4",1,,,"IPV6"`) is connected.
    pub fn connected(&self) -> bool {
        [self.ipv4, self.ipv6].contains(&Some(NdisState::Connected))
    }
}

/// Reads `^NDISSTAT:` URCs and `^NDISSTATQRY:` replies in every form seen: one family per
/// line (`1,,,"IPV4"`, quoted or not), both families on one line
/// (`1,,,"IPV4",0,,,"IPV6"`), the old bare `^NDISSTATQRY: 1` (IPv4 only), any letter
/// case of prefix and family (`^NDISSTATQry:1`), and a trailing empty field.
pub fn ndisstat<R: Reply + ?Sized>(reply: &R) -> Result<NdisStatus, ParseError> {
    let mut lines = payloads(reply, "^NDISSTATQRY:");
    lines.extend(payloads(reply, "^NDISSTAT:"));
    if lines.is_empty() {
        return Err(ParseError::new(
            "^NDISSTAT",
            "",
            "no ^NDISSTAT/^NDISSTATQRY line",
        ));
    }
    let mut out = NdisStatus::default();
    for line in lines {
        let f = fields(line);
        let bad = |why: String| ParseError::new("^NDISSTAT", line, why);
        for (i, group) in f.chunks(4).enumerate() {
            if i > 0 && group.iter().all(Field::is_empty) {
                continue;
            }
            let state = match group[0].num::<u8>().map_err(bad)? {
                Some(0) => NdisState::Disconnected,
                Some(1) => NdisState::Connected,
                Some(2) => NdisState::Connecting,
                Some(3) => NdisState::Disconnecting,
                Some(n) => return Err(bad(format!("unknown state {n}"))),
                None => return Err(bad("state missing".into())),
            };
            match group.get(3).map(|t| t.text.to_ascii_uppercase()) {
                None => out.ipv4 = Some(state),
                Some(t) if t == "IPV4" || t.is_empty() => out.ipv4 = Some(state),
                Some(t) if t == "IPV6" => out.ipv6 = Some(state),
                Some(t) => return Err(bad(format!("unknown IP family {t:?}"))),
            }
        }
    }
    Ok(out)
}

/// `^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,<reserved>,<sysmode>,
/// <sysmode_name>,<submode>,<submode_name>` (names quoted or not, E303 leaves the quotes
/// out; ModemManager plugins/huawei). The technology is read from the name (`GSM`,
/// `WCDMA`, `TD-SCDMA`, `LTE`, `NR`/`NR-5GC`…), which 5G firmwares extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysInfoEx {
    /// 0 no service, 1 restricted, 2 valid, 3 restricted regional, 4 power saving.
    pub srv_status: u8,
    /// 0 none, 1 CS only, 2 PS only, 3 PS+CS, 4 searching.
    pub srv_domain: u8,
    pub roaming: bool,
    /// 0 invalid, 1 valid, 2 invalid for CS, 3 invalid for PS, 4 invalid for both,
    /// 240 ROM SIM, 255 not present.
    pub sim_state: u8,
    pub technology: Option<Technology>,
    /// `sysmode_name` as printed (`LTE`, `WCDMA`, `NR-5GC`).
    pub sysmode_name: String,
    /// `submode_name` as printed (`HSPA+`, `LTE FDD`, …).
    pub submode_name: String,
}

pub fn sysinfoex<R: Reply + ?Sized>(reply: &R) -> Result<SysInfoEx, ParseError> {
    let line = payload(reply, &["^SYSINFOEX:"], false)
        .ok_or_else(|| ParseError::new("^SYSINFOEX", "", "no ^SYSINFOEX line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("^SYSINFOEX", line, why);
    if f.len() < 7 {
        return Err(bad("expected srv_status,srv_domain,roam,sim_state,,sysmode,sysmode_name[,submode,submode_name]".into()));
    }
    let n = |i: usize| {
        f[i].num::<u8>()
            .map_err(bad)?
            .ok_or_else(|| bad("field missing".into()))
    };
    let name = f[6].text.to_string();
    let upper = name.to_ascii_uppercase();
    let technology = if upper.starts_with("NR") {
        Some(Technology::Nr5g)
    } else if upper.starts_with("LTE") {
        Some(Technology::Lte)
    } else if upper.contains("WCDMA") || upper.contains("TD-SCDMA") {
        Some(Technology::Umts)
    } else if upper.starts_with("GSM") {
        Some(Technology::Gsm)
    } else {
        None
    };
    Ok(SysInfoEx {
        srv_status: n(0)?,
        srv_domain: n(1)?,
        roaming: n(2)? == 1,
        sim_state: n(3)?,
        technology,
        sysmode_name: name,
        submode_name: f.get(8).map_or("", |s| s.text).to_string(),
    })
}

/// `^DHCP: <ip>,<netmask>,<gateway>,<server>,<dns1>,<dns2>,<max_rx>,<max_tx>`: the first six
/// are IPv4 addresses as little-endian hex (`0100A8C0` = 192.168.0.1, leading zeros may be
/// dropped), the rates decimal bit/s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HuaweiDhcp {
    pub address: Ipv4Addr,
    pub netmask: Ipv4Addr,
    pub prefix_len: u8,
    /// `None` when the modem reports 0.0.0.0.
    pub gateway: Option<Ipv4Addr>,
    pub server: Option<Ipv4Addr>,
    /// Non-zero DNS servers, primary first.
    pub dns: Vec<Ipv4Addr>,
    pub max_rx_bps: u64,
    pub max_tx_bps: u64,
}

/// Some firmwares write each address with a `0x`/`0X` prefix (ModemManager's ^DHCP tests).
fn le_hex_v4(f: &Field<'_>) -> Result<Ipv4Addr, String> {
    let digits = f
        .text
        .strip_prefix("0x")
        .or_else(|| f.text.strip_prefix("0X"))
        .unwrap_or(f.text);
    u32::from_str_radix(digits, 16)
        .map(|v| Ipv4Addr::from(v.to_le_bytes()))
        .map_err(|_| format!("{:?} is not a hex IPv4 address", f.text))
}

fn rates(f: &[Field<'_>]) -> Result<(u64, u64), String> {
    let n = |i: usize| {
        f.get(i)
            .map(|x| x.num::<u64>())
            .transpose()
            .map(|v| v.flatten().unwrap_or(0))
    };
    Ok((n(6)?, n(7)?))
}

pub fn dhcp<R: Reply + ?Sized>(reply: &R) -> Result<HuaweiDhcp, ParseError> {
    let line = payload(reply, &["^DHCP:"], false)
        .ok_or_else(|| ParseError::new("^DHCP", "", "no ^DHCP line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("^DHCP", line, why);
    if f.len() < 6 {
        return Err(bad(
            "expected 8 fields: ip,mask,gateway,server,dns1,dns2,max_rx,max_tx".into(),
        ));
    }
    let a: Vec<Ipv4Addr> = f[..6]
        .iter()
        .map(le_hex_v4)
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    let nonzero = |x: Ipv4Addr| (!x.is_unspecified()).then_some(x);
    let (max_rx_bps, max_tx_bps) = rates(&f).map_err(bad)?;
    Ok(HuaweiDhcp {
        address: a[0],
        netmask: a[1],
        prefix_len: u8::try_from(u32::from(a[1]).count_ones()).unwrap_or(32),
        gateway: nonzero(a[2]),
        server: nonzero(a[3]),
        dns: a[4..6].iter().copied().filter_map(nonzero).collect(),
        max_rx_bps,
        max_tx_bps,
    })
}

/// `^DHCPV6: <ip>,<netmask>,<gateway>,<server>,<dns1>,<dns2>,<max_rx>,<max_tx>` with
/// textual IPv6 addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HuaweiDhcpV6 {
    pub address: Ipv6Addr,
    pub prefix_len: Option<u8>,
    pub gateway: Option<Ipv6Addr>,
    pub server: Option<Ipv6Addr>,
    pub dns: Vec<Ipv6Addr>,
    pub max_rx_bps: u64,
    pub max_tx_bps: u64,
}

pub fn dhcpv6<R: Reply + ?Sized>(reply: &R) -> Result<HuaweiDhcpV6, ParseError> {
    let line = payload(reply, &["^DHCPV6:"], false)
        .ok_or_else(|| ParseError::new("^DHCPV6", "", "no ^DHCPV6 line"))?;
    let f = fields(line);
    let bad = |why: String| ParseError::new("^DHCPV6", line, why);
    if f.len() < 6 {
        return Err(bad(
            "expected 8 fields: ip,mask,gateway,server,dns1,dns2,max_rx,max_tx".into(),
        ));
    }
    let v6 = |i: usize| -> Result<Option<Ipv6Addr>, ParseError> {
        if f[i].is_empty() {
            return Ok(None);
        }
        let a: Ipv6Addr = f[i]
            .text
            .parse()
            .map_err(|_| bad(format!("{:?} is not an IPv6 address", f[i].text)))?;
        Ok((!a.is_unspecified()).then_some(a))
    };
    let address = v6(0)?.ok_or_else(|| bad("no address".into()))?;
    let prefix_len = v6(1)?.and_then(|m| u8::try_from(u128::from(m).count_ones()).ok());
    let (max_rx_bps, max_tx_bps) = rates(&f).map_err(bad)?;
    Ok(HuaweiDhcpV6 {
        address,
        prefix_len,
        gateway: v6(2)?,
        server: v6(3)?,
        dns: [v6(4)?, v6(5)?].into_iter().flatten().collect(),
        max_rx_bps,
        max_tx_bps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscfgex_current() {
        // ModemManager plugins/huawei/tests/test-modem-helpers-huawei.c (syscfgex_response_tests).
        let s = syscfgex("^SYSCFGEX: \"00\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF").unwrap();
        assert_eq!(
            s,
            SysCfgEx {
                acqorder: "00".into(),
                band: "3FFFFFFF".into(),
                roam: 1,
                srvdomain: 2,
                lteband: "7FFFFFFFFFFFFFFF".into()
            }
        );
        // Same file: a non-LTE modem with an empty LTE band field.
        let s = syscfgex("^SYSCFGEX: \"0201\",3fffffff,1,2,").unwrap();
        assert_eq!((s.acqorder.as_str(), s.lteband.as_str()), ("0201", ""));
        assert!(syscfgex("^SYSCFGEX: \"00\",3FFFFFFF,x,2,").is_err());
        assert!(syscfgex("^SYSCFGEX: (\"00\"),((3fffffff,\"All Bands\")),(0-3),(0-4),").is_err());
    }

    #[test]
    fn syscfgex_supported() {
        // ModemManager test-modem-helpers-huawei.c (syscfgex_tests), an LTE modem.
        let t = syscfgex_test(concat!(
            "^SYSCFGEX: (\"00\",\"03\",\"02\",\"01\",\"99\"),",
            "((2000004e80380,\"GSM850/GSM900/GSM1800/GSM1900/WCDMA850/WCDMA900/WCDMA1900/WCDMA2100\"),(3fffffff,\"All Bands\")),",
            "(0-3),(0-4),",
            "((800c5,\"LTE2100/LTE1800/LTE2600/LTE900/LTE800\"),(7fffffffffffffff,\"All bands\"))\r\n"
        ))
        .unwrap();
        assert_eq!(t.acqorders, ["00", "03", "02", "01", "99"]);
        assert_eq!(
            t.bands[1],
            ("3fffffff".to_string(), "All Bands".to_string())
        );
        assert_eq!(t.lte_bands.len(), 2);
        // Same file: a non-LTE modem, LTE band list empty.
        let t = syscfgex_test(concat!(
            "^SYSCFGEX: (\"00\",\"01\",\"02\",\"0102\",\"0201\"),",
            "((3fffffff,\"All Bands\"),(2000000400180,\"GSM900/GSM1800/WCDMA900/WCDMA2100\"),(6A80000,\"GSM850/GSM1900/WCDMA850/AWS/WCDMA1900\")),",
            "(0-2),(0-4),,"
        ))
        .unwrap();
        assert_eq!(
            (t.acqorders.len(), t.bands.len(), t.lte_bands.len()),
            (5, 3, 0)
        );
        assert!(syscfgex_test("^SYSCFGEX: \"00\",3FFFFFFF,1,2,").is_err());
    }

    #[test]
    fn ndisstat_modemmanager_corpus() {
        use NdisState::{Connected as C, Disconnected as D};
        // ModemManager test-modem-helpers-huawei.c (ndisstatqry_tests): reply → (ipv4, ipv6).
        let cases: &[(&str, Option<NdisState>, Option<NdisState>)] = &[
            ("^NDISSTAT: 1,,,IPV4\r\n", Some(C), None),
            ("^NDISSTAT: 0,,,IPV6", None, Some(D)),
            (
                "^NDISSTAT: 1,,,IPV4\r\n^NDISSTAT: 0,,,IPV6",
                Some(C),
                Some(D),
            ),
            ("^NDISSTAT: 0,,,\"IPV4\",1,,,\"IPV6\"", Some(D), Some(C)),
            (
                "^NDISSTATQRY: 1,,,IPV4\r\n^NDISSTATQRY: 1,,,IPV6\r\n",
                Some(C),
                Some(C),
            ),
            (
                "^NDISSTATQRY: 0,,,\"IPV4\",0,,,\"IPV6\"\r\n",
                Some(D),
                Some(D),
            ),
            ("^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\"", Some(C), Some(D)),
        ];
        for (reply, v4, v6) in cases {
            assert_eq!(
                ndisstat(*reply).unwrap(),
                NdisStatus {
                    ipv4: *v4,
                    ipv6: *v6
                },
                "{reply:?}"
            );
        }
    }

    #[test]
    fn ndisstat_old_and_bad_forms() {
        // Old firmware: bare state (E3372 "^NDISSTATQRY: 1" per the task's Huawei notes).
        assert_eq!(
            ndisstat("^NDISSTATQRY: 1").unwrap().ipv4,
            Some(NdisState::Connected)
        );
        assert_eq!(
            ndisstat("^NDISSTATQRY: 2,,,\"IPV4\"").unwrap().ipv4,
            Some(NdisState::Connecting)
        );
        // The URC with an error code and wx (layout per Huawei's ^NDISSTAT description).
        assert_eq!(
            ndisstat("^NDISSTAT: 0,33,,\"IPV4\"").unwrap().ipv4,
            Some(NdisState::Disconnected)
        );
        assert!(ndisstat("^NDISSTATQRY: 9,,,\"IPV4\"").is_err());
        assert!(ndisstat("^NDISSTATQRY: 1,,,\"IPX\"").is_err());
        assert!(ndisstat("OK").is_err());
    }

    #[test]
    fn dhcp_v4() {
        // Huawei's own unit test for At_QryDhcpPara (hisi modem source, kernel tree on GitHub):
        // "^DHCP: 413DA8C0,00FFFFFF,423DA8C0,423DA8C0,00000000,00000000,81920000,81920000"
        let d =
            dhcp("^DHCP: 413DA8C0,00FFFFFF,423DA8C0,423DA8C0,00000000,00000000,81920000,81920000")
                .unwrap();
        assert_eq!(d.address, Ipv4Addr::new(192, 168, 61, 65));
        assert_eq!(
            (d.netmask, d.prefix_len),
            (Ipv4Addr::new(255, 255, 255, 0), 24)
        );
        assert_eq!(d.gateway, Some(Ipv4Addr::new(192, 168, 61, 66)));
        assert!(d.dns.is_empty());
        assert_eq!((d.max_rx_bps, d.max_tx_bps), (81_920_000, 81_920_000));
        // A TD Tech modem's reply quoted in a public router firmware's source comment, with
        // blank-padded rates: 10.121.14.147/8, gateway 10.0.0.1, DNS 210.22.84.3 second.
        let d = dhcp(
            "^DHCP: 930E790A,000000FF,0100000A,0100000A,FFB84170,035416D2, 600000000, 100000000",
        )
        .unwrap();
        assert_eq!(
            (d.address, d.prefix_len),
            (Ipv4Addr::new(10, 121, 14, 147), 8)
        );
        assert_eq!(d.gateway, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(d.dns[1], Ipv4Addr::new(210, 22, 84, 3));
        assert_eq!(d.max_rx_bps, 600_000_000);
        // The task's example: 0100a8c0 → 192.168.0.1; leading zeros dropped ("1010A0A").
        assert_eq!(
            dhcp("^DHCP: 0100a8c0,00ffffff,0100a8c0,0,0,0,0,0")
                .unwrap()
                .address,
            Ipv4Addr::new(192, 168, 0, 1)
        );
        assert_eq!(
            dhcp("^DHCP: 1010A0A,ffffff,0,0,0,0").unwrap().address,
            Ipv4Addr::new(10, 10, 1, 1)
        );
        assert!(dhcp("^DHCP: zz,0,0,0,0,0,0,0").is_err());
        assert!(dhcp("^DHCP: 1,2").is_err());
    }

    /// ModemManager plugins/huawei/tests/test-modem-helpers-huawei.c (ndisstatqry_tests and
    /// dhcp_tests), commit 9a2d5863eb21957767dbc826b481080c08736590.
    #[test]
    fn ndisstat_short_forms_and_ipv6_only() {
        for (reply, v4) in [
            ("^NDISSTATQry:1", true),
            ("^NDISSTATQry:1\r\n", true),
            ("^NDISSTATQry:0", false),
        ] {
            let s = ndisstat(reply).unwrap();
            assert_eq!(s.connected(), v4, "{reply}");
            assert_eq!(s.ipv6, None);
        }
        // Connected on IPv6 only: connected (the old profile pattern "^NDISSTATQRY: 1*" said no).
        let s = ndisstat("^NDISSTATQRY: 0,,,\"IPV4\",1,,,\"IPV6\"").unwrap();
        assert!(s.connected());
        assert_eq!(s.ipv4, Some(NdisState::Disconnected));
        let s = ndisstat("^NDISSTAT: 1,,,IPV6").unwrap();
        assert!(s.connected());
        assert!(!ndisstat("^NDISSTATQRY: 0,,,\"IPV4\",0,,,\"IPV6\"")
            .unwrap()
            .connected());
        // Lower-case family and a trailing comma (constructed variants of the above).
        assert!(ndisstat("^ndisstatqry: 1,,,\"ipv4\",").unwrap().connected());
        assert!(ndisstat("^NDISSTATQRY: ").is_err());
    }

    #[test]
    fn dhcp_hex_prefixes() {
        let cases = [
            "^DHCP:a3ec5c64,f8ffffff,a1ec5c64,a1ec5c64,2200b10a,74bba80a,236800,236800\r\n",
            "^DHCP:0xa3ec5c64,0xf8ffffff,0xa1ec5c64,0xa1ec5c64,0x2200b10a,0x74bba80a,236800,236800\r\n",
        ];
        for c in cases {
            let d = dhcp(c).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!(
                (d.address, d.prefix_len),
                (Ipv4Addr::new(100, 92, 236, 163), 29),
                "{c}"
            );
            assert_eq!(d.gateway, Some(Ipv4Addr::new(100, 92, 236, 161)));
            assert_eq!(
                d.dns,
                vec![
                    Ipv4Addr::new(10, 177, 0, 34),
                    Ipv4Addr::new(10, 168, 187, 116)
                ]
            );
        }
        for c in [
            "^DHCP: CCDB080A,F8FFFFFF,C9DB080A,C9DB080A,E67B59C0,E77B59C0,85600,85600\r\n",
            "^DHCP: 0xCCDB080A,0xF8FFFFFF,0xC9DB080A,0xC9DB080A,0xE67B59C0,0xE77B59C0,85600,85600\r\n",
            "^DHCP: 0XCCDB080A,0XF8FFFFFF,0XC9DB080A,0XC9DB080A,0XE67B59C0,0XE77B59C0,85600,85600\r\n",
        ] {
            let d = dhcp(c).unwrap_or_else(|e| panic!("{c}: {e}"));
            assert_eq!((d.address, d.prefix_len), (Ipv4Addr::new(10, 8, 219, 204), 29), "{c}");
            assert_eq!(d.gateway, Some(Ipv4Addr::new(10, 8, 219, 201)));
            assert_eq!(d.dns, vec![Ipv4Addr::new(192, 89, 123, 230), Ipv4Addr::new(192, 89, 123, 231)]);
            assert_eq!(d.max_rx_bps, 85600);
        }
        let d =
            dhcp("^DHCP: 1010A0A,FCFFFFFF,2010A0A,2010A0A,0,0,150000000,150000000\r\n").unwrap();
        assert_eq!((d.address, d.prefix_len), (Ipv4Addr::new(10, 10, 1, 1), 30));
        assert!(dhcp("^DHCP: 0x,0,0,0,0,0").is_err());
    }

    #[test]
    fn sysinfoex_replies() {
        // ModemManager test-modem-helpers-huawei.c (sysinfoex_tests), 9a2d586.
        for r in [
            "^SYSINFOEX:2,4,5,1,,3,WCDMA,41,HSPA+",
            "^SYSINFOEX:2,4,5,1,,3,\"WCDMA\",41,\"HSPA+\"",
            "^SYSINFOEX: 2,4,5,1,0,3,\"WCDMA\",41,\"HSPA+\"",
        ] {
            let s = sysinfoex(r).unwrap_or_else(|e| panic!("{r}: {e}"));
            assert_eq!(
                (s.srv_status, s.srv_domain, s.technology),
                (2, 4, Some(Technology::Umts)),
                "{r}"
            );
            assert_eq!((s.submode_name.as_str(), s.sim_state), ("HSPA+", 1));
        }
        // Constructed in the same layout for the LTE and 5G system modes.
        assert_eq!(
            sysinfoex("^SYSINFOEX: 2,3,0,1,,6,\"LTE\",101,\"LTE\"")
                .unwrap()
                .technology,
            Some(Technology::Lte)
        );
        assert_eq!(
            sysinfoex("^SYSINFOEX: 2,2,0,1,,11,\"NR-5GC\",111,\"NR-5GC\"")
                .unwrap()
                .technology,
            Some(Technology::Nr5g)
        );
        assert!(sysinfoex("^SYSINFOEX: 2,x,0,1,,6,\"LTE\"").is_err());
        assert!(sysinfoex("^SYSINFOEX: 2").is_err());
    }

    #[test]
    fn dhcp_v6() {
        // Constructed in the ^DHCPV6 layout of Huawei's ME909s AT reference.
        let d = dhcpv6("^DHCPV6: 2001:db8:1::2,ffff:ffff:ffff:ffff::,2001:db8:1::1,2001:db8:1::1,2001:db8::53,::,150000000,50000000").unwrap();
        assert_eq!(d.address, "2001:db8:1::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(d.prefix_len, Some(64));
        assert_eq!(d.dns, vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(d.max_tx_bps, 50_000_000);
        assert!(dhcpv6("^DHCPV6: ::,::,::,::,::,::,0,0").is_err());
        assert!(dhcpv6("^DHCPV6: nope,::,::,::,::,::,0,0").is_err());
    }
}
