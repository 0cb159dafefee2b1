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
    init_logging(cli.verbose, quiet, supervised(&cli.command));
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
    // `Targets` ("warn,ncmd=debug") rather than EnvFilter: no regex engine in the binary.
    use std::io::IsTerminal as _;
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
    // Colours only for a terminal; a log file or syslog would show the escape codes.
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(std::io::stderr().is_terminal());
    if supervised {
        tracing_subscriber::registry().with(layer.event_format(SyslogLine)).with(filter).init();
    } else {
        tracing_subscriber::registry().with(layer).with(filter).init();
    }
}

/// One log line for a supervisor's log (logread, the journal): no timestamp of our own,
/// and a level word only where it matters ("warning: ", "error: ", "debug: "); normal
/// progress reads as comgt-ncm's did ("sending -> AT...").
struct SyslogLine;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for SyslogLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        match *event.metadata().level() {
            tracing::Level::ERROR => w.write_str("error: ")?,
            tracing::Level::WARN => w.write_str("warning: ")?,
            tracing::Level::INFO => {}
            _ => w.write_str("debug: ")?,
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// The error at the edge: one readable line.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

