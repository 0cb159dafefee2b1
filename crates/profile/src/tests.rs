//! Tests of the built-in profiles (every template expanded to exact AT strings), vendor
//! matching on real +CGMI answers, and user files merged over the built-ins.

use super::*;

const PASSWORD: &str = "Pw9-distinct";

fn vars(apn: &str, user: &str, pass: &str, auth: &str) -> Vars {
    Vars::new(1, "ip").set(Var::Apn, apn).set(Var::Username, user).set(Var::Password, pass).set(Var::Auth, auth)
}

fn x(t: &Template, v: &Vars) -> String {
    t.expand(v).unwrap().text
}

fn all(ts: &[Template], v: &Vars) -> Vec<String> {
    ts.iter().map(|t| x(t, v)).collect()
}

fn entry(key: &str) -> VendorProfile {
    Profiles::builtin().get(key).unwrap_or_else(|| panic!("no entry {key}")).clone()
}

fn mode(p: &VendorProfile, m: &str, v: &Vars) -> Option<String> {
    match p.mode_command(m) {
        ModeCommand::Command(t) => Some(x(t, v)),
        ModeCommand::NotSupported => None,
    }
}

#[test]
fn every_builtin_template_expands_cleanly_and_hides_the_password() {
    let p = Profiles::builtin();
    assert_eq!(
        p.keys().collect::<Vec<_>>(),
        ["\"marvell\"", "\"mikrotik\"", "\"zte", "fibocom", "generic", "huawei", "mtk1", "quectel", "quectel-eg060w", "samsung", "sierra", "sony", "spreadtrum"]
    );
    let v = vars("internet", "user", PASSWORD, "1").set(Var::Pincode, "1234");
    for key in p.keys() {
        let e = p.get(key).unwrap();
        let singles = [&e.connect, &e.finalize, &e.disconnect, &e.pdp_query, &e.status_query, &e.ip_query, &e.ipv6_query, &e.reset, &e.attach, &e.detach, &e.attach_query, &e.psonly];
        let queries = [&e.mode_query, &e.psonly_query];
        let templates = e.initialize.iter().chain(&e.configure).chain(e.modes.values()).chain(singles.into_iter().flatten()).chain(queries.into_iter().flatten().map(|q| &q.command));
        let sig = e.signal_queries();
        let reg = e.registration_queries();
        let templates = templates.chain(&sig).chain(&reg);
        for t in templates {
            let out = t.expand(&v).unwrap();
            assert!(!out.text.contains("${") && !out.text.contains('\\'), "{key}: {}", out.text);
            assert!(!out.shown.contains(PASSWORD), "{key}: {}", out.shown);
            assert!(out.text.to_ascii_uppercase().starts_with("AT"), "{key}: {}", out.text);
        }
        // Every mode that can be queried can be set, and the other way round when a query exists.
        if let Some(q) = &e.mode_query {
            assert_eq!(q.matches.keys().collect::<Vec<_>>(), e.modes.keys().collect::<Vec<_>>(), "{key}");
        }
    }
}

