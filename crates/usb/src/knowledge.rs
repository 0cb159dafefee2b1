//! What the Linux kernel binds to a modem's USB interfaces, what each interface is for,
//! which OpenWrt package provides each driver, and the known ways to switch a modem's
//! USB mode. Data only: tables of rows, each row citing where its fact comes from; the
//! lookup functions below are generic and hold no vendor branches.
//!
//! Must not know about: the report's wording, sysfs, AT transport.
//!
//! Sources (cited per row by key):
//! * `huawei_cdc_ncm.c` — torvalds/linux drivers/net/usb/huawei_cdc_ncm.c, `huawei_cdc_ncm_devs`:
//!   exactly four entries, 12d1 ff/02/16, ff/02/46, ff/02/76, ff/03/16 (there is no ff/03/46
//!   or ff/03/76 entry).
//! * `option.c` — drivers/usb/serial/option.c: Huawei `USB_VENDOR_AND_INTERFACE_INFO(0x12d1,
//!   0xff, 0x01..0x06, <protocol list>)` and ff/ff/ff; Quectel EC25/EP06 ff/ff/ff with
//!   `NUMEP2` and ff/00/00 (Bjørn Mork, lore.kernel.org/r/20200829134250.59118-1-bjorn@mork.no).
//! * `qmi_wwan.c` — drivers/net/usb/qmi_wwan.c: Quectel `QMI_MATCH_FF_FF_FF` (ff/ff/ff with
//!   more than 2 endpoints) for 2c7c:0125/0306/0512/0620/0800/0801; Huawei ff/01/{07,09,11,37,39,67,69};
//!   Sierra `QMI_FIXED_INTF(0x1199, 0x9071, 8/10)`.
//! * `qcserial.c` — drivers/usb/serial/qcserial.c, Sierra layout: interface 0 DM/DIAG,
//!   2 NMEA, 3 AT/modem.
//! * `cdc_ether.c`, `cdc_ncm.c`, `cdc_mbim.c`, `rndis_host.c`, `cdc-acm.c` — class matches
//!   (ECM 02/06/00, MDLM 02/0a/00, NCM 02/0d/00, MBIM 02/0e/00, RNDIS 02/02/ff,
//!   e0/01/03, ef/01/01, ef/04/01, ACM 02/02/00..06).
//! * `mm-huawei` — ModemManager src/plugins/huawei/77-mm-huawei-net-port-types.rules:
//!   Huawei ff/0x/01 modem, ff/0x/02 AT (PCUI), ff/01/05 and ff/01/14 GPS NMEA.
//! * `huawei-setport` — gist.github.com/aliicex/8bdade7383fa58d874bb72cc54f84d2c (E3372
//!   `AT^SETPORT` port types: 1 3G modem, 2 3G PCUI, 3 3G diag, 10 4G modem, 12 4G PCUI,
//!   13 4G diag, 14 4G GPS, 16 NCM; "12 is always required").
//! * `qcserial.c` also documents the Quectel EC20 layout: 0 DM/DIAG, 1 NMEA, 2 AT-capable
//!   modem port, 3 modem.
//! * `quectel-ports` — forums.quectel.com/t/cant-send-at-command-after-changing-data-interface-to-0-0/47332
//!   (RMNET/ECM/MBIM layout: DM, GNSS, AT, modem, net; RNDIS shifts them by two).
//! * `fibocom-fg650` — kernel commit fb1f4584b121 "USB: serial: option: add Fibocom
//!   FM650/FG650": "the first serial port is the AT console while the other 3 appear to be
//!   diagnostic interfaces".
//! * `zte-mf871a` — linux-usb patch "USB: serial: option: add support for ZTE MF871A"
//!   (2019): "0: AT, 1: MODEM".
//! * `usb.mk` — openwrt/openwrt package/kernel/linux/modules/usb.mk (package names).

use serde::Serialize;

