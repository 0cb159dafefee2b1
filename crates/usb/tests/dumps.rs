//! Real usb/devices dumps (tests/fixtures/*.txt, each with its `# source:` line) through
//! the parser and doctor: concrete facts per file.

use ncmd_usb::doctor::{ModemReport, Report, Severity};
use ncmd_usb::knowledge::{Role, UsbMode};
use ncmd_usb::{diagnose, parse_devices_file, render, DevicesFile, DoctorContext};
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> String {
    let path = fixture_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn parse(name: &str) -> DevicesFile {
    parse_devices_file(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn doctor(name: &str) -> (DevicesFile, Report) {
    let file = parse(name);
    let ctx = DoctorContext {
        input_notes: file.notes.clone(),
        ..DoctorContext::default()
    };
    let report = diagnose(&file.devices, &ctx);
    (file, report)
}

fn only_modem(report: &Report) -> &ModemReport {
    assert_eq!(report.modems.len(), 1, "{report:#?}");
    &report.modems[0]
}

fn role_of(m: &ModemReport, number: u8) -> Role {
    m.interfaces
        .iter()
        .find(|i| i.number == number)
        .map(|i| i.role)
        .unwrap_or(Role::Unknown)
}

fn iface(m: &ModemReport, number: u8) -> &ncmd_usb::doctor::InterfaceReport {
    m.interfaces
        .iter()
        .find(|i| i.number == number)
        .unwrap_or_else(|| panic!("no interface {number}"))
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("tests/fixtures")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

fn has_fix(report: &Report, needle: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.fix.iter().any(|s| s.contains(needle)))
}

fn has_problem(report: &Report, needle: &str) -> bool {
    report.findings.iter().any(|f| f.problem.contains(needle))
}

fn errors(report: &Report) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}

#[test]
fn every_fixture_names_its_source_and_renders() {
    let names = fixture_names();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let text = read(&name);
        assert!(
            text.starts_with("# source: "),
            "{name} lacks its source line"
        );
        let (_, report) = doctor(&name);
        assert!(!report.modems.is_empty(), "{name}: no modem");
        let human = render(&report);
        assert!(human.starts_with("ncmd doctor: "), "{name}: {human}");
        let json = serde_json::to_value(&report).expect("report serialises");
        assert!(json["modems"][0]["mode"].is_string(), "{name}: {json}");
    }
}

#[test]
fn huawei_e3372h_stick_ncm() {
    let (file, report) = doctor("huawei_e3372h-stick-ncm_12d1_1506.txt");
    assert!(file.notes.is_empty(), "{:?}", file.notes);
    let m = only_modem(&report);
    assert_eq!(m.id, "12d1:1506");
    assert_eq!(m.usb_path.as_deref(), Some("3-1"));
    assert_eq!(m.mode, UsbMode::Ncm);
    assert!(m.ncmd_can_drive);
    // I:* marks alt 1 of interface 2 active (alt 0 has one endpoint, alt 1 three).
    let ncm = iface(m, 2);
    assert_eq!(
        (ncm.alt, ncm.role, ncm.driver.as_deref()),
        (1, Role::NcmControl, Some("huawei_cdc_ncm"))
    );
    assert_eq!(ncm.package.as_deref(), Some("kmod-usb-net-huawei-cdc-ncm"));
    assert_eq!(
        (role_of(m, 1), iface(m, 1).driver.as_deref()),
        (Role::AtPort, Some("option"))
    );
    // ff/03/10 (4G modem port) is unbound in this dump; the PCUI port is the one to use.
    assert_eq!(
        (role_of(m, 0), iface(m, 0).driver.as_deref()),
        (Role::Modem, None)
    );
    assert_eq!(role_of(m, 3), Role::Storage);
    assert!(m.missing_packages.is_empty());
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
    assert!(m.control_port_predicted);
    assert_eq!(errors(&report), 0, "{report:#?}");
    let uci = m.uci.as_deref().unwrap_or_default();
    assert!(
        uci.contains("option proto 'ncm'") && uci.contains("option device '/dev/ttyUSB0'"),
        "{uci}"
    );
}

#[test]
fn huawei_e398_without_ncm_driver() {
    let (_, report) = doctor("huawei_e398-ncm-unbound_12d1_1506.txt");
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Ncm);
    let ncm = iface(m, 1);
    assert_eq!((ncm.role, ncm.driver.as_deref()), (Role::NcmControl, None));
    assert_eq!(ncm.expected_driver.as_deref(), Some("huawei_cdc_ncm"));
    assert_eq!(
        m.missing_packages,
        vec!["kmod-usb-net-huawei-cdc-ncm".to_string()]
    );
    assert!(
        has_fix(&report, "opkg install kmod-usb-net-huawei-cdc-ncm"),
        "{report:#?}"
    );
    assert_eq!(report.findings[0].severity, Severity::Error);
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
    assert!(render(&report)
        .lines()
        .nth(2)
        .is_some_and(|l| l.contains("kernel drivers missing")));
}

