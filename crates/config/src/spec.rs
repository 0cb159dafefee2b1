//! [`Spec`]: one validated `proto 'ncm'` interface, and the rules that validate it.
//!
//! Owns the option names, their types, defaults and allowed values (the comgt-ncm options
//! plus ncmd's own), and messages that name the option, the bad value (never for secrets)
//! and what is allowed. Unknown options (LuCI's `ipv6`, netifd's `auto`, `zone`, ...) are
//! ignored. Must not know about the UCI syntax (it reads a [`Section`]) or about modems.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::uci::{Section, Value};
use crate::{ConfigError, Secret};

/// Default `probe_hosts`: two public anycast DNS resolvers (product default; tests never
/// use them).
pub const DEFAULT_PROBE_HOSTS: &[&str] = &["1.1.1.1", "8.8.8.8"];

/// Highest PDP context id accepted for `profile`.
pub const MAX_PROFILE: u8 = 16;

/// Longest APN (3GPP TS 23.003 §9.1: at most 100 octets).
pub const MAX_APN_LEN: usize = 100;

/// Longest username or password accepted.
pub const MAX_CREDENTIAL_LEN: usize = 127;

/// PAP/CHAP authentication (`option auth`). `0`..`3` are accepted as aliases of
/// none, pap, chap, both (the numbering of 3GPP `+CGAUTH` and of Huawei/Quectel commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    None,
    Pap,
    Chap,
    Both,
}

/// Radio access mode (`option mode`); the key into a vendor profile's `modes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Preferlte,
    Preferumts,
    Lte,
    Umts,
    Gsm,
    Auto,
}

/// PDP context type (`option pdptype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PdpType {
    #[serde(rename = "IP")]
    Ip,
    #[serde(rename = "IPV6")]
    Ipv6,
    #[serde(rename = "IPV4V6")]
    Ipv4v6,
}

/// How the data interface gets its addresses (`option ipconfig`, ncmd's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpConfig {
    /// Use the addresses the modem reports (vendor `ip_query`) when the profile has a way
    /// to read them, otherwise run DHCP on the data interface. The default. Under netifd:
    /// comgt-ncm's DHCP children, the IPv4 one asking for the address the modem reported.
    Auto,
    /// Only the addresses the modem reports; fail if it cannot report them. Under netifd:
    /// `static` children, no DHCP client.
    Static,
    /// Always a DHCP client on the data interface (what comgt-ncm does).
    Dhcp,
}

impl Auth {
    const NAMES: &'static [(&'static str, Auth)] =
        &[("pap", Auth::Pap), ("chap", Auth::Chap), ("both", Auth::Both), ("none", Auth::None)];
    const ALIASES: &'static [(&'static str, Auth)] =
        &[("0", Auth::None), ("1", Auth::Pap), ("2", Auth::Chap), ("3", Auth::Both)];

    /// The name as written in UCI (`pap`, `chap`, `both`, `none`).
    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }
}

impl Mode {
    const NAMES: &'static [(&'static str, Mode)] = &[
        ("preferlte", Mode::Preferlte),
        ("preferumts", Mode::Preferumts),
        ("lte", Mode::Lte),
        ("umts", Mode::Umts),
        ("gsm", Mode::Gsm),
        ("auto", Mode::Auto),
    ];

    /// The name as written in UCI and used as key of a vendor's `modes`.
    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }
}

impl PdpType {
    const NAMES: &'static [(&'static str, PdpType)] =
        &[("IP", PdpType::Ip), ("IPV6", PdpType::Ipv6), ("IPV4V6", PdpType::Ipv4v6)];

    /// `IP`, `IPV6` or `IPV4V6`, as AT commands want it.
    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }

    /// comgt-ncm's `context_type`: 1 for IP, 2 for IPV6, 3 for IPV4V6.
    pub fn context_type(self) -> u8 {
        match self {
            PdpType::Ip => 1,
            PdpType::Ipv6 => 2,
            PdpType::Ipv4v6 => 3,
        }
    }

    /// True if the context carries IPv4.
    pub fn has_ipv4(self) -> bool {
        self != PdpType::Ipv6
    }

    /// True if the context carries IPv6.
    pub fn has_ipv6(self) -> bool {
        self != PdpType::Ip
    }
}

impl IpConfig {
    const NAMES: &'static [(&'static str, IpConfig)] =
        &[("auto", IpConfig::Auto), ("static", IpConfig::Static), ("dhcp", IpConfig::Dhcp)];

    /// The name as written in UCI.
    pub fn as_str(self) -> &'static str {
        name_of(Self::NAMES, self)
    }
}

fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], v: T) -> &'static str {
    table.iter().find(|(_, t)| *t == v).map_or("", |(n, _)| n)
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// One `proto 'ncm'` interface, validated. Field names are the UCI option names; durations
/// are whole seconds in UCI. `Serialize` writes secrets as `"***"` and durations as seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// The UCI section name (`wwan`).
    pub interface: String,
    /// `device` (required): the AT control port, `/dev/ttyUSB1`, `/dev/ttyACM0`,
    /// `/dev/cdc-wdm0` or a symlink to one.
    pub device: PathBuf,
    /// `apn`: letters, digits, `-`, `.`, `_`, at most 100 characters; empty means unset
    /// (the network's default APN).
    pub apn: Option<String>,
    /// `pincode`: 4 to 8 digits; unset = no PIN is ever sent.
    pub pincode: Option<Secret>,
    /// `username` for PAP/CHAP: printable ASCII without `"`, `;`, `\`.
    pub username: Option<String>,
    /// `password` for PAP/CHAP, same characters as `username`.
    pub password: Option<Secret>,
    /// `auth`: pap, chap, both, none (or 0..3); unset = the vendor default.
    pub auth: Option<Auth>,
    /// `mode`: unset = leave the modem's setting alone.
    pub mode: Option<Mode>,
    /// `pdptype`: IP (default), IPV6, IPV4V6; case-insensitive.
    pub pdptype: PdpType,
    /// `profile`: PDP context id (cid), 1 to 16, default 1.
    pub profile: u8,
    /// `ifname`: the data interface (`wwan0`, `usb0`); unset = found through sysfs.
    pub ifname: Option<String>,
    /// `delay` (s, default 0): how long identification of a booting modem may be retried.
    #[serde(serialize_with = "secs")]
    pub delay: Duration,
    /// `mtu`: unset or 0 = leave the interface's MTU alone; else 68 to 65535.
    pub mtu: Option<u32>,
    /// `metric` (default 0) of the routes.
    pub metric: u32,
    /// `defaultroute` (default true).
    pub defaultroute: bool,
    /// `peerdns` (default true): use the DNS servers of the network.
    pub peerdns: bool,
    /// `sourcefilter`: unset = netifd default; only an explicit 0 is passed on.
    pub sourcefilter: Option<bool>,
    /// `delegate`: unset = netifd default; only an explicit 0 is passed on.
    pub delegate: Option<bool>,
    /// `ip4table`: routing table name or number for IPv4.
    pub ip4table: Option<String>,
    /// `ip6table`: routing table name or number for IPv6.
    pub ip6table: Option<String>,
    /// `ipconfig` (ncmd): auto (default), static, dhcp; see [`IpConfig`].
    pub ipconfig: IpConfig,
    /// `dns_file` (ncmd): on plain Linux, the file the network's DNS servers are written to
    /// (resolv.conf format); unset = DNS is left alone (on OpenWrt netifd handles it).
    pub dns_file: Option<PathBuf>,
    /// `probe_hosts` (ncmd, list): addresses or names probed through the data interface
    /// to detect a dead link; default 1.1.1.1 and 8.8.8.8.
    pub probe_hosts: Vec<String>,
    /// `probe_interval` (ncmd, s, default 4): longest silence of the link before one probe
    /// round (one probe to one host: about 700 bytes per idle minute); 0 = no probes.
    #[serde(serialize_with = "secs")]
    pub probe_interval: Duration,
    /// `probe_timeout` (ncmd, s, default 2, at least 1): how long one probe may take.
    #[serde(serialize_with = "secs")]
    pub probe_timeout: Duration,
    /// `probe_count` (ncmd, default 2, 1 to 100): failed rounds in a row that declare the
    /// link dead (after a failed round, every host is asked at once).
    pub probe_count: u32,
    /// `probe_port` (ncmd, default 0): 0 = ICMP echo, else a TCP connect to this port.
    pub probe_port: u16,
    /// `watch_interval` (ncmd, s, default 15): how often the connection state is polled
    /// over AT; 0 = rely on URCs and carrier only.
    #[serde(serialize_with = "secs")]
    pub watch_interval: Duration,
    /// `psonly` (ncmd, default false): put the modem in packet-switched-only service
    /// (read first, written only when different).
    pub psonly: bool,
    /// `backoff_max` (ncmd, s, default 300, at least 1): longest wait between reconnects.
    #[serde(serialize_with = "secs")]
    pub backoff_max: Duration,
    /// `linksettle` (s, default 0): after the modem confirmed the session and the kernel
    /// the carrier, hold until the carrier has stayed up this long (modems whose carrier
    /// flaps right after the dial); 0 = no hold, the two events are enough.
    #[serde(serialize_with = "secs")]
    pub linksettle: Duration,
    /// `attachwait` (s, default 60): how long to wait for packet attach before dialling;
    /// 0 = dial without waiting.
    #[serde(serialize_with = "secs")]
    pub attachwait: Duration,
    /// `share_port` (ncmd): a symlink (e.g. `/dev/ttyNCM0`) to a pseudo-terminal that other
    /// programs use as the modem's AT port while ncmd owns the real one; unset = off.
    pub share_port: Option<PathBuf>,
    /// `share_ports` (ncmd, default 1, 1 to 8): how many such ptys, one per program that
    /// runs at the same time (`/dev/ttyNCM0`, `/dev/ttyNCM1`, ...).
    pub share_ports: u32,
}

