//! The command line (DESIGN.md "Command line"): the subcommands and their arguments, one
//! thin file per subcommand. Each turns its arguments into calls of the daemon, the
//! control socket, the session's reads or the simulator, and prints the result.
//!
//! Must not hold logic of its own that `ncmd up` or netifd would need: that lives below.

mod at;
#[cfg(feature = "sim")]
mod bench;
#[cfg(feature = "sim")]
mod bench_share;
#[cfg(feature = "sim")]
mod demo;
mod doctor;
mod info;
mod lifecycle;
mod netifd;
#[cfg(feature = "sim")]
mod sim;
mod status;
mod up;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::{control, Error};

#[derive(Parser)]
#[command(name = "ncmd", version, about = "Brings a cellular modem in NCM mode up as a WAN link and keeps it up")]
pub struct Cli {
    /// More log output (-v info, -vv debug with AT traffic; secrets are always masked).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Run a simulated modem and connect through it, end to end (nothing to install).
    #[cfg(feature = "sim")]
    Demo(demo::DemoArgs),
    /// Bring UCI interfaces with proto 'ncm' up and keep them up (foreground daemon).
    Up(up::UpArgs),
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
        /// The PDP context whose connection and IP settings to show (UCI `profile`).
        #[arg(long, default_value_t = 1)]
        profile: u8,
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
    #[cfg(feature = "sim")]
    Sim(sim::SimArgs),
    /// Measure ncmd against the simulator and print figures.
    #[cfg(feature = "sim")]
    Bench(bench::BenchArgs),
    /// OpenWrt proto handler entry (called by /lib/netifd/proto/ncm.sh).
    #[command(hide = true)]
    Netifd(netifd::NetifdArgs),
}

impl Cmd {
    /// The demo and the bench print their own story; logs only when asked for.
    pub fn tells_its_own_story(&self) -> bool {
        #[cfg(feature = "sim")]
        if matches!(self, Cmd::Demo(_) | Cmd::Bench(_)) {
            return true;
        }
        false
    }
}

/// Runs one subcommand to its end.
pub async fn run(cmd: Cmd) -> Result<(), Error> {
    match cmd {
        #[cfg(feature = "sim")]
        Cmd::Demo(a) => demo::run(a).await,
        Cmd::Up(a) => up::up(a).await,
        Cmd::Down { interface, control } => lifecycle::down(interface, control).await,
        Cmd::Reconnect { interface, control } => lifecycle::reconnect(interface, control).await,
        Cmd::Reload { interface, control } => lifecycle::reload(interface, control).await,
        Cmd::Status { interface, json, control } => status::run(interface, json, control).await,
        Cmd::Info { device, json, profile, timeout } => info::run(&device, json, profile, secs(timeout)).await,
        Cmd::At { device, timeout, commands } => at::raw_at(&device, secs(timeout), &commands).await,
        Cmd::Doctor(a) => doctor::run(a).await,
        #[cfg(feature = "sim")]
        Cmd::Sim(a) => sim::run_sim(a).await,
        #[cfg(feature = "sim")]
        Cmd::Bench(a) => bench::run(a).await,
        Cmd::Netifd(a) => netifd::run(a).await,
    }
}

/// One request to the daemon; its error becomes ours.
pub async fn ask(control: Option<PathBuf>, req: control::Request) -> Result<serde_json::Value, Error> {
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
