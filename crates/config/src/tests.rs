//! Tests of `load`/`Config`/`Spec` on realistic network files and of every validation rule.

use super::*;
use std::time::Duration;

/// An OpenWrt 23.05 default /etc/config/network (as written by `config_generate`) with the
/// ncm interface of the OpenWrt wiki page "Use NCM USB Dongle for WAN connection"
/// (https://openwrt.org/docs/guide-user/network/wan/wwan/ethernetoverusb_ncm) added, a
/// second modem, and a section as luci-proto-ncm writes it (ipv6/auto/delay options).
const NETWORK: &str = r#"
config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config globals 'globals'
	option ula_prefix 'fd12:3456:789a::/48'

config device
	option name 'br-lan'
	option type 'bridge'
	list ports 'lan1'
	list ports 'lan2'

config interface 'lan'
	option device 'br-lan'
	option proto 'static'
	option ipaddr '192.168.1.1'
	option netmask '255.255.255.0'
	option ip6assign '60'

config interface 'wan'
	option device 'wan'
	option proto 'dhcp'

config interface 'wwan'
        option proto 'ncm'
        option device '/dev/ttyUSB1'
        option pdptype 'IP'
        option apn 'internet'

# second modem, written by LuCI (luci-proto-ncm)
config interface 'lte2'
	option proto 'ncm'
	option device '/dev/cdc-wdm0'
	option mode 'preferlte'
	option pdptype 'IPV4V6'
	option apn 'web.vodafone.de'
	option pincode '4711'
	option username 'vodafone'
	option password 'Pw-Xq7#distinct'
	option ipv6 'auto'
	option delay '10'
	option auto '0'
	option metric '20'

config interface 'broken'
	option proto 'ncm'
	option device '/dev/ttyUSB4'
	option mode 'fast'
"#;

fn cfg(text: &str) -> Config {
    Config::from_text(Path::new("/etc/config/network"), text).unwrap()
}

/// The first error for a section with the given extra option lines.
fn error_for(options: &str) -> ConfigError {
    let text = format!("config interface 'w'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n{options}");
    let c = cfg(&text);
    assert!(c.specs.is_empty(), "expected an error for {options:?}");
    c.errors.into_iter().next().unwrap()
}

fn spec_with(options: &str) -> Spec {
    let text = format!("config interface 'w'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n{options}");
    let c = cfg(&text);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    c.specs.into_iter().next().unwrap()
}

#[test]
fn realistic_file_lists_ncm_interfaces_and_keeps_errors_apart() {
    let c = cfg(NETWORK);
    assert_eq!(c.specs.iter().map(Spec::interface).collect::<Vec<_>>(), ["wwan", "lte2"]);
    assert_eq!(c.errors.len(), 1);
    assert_eq!(
        c.errors[0].to_string(),
        "interface broken: option mode 'fast': expected one of preferlte, preferumts, lte, umts, gsm, auto"
    );
    assert_eq!(c.names(), ["wwan", "lte2", "broken"]);

    let wwan = c.interface("wwan").unwrap();
    assert_eq!(wwan.device, Path::new("/dev/ttyUSB1"));
    assert_eq!(wwan.apn.as_deref(), Some("internet"));
    assert_eq!(wwan.pdptype, PdpType::Ip);
    assert_eq!(wwan.profile, 1);
    assert_eq!(wwan.mode, None);
    assert_eq!(wwan.pincode, None);
    assert_eq!(wwan.metric, 0);
    assert!(wwan.defaultroute && wwan.peerdns);
    assert_eq!(wwan.ipconfig, IpConfig::Auto);
    assert_eq!(wwan.probe_hosts, ["1.1.1.1", "8.8.8.8"]);
    assert_eq!(wwan.probe_interval, Duration::from_secs(4));
    assert_eq!(wwan.probe_timeout, Duration::from_secs(2));
    assert_eq!(wwan.probe_count, 2);
    assert_eq!(wwan.probe_port, 0);
    assert_eq!(wwan.watch_interval, Duration::from_secs(15));
    assert!(!wwan.psonly);
    assert_eq!(wwan.backoff_max, Duration::from_secs(300));
    assert_eq!(wwan.linksettle, Duration::ZERO);
    assert_eq!(wwan.attachwait, Duration::from_secs(60));
    assert_eq!(wwan.delay, Duration::ZERO);

    let lte2 = c.interface("lte2").unwrap();
    assert_eq!(lte2.mode, Some(Mode::Preferlte));
    assert_eq!(lte2.pdptype, PdpType::Ipv4v6);
    assert_eq!(lte2.pdptype.context_type(), 3);
    assert_eq!(lte2.pincode.as_ref().map(Secret::expose), Some("4711"));
    assert_eq!(lte2.password.as_ref().map(Secret::expose), Some("Pw-Xq7#distinct"));
    assert_eq!(lte2.delay, Duration::from_secs(10));
    assert_eq!(lte2.metric, 20);

    // The bad interface is reported with its own error, the missing one lists the others.
    assert!(c.interface("broken").unwrap_err().to_string().contains("option mode 'fast'"));
    let err = c.interface("lan").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no interface 'lan' with option proto 'ncm' in /etc/config/network; ncm interfaces there: wwan, lte2, broken"
    );
}

