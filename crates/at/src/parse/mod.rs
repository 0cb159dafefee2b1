//! Pure parsers: reply text → typed values.
//!
//! Owns: turning the lines of a reply (or one URC line) into typed values — identity, SIM
//! state and counters, signal, registration, operator, PDP contexts and addresses, Huawei
//! `^SYSCFGEX`/`^NDISSTAT`/`^DHCP` — and the shared field tokenizer they use.
//! Must not know about: I/O, timeouts, sessions or what a caller does with the values.
//! Every parser is a pure function: any input, however hostile, gives a value or a
//! [`ParseError`], never a panic.
//!
//! Each parser takes `&impl Reply`: a [`Response`](crate::Response), a `&str` (one line or
//! several separated by CR/LF, prefix included or not), or a slice of lines.

mod huawei;
mod identity;
mod pdp;
mod registration;
mod signal;
mod sim;

pub use huawei::{
    dhcp, dhcpv6, ndisstat, syscfgex, syscfgex_test, sysinfoex, HuaweiDhcp, HuaweiDhcpV6,
    NdisState, NdisStatus, SysCfgEx, SysCfgExTest, SysInfoEx,
};
pub use identity::{iccid, info_value};
pub use pdp::{
    cgact, cgatt, cgcontrdp, cgdcont, cgdcont_test, cgpaddr, context_ip, scact, ContextIp,
    ContextParams, Ipv4Params, Ipv6Params, PdpAddress, PdpContext,
};
pub use registration::{best_registration, cops, creg, Operator, RegStatus, Registration};
pub use signal::{
    cesq, csq, gstatus, hcsq, qeng_servingcell, signal, Csq, Hcsq, LegSignal, ServingCell, Signal,
};
pub use sim::{
    cpin, cpinr, huawei_cpin, qpinc, PinCounters, PinRetries, QuectelPinCounter, SimLock,
};

use crate::response::Response;
use crate::result::strip_prefix_ci;
use serde::Serialize;

/// Runs every parser on `r` and drops the results: the shared body of the fuzz target
/// and the property tests (any input gives a value or an error, never a panic).
#[doc(hidden)]
pub fn run_all<R: Reply + ?Sized>(r: &R) {
    let _ = info_value(r, "+CGMI");
    let _ = iccid(r);
    let _ = cpin(r);
    let _ = huawei_cpin(r);
    let _ = cpinr(r);
    let _ = qpinc(r);
    let _ = csq(r);
    let _ = hcsq(r);
    let _ = cesq(r);
    let _ = qeng_servingcell(r);
    let _ = gstatus(r);
    let _ = scact(r);
    let _ = signal(r);
    let _ = creg(r);
    let _ = creg(r).map(|x| best_registration(&[x]));
    let _ = cops(r);
    let _ = cgdcont(r);
    let _ = cgdcont_test(r);
    let _ = cgpaddr(r);
    let _ = cgcontrdp(r);
    let _ = cgact(r);
    let _ = cgatt(r);
    let _ = syscfgex(r);
    let _ = syscfgex_test(r);
    let _ = ndisstat(r);
    let _ = dhcp(r);
    let _ = dhcpv6(r);
    let _ = sysinfoex(r);
}

/// A reply could not be read as the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the modem's {reply} reply {line:?}: {why}")]
pub struct ParseError {
    /// Which reply (`+CSQ`, `^DHCP`, …).
    pub reply: &'static str,
    /// The offending line (cut to 120 characters).
    pub line: String,
    pub why: String,
}

impl ParseError {
    pub(crate) fn new(reply: &'static str, line: &str, why: impl Into<String>) -> Self {
        ParseError {
            reply,
            line: line.chars().take(120).collect(),
            why: why.into(),
        }
    }
}

/// Radio access technology, as the status JSON spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Technology {
    Gsm,
    Umts,
    Lte,
    /// 5G standalone (NR on a 5G core).
    Nr5g,
    /// 5G non-standalone (EN-DC): an LTE anchor with an NR leg.
    #[serde(rename = "lte+nr5g")]
    LteNr5g,
}

impl Technology {
    pub fn as_str(self) -> &'static str {
        match self {
            Technology::Gsm => "gsm",
            Technology::Umts => "umts",
            Technology::Lte => "lte",
            Technology::Nr5g => "nr5g",
            Technology::LteNr5g => "lte+nr5g",
        }
    }

    /// From a 3GPP TS 27.007 `<AcT>` value (`+CREG`, `+COPS`, …): 11 (NR on 5GCN) and
    /// 12 (NG-RAN) are standalone, 13 (E-UTRA-NR dual connectivity) is non-standalone.
    pub fn from_act(act: u8) -> Option<Technology> {
        match act {
            0 | 1 | 3 | 8 => Some(Technology::Gsm),
            2 | 4 | 5 | 6 => Some(Technology::Umts),
            7 | 9 | 10 => Some(Technology::Lte),
            11 | 12 => Some(Technology::Nr5g),
            13 => Some(Technology::LteNr5g),
            _ => None,
        }
    }
}