#[test]
fn huawei_e5372_usb_devices_format() {
    let (file, report) = doctor("huawei_e5372-mobilewifi-ncm_12d1_1506.txt");
    assert!(file.notes.is_empty(), "{:?}", file.notes);
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Ncm);
    // usb-devices lists only the current alt setting: alt 1 of the NCM interface.
    assert_eq!(
        (iface(m, 1).alt, iface(m, 1).driver.as_deref()),
        (1, Some("huawei_cdc_ncm"))
    );
    assert_eq!(role_of(m, 0), Role::AtPort);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(render(&report).starts_with("ncmd doctor: nothing to fix"));
}

#[test]
fn huawei_e3372_hilink_router_mode() {
    let (_, report) = doctor("huawei_e3372-hilink-ecm_12d1_14dc.txt");
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::RouterMode);
    assert!(!m.ncmd_can_drive);
    assert_eq!(
        (role_of(m, 0), iface(m, 0).driver.as_deref()),
        (Role::EcmControl, Some("cdc_ether"))
    );
    assert_eq!(role_of(m, 1), Role::NetworkData);
    // The unbound storage interface is not a missing package: the stick works without it.
    assert_eq!(
        (role_of(m, 2), iface(m, 2).driver.as_deref()),
        (Role::Storage, None)
    );
    assert!(m.missing_packages.is_empty());
    assert_eq!(m.control_port, None);
    assert!(
        has_fix(&report, "usb_modeswitch -v 0x12d1 -p 0x14dc -X"),
        "{report:#?}"
    );
    assert!(m
        .uci
        .as_deref()
        .is_some_and(|u| u.contains("option proto 'dhcp'")));
}

#[test]
fn huawei_me906s_mbim_in_configuration_3() {
    let (file, report) = doctor("huawei_me906s-mbim-cfg3_12d1_15c1.txt");
    assert_eq!(file.devices[0].num_configurations, Some(3));
    assert_eq!(file.devices[0].active_configuration, Some(3));
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Mbim);
    assert_eq!(
        (role_of(m, 0), iface(m, 0).driver.as_deref()),
        (Role::MbimControl, Some("cdc_mbim"))
    );
    assert_eq!(iface(m, 1).alt, 1);
    assert_eq!(role_of(m, 2), Role::Gps);
    assert_eq!(m.control_port, None);
    assert!(
        has_fix(&report, "usb_modeswitch -v 0x12d1 -p 0x15c1 -u"),
        "{report:#?}"
    );
    assert!(m.uci.is_none());
}

#[test]
fn huawei_me909u_inactive_configuration_and_hubs() {
    let (file, report) = doctor("huawei_me909u-521-zbt-we826_12d1_1573.txt");
    assert_eq!(file.devices.len(), 3);
    let dev = &file.devices[2];
    assert_eq!(dev.usb_path.as_deref(), Some("1-1.2"));
    assert_eq!(dev.active_configuration, None);
    assert!(dev.interfaces.is_empty());
    // Configuration 1 is listed without `*` in a dump that marks active ones: inactive.
    assert_eq!(dev.inactive_configurations.len(), 1);
    let cfg1 = &dev.inactive_configurations[0];
    assert_eq!(cfg1.value, 1);
    assert_eq!(cfg1.interfaces.len(), 4, "interface 4 is cut and dropped");
    assert!(
        cfg1.interfaces.iter().all(|i| i.driver.is_none()),
        "`Driver=` empty means unbound"
    );
    assert!(
        file.notes
            .iter()
            .any(|n| n.contains("incomplete I: record")),
        "{:?}",
        file.notes
    );
    assert_eq!(report.other_devices, 2);
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Unknown);
    assert!(has_problem(&report, "no active USB configuration"));
}

