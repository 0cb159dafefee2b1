//! Netlink: the data interface's state in the kernel, read and changed over rtnetlink.
//!
//! Owns: link lookup, admin up, MTU, addresses, default routes (metric, table), carrier
//! (IFF_LOWER_UP), carrier/presence events from the RTNLGRP_LINK multicast group, and the
//! interface's traffic counters, and what other interfaces hold (addresses, routes) for
//! the IP check. Everything goes through netlink in the calling thread's
//! network namespace (never /sys, whose view belongs to the namespace that mounted it).
//!
//! Must not know about: modems, AT commands, where a configuration came from (modem
//! reply, DHCP, static), DNS files. `apply` records exactly what it changed so that
//! `release` undoes only that.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{Stream, TryStreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlag, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlag, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::AsyncSocket;
use rtnetlink::{Handle, IpVersion};
use tokio::task::JoinHandle;

use crate::ipcheck::{Checked, IpCheckError, Occupied, Proposal};

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const ESRCH: i32 = 3;
const EADDRNOTAVAIL: i32 = 99;

/// IPv6 routes given metric 0 are stored by the kernel with this metric (IP6_RT_PRIO_USER).
const IPV6_DEFAULT_METRIC: u32 = 1024;

/// What failed while reading or changing an interface.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open a netlink socket: {0}; ncmd needs CAP_NET_ADMIN (run it as root)")]
    Connect(#[source] std::io::Error),
    #[error(
        "network interface {ifname} does not exist; check that the modem is attached, \
         its driver is loaded and the interface name in the configuration (see `ip link`)"
    )]
    NoSuchLink { ifname: String },
    #[error("could not {what}: {source}")]
    Request {
        what: String,
        #[source]
        source: Box<rtnetlink::Error>,
    },
    #[error("network interface {ifname} reports no traffic statistics")]
    NoStats { ifname: String },
    /// The network side's configuration failed the IP check; nothing was changed.
    #[error(transparent)]
    Refused(#[from] IpCheckError),
}

/// IPv4 settings of the data interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Config {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    /// Not applied by [`Netlink::apply`]; written by [`crate::dns`].
    pub dns: Vec<Ipv4Addr>,
}

/// IPv6 settings of the data interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Config {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv6Addr>,
    /// Not applied by [`Netlink::apply`]; written by [`crate::dns`].
    pub dns: Vec<Ipv6Addr>,
}

/// The whole configuration of one data interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    pub ifname: String,
    pub mtu: Option<u32>,
    pub ipv4: Option<Ipv4Config>,
    pub ipv6: Option<Ipv6Config>,
    /// Add a default route per family (via the gateway, or on-link when there is none).
    pub default_route: bool,
    pub metric: u32,
    /// Routing table for the default routes; `None` is the main table.
    pub table: Option<u32>,
}

impl LinkConfig {
    /// The configuration of `ifname` from a checked proposal, with the user's route
    /// settings (`defaultroute`, `metric`, `ip4table`).
    pub fn from_checked(
        ifname: &str,
        checked: &Checked,
        default_route: bool,
        metric: u32,
        table: Option<u32>,
    ) -> LinkConfig {
        LinkConfig {
            ifname: ifname.to_owned(),
            mtu: checked.mtu,
            ipv4: checked.ipv4.clone(),
            ipv6: checked.ipv6.clone(),
            default_route,
            metric,
            table,
        }
    }
}

/// A default route that `apply` added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    pub v6: bool,
    /// `None`: an on-link route (`default dev IF scope link`).
    pub gateway: Option<IpAddr>,
    /// The gateway is outside the address's prefix (a point-to-point host address) and
    /// is declared on-link (`onlink`, RTNH_F_ONLINK); see [`gateway_needs_onlink`].
    pub onlink: bool,
    pub metric: u32,
    pub table: Option<u32>,
}

/// Exactly what one `apply` changed; `release` undoes exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub ifname: String,
    /// The link was down and `apply` set it up.
    pub brought_up: bool,
    /// `apply` changed the MTU; this was the MTU before.
    pub previous_mtu: Option<u32>,
    /// Addresses (with prefix length) that `apply` added.
    pub addresses: Vec<(IpAddr, u8)>,
    /// Default routes that `apply` added.
    pub routes: Vec<DefaultRoute>,
}

