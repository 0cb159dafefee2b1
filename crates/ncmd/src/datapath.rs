//! The data interface of one session (`wwan0`): bring it up with the modem's IP
//! configuration (or DHCP), hand it to netifd on OpenWrt, watch it, and notice a
//! black-holed data path while spending as few of the user's bytes as possible.
//!
//! Owns the choice static/DHCP, the apply/release pairing and the health policy
//! (traffic counters first, probes only when the link is idle or suspicious).
//! Must not know about AT or vendors: it gets plain IP values from the session, and the
//! kernel work is done by `ncmd-link`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use ncmd_config::{IpConfig as IpMode, Spec};
use ncmd_link::netlink::LinkEvents;
use ncmd_link::{Applied, Ipv4Config, Ipv6Config, LinkConfig, Netlink};
use tokio::time::Instant;

use crate::session::{DataPath, IpConfig, LinkEvent};
use crate::status::IpInfo;

/// Who configures addresses and routes.
#[derive(Debug, Clone)]
pub enum Apply {
    /// ncmd itself, over netlink (plain Linux).
    Kernel,
    /// netifd, through `ubus` (OpenWrt); see `netifd.rs`.
    Netifd { interface: String },
    /// Nothing is configured; the modem's configuration is only reported (the demo
    /// without the rights to make network namespaces).
    DryRun,
}

/// How loss of the data path is detected; from the UCI options `probe_*`.
#[derive(Debug, Clone)]
pub struct Health {
    pub hosts: Vec<IpAddr>,
    /// Longest time the link may be silent before one probe round checks it; 0 = never.
    pub interval: Duration,
    pub timeout: Duration,
    /// Failed rounds in a row that declare a black hole.
    pub count: u32,
    /// 0 = ICMP echo, else TCP connect to this port.
    pub port: u16,
}

impl Health {
    pub fn from_spec(spec: &Spec) -> Self {
        Health {
            hosts: spec.probe_hosts.iter().filter_map(|h| h.parse().ok()).collect(),
            interval: spec.probe_interval,
            timeout: spec.probe_timeout,
            count: spec.probe_count.max(1),
            port: spec.probe_port,
        }
    }
}

/// Wire bytes (IP header included, request and reply) one probe costs.
pub fn probe_wire_bytes(target: IpAddr, port: u16) -> u64 {
    let ip = if target.is_ipv6() { 40 } else { 20 };
    if port == 0 {
        ncmd_link::probe::icmp_probe_wire_bytes(target) as u64
    } else {
        // SYN, SYN-ACK (or RST), ACK, FIN/RST: about four segments with options.
        4 * (ip + 32)
    }
}

pub struct LinuxPath {
    ifname: String,
    spec: Spec,
    apply: Apply,
    netlink: Option<Netlink>,
    applied: Option<Applied>,
    lease: Option<ncmd_link::Lease>,
    events: Option<LinkEvents>,
    prober: Prober,
}

impl LinuxPath {
    pub fn new(ifname: String, spec: Spec, apply: Apply) -> Self {
        let prober = Prober::new(ifname.clone(), Health::from_spec(&spec));
        LinuxPath {
            ifname,
            spec,
            apply,
            netlink: None,
            applied: None,
            lease: None,
            events: None,
            prober,
        }
    }

