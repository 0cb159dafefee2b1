//! sysfs discovery and the control-port → data-interface lookup, on fixture trees shaped
//! like real sysfs (directories, attribute files, relative symlinks) in a temp directory.
//! Layouts follow the kernel's: usb-serial ports are `<intf>/ttyUSBn/tty/ttyUSBn`,
//! cdc-acm puts `<intf>/tty/ttyACMn`, cdc-wdm `<intf>/usbmisc/cdc-wdmN`, netdevs
//! `<intf>/net/<name>`; `/sys/class/{tty,usbmisc}/<name>` link to them and their
//! `device` link points at the port (usb-serial) or the interface (acm, usbmisc).

use ncmd_usb::doctor::{ConfiguredIface, Severity};
use ncmd_usb::knowledge::{Role, UsbMode};
use ncmd_usb::{data_interface_for, diagnose, discover, DataPorts, DoctorContext, UsbError};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const HOST: &str = "devices/platform/ehci-platform/usb1";

struct Tree {
    dir: tempfile::TempDir,
}

struct Iface<'a> {
    number: u8,
    class: (u8, u8, u8),
    eps: u8,
    driver: Option<&'a str>,
}

impl Tree {
    fn new() -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        tree.device(
            "usb1",
            HOST,
            0x1d6b,
            0x0002,
            "Linux ehci_hcd",
            "EHCI Host Controller",
        );
        tree
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, content: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, format!("{content}\n")).expect("write attr");
    }

    fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.root().join(rel)).expect("mkdir");
    }

    /// Symlink at `rel` pointing to `target` (relative to the link's directory).
    fn link(&self, rel: &str, target: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        symlink(target, path).expect("symlink");
    }

    /// A USB device directory `<parent_dir>/<name>` plus its bus/usb/devices link.
    fn device(
        &self,
        name: &str,
        dir: &str,
        vid: u16,
        pid: u16,
        mfr: &str,
        product: &str,
    ) -> String {
        self.write(&format!("{dir}/idVendor"), &format!("{vid:04x}"));
        self.write(&format!("{dir}/idProduct"), &format!("{pid:04x}"));
        self.write(&format!("{dir}/manufacturer"), mfr);
        self.write(&format!("{dir}/product"), product);
        self.write(&format!("{dir}/bConfigurationValue"), "1");
        self.write(&format!("{dir}/bNumConfigurations"), "1");
        self.write(
            &format!("{dir}/bDeviceClass"),
            if name.starts_with("usb") { "09" } else { "00" },
        );
        self.write(&format!("{dir}/speed"), "480");
        self.write(&format!("{dir}/busnum"), "1");
        self.link(
            &format!("bus/usb/devices/{name}"),
            &format!("../../../{dir}"),
        );
        dir.to_string()
    }

    fn interface(&self, dev_dir: &str, dev_name: &str, i: &Iface) -> String {
        let name = format!("{dev_name}:1.{}", i.number);
        let dir = format!("{dev_dir}/{name}");
        self.write(
            &format!("{dir}/bInterfaceNumber"),
            &format!("{:02x}", i.number),
        );
        self.write(&format!("{dir}/bAlternateSetting"), " 0");
        self.write(
            &format!("{dir}/bInterfaceClass"),
            &format!("{:02x}", i.class.0),
        );
        self.write(
            &format!("{dir}/bInterfaceSubClass"),
            &format!("{:02x}", i.class.1),
        );
        self.write(
            &format!("{dir}/bInterfaceProtocol"),
            &format!("{:02x}", i.class.2),
        );
        self.write(&format!("{dir}/bNumEndpoints"), &format!("{:02x}", i.eps));
        if let Some(driver) = i.driver {
            self.mkdir(&format!("bus/usb/drivers/{driver}"));
            let depth = dir.matches('/').count() + 1;
            self.link(
                &format!("{dir}/driver"),
                &format!("{}bus/usb/drivers/{driver}", "../".repeat(depth)),
            );
        }
        self.link(
            &format!("bus/usb/devices/{name}"),
            &format!("../../../{dir}"),
        );
        dir
    }

    fn class_link(&self, class: &str, name: &str, target_dir: &str) {
        self.link(
            &format!("class/{class}/{name}"),
            &format!("../../{target_dir}"),
        );
    }

    fn usb_serial_tty(&self, iface_dir: &str, tty: &str) {
        let node = format!("{iface_dir}/{tty}/tty/{tty}");
        self.write(&format!("{node}/dev"), "188:0");
        self.link(&format!("{node}/device"), &format!("../../../{tty}"));
        self.class_link("tty", tty, &node);
        self.write(&format!("dev/{tty}"), "");
    }

    fn acm_tty(&self, iface_dir: &str, iface_name: &str, tty: &str) {
        let node = format!("{iface_dir}/tty/{tty}");
        self.write(&format!("{node}/dev"), "166:0");
        self.link(&format!("{node}/device"), &format!("../../../{iface_name}"));
        self.class_link("tty", tty, &node);
        self.write(&format!("dev/{tty}"), "");
    }

    fn cdc_wdm(&self, iface_dir: &str, iface_name: &str, name: &str) {
        let node = format!("{iface_dir}/usbmisc/{name}");
        self.write(&format!("{node}/dev"), "180:176");
        self.link(&format!("{node}/device"), &format!("../../../{iface_name}"));
        self.class_link("usbmisc", name, &node);
        self.write(&format!("dev/{name}"), "");
    }

    fn netdev(&self, iface_dir: &str, name: &str) {
        self.write(&format!("{iface_dir}/net/{name}/operstate"), "down");
    }

    fn dev(&self, name: &str) -> PathBuf {
        self.root().join("dev").join(name)
    }
}