impl Applied {
    /// True when `apply` found everything already in place and changed nothing.
    pub fn is_empty(&self) -> bool {
        !self.brought_up
            && self.previous_mtu.is_none()
            && self.addresses.is_empty()
            && self.routes.is_empty()
    }
}

/// Byte and packet counters of an interface since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// A change seen on a watched interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    CarrierUp,
    CarrierDown,
    /// The interface vanished (unplugged, renamed, moved to another namespace).
    Removed,
    /// The interface (re)appeared; a `CarrierUp` follows when it already has carrier.
    Appeared,
}

/// A netlink connection in the network namespace of the thread that opened it.
pub struct Netlink {
    handle: Handle,
    connection: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

fn request_error(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> LinkError {
    let what = what.into();
    move |source| LinkError::Request {
        what,
        source: Box::new(source),
    }
}

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

fn has_carrier(msg: &LinkMessage) -> bool {
    msg.header.flags.contains(&LinkFlag::LowerUp)
}

fn link_name(msg: &LinkMessage) -> Option<&str> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

fn link_mtu(msg: &LinkMessage) -> Option<u32> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn route_address(addr: IpAddr) -> RouteAddress {
    match addr {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// The netlink message describing `route` on link `index`, for adding and deleting alike.
fn route_message(index: u32, route: &DefaultRoute) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = if route.v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.protocol = RouteProtocol::Static;
    msg.header.kind = RouteType::Unicast;
    msg.header.scope = if route.gateway.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    match route.table {
        Some(t) if t > 255 => {
            msg.header.table = RouteHeader::RT_TABLE_UNSPEC;
            msg.attributes.push(RouteAttribute::Table(t));
        }
        Some(t) => msg.header.table = t as u8,
        None => msg.header.table = RouteHeader::RT_TABLE_MAIN,
    }
    msg.attributes.push(RouteAttribute::Oif(index));
    msg.attributes.push(RouteAttribute::Priority(route.metric));
    if let Some(gw) = route.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(route_address(gw)));
    }
    if route.onlink {
        msg.header.flags.push(RouteFlag::Onlink);
    }
    msg
}

/// Whether a route via `gateway` from `address`/`prefix_len` must be declared on-link:
/// the gateway lies outside the prefix (a host address, /32 or /128, whose gateway
/// [`crate::ipcheck`] accepted as point-to-point) and is not IPv6 link-local (always
/// on-link). Pure.
pub fn gateway_needs_onlink(address: IpAddr, prefix_len: u8, gateway: IpAddr) -> bool {
    let link_local = matches!(gateway, IpAddr::V6(g) if g.segments()[0] & 0xffc0 == 0xfe80);
    !link_local && !crate::ipcheck::contains(address, prefix_len, gateway)
}

/// The default route on link `index` that a dumped route is, if it is one (pure).
fn parse_default_route(msg: &RouteMessage, index: u32) -> Option<DefaultRoute> {
    let v6 = match msg.header.address_family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        _ => return None,
    };
    if msg.header.destination_prefix_length != 0 || msg.header.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(msg.header.table);
    let mut oif = None;
    let mut metric = 0;
    let mut gateway = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(IpAddr::V4(*a)),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gateway = Some(IpAddr::V6(*a)),
            _ => {}
        }
    }
    let main = u32::from(RouteHeader::RT_TABLE_MAIN);
    (oif == Some(index)).then_some(DefaultRoute {
        v6,
        gateway,
        onlink: msg.header.flags.contains(&RouteFlag::Onlink),
        metric,
        table: (table != main).then_some(table),
    })
}

/// `route` as the kernel stores it (IPv6 metric 0 becomes 1024; pure).
fn as_stored(route: &DefaultRoute) -> DefaultRoute {
    let mut stored = route.clone();
    if stored.v6 && stored.metric == 0 {
        stored.metric = IPV6_DEFAULT_METRIC;
    }
    if stored.table == Some(u32::from(RouteHeader::RT_TABLE_MAIN)) {
        stored.table = None;
    }
    stored
}

fn address_message(index: u32, addr: IpAddr, prefix_len: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(addr);
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    msg.attributes.push(AddressAttribute::Address(addr));
    if addr.is_ipv4() {
        msg.attributes.push(AddressAttribute::Local(addr));
    }
    msg
}

