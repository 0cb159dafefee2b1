//! Sixteen simulated modems on one daemon: one UCI file with 16 ncm interfaces, each
//! its own simulator and data link (wwan0..wwan15 in ONE router namespace the test
//! makes). All reach `up`; then some are faulted: the others stay up, the faulted ones
//! recover on their own, and a hung modem never stalls the rest. Needs root.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ncmd, require_root};
use serde_json::Value;

const N: usize = 16;

struct Modem {
    tty: PathBuf,
    control: PathBuf,
    info: Value,
    sim: Child,
}

struct Fleet {
    dir: PathBuf,
    netns: String,
    modems: Vec<Modem>,
    daemon: Option<Child>,
    control: PathBuf,
}

impl Fleet {
    fn new() -> Fleet {
        let id = std::process::id();
        let dir = std::env::temp_dir().join(format!("ncmd-many-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let netns = format!("ncmd-many-{id}");
        let out = Command::new("ip").args(["netns", "add", &netns]).output().expect("ip netns add");
        assert!(out.status.success(), "cannot make namespace {netns}: {}", String::from_utf8_lossy(&out.stderr));
        let mut fleet = Fleet { control: dir.join("ncmd.sock"), dir, netns, modems: vec![], daemon: None };
        for i in 0..N {
            let tty = fleet.dir.join(format!("tty{i}"));
            let control = fleet.dir.join(format!("sim{i}.sock"));
            let mut sim = Command::new(ncmd())
                .args(["sim", "--vendor", "huawei", "--latency-scale", "0", "--seed", &i.to_string()])
                .arg("--tty-link")
                .arg(&tty)
                .arg("--control")
                .arg(&control)
                .args(["--netns", &fleet.netns, "--ifname", &format!("wwan{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start ncmd sim");
            let mut line = String::new();
            BufReader::new(sim.stdout.take().expect("piped")).read_line(&mut line).expect("the simulator's first line");
            let info: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("simulator {i} printed {line:?}: {e}"));
            fleet.modems.push(Modem { tty, control, info, sim });
        }
        fleet
    }

    fn config(&self) -> PathBuf {
        let mut text = String::from("config interface 'loopback'\n\toption proto 'static'\n");
        for (i, m) in self.modems.iter().enumerate() {
            text += &format!(
                "\nconfig interface 'wwan{i}'\n\toption proto 'ncm'\n\toption device '{}'\n\toption ifname 'wwan{i}'\n\toption apn 'internet'\n\toption linksettle '0'\n\toption metric '{}'\n\toption watch_interval '1'\n\toption probe_interval '2'\n\toption probe_timeout '1'\n\toption probe_count '2'\n\toption backoff_max '2'\n\tlist probe_hosts '{}'\n",
                m.tty.display(),
                10 + i,
                m.info["ping_target"].as_str().expect("ping_target"),
            );
        }
        let path = self.dir.join("network");
        std::fs::write(&path, text).expect("write config");
        path
    }

    fn up(&mut self) {
        let cfg = self.config();
        let log = std::fs::File::create(self.dir.join("ncmd.log")).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(ncmd())
            .args(["-v", "up", "--config"])
            .arg(&cfg)
            .arg("--control")
            .arg(&self.control)
            .arg("--state-dir")
            .arg(self.dir.join("state"))
            .env("NCMD_TEST_SCALE_MS", "50")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ncmd up");
        self.daemon = Some(child);
    }

    /// Status of every interface, by index.
    fn status(&self) -> Vec<Value> {
        let out = Command::new(ncmd()).args(["status", "--json", "--control"]).arg(&self.control).output().expect("ncmd status");
        let all: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let mut v = vec![Value::Null; N];
        for s in all.as_array().into_iter().flatten() {
            if let Some(i) = s["interface"].as_str().and_then(|n| n.strip_prefix("wwan")).and_then(|n| n.parse::<usize>().ok()) {
                if i < N {
                    v[i] = s.clone();
                }
            }
        }
        v
    }

    fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let t0 = Instant::now();
        loop {
            let s = self.status();
            if cond(&s) {
                return s;
            }
            if t0.elapsed() > limit {
                let states: Vec<String> = s.iter().map(|x| format!("{}:{}", x["interface"], x["state"])).collect();
                panic!("{what} not reached within {limit:?}; states: {}", states.join(" "));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn fault(&self, i: usize, name: &str) {
        let mut s = UnixStream::connect(&self.modems[i].control).expect("simulator control socket");
        s.write_all(format!("fault {name}\n").as_bytes()).expect("send fault");
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("simulator reply");
        assert!(line.contains("\"ok\":true"), "fault {name} on modem {i}: {line}");
    }

    fn ping(&self, i: usize) -> bool {
        let target = self.modems[i].info["ping_target"].as_str().unwrap_or("").to_string();
        Command::new("ip")
            .args(["netns", "exec", &self.netns, "ping", "-c", "1", "-W", "2", "-I", &format!("wwan{i}"), &target])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(d) = &mut self.daemon {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let _ = d.wait();
        }
        for m in &mut self.modems {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(m.sim.id() as i32), nix::sys::signal::Signal::SIGTERM);
        }
        for m in &mut self.modems {
            let _ = m.sim.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn reconnects(s: &Value) -> u64 {
    s["connection"]["reconnects"].as_u64().unwrap_or(0)
}

#[test]
fn sixteen_modems_connect_and_recover_independently() {
    require_root();
    let mut fleet = Fleet::new();
    let t0 = Instant::now();
    fleet.up();
    fleet.wait("all 16 up", Duration::from_secs(60), |s| s.iter().all(|x| x["state"] == "up"));
    eprintln!("16 modems up in {:.2} s", t0.elapsed().as_secs_f64());
    for i in 0..N {
        assert!(fleet.ping(i), "no ping through wwan{i}");
    }

    // One hangs (and stays hung for a while); three others fail in other ways.
    let hung = 3;
    let faulted = [(5, "reset"), (9, "drop-urc"), (12, "drop-silent")];
    fleet.fault(hung, "hang");
    let t1 = Instant::now();
    for (i, f) in faulted {
        fleet.fault(i, f);
    }
    // The others recover while the hung modem still hangs.
    let s = fleet.wait("faulted modems recovered beside a hung one", Duration::from_secs(30), |s| faulted.iter().all(|&(i, _)| s[i]["state"] == "up" && reconnects(&s[i]) >= 1));
    let recovered_in = t1.elapsed();
    eprintln!("reset, drop-urc and drop-silent recovered in {:.2} s beside a hung modem", recovered_in.as_secs_f64());
    assert!(recovered_in < Duration::from_secs(10), "the hung modem slowed the others: {recovered_in:?}");
    for i in (0..N).filter(|i| *i != hung && !faulted.iter().any(|(f, _)| f == i)) {
        assert_eq!(s[i]["state"], "up", "wwan{i} was disturbed: {}", s[i]);
        assert_eq!(reconnects(&s[i]), 0, "wwan{i} reconnected though nothing happened to it: {}", s[i]);
    }
    for (i, _) in faulted {
        assert!(fleet.ping(i), "no ping through wwan{i} after its recovery");
    }

    // The hung one: noticed, and back once the modem answers again.
    fleet.wait("the hang noticed", Duration::from_secs(30), |s| reconnects(&s[hung]) >= 1);
    fleet.fault(hung, "unhang");
    let s = fleet.wait("the hung modem back", Duration::from_secs(45), |s| s[hung]["state"] == "up");
    assert!(s[hung]["counters"]["reconnects_by_cause"]["modem-hung"].as_u64() >= Some(1), "{}", s[hung]);
    assert!(fleet.ping(hung), "no ping through wwan{hung} after the hang");
    let s = fleet.status();
    assert!(s.iter().all(|x| x["state"] == "up"), "not all up at the end");
}
