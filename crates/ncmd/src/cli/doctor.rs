//! `ncmd doctor`: gathers the facts (USB devices from sysfs or a usb/devices dump, the
//! UCI config, dnsmasq's rebind protection, other AT tools' ports, optional AT probes of
//! the ports) and prints
//! the `ncmd-usb` report.
//!
//! Owns only the gathering (I/O), including other tools' configured AT ports; the
//! diagnosis itself is the pure `ncmd_usb::diagnose`.

use std::path::PathBuf;
use std::time::Duration;

use ncmd_usb::{ConfiguredIface, DoctorContext, PortProbe};

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Root of sysfs to scan.
    #[arg(long, default_value = "/sys")]
    pub sysfs_root: PathBuf,
    /// Read devices from a /sys/kernel/debug/usb/devices dump instead of sysfs.
    #[arg(long)]
    pub usb_devices: Option<PathBuf>,
    /// UCI network config to check `option device` against.
    #[arg(long, default_value = "/etc/config/network")]
    pub config: PathBuf,
    /// UCI dhcp config (dnsmasq rebind protection).
    #[arg(long, default_value = "/etc/config/dhcp")]
    pub dhcp_config: PathBuf,
    /// Directory of the other tools' UCI files (sms_tool, 3ginfo, modemband).
    #[arg(long, default_value = "/etc/config", hide = true)]
    pub etc_config: PathBuf,
    /// Also send `AT` and `AT+CPIN?` to each candidate control port.
    #[arg(long)]
    pub probe: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DoctorArgs) -> Result<(), crate::Error> {
    let (devices, notes) = match &args.usb_devices {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let parsed = ncmd_usb::parse_devices_file(&String::from_utf8_lossy(&text)).map_err(|e| format!("{}: {e}", path.display()))?;
            (parsed.devices, parsed.notes)
        }
        None => (ncmd_usb::discover(&args.sysfs_root)?, Vec::new()),
    };
    let mut ctx = DoctorContext { input_notes: notes.clone(), ..Default::default() };
    if std::path::Path::new("/sbin/apk").exists() || std::path::Path::new("/usr/bin/apk").exists() {
        ctx.installer = ncmd_usb::Installer::Apk;
    }
    if let Ok(cfg) = ncmd_config::load(&args.config) {
        ctx.configured = cfg.specs.iter().map(|s| ConfiguredIface::check(s.interface(), &s.device).with_share_port(s.share_port.clone())).collect();
    }
    for (tool, file, options) in ncmd_usb::port_users::TOOLS {
        if let Ok(text) = std::fs::read_to_string(args.etc_config.join(file.trim_start_matches("/etc/config/"))) {
            ctx.port_users.extend(ncmd_usb::parse_port_users(tool, file, options, &text));
        }
    }
    if let Ok(text) = std::fs::read_to_string(&args.dhcp_config) {
        ctx.rebind_protection = ncmd_usb::parse_rebind_protection(&text);
    }
    let mut report = ncmd_usb::diagnose(&devices, &ctx);
    if args.probe {
        let ports: Vec<String> = report.modems.iter().filter(|m| !m.control_port_predicted).filter_map(|m| m.control_port.clone()).collect();
        for port in ports {
            ctx.probes.push(probe(&port).await);
        }
        report = ncmd_usb::diagnose(&devices, &ctx);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // USB strings (manufacturer, product) come from the device: shown, never obeyed.
        print!("{}", crate::expose::render::printable_text(&ncmd_usb::render(&report)));
    }
    Ok(())
}

async fn probe(port: &str) -> PortProbe {
    let path = if port.starts_with('/') { PathBuf::from(port) } else { PathBuf::from("/dev").join(port) };
    let t = Duration::from_secs(2);
    let Ok(chan) = ncmd_at::AtChannel::open(&path).await else {
        return PortProbe { port: port.to_string(), answered: false, sim_ready: None };
    };
    let answered = chan.command("AT", t).await.is_ok();
    let sim_ready = if answered {
        Some(chan.command("AT+CPIN?", t).await.ok().and_then(|r| ncmd_at::parse::cpin(&r).ok()) == Some(ncmd_at::parse::SimLock::Ready))
    } else {
        None
    };
    PortProbe { port: port.to_string(), answered, sim_ready }
}