/// The interface's own address in an address message (pure): IPv4 keeps it in IFA_LOCAL
/// (IFA_ADDRESS is the peer on point-to-point links); IPv6 only has IFA_ADDRESS.
fn own_address(msg: &AddressMessage) -> Option<IpAddr> {
    let mut address = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => return Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            _ => {}
        }
    }
    address
}

/// The network a dumped route holds, if it is one another interface could collide
/// with (pure): a destination prefix (not a default route), in any table but `local`,
/// of type unicast, unreachable, blackhole or prohibit. Returns it with the route's
/// output interface, if any, and its type.
fn occupied_route(msg: &RouteMessage) -> Option<(IpAddr, u8, Option<u32>, &'static str)> {
    let kind = match msg.header.kind {
        RouteType::Unicast => "unicast",
        RouteType::Unreachable => "unreachable",
        RouteType::BlackHole => "blackhole",
        RouteType::Prohibit => "prohibit",
        _ => return None,
    };
    let len = msg.header.destination_prefix_length;
    let mut table = u32::from(msg.header.table);
    let mut destination = None;
    let mut oif = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Destination(RouteAddress::Inet(a)) => {
                destination = Some(IpAddr::V4(*a))
            }
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => {
                destination = Some(IpAddr::V6(*a))
            }
            _ => {}
        }
    }
    if len == 0 || table == u32::from(RT_TABLE_LOCAL) {
        return None;
    }
    Some((destination?, len, oif, kind))
}

/// The `local` routing table (the kernel's own routes for local and broadcast addresses).
const RT_TABLE_LOCAL: u8 = 255;

