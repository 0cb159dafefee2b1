//! ncmd-usb: finds cellular modems on the USB bus and explains them.
//!
//! Owns: the USB device model ([`UsbDevice`]), the two readers that fill it (sysfs and the
//! `/sys/kernel/debug/usb/devices` text format), the tty → data-interface lookup the
//! connection manager uses ([`data_interface_for`]), the driver/package knowledge table and
//! the `ncmd doctor` report.
//!
//! Must not know about: AT commands on the wire, sessions, netlink. Port probe results come
//! in from the caller as plain data ([`PortProbe`]).

pub mod devices_file;
pub mod dnsmasq;
pub mod doctor;
mod error;
pub mod knowledge;
mod model;
pub mod port_users;
pub mod sysfs;

pub use devices_file::{parse_devices_file, DevicesFile};
pub use dnsmasq::{parse_rebind_protection, RebindProtection};
pub use doctor::{diagnose, render, ConfiguredIface, DoctorContext, Installer, PortProbe, Report};
pub use error::UsbError;
pub use model::{UsbConfiguration, UsbDevice, UsbInterface};
pub use port_users::{parse_port_users, PortUser};
pub use sysfs::{data_interface_for, discover, DataPorts};
