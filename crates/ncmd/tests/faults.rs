//! The fault matrix: every fault of the simulator × several seeds, each against its own
//! daemon, simulator and network namespaces. For each run: ncmd must notice the loss,
//! report its cause, come back `up` with a working ping through wwan0 once the simulated
//! modem recovers, and stay cheap meanwhile (CPU time of the daemon, AT commands the
//! modem received). Prints a table of recovery rates and times (`--nocapture`).
//!
//! Seeds: `NCMD_FAULT_SEEDS=4,5,6` (default 1,2,3); each seed varies when the fault is
//! injected and how long the modem stays broken. `NCMD_FAULTS=hang,reset` runs only
//! those faults (default all). Needs root, as CI runs.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::procfs::{cpu_seconds, Rng};
use common::{require_root, Lab, SimSpec};
use serde_json::Value;

/// One fault of the simulator and how it ends.
struct Fault {
    inject: &'static str,
    /// The simulator's own recovery, when it does not recover by itself.
    undo: Option<&'static str>,
    /// Causes ncmd may report for it (`counters.reconnects_by_cause`).
    causes: &'static [&'static str],
}

const FAULTS: &[Fault] = &[
    Fault { inject: "drop-urc", undo: None, causes: &["network-disconnect"] },
    Fault { inject: "drop-silent", undo: None, causes: &["status-down", "carrier-lost"] },
    Fault { inject: "blackhole", undo: Some("unblackhole"), causes: &["black-hole"] },
    Fault { inject: "hang", undo: Some("unhang"), causes: &["modem-hung"] },
    Fault { inject: "reset", undo: None, causes: &["port-gone", "carrier-lost"] },
    Fault { inject: "unplug", undo: Some("replug"), causes: &["port-gone", "carrier-lost"] },
    Fault { inject: "sim-removed", undo: Some("sim-inserted"), causes: &["sim-removed", "registration-lost", "network-disconnect", "status-down", "carrier-lost"] },
    Fault { inject: "registration-lost", undo: Some("registration-regained"), causes: &["registration-lost", "network-disconnect", "status-down", "carrier-lost"] },
];

/// Options that make loss detection fast enough for a test (whole seconds are the unit).
const FAST: &str = "\toption apn 'internet'\n\toption watch_interval '1'\n\toption probe_interval '1'\n\toption probe_timeout '1'\n\toption probe_count '2'\n\toption backoff_max '2'\n";

const UP: Duration = Duration::from_secs(30);
/// Longest time allowed to notice a loss (a hung modem: watch period + command timeout).
const DETECT: Duration = Duration::from_secs(25);
const RECOVER: Duration = Duration::from_secs(45);

struct Outcome {
    fault: &'static str,
    seed: u64,
    detect: Option<Duration>,
    recover: Option<Duration>,
    cpu_s: f64,
    wall_s: f64,
    at_commands: usize,
    causes: Vec<String>,
    problems: Vec<String>,
}

fn reconnects(s: &Value) -> u64 {
    s["connection"]["reconnects"].as_u64().unwrap_or(0)
}