#[test]
fn secrets_never_appear_in_debug_or_json() {
    let c = cfg(NETWORK);
    let spec = c.interface("lte2").unwrap();
    for text in [format!("{c:?}"), format!("{spec:#?}"), serde_json::to_string(spec).unwrap()] {
        assert!(!text.contains("Pw-Xq7"), "{text}");
        assert!(!text.contains("4711"), "{text}");
    }
    let json = serde_json::to_value(spec).unwrap();
    assert_eq!(json["password"], "***");
    assert_eq!(json["pdptype"], "IPV4V6");
    assert_eq!(json["delay"], 10);
}

#[test]
fn secrets_never_appear_in_error_texts() {
    let secret_cases = [
        ("option pincode '12a4x9Qz'", "option pincode: must be 4 to 8 digits"),
        ("option pincode '123'", "option pincode: must be 4 to 8 digits"),
        ("option pincode '123456789'", "option pincode: must be 4 to 8 digits"),
        ("option password 'Qz9\"distinct'", "option password: contains a double quote"),
        ("option password 'Qz9;distinct'", "option password: contains ';'"),
        ("option password 'Qz9\\\\distinct'", "option password: contains '\\'"),
        ("option password \"Qz9\tdistinct\"", "option password: contains a control character"),
        ("option password 'Qz9\ndistinct'", "option password: contains a control character"),
        ("option password 'Qz9édistinct'", "option password: contains a character outside printable ASCII"),
        ("option username 'Qz9\"distinct'", "option username: contains a double quote"),
        ("option username 'Qz9\rdistinct'", "option username: contains a control character"),
    ];
    for (line, expected) in secret_cases {
        let err = error_for(&format!("\t{line}\n"));
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("interface w: {expected}")), "{line}: {msg}");
        assert!(!msg.contains("Qz9") && !msg.contains("distinct") && !msg.contains("12a4"), "{msg}");
        assert!(!format!("{err:?}").contains("Qz9"), "{err:?}");
    }
    let long = "x".repeat(128);
    assert!(error_for(&format!("\toption password '{long}'\n")).to_string().contains("longer than 127"));
    // Spaces and other punctuation are fine in credentials.
    let s = spec_with("\toption username 'user@realm.net'\n\toption password 'a b!$%&()*+,-./:<=>?@[]^_`{|}~'\n");
    assert_eq!(s.password.unwrap().expose(), "a b!$%&()*+,-./:<=>?@[]^_`{|}~");
}

