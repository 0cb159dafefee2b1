//! `ncmd doctor`: from the USB model, tell what each modem is, what is missing and the
//! exact fix, then check the configuration around it (configured port present, dnsmasq
//! rebind protection, port probes the caller ran).
//!
//! Owns: the diagnosis (pure: [`diagnose`]) and its human rendering ([`render`]); the
//! JSON form is the serde serialisation of [`Report`].
//! Must not know about: how devices were read (sysfs or dump), AT I/O (probe results come
//! in as data), UCI files on disk (the caller passes parsed facts).

use crate::dnsmasq::RebindProtection;
use crate::knowledge::{self, Role, UsbMode};
use crate::model::{UsbDevice, UsbInterface};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// An interface of the network config that uses a modem port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfiguredIface {
    /// UCI interface name (`wwan`).
    pub name: String,
    /// `option device` as written.
    pub device: PathBuf,
    /// The device after following symlinks; `None` when it does not exist.
    pub resolved: Option<PathBuf>,
    /// `option share_port`: the pty other programs should use instead of `device`.
    pub share_port: Option<PathBuf>,
}

impl ConfiguredIface {
    /// Look the device up on this machine (follows `/dev/serial/by-id/...` links).
    pub fn check(name: &str, device: &Path) -> Self {
        ConfiguredIface {
            name: name.to_string(),
            device: device.to_path_buf(),
            resolved: std::fs::canonicalize(device).ok(),
            share_port: None,
        }
    }

    pub fn with_share_port(mut self, share_port: Option<PathBuf>) -> Self {
        self.share_port = share_port;
        self
    }
}

/// Result of an AT probe the caller ran on a port (`ncmd doctor --probe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortProbe {
    /// `/dev/ttyUSB1`
    pub port: String,
    /// The port answered `AT` with `OK`.
    pub answered: bool,
    /// `AT+CPIN?` said READY (`None`: not asked or no answer).
    pub sim_ready: Option<bool>,
}

/// Facts beyond USB that the caller gathered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DoctorContext {
    pub configured: Vec<ConfiguredIface>,
    /// From `/etc/config/dhcp` ([`crate::parse_rebind_protection`]); `None` if not read.
    pub rebind_protection: Option<RebindProtection>,
    pub probes: Vec<PortProbe>,
    /// Package manager of the system, for the install commands.
    pub installer: Installer,
    /// Other programs' configured AT ports ([`crate::port_users`]).
    pub port_users: Vec<crate::PortUser>,
    /// Notes from reading the input (e.g. [`crate::DevicesFile::notes`] of a cut dump),
    /// carried into the report.
    pub input_notes: Vec<String>,
}

/// OpenWrt's package manager: opkg up to 24.10, apk from 25.x.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Installer {
    #[default]
    Opkg,
    Apk,
}

impl Installer {
    /// `opkg update && opkg install a b`
    pub fn install_command(self, packages: &[String]) -> String {
        let list = packages.join(" ");
        match self {
            Installer::Opkg => format!("opkg update && opkg install {list}"),
            Installer::Apk => format!("apk update && apk add {list}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One problem and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// What it is about: a modem label, an interface name, `dnsmasq`.
    pub subject: String,
    pub problem: String,
    /// Steps or commands, in order.
    pub fix: Vec<String>,
    pub source: Option<String>,
}

/// One interface as doctor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceReport {
    pub number: u8,
    pub alt: u8,
    /// `ff/03/12`
    pub class: String,
    pub role: Role,
    pub driver: Option<String>,
    pub expected_driver: Option<String>,
    pub package: Option<String>,
    /// `ttyUSB1`; real when read from sysfs, otherwise predicted from the binding order.
    pub tty: Option<String>,
    pub tty_predicted: bool,
    pub netdevs: Vec<String>,
    pub cdc_wdm: Vec<String>,
}

/// One modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModemReport {
    pub id: String,
    pub usb_path: Option<String>,
    pub vendor: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub mode: UsbMode,
    pub ncmd_can_drive: bool,
    pub interfaces: Vec<InterfaceReport>,
    /// `/dev/ttyUSB1`: the port for `option device`.
    pub control_port: Option<String>,
    pub control_port_predicted: bool,
    pub netdev: Option<String>,
    pub missing_packages: Vec<String>,
    /// Ready-to-paste `/etc/config/network` section.
    pub uci: Option<String>,
}

/// Everything doctor found; `findings` are sorted, errors first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub modems: Vec<ModemReport>,
    /// USB devices that are not modems (hubs, keyboards, disks).
    pub other_devices: usize,
    /// What could not be read (from [`DoctorContext::input_notes`]).
    pub notes: Vec<String>,
}

