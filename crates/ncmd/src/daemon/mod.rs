//! The daemon: one supervisor (a [`Session`] task) per configured interface, the control
//! socket that answers `status`/`down`/`reconnect`/`at`, the optional HTTP listeners
//! (metrics and status page, feature `web`), and clean shutdown on SIGTERM/SIGINT.
//!
//! Owns the wiring between sessions and the outside. Each session runs in its own task,
//! so one modem's failure or slowness never stalls another. Must not know about AT
//! syntax or netlink.

pub mod connector;
pub mod hotplug;
pub mod share;
#[cfg(feature = "ubus")]
pub mod ubus;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ncmd_config::Spec;
use tokio::sync::mpsc;

use crate::daemon::connector::RealConnector;
use crate::control::{self, Handler, Reply, Request};
use crate::session::{Command, Policy, Session, StatusCell};
use crate::session::pin_store::Store;

/// The HTTP listeners of the `web` feature (none: both off).
#[derive(Default)]
pub struct Observe {
    #[cfg(feature = "web")]
    pub metrics: Option<std::net::SocketAddr>,
    #[cfg(feature = "web")]
    pub web: Option<std::net::SocketAddr>,
    /// The UCI file the page's settings form edits.
    #[cfg(feature = "web")]
    pub config: Option<PathBuf>,
    /// Host names the page and metrics may be addressed by, besides `localhost` and IP
    /// literals (`option web_hosts`, `--web-host`).
    #[cfg(feature = "web")]
    pub hosts: Vec<String>,
    /// The ubus object to publish (none: off).
    #[cfg(feature = "ubus")]
    pub ubus: Option<ubus::Publish>,
}

pub struct Options {
    pub control: PathBuf,
    /// The UCI file the specs came from (for `reload`); none under netifd.
    pub config: Option<PathBuf>,
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
    /// The settings the next connection attempt uses (replaced by `reload`).
    pub spec: Arc<Mutex<Spec>>,
    pub store: Store,
}