/// What an interface is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// AT command port (Huawei "PCUI", Quectel/Sierra AT port, CDC-ACM).
    AtPort,
    /// PPP modem port (answers AT too, but is meant for dial-up data).
    Modem,
    /// Qualcomm DM / Huawei DIAG: binary diagnostics, never AT.
    Diagnostics,
    /// GPS NMEA stream.
    Gps,
    /// Serial port whose function the descriptors do not tell.
    Serial,
    /// NCM control interface (the netdev hangs off it).
    NcmControl,
    /// MBIM control interface.
    MbimControl,
    /// QMI network interface (netdev + QMI over cdc-wdm).
    QmiNetwork,
    /// CDC ECM control interface.
    EcmControl,
    /// RNDIS control interface.
    RndisControl,
    /// CDC data interface claimed by the control interface's driver.
    NetworkData,
    /// Standalone CDC WDM management interface.
    Management,
    /// Mass storage: virtual CD-ROM with Windows drivers, or the microSD slot.
    Storage,
    /// Hub.
    Hub,
    /// Nothing known.
    Unknown,
}

impl Role {
    /// Text for people.
    pub fn describe(self) -> &'static str {
        match self {
            Role::AtPort => "AT command port",
            Role::Modem => "PPP modem port",
            Role::Diagnostics => "diagnostics (not AT)",
            Role::Gps => "GPS NMEA",
            Role::Serial => "serial port",
            Role::NcmControl => "NCM network control",
            Role::MbimControl => "MBIM control",
            Role::QmiNetwork => "QMI network",
            Role::EcmControl => "ECM network control",
            Role::RndisControl => "RNDIS network control",
            Role::NetworkData => "network data",
            Role::Management => "CDC WDM management",
            Role::Storage => "mass storage (CD-ROM/microSD)",
            Role::Hub => "hub",
            Role::Unknown => "unknown",
        }
    }

    /// A serial port (tty) of some kind.
    pub fn is_serial(self) -> bool {
        matches!(
            self,
            Role::AtPort | Role::Modem | Role::Diagnostics | Role::Gps | Role::Serial
        )
    }

    /// Roles of a serial port that answers AT commands, best first.
    pub fn at_preference(self) -> Option<u8> {
        match self {
            Role::AtPort => Some(0),
            Role::Modem => Some(1),
            // A port of unknown function may still be the AT port: last resort.
            Role::Serial => Some(2),
            _ => None,
        }
    }
}

