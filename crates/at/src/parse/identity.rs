//! Identity replies: `+CGMI`, `+CGMM`, `+CGMR`, `+CGSN`, `+CIMI`, and the ICCID in its
//! vendor forms (`^ICCID:`, `+CCID:`, `+ICCID:`, `+QCCID:`, bare).

use super::{payload, Reply};
use crate::result::strip_prefix_ci;

/// The value of an identity reply (`+CGMI`, `+CGMM`, `+CGMR`, `+CGSN`, `+CIMI`), with or
/// without its `prefix` (`"+CGMI"`; a trailing `:` is optional), quoted or not. Echo, URC
/// and other prefixed lines are skipped. `None` when nothing is left.
pub fn info_value<R: Reply + ?Sized>(reply: &R, prefix: &str) -> Option<String> {
    let bare = prefix.trim_end_matches(':');
    let with_colon = format!("{bare}:");
    let lines = reply.reply_lines();
    let mut candidates = lines.iter().filter_map(|l| {
        // ATI-style labels ("Manufacturer: huawei"); an E3372 may send the label alone.
        let l = ["Manufacturer:", "Model:", "Revision:", "IMEI:"]
            .iter()
            .find_map(|p| strip_prefix_ci(l, p))
            .unwrap_or(l);
        payload(l, &[&with_colon], true)
    });
    candidates.find_map(|v| {
        let v = v.trim().trim_matches('"').trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// The SIM's ICCID: 18–22 hex digits (`F` padding removed). Huawei-style nibble-swapped
/// values (starting `98` instead of the ITU `89` prefix) are swapped back.
pub fn iccid<R: Reply + ?Sized>(reply: &R) -> Option<String> {
    let v = payload(reply, &["^ICCID:", "+CCID:", "+ICCID:", "+QCCID:"], true)?;
    let v = v.trim().trim_matches('"').trim();
    if !(18..=22).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = v.to_ascii_uppercase();
    let v = if v.starts_with("98") {
        let b = v.as_bytes();
        let mut swapped = String::with_capacity(b.len());
        for pair in b.chunks(2) {
            pair.iter().rev().for_each(|&c| swapped.push(char::from(c)));
        }
        swapped
    } else {
        v
    };
    Some(v.trim_end_matches('F').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Response;

    #[test]
    fn info_forms() {
        // ModemManager src/tests/test-modem-helpers.c device-id table: Huawei E1550 answers
        // AT+CGMI "\nhuawei\n", AT+CGSN "\n235012412595195\n"; Motorola ROKR E2 quotes it.
        assert_eq!(info_value("\nhuawei\n", "+CGMI").as_deref(), Some("huawei"));
        assert_eq!(
            info_value("\n235012412595195\n", "+CGSN").as_deref(),
            Some("235012412595195")
        );
        assert_eq!(
            info_value("\n\"Motorola\"\n", "+CGMI").as_deref(),
            Some("Motorola")
        );
        // ZTE MF286R: +CGMI: "Marvell" (openwrt/openwrt#17998, shared/reference/ecosystem.md).
        assert_eq!(
            info_value("+CGMI: \"Marvell\"", "+CGMI").as_deref(),
            Some("Marvell")
        );
        // E3372 sending an empty "Manufacturer:" label (openwrt/openwrt#84, same reference).
        assert_eq!(
            info_value("Manufacturer:\r\nhuawei", "+CGMI").as_deref(),
            Some("huawei")
        );
        assert_eq!(
            info_value("+CGMM: E3372", "+CGMM:").as_deref(),
            Some("E3372")
        );
        // URCs interleaved with the reply (openwrt/packages#15614: "^rssi:20" taken as the
        // vendor by the shell handler) are skipped.
        let r = Response::new(["^RSSI:20", "huawei"]);
        assert_eq!(info_value(&r, "+CGMI").as_deref(), Some("huawei"));
        assert_eq!(
            info_value("AT+CGSN\r\n866123456789012\r\nOK", "+CGSN").as_deref(),
            Some("866123456789012")
        );
        assert_eq!(info_value("", "+CGMI"), None);
        assert_eq!(info_value("\"\"", "+CGMI"), None);
    }

    #[test]
    fn iccid_forms() {
        // Constructed ICCIDs in the forms each vendor uses (quoted, unquoted, F-padded, and the
        // nibble-swapped form ModemManager's mm_3gpp_parse_iccid handles).
        assert_eq!(
            iccid("+CCID: 89014103211118510720").as_deref(),
            Some("89014103211118510720")
        );
        assert_eq!(
            iccid("^ICCID: \"89014103211118510720\"").as_deref(),
            Some("89014103211118510720")
        );
        assert_eq!(
            iccid("+QCCID: 8944500102198304826F").as_deref(),
            Some("8944500102198304826")
        );
        assert_eq!(
            iccid("98101430121181157002").as_deref(),
            Some("89014103211118510720")
        );
        assert_eq!(iccid("+ICCID: 12"), None);
        assert_eq!(iccid("+ICCID: 8901410321111851072Z"), None);
    }
}