impl Netlink {
    /// Opens a netlink connection in the calling thread's network namespace.
    pub async fn new() -> Result<Netlink, LinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(LinkError::Connect)?;
        Ok(Netlink {
            handle,
            connection: tokio::spawn(connection),
        })
    }

    async fn link_message(&self, name: &str) -> Result<Option<LinkMessage>, LinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(msg) => Ok(msg),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(source) => Err(request_error(format!("look up interface {name}"))(source)),
        }
    }

    async fn existing_link(&self, name: &str) -> Result<LinkMessage, LinkError> {
        self.link_message(name)
            .await?
            .ok_or_else(|| LinkError::NoSuchLink {
                ifname: name.to_owned(),
            })
    }

    /// The interface index of `name`, or `None` when there is no such interface.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>, LinkError> {
        Ok(self.link_message(name).await?.map(|m| m.header.index))
    }

    /// Sets the interface administratively up.
    pub async fn set_up(&self, name: &str) -> Result<(), LinkError> {
        let index = self.existing_link(name).await?.header.index;
        self.set_admin(name, index, true).await
    }

    async fn set_admin(&self, name: &str, index: u32, up: bool) -> Result<(), LinkError> {
        let req = self.handle.link().set(index);
        let req = if up { req.up() } else { req.down() };
        let state = if up { "up" } else { "down" };
        req.execute()
            .await
            .map_err(request_error(format!("set interface {name} {state}")))
    }

    /// Sets the interface's MTU.
    pub async fn set_mtu(&self, name: &str, mtu: u32) -> Result<(), LinkError> {
        let index = self.existing_link(name).await?.header.index;
        self.handle
            .link()
            .set(index)
            .mtu(mtu)
            .execute()
            .await
            .map_err(request_error(format!("set the MTU of {name} to {mtu}")))
    }

    /// Whether the interface has carrier (IFF_LOWER_UP; false while it is down).
    pub async fn carrier(&self, name: &str) -> Result<bool, LinkError> {
        Ok(has_carrier(&self.existing_link(name).await?))
    }

    /// The interface's hardware (MAC) address.
    pub async fn hw_address(&self, name: &str) -> Result<Vec<u8>, LinkError> {
        let msg = self.existing_link(name).await?;
        Ok(msg
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Address(a) => Some(a.clone()),
                _ => None,
            })
            .unwrap_or_default())
    }

    /// The interface's traffic counters.
    pub async fn stats(&self, name: &str) -> Result<Counters, LinkError> {
        let msg = self.existing_link(name).await?;
        msg.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Stats64(s) => Some(Counters {
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                }),
                _ => None,
            })
            .ok_or_else(|| LinkError::NoStats {
                ifname: name.to_owned(),
            })
    }

    /// The addresses (with prefix length) on interface `name`.
    pub async fn addresses(&self, name: &str) -> Result<Vec<(IpAddr, u8)>, LinkError> {
        let index = self.existing_link(name).await?.header.index;
        self.addresses_at(index).await
    }

    async fn addresses_at(&self, index: u32) -> Result<Vec<(IpAddr, u8)>, LinkError> {
        let mut found = Vec::new();
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(msg) = addrs.try_next().await.map_err(request_error(format!(
            "list the addresses of interface #{index}"
        )))? {
            if msg.header.index == index {
                found.extend(own_address(&msg).map(|a| (a, msg.header.prefix_len)));
            }
        }
        Ok(found)
    }

    /// The IP check ([`crate::ipcheck::check`]) of `proposal` for interface `ifname`
    /// against what the other interfaces hold now. Changes nothing; a refusal is
    /// [`LinkError::Refused`].
    pub async fn check(&self, ifname: &str, proposal: &Proposal) -> Result<Checked, LinkError> {
        let others = self.occupied_elsewhere(ifname).await?;
        Ok(crate::ipcheck::check(proposal, &others)?)
    }

    /// Names of all interfaces by index.
    async fn link_names(&self) -> Result<HashMap<u32, String>, LinkError> {
        let mut names = HashMap::new();
        let mut links = self.handle.link().get().execute();
        while let Some(msg) = links
            .try_next()
            .await
            .map_err(request_error("list the network interfaces"))?
        {
            if let Some(name) = link_name(&msg) {
                names.insert(msg.header.index, name.to_owned());
            }
        }
        Ok(names)
    }

    /// What interfaces other than `ifname` already hold: every address with its prefix,
    /// and every route to a prefix (see [`occupied_route`]), for
    /// [`crate::ipcheck::check`]. `ifname` need not exist.
    pub async fn occupied_elsewhere(&self, ifname: &str) -> Result<Vec<Occupied>, LinkError> {
        let ours = self.link_index(ifname).await?;
        let names = self.link_names().await?;
        let name_of = |i: u32| {
            names
                .get(&i)
                .cloned()
                .unwrap_or_else(|| format!("interface #{i}"))
        };
        let mut found = Vec::new();
        let mut addrs = self.handle.address().get().execute();
        while let Some(msg) = addrs
            .try_next()
            .await
            .map_err(request_error("list the addresses of all interfaces"))?
        {
            if Some(msg.header.index) == ours {
                continue;
            }
            if let Some(address) = own_address(&msg) {
                found.push(Occupied {
                    holder: name_of(msg.header.index),
                    network: address,
                    prefix_len: msg.header.prefix_len,
                    address: Some(address),
                });
            }
        }
        for version in [IpVersion::V4, IpVersion::V6] {
            let mut routes = self.handle.route().get(version).execute();
            while let Some(msg) = routes
                .try_next()
                .await
                .map_err(request_error("list the routing tables"))?
            {
                let Some((network, prefix_len, oif, kind)) = occupied_route(&msg) else {
                    continue;
                };
                if oif.is_some() && oif == ours {
                    continue;
                }
                found.push(Occupied {
                    holder: oif
                        .map(name_of)
                        .unwrap_or_else(|| format!("no interface ({kind})")),
                    network,
                    prefix_len,
                    address: None,
                });
            }
        }
        Ok(found)
    }

    /// The default routes (any table) leaving through interface `name`.
    pub async fn default_routes(&self, name: &str) -> Result<Vec<DefaultRoute>, LinkError> {
        let index = self.existing_link(name).await?.header.index;
        self.default_routes_at(index).await
    }

    async fn default_routes_at(&self, index: u32) -> Result<Vec<DefaultRoute>, LinkError> {
        let mut found = Vec::new();
        for version in [IpVersion::V4, IpVersion::V6] {
            let mut routes = self.handle.route().get(version).execute();
            while let Some(msg) = routes
                .try_next()
                .await
                .map_err(request_error("list the routing tables"))?
            {
                found.extend(parse_default_route(&msg, index));
            }
        }
        Ok(found)
    }

    /// Adds an address unless present; returns whether it was added.
    async fn ensure_address(
        &self,
        name: &str,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<bool, LinkError> {
        if self
            .addresses_at(index)
            .await?
            .contains(&(addr, prefix_len))
        {
            return Ok(false);
        }
        match self
            .handle
            .address()
            .add(index, addr, prefix_len)
            .execute()
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(EEXIST) => Ok(false),
            Err(source) => Err(request_error(format!(
                "add address {addr}/{prefix_len} to {name}"
            ))(source)),
        }
    }

    /// Adds a default route unless present; returns whether it was added.
    async fn ensure_route(
        &self,
        name: &str,
        index: u32,
        route: &DefaultRoute,
    ) -> Result<bool, LinkError> {
        if self
            .default_routes_at(index)
            .await?
            .contains(&as_stored(route))
        {
            return Ok(false);
        }
        let mut req = self.handle.route().add();
        *req.message_mut() = route_message(index, route);
        match req.execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(EEXIST) => Ok(false),
            Err(source) => Err(request_error(format!("add a default route on {name}"))(
                source,
            )),
        }
    }

    /// Brings the interface to `config`: link up, MTU, addresses, default routes. What is
    /// already in place is left alone, so re-applying the same configuration changes
    /// nothing (and returns an empty [`Applied`]). On error, what this call had already
    /// added is removed again.
    pub async fn apply(&self, config: &LinkConfig) -> Result<Applied, LinkError> {
        let name = config.ifname.as_str();
        let link = self.existing_link(name).await?;
        let index = link.header.index;
        let mut applied = Applied {
            ifname: name.to_owned(),
            brought_up: false,
            previous_mtu: None,
            addresses: Vec::new(),
            routes: Vec::new(),
        };
        let result = self.apply_steps(config, &link, &mut applied).await;
        match result {
            Ok(()) => Ok(applied),
            Err(e) => {
                if let Err(undo) = self.release_at(index, &applied).await {
                    tracing::warn!("undoing a failed configuration of {name}: {undo}");
                }
                Err(e)
            }
        }
    }

    async fn apply_steps(
        &self,
        config: &LinkConfig,
        link: &LinkMessage,
        applied: &mut Applied,
    ) -> Result<(), LinkError> {
        let name = config.ifname.as_str();
        let index = link.header.index;
        if let Some(mtu) = config.mtu {
            let current = link_mtu(link);
            if current != Some(mtu) {
                self.set_mtu(name, mtu).await?;
                applied.previous_mtu = current;
            }
        }
        if !link.header.flags.contains(&LinkFlag::Up) {
            self.set_admin(name, index, true).await?;
            applied.brought_up = true;
        }
        let mut wanted_routes = Vec::new();
        if let Some(v4) = &config.ipv4 {
            let addr = IpAddr::V4(v4.address);
            if self
                .ensure_address(name, index, addr, v4.prefix_len)
                .await?
            {
                applied.addresses.push((addr, v4.prefix_len));
            }
            let gateway = v4.gateway.map(IpAddr::V4);
            wanted_routes.push(DefaultRoute {
                v6: false,
                gateway,
                onlink: gateway.is_some_and(|g| gateway_needs_onlink(addr, v4.prefix_len, g)),
                metric: config.metric,
                table: config.table,
            });
        }
        if let Some(v6) = &config.ipv6 {
            let addr = IpAddr::V6(v6.address);
            if self
                .ensure_address(name, index, addr, v6.prefix_len)
                .await?
            {
                applied.addresses.push((addr, v6.prefix_len));
            }
            let gateway = v6.gateway.map(IpAddr::V6);
            wanted_routes.push(DefaultRoute {
                v6: true,
                gateway,
                onlink: gateway.is_some_and(|g| gateway_needs_onlink(addr, v6.prefix_len, g)),
                metric: config.metric,
                table: config.table,
            });
        }
        if config.default_route {
            for route in wanted_routes {
                if self.ensure_route(name, index, &route).await? {
                    applied.routes.push(route);
                }
            }
        }
        Ok(())
    }

    /// Removes exactly what `apply` added: its routes and addresses, the MTU it changed,
    /// and sets the link down again if `apply` had set it up. Things already gone are
    /// not an error; an interface that vanished leaves nothing to undo.
    pub async fn release(&self, applied: &Applied) -> Result<(), LinkError> {
        match self.link_index(&applied.ifname).await? {
            Some(index) => self.release_at(index, applied).await,
            None => Ok(()),
        }
    }

    async fn release_at(&self, index: u32, applied: &Applied) -> Result<(), LinkError> {
        let name = applied.ifname.as_str();
        for route in &applied.routes {
            match self
                .handle
                .route()
                .del(route_message(index, route))
                .execute()
                .await
            {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(ESRCH) => {}
                Err(source) => {
                    return Err(request_error(format!(
                        "remove the default route from {name}"
                    ))(source))
                }
            }
        }
        for &(addr, prefix_len) in &applied.addresses {
            match self
                .handle
                .address()
                .del(address_message(index, addr, prefix_len))
                .execute()
                .await
            {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(EADDRNOTAVAIL) => {}
                Err(source) => {
                    return Err(request_error(format!(
                        "remove address {addr}/{prefix_len} from {name}"
                    ))(source))
                }
            }
        }
        if let Some(mtu) = applied.previous_mtu {
            self.set_mtu(name, mtu).await?;
        }
        if applied.brought_up {
            self.set_admin(name, index, false).await?;
        }
        Ok(())
    }

    /// Watches `name` for carrier changes and for its removal and reappearance, from
    /// the RTNLGRP_LINK multicast group (no polling). The stream opens with the state
    /// at subscription: `CarrierUp` or `CarrierDown`, or `Removed` when the interface
    /// does not exist; after that it yields changes only.
    pub async fn watch(&self, name: &str) -> Result<LinkEvents, LinkError> {
        let (mut connection, _handle, messages) =
            rtnetlink::new_connection().map_err(LinkError::Connect)?;
        connection
            .socket_mut()
            .socket_mut()
            .bind(&netlink_sys::SocketAddr::new(
                0,
                rtnetlink::constants::RTMGRP_LINK,
            ))
            .map_err(LinkError::Connect)?;
        let connection = tokio::spawn(connection);
        // Subscribed first, read second: a change between the two shows up as an event.
        let current = self.link_message(name).await?;
        let (watcher, first) = Watcher::start(name, current.as_ref());
        Ok(LinkEvents {
            messages,
            watcher,
            pending: first.into_iter().collect(),
            connection,
        })
    }
}