/// usb-serial drivers (ttyUSB*) and the ACM driver (ttyACM*), for predicting tty names.
const USB_SERIAL_DRIVERS: &[&str] = &["option", "qcserial", "sierra", "usb_serial_simple"];
const ACM_DRIVER: &str = "cdc_acm";

/// Diagnose the given devices. Pure: no I/O.
pub fn diagnose(devices: &[UsbDevice], ctx: &DoctorContext) -> Report {
    let loaded: BTreeSet<&str> = devices
        .iter()
        .flat_map(|d| d.interfaces.iter().filter_map(|i| i.driver.as_deref()))
        .collect();
    let mut tty_counter = TtyCounter::default();
    let mut findings = Vec::new();
    let mut modems = Vec::new();
    let mut other_devices = 0;
    let iface_name = ctx.configured.first().map_or("wwan", |c| c.name.as_str());
    for device in devices {
        let interfaces = interface_reports(device, &mut tty_counter);
        if device.is_hub() || !is_modem(device, &interfaces) {
            other_devices += 1;
            continue;
        }
        let modem = modem_report(
            device,
            interfaces,
            &loaded,
            iface_name,
            ctx.installer,
            &mut findings,
        );
        modems.push(modem);
    }
    if modems.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            subject: "USB".into(),
            problem: "no modem found on the USB bus".into(),
            fix: vec![
                "check that the modem is plugged in (and powered: some need a powered hub)".into(),
                "look at `dmesg` for USB errors right after plugging it in".into(),
            ],
            source: None,
        });
    }
    check_configured(ctx, &modems, &mut findings);
    check_rebind(ctx, &mut findings);
    check_probes(ctx, &modems, &mut findings);
    check_port_users(ctx, &mut findings);
    findings.sort_by_key(|f| f.severity);
    Report {
        findings,
        modems,
        other_devices,
        notes: ctx.input_notes.clone(),
    }
}

#[derive(Default)]
struct TtyCounter {
    usb: usize,
    acm: usize,
}

impl TtyCounter {
    fn next(&mut self, driver: &str) -> Option<String> {
        if USB_SERIAL_DRIVERS.contains(&driver) {
            self.usb += 1;
            Some(format!("ttyUSB{}", self.usb - 1))
        } else if driver == ACM_DRIVER {
            self.acm += 1;
            Some(format!("ttyACM{}", self.acm - 1))
        } else {
            None
        }
    }
}

fn interface_reports(device: &UsbDevice, ttys: &mut TtyCounter) -> Vec<InterfaceReport> {
    let mut seen: Vec<(u8, u8, u8)> = Vec::new();
    device
        .interfaces
        .iter()
        .map(|iface| {
            let triple = (iface.class, iface.subclass, iface.protocol);
            let ordinal = seen.iter().filter(|t| **t == triple).count();
            seen.push(triple);
            let rule = knowledge::binding_for(
                device.vid,
                device.pid,
                iface.number,
                triple,
                iface.num_endpoints,
                u8::try_from(ordinal).unwrap_or(u8::MAX),
            );
            interface_report(iface, rule, ttys)
        })
        .collect()
}

