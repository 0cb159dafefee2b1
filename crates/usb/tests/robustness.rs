//! The parser on damaged input: every real dump cut at any point gives a partial result
//! (never a panic or an error), and text that is not a dump gives an error naming the line.

use ncmd_usb::{diagnose, parse_devices_file, render, DoctorContext};
use proptest::prelude::*;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture text");
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                text,
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures found in {}", dir.display());
    out
}

fn cut(text: &str, at: usize) -> &str {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    &text[..at]
}

/// Every prefix of every dump (exhaustively, not sampled): partial results, notes, and a
/// doctor report, never an error or panic. A full dump's devices are a superset.
#[test]
fn every_cut_of_every_dump_parses() {
    for (name, text) in fixtures() {
        let full = parse_devices_file(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for at in 0..=text.len() {
            if !text.is_char_boundary(at) {
                continue;
            }
            let part = &text[..at];
            let parsed = parse_devices_file(part)
                .unwrap_or_else(|e| panic!("{name} cut at {at}: {e}\n---\n{part}"));
            assert!(
                parsed.devices.len() <= full.devices.len(),
                "{name} cut at {at}"
            );
            for (dev, whole) in parsed.devices.iter().zip(&full.devices) {
                assert_eq!(
                    (dev.vid, dev.pid),
                    (whole.vid, whole.pid),
                    "{name} cut at {at}"
                );
                assert!(
                    dev.interfaces.len() <= whole.interfaces.len(),
                    "{name} cut at {at}"
                );
            }
            let last_line = part
                .lines()
                .last()
                .unwrap_or("")
                .trim_start()
                .trim_start_matches('>')
                .trim_start();
            let inside_record = !part.ends_with('\n')
                && last_line.len() >= 2
                && "TBDPSCAIE".contains(&last_line[..1])
                && last_line.as_bytes()[1] == b':';
            if inside_record {
                assert!(
                    parsed.notes.iter().any(|n| n.contains("dump cut here")),
                    "{name} cut at {at}: a cut inside a record leaves a note: {:?}",
                    parsed.notes
                );
            }
            let report = diagnose(&parsed.devices, &DoctorContext::default());
            let _ = render(&report);
        }
    }
}

proptest! {
    /// A slice out of the middle of a dump, starting at a line boundary (a pasted
    /// fragment): still never an error.
    #[test]
    fn fragments_of_dumps_parse(idx in 0usize..64, start in 0usize..4000, len in 0usize..4000) {
        let all = fixtures();
        let (name, text) = &all[idx % all.len()];
        let begin = cut(text, start).len();
        let rest = &text[begin..];
        let rest = match rest.find('\n') { Some(nl) if begin > 0 => &rest[nl + 1..], _ => rest };
        let fragment = cut(rest, len);
        let parsed = parse_devices_file(fragment);
        prop_assert!(parsed.is_ok(), "{} [{}..+{}]: {:?}", name, begin, len, parsed.err().map(|e| e.to_string()));
    }

    /// Random bytes are refused with an error that names the line.
    #[test]
    fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 8..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let looks_like_records = text.lines().any(|l| {
            let l = l.trim_start().trim_start_matches('>').trim_start();
            let b = l.as_bytes();
            b.len() >= 2 && b"TBDPSCAIE".contains(&b[0]) && b[1] == b':'
        });
        let meaningful = text.lines().any(|l| {
            let l = l.trim().trim_start_matches('>').trim();
            !(l.is_empty() || l.starts_with('#') || l.starts_with("root@") || l.starts_with("$ ")
                || l.chars().all(|c| matches!(c, '[' | ']' | '.' | '…')))
        });
        prop_assume!(meaningful && !looks_like_records);
        match parse_devices_file(&text) {
            Err(e) => prop_assert!(e.to_string().starts_with("not a /sys/kernel/debug/usb/devices dump: line "), "{}", e),
            Ok(parsed) => {
                // Only possible when the single meaningful line is the unterminated last
                // one and is a lone tag letter ("T"): a dump cut after its first byte.
                prop_assert!(parsed.devices.is_empty());
                prop_assert!(!parsed.notes.is_empty());
            }
        }
    }
}

#[test]
fn other_tools_output_is_refused_with_the_line() {
    let lsusb = "Bus 001 Device 002: ID 12d1:1446 Huawei Technologies Co., Ltd. E1552/E1800 (HSPA modem)\nDevice Descriptor:\n";
    let err = parse_devices_file(lsusb)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("not a /sys/kernel/debug/usb/devices dump: line 1 starts with \"Bus 001"),
        "{err}"
    );

    let dmesg = "\n[ 6659.214121] usb 2-1.3: New USB device found, idVendor=2c7c, idProduct=0800\n";
    let err = parse_devices_file(dmesg)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("not a /sys/kernel/debug/usb/devices dump: line 2"),
        "{err}"
    );

    let binary = String::from_utf8_lossy(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, b'\n']).into_owned();
    let err = parse_devices_file(&binary)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn empty_text_is_an_empty_result_with_a_note() {
    let parsed = parse_devices_file("").expect("empty is not garbage");
    assert!(parsed.devices.is_empty());
    assert_eq!(
        parsed.notes,
        vec!["no usb/devices records found".to_string()]
    );
}
