//! Soak: repeated connect / drop / recover cycles against one daemon for a bounded time
//! (`NCMD_SOAK_SECS`, default 60): the daemon's open file descriptors and resident
//! memory must not grow (after a warm-up, with a small tolerance). Prints the figures
//! (`--nocapture`). Needs root, as CI runs.

mod common;

use std::time::{Duration, Instant};

use common::procfs::{cpu_seconds, open_fds, rss_kib};
use common::{require_root, Lab, SimSpec};

/// Cycles before the baseline is taken (allocator pools, lazily opened sockets).
const WARM_UP: usize = 5;

#[test]
fn cycles_leak_neither_descriptors_nor_memory() {
    require_root();
    let secs: u64 = std::env::var("NCMD_SOAK_SECS").ok().map(|s| s.parse().unwrap_or_else(|_| panic!("NCMD_SOAK_SECS: '{s}' is not a number"))).unwrap_or(60);
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n\toption watch_interval '1'\n\toption probe_interval '1'\n\toption probe_timeout '1'\n\toption probe_count '2'\n\toption backoff_max '2'\n");
    let log = lab.dir.join("ncmd.log");
    let d = lab.up(&cfg, Some(&log));
    let pid = lab.pid(d);
    lab.wait_state("up", Duration::from_secs(30));

    // Every way a link is lost and found again, in turn.
    let cycle: &[&[&str]] = &[&["drop-urc"], &["drop-silent"], &["reset"], &["unplug", "replug"], &["blackhole", "unblackhole"], &["registration-lost", "registration-regained"]];
    let t0 = Instant::now();
    let mut n = 0usize;
    let mut baseline = None;
    while t0.elapsed() < Duration::from_secs(secs) {
        let before = lab.status().and_then(|s| s["connection"]["reconnects"].as_u64()).unwrap_or(0);
        let faults = cycle[n % cycle.len()];
        lab.sim(&format!("fault {}", faults[0]));
        lab.wait_status("loss noticed", Duration::from_secs(20), |s| s["connection"]["reconnects"].as_u64() > Some(before));
        if let Some(undo) = faults.get(1) {
            lab.sim(&format!("fault {undo}"));
        }
        lab.wait_status("up again", Duration::from_secs(30), |s| s["state"] == "up" && s["connection"]["reconnects"].as_u64() > Some(before));
        n += 1;
        if n == WARM_UP {
            baseline = Some((open_fds(pid), rss_kib(pid), Instant::now()));
        }
    }
    assert!(lab.ping(&lab.ping_target()), "no ping through wwan0 at the end");
    let (fds0, rss0, _) = baseline.unwrap_or_else(|| panic!("only {n} cycles in {secs} s: fewer than the {WARM_UP} of the warm-up"));
    let (fds1, rss1) = (open_fds(pid), rss_kib(pid));
    eprintln!(
        "soak: {n} cycles in {:.0} s; fds {fds0} -> {fds1}; VmRSS {rss0} -> {rss1} KiB; daemon CPU {:.2} s",
        t0.elapsed().as_secs_f64(),
        cpu_seconds(pid)
    );
    assert!(fds1 <= fds0 + 2, "open descriptors grew from {fds0} to {fds1} over {n} cycles");
    // Tolerance: allocator and event-history noise, not growth per cycle.
    assert!(rss1 <= rss0 + rss0 / 10 + 1024, "VmRSS grew from {rss0} to {rss1} KiB over {n} cycles");
}