fn interface_report(
    iface: &UsbInterface,
    rule: Option<&knowledge::BindingRule>,
    ttys: &mut TtyCounter,
) -> InterfaceReport {
    let expected = rule.and_then(|r| r.driver).filter(|d| *d != "hub");
    let (tty, predicted) = match (iface.ttys.first(), iface.driver.as_deref()) {
        (Some(real), _) => (Some(real.clone()), false),
        // Only serial functions get a tty (not the data half of a CDC-ACM pair).
        (None, Some(driver)) if rule.map(|r| r.role.is_serial()) != Some(false) => {
            (ttys.next(driver), true)
        }
        (None, _) => (None, false),
    };
    InterfaceReport {
        number: iface.number,
        alt: iface.alt,
        class: iface.class_triple(),
        role: match rule {
            Some(r) => r.role,
            // A port some usb-serial driver bound, of a layout the table does not know.
            None if iface
                .driver
                .as_deref()
                .is_some_and(|d| USB_SERIAL_DRIVERS.contains(&d)) =>
            {
                Role::Serial
            }
            None => Role::Unknown,
        },
        driver: iface.driver.clone(),
        expected_driver: expected.map(str::to_string),
        package: expected
            .and_then(knowledge::package_for)
            .map(str::to_string),
        tty,
        tty_predicted: predicted,
        netdevs: iface.netdevs.clone(),
        cdc_wdm: iface.cdc_wdm.clone(),
    }
}

fn is_modem(device: &UsbDevice, interfaces: &[InterfaceReport]) -> bool {
    let has = |roles: &[Role]| interfaces.iter().any(|i| roles.contains(&i.role));
    knowledge::modem_vendor(device.vid).is_some()
        || has(&[Role::NcmControl, Role::MbimControl, Role::QmiNetwork])
        || (has(&[Role::AtPort]) && has(&[Role::EcmControl, Role::RndisControl]))
}

fn current_mode(interfaces: &[InterfaceReport]) -> UsbMode {
    let data = interfaces
        .iter()
        .filter_map(|i| UsbMode::of_role(i.role))
        .min();
    let has_serial = interfaces.iter().any(|i| i.role.is_serial());
    match data {
        Some(UsbMode::Ecm | UsbMode::Rndis) if !has_serial => UsbMode::RouterMode,
        Some(mode) => mode,
        None if !interfaces.is_empty() && interfaces.iter().all(|i| i.role == Role::Storage) => {
            UsbMode::StorageOnly
        }
        None if has_serial => UsbMode::SerialOnly,
        None => UsbMode::Unknown,
    }
}

fn modem_report(
    device: &UsbDevice,
    interfaces: Vec<InterfaceReport>,
    loaded: &BTreeSet<&str>,
    iface_name: &str,
    installer: Installer,
    findings: &mut Vec<Finding>,
) -> ModemReport {
    let subject = device.label();
    let mode = current_mode(&interfaces);
    let missing = missing_packages(&interfaces, loaded);
    if !missing.is_empty() {
        let which: Vec<String> = interfaces
            .iter()
            .filter(|i| i.driver.is_none())
            .filter_map(|i| {
                let pkg = i.package.as_ref()?;
                missing
                    .contains(pkg)
                    .then(|| format!("interface {} ({})", i.number, i.role.describe()))
            })
            .collect();
        findings.push(Finding {
            severity: Severity::Error,
            subject: subject.clone(),
            problem: format!("kernel drivers missing for {}", which.join(", ")),
            fix: vec![installer.install_command(&missing), "unplug and replug the modem (or reboot)".into()],
            source: Some("OpenWrt package/kernel/linux/modules/usb.mk; https://openwrt.org/docs/guide-user/network/wan/wwan/ethernetoverusb_ncm".into()),
        });
    }
    let control = interfaces
        .iter()
        .filter_map(|i| i.role.at_preference().map(|p| (p, i)))
        .filter(|(_, i)| i.driver.is_some() || i.tty.is_some())
        .min_by_key(|(p, i)| (*p, i.number))
        .map(|(_, i)| i);
    let control_port = control
        .and_then(|i| i.tty.as_ref())
        .map(|t| format!("/dev/{t}"));
    let control_port_predicted = control.is_some_and(|i| i.tty_predicted);
    if let (Some(port), Some(Role::Serial)) = (&control_port, control.map(|i| i.role)) {
        findings.push(Finding {
            severity: Severity::Info,
            subject: subject.clone(),
            problem: format!(
                "which serial port answers AT is not known for this modem; {port} is the first one"
            ),
            fix: vec![format!(
                "check with `ncmd at --device {port} ATI`; if it stays silent try the next port"
            )],
            source: None,
        });
    }
    let netdev = crate::sysfs::pick_data_ports(device, None).netdev;
    if control.is_none() {
        unclaimed_findings(device, &interfaces, loaded, &subject, findings);
    }
    mode_findings(
        device,
        mode,
        control_port.as_deref(),
        installer,
        &subject,
        findings,
    );
    if mode.ncmd_can_drive() && control_port.is_none() && missing.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            subject: subject.clone(),
            problem: "no AT command port found, so ncmd cannot dial".into(),
            fix: vec!["check `dmesg` for the serial driver (option / cdc_acm) and that kmod-usb-serial-option or kmod-usb-acm is installed; if the input was a pasted dump, it may be cut before the AT port".into()],
            source: None,
        });
    }
    let uci = uci_snippet(mode, iface_name, control_port.as_deref(), netdev.as_deref());
    ModemReport {
        id: device.id(),
        usb_path: device.usb_path.clone(),
        vendor: knowledge::modem_vendor(device.vid).map(str::to_string),
        manufacturer: device.manufacturer.clone(),
        product: device.product.clone(),
        mode,
        ncmd_can_drive: mode.ncmd_can_drive(),
        interfaces,
        control_port,
        control_port_predicted,
        netdev,
        missing_packages: missing,
        uci,
    }
}

