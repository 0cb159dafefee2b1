//! ncmd: brings a cellular modem in NCM mode up as a WAN link and keeps it up.
//!
//! This file is the edge: the command line (DESIGN.md "Command line"), logging, and the
//! one place where errors become a one-line message and an exit status (0 success,
//! 1 failure, 2 usage error).

mod bench;
mod connector;
mod control;
mod daemon;
mod datapath;
mod demo;
mod doctor;
mod hotplug;
mod info;
#[cfg(feature = "web")]
mod metrics;
mod modem;
mod netifd;
mod session;
mod status;
mod store;
#[cfg(feature = "web")]
mod web;

#[cfg(test)]
#[path = "session_tests.rs"]
mod session_tests;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ncmd", version, about = "Brings a cellular modem in NCM mode up as a WAN link and keeps it up")]
struct Cli {
    /// More log output (-v info, -vv debug with AT traffic; secrets are always masked).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a simulated modem and connect through it, end to end (nothing to install).
    Demo(demo::DemoArgs),
    /// Bring UCI interfaces with proto 'ncm' up and keep them up (foreground daemon).
    Up(daemon::UpArgs),
    /// Disconnect an interface of the running daemon and release it.
    Down {
        interface: String,
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// Drop an interface's link and connect again now (lifts a block, as `ifup` does).
    Reconnect {
        interface: String,
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// Re-read an interface's settings from the UCI file and reconnect with them.
    Reload {
        interface: String,
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// Show what the running daemon knows.
    Status {
        interface: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        control: Option<PathBuf>,
    },
    /// One-shot read of a modem: identity, SIM, signal, registration, operator, mode, PDP, connection
    /// (from the running daemon when it owns the port).
    Info {
        #[arg(long)]
        device: PathBuf,
        #[arg(long)]
        json: bool,
        /// Per-command timeout in seconds.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Send raw AT commands and print the replies.
    At {
        #[arg(long)]
        device: PathBuf,
        /// Per-command timeout in seconds.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// Find modems and say what is missing (drivers, packages, mode, ports) and what to do.
    Doctor(doctor::DoctorArgs),
    /// Run a simulated modem on a pseudo-terminal.
    Sim(demo::SimArgs),
    /// Measure ncmd against the simulator and print figures.
    Bench(bench::BenchArgs),
    /// OpenWrt proto handler entry (called by /lib/netifd/proto/ncm.sh).
    #[command(hide = true)]
    Netifd(netifd::NetifdArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The demo and the bench print their own story; logs only when asked for.
    let quiet = matches!(cli.command, Cmd::Demo(_) | Cmd::Bench(_));
    init_logging(cli.verbose, quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ncmd: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ncmd: {e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match verbose {
        0 if quiet => "error",
        0 => "warn,ncmd=info",
        1 => "info",
        _ => "debug",
    };
    // `Targets` ("warn,ncmd=debug") rather than EnvFilter: no regex engine in the binary.
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter: tracing_subscriber::filter::Targets = match std::env::var("NCMD_LOG").ok().map(|s| s.parse()) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("ncmd: ignoring NCMD_LOG ({e}); use e.g. NCMD_LOG=warn,ncmd=debug");
            default.parse().unwrap_or_default()
        }
        None => default.parse().unwrap_or_default(),
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false))
        .with(filter)
        .init();
}

/// The error at the edge: one readable line.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

async fn run(cmd: Cmd) -> Result<(), Error> {
    match cmd {
        Cmd::Demo(a) => demo::run(a).await,
        Cmd::Up(a) => daemon::up(a).await,
        Cmd::Down { interface, control } => {
            ask(control, control::Request::Down { interface: interface.clone() }).await?;
            println!("{interface}: down");
            Ok(())
        }
        Cmd::Reconnect { interface, control } => {
            ask(control, control::Request::Reconnect { interface: interface.clone() }).await?;
            println!("{interface}: reconnecting");
            Ok(())
        }
        Cmd::Reload { interface, control } => {
            ask(control, control::Request::Reload { interface: interface.clone() }).await?;
            println!("{interface}: settings reloaded; reconnecting");
            Ok(())
        }
        Cmd::Status { interface, json, control } => {
            let data = ask(control, control::Request::Status { interface }).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                let list: Vec<status::InterfaceStatus> = serde_json::from_value(data)?;
                for s in &list {
                    print!("{}", info::render_interface(s));
                }
            }
            Ok(())
        }
        Cmd::Info { device, json, timeout } => {
            // One owner of the port: while a daemon runs on this modem, ask it.
            let st = match info::daemon_owning(&device).await {
                Some((interface, path)) => {
                    let data = ask(Some(path), control::Request::Status { interface: Some(interface) }).await?;
                    let list: Vec<status::InterfaceStatus> = serde_json::from_value(data)?;
                    list.into_iter().next().map(|s| s.modem).ok_or("the daemon returned no status for the interface")?
                }
                None => {
                    let chan = ncmd_at::AtChannel::open(&device).await?;
                    info::read(&chan, &device.display().to_string(), secs(timeout)).await
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print!("{}", info::render(&st));
            }
            Ok(())
        }
        Cmd::At { device, timeout, commands } => info::raw_at(&device, secs(timeout), &commands).await,
        Cmd::Doctor(a) => doctor::run(a).await,
        Cmd::Sim(a) => demo::run_sim(a).await,
        Cmd::Bench(a) => bench::run(a).await,
        Cmd::Netifd(a) => netifd::run(a).await,
    }
}

/// One request to the daemon; its error becomes ours.
async fn ask(control: Option<PathBuf>, req: control::Request) -> Result<serde_json::Value, Error> {
    let path = control.unwrap_or_else(control::default_path);
    let reply = control::request(&path, &req).await?;
    if !reply.ok {
        return Err(reply.error.unwrap_or_default().into());
    }
    Ok(reply.data)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.01, 3600.0))
}
