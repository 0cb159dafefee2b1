//! Unsolicited result codes (URCs) and the routing rule.
//!
//! Owns: the table of line prefixes modems send on their own (Huawei `^RSSI`, `^HCSQ`,
//! `^NDISSTAT`, …; 3GPP `+CREG:`, `+CGEV:`, `RING`, …; Quectel, ZTE, Sierra ones), the
//! reply prefix a command's own answer starts with, and the rule that decides, for each
//! line, whether it belongs to the in-flight command or is a URC.
//! Must not know about: what a URC means for a session, I/O.

use crate::result::strip_prefix_ci;

/// A line the modem sent on its own. Carries the raw line, known or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urc {
    pub line: String,
}

/// Prefixes of lines modems send unsolicited. An entry ending in `:` matches any line
/// starting with it; a bare word matches when followed by nothing, `:`, a blank or `,`.
const URC_PREFIXES: &[&str] = &[
    // Huawei
    "^RSSI:",
    "^HCSQ:",
    "^NDISSTAT:",
    "^MODE:",
    "^SIMST:",
    "^SRVST:",
    "^BOOT:",
    "^DSFLOWRPT:",
    "^CEND:",
    "^ORIG:",
    "^CONF:",
    "^CONN:",
    "^STIN:",
    "^SYSSTART",
    "^RFSWITCH:",
    "^ACTIVEBAND:",
    "^EONS:",
    "^LWURC:",
    "^NWTIME:",
    "^SMMEMFULL",
    "^DCONN",
    "^DEND",
    "^POSITION:",
    "^PDPSTATUS:",
    "^CSNR:",
    "^CERSSI:",
    "^ECCLIST:",
    // 3GPP TS 27.007 / 27.005
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+C5GREG:",
    "+CGEV:",
    "+CRING",
    "RING",
    "+CLIP:",
    "+CCWA:",
    "+CMTI:",
    "+CMT:",
    "+CDS:",
    "+CDSI:",
    "+CBM:",
    "+CUSD:",
    "+CTZV:",
    "+CTZE:",
    "+CIEV:",
    "+CSSI:",
    "+CSSU:",
    "+PACSP",
    "+CPIN:",
    "+STKPCI:",
    // Quectel
    "RDY",
    "+QIND:",
    "+QUSIM:",
    "+QSTK:",
    "+QNETDEVSTATUS:",
    "POWERED DOWN",
    "+QIURC:",
    "+QSIMSTAT:",
    // ZTE
    "+ZCONSTAT:",
    "+ZPSTM:",
    "+ZEND",
    "+ZUSIMR:",
    "+ZDONR:",
    "+ZPASR:",
    // Sierra / SIMCom / Telit / others
    "*SIMDETEC:",
    "+SIMCARD:",
    "!PCINFO:",
    "$QCSIMSTAT:",
    "SMS DONE",
    "PB DONE",
    "+NITZ:",
    "#QSS:",
    "+SIM READY",
    "+CSQN:",
];

/// Is this line, by its prefix, one of the known unsolicited result codes?
pub fn is_unsolicited(line: &str) -> bool {
    let line = line.trim_start();
    URC_PREFIXES.iter().any(|p| match strip_prefix_ci(line, p) {
        None => false,
        Some(_) if p.ends_with(':') => true,
        Some(rest) => rest.is_empty() || rest.starts_with([':', ' ', ',']),
    })
}

/// The prefix of the reply a command produces, derived from its name:
/// `AT+CREG?` → `+CREG:`, `AT^NDISSTATQRY?` → `^NDISSTATQRY:`, `at+cops=?` → `+COPS:`.
/// `None` for basic commands (`ATI`, `ATE0`, `AT`) whose replies carry no prefix.
pub fn reply_prefix(command: &str) -> Option<String> {
    let rest = strip_prefix_ci(command.trim(), "AT")?;
    let first = rest.chars().next()?;
    if !matches!(first, '+' | '^' | '*' | '$' | '!' | '%' | '#') {
        return None;
    }
    let name_len = rest[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(rest.len() - 1, |i| i);
    if name_len == 0 {
        return None;
    }
    Some(format!("{}:", rest[..=name_len].to_ascii_uppercase()))
}

/// Where one line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Part of the in-flight command's reply.
    Reply,
    /// Unsolicited.
    Urc,
}

