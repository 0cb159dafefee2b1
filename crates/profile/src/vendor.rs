//! [`VendorProfile`]: one vendor (or `<vendor>-<model>`) entry of a profile file, parsed
//! from JSON into templates and patterns.
//!
//! The keys of comgt-ncm's `/etc/gcom/ncm.json` keep their meaning (`initialize`,
//! `configure`, `modes`, `connect`, `finalize`, `disconnect`, `linkatfinalize`,
//! `attachwait`); ncmd adds read-before-write queries, connection-state queries and URC
//! patterns (see the field docs). Unknown keys (`waitforconnect`) are ignored.
//!
//! Owns the schema of one entry; must not know how files are found or merged, nor how
//! commands are sent.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::template::{Pattern, Template, TemplateError};

/// A query whose reply tells which of several named states the modem is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The command to send (`AT^SYSCFGEX?`).
    pub command: Template,
    /// State name → pattern of the reply line that means it (`preferlte` →
    /// `^SYSCFGEX: "030201",*`).
    pub matches: BTreeMap<String, Pattern>,
}

/// What to send to set a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeCommand<'a> {
    /// Send this command (after comparing with `mode_query`, when the profile has one).
    Command(&'a Template),
    /// The vendor has no command for this mode: skip it with a warning, and still dial.
    NotSupported,
}

/// One vendor entry. Templates are listed in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VendorProfile {
    /// `initialize`: sent first, before the PIN.
    pub initialize: Vec<Template>,
    /// `configure`: sent after the PIN.
    pub configure: Vec<Template>,
    /// `modes`: mode name (`preferlte`, `lte`, ...) → command.
    pub modes: BTreeMap<String, Template>,
    /// `connect`: starts the data session.
    pub connect: Option<Template>,
    /// `finalize`: sent after the link is up.
    pub finalize: Option<Template>,
    /// `disconnect`: ends the data session.
    pub disconnect: Option<Template>,
    /// `linkatfinalize`: the carrier only comes up after `finalize` (no link-settle wait
    /// before it).
    pub linkatfinalize: bool,
    /// `attachwait` (s): overrides the interface's attach wait for this vendor.
    pub attachwait: Option<u64>,
    /// `usb_vendor_ids`: hexadecimal USB vendor ids (`"12d1"`) for the fallback match.
    pub usb_vendor_ids: Vec<u16>,
    /// `mode_query`: reads the current mode, so `modes` is written only when different.
    pub mode_query: Option<Query>,
    /// `pdp_query`: reads the PDP contexts (usually `AT+CGDCONT?`).
    pub pdp_query: Option<Template>,
    /// `pdp_write_prefix`: the command of initialize/configure that writes the PDP context
    /// (`AT+CGDCONT=`), skipped when `pdp_query` shows it is already right.
    pub pdp_write_prefix: Option<String>,
    /// `status_query`: reads the data session state.
    pub status_query: Option<Template>,
    /// `connected_pattern`: a reply line of `status_query` meaning connected.
    pub connected_pattern: Option<Pattern>,
    /// `disconnected_pattern`: a reply line of `status_query` meaning disconnected.
    pub disconnected_pattern: Option<Pattern>,
    /// `ip_query`: reads the IPv4 configuration the network gave.
    pub ip_query: Option<Template>,
    /// `ipv6_query`: reads the IPv6 configuration.
    pub ipv6_query: Option<Template>,
    /// `connected_urc`: unsolicited lines meaning the session came up.
    pub connected_urc: Vec<Pattern>,
    /// `disconnected_urc`: unsolicited lines meaning the session was lost.
    pub disconnected_urc: Vec<Pattern>,
    /// `reset`: restarts the modem.
    pub reset: Option<Template>,
    /// `attach`: packet-domain attach.
    pub attach: Option<Template>,
    /// `detach`: packet-domain detach.
    pub detach: Option<Template>,
    /// `attach_query`: reads the attach state.
    pub attach_query: Option<Template>,
    /// `attached_pattern`: a reply line of `attach_query` meaning attached.
    pub attached_pattern: Option<Pattern>,
    /// `psonly`: sets packet-switched-only service.
    pub psonly: Option<Template>,
    /// `psonly_query`: reads the service domain; its `match` has the key `psonly`.
    pub psonly_query: Option<Query>,
    /// `auth_values`: ncmd's auth name (`none`, `pap`, `chap`, `both`) → the vendor's value.
    pub auth_values: BTreeMap<String, String>,
    /// `status_reply`: the typed reader for `status_query`'s reply, used instead of
    /// `connected_pattern` when set (`ndisstat`: connected when either IP family is).
    pub status_reply: Option<StatusReply>,
    /// `signal_queries`: the vendor's signal queries, best first (`AT+QENG="servingcell"`,
    /// `AT!GSTATUS?`, `AT^HCSQ?`, `AT+CESQ`, `AT+CSQ`); the first one answered and
    /// understood wins. The reply is recognised by its prefix, so any of these may be
    /// listed. Without the key: [`DEFAULT_SIGNAL_QUERIES`].
    pub signal_queries: Vec<Template>,
    /// `registration_queries`: the registration queries to combine (`AT+C5GREG?` only
    /// where the modem has it). Without the key: [`DEFAULT_REGISTRATION_QUERIES`].
    pub registration_queries: Vec<Template>,
    /// `system_info_query`: a vendor system-information query (Huawei `AT^SYSINFOEX`)
    /// that `info` reads the technology and SIM validity from when the 3GPP queries
    /// left them unknown.
    pub system_info_query: Option<Template>,
}