/// Byte selector in a match row.
#[derive(Debug, Clone, Copy)]
pub enum Sel {
    Any,
    Is(u8),
    Range(u8, u8),
    OneOf(&'static [u8]),
}

impl Sel {
    fn matches(self, v: u8) -> bool {
        match self {
            Sel::Any => true,
            Sel::Is(x) => v == x,
            Sel::Range(lo, hi) => (lo..=hi).contains(&v),
            Sel::OneOf(list) => list.contains(&v),
        }
    }
}

/// One row: "an interface like this is bound by `driver` and serves as `role`".
#[derive(Debug, Clone, Copy)]
pub struct BindingRule {
    /// Vendor the row applies to; `None` = any vendor.
    pub vid: Option<u16>,
    /// Products the row applies to (with `vid`); empty = all.
    pub pids: &'static [u16],
    pub class: u8,
    pub subclass: Sel,
    pub protocol: Sel,
    /// Interface numbers; empty = any.
    pub interfaces: &'static [u8],
    /// Only interfaces with at least / at most this many endpoints.
    pub min_endpoints: Option<u8>,
    pub max_endpoints: Option<u8>,
    /// Only the n-th (0-based) interface of the device with this exact class triple.
    pub ordinal: Option<u8>,
    /// Kernel driver; `None` for interfaces claimed by their control interface's driver.
    pub driver: Option<&'static str>,
    pub role: Role,
    pub source: &'static str,
}

const fn rule(
    class: u8,
    subclass: Sel,
    protocol: Sel,
    driver: &'static str,
    role: Role,
    source: &'static str,
) -> BindingRule {
    BindingRule {
        vid: None,
        pids: &[],
        class,
        subclass,
        protocol,
        interfaces: &[],
        min_endpoints: None,
        max_endpoints: None,
        ordinal: None,
        driver: Some(driver),
        role,
        source,
    }
}

const fn vendor(vid: u16, r: BindingRule) -> BindingRule {
    BindingRule {
        vid: Some(vid),
        ..r
    }
}

const fn products(vid: u16, pids: &'static [u16], r: BindingRule) -> BindingRule {
    BindingRule {
        vid: Some(vid),
        pids,
        ..r
    }
}

const HUAWEI: u16 = 0x12d1;
const QUECTEL: u16 = 0x2c7c;
const SIERRA: u16 = 0x1199;
const DELL: u16 = 0x413c;
const FIBOCOM: u16 = 0x2cb7;
const ZTE: u16 = 0x19d2;
/// Source key of the Quectel port-order rows.
const QUECTEL_PORTS: &str = "option.c; qcserial.c (EC20 layout); quectel-ports";
/// FG650/FM650 in ECM, NCM, RNDIS, MBIM mode.
const FIBOCOM_FG650: &[u16] = &[0x0a04, 0x0a05, 0x0a06, 0x0a07];

/// Huawei option protocols (option.c), minus the ones with a role of their own below.
const HUAWEI_OPTION_OTHER: &[u8] = &[
    0x04, 0x06, 0x0a, 0x0b, 0x0d, 0x0e, 0x0f, 0x15, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x31, 0x32,
    0x33, 0x34, 0x35, 0x36, 0x3a, 0x3b, 0x3d, 0x3e, 0x3f, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x61, 0x62,
    0x63, 0x64, 0x65, 0x66, 0x6a, 0x6b, 0x6d, 0x6e, 0x6f, 0x72, 0x73, 0x74, 0x75, 0x78, 0x79, 0x7a,
    0x7b, 0x7c,
];
/// Quectel products whose QMI interface is any ff/ff/ff with more than two endpoints.
const QUECTEL_QMI_FF: &[u16] = &[0x0125, 0x0306, 0x0512, 0x0620, 0x0800, 0x0801];
/// Sierra Wireless MC/EM74xx, EM7565, EM7590 and Dell-branded Sierra cards: `DEVICE_SWI`
/// entries of qcserial.c (Sierra layout).
const SIERRA_QCSERIAL: &[u16] = &[
    0x9071, 0x9079, 0x907b, 0x9090, 0x9091, 0x90d2, 0xc080, 0xc081,
];
const DELL_QCSERIAL: &[u16] = &[
    0x81a2, 0x81a3, 0x81a4, 0x81a8, 0x81a9, 0x81b1, 0x81b3, 0x81b5, 0x81b6, 0x81c2, 0x81cb, 0x81cc,
    0x81cf, 0x81d0, 0x81d1, 0x81d2, 0x8217, 0x8218,
];

/// The binding table, most specific rows first; the first matching row wins.
#[rustfmt::skip]
pub static BINDINGS: &[BindingRule] = &[
    // Huawei NCM control, vendor-specific class (huawei_cdc_ncm_devs has exactly these four).
    vendor(HUAWEI, rule(0xff, Sel::Is(0x02), Sel::OneOf(&[0x16, 0x46, 0x76]), "huawei_cdc_ncm", Role::NcmControl, "huawei_cdc_ncm.c")),
    vendor(HUAWEI, rule(0xff, Sel::Is(0x03), Sel::Is(0x16), "huawei_cdc_ncm", Role::NcmControl, "huawei_cdc_ncm.c")),
    // Huawei QMI.
    vendor(HUAWEI, rule(0xff, Sel::Is(0x01), Sel::OneOf(&[0x07, 0x09, 0x11, 0x37, 0x39, 0x67, 0x69]), "qmi_wwan", Role::QmiNetwork, "qmi_wwan.c")),
    // Huawei serial ports (option), role from the interface protocol.
    vendor(HUAWEI, rule(0xff, Sel::Range(0x01, 0x06), Sel::OneOf(&[0x02, 0x12]), "option", Role::AtPort, "option.c; mm-huawei; huawei-setport")),
    vendor(HUAWEI, rule(0xff, Sel::Range(0x01, 0x06), Sel::OneOf(&[0x01, 0x10]), "option", Role::Modem, "option.c; mm-huawei; huawei-setport")),
    vendor(HUAWEI, rule(0xff, Sel::Range(0x01, 0x06), Sel::OneOf(&[0x03, 0x13]), "option", Role::Diagnostics, "option.c; huawei-setport")),
    vendor(HUAWEI, rule(0xff, Sel::Range(0x01, 0x06), Sel::OneOf(&[0x05, 0x14]), "option", Role::Gps, "option.c; mm-huawei; huawei-setport")),
    vendor(HUAWEI, rule(0xff, Sel::Range(0x01, 0x06), Sel::OneOf(HUAWEI_OPTION_OTHER), "option", Role::Serial, "option.c")),
    vendor(HUAWEI, rule(0xff, Sel::Is(0xff), Sel::Is(0xff), "option", Role::Serial, "option.c")),
    vendor(HUAWEI, rule(0x02, Sel::Is(0x06), Sel::Is(0xff), "cdc_ether", Role::EcmControl, "cdc_ether.c")),
    // Quectel: QMI on ff/ff/ff with >2 endpoints, DM on the 2-endpoint ff/ff/ff,
    // then GNSS, AT, modem on the ff/00/00 ports in order.
    BindingRule { min_endpoints: Some(3), ..products(QUECTEL, QUECTEL_QMI_FF, rule(0xff, Sel::Is(0xff), Sel::Is(0xff), "qmi_wwan", Role::QmiNetwork, "qmi_wwan.c")) },
    BindingRule { max_endpoints: Some(2), ..vendor(QUECTEL, rule(0xff, Sel::Is(0xff), Sel::Is(0xff), "option", Role::Diagnostics, "option.c; quectel-ports")) },
    BindingRule { ordinal: Some(0), ..vendor(QUECTEL, rule(0xff, Sel::Is(0x00), Sel::Is(0x00), "option", Role::Gps, QUECTEL_PORTS)) },
    BindingRule { ordinal: Some(1), ..vendor(QUECTEL, rule(0xff, Sel::Is(0x00), Sel::Is(0x00), "option", Role::AtPort, QUECTEL_PORTS)) },
    BindingRule { ordinal: Some(2), ..vendor(QUECTEL, rule(0xff, Sel::Is(0x00), Sel::Is(0x00), "option", Role::Modem, QUECTEL_PORTS)) },
    // Sierra Wireless (and Dell-branded Sierra) qcserial layout; QMI on 8 and 10.
    BindingRule { interfaces: &[8, 10], ..products(SIERRA, &[0x9071], rule(0xff, Sel::Is(0xff), Sel::Is(0xff), "qmi_wwan", Role::QmiNetwork, "qmi_wwan.c")) },
    BindingRule { interfaces: &[0], ..products(SIERRA, SIERRA_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::Diagnostics, "qcserial.c")) },
    BindingRule { interfaces: &[2], ..products(SIERRA, SIERRA_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::Gps, "qcserial.c")) },
    BindingRule { interfaces: &[3], ..products(SIERRA, SIERRA_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::AtPort, "qcserial.c")) },
    BindingRule { interfaces: &[0], ..products(DELL, DELL_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::Diagnostics, "qcserial.c")) },
    BindingRule { interfaces: &[2], ..products(DELL, DELL_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::Gps, "qcserial.c")) },
    BindingRule { interfaces: &[3], ..products(DELL, DELL_QCSERIAL, rule(0xff, Sel::Any, Sel::Any, "qcserial", Role::AtPort, "qcserial.c")) },
    // Fibocom FG650/FM650 (all four compositions): first ff/00/00 port = AT console, the
    // others diagnostics.
    BindingRule { ordinal: Some(0), ..products(FIBOCOM, FIBOCOM_FG650, rule(0xff, Sel::Is(0), Sel::Is(0), "option", Role::AtPort, "fibocom-fg650")) },
    products(FIBOCOM, FIBOCOM_FG650, rule(0xff, Sel::Is(0), Sel::Is(0), "option", Role::Diagnostics, "fibocom-fg650")),
    // ZTE MF871A: 0 AT, 1 modem.
    BindingRule { interfaces: &[0], ..products(ZTE, &[0x1481], rule(0xff, Sel::Is(0), Sel::Is(0), "option", Role::AtPort, "zte-mf871a")) },
    BindingRule { interfaces: &[1], ..products(ZTE, &[0x1481], rule(0xff, Sel::Is(0), Sel::Is(0), "option", Role::Modem, "zte-mf871a")) },
    // Class-defined functions, any vendor.
    rule(0x02, Sel::Is(0x0d), Sel::Is(0x00), "cdc_ncm", Role::NcmControl, "cdc_ncm.c"),
    rule(0x02, Sel::Is(0x0e), Sel::Is(0x00), "cdc_mbim", Role::MbimControl, "cdc_mbim.c"),
    rule(0x02, Sel::Is(0x06), Sel::Is(0x00), "cdc_ether", Role::EcmControl, "cdc_ether.c"),
    rule(0x02, Sel::Is(0x0a), Sel::Is(0x00), "cdc_ether", Role::EcmControl, "cdc_ether.c"),
    rule(0x02, Sel::Is(0x02), Sel::Is(0xff), "rndis_host", Role::RndisControl, "rndis_host.c"),
    rule(0xe0, Sel::Is(0x01), Sel::Is(0x03), "rndis_host", Role::RndisControl, "rndis_host.c"),
    rule(0xef, Sel::Is(0x01), Sel::Is(0x01), "rndis_host", Role::RndisControl, "rndis_host.c"),
    rule(0xef, Sel::Is(0x04), Sel::Is(0x01), "rndis_host", Role::RndisControl, "rndis_host.c"),
    rule(0x02, Sel::Is(0x02), Sel::Range(0x00, 0x06), "cdc_acm", Role::AtPort, "cdc-acm.c"),
    rule(0x02, Sel::Is(0x09), Sel::Any, "cdc_wdm", Role::Management, "cdc-wdm.c"),
    BindingRule { driver: None, ..rule(0x0a, Sel::Any, Sel::Any, "", Role::NetworkData, "CDC: data interface claimed by its control interface's driver") },
    rule(0x08, Sel::Any, Sel::Any, "usb-storage", Role::Storage, "usb-storage"),
    rule(0x09, Sel::Any, Sel::Any, "hub", Role::Hub, "usb core"),
];

