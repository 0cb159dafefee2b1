//! Simulated data link: the carrier side of a modem's network interface.
//!
//! Owns: a carrier network namespace of its own, a veth pair whose far end appears in
//! the router's namespace as the modem's interface (`wwan0`, left down and without an
//! address: configuring it is ncmd's job), the gateway address on the carrier end, a
//! host beyond the gateway to ping (an address on the carrier namespace's loopback),
//! an optional DHCP server (dnsmasq, no DNS service) leasing the modem's fixed address,
//! and the faults: carrier off (carrier end down, the router end shows NO-CARRIER) and
//! black-hole (nothing comes back: replies routed to a blackhole, DHCP server frozen).
//!
//! Must not know about: ncmd's link code or AT parsers (so the two cannot share a bug).
//! It drives the kernel with the `ip` tool and runs `dnsmasq`; it touches only the
//! namespaces it is given or makes, never the machine's own.
//!
//! Addresses: instance `idx` (19 bits from pid and a per-process counter, so 64
//! instances per process are distinct) gets the /30 `10.64.0.0 + 4*idx` (gateway .1,
//! modem .2) inside 10.64.0.0/11, and the ping target `10.96.0.0 + 4*idx + 1`.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Name of the carrier end of the veth pair, inside the carrier namespace.
const CARRIER_IF: &str = "carrier0";
const LINK_BASE: u32 = 0x0a40_0000; // 10.64.0.0
const TARGET_BASE: u32 = 0x0a60_0000; // 10.96.0.0
const PREFIX_LEN: u8 = 30;

/// What dnsmasq logs once its DHCP socket is listening ("DHCP, IP range A -- B, ...").
const DNSMASQ_READY: &str = "DHCP, IP range";
const DNSMASQ_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

static INSTANCES: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone)]
pub struct DataLinkOptions {
    /// Network namespace holding the modem's interface; made if missing.
    pub router_netns: String,
    /// Name of the modem's interface in `router_netns` (e.g. `wwan0`).
    pub ifname: String,
    /// Run a DHCP server on the link leasing `DataLinkInfo::ipv4`.
    pub dhcp: bool,
}

/// What the simulated carrier offers; also what `^DHCP?` should report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataLinkInfo {
    pub netns: String,
    pub ifname: String,
    pub ipv4: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub dns: Vec<Ipv4Addr>,
    pub ping_target: Ipv4Addr,
    /// IPv6 side of the same link (ULA, unique per instance): the modem's address, its
    /// prefix, the carrier's address as gateway, and a target beyond it.
    pub ipv6: Ipv6Addr,
    pub ipv6_prefix_len: u8,
    pub ipv6_gateway: Ipv6Addr,
    pub ping_target6: Ipv6Addr,
}

#[derive(Debug, thiserror::Error)]
pub enum DataLinkError {
    #[error("invalid interface name {0:?}: use 1 to 15 characters without '/', ':' or spaces")]
    BadIfname(String),
    #[error("invalid namespace name {0:?}: use letters, digits, '-', '_' and '.'")]
    BadNetns(String),
    #[error("cannot run `{command}`: {source}; the simulated data link needs iproute2 (`ip`) and, for DHCP, dnsmasq")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{command}` failed: {stderr}; the simulated data link needs root (network namespaces)"
    )]
    Command { command: String, stderr: String },
    #[error("cannot prepare {path}: {source}")]
    TempDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot signal the simulated DHCP server: {0}")]
    Signal(#[source] nix::errno::Errno),
    #[error("the simulated data link's helper task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The carrier side of one simulated modem data link; cleaned up by `destroy` or on drop.
pub struct DataLink {
    info: DataLinkInfo,
    carrier_netns: String,
    /// Whether this instance made `carrier_netns` / the router namespace (and so deletes them).
    carrier_created: bool,
    router_created: bool,
    dnsmasq: Option<Child>,
    tmpdir: Option<PathBuf>,
    blackholed: AtomicBool,
}

fn run(program: &str, args: &[&str]) -> Result<(), DataLinkError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| DataLinkError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(DataLinkError::Command { command, stderr })
    }
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

fn check_names(opts: &DataLinkOptions) -> Result<(), DataLinkError> {
    let ifname_ok = !opts.ifname.is_empty()
        && opts.ifname.len() <= 15
        && !opts
            .ifname
            .contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if !ifname_ok {
        return Err(DataLinkError::BadIfname(opts.ifname.clone()));
    }
    let netns_ok = !opts.router_netns.is_empty()
        && !opts.router_netns.starts_with('.')
        && opts
            .router_netns
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !netns_ok {
        return Err(DataLinkError::BadNetns(opts.router_netns.clone()));
    }
    Ok(())
}

