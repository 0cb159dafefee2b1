//! The data interface of one session (`wwan0`): bring it up with the modem's IP
//! configuration (or DHCP), hand it to netifd on OpenWrt, watch it, and notice a
//! black-holed data path while spending as few of the user's bytes as possible.
//!
//! Owns the choice static/DHCP, the IP check before anything is applied (a refused
//! configuration is never applied, handed to netifd or written as DNS), the
//! apply/release pairing and the health policy (traffic counters first, probes only
//! when the link is idle or suspicious).
//! Must not know about AT or vendors: it gets plain IP values from the session, and the
//! kernel work is done by `ncmd-link`.

pub mod netifd;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ncmd_config::{IpConfig as IpMode, Spec};
use ncmd_link::netlink::LinkEvents;
use ncmd_link::ipcheck::{Checked, Proposal};
use ncmd_link::{Applied, Ipv4Config, LinkConfig, LinkError, Netlink};
use tokio::time::Instant;

use crate::session::{BringUpError, DataPath, IpConfig, LinkEvent};
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
    carrier: Carrier,
    health: Health,
    /// Probe bytes spent since start (for status and metrics), shared with the task.
    probe_bytes: Arc<AtomicU64>,
    /// The black-hole watch of the current link: a task of its own, so that a probe in
    /// flight survives the session's select (awaiting a JoinHandle is cancel-safe).
    watch_task: Option<AbortOnDrop>,
    /// The modem's facts for netifd's interface `data`, and what netifd has now.
    facts: serde_json::Map<String, serde_json::Value>,
    facts_sent: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<LinkEvent>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl LinuxPath {
    pub fn new(ifname: String, spec: Spec, apply: Apply) -> Self {
        let health = Health::from_spec(&spec);
        LinuxPath {
            ifname,
            spec,
            apply,
            netlink: None,
            applied: None,
            lease: None,
            events: None,
            carrier: Carrier::new(),
            health,
            probe_bytes: Default::default(),
            watch_task: None,
            facts: Default::default(),
            facts_sent: None,
        }
    }

    async fn netlink(&mut self) -> Result<&Netlink, String> {
        if self.netlink.is_none() {
            self.netlink = Some(Netlink::new().await.map_err(|e| e.to_string())?);
        }
        self.netlink.as_ref().ok_or_else(|| "netlink unavailable".to_string())
    }

    /// A stable link, confirmed by events rather than by waiting: the modem has already
    /// confirmed the session (its URC or status query); here the kernel confirms the
    /// carrier (netlink, at once when it is up already). `linksettle` > 0 additionally
    /// holds until the carrier has stayed up that long (modems whose carrier flaps right
    /// after the dial); later flaps are the link watch's business. Bounded by
    /// max(30 s, 3 × linksettle).
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
                        return Err(format!("no carrier on {ifname} within {} s after the modem connected", limit.as_secs()));
                    }
                }
            }
        }
    }

    /// The kernel configuration of a checked proposal, with the user's MTU and routes.
    fn link_config(&self, checked: &Checked) -> LinkConfig {
        let table = self.spec.ip4table.as_deref().and_then(|t| t.parse().ok());
        let mut config = LinkConfig::from_checked(&self.ifname, checked, self.spec.defaultroute, self.spec.metric, table);
        config.mtu = self.spec.mtu;
        config
    }

    /// The IP check against what the other interfaces hold now.
    async fn check(&mut self, proposal: &Proposal) -> Result<Checked, BringUpError> {
        let ifname = self.ifname.clone();
        let nl = self.netlink().await.map_err(BringUpError::Failed)?;
        nl.check(&ifname, proposal).await.map_err(|e| match e {
            LinkError::Refused(why) => BringUpError::Refused(why.to_string()),
            e => BringUpError::Failed(e.to_string()),
        })
    }
}

/// `proposal` without its DNS servers when the user ignores them (`peerdns '0'`): a bad
/// server list then refuses nothing.
fn for_peerdns(mut proposal: Proposal, peerdns: bool) -> Proposal {
    if !peerdns {
        for family in [&mut proposal.ipv4, &mut proposal.ipv6].into_iter().flatten() {
            family.dns.clear();
        }
    }
    proposal
}