/// Which OpenWrt package provides each driver (usb.mk).
pub static PACKAGES: &[(&str, &str)] = &[
    ("huawei_cdc_ncm", "kmod-usb-net-huawei-cdc-ncm"),
    ("cdc_ncm", "kmod-usb-net-cdc-ncm"),
    ("cdc_mbim", "kmod-usb-net-cdc-mbim"),
    ("cdc_ether", "kmod-usb-net-cdc-ether"),
    ("rndis_host", "kmod-usb-net-rndis"),
    ("qmi_wwan", "kmod-usb-net-qmi-wwan"),
    ("option", "kmod-usb-serial-option"),
    ("qcserial", "kmod-usb-serial-qualcomm"),
    ("cdc_acm", "kmod-usb-acm"),
    ("cdc_wdm", "kmod-usb-wdm"),
    ("usb-storage", "kmod-usb-storage"),
];

/// USB vendors that make cellular modems (used to tell a modem from a keyboard).
pub static MODEM_VENDORS: &[(u16, &str)] = &[
    (0x12d1, "Huawei"),
    (0x2c7c, "Quectel"),
    (0x05c6, "Qualcomm"),
    (0x1199, "Sierra Wireless"),
    (0x19d2, "ZTE"),
    (0x2cb7, "Fibocom"),
    (0x1508, "Fibocom"),
    (0x1e0e, "SIMCom"),
    (0x1bc7, "Telit"),
    (0x2cd2, "MikroTik"),
    (0x1e2d, "Cinterion"),
    (0x0bdb, "Ericsson"),
    (0x1410, "Novatel"),
    (0x2001, "D-Link"),
    (0x2dee, "MeiG"),
    (0x1782, "Spreadtrum/UNISOC"),
    (0x1c9e, "Longcheer"),
    (0x0e8d, "MediaTek"),
];