/// What a watcher last knew of its interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Observed {
    Absent,
    Present { index: u32, carrier: bool },
}

/// Turns link messages into [`LinkEvent`]s for one interface name (pure).
#[derive(Debug)]
struct Watcher {
    name: String,
    state: Observed,
}

impl Watcher {
    fn start(name: &str, current: Option<&LinkMessage>) -> (Watcher, Option<LinkEvent>) {
        let (state, event) = match current {
            Some(m) => {
                let carrier = has_carrier(m);
                let event = if carrier {
                    LinkEvent::CarrierUp
                } else {
                    LinkEvent::CarrierDown
                };
                (
                    Observed::Present {
                        index: m.header.index,
                        carrier,
                    },
                    event,
                )
            }
            None => (Observed::Absent, LinkEvent::Removed),
        };
        (
            Watcher {
                name: name.to_owned(),
                state,
            },
            Some(event),
        )
    }

    fn on_message(&mut self, msg: &RouteNetlinkMessage, out: &mut VecDeque<LinkEvent>) {
        match msg {
            RouteNetlinkMessage::NewLink(link) => self.on_new_link(link, out),
            RouteNetlinkMessage::DelLink(link) => {
                if let Observed::Present { index, .. } = self.state {
                    if link.header.index == index {
                        self.state = Observed::Absent;
                        out.push_back(LinkEvent::Removed);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_new_link(&mut self, link: &LinkMessage, out: &mut VecDeque<LinkEvent>) {
        let named_ours = link_name(link) == Some(self.name.as_str());
        let carrier = has_carrier(link);
        match self.state {
            Observed::Absent if named_ours => {
                self.state = Observed::Present {
                    index: link.header.index,
                    carrier,
                };
                out.push_back(LinkEvent::Appeared);
                if carrier {
                    out.push_back(LinkEvent::CarrierUp);
                }
            }
            Observed::Absent => {}
            Observed::Present { index, .. } if link.header.index == index && !named_ours => {
                // Renamed away from the name we watch.
                self.state = Observed::Absent;
                out.push_back(LinkEvent::Removed);
            }
            Observed::Present {
                index,
                carrier: was,
            } if link.header.index == index => {
                if carrier != was {
                    self.state = Observed::Present { index, carrier };
                    out.push_back(if carrier {
                        LinkEvent::CarrierUp
                    } else {
                        LinkEvent::CarrierDown
                    });
                }
            }
            Observed::Present { .. } => {}
        }
    }
}

/// The stream returned by [`Netlink::watch`]; ends only if the netlink socket fails.
pub struct LinkEvents {
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, netlink_sys::SocketAddr)>,
    watcher: Watcher,
    pending: VecDeque<LinkEvent>,
    connection: JoinHandle<()>,
}

impl Drop for LinkEvents {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Stream for LinkEvents {
    type Item = LinkEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LinkEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            match Pin::new(&mut this.messages).poll_next(cx) {
                Poll::Ready(Some((msg, _))) => {
                    if let NetlinkPayload::InnerMessage(inner) = &msg.payload {
                        this.watcher.on_message(inner, &mut this.pending);
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, flags: Vec<LinkFlag>) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = flags;
        m.attributes.push(LinkAttribute::IfName(name.to_owned()));
        m
    }

    fn feed(w: &mut Watcher, msg: RouteNetlinkMessage) -> Vec<LinkEvent> {
        let mut out = VecDeque::new();
        w.on_message(&msg, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn watcher_reports_carrier_changes_removal_and_return() {
        let up = vec![LinkFlag::Up, LinkFlag::LowerUp];
        let (mut w, first) = Watcher::start("wwan0", Some(&link(7, "wwan0", up.clone())));
        assert_eq!(first, Some(LinkEvent::CarrierUp));
        // Another interface changing is not ours.
        assert!(feed(
            &mut w,
            RouteNetlinkMessage::NewLink(link(8, "eth0", vec![]))
        )
        .is_empty());
        // Same state again (e.g. an MTU change) is no event.
        assert!(feed(
            &mut w,
            RouteNetlinkMessage::NewLink(link(7, "wwan0", up.clone()))
        )
        .is_empty());
        assert_eq!(
            feed(
                &mut w,
                RouteNetlinkMessage::NewLink(link(7, "wwan0", vec![LinkFlag::Up]))
            ),
            vec![LinkEvent::CarrierDown]
        );
        assert_eq!(
            feed(
                &mut w,
                RouteNetlinkMessage::DelLink(link(7, "wwan0", vec![]))
            ),
            vec![LinkEvent::Removed]
        );
        assert_eq!(
            feed(&mut w, RouteNetlinkMessage::NewLink(link(9, "wwan0", up))),
            vec![LinkEvent::Appeared, LinkEvent::CarrierUp]
        );
        assert_eq!(
            feed(
                &mut w,
                RouteNetlinkMessage::NewLink(link(9, "wwan1", vec![]))
            ),
            vec![LinkEvent::Removed]
        );
    }

    #[test]
    fn watcher_starts_with_removed_when_absent() {
        let (mut w, first) = Watcher::start("wwan0", None);
        assert_eq!(first, Some(LinkEvent::Removed));
        assert_eq!(
            feed(
                &mut w,
                RouteNetlinkMessage::NewLink(link(3, "wwan0", vec![]))
            ),
            vec![LinkEvent::Appeared]
        );
    }

    #[test]
    fn route_message_round_trips_through_matcher() {
        let route = DefaultRoute {
            v6: false,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 64, 0, 1))),
            onlink: true,
            metric: 10,
            table: Some(1000),
        };
        let msg = route_message(4, &route);
        assert_eq!(parse_default_route(&msg, 4), Some(route.clone()));
        assert_eq!(parse_default_route(&msg, 5), None);
        let main = DefaultRoute {
            table: None,
            gateway: None,
            onlink: false,
            ..route
        };
        assert_eq!(parse_default_route(&route_message(4, &main), 4), Some(main));
        let v6 = DefaultRoute {
            v6: true,
            gateway: None,
            onlink: false,
            metric: 0,
            table: Some(254),
        };
        assert_eq!(
            as_stored(&v6),
            DefaultRoute {
                metric: 1024,
                table: None,
                ..v6
            }
        );
    }
}
