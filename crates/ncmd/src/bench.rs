//! `ncmd bench`: figures measured against the simulator, printed as a table.
//!
//! Owns the measurement procedures (AT round trip over a real pty, time from start to
//! link up with realistic and zero latencies, and the seed's fixed-sleep procedure as a
//! baseline in the same run). Nothing here is asserted: these are figures for people.

use std::path::Path;
use std::time::{Duration, Instant};

use ncmd_sim::{SimOptions, Simulator};

use crate::control::{self, Request};
use crate::status::InterfaceStatus;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Round trips for the AT measurement.
    #[arg(long, default_value_t = 2000)]
    pub rounds: u32,
    /// Connects per latency setting.
    #[arg(long, default_value_t = 3)]
    pub connects: u32,
}

pub async fn run(args: BenchArgs) -> Result<(), crate::Error> {
    let dir = std::env::temp_dir().join(format!("ncmd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let r = bench(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    r
}

async fn bench(args: &BenchArgs, dir: &Path) -> Result<(), crate::Error> {
    println!("ncmd bench (simulated Huawei E3372, real pty)\n");
    at_round_trip(args.rounds, dir).await?;
    println!();
    let mut rows = Vec::new();
    for (label, scale) in [("realistic latencies", 1.0), ("zero latencies", 0.0)] {
        let mut times = Vec::new();
        for i in 0..args.connects {
            times.push(connect_time(scale, &dir.join(format!("c{scale}-{i}"))).await?);
        }
        times.sort();
        rows.push((label, times[times.len() / 2]));
    }
    let baseline = seed_procedure(&dir.join("baseline")).await?;
    println!("time from start to link up (median of {} runs, dry-run data path):", args.connects);
    for (label, t) in &rows {
        println!("  ncmd, {label:<22} {:>9.1} ms", t.as_secs_f64() * 1e3);
    }
    println!("  ncmd's own overhead       {:>9.1} ms  (the zero-latency run: every step, no modem time)", rows[1].1.as_secs_f64() * 1e3);
    println!("  seed procedure (baseline) {:>9.1} ms  (AT^NDISDUP, sleep 3, ifup; realistic latencies; no SIM, registration or connection check)", baseline.as_secs_f64() * 1e3);
    Ok(())
}

async fn at_round_trip(rounds: u32, dir: &Path) -> Result<(), crate::Error> {
    let tty = dir.join("tty-rt");
    let sim = Simulator::start(SimOptions { latency_scale: 0.0, tty_link: Some(tty.clone()), ..SimOptions::default() }).await?;
    let chan = ncmd_at::AtChannel::open(&tty).await?;
    chan.command("ATE0", Duration::from_secs(2)).await?;
    let mut lat = Vec::with_capacity(rounds as usize);
    let t0 = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        chan.command("AT", Duration::from_secs(2)).await?;
        lat.push(t.elapsed());
    }
    let total = t0.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    println!("AT round trip over a pty, zero-latency simulator ({rounds} commands):");
    println!("  p50 {:.0} µs, p99 {:.0} µs, {:.0} commands/s", pct(0.5), pct(0.99), f64::from(rounds) / total.as_secs_f64());
    drop(chan);
    sim.shutdown().await;
    Ok(())
}

/// Start a daemon (dry-run data path) on a fresh simulator; time until `up`.
async fn connect_time(scale: f64, dir: &Path) -> Result<Duration, crate::Error> {
    std::fs::create_dir_all(dir)?;
    let tty = dir.join("tty");
    let sim = Simulator::start(SimOptions { latency_scale: scale, tty_link: Some(tty.clone()), ..SimOptions::default() }).await?;
    let cfg = dir.join("network");
    std::fs::write(&cfg, format!("config interface 'wwan'\n\toption proto 'ncm'\n\toption device '{}'\n\toption apn 'internet'\n\toption ifname 'wwan0'\n\toption probe_interval '0'\n", tty.display()))?;
    let spec = ncmd_config::load(&cfg)?.interface("wwan")?.clone();
    let sock = dir.join("ncmd.sock");
    let opts = crate::daemon::Options { control: sock.clone(), state_dir: dir.join("state"), netifd: false, sysfs_root: "/sys".into(), dry_run: true };
    let t0 = Instant::now();
    let daemon = tokio::spawn(crate::daemon::run_specs(vec![spec], opts));
    let up = loop {
        tokio::time::sleep(Duration::from_micros(500)).await;
        if let Ok(r) = control::request(&sock, &Request::Status { interface: None }).await {
            let list: Vec<InterfaceStatus> = serde_json::from_value(r.data)?;
            if list.first().is_some_and(|s| s.state == "up") {
                break t0.elapsed();
            }
        }
        if t0.elapsed() > Duration::from_secs(60) {
            return Err("the bench link did not come up within 60 s".into());
        }
    };
    let _ = control::request(&sock, &Request::Down { interface: "wwan".into() }).await;
    let _ = daemon.await;
    sim.shutdown().await;
    Ok(up)
}

/// The seed's procedure: write AT^NDISDUP blindly, sleep 3 s, bring the interface up.
async fn seed_procedure(dir: &Path) -> Result<Duration, crate::Error> {
    use tokio::io::AsyncWriteExt;
    std::fs::create_dir_all(dir)?;
    let tty = dir.join("tty");
    let sim = Simulator::start(SimOptions { latency_scale: 1.0, tty_link: Some(tty.clone()), ..SimOptions::default() }).await?;
    let t0 = Instant::now();
    let mut port = tokio::fs::OpenOptions::new().write(true).open(&tty).await?;
    port.write_all(b"AT^NDISDUP=1,0\r\n").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    port.write_all(b"AT^NDISDUP=1,1,\"internet\"\r\n").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // `ifup` itself: netifd's DHCP start is not counted.
    let t = t0.elapsed();
    drop(port);
    sim.shutdown().await;
    Ok(t)
}