/// The USB data path a function gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsbMode {
    Ncm,
    Ecm,
    Rndis,
    Mbim,
    Qmi,
    /// ECM/RNDIS with no AT port: the stick is a router (Huawei HiLink), managed by its web UI.
    RouterMode,
    /// Only mass storage: the virtual CD-ROM ("ZeroCD") before a mode switch.
    StorageOnly,
    /// Serial ports only: PPP dial-up, no network interface.
    SerialOnly,
    Unknown,
}

impl UsbMode {
    pub fn describe(self) -> &'static str {
        match self {
            UsbMode::Ncm => "NCM (network over USB, dialled by AT)",
            UsbMode::Ecm => "ECM (CDC Ethernet)",
            UsbMode::Rndis => "RNDIS",
            UsbMode::Mbim => "MBIM",
            UsbMode::Qmi => "QMI (qmi_wwan)",
            UsbMode::RouterMode => {
                "router mode (HiLink-style: Ethernet to a router inside the stick)"
            }
            UsbMode::StorageOnly => "storage/CD-ROM only (needs a USB mode switch)",
            UsbMode::SerialOnly => "serial ports only (PPP)",
            UsbMode::Unknown => "unknown",
        }
    }

    /// Whether ncmd can run this data path (AT-dialled Ethernet over USB).
    pub fn ncmd_can_drive(self) -> bool {
        matches!(self, UsbMode::Ncm | UsbMode::Ecm | UsbMode::Rndis)
    }

    /// The data mode a control role stands for.
    pub fn of_role(role: Role) -> Option<UsbMode> {
        match role {
            Role::NcmControl => Some(UsbMode::Ncm),
            Role::EcmControl => Some(UsbMode::Ecm),
            Role::RndisControl => Some(UsbMode::Rndis),
            Role::MbimControl => Some(UsbMode::Mbim),
            Role::QmiNetwork => Some(UsbMode::Qmi),
            _ => None,
        }
    }
}

