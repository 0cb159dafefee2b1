//! `ncmd demo`: the end-to-end demonstration that needs nothing installed.
//!
//! Owns the wiring of simulator + daemon + (when allowed) network namespaces for the
//! demo. The demo runs the same daemon code as `ncmd up`; only the modem is simulated.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ncmd_sim::{datalink::DataLinkOptions, SimOptions, Simulator};

use crate::control::{self, Request};
use crate::status::InterfaceStatus;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Simulated vendor.
    #[arg(long, default_value = "huawei")]
    pub vendor: String,
    /// Zero simulated latencies (the default plays a real modem's pace).
    #[arg(long)]
    pub fast: bool,
    /// Skip the network namespaces even when allowed.
    #[arg(long)]
    pub no_netns: bool,
}

/// Can this process make network namespaces (root, `ip` present, not forbidden)?
fn netns_possible() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root".into());
    }
    let probe = format!("ncmd-probe-{}", std::process::id());
    let ok = std::process::Command::new("ip").args(["netns", "add", &probe]).output();
    match ok {
        Err(e) => Err(format!("the ip command (iproute2) is not available: {e}")),
        Ok(o) if !o.status.success() => Err(format!("cannot make a network namespace: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Ok(_) => {
            let _ = std::process::Command::new("ip").args(["netns", "del", &probe]).output();
            Ok(())
        }
    }
}

/// Runs `f` on a new thread inside network namespace `ns` with its own runtime; sockets
/// and child processes made there belong to that namespace.
pub fn in_netns<F, T>(ns: &str, f: F) -> std::thread::JoinHandle<Result<T, String>>
where
    F: FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
    T: Send + 'static,
{
    let path = PathBuf::from("/run/netns").join(ns);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {}: {e}", path.display()))?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        Ok(rt.block_on(f()))
    })
}

fn uci_text(device: &Path, ifname: &str, probe: Option<IpAddr>) -> String {
    let mut s = format!(
        "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '{}'\n\toption apn 'internet'\n\toption pdptype 'IP'\n\toption ifname '{ifname}'\n\toption mode 'preferlte'\n\toption linksettle '1'\n",
        device.display()
    );
    match probe {
        Some(p) => s.push_str(&format!("\tlist probe_hosts '{p}'\n")),
        None => s.push_str("\toption probe_interval '0'\n"),
    }
    s
}

