//! Other programs configured to use a modem's AT port: the tools OpenWrt users install
//! beside a dialer (sms_tool and luci-app-sms-tool, luci-app-3ginfo-lite, modemband),
//! read from their UCI files, so `doctor` can point them at ncmd's shared port.
//!
//! Owns: which file and options each tool keeps its port in, and reading them.
//! Must not know about: AT, ptys, sessions (whether sharing is on comes from the caller).

use serde::Serialize;

use crate::dnsmasq::uci_words;

/// Where a tool keeps its port: tool, UCI file, options holding a device path.
/// sms_tool: luci-app-sms-tool's /etc/config/sms_tool (`readport`, `sendport`, `ussdport`,
/// `atport`; github.com/4IceG/luci-app-sms-tool); 3ginfo-lite: /etc/config/3ginfo
/// `device` (github.com/4IceG/luci-app-3ginfo-lite, set_3ginfo_port.sh); modemband:
/// /etc/config/modemband `set_port` (github.com/4IceG/luci-app-modemband).
pub const TOOLS: &[(&str, &str, &[&str])] = &[
    (
        "sms_tool",
        "/etc/config/sms_tool",
        &["readport", "sendport", "ussdport", "atport"],
    ),
    ("3ginfo-lite", "/etc/config/3ginfo", &["device"]),
    ("modemband", "/etc/config/modemband", &["set_port"]),
];

/// One tool's use of one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortUser {
    pub tool: String,
    pub file: String,
    pub option: String,
    /// The device path as written (`/dev/ttyUSB2`).
    pub device: String,
}

/// The ports a tool's UCI file names in `options` (any section; device paths only).
pub fn parse_port_users(tool: &str, file: &str, options: &[&str], text: &str) -> Vec<PortUser> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let [kw, name, value] = uci_words(line).as_slice() {
            if kw == "option" && options.contains(&name.as_str()) && value.starts_with("/dev/") {
                out.push(PortUser {
                    tool: tool.into(),
                    file: file.into(),
                    option: name.clone(),
                    device: value.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_tool_ports_are_read() {
        // The layout luci-app-sms-tool installs (/etc/config/sms_tool).
        let text =
            "config sms_tool\n\toption readport '/dev/ttyUSB2'\n\toption sendport '/dev/ttyUSB2'\n\
                    \toption pnumber '48'\n\toption atport '/dev/ttyUSB1'\n";
        let users = parse_port_users("sms_tool", "/etc/config/sms_tool", TOOLS[0].2, text);
        assert_eq!(users.len(), 3);
        assert_eq!(users[2].option, "atport");
        assert_eq!(users[2].device, "/dev/ttyUSB1");
        assert!(
            parse_port_users("x", "f", &["device"], "config x\n\toption device 'auto'\n")
                .is_empty()
        );
    }
}