    async fn netlink(&mut self) -> Result<&Netlink, String> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::new().await.map_err(|e| e.to_string())?);
        }
        self.netlink.as_ref().ok_or_else(|| "netlink unavailable".to_string())
    }

    /// Waits until the carrier has been up for `linksettle` (some modems flap right
    /// after the dial), bounded by max(30 s, 3 × linksettle).
    async fn settle(&mut self) -> Result<(), String> {
        let settle = self.spec.linksettle;
        let limit = Duration::from_secs(30).max(settle * 3);
        let ifname = self.ifname.clone();
        let nl = self.netlink().await?;
        let mut events = nl.watch(&ifname).await.map_err(|e| e.to_string())?;
        let deadline = Instant::now() + limit;
        let mut up_since: Option<Instant> = None;
        loop {
            if let Some(t) = up_since {
                if t.elapsed() >= settle {
                    return Ok(());
                }
            }
            let wake = match up_since {
                Some(t) => (t + settle).min(deadline),
                None => deadline,
            };
            tokio::select! {
                ev = events.next() => match ev {
                    Some(ncmd_link::LinkEvent::CarrierUp) => up_since = up_since.or(Some(Instant::now())),
                    Some(ncmd_link::LinkEvent::CarrierDown) => up_since = None,
                    Some(ncmd_link::LinkEvent::Removed) => return Err(format!("{ifname} vanished")),
                    Some(ncmd_link::LinkEvent::Appeared) => {}
                    None => return Err("netlink watch ended".into()),
                },
                _ = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= deadline {
                        return Err(format!("no carrier on {ifname} within {} s after dialling", limit.as_secs()));
                    }
                }
            }
        }
    }

    fn link_config(&self, ip: &IpConfig) -> LinkConfig {
        let v4 = ip.ipv4.as_ref().and_then(|i| {
            Some(Ipv4Config {
                address: i.address.parse().ok()?,
                prefix_len: i.prefix_len,
                gateway: i.gateway.as_deref().and_then(|g| g.parse().ok()),
                dns: i.dns.iter().filter_map(|d| d.parse().ok()).collect(),
            })
        });
        let v6 = ip.ipv6.as_ref().and_then(|i| {
            Some(Ipv6Config {
                address: i.address.parse::<Ipv6Addr>().ok()?,
                prefix_len: i.prefix_len,
                gateway: i.gateway.as_deref().and_then(|g| g.parse().ok()),
                dns: i.dns.iter().filter_map(|d| d.parse().ok()).collect(),
            })
        });
        LinkConfig {
            ifname: self.ifname.clone(),
            mtu: self.spec.mtu,
            ipv4: v4,
            ipv6: v6,
            default_route: self.spec.defaultroute,
            metric: self.spec.metric,
            table: self.spec.ip4table.as_deref().and_then(|t| t.parse().ok()),
        }
    }

    fn dns_servers(ip: &IpConfig) -> Vec<IpAddr> {
        ip.ipv4.iter().chain(ip.ipv6.iter()).flat_map(|i| i.dns.iter()).filter_map(|d| d.parse().ok()).collect()
    }
}

/// Passive-first black-hole detection: traffic counters first, probes only when the
/// link is idle or suspicious. Its state survives the cancellation of `run` (the session
/// selects over several event sources).
struct Prober {
    ifname: String,
    health: Health,
    watch: HealthWatch,
    /// Probe bytes spent since start (for status and metrics).
    probe_bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Passive-first black-hole detection state.
struct HealthWatch {
    last_rx: u64,
    last_tx: u64,
    /// Last time something proved the path alive (rx rose or a probe was answered).
    alive_at: Instant,
    /// Since when tx rises while rx stays flat.
    tx_without_rx_since: Option<Instant>,
    failed_rounds: u32,
}

impl Prober {
    fn new(ifname: String, health: Health) -> Self {
        Prober { ifname, health, watch: HealthWatch::new(), probe_bytes: Default::default() }
    }

    /// (rx_bytes, tx_bytes) over netlink: local, no traffic. (sysfs would show the
    /// namespace that mounted it, not ours.)
    async fn counters(&self, nl: &Netlink) -> Result<(u64, u64), String> {
        let c = nl.stats(&self.ifname).await.map_err(|e| e.to_string())?;
        Ok((c.rx_bytes, c.tx_bytes))
    }

    /// Starts watching afresh (after the link came up).
    async fn reset(&mut self, nl: &Netlink) {
        self.watch = HealthWatch::new();
        if let Ok(c) = self.counters(nl).await {
            self.watch.last_rx = c.0;
            self.watch.last_tx = c.1;
        }
    }