/// The typed readers a profile can name for its `status_query` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusReply {
    /// Huawei `^NDISSTATQRY`/`^NDISSTAT`, both IP families.
    Ndisstat,
}

/// 3GPP signal queries for a vendor that names none: `+CESQ` (per technology), then `+CSQ`.
pub const DEFAULT_SIGNAL_QUERIES: &[&str] = &["AT+CESQ", "AT+CSQ"];

/// 3GPP registration queries for a vendor that names none (no `+C5GREG`: a 4G modem
/// would answer ERROR to it on every poll).
pub const DEFAULT_REGISTRATION_QUERIES: &[&str] = &["AT+CEREG?", "AT+CGREG?", "AT+CREG?"];

impl VendorProfile {
    /// The command for `mode` (`preferlte`, `lte`, ...).
    pub fn mode_command(&self, mode: &str) -> ModeCommand<'_> {
        match self.modes.get(mode) {
            Some(t) => ModeCommand::Command(t),
            None => ModeCommand::NotSupported,
        }
    }

    /// The value `${auth}` takes for ncmd's auth name: mapped through `auth_values` when
    /// the profile has that key (`None` if the vendor has no value for it), else the name.
    pub fn auth_value<'a>(&'a self, auth: &'a str) -> Option<&'a str> {
        if self.auth_values.is_empty() {
            Some(auth)
        } else {
            self.auth_values.get(auth).map(String::as_str)
        }
    }

    /// The signal queries to send, best first (the profile's or the 3GPP default).
    pub fn signal_queries(&self) -> Vec<Template> {
        queries_or(&self.signal_queries, DEFAULT_SIGNAL_QUERIES)
    }

    /// The registration queries to send (the profile's or the 3GPP default).
    pub fn registration_queries(&self) -> Vec<Template> {
        queries_or(&self.registration_queries, DEFAULT_REGISTRATION_QUERIES)
    }

    /// True if `command` (an expanded initialize/configure command) writes the PDP context.
    pub fn is_pdp_write(&self, command: &str) -> bool {
        self.pdp_write_prefix.as_deref().is_some_and(|p| {
            command.len() >= p.len() && command.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        })
    }

    /// Parses one entry; `Err((key, message))` names the key that is wrong.
    pub(crate) fn from_json(v: &Value) -> Result<VendorProfile, (String, String)> {
        let Some(obj) = v.as_object() else {
            return Err((String::new(), "expected an object of commands".into()));
        };
        let mut p = VendorProfile::default();
        for (key, value) in obj {
            let k = key.as_str();
            let r = |e: String| (k.to_owned(), e);
            match k {
                "initialize" => p.initialize = templates(value).map_err(r)?,
                "configure" => p.configure = templates(value).map_err(r)?,
                "modes" => p.modes = template_map(value).map_err(r)?,
                "connect" => p.connect = Some(template(value).map_err(r)?),
                "finalize" => p.finalize = Some(template(value).map_err(r)?),
                "disconnect" => p.disconnect = Some(template(value).map_err(r)?),
                "linkatfinalize" => p.linkatfinalize = flag(value).map_err(r)?,
                "attachwait" => p.attachwait = Some(value.as_u64().ok_or_else(|| r("expected a number of seconds".into()))?),
                "usb_vendor_ids" => p.usb_vendor_ids = usb_ids(value).map_err(r)?,
                "mode_query" => p.mode_query = Some(query(value).map_err(r)?),
                "pdp_query" => p.pdp_query = Some(template(value).map_err(r)?),
                "pdp_write_prefix" => p.pdp_write_prefix = Some(string(value).map_err(r)?.to_owned()),
                "status_query" => p.status_query = Some(template(value).map_err(r)?),
                "connected_pattern" => p.connected_pattern = Some(pattern(value).map_err(r)?),
                "disconnected_pattern" => p.disconnected_pattern = Some(pattern(value).map_err(r)?),
                "ip_query" => p.ip_query = Some(template(value).map_err(r)?),
                "ipv6_query" => p.ipv6_query = Some(template(value).map_err(r)?),
                "connected_urc" => p.connected_urc = patterns(value).map_err(r)?,
                "disconnected_urc" => p.disconnected_urc = patterns(value).map_err(r)?,
                "reset" => p.reset = Some(template(value).map_err(r)?),
                "attach" => p.attach = Some(template(value).map_err(r)?),
                "detach" => p.detach = Some(template(value).map_err(r)?),
                "attach_query" => p.attach_query = Some(template(value).map_err(r)?),
                "attached_pattern" => p.attached_pattern = Some(pattern(value).map_err(r)?),
                "psonly" => p.psonly = Some(template(value).map_err(r)?),
                "psonly_query" => p.psonly_query = Some(query(value).map_err(r)?),
                "auth_values" => p.auth_values = string_map(value).map_err(r)?,
                "status_reply" => p.status_reply = Some(status_reply(value).map_err(r)?),
                "signal_queries" => p.signal_queries = templates(value).map_err(r)?,
                "registration_queries" => p.registration_queries = templates(value).map_err(r)?,
                "system_info_query" => p.system_info_query = Some(template(value).map_err(r)?),
                _ => {} // waitforconnect and other keys ncmd does not use
            }
        }
        Ok(p)
    }
}