impl Spec {
    /// The interface name (UCI section name).
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Validates a `config interface` section. Does not look at `proto` (the caller chose
    /// the section); unknown options are ignored.
    pub fn from_section(section: &Section) -> Result<Spec, ConfigError> {
        let interface = section.name.clone().unwrap_or_else(|| format!("@interface (line {})", section.line));
        let r = Reader { interface: &interface, section };
        Ok(Spec {
            device: match r.single("device")? {
                Some(d) => r.device(d)?,
                None => {
                    return Err(ConfigError::MissingOption {
                        interface: interface.clone(),
                        option: "device".into(),
                        hint: "set it to the modem's AT port, e.g. option device '/dev/ttyUSB1'".into(),
                    })
                }
            },
            apn: r.single("apn")?.map(|v| r.apn(v)).transpose()?,
            pincode: r.single("pincode")?.map(|v| r.pincode(v)).transpose()?,
            username: r.single("username")?.map(|v| r.credential("username", v).map(str::to_owned)).transpose()?,
            password: r.single("password")?.map(|v| r.credential("password", v).map(Secret::new)).transpose()?,
            auth: r.choice("auth", Auth::NAMES, Auth::ALIASES)?,
            mode: r.choice("mode", Mode::NAMES, &[])?,
            pdptype: r.choice("pdptype", PdpType::NAMES, &[])?.unwrap_or(PdpType::Ip),
            profile: r.number("profile", 1, MAX_PROFILE.into(), "a PDP context id")?.map_or(1, |v| v as u8),
            ifname: r.single("ifname")?.map(|v| r.ifname(v)).transpose()?,
            delay: r.seconds("delay", 0, 0)?,
            mtu: match r.number("mtu", 0, 65535, "an MTU (0 = leave alone)")? {
                None | Some(0) => None,
                Some(m) if m < 68 => return Err(r.invalid("mtu", Some(&m.to_string()), "expected 0 or 68 to 65535")),
                Some(m) => Some(m as u32),
            },
            metric: r.number("metric", 0, u32::MAX.into(), "a route metric")?.map_or(0, |v| v as u32),
            defaultroute: r.boolean("defaultroute")?.unwrap_or(true),
            peerdns: r.boolean("peerdns")?.unwrap_or(true),
            sourcefilter: r.boolean("sourcefilter")?,
            delegate: r.boolean("delegate")?,
            ip4table: r.single("ip4table")?.map(|v| r.table("ip4table", v)).transpose()?,
            ip6table: r.single("ip6table")?.map(|v| r.table("ip6table", v)).transpose()?,
            ipconfig: r.choice("ipconfig", IpConfig::NAMES, &[])?.unwrap_or(IpConfig::Auto),
            dns_file: r.single("dns_file")?.map(|v| r.abs_path("dns_file", v)).transpose()?,
            probe_hosts: match r.list("probe_hosts")? {
                Some(hosts) => hosts.into_iter().map(|h| r.host(h)).collect::<Result<_, _>>()?,
                None => DEFAULT_PROBE_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            },
            probe_interval: r.seconds("probe_interval", 4, 0)?,
            probe_timeout: r.seconds("probe_timeout", 2, 1)?,
            probe_count: r.number("probe_count", 1, 100, "a number of failed rounds")?.map_or(2, |v| v as u32),
            probe_port: r.number("probe_port", 0, 65535, "a TCP port (0 = ICMP)")?.map_or(0, |v| v as u16),
            watch_interval: r.seconds("watch_interval", 15, 0)?,
            psonly: r.boolean("psonly")?.unwrap_or(false),
            backoff_max: r.seconds("backoff_max", 300, 1)?,
            linksettle: r.seconds("linksettle", 0, 0)?,
            attachwait: r.seconds("attachwait", 60, 0)?,
            share_port: r.single("share_port")?.map(|v| r.abs_path("share_port", v)).transpose()?,
            share_ports: r.number("share_ports", 1, 8, "a number of shared ptys")?.map_or(1, |v| v as u32),
            interface,
        })
    }

    /// Validates the configuration netifd passes to a proto handler (`ncm.sh setup <iface>
    /// '<json>'`): an object of strings, numbers, booleans and arrays, keyed by option name.
    pub fn from_netifd_json(iface: &str, json: &serde_json::Value) -> Result<Spec, ConfigError> {
        let Some(obj) = json.as_object() else {
            return Err(ConfigError::NotAnObject { interface: iface.to_owned() });
        };
        let mut section = Section::new("interface", Some(iface));
        for (key, value) in obj {
            let scalar = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
                _ => None,
            };
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::Array(items) => {
                    let items: Option<Vec<String>> = items.iter().map(scalar).collect();
                    match items {
                        Some(items) => section.set(key, Value::List(items)),
                        None => {
                            return Err(invalid(iface, key, None, "expected a list of strings, numbers or booleans"))
                        }
                    }
                }
                other => match scalar(other) {
                    Some(s) => section.set(key, Value::Single(s)),
                    None => return Err(invalid(iface, key, None, "expected a string, number, boolean or list")),
                },
            }
        }
        Spec::from_section(&section)
    }
}

