//! The OpenWrt drop-in under the real netifd: the netifd harness (`../shared/netifd-harness`,
//! read-only; `NETIFD_HARNESS` overrides) builds OpenWrt's netifd, ubusd and uci into
//! `target/netifd-harness` and runs the `ncm` proto handler against `ncmd sim` in network
//! and mount namespaces of its own; `scripts/netifd-case` adds procd's hotplug and faults
//! the harness cannot inject. Each case has its own TAG; all run at the same time. Needs root and the packages of `.ci/install-deps.sh`; fails loudly
//! without them. Probes and pings go only to the simulator's hosts (the harness adds
//! `probe_hosts` for ncmd).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Once, OnceLock};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn harness() -> PathBuf {
    let h = std::env::var_os("NETIFD_HARNESS").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/netifd-harness"));
    assert!(
        h.join("run-netifd.sh").is_file(),
        "no netifd harness at {} (CI keeps shared/ at ../shared; elsewhere set NETIFD_HARNESS=/path/to/netifd-harness)",
        h.display()
    );
    h
}

fn out_dir() -> PathBuf {
    repo().join("target/netifd-harness")
}

/// Builds netifd & co. once per test binary (a no-op when `target/netifd-harness` is current).
fn build() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        common::require_root();
        let st = Command::new(harness().join("build.sh")).current_dir(repo()).env("OUT", out_dir()).status().expect("run build.sh");
        assert!(st.success(), "the netifd harness did not build ({st}); prerequisites: .ci/install-deps.sh");
    });
}

/// One finished case: its RESULT lines and its result directory.
struct Case {
    tag: String,
    dir: PathBuf,
    results: BTreeMap<String, (String, String)>,
}