/// The routing rule. With no command in flight (`in_flight == None`) every line is a URC.
/// With one in flight whose reply prefix is `Some(p)`, a line starting with `p` is part of
/// the reply (so `+CREG: 2,1` answers `AT+CREG?` even though `+CREG:` is also a URC);
/// otherwise a table match is a URC and anything else is a reply line.
pub fn route(line: &str, in_flight: Option<Option<&str>>) -> Route {
    let Some(prefix) = in_flight else {
        return Route::Urc;
    };
    if prefix.is_some_and(|p| strip_prefix_ci(line.trim_start(), p).is_some()) {
        return Route::Reply;
    }
    if is_unsolicited(line) {
        Route::Urc
    } else {
        Route::Reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_from_commands() {
        assert_eq!(reply_prefix("AT+CREG?").as_deref(), Some("+CREG:"));
        assert_eq!(
            reply_prefix("AT^NDISSTATQRY?").as_deref(),
            Some("^NDISSTATQRY:")
        );
        assert_eq!(reply_prefix("AT^SYSCFGEX?").as_deref(), Some("^SYSCFGEX:"));
        assert_eq!(reply_prefix("at+cops=?").as_deref(), Some("+COPS:"));
        assert_eq!(
            reply_prefix("AT+CGDCONT=1,\"IP\",\"x\"").as_deref(),
            Some("+CGDCONT:")
        );
        assert_eq!(reply_prefix("AT+CGMI").as_deref(), Some("+CGMI:"));
        assert_eq!(reply_prefix("AT*SIMDETEC?").as_deref(), Some("*SIMDETEC:"));
        assert_eq!(reply_prefix("ATI"), None);
        assert_eq!(reply_prefix("AT"), None);
        assert_eq!(reply_prefix("AT+"), None);
        assert_eq!(reply_prefix("ATE0"), None);
    }

    #[test]
    fn table() {
        // Real Huawei E3372 URCs, from the issue linked in the openwrt-ncm reference
        // (https://github.com/openwrt/packages/issues/15614): "^RSSI:20" and ^HCSQ lines.
        assert!(is_unsolicited("^RSSI:20"));
        assert!(is_unsolicited("^HCSQ:\"LTE\",48,41,171,21"));
        assert!(is_unsolicited("^NDISSTAT: 0,,,\"IPV4\""));
        assert!(is_unsolicited("+CREG: 1,\"00C3\",\"0000001A\""));
        assert!(is_unsolicited("RING"));
        assert!(is_unsolicited("RDY"));
        assert!(is_unsolicited("^SYSSTART"));
        assert!(is_unsolicited("^MODE:5,4"));
        assert!(!is_unsolicited("^MODEX: 1"));
        assert!(!is_unsolicited("RINGER"));
        assert!(!is_unsolicited("^NDISSTATQRY: 1,,,\"IPV4\""));
        assert!(!is_unsolicited("+CSQ: 20,99"));
        assert!(!is_unsolicited("huawei"));
    }

    #[test]
    fn routing_rule() {
        let creg = reply_prefix("AT+CREG?");
        assert_eq!(
            route("+CREG: 2,1,\"00C3\",\"0000001A\"", Some(creg.as_deref())),
            Route::Reply
        );
        assert_eq!(route("^RSSI: 20", Some(creg.as_deref())), Route::Urc);
        assert_eq!(route("+CREG: 1", Some(Some("+CGREG:"))), Route::Urc);
        assert_eq!(route("huawei", Some(None)), Route::Reply);
        assert_eq!(route("huawei", None), Route::Urc);
        assert_eq!(route("OK", None), Route::Urc);
        let q = reply_prefix("AT^NDISSTATQRY?");
        assert_eq!(
            route("^NDISSTATQRY: 1,,,\"IPV4\"", Some(q.as_deref())),
            Route::Reply
        );
        assert_eq!(
            route("^NDISSTAT: 0,,,\"IPV4\"", Some(q.as_deref())),
            Route::Urc
        );
    }
}
