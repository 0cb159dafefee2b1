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
    /// A pseudo-terminal other programs use as the modem's AT port while ncmd runs
    /// (e.g. /dev/ttyNCM0; one interface only). Also `option share_port` per interface.
    #[arg(long, value_name = "PATH")]
    pub share_port: Option<PathBuf>,
    /// How many such ptys, one per program running at the same time (numbered on from
    /// --share-port). Also `option share_ports`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=8))]
    pub share_ports: Option<u32>,
    /// Publish the ubus object `ncmd` on this ubusd socket (default: OpenWrt's, when it
    /// exists). Also `option ubus_socket` in a `config ncmd` section.
    #[cfg(feature = "ubus")]
    #[arg(long, value_name = "PATH", conflicts_with = "no_ubus")]
    pub ubus_socket: Option<PathBuf>,
    /// Do not publish the ubus object. Also `option ubus '0'` in a `config ncmd` section.
    #[cfg(feature = "ubus")]
    #[arg(long)]
    pub no_ubus: bool,
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
    /// A host name the page and metrics may be addressed by (repeatable; `localhost` and
    /// IP addresses always work). Also `list web_hosts` in a `config ncmd` section.
    #[cfg(feature = "web")]
    #[arg(long = "web-host", value_name = "NAME")]
    pub web_hosts: Vec<String>,
}

/// From the flags, else from `config ncmd` sections of the parsed UCI file (flags win).
#[cfg(feature = "web")]
fn observe_from(args: &UpArgs, pkg: &ncmd_config::uci::Package) -> Result<Observe, crate::Error> {
    use ncmd_config::uci::Value;
    let global = |option: &str| -> Vec<String> {
        let values = pkg.sections_of("ncmd").filter_map(|s| s.get(option));
        values
            .flat_map(|v| match v {
                Value::Single(v) => v.split_whitespace().map(str::to_string).collect::<Vec<_>>(),
                Value::List(l) => l.clone(),
            })
            .filter(|v| !v.is_empty())
            .collect()
    };
    let addr = |flag: &Option<String>, option: &str| -> Result<Option<std::net::SocketAddr>, crate::Error> {
        match flag.clone().or_else(|| global(option).into_iter().next()) {
            Some(s) => Ok(Some(crate::expose::web::parse_listen(&s).map_err(|e| format!("{option}: {e}"))?)),
            None => Ok(None),
        }
    };
    let hosts = if args.web_hosts.is_empty() { global("web_hosts") } else { args.web_hosts.clone() };
    Ok(Observe {
        metrics: addr(&args.metrics_listen, "metrics_listen")?,
        web: addr(&args.web_listen, "web_listen")?,
        config: Some(args.config.clone()),
        hosts,
        #[cfg(feature = "ubus")]
        ubus: ubus_from(args, pkg)?,
    })
}

/// The ubus object to publish: off with --no-ubus or `option ubus '0'`; on the socket
/// --ubus-socket / `option ubus_socket` names; else on OpenWrt's socket when it exists.
#[cfg(feature = "ubus")]
fn ubus_from(args: &UpArgs, pkg: &ncmd_config::uci::Package) -> Result<Option<crate::daemon::ubus::Publish>, crate::Error> {
    let global = |option: &str| -> Option<String> {
        pkg.sections_of("ncmd").find_map(|s| match s.get(option) {
            Some(ncmd_config::uci::Value::Single(v)) => Some(v.clone()),
            _ => None,
        })
    };
    let off = match global("ubus").as_deref() {
        None | Some("1" | "on" | "true" | "yes" | "enabled") => false,
        Some("0" | "off" | "false" | "no" | "disabled") => true,
        Some(other) => return Err(format!("option ubus '{other}': expected 0 or 1").into()),
    };
    if args.no_ubus || off {
        return Ok(None);
    }
    let socket = args.ubus_socket.clone().or_else(|| global("ubus_socket").map(PathBuf::from));
    if socket.is_none() && ncmd_ubus::default_socket().is_none() {
        tracing::debug!("no ubusd here; the ubus object is not published");
        return Ok(None);
    }
    Ok(Some(crate::daemon::ubus::Publish { socket, name: "ncmd".into() }))
}

#[cfg(not(feature = "web"))]
fn observe_from(_args: &UpArgs, pkg: &ncmd_config::uci::Package) -> Result<Observe, crate::Error> {
    let asks = pkg.sections_of("ncmd").any(|s| s.get("metrics_listen").is_some() || s.get("web_listen").is_some());
    if asks {
        tracing::warn!("metrics_listen/web_listen are set but this ncmd was built without the `web` feature; ignored");
    }
    #[cfg(feature = "ubus")]
    return Ok(Observe { ubus: ubus_from(_args, pkg)?, ..Observe::default() });
    #[cfg(not(feature = "ubus"))]
    Ok(Observe::default())
}

/// `ncmd up`: loads the UCI file and runs the chosen interfaces.
pub async fn up(args: UpArgs) -> Result<(), crate::Error> {
    let (doc, config) = ncmd_config::load_document(&args.config)?;
    let observe = observe_from(&args, doc.package())?;
    drop(doc);
    // An interface named on the command line reports its own error once, at the edge.
    for e in config.errors.iter().filter(|e| !e.interface().is_some_and(|i| args.interfaces.iter().any(|a| a == i))) {
        eprintln!("ncmd: {e}");
    }
    let mut specs: Vec<Spec> = if args.interfaces.is_empty() {
        if config.specs.is_empty() {
            return Err(match config.errors.len() {
                0 => format!("{} has no interface with option proto 'ncm'", args.config.display()),
                n => format!("{} has no valid ncm interface: fix the errors above ({n} invalid)", args.config.display()),
            }
            .into());
        }
        config.specs.clone()
    } else {
        // The named interfaces only; an error about one of them is the command's error
        // (printed once, at the edge), errors about others are not this command's business.
        args.interfaces.iter().map(|i| config.interface(i).cloned()).collect::<Result<_, _>>()?
    };
    if args.share_port.is_some() || args.share_ports.is_some() {
        let [spec] = specs.as_mut_slice() else {
            return Err("--share-port/--share-ports apply to one interface; name it, or set option share_port per interface".into());
        };
        if let Some(p) = &args.share_port {
            if !p.is_absolute() {
                return Err(format!("--share-port {}: expected an absolute path, e.g. /dev/ttyNCM0", p.display()).into());
            }
            spec.share_port = Some(p.clone());
        }
        if let Some(n) = args.share_ports {
            spec.share_ports = n;
        }
    }
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
        let uci = |text: &str| ncmd_config::parse_uci(text).unwrap();
        let o = observe_from(&args, &uci(UCI)).unwrap();
        assert_eq!(o.web, Some("127.0.0.1:8080".parse().unwrap()), "a bare port is loopback");
        assert_eq!(o.metrics, Some("0.0.0.0:9100".parse().unwrap()));
        let args = Cli::parse_from(["ncmd", "--web-listen", "[::1]:81"]).up;
        assert_eq!(observe_from(&args, &uci(UCI)).unwrap().web, Some("[::1]:81".parse().unwrap()));
        let none = observe_from(&Cli::parse_from(["ncmd"]).up, &uci("config interface 'wwan'\n")).unwrap();
        assert_eq!((none.web, none.metrics), (None, None), "off by default");
        let bad = Cli::parse_from(["ncmd", "--metrics-listen", "somewhere"]).up;
        let err = observe_from(&bad, &uci("")).err().unwrap().to_string();
        assert!(err.contains("metrics_listen") && err.contains("ADDR:PORT"), "{err}");
    }
}
