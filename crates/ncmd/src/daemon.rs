//! The daemon: one supervisor (a [`Session`] task) per configured interface, the control
//! socket that answers `status`/`down`/`at`, and clean shutdown on SIGTERM/SIGINT.
//!
//! Owns the wiring between sessions and the outside. Each session runs in its own task,
//! so one modem's failure or slowness never stalls another. Must not know about AT
//! syntax or netlink.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ncmd_config::Spec;
use tokio::sync::mpsc;

use crate::connector::RealConnector;
use crate::control::{self, Handler, Reply, Request};
use crate::session::{Command, Policy, Session, StatusCell};
use crate::store::Store;

#[derive(clap::Args)]
pub struct UpArgs {
    /// Interfaces to bring up (UCI section names); none = every `proto 'ncm'` interface.
    pub interfaces: Vec<String>,
    /// UCI network configuration.
    #[arg(long, default_value = "/etc/config/network")]
    pub config: PathBuf,
    /// Control socket (default /run/ncmd/ncmd.sock).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Directory for persistent state (rejected PINs).
    #[arg(long, default_value = "/var/lib/ncmd")]
    pub state_dir: PathBuf,
    /// Root of sysfs (for tests).
    #[arg(long, default_value = "/sys", hide = true)]
    pub sysfs_root: PathBuf,
}

pub struct Options {
    pub control: PathBuf,
    pub state_dir: PathBuf,
    pub netifd: bool,
    pub sysfs_root: PathBuf,
    /// Configure no real interface (the demo without network namespaces).
    pub dry_run: bool,
}

/// What the control socket can reach of one session.
pub struct Supervised {
    pub status: StatusCell,
    pub commands: mpsc::Sender<Command>,
    /// The session's AT channel while a modem is open (for `ncmd at` through the daemon).
    pub port: Arc<Mutex<Option<ncmd_at::AtChannel>>>,
}

struct Daemon {
    sessions: BTreeMap<String, Supervised>,
}

impl Handler for Daemon {
    async fn handle(&self, req: Request) -> Reply {
        match req {
            Request::Status { interface } => {
                let list: Vec<_> = self
                    .sessions
                    .iter()
                    .filter(|(name, _)| interface.as_ref().is_none_or(|i| i == *name))
                    .map(|(_, s)| s.status.snapshot())
                    .collect();
                if list.is_empty() {
                    if let Some(i) = interface {
                        return Reply::err(format!("no interface {i} in this daemon; it runs: {}", self.names()));
                    }
                }
                Reply::ok(serde_json::to_value(list).unwrap_or_default())
            }
            Request::Down { interface } => self.send(&interface, Command::Down).await,
            Request::Reconnect { interface } => self.send(&interface, Command::Reconnect).await,
            Request::At { interface, command, timeout_ms } => {
                let Some(s) = self.sessions.get(&interface) else {
                    return Reply::err(format!("no interface {interface} in this daemon; it runs: {}", self.names()));
                };
                let port = s.port.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let Some(port) = port else { return Reply::err(format!("{interface}: the modem's port is not open right now")) };
                match port.command(&command, Duration::from_millis(timeout_ms)).await {
                    Ok(r) => Reply::ok(serde_json::json!(r.lines)),
                    Err(e) => Reply::err(e.to_string()),
                }
            }
        }
    }
}