#[test]
fn huawei_exact_commands() {
    let h = entry("huawei");
    let v = vars("internet", "", "", "");
    assert_eq!(all(&h.initialize, &v), ["AT", "ATZ", "ATV1", "ATE0", "ATS0=0", "AT+CGDCONT=1,\"IP\",\"internet\""]);
    assert_eq!(all(&h.initialize, &vars("", "", "", ""))[5], "AT+CGDCONT=1,\"IP\"");
    let connect = h.connect.as_ref().unwrap();
    assert_eq!(x(connect, &v), "AT^NDISDUP=1,1,\"internet\"");
    assert_eq!(x(connect, &vars("", "", "", "")), "AT^NDISDUP=1,1,\"\"");
    assert_eq!(x(connect, &vars("internet", "user", "pass", "2")), "AT^NDISDUP=1,1,\"internet\",\"user\",\"pass\",2");
    assert_eq!(x(connect, &vars("internet", "user", "pass", "")), "AT^NDISDUP=1,1,\"internet\",\"user\",\"pass\"");
    // Empty APN with credentials: the APN slot is kept (was shifted by comgt-ncm).
    assert_eq!(x(connect, &vars("", "user", "pass", "1")), "AT^NDISDUP=1,1,\"\",\"user\",\"pass\",1");
    let shown = connect.expand(&vars("internet", "user", PASSWORD, "1")).unwrap().shown;
    assert_eq!(shown, "AT^NDISDUP=1,1,\"internet\",\"user\",\"***\",1");
    assert_eq!(x(h.disconnect.as_ref().unwrap(), &Vars::new(3, "IP")), "AT^NDISDUP=3,0");
    assert_eq!(mode(&h, "preferlte", &v).unwrap(), "AT^SYSCFGEX=\"030201\",3fffffff,2,4,7fffffffffffffff,,");
    assert_eq!(mode(&h, "auto", &v).unwrap(), "AT^SYSCFGEX=\"00\",3fffffff,2,4,7fffffffffffffff,,");
    assert_eq!(x(h.psonly.as_ref().unwrap(), &v), "AT^SYSCFGEX=\"99\",40000000,2,1,40000000,,");
    assert_eq!(h.auth_value("chap"), Some("2"));
    assert_eq!(h.auth_value("both"), None);
    assert!(h.is_pdp_write("at+cgdcont=1,\"IP\"") && !h.is_pdp_write("AT^NDISDUP=1,1"));

    // Read-before-write: a real E3372h reply (ModemManager test data,
    // plugins/huawei/tests/test-modem-helpers-huawei.c, ^SYSCFGEX response tests).
    let q = h.mode_query.as_ref().unwrap();
    let reply = "^SYSCFGEX: \"030201\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF";
    let current: Vec<&String> = q.matches.iter().filter(|(_, p)| p.matches(&v, reply).unwrap()).map(|(k, _)| k).collect();
    assert_eq!(current, ["preferlte"]);
    let ps = &h.psonly_query.as_ref().unwrap().matches["psonly"];
    assert!(!ps.matches(&v, reply).unwrap());
    assert!(ps.matches(&v, "^SYSCFGEX: \"00\",3FFFFFFF,1,1,7FFFFFFFFFFFFFFF,,").unwrap());
    // ^NDISSTATQRY answer format from ModemManager (mm-modem-helpers-huawei.c).
    let st = h.connected_pattern.as_ref().unwrap();
    assert!(st.matches(&v, "^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\"").unwrap());
    assert!(h.disconnected_pattern.as_ref().unwrap().matches(&v, "^NDISSTATQRY: 0,,,\"IPV4\"").unwrap());
    assert!(h.disconnected_urc[0].matches(&v, "^NDISSTAT: 0,,,\"IPV4\"").unwrap());
}

