//! The one check of an IP configuration that the network side proposes (the modem's
//! `^DHCP`/`^DHCPV6`/`+CGCONTRDP` reply, or a DHCP lease), before anything of it reaches
//! the kernel, netifd or a resolv file.
//!
//! Owns the rules, as a pure function from the proposal and what other interfaces
//! already hold to a checked [`Checked`] configuration or an [`IpCheckError`] that names
//! both sides. Must not know about AT, DHCP packets or netlink: callers hand in plain
//! values (the system's side comes from [`crate::netlink::Netlink::occupied_elsewhere`]).
//!
//! Decisions (README "IP configuration from the network" says the same for users):
//! - Addresses must be unicast: IPv4 not in 0/8, 127/8, 169.254/16 (link-local),
//!   224/4 (multicast), 240/4 (reserved, with 255.255.255.255); IPv6 not `::`, `::1`,
//!   multicast, v4-mapped or link-local. A gateway follows the same rules, except that an
//!   IPv6 gateway may be link-local (that is the usual router address).
//! - A prefix length is 1–32 (IPv4) or 1–128 (IPv6); a netmask must be contiguous.
//!   Without a mask the address is a host address (/32, /128).
//! - The gateway must be on the link: inside the prefix, and not the address itself nor
//!   (IPv4, prefix ≤ 30) the subnet's network or broadcast address. A host address
//!   (/32, /128, or no mask at all) is point-to-point: its gateway is reached through an
//!   explicit on-link route instead (see [`crate::netlink::gateway_needs_onlink`]).
//!   A /31 (RFC 3021) must name its peer as gateway.
//! - DNS servers that are not unicast are dropped with a warning; the configuration is
//!   refused only when servers were given and none is left. (One bad server among good
//!   ones is the modem's mistake, not a reason to stay offline.) Callers that ignore the
//!   servers (`peerdns '0'`) pass none.
//! - MTU: 576–9000 for IPv4 only, 1280–9000 when IPv6 is configured.
//! - No overlap with addresses or routes on other interfaces (default routes aside):
//!   an address inside another interface's network, or a network equal to or inside
//!   another's, is refused. A network that merely contains another interface's network
//!   (a modem's 10.121.14.147/8 around a LAN's 10.0.0.0/24), with neither the address
//!   nor the gateway inside it, is narrowed to the host address with an on-link gateway,
//!   with a warning: the other network keeps all its traffic, and the link still works.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::netlink::{Ipv4Config, Ipv6Config};

/// Lowest and highest MTU accepted for a link with IPv4 only.
pub const MTU_V4: std::ops::RangeInclusive<u32> = 576..=9000;
/// The same when IPv6 is configured (RFC 8200 minimum link MTU).
pub const MTU_V6: std::ops::RangeInclusive<u32> = 1280..=9000;

/// Who proposed the configuration; names the side in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Modem,
    Dhcp,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Modem => "the modem's",
            Source::Dhcp => "the DHCP lease's",
        })
    }
}

/// The prefix as the network side gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// A prefix length as reported (may be out of range: it is checked).
    Len(u8),
    /// A netmask as reported (may have holes or be of the other family: it is checked).
    Mask(IpAddr),
    /// No mask given: a host address.
    Unknown,
}

/// One family's part of a proposal (addresses of the other family are refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    pub address: IpAddr,
    pub prefix: Prefix,
    pub gateway: Option<IpAddr>,
    pub dns: Vec<IpAddr>,
}

/// Everything the network side proposes for one data interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub from: Source,
    pub ipv4: Option<Proposed>,
    pub ipv6: Option<Proposed>,
    pub mtu: Option<u32>,
}

/// A network already held by another interface: an address (with its prefix) or a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupied {
    /// Interface holding it; for routes without one, the route's type (`unreachable`).
    pub holder: String,
    pub network: IpAddr,
    pub prefix_len: u8,
    /// `Some(address)` when this is an interface address, `None` for a route.
    pub address: Option<IpAddr>,
}

impl fmt::Display for Occupied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let net = masked(self.network, self.prefix_len);
        match self.address {
            Some(a) => write!(
                f,
                "{net}/{} on {} (its address {a})",
                self.prefix_len, self.holder
            ),
            None => write!(f, "{net}/{} (a route on {})", self.prefix_len, self.holder),
        }
    }
}

/// What a value is in the proposal; names it in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Address,
    Gateway,
    Netmask,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Address => "address",
            Role::Gateway => "gateway",
            Role::Netmask => "netmask",
        })
    }
}

