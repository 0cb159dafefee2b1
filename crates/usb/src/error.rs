//! Errors of this crate. Owns the user-facing wording; knows nothing of the CLI.

use std::path::PathBuf;

/// What went wrong while reading USB information.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// The text given as a usb/devices dump is something else.
    #[error("not a /sys/kernel/debug/usb/devices dump: line {line} {reason}; pass the output of `cat /sys/kernel/debug/usb/devices` or `usb-devices`")]
    NotDevicesFile { line: usize, reason: String },

    /// A sysfs directory or attribute could not be read.
    #[error("cannot read {path}: {source}; is sysfs mounted (try --sysfs-root)?")]
    Sysfs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The control device given by the user does not exist.
    #[error("control device {path} does not exist ({source}); check `option device` and that the modem is plugged in")]
    DeviceMissing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The control device exists but is not a tty or cdc-wdm node of a USB device.
    #[error("{path} is not a USB modem port: {reason}")]
    NotUsbPort { path: PathBuf, reason: String },
}