#[test]
fn each_choice_rule() {
    let cases = [
        ("option auth 'kerberos'", "option auth 'kerberos': expected one of pap, chap, both, none (or 0 to 3)"),
        ("option pdptype 'IPX'", "option pdptype 'IPX': expected one of IP, IPV6, IPV4V6"),
        ("option ipconfig 'ppp'", "option ipconfig 'ppp': expected one of auto, static, dhcp"),
        ("option mode 'fast'", "option mode 'fast': expected one of preferlte, preferumts, lte, umts, gsm, auto"),
        ("option defaultroute 'maybe'", "option defaultroute 'maybe': expected a boolean"),
        ("list mode 'lte'", "option mode: expected a single value (option), not a list"),
    ];
    for (line, expected) in cases {
        let msg = error_for(&format!("\t{line}\n")).to_string();
        assert!(msg.starts_with(&format!("interface w: {expected}")), "{msg}");
    }
    assert_eq!(spec_with("\toption auth 'CHAP'\n").auth, Some(Auth::Chap));
    assert_eq!(spec_with("\toption auth '3'\n").auth, Some(Auth::Both));
    assert_eq!(spec_with("\toption pdptype 'ipv4v6'\n").pdptype, PdpType::Ipv4v6);
    assert_eq!(spec_with("\toption pdptype 'ipv6'\n").pdptype.context_type(), 2);
    assert_eq!(spec_with("\toption mode 'LTE'\n").mode, Some(Mode::Lte));
    assert_eq!(spec_with("\toption mode ''\n").mode, None);
    assert_eq!(spec_with("\toption ipconfig 'dhcp'\n").ipconfig, IpConfig::Dhcp);
    for (v, b) in [("1", true), ("on", true), ("True", true), ("yes", true), ("enabled", true)]
        .into_iter()
        .chain([("0", false), ("off", false), ("false", false), ("NO", false), ("disabled", false)])
    {
        let s = spec_with(&format!("\toption peerdns '{v}'\n\toption psonly '{v}'\n\toption delegate '{v}'\n"));
        assert_eq!((s.peerdns, s.psonly, s.delegate), (b, b, Some(b)), "{v}");
    }
}

#[test]
fn each_number_rule() {
    let cases = [
        ("option profile '0'", "option profile '0': expected a PDP context id: a whole number from 1 to 16"),
        ("option profile '17'", "option profile '17'"),
        ("option profile 'one'", "option profile 'one'"),
        ("option delay '-1'", "option delay '-1': expected a whole number of seconds from 0 to 86400"),
        ("option delay '2.5'", "option delay '2.5'"),
        ("option mtu '40'", "option mtu '40': expected 0 or 68 to 65535"),
        ("option mtu '70000'", "option mtu '70000'"),
        ("option metric 'low'", "option metric 'low': expected a route metric: a whole number from 0"),
        ("option probe_timeout '0'", "option probe_timeout '0': expected a whole number of seconds from 1"),
        ("option probe_count '0'", "option probe_count '0'"),
        ("option probe_port '65536'", "option probe_port '65536'"),
        ("option backoff_max '0'", "option backoff_max '0'"),
    ];
    for (line, expected) in cases {
        let msg = error_for(&format!("\t{line}\n")).to_string();
        assert!(msg.starts_with(&format!("interface w: {expected}")), "{msg}");
    }
    let s = spec_with(
        "\toption profile '16'\n\toption mtu '1428'\n\toption metric '100'\n\toption delay '30'\n\
         \toption probe_interval '0'\n\toption probe_port '443'\n\toption linksettle '0'\n\toption attachwait '5'\n",
    );
    assert_eq!((s.profile, s.mtu, s.metric), (16, Some(1428), 100));
    assert_eq!(s.probe_interval, Duration::ZERO);
    assert_eq!(s.probe_port, 443);
    assert_eq!((s.linksettle, s.attachwait), (Duration::ZERO, Duration::from_secs(5)));
    assert_eq!(spec_with("\toption mtu '0'\n").mtu, None);
    assert_eq!((s.share_port, s.share_ports), (None, 1), "shared port off by default");
    let s = spec_with("\toption share_port '/dev/ttyNCM0'\n\toption share_ports '3'\n");
    assert_eq!((s.share_port.as_deref(), s.share_ports), (Some(std::path::Path::new("/dev/ttyNCM0")), 3));
    for bad in ["\toption share_port 'ttyNCM0'\n", "\toption share_ports '9'\n", "\toption share_ports '0'\n"] {
        let text = format!("config interface 'w'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n{bad}");
        assert_eq!(cfg(&text).errors.len(), 1, "{bad}");
    }
}