impl Case {
    fn run_once(handler: &str, tag: &str, env: &[(&str, &str)]) -> Result<Case, String> {
        build();
        let mut cmd = Command::new(repo().join("scripts/netifd-case"));
        cmd.arg(handler).current_dir(repo()).env("NETIFD_HARNESS", harness()).env("OUT", out_dir()).env("TAG", tag).env("NCMD", common::ncmd());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run scripts/netifd-case");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let mut results = BTreeMap::new();
        for line in stdout.lines() {
            let mut parts = line.splitn(4, ' ');
            if let (Some("RESULT"), Some(check), Some(verdict)) = (parts.next(), parts.next(), parts.next()) {
                results.insert(check.to_string(), (verdict.to_string(), parts.next().unwrap_or("").to_string()));
            }
        }
        let case = Case { tag: tag.to_string(), dir: out_dir().join("run").join(tag), results };
        if case.verdict().starts_with("ERROR") {
            return Err(format!("{tag}: harness error (exit {}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
        Ok(case)
    }

    /// One case. A harness error (the harness itself could not set up, e.g. netifd
    /// started before ubusd listened on a loaded machine) says nothing about the handler:
    /// it is retried once, and a second one fails the test.
    fn run(handler: &str, tag: &str, env: &[(&str, &str)]) -> Case {
        match Case::run_once(handler, tag, env) {
            Ok(case) => case,
            Err(first) => {
                eprintln!("{first}\n{tag}: retrying once after a harness error");
                Case::run_once(handler, tag, env).unwrap_or_else(|second| panic!("{second}"))
            }
        }
    }

    fn verdict(&self) -> String {
        self.results.get("verdict").map(|(v, d)| format!("{v} {d}")).unwrap_or_else(|| "ERROR (no verdict)".into())
    }

    fn assert_pass(&self, check: &str) {
        match self.results.get(check) {
            Some((v, _)) if v == "PASS" => {}
            other => panic!("{}: check {check} is {other:?}; see {}/summary.txt and netifd.log\n{:#?}", self.tag, self.dir.display(), self.results),
        }
    }

    fn json(&self, name: &str) -> Value {
        let p = self.dir.join(name);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", p.display()))
    }

    fn netifd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("netifd.log")).unwrap_or_default()
    }
}

/// Environment variables of one case.
type Env = &'static [(&'static str, &'static str)];

/// Every case of this file: (tag, handler, environment).
const CASES: &[(&str, &str, Env)] = &[
    ("t-ncmd-urc", "ncmd", &[("FAULT", "drop-urc"), ("UP_TIMEOUT", "40")]),
    ("t-ncmd-silent", "ncmd", &[("FAULT", "drop-silent"), ("UP_TIMEOUT", "40")]),
    ("t-ncmd-badpin", "ncmd", &[("SIM_PIN", "1234"), ("CFG_PIN", "1111"), ("UP_TIMEOUT", "25")]),
    (
        "t-ncmd-puk",
        "ncmd",
        &[("SIM_FAULT", "puk-required"), ("CFG_PIN", "1234"), ("EXPECT", "no-up"), ("EXPECT_ERROR", "PIN_FAILED"), ("UP_TIMEOUT", "20")],
    ),
    ("t-ncmd-fixpin", "ncmd", &[("SIM_PIN", "1234"), ("CFG_PIN", "1111"), ("EXPECT", "up"), ("FIX_PIN", "1234"), ("FAULT", "none"), ("UP_TIMEOUT", "40")]),
    ("t-ncmd-unplug", "ncmd", &[("FAULT", "unplug"), ("HOTPLUG", "1"), ("UP_TIMEOUT", "40")]),
    // The same unplug without procd's hotplug: shows that hotplug is what brings it back.
    ("t-ncmd-unplug-nohp", "ncmd", &[("FAULT", "unplug"), ("UP_TIMEOUT", "15")]),
    ("t-ncmd-reset", "ncmd", &[("FAULT", "reset"), ("HOTPLUG", "1"), ("UP_TIMEOUT", "40")]),
    ("t-ncmd-static", "ncmd", &[("FAULT", "drop-urc"), ("UP_TIMEOUT", "40"), ("EXTRA_UCI", "option ipconfig 'static'")]),
    // The comparison: the same configuration, no fault (comgt-ncm would not recover).
    ("t-cmp-comgt", "comgt", &[("FAULT", "none"), ("UP_TIMEOUT", "40")]),
    ("t-cmp-ncmd", "ncmd", &[("FAULT", "none"), ("UP_TIMEOUT", "40")]),
];

/// A finished case by tag. All cases run at the same time, the first time a test asks
/// for one: they mostly wait (the comgt-ncm one about 80 s), and cargo runs only as many
/// tests at once as there are cores.
fn case(tag: &str) -> &'static Case {
    static ALL: OnceLock<BTreeMap<&'static str, Result<Case, String>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        build();
        std::thread::scope(|s| {
            let runs: Vec<_> = CASES.iter().map(|(tag, handler, env)| (*tag, s.spawn(move || Case::run(handler, tag, env)))).collect();
            runs.into_iter()
                .map(|(tag, h)| {
                    let r = h.join().map_err(|p| p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default());
                    (tag, r)
                })
                .collect()
        })
    });
    match all.get(tag) {
        Some(Ok(c)) => c,
        Some(Err(e)) => panic!("case {tag} did not run: {e}"),
        None => panic!("no case {tag} in CASES"),
    }
}