/// `ncmd demo`.
pub async fn run(args: DemoArgs) -> Result<(), crate::Error> {
    let dir = std::env::temp_dir().join(format!("ncmd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = demo(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn demo(args: &DemoArgs, dir: &Path) -> Result<(), crate::Error> {
    let netns = if args.no_netns { Err("--no-netns given".to_string()) } else { netns_possible() };
    let router = format!("ncmd-demo-{}", std::process::id());
    let tty = dir.join("ttyUSB-sim");
    println!("ncmd demo: a simulated {} modem, connected end to end by the same code as `ncmd up`.", args.vendor);
    let sim = Simulator::start(SimOptions {
        vendor: args.vendor.clone(),
        latency_scale: if args.fast { 0.0 } else { 1.0 },
        tty_link: Some(tty.clone()),
        datalink: netns.is_ok().then(|| DataLinkOptions { router_netns: router.clone(), ifname: "wwan0".into(), dhcp: false }),
        ..SimOptions::default()
    })
    .await?;
    let link = sim.datalink_info();
    match &link {
        Some(l) => println!(
            "  modem on {}; data link wwan0 in namespace {} (carrier {} offers {}/{}, host {} beyond it)",
            tty.display(),
            l.netns,
            l.gateway,
            l.ipv4,
            l.prefix_len,
            l.ping_target
        ),
        None => println!(
            "  modem on {}; skipping the real data path ({}): wwan0 is configured in a dry run",
            tty.display(),
            netns.as_ref().err().cloned().unwrap_or_else(|| "no data link".into())
        ),
    }
    let config = dir.join("network");
    std::fs::write(&config, uci_text(&tty, "wwan0", link.as_ref().map(|l| IpAddr::V4(l.ping_target))))?;
    let control_path = dir.join("ncmd.sock");
    let state = dir.join("state");

    let spec = ncmd_config::load(&config)?.interface("wwan")?.clone();
    let opts = |dry: bool| crate::daemon::Options { control: control_path.clone(), config: None, state_dir: state.clone(), netifd: false, sysfs_root: PathBuf::from("/sys"), dry_run: dry };
    let daemon = match &link {
        Some(l) => {
            let (spec, o) = (spec.clone(), opts(false));
            let ns = l.netns.clone();
            DaemonHandle::Thread(in_netns(&ns, move || Box::pin(async move { crate::daemon::run_specs(vec![spec], o).await.map_err(|e| e.to_string()) })))
        }
        None => DaemonHandle::Task(tokio::spawn(crate::daemon::run_specs(vec![spec], opts(true)))),
    };

    // Follow the session's events until the link is up (or gives up).
    let mut shown = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let Ok(reply) = control::request(&control_path, &Request::Status { interface: None }).await else {
            if tokio::time::Instant::now() > deadline {
                return Err("the daemon did not start".into());
            }
            continue;
        };
        let list: Vec<InterfaceStatus> = serde_json::from_value(reply.data)?;
        let Some(s) = list.into_iter().next() else { continue };
        for e in s.events.iter().skip(shown) {
            println!("  [{:6.2} s] {:<9} {}", e.uptime_s, e.kind, e.message);
        }
        shown = s.events.len();
        if s.state == "up" || tokio::time::Instant::now() > deadline || s.state == "blocked" {
            break s;
        }
    };
    if status.state != "up" {
        let _ = control::request(&control_path, &Request::Down { interface: "wwan".into() }).await;
        daemon.join().await;
        sim.shutdown().await;
        return Err(format!("the demo link did not come up: {}", status.modem.connection.last_error.unwrap_or_default()).into());
    }
    if let Some(l) = &link {
        let target = l.ping_target;
        let ping = in_netns(&l.netns, move || Box::pin(async move { ncmd_link::probe::icmp_echo("wwan0", IpAddr::V4(target), Duration::from_secs(2)).await }));
        match ping.join() {
            Ok(Ok(Ok(rtt))) => println!("  ping {target} through wwan0: reply in {:.2} ms", rtt.as_secs_f64() * 1000.0),
            Ok(Ok(Err(e))) => println!("  ping {target} through wwan0 failed: {e}"),
            other => println!("  ping could not run: {other:?}"),
        }
    }
    // The session refreshes signal, mode and PDP right after the link comes up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = match control::request(&control_path, &Request::Status { interface: None }).await {
        Ok(r) => serde_json::from_value::<Vec<InterfaceStatus>>(r.data)?.into_iter().next().unwrap_or(status),
        Err(_) => status,
    };
    println!("\n$ ncmd status");
    print!("{}", crate::expose::render::render_interface(&status));
    let _ = control::request(&control_path, &Request::Down { interface: "wwan".into() }).await;
    daemon.join().await;
    sim.shutdown().await;
    match &link {
        Some(_) => println!("\nlink released, modem disconnected, namespaces removed."),
        None => println!("\nmodem disconnected. wwan0 was a dry run: run the demo as root (with iproute2) for a real data path and a ping."),
    }
    Ok(())
}

enum DaemonHandle {
    Thread(std::thread::JoinHandle<Result<Result<(), String>, String>>),
    Task(tokio::task::JoinHandle<Result<(), crate::Error>>),
}

impl DaemonHandle {
    async fn join(self) {
        match self {
            DaemonHandle::Thread(t) => {
                let _ = tokio::task::spawn_blocking(move || t.join()).await;
            }
            DaemonHandle::Task(t) => {
                let _ = t.await;
            }
        }
    }
}