    /// One probe round: the hosts in turn until one answers.
    async fn probe_round(&self) -> bool {
        for host in &self.health.hosts {
            self.probe_bytes.fetch_add(probe_wire_bytes(*host, self.health.port), std::sync::atomic::Ordering::Relaxed);
            let ok = if self.health.port == 0 {
                ncmd_link::probe::icmp_echo(&self.ifname, *host, self.health.timeout).await.is_ok()
            } else {
                ncmd_link::probe::tcp_connect(&self.ifname, SocketAddr::new(*host, self.health.port), self.health.timeout).await.is_ok()
            };
            if ok {
                return true;
            }
        }
        false
    }

    /// Reads the counters once a second; probes only when the link has been silent for
    /// `interval`, or when we send while nothing comes back. Returns on a black hole.
    async fn run(&mut self, nl: Option<&Netlink>) -> LinkEvent {
        let Some(nl) = nl else { return std::future::pending().await };
        if self.health.hosts.is_empty() || self.health.interval.is_zero() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let c = match self.counters(nl).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!("{}: counters: {e}", self.ifname);
                    continue;
                }
            };
            let now = Instant::now();
            if c.0 > self.watch.last_rx {
                self.watch.alive_at = now;
                self.watch.failed_rounds = 0;
                self.watch.tx_without_rx_since = None;
            } else if c.1 > self.watch.last_tx {
                self.watch.tx_without_rx_since.get_or_insert(now);
            }
            self.watch.last_rx = c.0;
            self.watch.last_tx = c.1;
            let idle_too_long = now.duration_since(self.watch.alive_at) >= self.health.interval;
            let suspicious = self.watch.tx_without_rx_since.is_some_and(|t| now.duration_since(t) >= Duration::from_secs(3));
            let confirming = self.watch.failed_rounds > 0;
            if !(idle_too_long || suspicious || confirming) {
                continue;
            }
            tracing::debug!("{}: probing (idle {idle_too_long}, suspicious {suspicious}, failed rounds {})", self.ifname, self.watch.failed_rounds);
            if self.probe_round().await {
                self.watch.alive_at = Instant::now();
                self.watch.failed_rounds = 0;
                self.watch.tx_without_rx_since = None;
                // Our own probe reply moved the counters; don't count it as traffic.
                if let Ok(c) = self.counters(nl).await {
                    self.watch.last_rx = c.0;
                    self.watch.last_tx = c.1;
                }
            } else {
                self.watch.failed_rounds += 1;
                if self.watch.failed_rounds >= self.health.count {
                    return LinkEvent::BlackHole;
                }
            }
        }
    }
}

impl HealthWatch {
    fn new() -> Self {
        HealthWatch { last_rx: 0, last_tx: 0, alive_at: Instant::now(), tx_without_rx_since: None, failed_rounds: 0 }
    }
}

impl DataPath for LinuxPath {
    fn ifname(&self) -> &str {
        &self.ifname
    }