#[test]
fn ifup_ping_drop_urc_recovers_and_ifdown_cleans_up() {
    let c = case("t-ncmd-urc");
    for check in ["up", "data", "recovery", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    let log = c.netifd_log();
    // logread: no colours, no second timestamp, no warning on a normal ifdown.
    assert!(!log.contains('\u{1b}'), "ANSI escape codes in netifd's log:\n{log}");
    assert!(!log.contains(" WARN "), "a warning in netifd's log of a normal run:\n{log}");
    for line in log.lines().filter(|l| l.starts_with("wwan (")) {
        let text = line.split_once("): ").map_or(line, |(_, t)| t);
        assert!(!text.starts_with("20"), "ncmd printed its own timestamp under netifd: {line}");
    }
    // The modem's facts are in the interface's data, as comgt-ncm's manufacturer is.
    let st = c.json("status-up.json");
    let data = &st["data"];
    assert_eq!(data["manufacturer"], "huawei", "{st:#}");
    for key in ["model", "operator", "technology", "signal"] {
        assert!(data.get(key).is_some(), "data.{key} missing: {st:#}");
    }
}

/// The documented option: `static` children with the modem's address, no DHCP client.
#[test]
fn ipconfig_static_gives_static_children_with_the_modems_address() {
    let c = case("t-ncmd-static");
    for check in ["up", "data", "recovery", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    let up = interfaces(c, "dump-up.json");
    let child = &up["wwan_4"];
    assert_eq!(child["proto"], "static", "{child:#}");
    assert_eq!(child["ipv4-address"][0]["address"], "<modem-ipv4>", "{child:#}");
    assert_eq!(child["route"][0]["nexthop"], "<gateway>", "{child:#}");
    assert_eq!(child["dns-server"][0], "<gateway>", "{child:#}");
    assert!(!c.netifd_log().contains("udhcpc"), "a DHCP client ran:\n{}", c.netifd_log());
}

#[test]
fn drop_silent_recovers() {
    let c = case("t-ncmd-silent");
    for check in ["up", "data", "recovery", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
}

/// Blocked failures end where comgt-ncm's do: not pending, autostart off, the code in errors.
fn assert_blocked(c: &Case, code: &str) {
    let st = c.json("status-up.json");
    assert_eq!(st["up"], false, "{st:#}");
    assert_eq!(st["pending"], false, "still pending after {code}: {st:#}");
    assert_eq!(st["autostart"], false, "autostart still on after {code}: {st:#}");
    let codes: Vec<&str> = st["errors"].as_array().into_iter().flatten().filter_map(|e| e["code"].as_str()).collect();
    assert!(codes.contains(&code), "errors {codes:?} lack {code}: {st:#}");
}

#[test]
fn wrong_pin_is_sent_once_and_blocks() {
    let c = case("t-ncmd-badpin");
    for check in ["no-up", "error", "no-data", "sim-pin", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    assert_blocked(c, "PIN_FAILED");
    let stats = c.json("simstats-down.json");
    assert_eq!(stats["pin_attempts"], 1, "the PIN must be sent exactly once: {stats}");
    assert!(c.netifd_log().contains("ifup wwan"), "the error text should name `ifup wwan`:\n{}", c.netifd_log());
}

#[test]
fn ifup_after_fixing_the_pin_works_at_once() {
    let c = case("t-ncmd-fixpin");
    for check in ["up", "data", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    // Blocked first (the wrapper fixed the config only then), then up with the new PIN:
    // the wrong PIN once, the right one once.
    let blocked = c.json("status-blocked.json");
    assert_eq!((blocked["pending"].clone(), blocked["autostart"].clone()), (Value::Bool(false), Value::Bool(false)), "{blocked:#}");
    assert_eq!(c.json("simstats-down.json")["pin_attempts"], 2);
}

#[test]
fn puk_locked_sim_blocks_without_sending_anything() {
    let c = case("t-ncmd-puk");
    for check in ["no-up", "error", "no-data", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    assert_blocked(c, "PIN_FAILED");
    let stats = c.json("simstats-down.json");
    assert_eq!(stats["pin_attempts"], 0, "nothing may be sent to a PUK-locked SIM: {stats}");
}

#[test]
fn unplug_and_replug_return_through_hotplug() {
    let c = case("t-ncmd-unplug");
    for check in ["up", "data", "recovery", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
    let hotplug = std::fs::read_to_string(c.dir.join("wrapper.log")).unwrap_or_default();
    assert!(hotplug.contains("hotplug tty add done (status 0)"), "the hotplug script did not run on replug:\n{hotplug}");
}

#[test]
fn without_hotplug_an_unplugged_modem_stays_unavailable_with_no_device() {
    let c = case("t-ncmd-unplug-nohp");
    for check in ["up", "data", "ifdown"] {
        c.assert_pass(check);
    }
    let (verdict, detail) = &c.results["recovery"];
    assert_eq!(verdict, "FAIL", "came back although no hotplug event said the port is back: {detail}");
    let st = c.json("status-fault.json");
    assert_eq!((st["up"].clone(), st["available"].clone(), st["pending"].clone()), (Value::Bool(false), Value::Bool(false), Value::Bool(false)), "{st:#}");
    assert_eq!(st["errors"][0]["code"], "NO_DEVICE", "{st:#}");
}

#[test]
fn modem_reset_returns_through_hotplug() {
    let c = case("t-ncmd-reset");
    for check in ["up", "data", "recovery", "ifdown", "verdict"] {
        c.assert_pass(check);
    }
}

// ---------------------------------------------------------------------------------------
// Side by side with comgt-ncm.

/// One interface of a dump with the run's addresses replaced by their roles (the simulator
/// picks a fresh subnet each run) and the fields that only say when (uptime) left out.
fn normalised(iface: &Value, sim: &Value) -> Value {
    let mut roles: Vec<(String, &str)> = Vec::new();
    for (key, role) in [("ipv4", "<modem-ipv4>"), ("gateway", "<gateway>"), ("ipv6", "<modem-ipv6>"), ("ipv6_gateway", "<gateway6>")] {
        if let Some(a) = sim[key].as_str() {
            roles.push((a.to_string(), role));
        }
    }
    let mut text = iface.to_string();
    for (addr, role) in &roles {
        text = text.replace(&format!("\"{addr}"), &format!("\"{role}"));
    }
    let mut v: Value = serde_json::from_str(&text).expect("re-parse");
    if let Some(o) = v.as_object_mut() {
        o.remove("uptime");
    }
    v
}

fn interfaces(c: &Case, file: &str) -> BTreeMap<String, Value> {
    let sim = c.json("sim.json");
    let dump = c.json(file);
    dump["interface"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["interface"] != "loopback")
        .map(|i| (i["interface"].as_str().unwrap_or("?").to_string(), normalised(i, &sim)))
        .collect()
}

#[test]
fn dump_matches_comgt_ncm_field_by_field() {
    let (comgt, ncmd) = (case("t-cmp-comgt"), case("t-cmp-ncmd"));
    for c in [comgt, ncmd] {
        c.assert_pass("data");
    }
    // Before ifup, up, and after ifdown (the children gone, the parent down).
    let mut diffs = Vec::new();
    for file in ["dump-before.json", "dump-up.json", "dump-down.json"] {
        let (a, b) = (interfaces(comgt, file), interfaces(ncmd, file));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{file}: interface names differ");
        for (name, ca) in &a {
            let cb = &b[name];
            let fields: std::collections::BTreeSet<&String> =
                ca.as_object().into_iter().flatten().chain(cb.as_object().into_iter().flatten()).map(|(k, _)| k).collect();
            for f in fields {
                let (x, y) = (&ca[f.as_str()], &cb[f.as_str()]);
                if x == y {
                    continue;
                }
                // Documented (README, "OpenWrt"): ncmd's `data` holds more of the modem's
                // facts; every key comgt-ncm sets has the same value.
                if f == "data" && x.as_object().is_some_and(|xo| xo.iter().all(|(k, v)| &y[k.as_str()] == v)) {
                    continue;
                }
                diffs.push(format!("{file} {name}.{f}: comgt-ncm {x} / ncmd {y}"));
            }
        }
    }
    assert!(diffs.is_empty(), "dumps differ beyond the documented differences:\n{}", diffs.join("\n"));
    // The comparison is not empty: both put the address, the route with its source and
    // the DNS server on wwan_4.
    let up = interfaces(ncmd, "dump-up.json");
    let child = &up["wwan_4"];
    assert_eq!(child["ipv4-address"][0]["address"], "<modem-ipv4>", "{child:#}");
    assert_eq!(child["route"][0]["nexthop"], "<gateway>", "{child:#}");
    assert_eq!(child["route"][0]["source"], "<modem-ipv4>/32", "{child:#}");
    assert_eq!(child["dns-server"][0], "<gateway>", "{child:#}");
}