/// Huawei E3372h stick mode (same interfaces as the OpenWrt wiki dump in
/// tests/fixtures/huawei_e3372h-stick-ncm_12d1_1506.txt) on port 1, a USB Ethernet
/// adapter on port 2.
fn huawei_stick() -> Tree {
    let t = Tree::new();
    let dev = t.device(
        "1-1",
        &format!("{HOST}/1-1"),
        0x12d1,
        0x1506,
        "HUAWEI_MOBILE",
        "HUAWEI_MOBILE",
    );
    t.interface(
        &dev,
        "1-1",
        &Iface {
            number: 0,
            class: (0xff, 3, 0x10),
            eps: 3,
            driver: None,
        },
    );
    let at = t.interface(
        &dev,
        "1-1",
        &Iface {
            number: 1,
            class: (0xff, 3, 0x12),
            eps: 2,
            driver: Some("option"),
        },
    );
    t.usb_serial_tty(&at, "ttyUSB0");
    let ncm = t.interface(
        &dev,
        "1-1",
        &Iface {
            number: 2,
            class: (0xff, 3, 0x16),
            eps: 3,
            driver: Some("huawei_cdc_ncm"),
        },
    );
    t.netdev(&ncm, "wwan0");
    t.cdc_wdm(&ncm, "1-1:1.2", "cdc-wdm0");
    t.interface(
        &dev,
        "1-1",
        &Iface {
            number: 3,
            class: (8, 6, 0x50),
            eps: 2,
            driver: Some("usb-storage"),
        },
    );
    let eth = t.device(
        "1-2",
        &format!("{HOST}/1-2"),
        0x0bda,
        0x8152,
        "Realtek",
        "USB 10/100 LAN",
    );
    let e = t.interface(
        &eth,
        "1-2",
        &Iface {
            number: 0,
            class: (0xff, 0xff, 0),
            eps: 3,
            driver: Some("r8152"),
        },
    );
    t.netdev(&e, "eth1");
    t.link(
        "dev/serial/by-id/usb-HUAWEI_MOBILE_HUAWEI_MOBILE-if01-port0",
        "../../ttyUSB0",
    );
    t
}

fn lookup(t: &Tree, dev: &Path) -> DataPorts {
    data_interface_for(t.root(), dev).unwrap_or_else(|e| panic!("{}: {e}", dev.display()))
}

