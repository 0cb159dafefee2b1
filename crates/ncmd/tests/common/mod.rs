//! A lab for tests of the `ncmd` binary: a simulated modem (`ncmd sim`, real pty) and,
//! for system tests, its data link in network namespaces the lab makes itself. Every
//! process and namespace is removed on drop. Nothing here touches the machine's own
//! network namespace or sends traffic anywhere but inside the lab.
#![allow(dead_code)]

pub mod procfs;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn ncmd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ncmd"))
}

/// System tests need root and iproute2; say so loudly instead of skipping.
pub fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "this system test needs root (network namespaces); run the tests as root, as CI does");
    let ip = Command::new("ip").arg("-V").output();
    assert!(ip.is_ok_and(|o| o.status.success()), "this system test needs iproute2 (`ip`); run .ci/install-deps.sh");
}

static N: AtomicU32 = AtomicU32::new(0);

pub struct SimSpec<'a> {
    pub vendor: &'a str,
    pub netns: bool,
    pub dhcp: bool,
    pub extra: Vec<String>,
}

impl Default for SimSpec<'_> {
    fn default() -> Self {
        SimSpec { vendor: "huawei", netns: true, dhcp: false, extra: vec![] }
    }
}

pub struct Lab {
    pub dir: PathBuf,
    pub tty: PathBuf,
    pub sim_control: PathBuf,
    pub control: PathBuf,
    pub netns: Option<String>,
    /// The simulator's JSON line (with a data link) or tty path.
    pub sim_info: Value,
    sim: Child,
    daemons: Vec<Child>,
}

impl Lab {
    pub fn new(spec: SimSpec) -> Lab {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("ncmd-test-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tty = dir.join("tty");
        let sim_control = dir.join("sim.sock");
        let netns = spec.netns.then(|| format!("ncmd-r-{id}"));
        let mut cmd = Command::new(ncmd());
        cmd.args(["sim", "--vendor", spec.vendor, "--latency-scale", "0"]).arg("--tty-link").arg(&tty).arg("--control").arg(&sim_control);
        if let Some(ns) = &netns {
            cmd.args(["--netns", ns]);
        }
        if spec.dhcp {
            cmd.arg("--dhcp");
        }
        cmd.args(&spec.extra);
        let mut sim = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start ncmd sim");
        let mut line = String::new();
        BufReader::new(sim.stdout.take().unwrap()).read_line(&mut line).expect("read the simulator's first line");
        assert!(!line.is_empty(), "ncmd sim printed nothing");
        let sim_info = serde_json::from_str(line.trim()).unwrap_or(Value::String(line.trim().to_string()));
        Lab { control: dir.join("ncmd.sock"), dir, tty, sim_control, netns, sim_info, sim, daemons: vec![] }
    }

    pub fn ping_target(&self) -> String {
        self.sim_info["ping_target"].as_str().unwrap_or("").to_string()
    }

    /// A UCI file for interface `wwan` on this lab's modem, plus `extra` option lines.
    pub fn config(&self, extra: &str) -> PathBuf {
        let probe = if self.netns.is_some() { format!("\tlist probe_hosts '{}'\n", self.ping_target()) } else { "\toption probe_interval '0'\n".into() };
        let text = format!(
            "config interface 'loopback'\n\toption proto 'static'\n\nconfig interface 'wwan'\n\toption proto 'ncm'\n\toption device '{}'\n\toption ifname 'wwan0'\n\toption linksettle '0'\n{probe}{extra}",
            self.tty.display()
        );
        let path = self.dir.join("network");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `ncmd up wwan` (inside the lab's router namespace when there is one).
    pub fn up(&mut self, config: &Path, stderr: Option<&Path>) -> usize {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(ncmd());
                c
            }
            None => Command::new(ncmd()),
        };
        cmd.args(["-vv", "up", "wwan", "--config"]).arg(config).arg("--control").arg(&self.control).arg("--state-dir").arg(self.dir.join("state"));
        cmd.env("NCMD_TEST_SCALE_MS", "50");
        cmd.stdout(Stdio::null());
        match stderr {
            Some(p) => cmd.stderr(std::fs::File::create(p).unwrap()),
            None => cmd.stderr(Stdio::inherit()),
        };
        self.daemons.push(cmd.spawn().expect("start ncmd up"));
        self.daemons.len() - 1
    }

    /// Process id of daemon `i` (`ip netns exec` execs ncmd, so it is ncmd's own).
    pub fn pid(&self, i: usize) -> u32 {
        self.daemons[i].id()
    }

    /// Output of `ncmd CMD... --control <lab socket>`.
    pub fn ncmd(&self, args: &[&str]) -> std::process::Output {
        Command::new(ncmd()).args(args).arg("--control").arg(&self.control).output().unwrap()
    }

    pub fn status(&self) -> Option<Value> {
        let out = self.ncmd(&["status", "--json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice::<Value>(&out.stdout).ok()?.get(0).cloned()
    }

    /// Waits until the daemon's state is `state`; panics with the last status after `limit`.
    pub fn wait_state(&self, state: &str, limit: Duration) -> Value {
        let t0 = Instant::now();
        let mut last = None;
        while t0.elapsed() < limit {
            if let Some(s) = self.status() {
                if s["state"] == state {
                    return s;
                }
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("state {state} not reached within {limit:?}; last status: {}", last.map(|s| s.to_string()).unwrap_or_default());
    }

    /// Waits for a condition on the status.
    pub fn wait_status(&self, what: &str, limit: Duration, cond: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        let mut last = None;
        while t0.elapsed() < limit {
            if let Some(s) = self.status() {
                if cond(&s) {
                    return s;
                }
                last = Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{what} not seen within {limit:?}; last status: {}", last.map(|s| s.to_string()).unwrap_or_default());
    }

    /// One request to the simulator's control socket.
    pub fn sim(&self, request: &str) -> Value {
        let mut s = UnixStream::connect(&self.sim_control).expect("simulator control socket");
        s.write_all(format!("{request}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }

    /// Waits for daemon `i` to exit; returns its status.
    pub fn wait_exit(&mut self, i: usize, limit: Duration) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.daemons[i].try_wait().unwrap() {
                return st;
            }
            assert!(t0.elapsed() < limit, "ncmd did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn terminate(&mut self, i: usize) {
        let pid = nix::unistd::Pid::from_raw(self.daemons[i].id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        self.wait_exit(i, Duration::from_secs(10));
    }

    /// `ip -n <router> ...` output.
    pub fn ip(&self, args: &[&str]) -> String {
        let ns = self.netns.as_ref().expect("lab without namespace");
        let out = Command::new("ip").args(["-n", ns]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Ping from the router namespace through wwan0 (iputils-ping, installed by CI).
    pub fn ping(&self, target: &str) -> bool {
        let ns = self.netns.as_ref().expect("lab without namespace");
        Command::new("ip").args(["netns", "exec", ns, "ping", "-c", "1", "-W", "2", "-I", "wwan0", target]).output().is_ok_and(|o| o.status.success())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let _ = d.wait();
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.sim.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let _ = self.sim.wait();
        if let Some(ns) = &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