/// How to get a modem from one USB mode into one ncmd can drive (NCM, or ECM where the
/// vendor offers no NCM).
#[derive(Debug, Clone, Copy)]
pub struct ModeSwitch {
    pub vid: u16,
    /// Products; empty = the whole vendor.
    pub pids: &'static [u16],
    /// Modes this advice applies to.
    pub from: &'static [UsbMode],
    /// What to do, in order. `{vid}`, `{pid}` are replaced by the device's ids.
    pub steps: &'static [&'static str],
    pub source: &'static str,
}

/// Known mode switches, most specific first.
pub static MODE_SWITCHES: &[ModeSwitch] = &[
    ModeSwitch {
        vid: HUAWEI,
        pids: &[0x14db, 0x14dc],
        from: &[UsbMode::RouterMode, UsbMode::Ecm, UsbMode::Rndis],
        steps: &[
            "HiLink firmware has no AT port: either use it as it is (proto 'dhcp' on its network device, web UI at its gateway address), or",
            "switch it to stick mode: on E3372h-320 class sticks `usb_modeswitch -v 0x{vid} -p 0x{pid} -X` (the \"HuaweiAlt\" message) gives 12d1:155e with a CDC-NCM function; older HiLink sticks need stick firmware",
        ],
        source: "https://forum.openwrt.org/t/huawei-e3372h-320-in-ncm-mode/126018 ; https://forum.openwrt.org/t/huawei-e3533-usb-modem-dongle-usbmode-switch/28744",
    },
    ModeSwitch {
        vid: HUAWEI,
        pids: &[],
        from: &[UsbMode::SerialOnly, UsbMode::Ecm, UsbMode::Rndis, UsbMode::Mbim, UsbMode::Qmi],
        steps: &[
            "on the AT port ({at}) send `AT^SETPORT?` and note the answer (to undo), then `AT^SETPORT=\"FF;12,16\"` (PCUI + NCM; keep 12 in the list or the stick loses its AT port), then `AT^RESET` or unplug and replug",
        ],
        source: "https://gist.github.com/aliicex/8bdade7383fa58d874bb72cc54f84d2c",
    },
    ModeSwitch {
        vid: QUECTEL,
        pids: &[],
        from: &[UsbMode::Qmi, UsbMode::Mbim, UsbMode::Rndis],
        steps: &[
            "on the AT port ({at}) send `AT+QCFG=\"usbnet\",1` (0 = QMI, 1 = ECM, 2 = MBIM, 3 = RNDIS), then `AT+CFUN=1,1` to restart the module; ncmd then dials with AT+QNETDEVCTL over the ECM interface",
        ],
        source: "https://openwrt.org/docs/guide-user/network/wan/wwan/ltedongle ; https://forum.openwrt.org/t/qmi-and-mbim-interface-issue-with-modem/202922",
    },
];

/// A modem that shows several USB configurations can often be moved to another one.
pub const CONFIG_SWITCH_STEPS: &[&str] = &[
    "the modem offers {n} USB configurations ({active}); another may carry ECM/NCM: try `usb_modeswitch -v 0x{vid} -p 0x{pid} -u <N>` (or `echo N > /sys/bus/usb/devices/{dev}/bConfigurationValue`) and run ncmd doctor again",
];
pub const CONFIG_SWITCH_SOURCE: &str = "https://lists.freedesktop.org/archives/modemmanager-devel/2016-March/002727.html (Huawei assigns configuration numbers per firmware) ; Novatel U620L Linux integration guide (`usb_modeswitch -u 2`)";