#[test]
fn quectel_ec25_and_ep06_qmi() {
    for name in [
        "quectel_ec25-qmi_2c7c_0125.txt",
        "quectel_ep06-e-qmi_2c7c_0306.txt",
    ] {
        let (_, report) = doctor(name);
        let m = only_modem(&report);
        assert_eq!(m.mode, UsbMode::Qmi, "{name}");
        assert_eq!(
            (role_of(m, 4), iface(m, 4).driver.as_deref()),
            (Role::QmiNetwork, Some("qmi_wwan"))
        );
        assert_eq!(role_of(m, 0), Role::Diagnostics, "{name}");
        assert_eq!(role_of(m, 1), Role::Gps, "{name}");
        assert_eq!(role_of(m, 2), Role::AtPort, "{name}");
        assert_eq!(role_of(m, 3), Role::Modem, "{name}");
        assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB2"), "{name}");
        assert!(
            has_fix(&report, "(/dev/ttyUSB2) send `AT+QCFG=\"usbnet\",1`"),
            "{report:#?}"
        );
        assert!(m.missing_packages.is_empty());
    }
}

#[test]
fn quectel_ec25_rndis_cut_before_its_at_port() {
    let (file, report) = doctor("quectel_ec25-rndis-glinet-x750_2c7c_0125.txt");
    assert!(
        file.notes
            .iter()
            .any(|n| n.contains("6 interfaces, 4 listed")),
        "{:?}",
        file.notes
    );
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Rndis);
    assert_eq!(
        (role_of(m, 0), iface(m, 0).driver.as_deref()),
        (Role::RndisControl, Some("rndis_host"))
    );
    // In RNDIS composition the serial ports shift by two: 2 = DM, 3 = GNSS.
    assert_eq!(role_of(m, 2), Role::Diagnostics);
    assert_eq!(role_of(m, 3), Role::Gps);
    assert_eq!(m.control_port, None);
    assert!(has_problem(&report, "no AT command port"));
}

#[test]
fn sierra_dw5811e_mbim() {
    let (file, report) = doctor("sierra_dw5811e-em7455-mbim_413c_81b6.txt");
    assert_eq!(file.devices[0].speed.as_deref(), Some("5000"));
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Mbim);
    assert_eq!(
        (role_of(m, 3), iface(m, 3).driver.as_deref()),
        (Role::AtPort, Some("qcserial"))
    );
    assert_eq!(role_of(m, 0), Role::Diagnostics);
    assert_eq!((role_of(m, 12), iface(m, 13).alt), (Role::MbimControl, 1));
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB2"));
    assert!(has_fix(&report, "proto 'mbim'"));
}

#[test]
fn fibocom_l850_mbim_with_acm_ports() {
    let (file, report) = doctor("fibocom_l850-gl-mbim_2cb7_0007.txt");
    assert!(
        file.notes
            .iter()
            .any(|n| n.contains("8 interfaces, 6 listed")),
        "{:?}",
        file.notes
    );
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Mbim);
    assert_eq!(
        (role_of(m, 2), iface(m, 2).driver.as_deref()),
        (Role::AtPort, Some("cdc_acm"))
    );
    // The ACM data interfaces get no tty of their own.
    assert_eq!(iface(m, 3).tty, None);
    assert_eq!(iface(m, 4).tty.as_deref(), Some("ttyACM1"));
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyACM0"));
}

#[test]
fn zte_mf286r_rndis_with_acm_at_port() {
    let (file, report) = doctor("zte_mf286r-internal-rndis-acm-ecm_19d2_1489.txt");
    assert_eq!(
        file.devices[0].bus,
        Some(1),
        "the `>T:` quoted line is read"
    );
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Rndis);
    assert!(m.ncmd_can_drive);
    assert_eq!(role_of(m, 0), Role::RndisControl);
    assert_eq!(
        (role_of(m, 2), iface(m, 2).driver.as_deref()),
        (Role::AtPort, Some("cdc_acm"))
    );
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyACM0"));
    assert_eq!(errors(&report), 0);
    assert!(m
        .uci
        .as_deref()
        .is_some_and(|u| u.contains("option device '/dev/ttyACM0'")));
}

