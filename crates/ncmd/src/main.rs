//! ncmd: brings a cellular modem in NCM mode up as a WAN link and keeps it up.
//!
//! This file is the edge: logging, the runtime, and the one place where errors become a
//! one-line message and an exit status (0 success, 1 failure, 2 usage error).
//! The module tree is the architecture of DESIGN.md; arrows run one way:
//! `cli` → `daemon` → `session` → leaf crates, with `expose`, `control` and `status`
//! below the daemon.

mod cli;
mod control;
mod daemon;
mod expose;
mod session;
mod status;

use std::process::ExitCode;

use clap::Parser as _;
use cli::{Cli, Cmd};

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
    match rt.block_on(cli::run(cli.command)) {
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

