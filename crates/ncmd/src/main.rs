//! ncmd: brings a cellular modem in NCM mode up as a WAN link and keeps it up.
//!
//! This file is the edge: logging, the runtime, and the one place where errors become a
//! one-line message and an exit status (0 success, 1 failure, 2 usage error).
//! The module tree is the architecture of DESIGN.md; arrows run one way:
//! `cli` → `daemon` → `expose` → `session` → `control` → `status` → `files`, then the
//! leaf crates.

mod cli;
mod control;
mod daemon;
mod expose;
mod files;
mod log;
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
    init_logging(cli.verbose, cli.command.tells_its_own_story(), supervised(&cli.command));
    // One thread: ncmd waits on a few descriptors and timers and never computes for long;
    // worker threads would cost their stacks in RSS and buy nothing (DESIGN.md "Router build").
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ncmd: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(cli::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors may quote the modem or a file: shown, never obeyed by the terminal.
            eprintln!("ncmd: {}", expose::render::printable(&e.to_string()));
            ExitCode::from(1)
        }
    }
}

/// Whether a supervisor records our stderr with its own timestamps and source: netifd
/// (the proto task: "netifd: wwan (pid): ..." in logread), procd (PID 1 on OpenWrt,
/// stderr to logd) or systemd's journal.
fn supervised(command: &Cmd) -> bool {
    use std::io::IsTerminal as _;
    if matches!(command, Cmd::Netifd(_)) || std::env::var_os("JOURNAL_STREAM").is_some() {
        return true;
    }
    !std::io::stderr().is_terminal() && std::os::unix::process::parent_id() == 1 && std::path::Path::new("/sbin/procd").exists()
}

fn init_logging(verbose: u8, quiet: bool, supervised: bool) {
    let default = match verbose {
        0 if quiet => "error",
        0 => "warn,ncmd=info",
        1 => "info",
        _ => "debug",
    };
    let filter: log::Filter = match std::env::var("NCMD_LOG").ok().map(|s| s.parse()) {
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            eprintln!("ncmd: ignoring NCMD_LOG ({e}); use e.g. NCMD_LOG=warn,ncmd=debug");
            default.parse().unwrap_or_else(|_| unreachable!("the built-in filters parse"))
        }
        None => default.parse().unwrap_or_else(|_| unreachable!("the built-in filters parse")),
    };
    // Only fails when a logger is already set, which nothing else does.
    let _ = tracing::subscriber::set_global_default(log::Stderr::new(filter, supervised));
}

/// The error at the edge: one readable line.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