fn queries_or(given: &[Template], default: &[&str]) -> Vec<Template> {
    if !given.is_empty() {
        return given.to_vec();
    }
    // The defaults are plain AT text; a parse failure would be a build defect (tested).
    default.iter().filter_map(|d| Template::parse(d).ok()).collect()
}

fn status_reply(v: &Value) -> Result<StatusReply, String> {
    match string(v)? {
        "ndisstat" => Ok(StatusReply::Ndisstat),
        other => Err(format!("unknown status_reply '{other}'; known: ndisstat")),
    }
}

fn string(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| format!("expected a string, found {}", kind(v)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn err(e: TemplateError) -> String {
    e.to_string()
}

fn template(v: &Value) -> Result<Template, String> {
    Template::parse(string(v)?).map_err(err)
}

fn pattern(v: &Value) -> Result<Pattern, String> {
    Pattern::parse(string(v)?).map_err(err)
}

fn templates(v: &Value) -> Result<Vec<Template>, String> {
    let items = v.as_array().ok_or_else(|| format!("expected a list of AT commands, found {}", kind(v)))?;
    items.iter().map(template).collect()
}

/// One pattern or a list of them.
fn patterns(v: &Value) -> Result<Vec<Pattern>, String> {
    match v {
        Value::Array(items) => items.iter().map(pattern).collect(),
        other => Ok(vec![pattern(other)?]),
    }
}

fn object(v: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("expected an object, found {}", kind(v)))
}

fn template_map(v: &Value) -> Result<BTreeMap<String, Template>, String> {
    object(v)?.iter().map(|(k, v)| Ok((k.clone(), template(v).map_err(|e| format!("{k}: {e}"))?))).collect()
}

fn string_map(v: &Value) -> Result<BTreeMap<String, String>, String> {
    object(v)?.iter().map(|(k, v)| Ok((k.clone(), string(v).map_err(|e| format!("{k}: {e}"))?.to_owned()))).collect()
}

fn flag(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_u64() != Some(0)),
        Value::String(s) => Ok(!matches!(s.as_str(), "" | "0" | "false")),
        other => Err(format!("expected true or false, found {}", kind(other))),
    }
}

fn usb_ids(v: &Value) -> Result<Vec<u16>, String> {
    let items = v.as_array().ok_or_else(|| format!("expected a list of hex vendor ids, found {}", kind(v)))?;
    items
        .iter()
        .map(|i| {
            let s = string(i)?;
            u16::from_str_radix(s.trim_start_matches("0x"), 16)
                .map_err(|_| format!("'{s}' is not a hexadecimal USB vendor id such as \"12d1\""))
        })
        .collect()
}

fn query(v: &Value) -> Result<Query, String> {
    let obj = object(v)?;
    let command = obj.get("command").ok_or("missing \"command\"")?;
    let command = template(command).map_err(|e| format!("command: {e}"))?;
    let matches = obj.get("match").ok_or("missing \"match\"")?;
    let matches = object(matches)
        .map_err(|e| format!("match: {e}"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), pattern(v).map_err(|e| format!("match.{k}: {e}"))?)))
        .collect::<Result<_, String>>()?;
    Ok(Query { command, matches })
}