/// A DHCP lease (checked by the DHCP client) as a checked configuration.
fn lease_config(lease: &ncmd_link::Lease) -> Checked {
    Checked {
        ipv4: Some(Ipv4Config { address: lease.address, prefix_len: lease.prefix_len, gateway: lease.gateway, dns: lease.dns.clone() }),
        ipv6: None,
        mtu: None,
        warnings: Vec::new(),
    }
}

/// What status shows of a checked configuration.
fn status_of(checked: &Checked) -> IpConfig {
    let info = |address: IpAddr, prefix_len: u8, gateway: Option<IpAddr>, dns: Vec<IpAddr>| IpInfo {
        address: address.to_string(),
        prefix_len,
        gateway: gateway.map(|g| g.to_string()),
        dns: dns.iter().map(|d| d.to_string()).collect(),
    };
    IpConfig {
        ipv4: checked.ipv4.as_ref().map(|v| info(v.address.into(), v.prefix_len, v.gateway.map(Into::into), v.dns.iter().map(|&d| d.into()).collect())),
        ipv6: checked.ipv6.as_ref().map(|v| info(v.address.into(), v.prefix_len, v.gateway.map(Into::into), v.dns.iter().map(|&d| d.into()).collect())),
    }
}

fn dns_servers(checked: &Checked) -> Vec<IpAddr> {
    let v4 = checked.ipv4.iter().flat_map(|v| v.dns.iter().map(|&d| IpAddr::V4(d)));
    let v6 = checked.ipv6.iter().flat_map(|v| v.dns.iter().map(|&d| IpAddr::V6(d)));
    v4.chain(v6).collect()
}

/// How long the carrier may stay down before it counts as lost: modems flap it around a
/// dial, and the carrier of a fresh dial may rise a moment after the modem says
/// connected. A real loss is usually announced at once by a URC anyway.
const CARRIER_GRACE: Duration = Duration::from_secs(1);
/// The same, before the carrier was seen up at all on this link.
const CARRIER_FIRST_UP: Duration = Duration::from_secs(5);

/// Carrier of the data interface since it was brought up (pure; times are given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Carrier {
    seen_up: bool,
    /// When a loss is declared unless the carrier comes back first.
    lost_at: Option<Instant>,
}

impl Carrier {
    fn new() -> Self {
        Carrier { seen_up: false, lost_at: None }
    }

    fn down(&mut self, now: Instant) {
        let grace = if self.seen_up { CARRIER_GRACE } else { CARRIER_FIRST_UP };
        self.lost_at.get_or_insert(now + grace);
    }

