//! USB discovery from sysfs, and the tty/cdc-wdm → data interface lookup.
//!
//! Owns: walking `<root>/bus/usb/devices`, reading device and interface attributes, the
//! driver symlink and the children each interface created (ttyUSB*/ttyACM*, net/*,
//! usbmisc/cdc-wdm*); resolving a control device (`/dev/ttyUSB2`, `/dev/cdc-wdm0`, or a
//! symlink such as `/dev/serial/by-id/...`) to its USB device and data netdev.
//! Must not know about: AT, sessions, which driver means what beyond the data-driver
//! preference used to pick a netdev.

use crate::error::UsbError;
use crate::model::{UsbDevice, UsbInterface};
use std::fs;
use std::path::{Path, PathBuf};

/// Where a control port's data path lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DataPorts {
    pub netdev: Option<String>,
    pub cdc_wdm: Option<String>,
    /// Kernel name of the USB device: `1-1.2`.
    pub usb_path: Option<String>,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
}

/// Network drivers in order of preference when a device has several netdevs
/// (an NCM modem also exposing ECM, say). Unlisted drivers come after these.
const DATA_DRIVER_PREFERENCE: &[&str] = &[
    "huawei_cdc_ncm",
    "cdc_ncm",
    "cdc_ether",
    "rndis_host",
    "cdc_mbim",
    "qmi_wwan",
];

