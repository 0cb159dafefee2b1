//! `ncmd netifd run IFACE` (the OpenWrt proto task, run by `/lib/netifd/proto/ncm.sh`
//! with the interface's configuration in `NCMD_CONFIG`) and `ncmd netifd hotplug` (run by
//! `/etc/hotplug.d/{tty,usbmisc}/30-ncmd` with procd's environment).
//!
//! Owns only the entry points; the hand-off messages are `session::datapath::netifd`.

use std::path::PathBuf;

use ncmd_config::Spec;
use serde_json::{json, Value};

use crate::session::datapath::netifd::call;

#[derive(clap::Args)]
pub struct NetifdArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Run one interface as a netifd proto task.
    Run {
        /// The logical interface (UCI section name).
        interface: String,
        /// The interface's configuration as netifd passes it to proto handlers; default:
        /// the NCMD_CONFIG environment variable (the shim passes it there, because a
        /// command line is readable by every user and the JSON holds the PIN).
        config_json: Option<String>,
        /// Directory for persistent state (rejected PINs).
        #[arg(long, default_value = "/etc/ncmd/state")]
        state_dir: PathBuf,
    },
    /// Handle a procd hotplug event (ACTION, DEVICENAME, DEVPATH, ... in the environment).
    Hotplug {
        #[arg(long, default_value = "/etc/config/network")]
        config: PathBuf,
    },
}

/// `ncmd netifd ...`.
pub async fn run(args: NetifdArgs) -> Result<(), crate::Error> {
    match args.action {
        Action::Run { interface, config_json, state_dir } => run_interface(interface, config_json, state_dir).await,
        Action::Hotplug { config } => hotplug(&config, |k| std::env::var(k).ok()).await,
    }
}

/// One interface, supervised by netifd as a proto task.
async fn run_interface(interface: String, config_json: Option<String>, state_dir: PathBuf) -> Result<(), crate::Error> {
    let config_json = config_json.or_else(|| std::env::var("NCMD_CONFIG").ok()).ok_or("no configuration: pass it as an argument or in NCMD_CONFIG")?;
    let config: Value = serde_json::from_str(&config_json).map_err(|e| format!("netifd passed a configuration that is not JSON: {e}"))?;
    let spec = Spec::from_netifd_json(&interface, &config)?;
    // One proto task per interface, and ubus names are unique: `ncmd.<iface>`.
    #[cfg(feature = "ubus")]
    let observe = crate::daemon::Observe {
        ubus: ncmd_ubus::default_socket().map(|_| crate::daemon::ubus::Publish { socket: None, name: format!("ncmd.{interface}") }),
        ..Default::default()
    };
    #[cfg(not(feature = "ubus"))]
    let observe = crate::daemon::Observe::default();
    crate::daemon::run_observed(
        vec![spec],
        crate::daemon::Options {
            control: crate::control::runtime_dir().join(format!("{interface}.sock")),
            config: None,
            state_dir,
            netifd: true,
            sysfs_root: PathBuf::from("/sys"),
            dry_run: false,
        },
        observe,
    )
    .await
}

/// The ncm interfaces whose control port is the device of a hotplug event: matched by
/// the resolved path and by the basename (as comgt's 30-3g does), so symlinks such as
/// /dev/serial/by-id/... and cdc-wdm nodes work too.
pub fn matching_interfaces(config: &ncmd_config::Config, devicename: &str) -> Vec<String> {
    let dev = std::path::Path::new("/dev").join(devicename);
    config
        .specs
        .iter()
        .filter(|s| {
            s.device.file_name().is_some_and(|n| n == devicename)
                || std::fs::canonicalize(&s.device).is_ok_and(|r| r == dev || r.file_name().is_some_and(|n| n == devicename))
        })
        .map(|s| s.interface().to_string())
        .collect()
}

/// A device was added: make the matching interfaces available again (a NO_DEVICE failure
/// marked them unavailable). Removal needs nothing: the running ncmd notices the port
/// vanish itself and waits for it to come back.
pub async fn hotplug(config_path: &std::path::Path, env: impl Fn(&str) -> Option<String>) -> Result<(), crate::Error> {
    let (Some(action), Some(devicename)) = (env("ACTION"), env("DEVICENAME")) else {
        return Err("ncmd netifd hotplug runs from procd's hotplug with ACTION and DEVICENAME set".into());
    };
    if action != "add" {
        return Ok(());
    }
    let config = ncmd_config::load(config_path)?;
    for iface in matching_interfaces(&config, &devicename) {
        let msg = json!({ "action": 5, "interface": iface, "available": true });
        call(&["call", "network.interface", "notify_proto", &msg.to_string()]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hotplug_add_makes_the_matching_interface_available() {
        let dir = std::env::temp_dir().join(format!("ncmd-hotplug-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("network");
        std::fs::write(&cfg, "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB7'\n\nconfig interface 'lte2'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB9'\n").unwrap();
        let log = dir.join("ubus.log");
        let fake = dir.join("ubus");
        std::fs::write(&fake, format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        // SAFETY of the env change: this is the only test in the binary that reads NCMD_UBUS.
        std::env::set_var("NCMD_UBUS", &fake);
        let env = |action: &'static str| move |k: &str| match k {
            "ACTION" => Some(action.to_string()),
            "DEVICENAME" => Some("ttyUSB9".to_string()),
            _ => None,
        };
        hotplug(&cfg, env("remove")).await.unwrap();
        assert!(!log.exists(), "remove needs no action");
        hotplug(&cfg, env("add")).await.unwrap();
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(calls.lines().count(), 1, "{calls}");
        assert!(calls.contains("\"interface\":\"lte2\"") && calls.contains("\"available\":true") && calls.contains("\"action\":5"), "{calls}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