#[test]
fn context_checks_beyond_usb() {
    let file = parse("huawei_e3372h-stick-ncm_12d1_1506.txt");
    let ctx = DoctorContext {
        configured: vec![ncmd_usb::ConfiguredIface {
            name: "lte".into(),
            device: "/dev/ttyUSB1".into(),
            resolved: None,
            share_port: None,
        }],
        rebind_protection: ncmd_usb::parse_rebind_protection(
            "config dnsmasq\n\toption rebind_protection '1'\n",
        ),
        probes: vec![
            ncmd_usb::PortProbe {
                port: "/dev/ttyUSB3".into(),
                answered: false,
                sim_ready: None,
            },
            ncmd_usb::PortProbe {
                port: "/dev/ttyUSB0".into(),
                answered: true,
                sim_ready: Some(false),
            },
        ],
        installer: ncmd_usb::doctor::Installer::Opkg,
        port_users: vec![],
        input_notes: vec![],
    };
    let report = diagnose(&file.devices, &ctx);
    let find = |subject: &str| {
        report
            .findings
            .iter()
            .filter(|f| f.subject == subject)
            .collect::<Vec<_>>()
    };
    let missing = find("interface 'lte'");
    assert_eq!(missing.len(), 1, "{report:#?}");
    assert!(missing[0].problem.contains("'/dev/ttyUSB1' does not exist"));
    assert!(missing[0]
        .fix
        .iter()
        .any(|f| f == "uci set network.lte.device='/dev/ttyUSB0' && uci commit network"));
    let silent = find("/dev/ttyUSB3");
    assert!(silent[0].problem.contains("did not answer AT"));
    assert!(silent[0].fix.iter().any(|f| f.contains("/dev/ttyUSB0")));
    assert!(find("/dev/ttyUSB0")[0].problem.contains("SIM is not ready"));
    let dns = find("dnsmasq");
    assert_eq!(dns[0].severity, Severity::Info);
    assert!(dns[0].fix[0].contains("rebind_domain"));
    // Errors come first; the UCI snippet uses the configured interface name.
    assert!(report
        .findings
        .windows(2)
        .all(|w| w[0].severity <= w[1].severity));
    assert!(report.modems[0]
        .uci
        .as_deref()
        .is_some_and(|u| u.starts_with("config interface 'lte'")));
    let human = render(&report);
    assert!(
        human.starts_with("ncmd doctor: 3 problem(s) to fix\n"),
        "{human}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["modems"][0]["mode"], "ncm");
    assert_eq!(json["modems"][0]["interfaces"][1]["role"], "at-port");
}

#[test]
fn no_modem_is_an_error_with_next_steps() {
    let hubs = parse("huawei_me909u-521-zbt-we826_12d1_1573.txt")
        .devices
        .into_iter()
        .filter(|d| d.is_hub())
        .collect::<Vec<_>>();
    let report = diagnose(&hubs, &DoctorContext::default());
    assert!(report.modems.is_empty());
    assert_eq!(report.other_devices, 2);
    assert!(has_problem(&report, "no modem found"));
}

#[test]
fn fibocom_fg650_standard_ncm_and_ecm() {
    let (_, report) = doctor("fibocom_fg650-ncm_2cb7_0a05.txt");
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Ncm);
    assert_eq!(
        (role_of(m, 0), iface(m, 0).driver.as_deref()),
        (Role::NcmControl, Some("cdc_ncm"))
    );
    assert_eq!(iface(m, 0).package.as_deref(), Some("kmod-usb-net-cdc-ncm"));
    assert_eq!(
        (role_of(m, 2), role_of(m, 3), role_of(m, 5)),
        (Role::AtPort, Role::Diagnostics, Role::Diagnostics)
    );
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);

    let (_, report) = doctor("fibocom_fg650-ecm_2cb7_0a04.txt");
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Ecm);
    assert!(m.ncmd_can_drive);
    assert_eq!(
        iface(m, 0).package.as_deref(),
        Some("kmod-usb-net-cdc-ether")
    );
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
}

#[test]
fn zte_mf871a_serial_only() {
    let (_, report) = doctor("zte_mf871a-serial-only_19d2_1481.txt");
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::SerialOnly);
    assert!(!m.ncmd_can_drive);
    assert_eq!((role_of(m, 0), role_of(m, 1)), (Role::AtPort, Role::Modem));
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
    assert!(has_fix(&report, "proto '3g'"), "{report:#?}");
    assert!(m.uci.is_none());
}

/// A modem whose port layout the table does not know: serial ports fall back to
/// "serial", the first one is offered as the AT port with a note to check it.
#[test]
fn unknown_layout_falls_back_to_the_first_serial_port() {
    let text = read("fibocom_fg650-ncm_2cb7_0a05.txt").replace("ProdID=0a05", "ProdID=0aff");
    let file = parse_devices_file(&text).expect("parses");
    let report = diagnose(&file.devices, &DoctorContext::default());
    let m = only_modem(&report);
    assert_eq!(m.mode, UsbMode::Ncm);
    assert_eq!(role_of(m, 2), Role::Serial);
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB0"));
    assert!(report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Info
            && f.fix[0].contains("ncmd at --device /dev/ttyUSB0 ATI")));
}