    async fn bring_up(&mut self, modem_ip: Option<IpConfig>) -> Result<IpConfig, String> {
        if let Apply::DryRun = self.apply {
            return modem_ip.ok_or_else(|| "the modem reported no IP configuration (dry run: no DHCP)".into());
        }
        let ifname = self.ifname.clone();
        {
            let nl = self.netlink().await?;
            if nl.link_index(&ifname).await.map_err(|e| e.to_string())?.is_none() {
                return Err(format!("data interface {ifname} does not exist"));
            }
            nl.set_up(&ifname).await.map_err(|e| e.to_string())?;
        }
        if !self.spec.linksettle.is_zero() {
            self.settle().await?;
        }
        let from_modem = modem_ip.filter(|ip| ip.ipv4.is_some() || ip.ipv6.is_some());
        let ip = match (self.spec.ipconfig, from_modem) {
            (IpMode::Static, Some(ip)) | (IpMode::Auto, Some(ip)) => ip,
            (IpMode::Static, None) => return Err("option ipconfig is 'static' but the modem reported no IP configuration".into()),
            (IpMode::Dhcp, _) | (IpMode::Auto, None) => {
                if let Apply::Netifd { .. } = self.apply {
                    // netifd runs its own DHCP client in the child interfaces.
                    IpConfig::default()
                } else {
                    let lease = ncmd_link::dhcp::acquire(&ifname, Duration::from_secs(20)).await.map_err(|e| e.to_string())?;
                    let ip = IpConfig {
                        ipv4: Some(IpInfo {
                            address: lease.address.to_string(),
                            prefix_len: lease.prefix_len,
                            gateway: lease.gateway.map(|g| g.to_string()),
                            dns: lease.dns.iter().map(|d| d.to_string()).collect(),
                        }),
                        ipv6: None,
                    };
                    self.lease = Some(lease);
                    ip
                }
            }
        };
        match self.apply.clone() {
            Apply::Kernel => {
                let cfg = self.link_config(&ip);
                let nl = self.netlink().await?;
                let applied = nl.apply(&cfg).await.map_err(|e| e.to_string())?;
                self.applied = Some(applied);
                if let (Some(path), true) = (&self.spec.dns_file, self.spec.peerdns) {
                    let servers = Self::dns_servers(&ip);
                    if let Err(e) = ncmd_link::dns::write_resolv(path, &servers, &format!("ncmd {}", self.spec.interface)) {
                        tracing::warn!("{e}");
                    }
                }
            }
            Apply::Netifd { interface } => crate::netifd::link_up(&interface, &ifname, &self.spec, &ip).await?,
            Apply::DryRun => {}
        }
        let nl = self.netlink().await?;
        self.events = Some(nl.watch(&ifname).await.map_err(|e| e.to_string())?);
        if let Some(nl) = &self.netlink {
            self.prober.reset(nl).await;
        }
        Ok(ip)
    }

    async fn release(&mut self) {
        self.events = None;
        if let Some(lease) = self.lease.take() {
            let _ = ncmd_link::dhcp::release(&lease).await;
        }
        if let Some(applied) = self.applied.take() {
            if let Some(nl) = &self.netlink {
                if let Err(e) = nl.release(&applied).await {
                    tracing::warn!("releasing {}: {e}", self.ifname);
                }
            }
        }
        if let (Some(path), true) = (&self.spec.dns_file, self.spec.peerdns) {
            let _ = ncmd_link::dns::remove_resolv(path, &format!("ncmd {}", self.spec.interface));
        }
        if let Apply::Netifd { interface } = &self.apply {
            crate::netifd::link_down(interface, &self.ifname).await;
        }
    }

    async fn traffic(&mut self) -> (u64, u64, u64) {
        let probe = self.prober.probe_bytes.load(std::sync::atomic::Ordering::Relaxed);
        match &self.netlink {
            Some(nl) => match self.prober.counters(nl).await {
                Ok((rx, tx)) => (rx, tx, probe),
                Err(_) => (0, 0, probe),
            },
            None => (0, 0, probe),
        }
    }

    async fn next_event(&mut self) -> LinkEvent {
        // Disjoint borrows: the stream and the prober stay in `self`, so a cancelled
        // call (the session selects over several sources) loses nothing.
        let LinuxPath { events, prober, netlink, .. } = self;
        let Some(events) = events.as_mut() else { return std::future::pending().await };
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some(ncmd_link::LinkEvent::CarrierDown) => return LinkEvent::CarrierDown,
                    Some(ncmd_link::LinkEvent::Removed) | None => return LinkEvent::Removed,
                    Some(_) => {}
                },
                ev = prober.run(netlink.as_ref()) => return ev,
            }
        }
    }
}

/// Unused-address guard for tests of the health policy: documentation ranges only.
#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn probe_costs_are_small() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(probe_wire_bytes(v4, 0), 56);
        // A probe every 5 s when idle: 12 per minute, well under 1 KiB.
        assert!(12 * probe_wire_bytes(v4, 0) <= 1024);
    }
}