#[test]
fn apn_rules() {
    for ok in ["internet", "web.vodafone.de", "internet.t-mobile", "m2m_iot.operator.com", "A1", &"a".repeat(100)] {
        assert_eq!(spec_with(&format!("\toption apn '{ok}'\n")).apn.as_deref(), Some(ok));
    }
    assert_eq!(spec_with("\toption apn ''\n").apn, None);
    let cases = [
        ("internet\"", "option apn 'internet\\\"': character '\"' is not allowed"),
        ("inter net", "option apn 'inter net': character ' ' is not allowed"),
        ("a;b", "option apn 'a;b': character ';' is not allowed"),
        ("a\\nb", "character '\\' is not allowed"),
        (".internet", "option apn '.internet': has an empty label"),
        ("internet.", "has an empty label"),
        ("a..b", "has an empty label"),
    ];
    for (apn, expected) in cases {
        let msg = error_for(&format!("\toption apn '{apn}'\n")).to_string();
        assert!(msg.contains(expected), "{apn}: {msg}");
    }
    let msg = error_for(&format!("\toption apn '{}'\n", "a".repeat(101))).to_string();
    assert!(msg.contains("longer than 100"), "{msg}");
}

#[test]
fn other_option_rules() {
    let text = "config interface 'w'\n\toption proto 'ncm'\n\toption apn 'x'\n";
    assert_eq!(
        cfg(text).errors[0].to_string(),
        "interface w: option device is required: set it to the modem's AT port, e.g. option device '/dev/ttyUSB1'"
    );
    let text = "config interface 'w'\n\toption proto 'ncm'\n\toption device 'ttyUSB1'\n";
    assert!(cfg(text).errors[0].to_string().contains("option device 'ttyUSB1': expected the absolute path"));
    assert!(error_for("\toption ifname 'wwan0/x'\n").to_string().contains("option ifname 'wwan0/x'"));
    assert!(error_for("\toption ifname 'abcdefghijklmnop'\n").to_string().contains("at most 15"));
    assert!(error_for("\toption ip4table 'a b'\n").to_string().contains("routing table"));
    assert!(error_for("\toption dns_file 'resolv.conf'\n").to_string().contains("absolute path"));
    assert!(error_for("\tlist probe_hosts 'bad host'\n").to_string().contains("option probe_hosts 'bad host'"));
    let s = spec_with(
        "\toption ifname 'wwan0'\n\toption ip4table 'wwan'\n\toption ip6table '100'\n\
         \toption dns_file '/tmp/resolv.conf.d/ncmd'\n\tlist probe_hosts '192.0.2.1'\n\tlist probe_hosts 'probe.example.net'\n\
         \tlist probe_hosts '2001:db8::1'\n\toption sourcefilter '0'\n",
    );
    assert_eq!(s.ifname.as_deref(), Some("wwan0"));
    assert_eq!((s.ip4table.as_deref(), s.ip6table.as_deref()), (Some("wwan"), Some("100")));
    assert_eq!(s.dns_file.as_deref(), Some(Path::new("/tmp/resolv.conf.d/ncmd")));
    assert_eq!(s.probe_hosts, ["192.0.2.1", "probe.example.net", "2001:db8::1"]);
    assert_eq!(s.sourcefilter, Some(false));
    assert_eq!(spec_with("\toption probe_hosts '192.0.2.1 192.0.2.2'\n").probe_hosts, ["192.0.2.1", "192.0.2.2"]);
}

#[test]
fn netifd_json_is_read_like_uci() {
    // The shape netifd passes to `ncm.sh setup wwan '<json>'`: declared options plus
    // interface attributes, ints and bools typed.
    let json = serde_json::json!({
        "proto": "ncm", "device": "/dev/ttyUSB2", "apn": "internet", "pdptype": "ipv4v6",
        "profile": 2, "metric": 10, "defaultroute": false, "peerdns": true, "delay": "5",
        "password": "Jq8-distinct", "zone": "wan", "ip4table": "200", "auto": true,
        "probe_hosts": ["192.0.2.1", "192.0.2.2"], "mode": null
    });
    let s = Spec::from_netifd_json("wwan", &json).unwrap();
    assert_eq!(s.interface(), "wwan");
    assert_eq!(s.device, Path::new("/dev/ttyUSB2"));
    assert_eq!((s.profile, s.metric, s.defaultroute, s.peerdns), (2, 10, false, true));
    assert_eq!(s.pdptype, PdpType::Ipv4v6);
    assert_eq!(s.delay, Duration::from_secs(5));
    assert_eq!(s.ip4table.as_deref(), Some("200"));
    assert_eq!(s.probe_hosts, ["192.0.2.1", "192.0.2.2"]);
    assert_eq!(s.mode, None);

    let err = Spec::from_netifd_json("wwan", &serde_json::json!({"device": "/dev/ttyUSB2", "profile": 99})).unwrap_err();
    assert_eq!(err.to_string(), "interface wwan: option profile '99': expected a PDP context id: a whole number from 1 to 16");
    let err = Spec::from_netifd_json("wwan", &serde_json::json!({"device": {"a": 1}})).unwrap_err();
    assert!(err.to_string().contains("option device: expected a string"));
    let err = Spec::from_netifd_json("wwan", &serde_json::json!([])).unwrap_err();
    assert!(matches!(err, ConfigError::NotAnObject { .. }));
    let err = Spec::from_netifd_json("wwan", &serde_json::json!({"apn": "x"})).unwrap_err();
    assert!(matches!(err, ConfigError::MissingOption { .. }));
}