/// Anything a parser can read lines from.
pub trait Reply {
    /// The non-empty, trimmed lines.
    fn reply_lines(&self) -> Vec<&str>;
}

impl Reply for str {
    fn reply_lines(&self) -> Vec<&str> {
        self.split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Reply for String {
    fn reply_lines(&self) -> Vec<&str> {
        self.as_str().reply_lines()
    }
}

impl Reply for Response {
    fn reply_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Reply for [String] {
    fn reply_lines(&self) -> Vec<&str> {
        self.iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Reply for [&str] {
    fn reply_lines(&self) -> Vec<&str> {
        self.iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// The payloads (prefix stripped, trimmed) of the lines starting with `prefix`.
pub(crate) fn payloads<'a, R: Reply + ?Sized>(reply: &'a R, prefix: &str) -> Vec<&'a str> {
    reply
        .reply_lines()
        .into_iter()
        .filter_map(|l| strip_prefix_ci(l, prefix).map(str::trim))
        .collect()
}

/// The payload of the first line starting with one of `prefixes`; else, if `bare` allows,
/// the first line that is not an echo (`AT…`) and carries no other `+`/`^` prefix.
pub(crate) fn payload<'a, R: Reply + ?Sized>(
    reply: &'a R,
    prefixes: &[&str],
    bare: bool,
) -> Option<&'a str> {
    let lines = reply.reply_lines();
    for l in &lines {
        for p in prefixes {
            if let Some(rest) = strip_prefix_ci(l, p) {
                return Some(rest.trim());
            }
        }
    }
    if !bare {
        return None;
    }
    lines.into_iter().find(|l| {
        !(l.starts_with(['+', '^', '*', '$', '!', '#'])
            || strip_prefix_ci(l, "AT").is_some()
            || crate::classify_final(l).is_some())
    })
}

/// One comma-separated field of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The text, trimmed, quotes removed.
    pub text: &'a str,
    /// It was in double quotes.
    pub quoted: bool,
}

impl<'a> Field<'a> {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// A decimal number, `None` when empty; an error otherwise.
    pub fn num<T: std::str::FromStr>(&self) -> Result<Option<T>, String> {
        if self.text.is_empty() {
            return Ok(None);
        }
        self.text
            .parse()
            .map(Some)
            .map_err(|_| format!("{:?} is not a number in range", self.text))
    }
}

/// Splits a payload on the commas that are outside quotes and parentheses. A field in
/// double quotes loses them (no escapes exist in AT replies); blanks around fields go.
pub(crate) fn fields(payload: &str) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in payload.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth = depth.saturating_sub(1),
            ',' if !in_quotes && depth == 0 => {
                out.push(field(&payload[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(field(&payload[start..]));
    out
}

fn field(raw: &str) -> Field<'_> {
    let t = raw.trim();
    match t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => Field {
            text: inner,
            quoted: true,
        },
        None => Field {
            text: t.trim_matches('"'),
            quoted: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer() {
        let f = fields(r#" 1 ,"IP","a,b",(0-2),((1,"x"),(2,"y")),"#);
        let texts: Vec<_> = f.iter().map(|f| f.text).collect();
        assert_eq!(
            texts,
            ["1", "IP", "a,b", "(0-2)", r#"((1,"x"),(2,"y"))"#, ""]
        );
        assert!(f[1].quoted && !f[0].quoted);
        assert_eq!(fields("").len(), 1);
        assert_eq!(field("\"").text, "");
    }

    #[test]
    fn reply_inputs() {
        let r = Response::new(["+CSQ: 1,2"]);
        assert_eq!(payload(&r, &["+CSQ:"], false), Some("1,2"));
        assert_eq!(
            payload("AT+CGMI\r\nhuawei\r\nOK", &["+CGMI:"], true),
            Some("huawei")
        );
        assert_eq!(payload("^RSSI: 3\r\nOK", &["+CGMI:"], true), None);
    }

    #[test]
    fn technology() {
        assert_eq!(Technology::from_act(7), Some(Technology::Lte));
        assert_eq!(
            Technology::from_act(13).map(Technology::as_str),
            Some("lte+nr5g")
        );
        assert_eq!(Technology::from_act(12), Some(Technology::Nr5g));
        assert_eq!(
            serde_json::to_value(Technology::LteNr5g).unwrap(),
            "lte+nr5g"
        );
        assert_eq!(Technology::from_act(99), None);
    }
}
