//! Reads dnsmasq's DNS-rebind protection from OpenWrt's `/etc/config/dhcp` text.
//! Pure parser (the caller reads the file). Knows nothing of modems.
//!
//! Why doctor cares: carriers that redirect to a captive/activation portal on a private
//! address (the OpenWrt NCM wiki's example: YOTA, `my.yota.ru`) are blocked by dnsmasq's
//! rebind protection ("possible DNS-rebind attack detected").

use serde::Serialize;

/// Rebind protection settings of the dnsmasq sections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebindProtection {
    pub enabled: bool,
    /// `list rebind_domain` entries (domains allowed to resolve to private addresses).
    pub allowed_domains: Vec<String>,
}

/// Parse UCI `config dnsmasq` sections: `option rebind_protection '1'` and
/// `list rebind_domain '...'`. A missing option counts as off (dnsmasq's default; OpenWrt
/// ships the option set to 1). `None` when the text has no dnsmasq section.
pub fn parse_rebind_protection(text: &str) -> Option<RebindProtection> {
    let mut in_dnsmasq = false;
    let mut found = None::<RebindProtection>;
    for line in text.lines() {
        let words = uci_words(line);
        match words.as_slice() {
            [kw, kind, ..] if kw == "config" => {
                in_dnsmasq = kind == "dnsmasq";
                if in_dnsmasq && found.is_none() {
                    found = Some(RebindProtection::default());
                }
            }
            [kw, name, value] if in_dnsmasq && kw == "option" && name == "rebind_protection" => {
                if let Some(r) = found.as_mut() {
                    r.enabled = matches!(value.as_str(), "1" | "on" | "true" | "yes" | "enabled");
                }
            }
            [kw, name, value] if in_dnsmasq && kw == "list" && name == "rebind_domain" => {
                if let Some(r) = found.as_mut() {
                    r.allowed_domains.push(value.clone());
                }
            }
            _ => {}
        }
    }
    found
}

/// Split a UCI line into words, removing one level of '…' or "…" quoting; stops at `#`.
pub(crate) fn uci_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        let mut word = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            for ch in chars.by_ref() {
                if ch == c {
                    break;
                }
                word.push(ch);
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape of OpenWrt's default /etc/config/dhcp (package dnsmasq, files/dhcp.conf).
    const DEFAULT_DHCP: &str = "
config dnsmasq
\toption domainneeded\t1
\toption boguspriv\t1
\toption localise_queries\t1
\toption rebind_protection 1  # disable if upstream must serve RFC1918 addresses
\toption rebind_localhost 1  # enable for RBL checking and similar services
\toption local\t'/lan/'
\tlist rebind_domain 'yota.ru'

config dhcp lan
\toption interface\tlan
";

    #[test]
    fn reads_default_config() {
        let r = parse_rebind_protection(DEFAULT_DHCP);
        assert_eq!(
            r,
            Some(RebindProtection {
                enabled: true,
                allowed_domains: vec!["yota.ru".into()]
            })
        );
    }

    #[test]
    fn off_and_absent() {
        let off = parse_rebind_protection("config dnsmasq\n\toption rebind_protection '0'\n");
        assert_eq!(off.map(|r| r.enabled), Some(false));
        assert_eq!(parse_rebind_protection("config dhcp lan\n"), None);
    }
}