/// All USB devices (root hubs excluded) under `<sysfs_root>/bus/usb/devices`, sorted by
/// kernel name.
pub fn discover(sysfs_root: &Path) -> Result<Vec<UsbDevice>, UsbError> {
    let dir = sysfs_root.join("bus/usb/devices");
    let mut names: Vec<String> = read_dir_names(&dir)?
        .into_iter()
        .filter(|n| !n.contains(':') && !n.starts_with("usb"))
        .collect();
    names.sort();
    let mut devices = Vec::new();
    for name in &names {
        match read_device(&dir.join(name), name) {
            Ok(device) => devices.push(device),
            // Unplugged between listing and reading: not on the bus any more.
            Err(UsbError::Sysfs { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(devices)
}

/// The data interface that belongs to a control device, following comgt-ncm's rules
/// (ttyACM: sibling interfaces of the same USB device; ttyUSB: the usb-serial port's
/// interface's siblings; cdc-wdm: the interface's own `net`, then its siblings) but
/// deterministically: netdevs bound to an NCM/ECM/RNDIS driver first, then by interface
/// number and name. `device` may be a symlink (`/dev/serial/by-id/...`).
pub fn data_interface_for(sysfs_root: &Path, device: &Path) -> Result<DataPorts, UsbError> {
    let resolved = fs::canonicalize(device).map_err(|source| UsbError::DeviceMissing {
        path: device.to_path_buf(),
        source,
    })?;
    let name = resolved
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| not_usb(device, "the path has no file name".into()))?;
    let class_dir = if name.starts_with("tty") {
        sysfs_root.join("class/tty").join(&name)
    } else if name.starts_with("cdc-wdm") {
        sysfs_root.join("class/usbmisc").join(&name)
    } else {
        return Err(not_usb(
            device,
            format!("{name} is neither a tty nor a cdc-wdm node"),
        ));
    };
    let node_dev = fs::canonicalize(class_dir.join("device")).map_err(|e| {
        not_usb(
            device,
            format!(
                "{} has no device link ({e}); not a USB port",
                class_dir.display()
            ),
        )
    })?;
    let (usb_dir, own_iface) = usb_device_above(&node_dev).ok_or_else(|| {
        not_usb(
            device,
            format!("no USB device above {}", node_dev.display()),
        )
    })?;
    let dev_name = usb_dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| not_usb(device, "USB device directory without a name".into()))?;
    let usb = read_device(&usb_dir, &dev_name)?;
    Ok(pick_data_ports(&usb, own_iface))
}

fn not_usb(path: &Path, reason: String) -> UsbError {
    UsbError::NotUsbPort {
        path: path.to_path_buf(),
        reason,
    }
}

/// Choose the data netdev and cdc-wdm node of a device. For a cdc-wdm control node the
/// interface it hangs off (`own_iface`) wins, as in comgt-ncm; otherwise preference order.
pub(crate) fn pick_data_ports(usb: &UsbDevice, own_iface: Option<u8>) -> DataPorts {
    let rank = |iface: &UsbInterface| {
        let driver_rank = iface
            .driver
            .as_deref()
            .and_then(|d| DATA_DRIVER_PREFERENCE.iter().position(|p| *p == d))
            .unwrap_or(DATA_DRIVER_PREFERENCE.len());
        (Some(iface.number) != own_iface, driver_rank, iface.number)
    };
    let mut with_net: Vec<&UsbInterface> = usb
        .interfaces
        .iter()
        .filter(|i| !i.netdevs.is_empty())
        .collect();
    with_net.sort_by_key(|i| rank(i));
    let netdev = with_net.first().and_then(|i| {
        let mut names = i.netdevs.clone();
        names.sort();
        names.into_iter().next()
    });
    let mut with_wdm: Vec<&UsbInterface> = usb
        .interfaces
        .iter()
        .filter(|i| !i.cdc_wdm.is_empty())
        .collect();
    with_wdm.sort_by_key(|i| rank(i));
    let cdc_wdm = with_wdm.first().and_then(|i| {
        let mut names = i.cdc_wdm.clone();
        names.sort();
        names.into_iter().next()
    });
    DataPorts {
        netdev,
        cdc_wdm,
        usb_path: usb.usb_path.clone(),
        vid: Some(usb.vid),
        pid: Some(usb.pid),
    }
}

/// Walk up from a tty/usbmisc device directory to the USB device (the first ancestor
/// with `idVendor`); also return the number of the interface passed on the way.
fn usb_device_above(start: &Path) -> Option<(PathBuf, Option<u8>)> {
    let mut iface = None;
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join("idVendor").is_file() {
            return Some((d.to_path_buf(), iface));
        }
        if iface.is_none() {
            iface = read_attr(&d.join("bInterfaceNumber"))
                .and_then(|v| u8::from_str_radix(&v, 16).ok());
        }
        dir = d.parent();
    }
    None
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, UsbError> {
    let entries = fs::read_dir(dir).map_err(|source| UsbError::Sysfs {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| UsbError::Sysfs {
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Names in a directory, empty when it does not exist (an interface without `net/`).
fn child_names(dir: &Path) -> Vec<String> {
    read_dir_names(dir).unwrap_or_default()
}

/// A sysfs attribute, trimmed; `None` when absent or unreadable (attributes come and go
/// while a device re-enumerates, which is not an error for a scan).
fn read_attr(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn hex_attr<T: TryFrom<u32>>(dir: &Path, name: &str) -> Option<T> {
    let value = u32::from_str_radix(&read_attr(&dir.join(name))?, 16).ok()?;
    T::try_from(value).ok()
}

fn dec_attr<T: std::str::FromStr>(dir: &Path, name: &str) -> Option<T> {
    read_attr(&dir.join(name))?.parse().ok()
}

/// idVendor/idProduct: required, four hex digits.
fn id_attr(dir: &Path, name: &str) -> Result<u16, UsbError> {
    let path = dir.join(name);
    let text = fs::read_to_string(&path).map_err(|source| UsbError::Sysfs {
        path: path.clone(),
        source,
    })?;
    u16::from_str_radix(text.trim(), 16).map_err(|e| UsbError::Sysfs {
        path,
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{:?} is not a hex id: {e}", text.trim()),
        ),
    })
}

fn read_device(dir: &Path, name: &str) -> Result<UsbDevice, UsbError> {
    let vid = id_attr(dir, "idVendor")?;
    let pid = id_attr(dir, "idProduct")?;
    let prefix = format!("{name}:");
    let mut interfaces: Vec<UsbInterface> = read_dir_names(dir)?
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .filter_map(|n| read_interface(&dir.join(n)))
        .collect();
    interfaces.sort_by_key(|i| i.number);
    Ok(UsbDevice {
        usb_path: Some(name.to_string()),
        bus: dec_attr(dir, "busnum"),
        dev_num: dec_attr(dir, "devnum"),
        speed: read_attr(&dir.join("speed")),
        vid,
        pid,
        revision: read_attr(&dir.join("bcdDevice")),
        manufacturer: read_attr(&dir.join("manufacturer")),
        product: read_attr(&dir.join("product")),
        serial: read_attr(&dir.join("serial")),
        device_class: hex_attr(dir, "bDeviceClass"),
        num_configurations: dec_attr(dir, "bNumConfigurations"),
        active_configuration: dec_attr(dir, "bConfigurationValue"),
        interfaces,
        inactive_configurations: Vec::new(),
    })
}

fn read_interface(dir: &Path) -> Option<UsbInterface> {
    let driver = fs::read_link(dir.join("driver"))
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string));
    let names = child_names(dir);
    // usb-serial ports are `ttyUSB0` directories in the interface; cdc-acm puts `tty/ttyACM0`.
    let mut ttys: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with("tty") && *n != "tty")
        .cloned()
        .collect();
    ttys.extend(child_names(&dir.join("tty")));
    ttys.sort();
    Some(UsbInterface {
        number: hex_attr(dir, "bInterfaceNumber")?,
        alt: dec_attr(dir, "bAlternateSetting").unwrap_or(0),
        class: hex_attr(dir, "bInterfaceClass")?,
        subclass: hex_attr(dir, "bInterfaceSubClass")?,
        protocol: hex_attr(dir, "bInterfaceProtocol")?,
        num_endpoints: hex_attr(dir, "bNumEndpoints"),
        driver,
        ttys,
        netdevs: child_names(&dir.join("net")),
        cdc_wdm: child_names(&dir.join("usbmisc"))
            .into_iter()
            .filter(|n| n.starts_with("cdc-wdm"))
            .collect(),
    })
}