    fn up(&mut self) {
        self.seen_up = true;
        if self.lost_at.take().is_some() {
            tracing::debug!("carrier came back within its grace period");
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.lost_at
    }
}

/// The black-hole watch's verdict; pending without a watch (or after it failed).
async fn health_event(task: &mut Option<AbortOnDrop>) -> LinkEvent {
    let Some(t) = task else { return std::future::pending().await };
    let verdict = (&mut t.0).await;
    // A finished task must not be awaited again.
    *task = None;
    match verdict {
        Ok(ev) => ev,
        Err(e) => {
            tracing::warn!("black-hole watch ended: {e}");
            std::future::pending().await
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Passive-first black-hole detection: traffic counters first, probes only when the
/// link is idle or suspicious. Runs as a task of its own for each link that came up, so
/// that a probe in flight is never cancelled by the session's other event sources.
struct Prober {
    ifname: String,
    health: Health,
    watch: HealthWatch,
    /// Index in `health.hosts` of the host the last routine round asked.
    next_host: usize,
    probe_bytes: Arc<AtomicU64>,
}

/// Received bytes that link-local chatter (ARP and neighbour replies, often provoked by
/// our own probe; router adverts) may explain within one probe interval: less than this
/// does not prove that the path carries traffic.
const RX_NOISE_BYTES: u64 = 256;

/// Passive-first black-hole detection state (pure: counters and times are given).
struct HealthWatch {
    last_rx: u64,
    last_tx: u64,
    /// rx bytes when the path was last proven alive.
    rx_at_alive: u64,
    /// Last time something proved the path alive (traffic came in or a probe was answered).
    alive_at: Instant,
    /// Since when tx rises while rx stays flat.
    tx_without_rx_since: Option<Instant>,
    failed_rounds: u32,
}

impl HealthWatch {
    fn new(now: Instant, rx: u64, tx: u64) -> Self {
        HealthWatch { last_rx: rx, last_tx: tx, rx_at_alive: rx, alive_at: now, tx_without_rx_since: None, failed_rounds: 0 }
    }

    /// New counters: returns whether a probe round is due now.
    fn observe(&mut self, now: Instant, rx: u64, tx: u64, interval: Duration) -> bool {
        // Once a round has failed, only an answered probe clears the suspicion.
        if self.failed_rounds == 0 && rx > self.rx_at_alive + RX_NOISE_BYTES {
            self.alive(now, rx);
        } else if rx <= self.last_rx && tx > self.last_tx {
            self.tx_without_rx_since.get_or_insert(now);
        }
        self.last_rx = rx;
        self.last_tx = tx;
        let idle_too_long = now.duration_since(self.alive_at) >= interval;
        let suspicious = self.tx_without_rx_since.is_some_and(|t| now.duration_since(t) >= Duration::from_secs(3));
        idle_too_long || suspicious || self.failed_rounds > 0
    }

    /// How long to sleep before reading the counters again. While they move, every
    /// second (a sender into silence must be noticed within seconds); on a quiet link,
    /// not before a probe would be due: reading sooner could change nothing, and an idle
    /// router should sleep (issue 13: at most one wakeup a second).
    fn next_look(&self, now: Instant, moved: bool, interval: Duration) -> Duration {
        if moved || self.tx_without_rx_since.is_some() || self.failed_rounds > 0 {
            return LOOK_EVERY;
        }
        (self.alive_at + interval).saturating_duration_since(now).max(LOOK_EVERY)
    }

    fn alive(&mut self, now: Instant, rx: u64) {
        self.alive_at = now;
        self.rx_at_alive = rx;
        self.failed_rounds = 0;
        self.tx_without_rx_since = None;
    }

    /// A probe round ended (counters read after it). Returns true on a black hole.
    fn probed(&mut self, ok: bool, now: Instant, rx: u64, tx: u64, count: u32) -> bool {
        // Our own probe moved the counters; don't count that as traffic.
        self.last_rx = rx;
        self.last_tx = tx;
        if ok {
            self.alive(now, rx);
            false
        } else {
            self.rx_at_alive = rx;
            self.failed_rounds += 1;
            self.failed_rounds >= count
        }
    }
}

impl Prober {
    /// Starts watching a link that just came up, from its current counters.
    async fn start(ifname: String, health: Health, probe_bytes: Arc<AtomicU64>, nl: &Netlink) -> Self {
        let (rx, tx) = counters(nl, &ifname).await.unwrap_or((0, 0));
        Prober { ifname, health, watch: HealthWatch::new(Instant::now(), rx, tx), next_host: 0, probe_bytes }
    }

    /// One probe round. A routine check asks one host (the next in turn): one probe per
    /// round while all is well. Once a round failed, the confirming rounds ask every host
    /// at once, so a dead host does not look like a dead path and confirming is quick.
    async fn probe_round(&mut self) -> bool {
        let hosts = &self.health.hosts;
        let chosen: Vec<IpAddr> = if self.watch.failed_rounds == 0 {
            self.next_host = (self.next_host + 1) % hosts.len();
            vec![hosts[self.next_host]]
        } else {
            hosts.clone()
        };
        let (ifname, timeout, port) = (&self.ifname, self.health.timeout, self.health.port);
        for host in &chosen {
            self.probe_bytes.fetch_add(probe_wire_bytes(*host, port), Ordering::Relaxed);
        }
        let probes = chosen.iter().map(|host| async move {
            if port == 0 {
                ncmd_link::probe::icmp_echo(ifname, *host, timeout).await.is_ok()
            } else {
                ncmd_link::probe::tcp_connect(ifname, SocketAddr::new(*host, port), timeout).await.is_ok()
            }
        });
        futures_util::future::join_all(probes).await.into_iter().any(|ok| ok)
    }

    /// Reads the counters, once a second while they move and otherwise only when the
    /// next probe would be due; probes only when the link has been silent for
    /// `interval`, or when we send while nothing comes back. Returns on a black hole.
    async fn run(mut self, nl: Netlink) -> LinkEvent {
        if self.health.hosts.is_empty() || self.health.interval.is_zero() {
            return std::future::pending().await;
        }
        let mut wait = LOOK_EVERY;
        loop {
            tokio::time::sleep(wait).await;
            let c = match counters(&nl, &self.ifname).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!("{}: counters: {e}", self.ifname);
                    wait = LOOK_EVERY;
                    continue;
                }
            };
            let moved = c != (self.watch.last_rx, self.watch.last_tx);
            if self.watch.observe(Instant::now(), c.0, c.1, self.health.interval) {
                // Rounds follow each other at once until one is answered or the count is
                // reached: a suspected black hole is confirmed (or cleared) without delay.
                loop {
                    tracing::debug!("{}: probing (failed rounds so far {})", self.ifname, self.watch.failed_rounds);
                    let ok = self.probe_round().await;
                    let after = counters(&nl, &self.ifname).await.unwrap_or(c);
                    if self.watch.probed(ok, Instant::now(), after.0, after.1, self.health.count) {
                        return LinkEvent::BlackHole;
                    }
                    if ok {
                        break;
                    }
                }
            }
            wait = self.watch.next_look(Instant::now(), moved, self.health.interval);
        }
    }
}

/// How often the counters are read while they move (traffic may start to go unanswered).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// (rx_bytes, tx_bytes) over netlink: local, no traffic. (sysfs would show the
/// namespace that mounted it, not ours.)
async fn counters(nl: &Netlink, ifname: &str) -> Result<(u64, u64), String> {
    let c = nl.stats(ifname).await.map_err(|e| e.to_string())?;
    Ok((c.rx_bytes, c.tx_bytes))
}

impl DataPath for LinuxPath {
    fn ifname(&self) -> &str {
        &self.ifname
    }

    async fn bring_up(&mut self, modem_ip: Option<Proposal>) -> Result<IpConfig, BringUpError> {
        use BringUpError::Failed;
        let from_modem = modem_ip.filter(|p| p.ipv4.is_some() || p.ipv6.is_some()).map(|p| for_peerdns(p, self.spec.peerdns));
        if let Apply::DryRun = self.apply {
            // Nothing is applied, but a refused configuration is never reported as up.
            let proposal = from_modem.ok_or_else(|| Failed("the modem reported no IP configuration (dry run: no DHCP)".into()))?;
            let checked = ncmd_link::ipcheck::check(&proposal, &[]).map_err(|e| BringUpError::Refused(e.to_string()))?;
            return Ok(status_of(&checked));
        }
        let ifname = self.ifname.clone();
        if self.netlink().await.map_err(Failed)?.link_index(&ifname).await.map_err(|e| Failed(e.to_string()))?.is_none() {
            return Err(Failed(format!("data interface {ifname} does not exist")));
        }
        // The modem's configuration is checked before anything touches the system, the
        // link's state included.
        let from_modem = match (self.spec.ipconfig, from_modem) {
            (IpMode::Static, Some(p)) | (IpMode::Auto, Some(p)) => Some(self.check(&p).await?),
            (IpMode::Static, None) => return Err(Failed("option ipconfig is 'static' but the modem reported no IP configuration".into())),
            (IpMode::Dhcp, _) | (IpMode::Auto, None) => None,
        };
        self.netlink().await.map_err(Failed)?.set_up(&ifname).await.map_err(|e| Failed(e.to_string()))?;
        self.settle().await.map_err(Failed)?;
        let checked = match from_modem {
            Some(checked) => Some(checked),
            // netifd runs its own DHCP client in the child interfaces.
            None if matches!(self.apply, Apply::Netifd { .. }) => None,
            // The DHCP client checks its lease the same way.
            None => {
                let lease = ncmd_link::dhcp::acquire(&ifname, Duration::from_secs(20)).await.map_err(|e| match e {
                    e @ ncmd_link::DhcpError::Refused { .. } => BringUpError::Refused(e.to_string()),
                    e => Failed(e.to_string()),
                })?;
                let checked = lease_config(&lease);
                self.lease = Some(lease);
                Some(checked)
            }
        };
        for warning in checked.iter().flat_map(|c| c.warnings.iter()) {
            tracing::warn!("{ifname}: {warning}");
        }
        let ip = checked.as_ref().map(status_of).unwrap_or_default();
        match (self.apply.clone(), &checked) {
            (Apply::Kernel, Some(checked)) => {
                let cfg = self.link_config(checked);
                let nl = self.netlink().await.map_err(Failed)?;
                let applied = nl.apply(&cfg).await.map_err(|e| Failed(e.to_string()))?;
                self.applied = Some(applied);
                if let (Some(path), true) = (&self.spec.dns_file, self.spec.peerdns) {
                    if let Err(e) = ncmd_link::dns::write_resolv(path, &dns_servers(checked), &format!("ncmd {}", self.spec.interface)) {
                        tracing::warn!("{e}");
                    }
                }
            }
            (Apply::Netifd { interface }, _) => {
                crate::session::datapath::netifd::link_up(&interface, &ifname, &self.spec, &ip, &self.facts).await.map_err(|e| Failed(e.to_string()))?;
                self.facts_sent = Some(self.facts.clone());
            }
            (Apply::Kernel, None) | (Apply::DryRun, _) => {}
        }
        let nl = self.netlink().await.map_err(Failed)?;
        self.events = Some(nl.watch(&ifname).await.map_err(|e| Failed(e.to_string()))?);
        self.carrier = Carrier::new();
        // Its own netlink handle: the task outlives any one call of the session.
        let nl = Netlink::new().await.map_err(|e| Failed(e.to_string()))?;
        let prober = Prober::start(ifname, self.health.clone(), self.probe_bytes.clone(), &nl).await;
        self.watch_task = Some(AbortOnDrop(tokio::spawn(prober.run(nl))));
        Ok(ip)
    }

    async fn describe(&mut self, status: &crate::status::InterfaceStatus) {
        let Apply::Netifd { interface } = &self.apply else { return };
        self.facts = crate::session::datapath::netifd::facts(status);
        // While up, netifd hears of changes (not on every refresh: each update is an
        // `ifupdate` event for hotplug scripts).
        if self.facts_sent.as_ref().is_some_and(|sent| *sent != self.facts) {
            crate::session::datapath::netifd::describe(interface, &self.facts).await;
            self.facts_sent = Some(self.facts.clone());
        }
    }

    async fn release(&mut self) {
        self.facts_sent = None;
        self.events = None;
        self.watch_task = None;
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
            crate::session::datapath::netifd::link_down(interface).await;
        }
    }

    async fn traffic(&mut self) -> (u64, u64, u64) {
        let probe = self.probe_bytes.load(Ordering::Relaxed);
        match &self.netlink {
            Some(nl) => match counters(nl, &self.ifname).await {
                Ok((rx, tx)) => (rx, tx, probe),
                Err(_) => (0, 0, probe),
            },
            None => (0, 0, probe),
        }
    }

    async fn next_event(&mut self) -> LinkEvent {
        // Disjoint borrows: the stream, the carrier state and the prober stay in `self`,
        // so a cancelled call (the session selects over several sources) loses nothing.
        let LinuxPath { events, watch_task, carrier, .. } = self;
        let Some(events) = events.as_mut() else { return std::future::pending().await };
        loop {
            let deadline = carrier.deadline();
            tokio::select! {
                ev = events.next() => match ev {
                    Some(ncmd_link::LinkEvent::CarrierDown) => carrier.down(Instant::now()),
                    Some(ncmd_link::LinkEvent::CarrierUp) => carrier.up(),
                    Some(ncmd_link::LinkEvent::Removed) | None => return LinkEvent::Removed,
                    Some(ncmd_link::LinkEvent::Appeared) => {}
                },
                _ = sleep_until(deadline) => return LinkEvent::CarrierDown,
                ev = health_event(watch_task) => return ev,
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
        // The default: at most one probe every 4 s when idle, 15 per minute: under 1 KiB.
        assert!(15 * probe_wire_bytes(v4, 0) <= 1024);
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn traffic_means_no_probes() {
        let t0 = Instant::now();
        let mut w = HealthWatch::new(t0, 0, 0);
        // 2 KiB in and out every second for a minute: never a probe.
        for i in 1..=60u64 {
            assert!(!w.observe(t0 + S * i as u32, i * 2048, i * 2048, 5 * S), "probe at {i} s while traffic flows");
        }
    }

    #[test]
    fn chatter_does_not_hide_a_black_hole() {
        let t0 = Instant::now();
        let mut w = HealthWatch::new(t0, 0, 0);
        // Idle but for an ARP reply now and then: a probe is due after the interval.
        assert!(!w.observe(t0 + S, 60, 0, 2 * S));
        assert!(w.observe(t0 + 2 * S, 60, 0, 2 * S));
        // The probe fails; its ARP exchange moves rx: still confirming, not alive.
        assert!(!w.probed(false, t0 + 3 * S, 120, 98, 2));
        assert!(w.observe(t0 + 4 * S, 180, 98, 2 * S), "rx from chatter cleared the suspicion");
        assert!(w.probed(false, t0 + 5 * S, 240, 196, 2), "two failed rounds are a black hole");
    }

    #[test]
    fn an_answered_probe_clears_the_suspicion() {
        let t0 = Instant::now();
        let mut w = HealthWatch::new(t0, 0, 0);
        assert!(w.observe(t0 + 3 * S, 0, 0, 2 * S));
        assert!(!w.probed(false, t0 + 4 * S, 0, 28, 3));
        assert!(!w.probed(true, t0 + 5 * S, 28, 56, 3));
        assert!(!w.observe(t0 + 6 * S, 28, 56, 2 * S), "probing again right after an answer");
    }

    #[test]
    fn sending_into_silence_is_suspicious_before_the_interval() {
        let t0 = Instant::now();
        let mut w = HealthWatch::new(t0, 0, 0);
        for i in 1..=3u32 {
            assert!(!w.observe(t0 + S * i, 0, 1000 * u64::from(i), 60 * S));
        }
        assert!(w.observe(t0 + 4 * S, 0, 4000, 60 * S), "3 s of tx without rx triggers a probe");
    }

    #[test]
    fn a_quiet_link_is_looked_at_only_when_a_probe_is_due() {
        let t0 = Instant::now();
        let mut w = HealthWatch::new(t0, 0, 0);
        // Just proven alive, nothing moves: sleep until the probe is due (4 s), not 1 s.
        assert!(!w.probed(true, t0, 0, 0, 2));
        assert_eq!(w.next_look(t0, false, 4 * S), 4 * S);
        assert_eq!(w.next_look(t0 + 3 * S + S / 2, false, 4 * S), LOOK_EVERY, "never sooner than a second");
        // Counters moving, a sender into silence, or a failed round: once a second.
        assert_eq!(w.next_look(t0, true, 60 * S), LOOK_EVERY);
        assert!(!w.observe(t0 + S, 0, 500, 60 * S));
        assert_eq!(w.next_look(t0 + S, false, 60 * S), LOOK_EVERY, "tx without rx must be followed");
        let mut f = HealthWatch::new(t0, 0, 0);
        assert!(!f.probed(false, t0, 0, 28, 3));
        assert_eq!(f.next_look(t0, false, 60 * S), LOOK_EVERY);
    }

    #[test]
    fn carrier_flaps_are_forgiven() {
        let t0 = Instant::now();
        let mut c = Carrier::new();
        // Down at subscription (the dial's carrier is late), then up: no loss.
        c.down(t0);
        assert_eq!(c.deadline(), Some(t0 + CARRIER_FIRST_UP));
        c.up();
        assert_eq!(c.deadline(), None);
        // A later drop gets the short grace, and a second down does not extend it.
        c.down(t0 + 10 * S);
        c.down(t0 + 10 * S + Duration::from_millis(500));
        assert_eq!(c.deadline(), Some(t0 + 10 * S + CARRIER_GRACE));
    }
}