#[test]
fn other_vendors_exact_commands() {
    let v = vars("internet", "user", "pass", "1");
    let s = entry("samsung");
    assert_eq!(all(&s.initialize, &v), ["AT", "AT+CGREG=2", "AT+CFUN=5", "AT+MODESELECT=3", "AT+CGDCONT=1,\"IP\",\"internet\""]);
    assert_eq!((x(s.connect.as_ref().unwrap(), &v), x(s.disconnect.as_ref().unwrap(), &v)), ("AT+CGATT=1".into(), "AT+CGATT=0".into()));
    assert_eq!(mode(&s, "umts", &v).unwrap(), "AT+CHANGEALLPATH=1");
    assert_eq!(mode(&s, "lte", &v), None);

    let si = entry("sierra");
    assert_eq!(all(&si.initialize, &v), ["AT+CFUN=1", "AT+CGDCONT=1,\"IP\",\"internet\"", "AT$QCPDPP=1,1,\"pass\",\"user\""]);
    assert_eq!(all(&si.initialize, &vars("", "", "", ""))[2], "AT$QCPDPP=1,0");
    assert_eq!(mode(&si, "preferlte", &v).unwrap(), "AT!SELRAT=07");
    assert_eq!(x(si.connect.as_ref().unwrap(), &v), "AT!SCACT=1,1");
    assert_eq!(x(si.disconnect.as_ref().unwrap(), &v), "AT!SCACT=0,1");

    let so = entry("sony");
    assert_eq!(all(&so.initialize, &v)[2], "AT*EIAAUW=1,1,\"user\",\"pass\",1");
    assert_eq!(all(&so.initialize, &vars("x", "", "", ""))[2], "AT*EIAAUW=1,1,\"\",\"\",00111");
    assert_eq!(x(so.connect.as_ref().unwrap(), &v), "AT*ENAP=1,1");
    assert_eq!(x(so.disconnect.as_ref().unwrap(), &v), "AT*ENAP=0");

    let m = entry("mtk1");
    assert_eq!(all(&m.configure, &v), ["AT+CGDCONT=1,\"IP\",\"internet\",0,0"]);
    assert_eq!(x(m.connect.as_ref().unwrap(), &v), "AT+CGACT=1,1");
    assert_eq!(x(m.finalize.as_ref().unwrap(), &v), "AT+CGDATA=\"M-MBIM\",1,1");
    assert!(m.linkatfinalize);
    assert_eq!(mode(&m, "lte", &v), None, "no modes: the caller skips with a warning and still dials");

    let q = entry("quectel");
    let v6 = Vars::new(2, "IPV4V6").set(Var::Apn, "internet").set(Var::Username, "u").set(Var::Password, "p").set(Var::Auth, "3");
    assert_eq!(all(&q.configure, &v6), ["at+qicsgp=2,3,\"internet\",\"u\",\"p\",3"]);
    assert_eq!(all(&q.configure, &Vars::new(1, "IP").set(Var::Apn, "internet")), ["at+qicsgp=1,1,\"internet\",\"\",\"\",0"]);
    assert_eq!(mode(&q, "lte", &v).unwrap(), "AT+QCFG=\"nwscanmode\",3");
    assert_eq!(mode(&q, "preferlte", &v), None);
    assert_eq!(x(q.connect.as_ref().unwrap(), &v6), "AT+qnetdevctl=1,2,1");
    assert_eq!(x(q.disconnect.as_ref().unwrap(), &v6), "AT+qnetdevctl=0,2,0");
    assert!(q.connected_pattern.as_ref().unwrap().matches(&v6, "+CGACT: 2,1").unwrap());

    let eg = entry("quectel-eg060w");
    assert_eq!(all(&eg.configure, &v), ["AT+CGDCONT=1,\"IP\",\"internet\""]);
    assert_eq!(x(eg.connect.as_ref().unwrap(), &v), "AT+qnetdevctl=1,1,1", "inherited from quectel");

    for key in ["\"zte", "\"marvell\""] {
        let z = entry(key);
        assert_eq!(all(&z.initialize, &v), ["AT+CFUN=1"]);
        assert_eq!(all(&z.configure, &v), ["AT+ZGDCONT=1,\"IP\",\"internet\",\"\",0,0", "AT+ZGPCOAUTH=1,\"user\",\"pass\",0"]);
        assert_eq!(x(z.connect.as_ref().unwrap(), &v), "AT+ZGACT=1,1");
        assert_eq!(x(z.disconnect.as_ref().unwrap(), &v), "AT+ZGACT=0,1");
    }

    let mk = entry("\"mikrotik\"");
    let v3 = Vars::new(3, "IPV4V6").set(Var::Apn, "internet");
    assert_eq!(all(&mk.configure, &v3), ["AT+CFUN=4", "AT+ZGDCONT=3,\"IPV4V6\",\"internet\",0", "AT+ZDHCPLEASE=10", "AT+CFUN=1"]);
    assert_eq!(x(mk.connect.as_ref().unwrap(), &v3), "AT+ZGACT=1,3");
    assert_eq!(x(mk.disconnect.as_ref().unwrap(), &v3), "AT+ZGACT=0,3", "the configured cid, not a fixed 1");
    assert_eq!(x(mk.finalize.as_ref().unwrap(), &v3), "AT+ZDHCPLEASE=0");

    let sp = entry("spreadtrum");
    assert_eq!(all(&sp.initialize, &v), ["AT+CFUN=1", "AT+CCED=2,8", "AT+SPTTYROUTER=1"]);
    assert_eq!(x(sp.connect.as_ref().unwrap(), &v), "AT+SPTZCMD=\"Y29ubm1hbmN0bCBuZGlzZGlhbCBBVF5ORElTRFVOPSJ1c2IwIiwxLDE=\"");
    assert_eq!(x(sp.disconnect.as_ref().unwrap(), &v), "AT+SPTZCMD=\"Y29ubm1hbmN0bCBuZGlzZGlhbCBBVF5ORElTRFVOPSJ1c2IwIiwwLDE=\"");

    let f = entry("fibocom");
    assert_eq!(all(&f.configure, &v), ["AT+CGDCONT=1,\"IP\",\"internet\""]);
    assert_eq!(x(f.connect.as_ref().unwrap(), &v), "AT+GTRNDIS=1,1");
    assert!(f.disconnected_pattern.as_ref().unwrap().matches(&v, "+GTRNDIS: 0").unwrap());
}

