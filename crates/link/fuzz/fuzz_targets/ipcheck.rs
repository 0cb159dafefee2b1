//! IP check: any proposal against any other interfaces → a checked configuration that
//! obeys every rule (re-derived here with std's address predicates, not the check's own
//! helpers), or an error with a message; never a panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use ncmd_link::ipcheck::{check, Occupied, Prefix, Proposal, Proposed, Source};

/// Reads fuzz bytes as values; missing bytes read as zero.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn v4(&mut self) -> Ipv4Addr {
        Ipv4Addr::new(self.u8(), self.u8(), self.u8(), self.u8())
    }
    fn v6(&mut self) -> Ipv6Addr {
        // Mostly-zero addresses are where the special cases live: a byte says which of
        // the 16 are read (bit i set: bytes 2i and 2i+1, per 16-bit group).
        let groups = self.u8();
        let mut o = [0u8; 16];
        for g in 0..8 {
            if groups & (1 << g) != 0 {
                o[2 * g] = self.u8();
                o[2 * g + 1] = self.u8();
            }
        }
        Ipv6Addr::from(o)
    }
    fn ip(&mut self, v6: bool) -> IpAddr {
        // One time in eight the other family, to exercise the family checks.
        let v6 = v6 ^ (self.u8() % 8 == 0);
        if v6 {
            IpAddr::V6(self.v6())
        } else {
            IpAddr::V4(self.v4())
        }
    }
    fn proposed(&mut self, v6: bool) -> Proposed {
        let address = self.ip(v6);
        let prefix = match self.u8() % 3 {
            0 => Prefix::Unknown,
            1 => Prefix::Len(self.u8()),
            _ => Prefix::Mask(self.ip(v6)),
        };
        let gateway = (self.u8() % 2 == 1).then(|| self.ip(v6));
        let dns = (0..self.u8() % 4).map(|_| self.ip(v6)).collect();
        Proposed { address, prefix, gateway, dns }
    }
}

fn v4_unicast(a: Ipv4Addr) -> bool {
    !(a.is_loopback() || a.is_multicast() || a.is_broadcast() || a.is_link_local() || a.octets()[0] == 0 || a.octets()[0] >= 240)
}

fn v6_unicast(a: Ipv6Addr, link_local_ok: bool) -> bool {
    let link_local = (a.segments()[0] & 0xffc0) == 0xfe80;
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.to_ipv4_mapped().is_some() || (link_local && !link_local_ok))
}

fn unicast(a: IpAddr, link_local_ok: bool) -> bool {
    match a {
        IpAddr::V4(a) => v4_unicast(a),
        IpAddr::V6(a) => v6_unicast(a, link_local_ok),
    }
}

/// `a` and `b` agree in their first `len` bits (same family).
fn same_prefix(a: IpAddr, b: IpAddr, len: u8) -> bool {
    let (a, b, width) = match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32u32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let drop = width - u32::from(len);
    a.checked_shr(drop).unwrap_or(0) == b.checked_shr(drop).unwrap_or(0)
}

fn family(
    v6: bool,
    input: &Proposed,
    out: (IpAddr, u8, Option<IpAddr>, Vec<IpAddr>),
    others: &[Occupied],
) {
    let (address, len, gateway, dns) = out;
    let width = if v6 { 128 } else { 32 };
    assert_eq!(address, input.address);
    assert_eq!(address.is_ipv6(), v6);
    assert!(unicast(address, false), "{address} accepted");
    assert!((1..=width).contains(&len), "/{len} accepted");
    match input.prefix {
        Prefix::Len(l) => assert!(len == l || len == width),
        Prefix::Mask(m) => assert_eq!(m.is_ipv6(), v6),
        Prefix::Unknown => assert_eq!(len, width),
    }
    assert_eq!(gateway, input.gateway);
    if let Some(gw) = gateway {
        assert_eq!(gw.is_ipv6(), v6);
        assert!(unicast(gw, v6) && gw != address, "gateway {gw} accepted");
        let link_local = matches!(gw, IpAddr::V6(g) if (g.segments()[0] & 0xffc0) == 0xfe80);
        assert!(len == width || link_local || same_prefix(address, gw, len), "gateway {gw} off {address}/{len}");
    }
    assert!(dns.iter().all(|d| d.is_ipv6() == v6 && unicast(*d, false) && input.dns.contains(d)));
    assert!(input.dns.is_empty() || !dns.is_empty());
    for o in others {
        let link_local = matches!(o.network, IpAddr::V6(n) if (n.segments()[0] & 0xffc0) == 0xfe80);
        if o.network.is_ipv6() != v6 || o.prefix_len == 0 || link_local || o.prefix_len > width {
            continue;
        }
        // Our address is outside theirs, and theirs is not inside our (configured) network.
        assert!(!same_prefix(o.network, address, o.prefix_len), "{address}/{len} overlaps {o}");
        assert!(o.prefix_len <= len || !same_prefix(address, o.network, len), "{address}/{len} covers {o}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let flags = b.u8();
    let proposal = Proposal {
        from: if flags & 8 == 0 { Source::Modem } else { Source::Dhcp },
        ipv4: (flags & 1 != 0).then(|| b.proposed(false)),
        ipv6: (flags & 2 != 0).then(|| b.proposed(true)),
        mtu: (flags & 4 != 0).then(|| u32::from(b.u8()) * 64 + u32::from(b.u8())),
    };
    let others: Vec<Occupied> = (0..b.u8() % 6)
        .map(|i| {
            let v6 = b.u8() % 2 == 1;
            let network = b.ip(v6);
            let width = if network.is_ipv6() { 129 } else { 33 };
            let prefix_len = b.u8() % width;
            Occupied {
                holder: format!("lan{i}"),
                network,
                prefix_len,
                address: (b.u8() % 2 == 1).then_some(network),
            }
        })
        .collect();
    match check(&proposal, &others) {
        Ok(c) => {
            assert_eq!(c.ipv4.is_some(), proposal.ipv4.is_some());
            assert_eq!(c.ipv6.is_some(), proposal.ipv6.is_some());
            if let Some(mtu) = c.mtu {
                let min = if c.ipv6.is_some() { 1280 } else { 576 };
                assert!((min..=9000).contains(&mtu));
            }
            if let (Some(p), Some(v4)) = (&proposal.ipv4, &c.ipv4) {
                let out = (IpAddr::V4(v4.address), v4.prefix_len, v4.gateway.map(IpAddr::V4), v4.dns.iter().map(|d| IpAddr::V4(*d)).collect());
                family(false, p, out, &others);
            }
            if let (Some(p), Some(v6)) = (&proposal.ipv6, &c.ipv6) {
                let out = (IpAddr::V6(v6.address), v6.prefix_len, v6.gateway.map(IpAddr::V6), v6.dns.iter().map(|d| IpAddr::V6(*d)).collect());
                family(true, p, out, &others);
            }
            for w in &c.warnings {
                assert!(!w.to_string().is_empty());
            }
        }
        Err(e) => assert!(e.to_string().starts_with("the ")),
    }
});