#[test]
fn discover_reads_devices_interfaces_and_children() {
    let t = huawei_stick();
    let devices = discover(t.root()).expect("discover");
    assert_eq!(devices.len(), 2, "root hub excluded: {devices:#?}");
    let h = &devices[0];
    assert_eq!(
        (h.usb_path.as_deref(), h.vid, h.pid),
        (Some("1-1"), 0x12d1, 0x1506)
    );
    assert_eq!(h.manufacturer.as_deref(), Some("HUAWEI_MOBILE"));
    assert_eq!(h.active_configuration, Some(1));
    assert_eq!(h.interfaces.len(), 4);
    let at = &h.interfaces[1];
    assert_eq!(
        (at.class, at.subclass, at.protocol, at.num_endpoints),
        (0xff, 3, 0x12, Some(2))
    );
    assert_eq!(at.driver.as_deref(), Some("option"));
    assert_eq!(at.ttys, vec!["ttyUSB0".to_string()]);
    assert_eq!(h.interfaces[0].driver, None);
    let ncm = &h.interfaces[2];
    assert_eq!(
        (ncm.netdevs.clone(), ncm.cdc_wdm.clone()),
        (vec!["wwan0".to_string()], vec!["cdc-wdm0".to_string()])
    );
}

#[test]
fn ttyusb_finds_the_sibling_ncm_netdev() {
    let t = huawei_stick();
    let expected = DataPorts {
        netdev: Some("wwan0".into()),
        cdc_wdm: Some("cdc-wdm0".into()),
        usb_path: Some("1-1".into()),
        vid: Some(0x12d1),
        pid: Some(0x1506),
    };
    assert_eq!(lookup(&t, &t.dev("ttyUSB0")), expected);
    // The same through a /dev/serial/by-id link.
    let by_id = t
        .root()
        .join("dev/serial/by-id/usb-HUAWEI_MOBILE_HUAWEI_MOBILE-if01-port0");
    assert_eq!(lookup(&t, &by_id), expected);
    // And from the cdc-wdm node of huawei_cdc_ncm.
    assert_eq!(lookup(&t, &t.dev("cdc-wdm0")), expected);
}

/// ZTE MF286R-like (tests/fixtures/zte_mf286r-...): RNDIS 0-1, ACM 2-3, ECM 6-7, behind a
/// hub at 1-1 on port 3: ttyACM0 → its siblings; ECM preferred over RNDIS.
#[test]
fn ttyacm_finds_siblings_and_prefers_ecm_over_rndis() {
    let t = Tree::new();
    let hub = t.device(
        "1-1",
        &format!("{HOST}/1-1"),
        0x1a40,
        0x0101,
        "",
        "USB 2.0 Hub",
    );
    t.write(&format!("{hub}/bDeviceClass"), "09");
    let dev = t.device(
        "1-1.3",
        &format!("{hub}/1-1.3"),
        0x19d2,
        0x1489,
        "ZTE",
        "ZTE",
    );
    let rndis = t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 0,
            class: (0xe0, 1, 3),
            eps: 1,
            driver: Some("rndis_host"),
        },
    );
    t.netdev(&rndis, "usb0");
    t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 1,
            class: (0x0a, 0, 0),
            eps: 2,
            driver: Some("rndis_host"),
        },
    );
    let acm = t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 2,
            class: (2, 2, 1),
            eps: 1,
            driver: Some("cdc_acm"),
        },
    );
    t.acm_tty(&acm, "1-1.3:1.2", "ttyACM0");
    t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 3,
            class: (0x0a, 0, 0),
            eps: 2,
            driver: Some("cdc_acm"),
        },
    );
    let ecm = t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 6,
            class: (2, 6, 0),
            eps: 1,
            driver: Some("cdc_ether"),
        },
    );
    t.netdev(&ecm, "usb1");
    t.interface(
        &dev,
        "1-1.3",
        &Iface {
            number: 7,
            class: (0x0a, 0, 0),
            eps: 2,
            driver: Some("cdc_ether"),
        },
    );

    let ports = lookup(&t, &t.dev("ttyACM0"));
    assert_eq!(ports.netdev.as_deref(), Some("usb1"));
    assert_eq!(ports.usb_path.as_deref(), Some("1-1.3"));
    assert_eq!(ports.cdc_wdm, None);

    let devices = discover(t.root()).expect("discover");
    assert_eq!(devices.len(), 2);
    let report = diagnose(&devices, &DoctorContext::default());
    let m = &report.modems[0];
    assert_eq!(m.mode, UsbMode::Ecm);
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyACM0"));
    assert!(!m.control_port_predicted);
    assert_eq!(m.netdev.as_deref(), Some("usb1"));
    assert_eq!(report.other_devices, 1);
}