/// Packages for unbound interfaces whose driver is not loaded anywhere on the bus.
/// Mass storage is left out: the modem works without it.
fn missing_packages(interfaces: &[InterfaceReport], loaded: &BTreeSet<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in interfaces {
        let (None, Some(expected), Some(pkg)) = (&i.driver, &i.expected_driver, &i.package) else {
            continue;
        };
        if i.role == Role::Storage || loaded.contains(expected.as_str()) || out.contains(pkg) {
            continue;
        }
        out.push(pkg.clone());
    }
    out
}

/// For a modem without a usable AT port: AT-capable interfaces left unbound although their
/// driver is loaded, and interfaces bound to an unexpected driver.
fn unclaimed_findings(
    device: &UsbDevice,
    interfaces: &[InterfaceReport],
    loaded: &BTreeSet<&str>,
    subject: &str,
    findings: &mut Vec<Finding>,
) {
    for i in interfaces {
        let Some(expected) = i.expected_driver.as_deref() else {
            continue;
        };
        match i.driver.as_deref() {
            None if loaded.contains(expected) && i.role.at_preference().is_some() => {
                findings.push(Finding {
                    severity: Severity::Warning,
                    subject: subject.to_string(),
                    problem: format!(
                        "interface {} ({}, {}) is not claimed although {expected} is loaded: this kernel's id table lacks it",
                        i.number, i.role.describe(), i.class
                    ),
                    fix: vec![format!(
                        "echo '{:04x} {:04x} ff' > /sys/bus/usb-serial/drivers/{expected}1/new_id",
                        device.vid, device.pid
                    )],
                    source: Some("https://forum.openwrt.org/t/qmi-and-mbim-interface-issue-with-modem/202922".into()),
                });
            }
            Some(actual) if actual != expected && i.role != Role::Storage => {
                findings.push(Finding {
                    severity: Severity::Warning,
                    subject: subject.to_string(),
                    problem: format!(
                        "interface {} ({}, {}) is bound to {actual}, expected {expected}",
                        i.number,
                        i.role.describe(),
                        i.class
                    ),
                    fix: vec![
                        "a newer kernel/OpenWrt release may bind it correctly; check `dmesg`"
                            .into(),
                    ],
                    source: None,
                });
            }
            _ => {}
        }
    }
}