/// Why a proposal was refused. Each names the proposing side and, for conflicts, the
/// other side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpCheckError {
    #[error("{from} IP configuration has no address")]
    Empty { from: Source },
    #[error("{from} {role} {value} is not an {want} address")]
    WrongFamily {
        from: Source,
        role: Role,
        value: IpAddr,
        want: &'static str,
    },
    #[error("{from} {role} {value} is {why}, not a unicast address")]
    NotUnicast {
        from: Source,
        role: Role,
        value: IpAddr,
        why: &'static str,
    },
    #[error("{from} prefix length /{len} for {address} is outside 1–{max}")]
    PrefixRange {
        from: Source,
        address: IpAddr,
        len: u8,
        max: u8,
    },
    #[error("{from} netmask {mask} for {address} has holes (a netmask is ones, then zeros)")]
    MaskHoles {
        from: Source,
        address: IpAddr,
        mask: IpAddr,
    },
    #[error("{from} address {address}/{len} is the {which} address of its own subnet")]
    SubnetEdge {
        from: Source,
        address: IpAddr,
        len: u8,
        which: &'static str,
    },
    #[error("{from} gateway {gateway} is the address itself")]
    GatewayIsAddress { from: Source, gateway: IpAddr },
    #[error("{from} gateway {gateway} is not on the link {network}/{len} of address {address}")]
    GatewayOffLink {
        from: Source,
        gateway: IpAddr,
        address: IpAddr,
        network: IpAddr,
        len: u8,
    },
    #[error("{from} gateway {gateway} is the {which} address of the subnet {network}/{len}")]
    GatewayEdge {
        from: Source,
        gateway: IpAddr,
        network: IpAddr,
        len: u8,
        which: &'static str,
    },
    #[error("{from} DNS servers are all unusable ({})", list(.servers))]
    NoUsableDns { from: Source, servers: Vec<IpAddr> },
    #[error("{from} MTU {mtu} is outside {min}–{max}{}", if *.ipv6 { " (IPv6 needs at least 1280)" } else { "" })]
    Mtu {
        from: Source,
        mtu: u32,
        min: u32,
        max: u32,
        ipv6: bool,
    },
    #[error("{from} address {address}/{len} overlaps {other}")]
    Overlap {
        from: Source,
        address: IpAddr,
        len: u8,
        other: Occupied,
    },
    #[error("{from} gateway {gateway} lies in {other}")]
    GatewayTaken {
        from: Source,
        gateway: IpAddr,
        other: Occupied,
    },
}

fn list(servers: &[IpAddr]) -> String {
    servers
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Something accepted with a change the user should know of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A DNS server that is not unicast (or of the other family) was left out.
    DnsDropped {
        from: Source,
        server: IpAddr,
        why: &'static str,
    },
    /// The network would have covered another interface's network; only the host
    /// address is configured, with the gateway on-link.
    Narrowed {
        from: Source,
        address: IpAddr,
        len: u8,
        other: Occupied,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::DnsDropped { from, server, why } => {
                write!(f, "{from} DNS server {server} is {why}; left out")
            }
            Warning::Narrowed { from, address, len, other } => write!(
                f,
                "{from} network {address}/{len} covers {other}; configuring {address} as a host address with the gateway on-link"
            ),
        }
    }
}

/// A configuration that passed every rule, ready for [`crate::netlink::Netlink::apply`]
/// (or netifd) and the resolv file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub ipv4: Option<Ipv4Config>,
    pub ipv6: Option<Ipv6Config>,
    pub mtu: Option<u32>,
    pub warnings: Vec<Warning>,
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn from_bits(like: IpAddr, v: u128) -> IpAddr {
    match like {
        // Only the low 32 bits are ever set for an IPv4 value.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(v as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// All ones in a `width`-bit value.
fn all_ones(width: u8) -> u128 {
    u128::MAX.checked_shr(128 - u32::from(width)).unwrap_or(0)
}

/// Ones in the top `len` bits of a `width`-bit value (`len` is capped at `width`).
fn prefix_mask(len: u8, width: u8) -> u128 {
    let all = all_ones(width);
    all & !all.checked_shr(u32::from(len.min(width))).unwrap_or(0)
}

/// `a` with the bits past `len` cleared (pure).
pub fn masked(a: IpAddr, len: u8) -> IpAddr {
    let (v, width) = bits(a);
    from_bits(a, v & prefix_mask(len, width))
}

/// Whether `a` lies in `net`/`len` (same family; pure).
pub fn contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    if net.is_ipv4() != a.is_ipv4() {
        return false;
    }
    masked(net, len) == masked(a, len)
}

/// Why an IPv4 value is not a unicast host address, if it is not.
fn v4_not_unicast(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    Some(match o[0] {
        _ if a.is_broadcast() => "the broadcast address",
        0 => "in 0.0.0.0/8 (\"this network\")",
        127 => "a loopback address",
        224..=239 => "a multicast address",
        240..=255 => "in the reserved block 240.0.0.0/4",
        169 if o[1] == 254 => "a link-local address",
        _ => return None,
    })
}

/// Why an IPv6 value is not a unicast address, if it is not; link-local is judged by
/// the caller (allowed for gateways only).
fn v6_not_unicast(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    Some(if a.is_unspecified() {
        "the unspecified address ::"
    } else if a.is_loopback() {
        "the loopback address ::1"
    } else if s[0] & 0xff00 == 0xff00 {
        "a multicast address"
    } else if s[..5] == [0; 5] && s[5] == 0xffff {
        "an IPv4-mapped address"
    } else {
        return None;
    })
}

fn is_v6_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Why `a` is not usable in `role` (`link_local_ok` for IPv6 gateways), if it is not.
fn not_unicast(a: IpAddr, link_local_ok: bool) -> Option<&'static str> {
    match a {
        IpAddr::V4(a) => v4_not_unicast(a),
        IpAddr::V6(a) => v6_not_unicast(a)
            .or_else(|| (!link_local_ok && is_v6_link_local(a)).then_some("a link-local address")),
    }
}