#[test]
fn matching_real_cgmi_answers() {
    let p = Profiles::builtin();
    // +CGMI answers as modems print them (comgt-ncm issues #17448, #17998, PR #12261,
    // #24689 and ModemManager's plugin tests).
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("huawei", Some("E3372"), "huawei"),
        ("huawei\r", None, "huawei"),
        ("+CGMI: huawei", None, "huawei"),
        ("HUAWEI", None, "huawei"),
        ("Quectel", Some("EC25"), "quectel"),
        ("Quectel", Some("EG060W-EAAA"), "quectel-eg060w"),
        ("+CGMI: Quectel", Some("+CGMM: EG060W-EA"), "quectel-eg060w"),
        ("\"ZTE CORPORATION\"", Some("MF286R"), "\"zte"),
        ("\"ZTE CORPORATION", None, "\"zte"),
        ("ZTE CORPORATION", None, "\"zte"),
        ("\"MARVELL\"", None, "\"marvell\""),
        ("\"MikroTik\"", Some("R11e-LTE6"), "\"mikrotik\""),
        ("Sierra Wireless, Incorporated", Some("EM7455"), "sierra"),
        ("SAMSUNG", None, "samsung"),
        ("Sony Ericsson", None, "sony"),
        ("Fibocom", Some("FG621-EA"), "fibocom"),
    ];
    for (cgmi, cgmm, key) in cases {
        assert_eq!(p.select(cgmi, *cgmm, None).unwrap().key, *key, "{cgmi:?} {cgmm:?}");
    }
    // USB vendor id fallback when the name is unknown or unreadable.
    assert_eq!(p.select("RDY", None, Some(0x12d1)).unwrap().key, "huawei");
    assert_eq!(p.select("", None, Some(0x2c7c)).unwrap().key, "quectel");
    let err = p.select("Telit", Some("LE910"), Some(0x1bc7)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("unsupported modem: no profile for manufacturer 'Telit', model 'le910', USB vendor 1bc7; known: \"marvell\""), "{msg}");
    assert!(msg.ends_with("add an entry for it to /etc/ncmd/profiles.json"), "{msg}");
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ncmd-profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn user_file_overrides_a_vendor_and_adds_a_model() {
    // A user file in the old /etc/gcom/ncm.json style (JSON \\\" for a quote).
    let user = temp_file(
        "override.json",
        r#"{
            "huawei": {
                "initialize": ["AT", "ATE0"],
                "connect": "AT^NDISDUP=${profile},1,\\\"${apn}\\\"",
                "ip_query": null
            },
            "huawei-e3276": { "connect": "AT^NDISDUP=1,1,\\\"special\\\"" },
            "acme": { "connect": "AT+ACME=1", "usb_vendor_ids": ["abcd"] },
            "sony": null
        }"#,
    );
    let p = Profiles::load(&[&user]).unwrap();
    let v = vars("internet", "", "", "");
    let h = p.get("huawei").unwrap();
    assert_eq!(all(&h.initialize, &v), ["AT", "ATE0"]);
    assert_eq!(x(h.connect.as_ref().unwrap(), &v), "AT^NDISDUP=1,1,\"internet\"");
    assert_eq!(h.ip_query, None, "null removes a key");
    assert!(h.status_query.is_some(), "keys the user did not give are kept");
    let sel = p.select("huawei", Some("E3276-150"), None).unwrap();
    assert_eq!(sel.key, "huawei-e3276");
    assert_eq!(x(sel.profile.connect.as_ref().unwrap(), &v), "AT^NDISDUP=1,1,\"special\"");
    assert_eq!(all(&sel.profile.initialize, &v), ["AT", "ATE0"], "model entries inherit the vendor's keys");
    assert_eq!(p.select("x", None, Some(0xabcd)).unwrap().key, "acme");
    assert!(p.get("sony").is_none());
    // A later file wins over an earlier one.
    let later = temp_file("later.json", r#"{"acme": {"connect": "AT+ACME=2"}}"#);
    let p = Profiles::load(&[&user, &later]).unwrap();
    assert_eq!(x(p.get("acme").unwrap().connect.as_ref().unwrap(), &v), "AT+ACME=2");
}