/// Runs blocking work (commands, waits) off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DataLinkError> + Send + 'static,
) -> Result<T, DataLinkError> {
    tokio::task::spawn_blocking(f).await?
}

impl DataLink {
    /// Makes the carrier side. The link starts with carrier OFF (as a modem before it
    /// dials): call `set_carrier(true)` once "connected".
    pub async fn create(opts: &DataLinkOptions) -> Result<DataLink, DataLinkError> {
        check_names(opts)?;
        let opts = opts.clone();
        blocking(move || DataLink::create_blocking(&opts)).await
    }

    fn create_blocking(opts: &DataLinkOptions) -> Result<DataLink, DataLinkError> {
        let pid = std::process::id();
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let idx = ((pid & 0x1fff) << 6) | (n & 0x3f);
        let gateway = Ipv4Addr::from(LINK_BASE + 4 * idx + 1);
        let modem = Ipv4Addr::from(LINK_BASE + 4 * idx + 2);
        let target = Ipv4Addr::from(TARGET_BASE + 4 * idx + 1);
        // fd64:<idx>::/64 on the link, fd96:<idx>::1 beyond it (RFC 4193 unique local).
        let v6 = |net: u16, host: u16| Ipv6Addr::new(net, (idx >> 16) as u16, idx as u16, 0, 0, 0, 0, host);
        let (gateway6, modem6, target6) = (v6(0xfd64, 1), v6(0xfd64, 2), v6(0xfd96, 1));
        // From here on, Drop undoes whatever has been made if a step fails.
        let mut link = DataLink {
            info: DataLinkInfo {
                netns: opts.router_netns.clone(),
                ifname: opts.ifname.clone(),
                ipv4: modem,
                prefix_len: PREFIX_LEN,
                gateway,
                dns: vec![gateway],
                ping_target: target,
                ipv6: modem6,
                ipv6_prefix_len: 64,
                ipv6_gateway: gateway6,
                ping_target6: target6,
            },
            carrier_netns: format!("ncmd-carrier-{pid}-{n}"),
            carrier_created: false,
            router_created: false,
            dnsmasq: None,
            tmpdir: None,
            blackholed: AtomicBool::new(false),
        };
        let router = opts.router_netns.as_str();
        if !netns_exists(router) {
            run("ip", &["netns", "add", router])?;
            link.router_created = true;
        }
        let carrier = link.carrier_netns.clone();
        run("ip", &["netns", "add", &carrier])?;
        link.carrier_created = true;
        run("ip", &["-n", &carrier, "link", "set", "lo", "up"])?;
        run(
            "ip",
            &[
                "-n",
                &carrier,
                "link",
                "add",
                CARRIER_IF,
                "type",
                "veth",
                "peer",
                "name",
                &opts.ifname,
                "netns",
                router,
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                &carrier,
                "addr",
                "add",
                &format!("{gateway}/{PREFIX_LEN}"),
                "dev",
                CARRIER_IF,
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                &carrier,
                "addr",
                "add",
                &format!("{target}/32"),
                "dev",
                "lo",
            ],
        )?;
        // No duplicate address detection: the addresses are ours alone, and DAD would
        // hold them tentative for a second or two.
        run("ip", &["-n", &carrier, "-6", "addr", "add", &format!("{gateway6}/64"), "dev", CARRIER_IF, "nodad"])?;
        run("ip", &["-n", &carrier, "-6", "addr", "add", &format!("{target6}/128"), "dev", "lo"])?;
        if opts.dhcp {
            link.start_dnsmasq()?;
        }
        Ok(link)
    }

