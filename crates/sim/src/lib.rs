//! ncmd-sim: a simulated cellular modem on a real pseudo-terminal, for demos and
//! tests (DESIGN.md "The simulator").
//!
//! Parts: `matcher` (its own AT command-line parser), `personality` (vendors as
//! data), `modem` (state and behaviour, no I/O), `overlay` (replayed transcripts),
//! `fault` (fault names), `engine` (event loop, the port on an `ncmd-pty`), `control`
//! (control socket), `datalink` (carrier side of the data interface in network
//! namespaces). This crate must not depend on `ncmd-at`: the simulator and the
//! client must not share a parser, so they cannot share a bug.

pub mod control;
pub mod datalink;
mod engine;
pub mod fault;
pub mod matcher;
pub mod modem;
pub mod overlay;
pub mod personality;
pub mod sms;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use engine::{DataLinkCmd, Engine, Msg, Shared};
pub use fault::{Fault, FaultAt, FaultParseError};
pub use modem::{Stats, Summary};

/// Everything a simulator run can be configured with.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Personality name, see [`vendors`].
    pub vendor: String,
    /// Overlay file replacing replies (see `overlay`).
    pub overlay: Option<PathBuf>,
    /// Faults injected after a delay from the start.
    pub faults: Vec<FaultAt>,
    /// Multiplies every latency; 0.0 answers at once (to measure ncmd's own overhead).
    pub latency_scale: f64,
    /// A symlink to the pty slave, kept pointing at the current port.
    pub tty_link: Option<PathBuf>,
    /// The SIM's correct PIN (default "1234").
    pub pin: Option<String>,
    /// Control socket path.
    pub control: Option<PathBuf>,
    /// Simulated data link in network namespaces.
    pub datalink: Option<datalink::DataLinkOptions>,
    /// Seed for garbage bytes.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            vendor: "huawei".into(),
            overlay: None,
            faults: Vec::new(),
            latency_scale: 1.0,
            tty_link: None,
            pin: None,
            control: None,
            datalink: None,
            seed: 1,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown modem personality '{name}'; choose one of: {known}")]
    UnknownVendor { name: String, known: String },
    #[error("latency scale {0} is not usable; give a finite number >= 0 (0 = no latency)")]
    BadLatencyScale(f64),
    #[error("PIN must be 4 to 8 digits (got {len} characters)")]
    BadPin { len: usize },
    #[error(transparent)]
    Overlay(#[from] overlay::OverlayError),
    #[error("cannot start the simulated port: {0}")]
    Pty(#[from] ncmd_pty::PtyError),
    #[error("cannot open the control socket {path}: {source}; check the directory exists and no other simulator uses it")]
    Control {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up the simulated data link: {0}")]
    DataLink(#[from] datalink::DataLinkError),
}

/// Names of the available personalities.
pub fn vendors() -> &'static [&'static str] {
    personality::names()
}

/// A running simulated modem.
pub struct Simulator {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Msg>,
    engine: JoinHandle<()>,
    control: Option<(JoinHandle<()>, PathBuf)>,
    datalink: Option<(JoinHandle<()>, datalink::DataLinkInfo)>,
    link: Option<PathBuf>,
}

impl Simulator {
    /// Creates the port (and data link, control socket) and boots the modem.
    pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
        let personality =
            personality::find(&opts.vendor).ok_or_else(|| SimError::UnknownVendor {
                name: opts.vendor.clone(),
                known: vendors().join(", "),
            })?;
        if !opts.latency_scale.is_finite() || opts.latency_scale < 0.0 {
            return Err(SimError::BadLatencyScale(opts.latency_scale));
        }
        let pin = opts.pin.clone().unwrap_or_else(|| "1234".into());
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::BadPin { len: pin.len() });
        }
        let overlay = match &opts.overlay {
            Some(p) => overlay::Overlay::load(p)?,
            None => overlay::Overlay::default(),
        };
        let (dl_tx, datalink, ip) = match &opts.datalink {
            Some(o) => {
                let dl = datalink::DataLink::create(o).await?;
                let info = dl.info().clone();
                let ip = modem::IpConfig {
                    address: info.ipv4,
                    prefix_len: info.prefix_len,
                    gateway: info.gateway,
                    dns: info.dns.clone(),
                    ipv6: (info.ipv6, info.ipv6_prefix_len, info.ipv6_gateway),
                };
                let (tx, rx) = mpsc::unbounded_channel();
                (
                    Some(tx),
                    Some((tokio::spawn(datalink_task(dl, rx)), info)),
                    ip,
                )
            }
            None => (None, None, modem::IpConfig::default()),
        };
        let modem = modem::Modem::new(modem::Config {
            personality,
            pin,
            latency_scale: opts.latency_scale,
            overlay,
            ip,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (engine, shared) = Engine::start(
            modem,
            rx,
            opts.tty_link.clone(),
            dl_tx,
            &opts.faults,
            opts.seed,
        )?;
        let control = match &opts.control {
            Some(path) => {
                let listener = bind_control(path)?;
                let task = tokio::spawn(control::serve(listener, shared.clone(), tx.clone()));
                Some((task, path.clone()))
            }
            None => None,
        };
        let engine = tokio::spawn(engine.run());
        tracing::info!(vendor = personality.name, tty = %shared.slave().display(), "simulated modem started");
        Ok(Simulator {
            shared,
            tx,
            engine,
            control,
            datalink,
            link: opts.tty_link,
        })
    }

    /// The path a client opens: the link if one was asked for, else the pty slave.
    pub fn tty_path(&self) -> PathBuf {
        self.link.clone().unwrap_or_else(|| self.shared.slave())
    }

    /// The line `ncmd sim` prints first on stdout: the tty path, or with a data link
    /// one JSON object `{"tty","netns","interface","ipv4","gateway","ping_target"}`.
    pub fn ready_line(&self) -> String {
        let tty = self.tty_path();
        match &self.datalink {
            None => tty.display().to_string(),
            Some((_, i)) => serde_json::json!({
                "tty": tty,
                "netns": i.netns,
                "interface": i.ifname,
                "ipv4": i.ipv4,
                "gateway": i.gateway,
                "ping_target": i.ping_target,
            })
            .to_string(),
        }
    }

    /// Injects a fault now.
    pub fn inject(&self, f: Fault) {
        // Fails only after shutdown, when there is nothing left to fault.
        let _ = self.tx.send(Msg::Inject(f, None));
    }

    /// Counters and the redacted command log.
    pub fn stats(&self) -> Stats {
        self.shared.modem().stats()
    }

    /// A summary of the modem's state.
    pub fn summary(&self) -> Summary {
        self.shared.modem().summary()
    }

    /// Addresses of the simulated data link, when there is one.
    pub fn datalink_info(&self) -> Option<datalink::DataLinkInfo> {
        self.datalink.as_ref().map(|(_, i)| i.clone())
    }

    /// Runs until Ctrl-C or SIGTERM, then shuts down.
    pub async fn run_until_shutdown(self) {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let sigterm = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = sigterm => {},
        }
        self.shutdown().await;
    }

    /// Stops the modem, removes the link and control socket, tears the data link down.
    pub async fn shutdown(self) {
        let _ = self.tx.send(Msg::Shutdown);
        if let Err(e) = self.engine.await {
            tracing::error!("simulator engine ended abnormally: {e}");
        }
        if let Some((task, path)) = self.control {
            task.abort();
            let _ = std::fs::remove_file(path);
        }
        if let Some((task, _)) = self.datalink {
            // The engine dropped its sender; the task destroys the link and ends.
            if let Err(e) = task.await {
                tracing::error!("data link task ended abnormally: {e}");
            }
        }
    }
}

/// Binds the control socket, replacing a stale socket file (never another kind of file).
fn bind_control(path: &Path) -> Result<tokio::net::UnixListener, SimError> {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
    tokio::net::UnixListener::bind(path).map_err(|source| SimError::Control {
        path: path.to_path_buf(),
        source,
    })
}

/// Applies carrier and black-hole changes in order; destroys the link at the end.
async fn datalink_task(dl: datalink::DataLink, mut rx: mpsc::UnboundedReceiver<DataLinkCmd>) {
    while let Some(cmd) = rx.recv().await {
        let r = match &cmd {
            DataLinkCmd::Carrier(up) => dl.set_carrier(*up).await,
            DataLinkCmd::Blackhole(on) => dl.set_blackhole(*on).await,
            DataLinkCmd::Barrier(done) => {
                if let Some(done) = done.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    let _ = done.send(());
                }
                Ok(())
            }
        };
        if let Err(e) = r {
            tracing::warn!("simulated data link: {cmd:?} failed: {e}");
        }
    }
    if let Err(e) = dl.destroy().await {
        tracing::warn!("simulated data link: teardown failed: {e}");
    }
}
