//! The USB device model shared by the sysfs reader and the usb/devices parser.
//! Plain data: no I/O, no knowledge of drivers or modems.

use serde::Serialize;

/// One USB interface (its current alternate setting) and what the kernel made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbInterface {
    pub number: u8,
    pub alt: u8,
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    /// `#EPs` / bNumEndpoints, when known.
    pub num_endpoints: Option<u8>,
    /// Bound kernel driver; `None` when unbound (`Driver=(none)`).
    pub driver: Option<String>,
    /// tty names (ttyUSB*, ttyACM*) created for this interface (sysfs only).
    pub ttys: Vec<String>,
    /// Network devices created for this interface (sysfs only).
    pub netdevs: Vec<String>,
    /// cdc-wdm character devices of this interface (sysfs only).
    pub cdc_wdm: Vec<String>,
}

impl UsbInterface {
    /// Class triple as written in dumps: `ff/03/12`.
    pub fn class_triple(&self) -> String {
        format!(
            "{:02x}/{:02x}/{:02x}",
            self.class, self.subclass, self.protocol
        )
    }
}

/// A configuration that is not the active one (only the debugfs dump lists those).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbConfiguration {
    pub value: u8,
    pub interfaces: Vec<UsbInterface>,
}

/// One USB device with the interfaces of its active configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbDevice {
    /// Kernel name of the device: `1-1.2` (sysfs, or derived from the dump's topology).
    pub usb_path: Option<String>,
    pub bus: Option<u8>,
    pub dev_num: Option<u16>,
    /// Speed in Mbit/s as the kernel prints it ("1.5", "480", "5000").
    pub speed: Option<String>,
    pub vid: u16,
    pub pid: u16,
    pub revision: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    pub device_class: Option<u8>,
    pub num_configurations: Option<u8>,
    /// bConfigurationValue of the active configuration; `None` if unconfigured or unknown.
    pub active_configuration: Option<u8>,
    /// Interfaces of the active configuration, one per interface number, current alt setting.
    pub interfaces: Vec<UsbInterface>,
    /// Other configurations listed by the dump (not active).
    pub inactive_configurations: Vec<UsbConfiguration>,
}

impl UsbDevice {
    /// `12d1:1506`
    pub fn id(&self) -> String {
        format!("{:04x}:{:04x}", self.vid, self.pid)
    }

    /// A hub (device class 09, or every interface of class 09).
    pub fn is_hub(&self) -> bool {
        self.device_class == Some(0x09)
            || (!self.interfaces.is_empty() && self.interfaces.iter().all(|i| i.class == 0x09))
    }

    /// Short human name: "HUAWEI_MOBILE HUAWEI_MOBILE (12d1:1506)".
    pub fn label(&self) -> String {
        let mut name = String::new();
        for part in [&self.manufacturer, &self.product].into_iter().flatten() {
            if !name.is_empty() && !name.contains(part.as_str()) {
                name.push(' ');
            }
            if !name.contains(part.as_str()) {
                name.push_str(part);
            }
        }
        if name.is_empty() {
            self.id()
        } else {
            format!("{name} ({})", self.id())
        }
    }
}