    fn start_dnsmasq(&mut self) -> Result<(), DataLinkError> {
        let dir = std::env::temp_dir().join(&self.carrier_netns);
        std::fs::create_dir_all(&dir).map_err(|source| DataLinkError::TempDir {
            path: dir.clone(),
            source,
        })?;
        self.tmpdir = Some(dir.clone());
        let info = &self.info;
        let mask = Ipv4Addr::from(u32::MAX << (32 - u32::from(PREFIX_LEN)));
        let args = vec![
            "netns".to_owned(),
            "exec".to_owned(),
            self.carrier_netns.clone(),
            "dnsmasq".to_owned(),
            "--keep-in-foreground".to_owned(),
            "--conf-file=/dev/null".to_owned(),
            "--port=0".to_owned(),
            "--no-resolv".to_owned(),
            "--no-hosts".to_owned(),
            "--user=root".to_owned(),
            format!("--interface={CARRIER_IF}"),
            "--dhcp-authoritative".to_owned(),
            // A modem answers at once; dnsmasq would otherwise ping the address for 3 s first.
            "--no-ping".to_owned(),
            format!("--dhcp-range={},{},{mask},1h", info.ipv4, info.ipv4),
            format!("--dhcp-option=option:router,{}", info.gateway),
            format!("--dhcp-option=option:dns-server,{}", info.gateway),
            format!("--dhcp-leasefile={}", dir.join("leases").display()),
            format!("--pid-file={}", dir.join("dnsmasq.pid").display()),
            "--log-facility=-".to_owned(),
        ];
        let command = format!("ip {}", args.join(" "));
        let mut child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DataLinkError::Spawn {
                command: command.clone(),
                source,
            })?;
        let stderr = child.stderr.take();
        self.dnsmasq = Some(child);
        let Some(stderr) = stderr else {
            return Ok(());
        };
        // dnsmasq logs its DHCP range once its sockets are bound: wait for that line so a
        // client's first DISCOVER is answered. A reader thread keeps draining the log.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            let mut early_log = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                tracing::debug!(target: "ncmd_sim::dnsmasq", "{line}");
                if let Some(tx) = &ready_tx {
                    early_log.push_str(&line);
                    early_log.push('\n');
                    if line.contains(DNSMASQ_READY) {
                        let _ = tx.send(Ok(()));
                        ready_tx = None;
                    }
                }
            }
            if let Some(tx) = ready_tx {
                let _ = tx.send(Err(early_log));
            }
        });
        match ready_rx.recv_timeout(DNSMASQ_START_TIMEOUT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(log)) => Err(DataLinkError::Command {
                command,
                stderr: log.trim().to_owned(),
            }),
            Err(_) => Err(DataLinkError::Command {
                command,
                stderr: format!(
                    "dnsmasq did not report its DHCP range within {DNSMASQ_START_TIMEOUT:?}"
                ),
            }),
        }
    }

    pub fn info(&self) -> &DataLinkInfo {
        &self.info
    }

    /// Carrier on: the carrier end goes up and the router end gets carrier. Off: the
    /// carrier end goes down and the router end shows NO-CARRIER.
    pub async fn set_carrier(&self, up: bool) -> Result<(), DataLinkError> {
        let carrier = self.carrier_netns.clone();
        let state = if up { "up" } else { "down" };
        blocking(move || run("ip", &["-n", &carrier, "link", "set", CARRIER_IF, state])).await
    }

    /// Black-hole on: the carrier drops every reply to the modem (a blackhole route for
    /// its address) and the DHCP server stops answering (SIGSTOP). Off undoes both.
    pub async fn set_blackhole(&self, on: bool) -> Result<(), DataLinkError> {
        if self.blackholed.load(Ordering::SeqCst) == on {
            return Ok(());
        }
        let carrier = self.carrier_netns.clone();
        let route = format!("{}/32", self.info.ipv4);
        let verb = if on { "replace" } else { "del" };
        blocking(move || run("ip", &["-n", &carrier, "route", verb, "blackhole", &route])).await?;
        if let Some(child) = &self.dnsmasq {
            let signal = if on { Signal::SIGSTOP } else { Signal::SIGCONT };
            // `ip netns exec` execs dnsmasq, so the child's pid is dnsmasq's.
            kill(Pid::from_raw(child.id() as i32), signal).map_err(DataLinkError::Signal)?;
        }
        self.blackholed.store(on, Ordering::SeqCst);
        Ok(())
    }

    /// Removes everything this instance made: dnsmasq, the carrier namespace (and with
    /// it both ends of the veth pair), the router namespace if it made it, temp files.
    pub async fn destroy(mut self) -> Result<(), DataLinkError> {
        blocking(move || self.teardown()).await
    }

    fn teardown(&mut self) -> Result<(), DataLinkError> {
        if let Some(mut child) = self.dnsmasq.take() {
            // SIGKILL also ends a stopped (black-holed) process; then reap it.
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut result = Ok(());
        if std::mem::take(&mut self.carrier_created) {
            result = result.and(run("ip", &["netns", "del", &self.carrier_netns]));
        }
        if std::mem::take(&mut self.router_created) {
            result = result.and(run("ip", &["netns", "del", &self.info.netns]));
        }
        if let Some(dir) = self.tmpdir.take() {
            // Best effort: only our own pid/lease/log files live there.
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

impl Drop for DataLink {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            tracing::warn!("cleaning up the simulated data link: {e}");
        }
    }
}
