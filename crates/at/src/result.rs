//! Final result codes.
//!
//! Owns: recognising the line that ends a command's reply (`OK`, `ERROR`, `+CME ERROR: …`,
//! `+CMS ERROR: …`, `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE`, Huawei's
//! `COMMAND NOT SUPPORT`) and turning `+CME ERROR`/`+CMS ERROR` payloads, numeric or verbose,
//! into readable, typed errors (3GPP TS 27.007 §9.2, TS 27.005 §3.2.5).
//! Must not know about: which command was sent, I/O, sessions.

use serde::Serialize;
use std::fmt;

/// The line that ends a command's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    Cme(CmeError),
    Cms(CmsError),
    NoCarrier,
    /// Huawei's `COMMAND NOT SUPPORT`.
    NotSupported,
    Busy,
    NoAnswer,
    NoDialtone,
}

/// `+CME ERROR: <err>` — mobile equipment error (3GPP TS 27.007 §9.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CmeError {
    /// The numeric code, given or recognised from the verbose text.
    pub code: Option<u16>,
    /// Readable text: the 27.007 text for a known code, else what the modem said.
    pub text: String,
}

/// `+CMS ERROR: <err>` — message service error (3GPP TS 27.005 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CmsError {
    pub code: Option<u16>,
    pub text: String,
}

/// What a `+CME ERROR` means for the caller (the cases a session acts on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CmeKind {
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    SimPin2Required,
    SimPuk2Required,
    IncorrectPassword,
    SimBusy,
    SimFailure,
    OperationNotAllowed,
    OperationNotSupported,
    NoNetworkService,
    Other,
}

/// 3GPP TS 27.007 §9.2.1/§9.2.2 `+CME ERROR` codes and texts.
const CME_TABLE: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (2, "phone-adaptor link reserved"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (5, "PH-SIM PIN required"),
    (6, "PH-FSIM PIN required"),
    (7, "PH-FSIM PUK required"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (17, "SIM PIN2 required"),
    (18, "SIM PUK2 required"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (24, "text string too long"),
    (25, "invalid characters in text string"),
    (26, "dial string too long"),
    (27, "invalid characters in dial string"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (40, "network personalization PIN required"),
    (41, "network personalization PUK required"),
    (42, "network subset personalization PIN required"),
    (43, "network subset personalization PUK required"),
    (44, "service provider personalization PIN required"),
    (45, "service provider personalization PUK required"),
    (46, "corporate personalization PIN required"),
    (47, "corporate personalization PUK required"),
    (48, "hidden key required"),
    (49, "EAP method not supported"),
    (50, "incorrect parameters"),
    (51, "command implemented but currently disabled"),
    (52, "command aborted by user"),
    (
        53,
        "not attached to network due to MT functionality restrictions",
    ),
    (
        54,
        "modem not allowed - MT restricted to emergency calls only",
    ),
    (
        55,
        "operation not allowed because of MT functionality restrictions",
    ),
    (56, "fixed dial number only allowed"),
    (57, "temporarily out of service due to other MT usage"),
    (58, "language/alphabet not supported"),
    (59, "unexpected data value"),
    (60, "system failure"),
    (61, "data missing"),
    (62, "call barred"),
    (63, "message waiting indication subscription failure"),
    (100, "unknown"),
    (103, "illegal MS"),
    (106, "illegal ME"),
    (107, "GPRS services not allowed"),
    (111, "PLMN not allowed"),
    (112, "location area not allowed"),
    (113, "roaming not allowed in this location area"),
    (132, "service option not supported"),
    (133, "requested service option not subscribed"),
    (134, "service option temporarily out of order"),
    (148, "unspecified GPRS error"),
    (149, "PDP authentication failure"),
    (150, "invalid mobile class"),
];

/// 3GPP TS 27.005 §3.2.5 `+CMS ERROR` codes and texts.
const CMS_TABLE: &[(u16, &str)] = &[
    (300, "ME failure"),
    (301, "SMS service of ME reserved"),
    (302, "operation not allowed"),
    (303, "operation not supported"),
    (304, "invalid PDU mode parameter"),
    (305, "invalid text mode parameter"),
    (310, "SIM not inserted"),
    (311, "SIM PIN required"),
    (312, "PH-SIM PIN required"),
    (313, "SIM failure"),
    (314, "SIM busy"),
    (315, "SIM wrong"),
    (316, "SIM PUK required"),
    (317, "SIM PIN2 required"),
    (318, "SIM PUK2 required"),
    (320, "memory failure"),
    (321, "invalid memory index"),
    (322, "memory full"),
    (330, "SMSC address unknown"),
    (331, "no network service"),
    (332, "network timeout"),
    (340, "no +CNMA acknowledgement expected"),
    (500, "unknown error"),
];

/// Decodes an error payload against a table: a number gives its text; a known text (any
/// case, surrounding quotes and blanks ignored) gives its number.
fn decode(table: &[(u16, &str)], payload: &str) -> (Option<u16>, String) {
    let payload = payload.trim().trim_matches('"').trim();
    if let Ok(code) = payload.parse::<u16>() {
        let text = table
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(|| format!("error {code}"), |(_, t)| (*t).to_string());
        return (Some(code), text);
    }
    let code = table
        .iter()
        .find(|(_, t)| t.eq_ignore_ascii_case(payload))
        .map(|(c, _)| *c);
    (code, payload.to_string())
}

impl CmeError {
    /// From the text after `+CME ERROR:`.
    pub fn from_payload(payload: &str) -> Self {
        let (code, text) = decode(CME_TABLE, payload);
        CmeError { code, text }
    }

    pub fn kind(&self) -> CmeKind {
        match self.code {
            Some(10) => CmeKind::SimNotInserted,
            Some(11) => CmeKind::SimPinRequired,
            Some(12) => CmeKind::SimPukRequired,
            Some(17) => CmeKind::SimPin2Required,
            Some(18) => CmeKind::SimPuk2Required,
            Some(16) => CmeKind::IncorrectPassword,
            Some(14) => CmeKind::SimBusy,
            Some(13 | 15) => CmeKind::SimFailure,
            Some(3) => CmeKind::OperationNotAllowed,
            Some(4) => CmeKind::OperationNotSupported,
            Some(30..=32) => CmeKind::NoNetworkService,
            _ => CmeKind::Other,
        }
    }
}

impl CmsError {
    /// From the text after `+CMS ERROR:`.
    pub fn from_payload(payload: &str) -> Self {
        let (code, text) = decode(CMS_TABLE, payload);
        CmsError { code, text }
    }
}

fn fmt_coded(f: &mut fmt::Formatter<'_>, kind: &str, code: Option<u16>, text: &str) -> fmt::Result {
    match code {
        Some(c) => write!(f, "{text} (+{kind} ERROR: {c})"),
        None => write!(f, "{text} (+{kind} ERROR)"),
    }
}

impl fmt::Display for CmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_coded(f, "CME", self.code, &self.text)
    }
}

impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_coded(f, "CMS", self.code, &self.text)
    }
}