fn invalid(interface: &str, option: &str, value: Option<&str>, message: &str) -> ConfigError {
    ConfigError::Invalid {
        interface: interface.to_owned(),
        option: option.to_owned(),
        value: value.map(str::to_owned),
        message: message.to_owned(),
    }
}

/// Reads and checks the options of one section.
struct Reader<'a> {
    interface: &'a str,
    section: &'a Section,
}

impl<'a> Reader<'a> {
    fn invalid(&self, option: &str, value: Option<&str>, message: &str) -> ConfigError {
        invalid(self.interface, option, value, message)
    }

    /// A single value; empty counts as unset (as in comgt-ncm). A list is an error.
    fn single(&self, option: &str) -> Result<Option<&'a str>, ConfigError> {
        match self.section.get(option) {
            None => Ok(None),
            Some(Value::Single(s)) if s.is_empty() => Ok(None),
            Some(Value::Single(s)) => Ok(Some(s)),
            Some(Value::List(_)) => Err(self.invalid(option, None, "expected a single value (option), not a list")),
        }
    }

    /// A list; a single value is split at whitespace (`option probe_hosts 'a b'`).
    fn list(&self, option: &str) -> Result<Option<Vec<&'a str>>, ConfigError> {
        Ok(match self.section.get(option) {
            None => None,
            Some(Value::List(items)) => Some(items.iter().map(String::as_str).filter(|s| !s.is_empty()).collect()),
            Some(Value::Single(s)) => Some(s.split_whitespace().collect()),
        })
    }

    fn choice<T: Copy>(
        &self,
        option: &str,
        names: &[(&str, T)],
        aliases: &[(&str, T)],
    ) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.single(option)? else { return Ok(None) };
        let found = names.iter().chain(aliases).find(|(n, _)| n.eq_ignore_ascii_case(v));
        match found {
            Some((_, t)) => Ok(Some(*t)),
            None => {
                let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                let mut msg = format!("expected one of {}", list.join(", "));
                if let (Some(first), Some(last)) = (aliases.first(), aliases.last()) {
                    msg.push_str(&format!(" (or {} to {})", first.0, last.0));
                }
                Err(self.invalid(option, Some(v), &msg))
            }
        }
    }

    fn boolean(&self, option: &str) -> Result<Option<bool>, ConfigError> {
        let Some(v) = self.single(option)? else { return Ok(None) };
        match v.to_ascii_lowercase().as_str() {
            "1" | "on" | "true" | "yes" | "enabled" => Ok(Some(true)),
            "0" | "off" | "false" | "no" | "disabled" => Ok(Some(false)),
            _ => Err(self.invalid(option, Some(v), "expected a boolean: 1/0, on/off, true/false, yes/no, enabled/disabled")),
        }
    }

    /// A decimal whole number in `min..=max`.
    fn number(&self, option: &str, min: u64, max: u64, what: &str) -> Result<Option<u64>, ConfigError> {
        let Some(v) = self.single(option)? else { return Ok(None) };
        match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ if max == u64::from(u32::MAX) => Err(self.invalid(option, Some(v), &format!("expected {what}: a whole number from {min}"))),
            _ => Err(self.invalid(option, Some(v), &format!("expected {what}: a whole number from {min} to {max}"))),
        }
    }

    fn seconds(&self, option: &str, default: u64, min: u64) -> Result<Duration, ConfigError> {
        let Some(v) = self.single(option)? else { return Ok(Duration::from_secs(default)) };
        match v.parse::<u64>() {
            Ok(n) if n >= min && n <= 86_400 => Ok(Duration::from_secs(n)),
            _ => Err(self.invalid(option, Some(v), &format!("expected a whole number of seconds from {min} to 86400"))),
        }
    }

    fn device(&self, v: &str) -> Result<PathBuf, ConfigError> {
        if !v.starts_with('/') || v.chars().any(char::is_control) {
            return Err(self.invalid("device", Some(v), "expected the absolute path of the modem's AT port, e.g. /dev/ttyUSB1"));
        }
        Ok(PathBuf::from(v))
    }

    fn abs_path(&self, option: &str, v: &str) -> Result<PathBuf, ConfigError> {
        if !v.starts_with('/') || v.chars().any(char::is_control) {
            return Err(self.invalid(option, Some(v), "expected an absolute path, e.g. /tmp/resolv.conf.d/ncmd.conf"));
        }
        Ok(PathBuf::from(v))
    }

    /// APN per 3GPP TS 23.003 §9.1 (labels of letters, digits and `-`), plus `_`, which
    /// real APNs use.
    fn apn(&self, v: &str) -> Result<String, ConfigError> {
        if v.len() > MAX_APN_LEN {
            return Err(self.invalid("apn", Some(v), "is longer than 100 characters (3GPP TS 23.003)"));
        }
        if let Some(c) = v.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))) {
            let c = if c.is_control() || c == ' ' { format!("{:?}", c) } else { format!("'{c}'") };
            return Err(self.invalid(
                "apn",
                Some(&v.escape_debug().to_string()),
                &format!("character {c} is not allowed; an APN has letters, digits, '-', '.' and '_'"),
            ));
        }
        if v.split('.').any(str::is_empty) {
            return Err(self.invalid("apn", Some(v), "has an empty label (a leading, trailing or double dot)"));
        }
        Ok(v.to_owned())
    }

    fn pincode(&self, v: &str) -> Result<Secret, ConfigError> {
        if (4..=8).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Secret::new(v))
        } else {
            Err(self.invalid("pincode", None, "must be 4 to 8 digits"))
        }
    }

    /// Username and password: text that goes between quotes in an AT command. The value is
    /// never repeated in the message.
    fn credential(&self, option: &str, v: &'a str) -> Result<&'a str, ConfigError> {
        let problem = if v.len() > MAX_CREDENTIAL_LEN {
            Some(format!("is longer than {MAX_CREDENTIAL_LEN} characters"))
        } else if v.contains('"') {
            Some("contains a double quote (\"), which would end the AT string; remove it".to_owned())
        } else if v.chars().any(|c| c.is_ascii_control()) {
            Some("contains a control character (such as a line break), which would end the AT command; remove it".to_owned())
        } else if v.contains(';') {
            Some("contains ';', which modems can read as the start of another AT command; remove it".to_owned())
        } else if v.contains('\\') {
            Some("contains '\\', which modems read as an escape inside AT strings; remove it".to_owned())
        } else if !v.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            Some("contains a character outside printable ASCII, which modems do not accept in AT strings".to_owned())
        } else {
            None
        };
        match problem {
            Some(p) => Err(self.invalid(option, None, &p)),
            None => Ok(v),
        }
    }

    /// A Linux interface name (the kernel's dev_valid_name rules).
    fn ifname(&self, v: &str) -> Result<String, ConfigError> {
        if v.len() > 15 || v == "." || v == ".." || v.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
            return Err(self.invalid("ifname", Some(&v.escape_debug().to_string()), "expected a network interface name of at most 15 characters without '/', ':' or spaces, e.g. wwan0"));
        }
        Ok(v.to_owned())
    }

    fn table(&self, option: &str, v: &str) -> Result<String, ConfigError> {
        if v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(self.invalid(option, Some(&v.escape_debug().to_string()), "expected a routing table name or number"));
        }
        Ok(v.to_owned())
    }

    /// An IP address or a host name.
    fn host(&self, v: &str) -> Result<String, ConfigError> {
        let ok = v.parse::<std::net::IpAddr>().is_ok()
            || (v.len() <= 253
                && !v.starts_with('-')
                && !v.split('.').any(str::is_empty)
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if !ok {
            return Err(self.invalid("probe_hosts", Some(&v.escape_debug().to_string()), "expected an IP address or a host name"));
        }
        Ok(v.to_owned())
    }
}