/// Fill a knowledge-table step with this device's facts.
fn fill(step: &str, device: &UsbDevice, at_port: Option<&str>) -> String {
    let active = device
        .active_configuration
        .map_or("no active one was read".to_string(), |n| {
            format!("{n} is active")
        });
    step.replace("{vid}", &format!("{:04x}", device.vid))
        .replace("{pid}", &format!("{:04x}", device.pid))
        .replace(
            "{n}",
            &device
                .num_configurations
                .map_or("several".into(), |n| n.to_string()),
        )
        .replace("{active}", &active)
        .replace("{at}", at_port.unwrap_or("its AT port"))
        .replace("{dev}", device.usb_path.as_deref().unwrap_or("<usb path>"))
}

fn mode_findings(
    device: &UsbDevice,
    mode: UsbMode,
    at_port: Option<&str>,
    installer: Installer,
    subject: &str,
    findings: &mut Vec<Finding>,
) {
    if mode.ncmd_can_drive() {
        return;
    }
    let (severity, problem) = match mode {
        UsbMode::StorageOnly => (
            Severity::Error,
            "the modem shows only its virtual CD-ROM/storage: it has not been switched to modem mode".to_string(),
        ),
        UsbMode::Unknown => (
            Severity::Warning,
            "no active USB configuration could be read for this modem (dump cut, or device not configured)".to_string(),
        ),
        other => (
            Severity::Warning,
            format!("current USB mode is {}; ncmd drives NCM, ECM and RNDIS data paths", other.describe()),
        ),
    };
    let steps = |list: &[&str]| {
        list.iter()
            .map(|s| fill(s, device, at_port))
            .collect::<Vec<_>>()
    };
    let (fix, source) = if mode == UsbMode::StorageOnly {
        let mut fix = vec![installer.install_command(&["usb-modeswitch".to_string()])];
        fix.extend(steps(knowledge::STORAGE_SWITCH_STEPS));
        (fix, Some(knowledge::STORAGE_SWITCH_SOURCE.to_string()))
    } else if device.num_configurations.unwrap_or(1) > 1 {
        (
            steps(knowledge::CONFIG_SWITCH_STEPS),
            Some(knowledge::CONFIG_SWITCH_SOURCE.to_string()),
        )
    } else if let Some(switch) = knowledge::mode_switch_for(device.vid, device.pid, mode) {
        (steps(switch.steps), Some(switch.source.to_string()))
    } else {
        let alternative = match mode {
            UsbMode::Mbim => "no AT route to NCM/ECM is known for this modem: use OpenWrt's proto 'mbim' (umbim) or 'modemmanager'",
            UsbMode::Qmi => "no AT route to NCM/ECM is known for this modem: use OpenWrt's proto 'qmi' (uqmi) or 'modemmanager'",
            UsbMode::SerialOnly => "no network interface: use proto '3g' (PPP over the modem port), or find the vendor's command to enable NCM/ECM",
            UsbMode::RouterMode => "use it as an Ethernet uplink: proto 'dhcp' on its network device",
            _ => "run ncmd doctor again once the modem has settled; if it persists, post the output of `cat /sys/kernel/debug/usb/devices`",
        };
        (vec![alternative.to_string()], None)
    };
    findings.push(Finding {
        severity,
        subject: subject.to_string(),
        problem,
        fix,
        source,
    });
}

fn uci_snippet(
    mode: UsbMode,
    iface: &str,
    control: Option<&str>,
    netdev: Option<&str>,
) -> Option<String> {
    if mode == UsbMode::RouterMode {
        let device = match netdev {
            Some(name) => format!("\toption device '{name}'\n"),
            None => "\t# the stick's network device (usb0 or eth1, see `ip link`):\n\toption device 'usb0'\n".to_string(),
        };
        return Some(format!(
            "config interface '{iface}'\n\toption proto 'dhcp'\n{device}"
        ));
    }
    if !mode.ncmd_can_drive() {
        return None;
    }
    let control = control?;
    Some(format!(
        "config interface '{iface}'\n\toption proto 'ncm'\n\toption device '{control}'\n\toption pdptype 'IP'\n\t# your carrier's APN:\n\toption apn 'internet'\n"
    ))
}

fn find_port<'a>(
    modems: &'a [ModemReport],
    tty: &str,
) -> Option<(&'a ModemReport, &'a InterfaceReport)> {
    modems.iter().find_map(|m| {
        m.interfaces
            .iter()
            .find(|i| !i.tty_predicted && i.tty.as_deref() == Some(tty))
            .map(|i| (m, i))
    })
}