fn run_case(f: &Fault, seed: u64) -> Outcome {
    let mut rng = Rng::new(seed ^ f.inject.len() as u64);
    let mut lab = Lab::new(SimSpec { extra: vec!["--seed".into(), seed.to_string()], ..Default::default() });
    let cfg = lab.config(FAST);
    let log = lab.dir.join("ncmd.log");
    let d = lab.up(&cfg, Some(&log));
    let pid = lab.pid(d);
    let t0 = Instant::now();
    let mut out = Outcome { fault: f.inject, seed, detect: None, recover: None, cpu_s: 0.0, wall_s: 0.0, at_commands: 0, causes: vec![], problems: vec![] };
    let target = lab.ping_target();

    let first_up = wait(&lab, UP, |s| s["state"] == "up");
    if first_up.is_none() || !lab.ping(&target) {
        out.problems.push("never came up before the fault".into());
        eprintln!("--- {} seed {seed}: never up; status {:?}\n{}", f.inject, lab.status(), std::fs::read_to_string(&log).unwrap_or_default());
        return out;
    }
    // Inject at a seeded moment of the link's life (the watch and probe timers run).
    std::thread::sleep(rng.millis(1500));
    let injected = Instant::now();
    lab.sim(&format!("fault {}", f.inject));
    let detected = wait(&lab, DETECT, |s| reconnects(s) >= 1);
    out.detect = detected.as_ref().map(|_| injected.elapsed());
    if detected.is_none() {
        out.problems.push(format!("loss not noticed within {DETECT:?}"));
    }
    let modem_back = match f.undo {
        Some(undo) => {
            // The modem stays broken for a seeded while after ncmd noticed.
            std::thread::sleep(rng.millis(2500));
            lab.sim(&format!("fault {undo}"));
            Instant::now()
        }
        None => injected,
    };
    // Recovered = up again *and* data flows. One ping right after the first "up" would
    // race a link that ncmd is right to drop again (a black hole still in place when it
    // redialled is found again by its probes), so both are awaited together.
    let back = wait(&lab, RECOVER, |s| s["state"] == "up" && reconnects(s) >= 1);
    let pinged = back.is_some() && wait_until(RECOVER, || lab.status().is_some_and(|s| s["state"] == "up") && lab.ping(&target));
    match (back, pinged) {
        (Some(_), true) => out.recover = Some(modem_back.elapsed()),
        (Some(_), false) => out.problems.push(format!("up again but no ping through wwan0 within {RECOVER:?}")),
        (None, _) => out.problems.push(format!("not up again within {RECOVER:?} after the modem recovered")),
    }
    let last = lab.status().unwrap_or(Value::Null);
    if let Some(by_cause) = last["counters"]["reconnects_by_cause"].as_object() {
        out.causes = by_cause.keys().cloned().collect();
    }
    if out.detect.is_some() && out.causes.is_empty() {
        out.problems.push("no cause in counters.reconnects_by_cause".into());
    }
    for c in &out.causes {
        if !f.causes.contains(&c.as_str()) {
            out.problems.push(format!("unexpected cause {c}"));
        }
    }
    let events = last["events"].to_string();
    if out.detect.is_some() && !f.causes.iter().any(|c| events.contains(c)) {
        out.problems.push("the loss event does not name its cause".into());
    }
    out.wall_s = t0.elapsed().as_secs_f64();
    out.cpu_s = cpu_seconds(pid);
    out.at_commands = lab.sim("stats")["commands"].as_array().map_or(0, Vec::len);
    // Busy-loop guards: a few percent of one core (the daemon logs every AT line at
    // -vv here) and a bounded number of AT commands per second.
    if out.cpu_s > 0.5 + 0.1 * out.wall_s {
        out.problems.push(format!("daemon used {:.2} s CPU in {:.1} s", out.cpu_s, out.wall_s));
    }
    if out.at_commands as f64 > 200.0 + 40.0 * out.wall_s {
        out.problems.push(format!("{} AT commands in {:.1} s", out.at_commands, out.wall_s));
    }
    if !out.problems.is_empty() {
        let tail: String = std::fs::read_to_string(&log).unwrap_or_default().lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        eprintln!("--- {} seed {seed}: {:?}\nlast status: {last}\nlog tail:\n{tail}", f.inject, out.problems);
    }
    out
}