struct Daemon {
    sessions: BTreeMap<String, Supervised>,
    /// The UCI file `reload` reads (none under netifd, which passes the settings).
    config: Option<PathBuf>,
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
            Request::Reload { interface } => self.reload(&interface).await,
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
    /// Re-reads the interface from the UCI file (validated as at start) and reconnects
    /// with it. Timing options (delay, watch, backoff) keep their start values.
    async fn reload(&self, interface: &str) -> Reply {
        let Some(s) = self.sessions.get(interface) else {
            return Reply::err(format!("no interface {interface} in this daemon; it runs: {}", self.names()));
        };
        let Some(path) = &self.config else { return Reply::err("this daemon's settings come from netifd: use ifup") };
        let spec = match ncmd_config::load(path).and_then(|c| c.interface(interface).cloned()) {
            Ok(spec) => spec,
            Err(e) => return Reply::err(e.to_string()),
        };
        s.store.set_pin(spec.pincode.as_ref().map(|p| p.expose()));
        *s.spec.lock().unwrap_or_else(|e| e.into_inner()) = spec;
        s.status.event("reload", format!("settings reloaded from {}", path.display()));
        self.send(interface, Command::Reconnect).await
    }

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

/// Turns a Spec into the session's time policy; `netifd`: run as netifd's proto task.
pub fn policy_for(spec: &Spec, netifd: bool) -> Policy {
    let user_command = if netifd { format!("ifup {}", spec.interface()) } else { format!("ncmd up {}", spec.interface()) };
    let mut p = Policy { delay: spec.delay, backoff_max: spec.backoff_max, user_command, end_on_block: netifd, ..Policy::default() };
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

/// Runs given interfaces (the demo and the bench, which make their own specs).
#[cfg(feature = "sim")]
pub async fn run_specs(specs: Vec<Spec>, opts: Options) -> Result<(), crate::Error> {
    run_observed(specs, opts, Observe::default()).await
}

/// Runs the sessions, the control socket and the listeners `observe` asks for.
pub async fn run_observed(specs: Vec<Spec>, opts: Options, observe: Observe) -> Result<(), crate::Error> {
    let mut sessions = BTreeMap::new();
    let mut runs = Vec::new();
    // netifd notifications still under way: awaited before the process ends, so that a
    // session ended by a blocking failure leaves its code in netifd.
    let notifications: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Default::default();
    for spec in specs {
        let status = StatusCell::new(spec.interface(), &spec.device.display().to_string());
        let (tx, rx) = mpsc::channel(8);
        let port = Arc::new(Mutex::new(None));
        if opts.netifd {
            status.on_failure(Arc::new({
                let iface = spec.interface().to_string();
                let notifications = notifications.clone();
                move |f: &crate::session::Failure| {
                    let iface = iface.clone();
                    let code = f.code;
                    let task = tokio::spawn(async move {
                        use crate::session::Effect;
                        crate::session::datapath::netifd::notify_error(&iface, code.as_str(), code.effect() == Effect::WaitDevice, code.effect() == Effect::Block).await;
                    });
                    let mut pending = notifications.lock().unwrap_or_else(|e| e.into_inner());
                    pending.retain(|t| !t.is_finished());
                    pending.push(task);
                }
            }));
        }
        let store = Store::new(&opts.state_dir, spec.interface(), spec.pincode.as_ref().map(|p| p.expose()));
        let shared = Arc::new(Mutex::new(spec.clone()));
        let share = share::start(&spec)?;
        let links: Vec<String> = share.iter().flat_map(|s| s.links().iter().map(|(l, _)| l.display().to_string())).collect();
        status.update(|s| s.share_ports = links);
        let session = Session {
            connector: RealConnector::new(shared.clone(), opts.sysfs_root.clone(), port.clone(), opts.netifd, opts.dry_run).with_share(share),
            policy: policy_for(&spec, opts.netifd),
            status: status.clone(),
            commands: rx,
            store: Some(store.clone()),
        };
        runs.push(session);
        sessions.insert(spec.interface().to_string(), Supervised { status, commands: tx, port, spec: shared, store });
    }
    let senders: Vec<_> = sessions.values().map(|s| s.commands.clone()).collect();
    let daemon = Arc::new(Daemon { sessions, config: opts.config.clone() });
    let server = control::serve(&opts.control, daemon.clone()).await?;
    let http = match start_http(&observe, &opts, daemon.clone()).await {
        #[cfg(feature = "ubus")]
        Ok(mut h) => {
            h.extend(observe.ubus.clone().map(|p| ubus::spawn(p, daemon.clone())));
            h
        }
        #[cfg(not(feature = "ubus"))]
        Ok(h) => h,
        Err(e) => {
            server.abort();
            let _ = std::fs::remove_file(&opts.control);
            return Err(e);
        }
    };
    // Sessions start once every listener is bound: a bad address touches no modem.
    let tasks: Vec<_> = runs.into_iter().map(|s| tokio::spawn(s.run())).collect();

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
    let pending: Vec<_> = std::mem::take(&mut *notifications.lock().unwrap_or_else(|e| e.into_inner()));
    for t in pending {
        let _ = t.await;
    }
    server.abort();
    for h in http {
        h.abort();
    }
    let _ = std::fs::remove_file(&opts.control);
    let _ = std::fs::remove_file(token_path(&opts.control));
    Ok(())
}

/// Where the web page's change token is written: beside the control socket
/// (`/run/ncmd/ncmd.token` by default), mode 0600.
pub fn token_path(control: &std::path::Path) -> PathBuf {
    control.with_extension("token")
}

#[cfg(feature = "web")]
async fn start_http(observe: &Observe, opts: &Options, daemon: Arc<Daemon>) -> Result<Vec<tokio::task::JoinHandle<()>>, crate::Error> {
    use crate::expose::web::{self, Site, WebState};
    let mut handles = Vec::new();
    if observe.metrics.is_none() && observe.web.is_none() {
        return Ok(handles);
    }
    let token = web::new_token()?;
    let state = Arc::new(WebState::new(token.clone(), observe.config.clone(), observe.hosts.clone()));
    if let Some(addr) = observe.metrics {
        handles.push(web::serve(addr, Site::Metrics, daemon.clone(), state.clone()).await?);
        tracing::info!("Prometheus metrics on http://{addr}/metrics");
    }
    if let Some(addr) = observe.web {
        if !addr.ip().is_loopback() {
            tracing::warn!("the status page listens on {addr}, beyond loopback: anyone who can reach it can read the status (changes still need the token)");
        }
        let path = token_path(&opts.control);
        web::write_token(&path, &token)?;
        handles.push(web::serve(addr, Site::Page, daemon.clone(), state.clone()).await?);
        // The token's value never goes to the log: only where to read it.
        tracing::info!("status page on http://{addr}/ ; changes need the token in {} (root only): open http://{addr}/#token=<token>", path.display());
        let every = std::env::var("NCMD_TEST_SCALE_MS").ok().and_then(|ms| ms.parse::<u64>().ok()).map(|ms| Duration::from_millis(ms * 10)).unwrap_or(Duration::from_secs(5));
        handles.push(web::spawn_sampler(daemon, state, every));
    }
    Ok(handles)
}

#[cfg(not(feature = "web"))]
async fn start_http(_observe: &Observe, _opts: &Options, _daemon: Arc<Daemon>) -> Result<Vec<tokio::task::JoinHandle<()>>, crate::Error> {
    Ok(Vec::new())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_sits_beside_the_control_socket() {
        assert_eq!(token_path(std::path::Path::new("/run/ncmd/ncmd.sock")), PathBuf::from("/run/ncmd/ncmd.token"));
    }
}
