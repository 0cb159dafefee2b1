//! A pasted /sys/kernel/debug/usb/devices text, however broken: the reader gives devices
//! or an error, and the doctor's diagnosis and rendering of whatever was read never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = ncmd_usb::parse_devices_file(&text) {
        let ctx = ncmd_usb::DoctorContext { input_notes: file.notes.clone(), ..Default::default() };
        let report = ncmd_usb::diagnose(&file.devices, &ctx);
        let _ = ncmd_usb::render(&report);
    }
});