/// Polls the status until `cond` holds; None after `limit`.
fn wait(lab: &Lab, limit: Duration, cond: impl Fn(&Value) -> bool) -> Option<Value> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Some(s) = lab.status() {
            if cond(&s) {
                return Some(s);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Polls `cond` until it holds (true) or `limit` passes (false).
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn seeds() -> Vec<u64> {
    let text = std::env::var("NCMD_FAULT_SEEDS").unwrap_or_else(|_| "1,2,3".into());
    text.split(',').map(|s| s.trim().parse().unwrap_or_else(|_| panic!("NCMD_FAULT_SEEDS: '{s}' is not a number"))).collect()
}

fn secs(d: &[Duration]) -> String {
    if d.is_empty() {
        return "-".into();
    }
    let mut v: Vec<f64> = d.iter().map(Duration::as_secs_f64).collect();
    v.sort_by(f64::total_cmp);
    format!("{:.2}/{:.2}", v[v.len() / 2], v[v.len() - 1])
}

#[test]
fn every_fault_is_recovered_from() {
    require_root();
    let started = Instant::now();
    let only = std::env::var("NCMD_FAULTS").ok();
    let chosen: Vec<usize> = (0..FAULTS.len()).filter(|&i| only.as_deref().is_none_or(|o| o.split(',').any(|n| n.trim() == FAULTS[i].inject))).collect();
    assert!(!chosen.is_empty(), "NCMD_FAULTS names no fault of the matrix");
    let cases: Vec<(usize, u64)> = seeds().into_iter().flat_map(|s| chosen.iter().map(move |&f| (f, s))).collect();
    let queue = Mutex::new(cases.into_iter());
    let results = Mutex::new(Vec::new());
    // A few labs at a time: each is mostly waiting on timers.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((f, seed)) = next else { break };
                let o = run_case(&FAULTS[f], seed);
                results.lock().unwrap_or_else(|e| e.into_inner()).push(o);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    eprintln!("\nfault matrix, seeds {:?}, {:.0} s in all (times: median/max seconds)", seeds(), started.elapsed().as_secs_f64());
    eprintln!("{:<18} {:>9} {:>12} {:>12} {:>9} {:>9}  causes", "fault", "recovered", "detect", "recover", "cpu s max", "AT max");
    for f in chosen.iter().map(|&i| &FAULTS[i]) {
        let rs: Vec<&Outcome> = results.iter().filter(|o| o.fault == f.inject).collect();
        let ok = rs.iter().filter(|o| o.problems.is_empty()).count();
        let det: Vec<Duration> = rs.iter().filter_map(|o| o.detect).collect();
        let rec: Vec<Duration> = rs.iter().filter_map(|o| o.recover).collect();
        let cpu = rs.iter().map(|o| o.cpu_s).fold(0.0, f64::max);
        let at = rs.iter().map(|o| o.at_commands).max().unwrap_or(0);
        let mut causes: Vec<&str> = rs.iter().flat_map(|o| o.causes.iter().map(String::as_str)).collect();
        causes.sort_unstable();
        causes.dedup();
        eprintln!("{:<18} {:>5}/{:<3} {:>12} {:>12} {:>9.2} {:>9}  {}", f.inject, ok, rs.len(), secs(&det), secs(&rec), cpu, at, causes.join(","));
    }
    let failed: Vec<String> = results.iter().filter(|o| !o.problems.is_empty()).map(|o| format!("{} seed {}: {}", o.fault, o.seed, o.problems.join("; "))).collect();
    assert!(failed.is_empty(), "fault matrix failures:\n{}", failed.join("\n"));
}

/// PS-only service (`option psonly`), the seed's fix for voice calls pulling the link
/// down to 3G: applied after the link is up, read first, written only when different,
/// across reconnects and restarts (the setting is in the modem's flash).
#[test]
fn psonly_is_written_once() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n\toption psonly '1'\n");
    let d = lab.up(&cfg, None);
    let st = lab.wait_status("PS-only applied", UP, |s| s["events"].to_string().contains("service domain set to PS only"));
    assert_eq!(st["state"], "up");
    let writes = |lab: &Lab| lab.sim("stats")["service_domain_writes"].as_u64();
    assert_eq!(writes(&lab), Some(1));
    assert!(lab.sim("stats")["commands"].to_string().contains("AT^SYSCFGEX?"), "not read before writing");
    // A reconnect reads it again and leaves it alone.
    lab.sim("fault drop-urc");
    lab.wait_status("already set after the reconnect", UP, |s| s["state"] == "up" && s["events"].to_string().contains("already PS only"));
    assert_eq!(writes(&lab), Some(1), "rewritten on reconnect");
    lab.terminate(d);
    lab.up(&cfg, None);
    lab.wait_status("already set after a restart", UP, |s| s["events"].to_string().contains("already PS only"));
    assert_eq!(writes(&lab), Some(1), "rewritten after a restart");
    assert_eq!(lab.sim("stats")["mode_writes"].as_u64(), Some(0), "the PS-only write changed the network mode");
}
