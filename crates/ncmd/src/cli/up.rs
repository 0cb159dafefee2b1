//! `ncmd up [IFACE...]`: reads the UCI file, picks the interfaces and the optional HTTP
//! listeners, and runs the daemon in the foreground.

use std::path::PathBuf;

use ncmd_config::Spec;

use crate::control;
use crate::daemon::{run_observed, Observe, Options};

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
    /// Serve Prometheus metrics on ADDR:PORT (a bare PORT = loopback); default off.
    /// Also `option metrics_listen` in a `config ncmd` section of the UCI file.
    #[cfg(feature = "web")]
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    /// Serve the status page on ADDR:PORT (a bare PORT = loopback); default off.
    /// Also `option web_listen` in a `config ncmd` section of the UCI file.
    #[cfg(feature = "web")]
    #[arg(long, value_name = "ADDR:PORT")]
    pub web_listen: Option<String>,
}

/// From the flags, else from `config ncmd` sections of the UCI text (flags win).
#[cfg(feature = "web")]
fn observe_from(args: &UpArgs, uci_text: &str) -> Result<Observe, crate::Error> {
    let global = |option: &str| -> Option<String> {
        let pkg = ncmd_config::parse_uci(uci_text).ok()?;
        let found = pkg.sections_of("ncmd").find_map(|s| match s.get(option) {
            Some(ncmd_config::uci::Value::Single(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        });
        found
    };
    let addr = |flag: &Option<String>, option: &str| -> Result<Option<std::net::SocketAddr>, crate::Error> {
        match flag.clone().or_else(|| global(option)) {
            Some(s) => Ok(Some(crate::expose::web::parse_listen(&s).map_err(|e| format!("{option}: {e}"))?)),
            None => Ok(None),
        }
    };
    Ok(Observe { metrics: addr(&args.metrics_listen, "metrics_listen")?, web: addr(&args.web_listen, "web_listen")?, config: Some(args.config.clone()) })
}

#[cfg(not(feature = "web"))]
fn observe_from(_args: &UpArgs, uci_text: &str) -> Result<Observe, crate::Error> {
    let asks = ncmd_config::parse_uci(uci_text)
        .map(|p| p.sections_of("ncmd").any(|s| s.get("metrics_listen").is_some() || s.get("web_listen").is_some()))
        .unwrap_or(false);
    if asks {
        tracing::warn!("metrics_listen/web_listen are set but this ncmd was built without the `web` feature; ignored");
    }
    Ok(Observe::default())
}

/// `ncmd up`: loads the UCI file and runs the chosen interfaces.
pub async fn up(args: UpArgs) -> Result<(), crate::Error> {
    let config = ncmd_config::load(&args.config)?;
    let observe = observe_from(&args, &std::fs::read_to_string(&args.config).unwrap_or_default())?;
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
    run_observed(
        specs,
        Options { control: args.control.unwrap_or_else(control::default_path), config: Some(args.config.clone()), state_dir: args.state_dir, netifd: false, sysfs_root: args.sysfs_root, dry_run: false },
        observe,
    )
    .await
}

#[cfg(all(test, feature = "web"))]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        up: UpArgs,
    }

    const UCI: &str = "config ncmd 'main'\n\toption web_listen '8080'\n\toption metrics_listen '0.0.0.0:9100'\n";

    #[test]
    fn listeners_from_uci_and_flags_win() {
        let args = Cli::parse_from(["ncmd"]).up;
        let o = observe_from(&args, UCI).unwrap();
        assert_eq!(o.web, Some("127.0.0.1:8080".parse().unwrap()), "a bare port is loopback");
        assert_eq!(o.metrics, Some("0.0.0.0:9100".parse().unwrap()));
        let args = Cli::parse_from(["ncmd", "--web-listen", "[::1]:81"]).up;
        assert_eq!(observe_from(&args, UCI).unwrap().web, Some("[::1]:81".parse().unwrap()));
        let none = observe_from(&Cli::parse_from(["ncmd"]).up, "config interface 'wwan'\n").unwrap();
        assert_eq!((none.web, none.metrics), (None, None), "off by default");
        let bad = Cli::parse_from(["ncmd", "--metrics-listen", "somewhere"]).up;
        let err = observe_from(&bad, "").err().unwrap().to_string();
        assert!(err.contains("metrics_listen") && err.contains("ADDR:PORT"), "{err}");
    }
}