fn check_configured(ctx: &DoctorContext, modems: &[ModemReport], findings: &mut Vec<Finding>) {
    let suggestion = modems.iter().find_map(|m| m.control_port.clone());
    for c in &ctx.configured {
        let subject = format!("interface '{}'", c.name);
        let Some(resolved) = &c.resolved else {
            let mut fix = vec![
                "plug the modem in, or correct `option device` in /etc/config/network".to_string(),
            ];
            if let Some(port) = &suggestion {
                fix.push(format!(
                    "uci set network.{}.device='{port}' && uci commit network",
                    c.name
                ));
            }
            findings.push(Finding {
                severity: Severity::Error,
                subject,
                problem: format!("option device '{}' does not exist", c.device.display()),
                fix,
                source: None,
            });
            continue;
        };
        let Some(name) = resolved.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((modem, port)) = find_port(modems, name) else {
            continue;
        };
        if port.role.at_preference().is_none() {
            let mut fix = Vec::new();
            if let Some(right) = &modem.control_port {
                fix.push(format!(
                    "uci set network.{}.device='{right}' && uci commit network",
                    c.name
                ));
            }
            findings.push(Finding {
                severity: Severity::Error,
                subject,
                problem: format!(
                    "option device '{}' is interface {} of {}, the {} port: it does not answer AT commands",
                    c.device.display(),
                    port.number,
                    modem.id,
                    port.role.describe()
                ),
                fix,
                source: None,
            });
        }
    }
}

fn check_rebind(ctx: &DoctorContext, findings: &mut Vec<Finding>) {
    let Some(rebind) = &ctx.rebind_protection else {
        return;
    };
    if !rebind.enabled {
        return;
    }
    let allowed = if rebind.allowed_domains.is_empty() {
        "no domains are exempt".to_string()
    } else {
        format!("exempt: {}", rebind.allowed_domains.join(", "))
    };
    findings.push(Finding {
        severity: Severity::Info,
        subject: "dnsmasq".into(),
        problem: format!(
            "DNS rebind protection is on ({allowed}); a carrier portal on a private address (activation, top-up pages) will not resolve (\"possible DNS-rebind attack detected\" in the log)"
        ),
        fix: vec![
            "if your carrier uses such a portal: uci add_list dhcp.@dnsmasq[0].rebind_domain='<portal domain>' && uci commit dhcp && /etc/init.d/dnsmasq restart".into(),
        ],
        source: Some("https://openwrt.org/docs/guide-user/network/wan/wwan/ethernetoverusb_ncm (Additional Steps)".into()),
    });
}

/// A tool configured on the port ncmd keeps open would read ncmd's replies and ncmd
/// its: point it at the shared port (and turn that on when it is off).
fn check_port_users(ctx: &DoctorContext, findings: &mut Vec<Finding>) {
    let basename = |p: &Path| p.file_name().map(|n| n.to_os_string());
    for user in &ctx.port_users {
        let used = Path::new(&user.device);
        let resolved = std::path::absolute(used).ok();
        let Some(iface) = ctx.configured.iter().find(|c| {
            c.device == used
                || (c.resolved.is_some() && c.resolved.as_deref() == resolved.as_deref())
                || (basename(&c.device).is_some() && basename(&c.device) == basename(used))
        }) else {
            continue;
        };
        let (share, turn_on) = match &iface.share_port {
            Some(p) => (p.display().to_string(), None),
            None => (
                "/dev/ttyNCM0".to_string(),
                Some(format!(
                    "uci set network.{0}.share_port='/dev/ttyNCM0' && uci commit network && ifup {0}   (add share_ports '2' when two such tools run at once)",
                    iface.name
                )),
            ),
        };
        let mut fix: Vec<String> = turn_on.into_iter().collect();
        fix.push(format!(
            "in {}, set option {} to '{share}' (then restart {})",
            user.file, user.option, user.tool
        ));
        findings.push(Finding {
            severity: Severity::Warning,
            subject: user.tool.clone(),
            problem: format!(
                "{} ({}, option {}) uses {}, the AT port ncmd keeps open for {}: the two would read each other's replies",
                user.tool, user.file, user.option, user.device, iface.name
            ),
            fix,
            source: None,
        });
    }
}