/// For storage-only modems, after installing usb-modeswitch (which switches on hotplug).
pub const STORAGE_SWITCH_STEPS: &[&str] = &[
    "unplug and replug the modem; it should come back with a new product id and serial/network interfaces",
];
pub const STORAGE_SWITCH_SOURCE: &str =
    "https://openwrt.org/docs/guide-user/network/wan/wwan/usb-modeswitching";

/// The first binding row that matches interface `iface` of `device` (`ordinal` = how many
/// earlier interfaces of the device share its class triple).
pub fn binding_for(
    vid: u16,
    pid: u16,
    number: u8,
    class: (u8, u8, u8),
    num_endpoints: Option<u8>,
    ordinal: u8,
) -> Option<&'static BindingRule> {
    BINDINGS.iter().find(|r| {
        // `None` in a row means "any" (Option::is_none_or needs Rust 1.82; MSRV is 1.80).
        !matches!(r.vid, Some(v) if v != vid)
            && (r.pids.is_empty() || r.pids.contains(&pid))
            && r.class == class.0
            && r.subclass.matches(class.1)
            && r.protocol.matches(class.2)
            && (r.interfaces.is_empty() || r.interfaces.contains(&number))
            && limit_holds(r.min_endpoints, num_endpoints, |n, m| n >= m)
            && limit_holds(r.max_endpoints, num_endpoints, |n, m| n <= m)
            && !matches!(r.ordinal, Some(o) if o != ordinal)
    })
}

/// A row's optional endpoint limit: no limit always holds; an unknown count never does.
fn limit_holds(limit: Option<u8>, value: Option<u8>, ok: fn(u8, u8) -> bool) -> bool {
    match (limit, value) {
        (None, _) => true,
        (Some(m), Some(n)) => ok(n, m),
        (Some(_), None) => false,
    }
}

/// OpenWrt package of a kernel driver.
pub fn package_for(driver: &str) -> Option<&'static str> {
    PACKAGES.iter().find(|(d, _)| *d == driver).map(|(_, p)| *p)
}

/// Vendor name if `vid` makes modems.
pub fn modem_vendor(vid: u16) -> Option<&'static str> {
    MODEM_VENDORS
        .iter()
        .find(|(v, _)| *v == vid)
        .map(|(_, n)| *n)
}

/// The first mode switch for this device and current mode.
pub fn mode_switch_for(vid: u16, pid: u16, mode: UsbMode) -> Option<&'static ModeSwitch> {
    MODE_SWITCHES.iter().find(|m| {
        m.vid == vid && (m.pids.is_empty() || m.pids.contains(&pid)) && m.from.contains(&mode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huawei_ncm_rows_follow_the_kernel_table() {
        for (sub, proto) in [(2, 0x16), (2, 0x46), (2, 0x76), (3, 0x16)] {
            let r = binding_for(HUAWEI, 0x1506, 1, (0xff, sub, proto), Some(1), 0);
            assert_eq!(
                r.and_then(|r| r.driver),
                Some("huawei_cdc_ncm"),
                "ff/{sub:02x}/{proto:02x}"
            );
        }
        // Not in huawei_cdc_ncm_devs, and not in option's list either.
        assert!(binding_for(HUAWEI, 0x1506, 1, (0xff, 3, 0x46), Some(1), 0).is_none());
        // Another vendor's ff/02/16 is not Huawei NCM.
        assert!(binding_for(0x1234, 1, 1, (0xff, 2, 0x16), Some(1), 0).is_none());
    }

    #[test]
    fn quectel_roles_follow_port_order() {
        let at = binding_for(QUECTEL, 0x0125, 2, (0xff, 0, 0), Some(3), 1);
        assert_eq!(at.map(|r| r.role), Some(Role::AtPort));
        let qmi = binding_for(QUECTEL, 0x0125, 4, (0xff, 0xff, 0xff), Some(3), 1);
        assert_eq!(qmi.and_then(|r| r.driver), Some("qmi_wwan"));
        let dm = binding_for(QUECTEL, 0x0125, 0, (0xff, 0xff, 0xff), Some(2), 0);
        assert_eq!(dm.map(|r| r.role), Some(Role::Diagnostics));
    }

    #[test]
    fn every_driver_has_a_package() {
        for r in BINDINGS {
            if let Some(d) = r.driver {
                if d != "hub" {
                    assert!(package_for(d).is_some(), "{d}");
                }
            }
        }
    }
}