/// The prefix length of a contiguous mask, or `None` when it has holes.
fn mask_len(mask: IpAddr) -> Option<u8> {
    let (v, width) = bits(mask);
    let len = u8::try_from((v << (128 - u32::from(width))).leading_ones()).ok()?;
    (prefix_mask(len, width) == v).then_some(len)
}

/// One family's rules. `others` holds only networks of other interfaces.
struct Family<'a> {
    from: Source,
    v6: bool,
    others: &'a [Occupied],
    warnings: &'a mut Vec<Warning>,
}

/// The checked values of one family: address, prefix length, gateway, DNS.
type Checked1 = (IpAddr, u8, Option<IpAddr>, Vec<IpAddr>);

impl Family<'_> {
    fn width(&self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn want(&self) -> &'static str {
        if self.v6 {
            "IPv6"
        } else {
            "IPv4"
        }
    }

    fn family(&self, role: Role, value: IpAddr) -> Result<(), IpCheckError> {
        if value.is_ipv6() != self.v6 {
            return Err(IpCheckError::WrongFamily {
                from: self.from,
                role,
                value,
                want: self.want(),
            });
        }
        Ok(())
    }

    fn unicast(&self, role: Role, value: IpAddr, link_local_ok: bool) -> Result<(), IpCheckError> {
        self.family(role, value)?;
        match not_unicast(value, link_local_ok) {
            Some(why) => Err(IpCheckError::NotUnicast {
                from: self.from,
                role,
                value,
                why,
            }),
            None => Ok(()),
        }
    }

    fn prefix_len(&self, address: IpAddr, prefix: Prefix) -> Result<u8, IpCheckError> {
        let max = self.width();
        let len = match prefix {
            Prefix::Unknown => return Ok(max),
            Prefix::Len(len) => len,
            Prefix::Mask(mask) => {
                self.family(Role::Netmask, mask)?;
                mask_len(mask).ok_or(IpCheckError::MaskHoles {
                    from: self.from,
                    address,
                    mask,
                })?
            }
        };
        if len == 0 || len > max {
            return Err(IpCheckError::PrefixRange {
                from: self.from,
                address,
                len,
                max,
            });
        }
        Ok(len)
    }

    /// "network"/"broadcast" when `a` is that address of `a`/`len` and the subnet has
    /// such addresses (IPv4 ≤ /30; IPv6 ≤ /126: its subnet-router anycast address).
    fn subnet_edge(&self, a: IpAddr, len: u8) -> Option<&'static str> {
        let (v, width) = bits(a);
        if len + 2 > width {
            return None;
        }
        let all_host = all_ones(width) & !prefix_mask(len, width);
        let host = v & all_host;
        if host == 0 {
            Some(if self.v6 {
                "subnet-router anycast"
            } else {
                "network"
            })
        } else if host == all_host && !self.v6 {
            Some("broadcast")
        } else {
            None
        }
    }

    fn gateway(&self, address: IpAddr, len: u8, gateway: IpAddr) -> Result<(), IpCheckError> {
        let from = self.from;
        self.unicast(Role::Gateway, gateway, self.v6)?;
        if gateway == address {
            return Err(IpCheckError::GatewayIsAddress { from, gateway });
        }
        let link_local = matches!(gateway, IpAddr::V6(g) if is_v6_link_local(g));
        if len == self.width() || link_local {
            // Point-to-point or link-local: reached on-link whatever the prefix.
            return Ok(());
        }
        let network = masked(address, len);
        if !contains(address, len, gateway) {
            return Err(IpCheckError::GatewayOffLink {
                from,
                gateway,
                address,
                network,
                len,
            });
        }
        if let Some(which) = self.subnet_edge(gateway, len) {
            return Err(IpCheckError::GatewayEdge {
                from,
                gateway,
                network,
                len,
                which,
            });
        }
        Ok(())
    }

    fn dns(&mut self, servers: &[IpAddr]) -> Result<Vec<IpAddr>, IpCheckError> {
        let mut kept: Vec<IpAddr> = Vec::new();
        for &server in servers {
            let why = if server.is_ipv6() != self.v6 {
                Some(if self.v6 {
                    "an IPv4 address in the IPv6 list"
                } else {
                    "an IPv6 address in the IPv4 list"
                })
            } else {
                not_unicast(server, false)
            };
            match why {
                Some(why) => self.warnings.push(Warning::DnsDropped {
                    from: self.from,
                    server,
                    why,
                }),
                None if !kept.contains(&server) => kept.push(server),
                None => {}
            }
        }
        if kept.is_empty() && !servers.is_empty() {
            return Err(IpCheckError::NoUsableDns {
                from: self.from,
                servers: servers.to_vec(),
            });
        }
        Ok(kept)
    }

    /// The overlap rules; returns the prefix length to configure (narrowed or not).
    fn overlap(
        &mut self,
        address: IpAddr,
        len: u8,
        gateway: Option<IpAddr>,
    ) -> Result<u8, IpCheckError> {
        let from = self.from;
        let mut narrowed = None;
        // Link-local networks are per interface (every IPv6 link has fe80::/64): they
        // cannot collide with another interface's.
        let relevant = self.others.iter().filter(|o| {
            o.network.is_ipv6() == self.v6
                && o.prefix_len > 0
                && !matches!(o.network, IpAddr::V6(n) if is_v6_link_local(n))
        });
        for other in relevant {
            let (net, other_len) = (other.network, other.prefix_len);
            // Our address inside theirs: ours equals, sits inside, or straddles their network.
            if contains(net, other_len, address) {
                return Err(IpCheckError::Overlap {
                    from,
                    address,
                    len,
                    other: other.clone(),
                });
            }
            if let Some(gw) =
                gateway.filter(|g| !matches!(g, IpAddr::V6(g) if is_v6_link_local(*g)))
            {
                if contains(net, other_len, gw) {
                    return Err(IpCheckError::GatewayTaken {
                        from,
                        gateway: gw,
                        other: other.clone(),
                    });
                }
            }
            if other_len > len && contains(address, len, net) && narrowed.is_none() {
                narrowed = Some(other.clone());
            }
        }
        match narrowed {
            Some(other) => {
                self.warnings.push(Warning::Narrowed {
                    from,
                    address,
                    len,
                    other,
                });
                Ok(self.width())
            }
            None => Ok(len),
        }
    }

    fn check(&mut self, p: &Proposed) -> Result<Checked1, IpCheckError> {
        let from = self.from;
        self.unicast(Role::Address, p.address, false)?;
        let len = self.prefix_len(p.address, p.prefix)?;
        if let Some(which) = self.subnet_edge(p.address, len) {
            return Err(IpCheckError::SubnetEdge {
                from,
                address: p.address,
                len,
                which,
            });
        }
        if let Some(gw) = p.gateway {
            self.gateway(p.address, len, gw)?;
        }
        let dns = self.dns(&p.dns)?;
        let len = self.overlap(p.address, len, p.gateway)?;
        Ok((p.address, len, p.gateway, dns))
    }
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn v6(a: IpAddr) -> Option<Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