#[test]
fn load_reports_io_and_syntax_errors_with_the_path() {
    let dir = std::env::temp_dir().join(format!("ncmd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing");
    let err = load(&missing).unwrap_err();
    assert!(err.to_string().starts_with(&format!("cannot read {}:", missing.display())), "{err}");

    let bad = dir.join("network");
    std::fs::write(&bad, "config interface 'wwan'\n\toption proto 'ncm'\n\toption apn 'x\n").unwrap();
    let err = load(&bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: line 3: unterminated single quote ('): add the closing quote", bad.display())
    );
    std::fs::write(&bad, NETWORK).unwrap();
    assert_eq!(load(&bad).unwrap().specs.len(), 2);
    let empty = cfg("config interface 'wan'\n\toption proto 'dhcp'\n");
    assert!(empty.interface("wwan").unwrap_err().to_string().contains("the file has no ncm interfaces"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn set_option_output_loads_back() {
    let out = uci::set_option(NETWORK, "lte2", "password", Some("new'pass word")).unwrap();
    let c = cfg(&out);
    assert_eq!(c.interface("lte2").unwrap().password.as_ref().unwrap().expose(), "new'pass word");
    assert_eq!(c.specs.len(), 2);
    let out = uci::set_option(&out, "broken", "mode", Some("lte")).unwrap();
    assert_eq!(cfg(&out).specs.len(), 3);
    // Only the changed lines differ.
    let changed: Vec<_> = NETWORK.lines().zip(out.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1 + 1, "{changed:?}");
}

/// Issue 12 item 9: a value from the file is repeated at most 64 characters long, with its
/// size; a secret never.
#[test]
fn messages_about_huge_values_are_bounded() {
    const HUGE: usize = 50 * 1024 * 1024;
    let apn = "a".repeat(HUGE);
    let text = format!("config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n\toption apn '{apn}'\n");
    let err = cfg(&text).interface("wwan").unwrap_err().to_string();
    assert_eq!(
        err,
        format!("interface wwan: option apn '{}… ({HUGE} bytes)': is longer than 100 characters (3GPP TS 23.003)", "a".repeat(64))
    );
    // The same through netifd's JSON.
    let json = serde_json::json!({ "device": "/dev/ttyUSB1", "apn": apn });
    let err = Spec::from_netifd_json("wwan", &json).unwrap_err().to_string();
    assert!(err.len() < 200 && err.contains(&format!("({HUGE} bytes)")), "{}", &err[..err.len().min(300)]);
    // A long secret is never repeated; long names are cut like values.
    let password = format!("{}\"", "p".repeat(1 << 20));
    let text = format!("config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n\toption password '{password}'\n");
    let err = cfg(&text).interface("wwan").unwrap_err().to_string();
    assert!(err.len() < 200 && !err.contains("ppp"), "{err}");
    let name = "n".repeat(1 << 20);
    for text in [format!("config interface 'x'\n\toption {name}. 'v'\n"), format!("config {name} x\nconfig {name}2 x\n")] {
        let err = parse_uci(&text).unwrap_err().to_string();
        assert!(err.len() < 300 && err.contains(" bytes)"), "{}", &err[..err.len().min(300)]);
    }
}