/// Quectel EC25 in QMI mode: configured `option device` points at the DM port.
fn quectel() -> Tree {
    let t = Tree::new();
    let dev = t.device(
        "1-1",
        &format!("{HOST}/1-1"),
        0x2c7c,
        0x0125,
        "Quectel",
        "EC25",
    );
    for (n, class, eps) in [
        (0u8, (0xff, 0xff, 0xff), 2u8),
        (1, (0xff, 0, 0), 3),
        (2, (0xff, 0, 0), 3),
        (3, (0xff, 0, 0), 3),
    ] {
        let i = t.interface(
            &dev,
            "1-1",
            &Iface {
                number: n,
                class,
                eps,
                driver: Some("option"),
            },
        );
        t.usb_serial_tty(&i, &format!("ttyUSB{n}"));
    }
    let qmi = t.interface(
        &dev,
        "1-1",
        &Iface {
            number: 4,
            class: (0xff, 0xff, 0xff),
            eps: 3,
            driver: Some("qmi_wwan"),
        },
    );
    t.netdev(&qmi, "wwan0");
    t.cdc_wdm(&qmi, "1-1:1.4", "cdc-wdm0");
    t
}

#[test]
fn cdc_wdm_uses_its_own_interface_netdev() {
    let t = quectel();
    let ports = lookup(&t, &t.dev("cdc-wdm0"));
    assert_eq!(
        (ports.netdev.as_deref(), ports.cdc_wdm.as_deref()),
        (Some("wwan0"), Some("cdc-wdm0"))
    );
    assert_eq!((ports.vid, ports.pid), (Some(0x2c7c), Some(0x0125)));
}

#[test]
fn doctor_flags_a_configured_diagnostics_port() {
    let t = quectel();
    let devices = discover(t.root()).expect("discover");
    let ctx = DoctorContext {
        configured: vec![ConfiguredIface::check("wwan", &t.dev("ttyUSB0"))],
        ..DoctorContext::default()
    };
    let report = diagnose(&devices, &ctx);
    let m = &report.modems[0];
    assert_eq!(m.interfaces[0].role, Role::Diagnostics);
    assert_eq!(m.control_port.as_deref(), Some("/dev/ttyUSB2"));
    let wrong = report
        .findings
        .iter()
        .find(|f| f.subject == "interface 'wwan'")
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(wrong.severity, Severity::Error);
    assert!(wrong.problem.contains("diagnostics"), "{}", wrong.problem);
    assert_eq!(
        wrong.fix,
        vec!["uci set network.wwan.device='/dev/ttyUSB2' && uci commit network".to_string()]
    );
}

#[test]
fn lookup_errors_say_what_is_wrong() {
    let t = huawei_stick();
    let missing = data_interface_for(t.root(), &t.dev("ttyUSB9"));
    assert!(
        matches!(missing, Err(UsbError::DeviceMissing { .. })),
        "{missing:?}"
    );
    let msg = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("ttyUSB9") && msg.contains("option device"),
        "{msg}"
    );

    // A platform UART: a tty, but no USB device above it.
    t.write("devices/platform/serial8250/tty/ttyS0/dev", "4:64");
    t.link(
        "devices/platform/serial8250/tty/ttyS0/device",
        "../../../serial8250",
    );
    t.class_link("tty", "ttyS0", "devices/platform/serial8250/tty/ttyS0");
    t.write("dev/ttyS0", "");
    let uart = data_interface_for(t.root(), &t.dev("ttyS0"));
    assert!(matches!(uart, Err(UsbError::NotUsbPort { .. })), "{uart:?}");

    t.write("dev/null", "");
    let other = data_interface_for(t.root(), &t.dev("null"));
    assert!(
        matches!(other, Err(UsbError::NotUsbPort { .. })),
        "{other:?}"
    );

    let no_sysfs = discover(&t.root().join("nowhere"));
    assert!(no_sysfs
        .err()
        .is_some_and(|e| e.to_string().contains("--sysfs-root")));
}