/// Strips `prefix` from `s`, ignoring ASCII case.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Recognises a final result code; `None` for any other line.
pub fn classify_final(line: &str) -> Option<Final> {
    let line = line.trim();
    if let Some(rest) = strip_prefix_ci(line, "+CME ERROR:") {
        return Some(Final::Cme(CmeError::from_payload(rest)));
    }
    if let Some(rest) = strip_prefix_ci(line, "+CMS ERROR:") {
        return Some(Final::Cms(CmsError::from_payload(rest)));
    }
    const WORDS: &[(&str, Final)] = &[
        ("OK", Final::Ok),
        ("ERROR", Final::Error),
        ("NO CARRIER", Final::NoCarrier),
        ("COMMAND NOT SUPPORT", Final::NotSupported),
        ("BUSY", Final::Busy),
        ("NO ANSWER", Final::NoAnswer),
        ("NO DIALTONE", Final::NoDialtone),
        ("NO DIAL TONE", Final::NoDialtone),
    ];
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(line))
        .map(|(_, f)| f.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_codes() {
        assert_eq!(classify_final("OK"), Some(Final::Ok));
        assert_eq!(classify_final(" OK "), Some(Final::Ok));
        assert_eq!(classify_final("ERROR"), Some(Final::Error));
        assert_eq!(classify_final("NO CARRIER"), Some(Final::NoCarrier));
        // Huawei E3372 answer to an unknown command (openwrt-ncm reference, DESIGN.md).
        assert_eq!(
            classify_final("COMMAND NOT SUPPORT"),
            Some(Final::NotSupported)
        );
        assert_eq!(classify_final("BUSY"), Some(Final::Busy));
        assert_eq!(classify_final("NO ANSWER"), Some(Final::NoAnswer));
        assert_eq!(classify_final("NO DIALTONE"), Some(Final::NoDialtone));
        assert_eq!(classify_final("OKAY"), None);
        assert_eq!(classify_final("+CSQ: 20,99"), None);
        assert_eq!(classify_final(""), None);
    }

    #[test]
    fn cme_numeric_and_verbose() {
        let Some(Final::Cme(e)) = classify_final("+CME ERROR: 11") else {
            panic!("not CME")
        };
        assert_eq!(e.code, Some(11));
        assert_eq!(e.text, "SIM PIN required");
        assert_eq!(e.kind(), CmeKind::SimPinRequired);
        assert_eq!(e.to_string(), "SIM PIN required (+CME ERROR: 11)");

        let Some(Final::Cme(e)) = classify_final("+CME ERROR: SIM not inserted") else {
            panic!()
        };
        assert_eq!((e.code, e.kind()), (Some(10), CmeKind::SimNotInserted));
        let Some(Final::Cme(e)) = classify_final("+CME ERROR: incorrect password") else {
            panic!()
        };
        assert_eq!(e.kind(), CmeKind::IncorrectPassword);
        let Some(Final::Cme(e)) = classify_final("+CME ERROR: 12") else {
            panic!()
        };
        assert_eq!(e.kind(), CmeKind::SimPukRequired);
        let Some(Final::Cme(e)) = classify_final("+CME ERROR: 999") else {
            panic!()
        };
        assert_eq!(
            (e.code, e.text.as_str(), e.kind()),
            (Some(999), "error 999", CmeKind::Other)
        );
        let Some(Final::Cme(e)) = classify_final("+CME ERROR: something odd") else {
            panic!()
        };
        assert_eq!((e.code, e.text.as_str()), (None, "something odd"));
        assert_eq!(e.to_string(), "something odd (+CME ERROR)");
    }

    #[test]
    fn cms() {
        let Some(Final::Cms(e)) = classify_final("+CMS ERROR: 310") else {
            panic!()
        };
        assert_eq!((e.code, e.text.as_str()), (Some(310), "SIM not inserted"));
    }

    #[test]
    fn every_table_text_round_trips() {
        for (code, text) in CME_TABLE {
            let e = CmeError::from_payload(text);
            // "SIM failure"-like duplicates do not exist in the table, so texts are unique.
            assert_eq!(e.code, Some(*code), "{text}");
        }
    }
}