/// Checks `proposal` against every rule and against `others` (networks held by other
/// interfaces; see the module doc). Pure.
pub fn check(proposal: &Proposal, others: &[Occupied]) -> Result<Checked, IpCheckError> {
    let from = proposal.from;
    if proposal.ipv4.is_none() && proposal.ipv6.is_none() {
        return Err(IpCheckError::Empty { from });
    }
    if let Some(mtu) = proposal.mtu {
        let ipv6 = proposal.ipv6.is_some();
        let range = if ipv6 { MTU_V6 } else { MTU_V4 };
        if !range.contains(&mtu) {
            return Err(IpCheckError::Mtu {
                from,
                mtu,
                min: *range.start(),
                max: *range.end(),
                ipv6,
            });
        }
    }
    let mut warnings = Vec::new();
    let mut run = |v6: bool, p: &Proposed| {
        Family {
            from,
            v6,
            others,
            warnings: &mut warnings,
        }
        .check(p)
    };
    let ipv4 = match &proposal.ipv4 {
        Some(p) => {
            let (address, prefix_len, gateway, dns) = run(false, p)?;
            Some(Ipv4Config {
                address: v4(address).ok_or(IpCheckError::Empty { from })?,
                prefix_len,
                gateway: gateway.and_then(v4),
                dns: dns.into_iter().filter_map(v4).collect(),
            })
        }
        None => None,
    };
    let ipv6 = match &proposal.ipv6 {
        Some(p) => {
            let (address, prefix_len, gateway, dns) = run(true, p)?;
            Some(Ipv6Config {
                address: v6(address).ok_or(IpCheckError::Empty { from })?,
                prefix_len,
                gateway: gateway.and_then(v6),
                dns: dns.into_iter().filter_map(v6).collect(),
            })
        }
        None => None,
    };
    Ok(Checked {
        ipv4,
        ipv6,
        mtu: proposal.mtu,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn v4p(address: &str, prefix: Prefix, gateway: Option<&str>, dns: &[&str]) -> Proposal {
        Proposal {
            from: Source::Modem,
            ipv4: Some(Proposed {
                address: ip(address),
                prefix,
                gateway: gateway.map(ip),
                dns: dns.iter().map(|d| ip(d)).collect(),
            }),
            ipv6: None,
            mtu: None,
        }
    }

    fn v6p(address: &str, prefix: Prefix, gateway: Option<&str>, dns: &[&str]) -> Proposal {
        let mut p = v4p("10.0.0.2", Prefix::Len(30), None, &[]);
        p.ipv4 = None;
        p.ipv6 = Some(Proposed {
            address: ip(address),
            prefix,
            gateway: gateway.map(ip),
            dns: dns.iter().map(|d| ip(d)).collect(),
        });
        p
    }

    fn lan() -> Vec<Occupied> {
        vec![
            Occupied {
                holder: "br-lan".into(),
                network: ip("192.168.1.1"),
                prefix_len: 24,
                address: Some(ip("192.168.1.1")),
            },
            Occupied {
                holder: "br-lan".into(),
                network: ip("192.168.1.0"),
                prefix_len: 24,
                address: None,
            },
            Occupied {
                holder: "eth1".into(),
                network: ip("0.0.0.0"),
                prefix_len: 0,
                address: None,
            },
            Occupied {
                holder: "br-lan".into(),
                network: ip("fe80::"),
                prefix_len: 64,
                address: None,
            },
            Occupied {
                holder: "br-lan".into(),
                network: ip("fd12:3456:789a::"),
                prefix_len: 48,
                address: None,
            },
        ]
    }

    fn refused(p: &Proposal) -> IpCheckError {
        check(p, &lan()).expect_err("refused")
    }

    #[test]
    fn the_attack_dhcp_reply_is_refused() {
        // The attack of issue 12: `^DHCP: 0500007F,000000FF,0100007F,0100007F,0100007F,0,…`
        // (little-endian hex): 127.0.0.5, mask 255.0.0.0, gateway and DNS 127.0.0.1.
        let p = v4p(
            "127.0.0.5",
            Prefix::Mask(ip("255.0.0.0")),
            Some("127.0.0.1"),
            &["127.0.0.1", "127.0.0.1"],
        );
        let e = refused(&p);
        assert_eq!(
            e.to_string(),
            "the modem's address 127.0.0.5 is a loopback address, not a unicast address"
        );
    }

    #[test]
    fn addresses_must_be_unicast() {
        for (a, why) in [
            ("255.255.255.255", "the broadcast address"),
            ("0.1.2.3", "in 0.0.0.0/8 (\"this network\")"),
            ("0.0.0.0", "in 0.0.0.0/8 (\"this network\")"),
            ("127.0.0.5", "a loopback address"),
            ("224.0.0.1", "a multicast address"),
            ("239.255.255.250", "a multicast address"),
            ("240.0.0.1", "in the reserved block 240.0.0.0/4"),
            ("169.254.10.1", "a link-local address"),
        ] {
            assert_eq!(
                refused(&v4p(a, Prefix::Len(32), None, &[])),
                IpCheckError::NotUnicast {
                    from: Source::Modem,
                    role: Role::Address,
                    value: ip(a),
                    why
                },
                "{a}"
            );
        }
        for (a, why) in [
            ("::", "the unspecified address ::"),
            ("::1", "the loopback address ::1"),
            ("ff02::1", "a multicast address"),
            ("::ffff:10.0.0.1", "an IPv4-mapped address"),
            ("fe80::1", "a link-local address"),
        ] {
            assert_eq!(
                refused(&v6p(a, Prefix::Len(64), None, &[])),
                IpCheckError::NotUnicast {
                    from: Source::Modem,
                    role: Role::Address,
                    value: ip(a),
                    why
                },
                "{a}"
            );
        }
        // The 255.255.255.255/32 of issue 12, and CGNAT space is fine.
        assert!(matches!(
            refused(&v4p(
                "255.255.255.255",
                Prefix::Mask(ip("255.255.255.255")),
                None,
                &[]
            )),
            IpCheckError::NotUnicast { .. }
        ));
        assert!(check(
            &v4p("100.64.3.2", Prefix::Len(10), Some("100.64.0.1"), &[]),
            &lan()
        )
        .is_ok());
    }

    #[test]
    fn prefix_lengths_and_masks() {
        let len = |l| refused(&v4p("10.0.0.2", Prefix::Len(l), None, &[]));
        assert_eq!(
            len(0),
            IpCheckError::PrefixRange {
                from: Source::Modem,
                address: ip("10.0.0.2"),
                len: 0,
                max: 32
            }
        );
        assert!(matches!(len(33), IpCheckError::PrefixRange { len: 33, .. }));
        // `/200` in +CGCONTRDP, for either family.
        assert!(matches!(
            len(200),
            IpCheckError::PrefixRange {
                len: 200,
                max: 32,
                ..
            }
        ));
        assert!(matches!(
            refused(&v6p("2001:db8::2", Prefix::Len(200), None, &[])),
            IpCheckError::PrefixRange {
                len: 200,
                max: 128,
                ..
            }
        ));
        assert!(matches!(
            refused(&v6p("2001:db8::2", Prefix::Len(0), None, &[])),
            IpCheckError::PrefixRange { len: 0, .. }
        ));
        // A mask of 0.0.0.0 is prefix 0.
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Mask(ip("0.0.0.0")), None, &[])),
            IpCheckError::PrefixRange { len: 0, .. }
        ));
        for holes in [
            "255.0.255.0",
            "255.255.255.253",
            "0.0.0.255",
            "254.255.255.255",
        ] {
            let e = refused(&v4p("10.0.0.2", Prefix::Mask(ip(holes)), None, &[]));
            assert_eq!(e.to_string(), format!("the modem's netmask {holes} for 10.0.0.2 has holes (a netmask is ones, then zeros)"));
        }
        assert!(matches!(
            refused(&v6p(
                "2001:db8::2",
                Prefix::Mask(ip("ffff::ffff")),
                None,
                &[]
            )),
            IpCheckError::MaskHoles { .. }
        ));
        assert!(matches!(
            refused(&v6p(
                "2001:db8::2",
                Prefix::Mask(ip("255.255.255.0")),
                None,
                &[]
            )),
            IpCheckError::WrongFamily {
                role: Role::Netmask,
                ..
            }
        ));
        let ok = |p: &Proposal| check(p, &lan()).expect("accepted");
        assert_eq!(
            ok(&v4p(
                "10.0.0.2",
                Prefix::Mask(ip("255.255.255.252")),
                None,
                &[]
            ))
            .ipv4
            .unwrap()
            .prefix_len,
            30
        );
        assert_eq!(
            ok(&v4p(
                "10.0.0.2",
                Prefix::Mask(ip("255.255.255.255")),
                None,
                &[]
            ))
            .ipv4
            .unwrap()
            .prefix_len,
            32
        );
        assert_eq!(
            ok(&v4p("10.0.0.2", Prefix::Len(1), None, &[]))
                .ipv4
                .unwrap()
                .prefix_len,
            1
        );
        assert_eq!(
            ok(&v4p("10.0.0.2", Prefix::Unknown, None, &[]))
                .ipv4
                .unwrap()
                .prefix_len,
            32
        );
        assert_eq!(
            ok(&v6p(
                "2001:db8::2",
                Prefix::Mask(ip("ffff:ffff:ffff:ffff::")),
                None,
                &[]
            ))
            .ipv6
            .unwrap()
            .prefix_len,
            64
        );
        assert_eq!(
            ok(&v6p("2001:db8::2", Prefix::Unknown, None, &[]))
                .ipv6
                .unwrap()
                .prefix_len,
            128
        );
    }

    #[test]
    fn an_address_is_not_its_subnets_network_or_broadcast() {
        assert_eq!(
            refused(&v4p("10.0.0.0", Prefix::Len(24), None, &[])).to_string(),
            "the modem's address 10.0.0.0/24 is the network address of its own subnet"
        );
        assert!(matches!(
            refused(&v4p("10.0.0.255", Prefix::Len(24), None, &[])),
            IpCheckError::SubnetEdge {
                which: "broadcast",
                ..
            }
        ));
        assert!(matches!(
            refused(&v4p("10.0.0.3", Prefix::Len(30), None, &[])),
            IpCheckError::SubnetEdge {
                which: "broadcast",
                ..
            }
        ));
        assert!(matches!(
            refused(&v6p("2001:db8::", Prefix::Len(64), None, &[])),
            IpCheckError::SubnetEdge {
                which: "subnet-router anycast",
                ..
            }
        ));
        // /31 and /32 have no such addresses (RFC 3021).
        assert!(check(
            &v4p("10.0.0.0", Prefix::Len(31), Some("10.0.0.1"), &[]),
            &lan()
        )
        .is_ok());
        assert!(check(&v4p("10.0.0.255", Prefix::Len(32), None, &[]), &lan()).is_ok());
    }

    #[test]
    fn the_gateway_is_on_the_link() {
        let e = refused(&v4p("10.0.0.2", Prefix::Len(30), Some("10.0.0.2"), &[]));
        assert_eq!(
            e.to_string(),
            "the modem's gateway 10.0.0.2 is the address itself"
        );
        let e = refused(&v4p("10.0.0.2", Prefix::Len(30), Some("10.9.0.1"), &[]));
        assert_eq!(
            e.to_string(),
            "the modem's gateway 10.9.0.1 is not on the link 10.0.0.0/30 of address 10.0.0.2"
        );
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Len(24), Some("10.0.0.255"), &[])),
            IpCheckError::GatewayEdge {
                which: "broadcast",
                ..
            }
        ));
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Len(24), Some("10.0.0.0"), &[])),
            IpCheckError::GatewayEdge {
                which: "network",
                ..
            }
        ));
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Len(24), Some("127.0.0.1"), &[])),
            IpCheckError::NotUnicast {
                role: Role::Gateway,
                ..
            }
        ));
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Len(24), Some("2001:db8::1"), &[])),
            IpCheckError::WrongFamily {
                role: Role::Gateway,
                ..
            }
        ));
        // /31: the gateway is the peer.
        assert!(check(
            &v4p("10.0.0.2", Prefix::Len(31), Some("10.0.0.3"), &[]),
            &lan()
        )
        .is_ok());
        assert!(matches!(
            refused(&v4p("10.0.0.2", Prefix::Len(31), Some("10.0.0.1"), &[])),
            IpCheckError::GatewayOffLink { .. }
        ));
        // A host address (a /32 or no mask): point-to-point, the gateway is reached on-link.
        for prefix in [Prefix::Len(32), Prefix::Unknown] {
            let c = check(&v4p("10.0.0.2", prefix, Some("10.9.0.1"), &[]), &lan())
                .expect("point-to-point");
            let v4 = c.ipv4.unwrap();
            assert_eq!(
                (v4.prefix_len, v4.gateway),
                (32, Some(Ipv4Addr::new(10, 9, 0, 1)))
            );
            assert!(crate::netlink::gateway_needs_onlink(
                IpAddr::V4(v4.address),
                v4.prefix_len,
                IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1))
            ));
        }
        // IPv6: a link-local gateway is the usual case; a global one off the prefix is not.
        assert!(check(
            &v6p("2001:db8::2", Prefix::Len(64), Some("fe80::1"), &[]),
            &lan()
        )
        .is_ok());
        assert!(check(
            &v6p("2001:db8::2", Prefix::Len(64), Some("2001:db8::1"), &[]),
            &lan()
        )
        .is_ok());
        assert!(matches!(
            refused(&v6p(
                "2001:db8::2",
                Prefix::Len(64),
                Some("2001:db8:1::1"),
                &[]
            )),
            IpCheckError::GatewayOffLink { .. }
        ));
        assert!(matches!(
            refused(&v6p("2001:db8::2", Prefix::Len(64), Some("ff02::2"), &[])),
            IpCheckError::NotUnicast {
                role: Role::Gateway,
                ..
            }
        ));
        assert!(check(
            &v6p("2001:db8::2", Prefix::Unknown, Some("2001:db8:1::1"), &[]),
            &lan()
        )
        .is_ok());
    }

    #[test]
    fn bad_dns_servers_are_dropped_and_none_left_is_refused() {
        // Issue 12: DNS 224.0.0.1 and 255.255.255.255.
        let e = refused(&v4p(
            "10.0.0.2",
            Prefix::Len(30),
            Some("10.0.0.1"),
            &["224.0.0.1", "255.255.255.255"],
        ));
        assert_eq!(
            e.to_string(),
            "the modem's DNS servers are all unusable (224.0.0.1, 255.255.255.255)"
        );
        let c = check(
            &v4p(
                "10.0.0.2",
                Prefix::Len(30),
                Some("10.0.0.1"),
                &["224.0.0.1", "10.0.0.53", "10.0.0.53", "::1"],
            ),
            &lan(),
        )
        .unwrap();
        assert_eq!(c.ipv4.unwrap().dns, vec![Ipv4Addr::new(10, 0, 0, 53)]);
        let texts: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            texts,
            [
                "the modem's DNS server 224.0.0.1 is a multicast address; left out",
                "the modem's DNS server ::1 is an IPv6 address in the IPv4 list; left out"
            ]
        );
        // No servers given is fine (a lease without option 6).
        assert!(check(&v4p("10.0.0.2", Prefix::Len(30), None, &[]), &lan())
            .unwrap()
            .warnings
            .is_empty());
        let e = refused(&v6p(
            "2001:db8::2",
            Prefix::Len(64),
            None,
            &["fe80::53", "ff02::fb"],
        ));
        assert!(matches!(e, IpCheckError::NoUsableDns { .. }), "{e}");
    }

    #[test]
    fn mtu_is_sane() {
        let mut p = v4p("10.0.0.2", Prefix::Len(30), None, &[]);
        for (mtu, ok) in [
            (575, false),
            (576, true),
            (1500, true),
            (9000, true),
            (9001, false),
            (0, false),
        ] {
            p.mtu = Some(mtu);
            assert_eq!(check(&p, &[]).is_ok(), ok, "{mtu}");
        }
        p.ipv6 = v6p("2001:db8::2", Prefix::Len(64), None, &[]).ipv6;
        p.mtu = Some(1279);
        assert_eq!(
            check(&p, &[]).unwrap_err().to_string(),
            "the modem's MTU 1279 is outside 1280–9000 (IPv6 needs at least 1280)"
        );
        p.mtu = Some(1280);
        assert!(check(&p, &[]).is_ok());
    }

    #[test]
    fn overlap_with_the_lan_is_refused_naming_both_sides() {
        // Issue 12: the modem reports 192.168.1.130/25 while the LAN is 192.168.1.0/24.
        let e = refused(&v4p(
            "192.168.1.130",
            Prefix::Len(25),
            Some("192.168.1.129"),
            &[],
        ));
        assert_eq!(e.to_string(), "the modem's address 192.168.1.130/25 overlaps 192.168.1.0/24 on br-lan (its address 192.168.1.1)");
        // Equal network, and an address inside the LAN with a wider mask.
        assert!(matches!(
            refused(&v4p("192.168.1.7", Prefix::Len(24), None, &[])),
            IpCheckError::Overlap { .. }
        ));
        assert!(matches!(
            refused(&v4p("192.168.1.7", Prefix::Len(16), None, &[])),
            IpCheckError::Overlap { .. }
        ));
        // Routes count as well as addresses.
        let routes = [Occupied {
            holder: "wg0".into(),
            network: ip("10.8.0.0"),
            prefix_len: 16,
            address: None,
        }];
        let e = check(&v4p("10.8.3.2", Prefix::Len(30), None, &[]), &routes).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the modem's address 10.8.3.2/30 overlaps 10.8.0.0/16 (a route on wg0)"
        );
        // A point-to-point gateway inside the LAN.
        let e = refused(&v4p("10.64.0.2", Prefix::Len(32), Some("192.168.1.1"), &[]));
        assert_eq!(e.to_string(), "the modem's gateway 192.168.1.1 lies in 192.168.1.0/24 on br-lan (its address 192.168.1.1)");
        // IPv6: the LAN's ULA prefix; link-local routes and default routes are no conflict.
        assert!(matches!(
            refused(&v6p(
                "fd12:3456:789a:1::2",
                Prefix::Len(64),
                Some("fe80::1"),
                &[]
            )),
            IpCheckError::Overlap { .. }
        ));
        assert!(check(
            &v6p("2001:db8::2", Prefix::Len(64), Some("fe80::1"), &[]),
            &lan()
        )
        .is_ok());
        // The DHCP side says so in its own words.
        let mut p = v4p("192.168.1.130", Prefix::Len(25), None, &[]);
        p.from = Source::Dhcp;
        assert!(check(&p, &lan())
            .unwrap_err()
            .to_string()
            .starts_with("the DHCP lease's address 192.168.1.130/25 overlaps"));
    }

    #[test]
    fn a_network_around_the_lan_is_narrowed_to_the_host_address() {
        // A real reply shape (TD Tech: 10.121.14.147/8 via 10.0.0.1, see ncmd-at's
        // huawei.rs tests) against a LAN inside 10/8.
        let lan10 = [Occupied {
            holder: "br-lan".into(),
            network: ip("10.1.1.1"),
            prefix_len: 24,
            address: Some(ip("10.1.1.1")),
        }];
        let c = check(
            &v4p("10.121.14.147", Prefix::Len(8), Some("10.0.0.1"), &[]),
            &lan10,
        )
        .expect("narrowed");
        let v4 = c.ipv4.unwrap();
        assert_eq!(
            (v4.prefix_len, v4.gateway),
            (32, Some(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(
            c.warnings[0].to_string(),
            "the modem's network 10.121.14.147/8 covers 10.1.1.0/24 on br-lan (its address 10.1.1.1); configuring 10.121.14.147 as a host address with the gateway on-link"
        );
        // The same LAN at 10.0.0.0/24 holds the gateway: refused.
        let lan0 = [Occupied {
            holder: "br-lan".into(),
            network: ip("10.0.0.254"),
            prefix_len: 24,
            address: Some(ip("10.0.0.254")),
        }];
        let e = check(
            &v4p("10.121.14.147", Prefix::Len(8), Some("10.0.0.1"), &[]),
            &lan0,
        )
        .unwrap_err();
        assert!(matches!(e, IpCheckError::GatewayTaken { .. }), "{e}");
    }

    #[test]
    fn a_real_reply_passes_unchanged() {
        // Huawei's own unit test for At_QryDhcpPara (see ncmd-at huawei.rs):
        // "^DHCP: 413DA8C0,00FFFFFF,423DA8C0,423DA8C0,00000000,00000000,…"
        let c = check(
            &v4p(
                "192.168.61.65",
                Prefix::Mask(ip("255.255.255.0")),
                Some("192.168.61.66"),
                &[],
            ),
            &lan(),
        )
        .unwrap();
        assert_eq!(
            c.ipv4,
            Some(Ipv4Config {
                address: Ipv4Addr::new(192, 168, 61, 65),
                prefix_len: 24,
                gateway: Some(Ipv4Addr::new(192, 168, 61, 66)),
                dns: vec![]
            })
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn nothing_and_wrong_families_are_refused() {
        let mut p = v4p("10.0.0.2", Prefix::Len(30), None, &[]);
        p.ipv4 = None;
        assert_eq!(
            check(&p, &[]).unwrap_err().to_string(),
            "the modem's IP configuration has no address"
        );
        assert!(matches!(
            check(&v4p("2001:db8::2", Prefix::Len(64), None, &[]), &[]),
            Err(IpCheckError::WrongFamily {
                role: Role::Address,
                ..
            })
        ));
        assert!(matches!(
            check(&v6p("10.0.0.2", Prefix::Len(30), None, &[]), &[]),
            Err(IpCheckError::WrongFamily { .. })
        ));
    }

    #[test]
    fn mask_helpers() {
        assert_eq!(mask_len(ip("255.255.255.255")), Some(32));
        assert_eq!(mask_len(ip("0.0.0.0")), Some(0));
        assert_eq!(
            mask_len(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
            Some(128)
        );
        assert_eq!(mask_len(ip("::")), Some(0));
        assert_eq!(masked(ip("192.168.1.130"), 25), ip("192.168.1.128"));
        assert_eq!(masked(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(masked(ip("2001:db8::1"), 0), ip("::"));
        assert!(
            contains(ip("10.0.0.0"), 8, ip("10.200.0.1"))
                && !contains(ip("10.0.0.0"), 8, ip("::1"))
        );
    }
}