#[test]
fn malformed_user_files_name_file_and_key() {
    let bad_json = temp_file("bad.json", "{\"huawei\": {\"connect\": \"AT\",}}");
    let msg = Profiles::load(&[&bad_json]).unwrap_err().to_string();
    assert!(msg.starts_with(&format!("profile file {}: not valid JSON: trailing comma at line 1", bad_json.display())), "{msg}");

    let cases = [
        (r#"{"huawei": {"connect": "AT^NDISDUP=${profile,1"}}"#, "key huawei.connect: template 'AT^NDISDUP=${profile,1', column 21"),
        (r#"{"huawei": {"initialize": "AT"}}"#, "key huawei.initialize: expected a list of AT commands, found a string"),
        (r#"{"huawei": {"modes": {"lte": 3}}}"#, "key huawei.modes: lte: expected a string, found a number"),
        (r#"{"huawei": {"mode_query": {"command": "AT^SYSCFGEX?"}}}"#, "key huawei.mode_query: missing \"match\""),
        (r#"{"huawei": {"usb_vendor_ids": ["huawei"]}}"#, "key huawei.usb_vendor_ids: 'huawei' is not a hexadecimal USB vendor id"),
        (r#"{"acme": ["AT"]}"#, "key acme: expected an object of commands, found a list"),
        (r#"{"acme": {"connect": "AT+X=${apm}"}}"#, "unknown variable 'apm'"),
        (r#"["huawei"]"#, "not valid JSON: expected an object of vendor entries"),
    ];
    for (text, needle) in cases {
        let file = temp_file("case.json", text);
        let msg = Profiles::load(&[&file]).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("profile file {}: ", file.display())), "{msg}");
        assert!(msg.contains(needle), "{text}: {msg}");
    }
    let missing = std::env::temp_dir().join("ncmd-profile-test-missing.json");
    assert!(Profiles::load(&[&missing]).unwrap_err().to_string().starts_with("cannot read profile file"));
}

#[test]
fn generic_profile_speaks_only_3gpp() {
    let g = entry("generic");
    let v = vars("internet", "", "", "");
    assert_eq!(all(&g.initialize, &v), ["AT+CFUN=1", "AT+CGDCONT=1,\"IP\",\"internet\""]);
    assert_eq!(x(g.connect.as_ref().unwrap(), &v), "AT+CGACT=1,1");
    assert_eq!(x(g.disconnect.as_ref().unwrap(), &v), "AT+CGACT=0,1");
    assert!(g.is_pdp_write("AT+CGDCONT=1,\"IP\",\"internet\""));
    assert!(g.connected_pattern.as_ref().unwrap().matches(&v, "+CGACT: 1,1").unwrap());
}

#[test]
fn signal_and_registration_queries_per_vendor() {
    let v = vars("", "", "", "");
    let q = |key: &str| {
        let e = entry(key);
        (all(&e.signal_queries(), &v), all(&e.registration_queries(), &v))
    };
    let five = ["AT+C5GREG?", "AT+CEREG?", "AT+CGREG?", "AT+CREG?"];
    assert_eq!(q("quectel"), (vec!["AT+QENG=\"servingcell\"".to_string(), "AT+CESQ".into(), "AT+CSQ".into()], five.map(String::from).to_vec()));
    assert_eq!(q("sierra").0, ["AT!GSTATUS?", "AT+CSQ"]);
    assert_eq!(q("huawei"), (vec!["AT^HCSQ?".to_string(), "AT+CSQ".into()], vec!["AT+CEREG?".to_string(), "AT+CGREG?".into(), "AT+CREG?".into()]));
    assert_eq!(q("fibocom"), (vec!["AT+CESQ".to_string(), "AT+CSQ".into()], five.map(String::from).to_vec()));
    // A model entry inherits its vendor's queries; a vendor without the key gets 3GPP's.
    assert_eq!(q("quectel-eg060w").0[0], "AT+QENG=\"servingcell\"");
    assert_eq!(q("sony").0, DEFAULT_SIGNAL_QUERIES);
    assert_eq!(q("sony").1, DEFAULT_REGISTRATION_QUERIES);
    assert_eq!(entry("huawei").status_reply, Some(StatusReply::Ndisstat));
    assert_eq!(entry("quectel").status_reply, None);
}

#[test]
fn a_wrong_status_reply_is_named() {
    let err = Profiles::from_json("user.json", r#"{"huawei": {"status_reply": "magic"}}"#, Map::new()).unwrap_err();
    assert!(err.to_string().contains("huawei.status_reply") && err.to_string().contains("ndisstat"), "{err}");
    let err = Profiles::from_json("user.json", r#"{"x": {"signal_queries": "AT+CSQ"}}"#, Map::new()).unwrap_err();
    assert!(err.to_string().contains("x.signal_queries"), "{err}");
}