fn check_probes(ctx: &DoctorContext, modems: &[ModemReport], findings: &mut Vec<Finding>) {
    let suggestion = modems.iter().find_map(|m| m.control_port.clone());
    for probe in &ctx.probes {
        if !probe.answered {
            let mut fix = vec![
                "wait for the modem to finish booting (set `option delay`), then try again"
                    .to_string(),
            ];
            if let Some(port) = suggestion.as_ref().filter(|p| **p != probe.port) {
                fix.push(format!("or use the AT port {port}"));
            }
            findings.push(Finding {
                severity: Severity::Error,
                subject: probe.port.clone(),
                problem: "the port did not answer AT (a diagnostics/GPS port, or the modem is busy or booting)".into(),
                fix,
                source: None,
            });
        } else if probe.sim_ready == Some(false) {
            findings.push(Finding {
                severity: Severity::Error,
                subject: probe.port.clone(),
                problem: "the SIM is not ready (PIN required, PUK required or no SIM)".into(),
                fix: vec![
                    "check that the SIM is inserted; if it asks for a PIN set `option pincode` (ncmd never retries a rejected PIN)".into(),
                    "ncmd info --device <port> shows the SIM state and attempts left".into(),
                ],
                source: None,
            });
        }
    }
}

/// Short human-readable report: fixes first, then each modem.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let actionable = report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .count();
    if actionable == 0 {
        out.push_str("ncmd doctor: nothing to fix\n");
    } else {
        out.push_str(&format!("ncmd doctor: {actionable} problem(s) to fix\n"));
    }
    for (n, f) in report.findings.iter().enumerate() {
        let tag = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        out.push_str(&format!(
            "\n{}. [{tag}] {}: {}\n",
            n + 1,
            f.subject,
            f.problem
        ));
        for step in &f.fix {
            out.push_str(&format!("   -> {step}\n"));
        }
        if let Some(source) = &f.source {
            out.push_str(&format!("   (source: {source})\n"));
        }
    }
    for m in &report.modems {
        let name = [m.manufacturer.as_deref(), m.product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "\nModem {} {name}{}\n  mode: {}{}\n",
            m.id,
            m.usb_path
                .as_deref()
                .map(|p| format!(" at usb {p}"))
                .unwrap_or_default(),
            m.mode.describe(),
            if m.ncmd_can_drive {
                " (ncmd can drive it)"
            } else {
                ""
            }
        ));
        for i in &m.interfaces {
            let driver = match (&i.driver, &i.expected_driver) {
                (Some(d), _) => d.clone(),
                (None, Some(e)) => format!("unbound (needs {e})"),
                (None, None) => "unbound".into(),
            };
            let mut extra: Vec<String> = Vec::new();
            if let Some(t) = &i.tty {
                extra.push(format!(
                    "/dev/{t}{}",
                    if i.tty_predicted {
                        " (expected name)"
                    } else {
                        ""
                    }
                ));
            }
            extra.extend(i.netdevs.iter().cloned());
            extra.extend(i.cdc_wdm.iter().map(|w| format!("/dev/{w}")));
            out.push_str(&format!(
                "  if {:<2} {}  {:<30} {:<28} {}\n",
                i.number,
                i.class,
                i.role.describe(),
                driver,
                extra.join(" ")
            ));
        }
        if let Some(port) = &m.control_port {
            out.push_str(&format!(
                "  option device: {port}{}\n",
                if m.control_port_predicted {
                    format!(
                        " (expected name; check `ls {}*`)",
                        port.trim_end_matches(|c: char| c.is_ascii_digit())
                    )
                } else {
                    String::new()
                }
            ));
        }
        if let Some(uci) = &m.uci {
            out.push_str("  /etc/config/network:\n");
            for line in uci.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\nInput notes:\n");
        for note in &report.notes {
            out.push_str(&format!("  - {note}\n"));
        }
    }
    if report.other_devices > 0 {
        out.push_str(&format!(
            "\n({} other USB device(s) are not modems)\n",
            report.other_devices
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Huawei stick before its mode switch: only the virtual CD-ROM, unbound.
    /// Shape from a public OpenWrt setup note (`cat /sys/kernel/debug/usb/devices | grep
    /// -A4 12d1` → "Vendor=12d1 ProdID=1f01", "Cls=08(stor.) Driver=(none)").
    fn zerocd() -> UsbDevice {
        UsbDevice {
            usb_path: Some("1-1".into()),
            bus: Some(1),
            dev_num: Some(2),
            speed: Some("480".into()),
            vid: 0x12d1,
            pid: 0x1f01,
            revision: None,
            manufacturer: Some("HUAWEI_MOBILE".into()),
            product: Some("HUAWEI_MOBILE".into()),
            serial: None,
            device_class: Some(0),
            num_configurations: Some(1),
            active_configuration: Some(1),
            interfaces: vec![UsbInterface {
                number: 0,
                alt: 0,
                class: 8,
                subclass: 6,
                protocol: 0x50,
                num_endpoints: Some(2),
                driver: None,
                ttys: vec![],
                netdevs: vec![],
                cdc_wdm: vec![],
            }],
            inactive_configurations: vec![],
        }
    }

    #[test]
    fn storage_only_modem_needs_usb_modeswitch() {
        let ctx = DoctorContext {
            installer: Installer::Apk,
            ..DoctorContext::default()
        };
        let report = diagnose(&[zerocd()], &ctx);
        let m = &report.modems[0];
        assert_eq!(m.mode, UsbMode::StorageOnly);
        assert!(
            m.missing_packages.is_empty(),
            "usb-storage is not what it needs"
        );
        let f = &report.findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.fix[0], "apk update && apk add usb-modeswitch");
    }

    #[test]
    fn a_tool_on_ncmd_s_port_is_pointed_at_the_shared_port() {
        let sms_tool = |device: &str| crate::PortUser {
            tool: "sms_tool".into(),
            file: "/etc/config/sms_tool".into(),
            option: "readport".into(),
            device: device.into(),
        };
        let wwan = ConfiguredIface::check("wwan", Path::new("/dev/ttyUSB2"));
        let mut ctx = DoctorContext {
            configured: vec![wwan.clone()],
            port_users: vec![sms_tool("/dev/ttyUSB2"), sms_tool("/dev/ttyUSB9")],
            ..DoctorContext::default()
        };
        let found: Vec<_> = diagnose(&[], &ctx)
            .findings
            .into_iter()
            .filter(|f| f.subject == "sms_tool")
            .collect();
        assert_eq!(found.len(), 1, "only the tool on ncmd's port: {found:?}");
        assert!(found[0].problem.contains("/dev/ttyUSB2") && found[0].problem.contains("wwan"));
        assert!(
            found[0].fix[0].contains("uci set network.wwan.share_port='/dev/ttyNCM0'"),
            "{:?}",
            found[0].fix
        );
        assert!(found[0].fix[1].contains("option readport to '/dev/ttyNCM0'"));
        // Sharing already on: only the tool's own setting to change, to the configured link.
        ctx.configured = vec![wwan.with_share_port(Some("/dev/ttyMODEM".into()))];
        let found: Vec<_> = diagnose(&[], &ctx)
            .findings
            .into_iter()
            .filter(|f| f.subject == "sms_tool")
            .collect();
        assert_eq!(found[0].fix, ["in /etc/config/sms_tool, set option readport to '/dev/ttyMODEM' (then restart sms_tool)"]);
    }

    #[test]
    fn installer_commands() {
        let pkgs = vec!["kmod-usb-acm".to_string(), "kmod-usb-net-rndis".to_string()];
        assert_eq!(
            Installer::Opkg.install_command(&pkgs),
            "opkg update && opkg install kmod-usb-acm kmod-usb-net-rndis"
        );
        assert_eq!(
            Installer::Apk.install_command(&pkgs),
            "apk update && apk add kmod-usb-acm kmod-usb-net-rndis"
        );
    }
}