impl Daemon {
    fn names(&self) -> String {
        self.sessions.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    async fn send(&self, interface: &str, c: Command) -> Reply {
        match self.sessions.get(interface) {
            Some(s) => match s.commands.send(c).await {
                Ok(()) => Reply::ok(serde_json::Value::Null),
                Err(_) => Reply::err(format!("{interface} is already down")),
            },
            None => Reply::err(format!("no interface {interface} in this daemon; it runs: {}", self.names())),
        }
    }
}

/// `ncmd up`: loads the UCI file and runs the chosen interfaces.
pub async fn up(args: UpArgs) -> Result<(), crate::Error> {
    let config = ncmd_config::load(&args.config)?;
    for e in &config.errors {
        eprintln!("ncmd: {e}");
    }
    let specs: Vec<Spec> = if args.interfaces.is_empty() {
        if config.specs.is_empty() {
            return Err(format!("{} has no interface with option proto 'ncm'", args.config.display()).into());
        }
        config.specs.clone()
    } else {
        args.interfaces.iter().map(|i| config.interface(i).cloned()).collect::<Result<_, _>>()?
    };
    run_specs(
        specs,
        Options { control: args.control.unwrap_or_else(control::default_path), state_dir: args.state_dir, netifd: false, sysfs_root: args.sysfs_root, dry_run: false },
    )
    .await
}

/// Turns a Spec into the session's time policy.
pub fn policy_for(spec: &Spec) -> Policy {
    let mut p = Policy { delay: spec.delay, backoff_max: spec.backoff_max, ..Policy::default() };
    if !spec.attachwait.is_zero() {
        p.register = spec.attachwait;
    }
    if !spec.watch_interval.is_zero() {
        p.watch = spec.watch_interval;
    } else {
        p.watch = Duration::from_secs(24 * 3600);
    }
    if let Ok(ms) = std::env::var("NCMD_TEST_SCALE_MS") {
        // Tests against the zero-latency simulator shrink the polling periods.
        if let Ok(ms) = ms.parse::<u64>() {
            p.poll = Duration::from_millis(ms);
            p.backoff_min = Duration::from_millis(ms * 4);
        }
    }
    p
}

pub async fn run_specs(specs: Vec<Spec>, opts: Options) -> Result<(), crate::Error> {
    let mut sessions = BTreeMap::new();
    let mut tasks = Vec::new();
    for spec in specs {
        let status = StatusCell::new(spec.interface(), &spec.device.display().to_string());
        let (tx, rx) = mpsc::channel(8);
        let port = Arc::new(Mutex::new(None));
        if opts.netifd {
            status.on_failure(Arc::new({
                let iface = spec.interface().to_string();
                move |f: &crate::session::Failure| {
                    let iface = iface.clone();
                    let code = f.code;
                    tokio::spawn(async move {
                        use crate::session::Effect;
                        crate::netifd::notify_error(&iface, code.as_str(), code.effect() == Effect::WaitDevice, code.effect() == Effect::Block).await;
                    });
                }
            }));
        }
        let store = Store::new(&opts.state_dir, spec.interface(), spec.pincode.as_ref().map(|p| p.expose()));
        let session = Session {
            connector: RealConnector::new(spec.clone(), opts.sysfs_root.clone(), port.clone(), opts.netifd, opts.dry_run),
            policy: policy_for(&spec),
            status: status.clone(),
            commands: rx,
            store: Some(store),
        };
        tasks.push(tokio::spawn(session.run()));
        sessions.insert(spec.interface().to_string(), Supervised { status, commands: tx, port });
    }
    let senders: Vec<_> = sessions.values().map(|s| s.commands.clone()).collect();
    let daemon = Arc::new(Daemon { sessions });
    let server = control::serve(&opts.control, daemon.clone()).await?;

    let all_done = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    tokio::pin!(all_done);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = &mut all_done => {}
        _ = term.recv() => shutdown(&senders, &mut all_done).await,
        _ = tokio::signal::ctrl_c() => shutdown(&senders, &mut all_done).await,
    }
    server.abort();
    let _ = std::fs::remove_file(&opts.control);
    Ok(())
}

/// Asks every session to go down and waits (netifd kills a teardown after 5 s).
async fn shutdown(senders: &[mpsc::Sender<Command>], all_done: &mut (impl std::future::Future<Output = ()> + Unpin)) {
    for s in senders {
        let _ = s.send(Command::Down).await;
    }
    if tokio::time::timeout(Duration::from_secs(4), all_done).await.is_err() {
        tracing::warn!("sessions did not finish disconnecting within 4 s");
    }
}
