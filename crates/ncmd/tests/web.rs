//! The daemon's observability against the simulator, in network namespaces the tests make:
//! Prometheus metrics scraped over loopback and parsed, the status page driven in real
//! headless Chromium (Debian's, through chromedriver's WebDriver protocol), and the CLI
//! commands that go through the daemon instead of opening the modem's port.
//!
//! The daemon runs in the lab's router namespace and listens on that namespace's
//! loopback; the test thread joins the namespace (setns on this thread only) and starts
//! chromedriver there, so no traffic ever leaves the lab. Needs root, chromium and
//! chromium-driver (.ci/install-deps.sh); without them the tests fail, never skip.
//! Built with the `web` feature only (the feature this file tests).
#![cfg(feature = "web")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{require_root, Lab, SimSpec};
use serde_json::{json, Value};

const UP: Duration = Duration::from_secs(30);
const WEB: &str = "127.0.0.1:18080";
const METRICS: &str = "127.0.0.1:19100";
const DRIVER: &str = "127.0.0.1:19515";
/// Eight digits: a shorter PIN can turn up by chance in counters or timestamps.
const PIN: &str = "86429753";

/// A connected daemon with both listeners, inside its own lab namespace.
fn lab_with_listeners() -> Lab {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let ns = lab.netns.clone().expect("a namespace lab");
    // The router namespace is the lab's own; its loopback carries the HTTP traffic.
    let ok = Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]).status().is_ok_and(|s| s.success());
    assert!(ok, "cannot bring up loopback in the lab namespace {ns}");
    let cfg = lab.config(&format!(
        "\toption apn 'internet'\n\toption pincode '{PIN}'\n\nconfig ncmd 'main'\n\toption web_listen '{WEB}'\n\toption metrics_listen '{METRICS}'\n"
    ));
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    lab
}

/// Runs `f` on a thread that has joined the lab's router namespace.
fn in_lab_netns<T: Send + 'static>(lab: &Lab, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = lab.netns.clone().expect("a namespace lab");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(format!("/run/netns/{ns}")).expect("open the lab namespace");
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("join the lab namespace (this thread only)");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A minimal HTTP/1.1 client (one request per connection), enough for the daemon and
/// chromedriver: (status, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // Read the head, then exactly the body (chromedriver may keep the connection open).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).unwrap_or_else(|e| panic!("{method} {addr}{path}: {e}"));
        assert!(n > 0, "{method} {addr}{path}: connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut chunk).unwrap_or_else(|e| panic!("{method} {addr}{path}: {e}"));
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&body).to_string();
    (status, if chunked { dechunk(&body) } else { body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Checks the exposition line by line with prometheus-parse's line parser (every line
/// must be HELP, TYPE or a sample; every sample's family declared first), then parses
/// the whole scrape. Returns the samples.
fn parse_metrics(text: &str) -> Vec<prometheus_parse::Sample> {
    use prometheus_parse::LineInfo;
    let mut typed = std::collections::HashSet::new();
    let mut samples = 0;
    for line in text.lines() {
        match LineInfo::parse(line) {
            LineInfo::Type { metric_name, .. } => assert!(typed.insert(metric_name.clone()), "family {metric_name} declared twice"),
            LineInfo::Sample { metric_name, value, .. } => {
                assert!(typed.contains(metric_name), "sample before its TYPE: {line}");
                assert!(value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value), "bad value: {line}");
                samples += 1;
            }
            LineInfo::Doc { .. } => {}
            other => panic!("not valid exposition text: {line:?} ({other:?})"),
        }
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parse the scrape");
    assert_eq!(scrape.samples.len(), samples, "every sample line parses");
    scrape.samples
}

fn gauge(samples: &[prometheus_parse::Sample], metric: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("interface") == Some("wwan") && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < limit, "{what} not seen within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_scraped_over_loopback_are_valid_prometheus_text() {
    let lab = lab_with_listeners();
    let before = in_lab_netns(&lab, || http(METRICS, "GET", "/metrics", &[], ""));
    assert_eq!(before.0, 200, "{}", before.1);
    let s = parse_metrics(&before.1);
    assert_eq!(gauge(&s, "ncmd_up", None), Some(1.0));
    assert_eq!(gauge(&s, "ncmd_state", Some(("state", "up"))), Some(1.0));
    assert!(gauge(&s, "ncmd_link_uptime_seconds", None).is_some());
    assert!(gauge(&s, "ncmd_signal_rsrp_dbm", None).is_some_and(|v| (-140.0..-40.0).contains(&v)), "RSRP of the simulated Huawei");
    for m in ["ncmd_receive_bytes_total", "ncmd_transmit_bytes_total", "ncmd_probe_bytes_total", "ncmd_modem_info"] {
        assert!(gauge(&s, m, None).is_some(), "{m} missing");
    }
    assert!(!before.1.contains(PIN), "a secret in the metrics");

    // A drop shows up as a reconnect with its cause.
    lab.sim("fault drop-urc");
    lab.wait_status("reconnect", UP, |s| s["state"] == "up" && s["connection"]["reconnects"].as_u64() >= Some(1));
    let after = in_lab_netns(&lab, || http(METRICS, "GET", "/metrics", &[], ""));
    let s = parse_metrics(&after.1);
    assert_eq!(gauge(&s, "ncmd_reconnects_total", Some(("cause", "network-disconnect"))), Some(1.0), "{}", after.1);

    // The metrics listener serves nothing else.
    let page = in_lab_netns(&lab, || http(METRICS, "GET", "/", &[], ""));
    assert_eq!(page.0, 404);
}

#[test]
fn http_api_needs_the_token_and_bounds_requests() {
    let lab = lab_with_listeners();
    let token_file = lab.control.with_extension("token");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).expect("the daemon wrote its token file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is root-only");
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    let (no_token, wrong, big, status, settings, rebound) = in_lab_netns(&lab, move || {
        let body = r#"{"interface":"wwan"}"#;
        (
            http(WEB, "POST", "/api/reconnect", &[], body),
            http(WEB, "POST", "/api/reconnect", &[("X-Ncmd-Token", "00")], body),
            http(WEB, "POST", "/api/settings", &[("X-Ncmd-Token", &token)], &"x".repeat(64 * 1024)),
            http(WEB, "GET", "/api/status", &[], ""),
            http(WEB, "GET", "/api/settings?interface=wwan", &[], ""),
            http(WEB, "GET", "/api/status", &[("Host", "rebound.example:18080")], ""),
        )
    });
    assert_eq!(no_token.0, 403, "{}", no_token.1);
    assert_eq!(wrong.0, 403);
    assert_eq!(big.0, 413);
    assert_eq!(status.0, 200);
    assert_eq!(rebound.0, 403, "a re-bound DNS name on loopback is refused");
    assert_eq!(lab.status().unwrap()["connection"]["reconnects"], 0, "a request without the token changed something");
    let v: Value = serde_json::from_str(&settings.1).unwrap();
    assert_eq!((v["apn"].as_str(), v["pin_set"].as_bool()), (Some("internet"), Some(true)));
    for body in [&status.1, &settings.1] {
        assert!(!body.contains(PIN), "a secret on the API: {body}");
    }
}

/// chromedriver in the lab namespace, driving Debian's headless Chromium.
struct Browser {
    driver: Child,
    session: String,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Browser {
    /// Must run on a thread inside the lab namespace.
    fn start(profile: &Path) -> Browser {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(Path::new(bin).exists(), "{bin} is missing: this test needs Debian's chromium and chromium-driver; run .ci/install-deps.sh");
        }
        let port = DRIVER.rsplit(':').next().unwrap();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut b = Browser { driver, session: String::new(), _profile: tempdir::Dir(profile.to_path_buf()) };
        wait_for("chromedriver ready", Duration::from_secs(20), || {
            TcpStream::connect(DRIVER).ok()?;
            let (_, body) = http(DRIVER, "GET", "/status", &[], "");
            serde_json::from_str::<Value>(&body).ok().filter(|v| v["value"]["ready"] == true)
        });
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1200,1600",
                     format!("--user-data-dir={}", profile.display())]
        }}}});
        let v = b.call("POST", "/session", caps);
        b.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("chromedriver could not start Chromium: {v}")).to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { String::new() } else { body.to_string() };
        let (status, text) = http(DRIVER, method, path, &[("Content-Type", "application/json")], &body);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("chromedriver said {status}: {text}"));
        assert!(status == 200, "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn session(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn js(&self, script: &str) -> Value {
        self.session("POST", "/execute/sync", json!({"script": script, "args": []}))
    }

    fn element(&self, css: &str) -> String {
        let v = self.session("POST", "/element", json!({"using": "css selector", "value": css}));
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap_or_else(|| panic!("no element {css}")).to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.session("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.session("POST", &format!("/element/{id}/clear"), json!({}));
        self.session("POST", &format!("/element/{id}/value"), json!({"text": text}));
    }

    fn text(&self, css: &str) -> String {
        self.js(&format!("const e = document.querySelector({}); return e ? e.textContent : '';", json!(css))).as_str().unwrap_or_default().to_string()
    }

    /// Waits until the text of `css` satisfies `cond`; panics with the last text.
    fn wait_text(&self, css: &str, limit: Duration, cond: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let t = self.text(css);
            if cond(&t) {
                return t;
            }
            assert!(t0.elapsed() < limit, "{css}: condition not met within {limit:?}; text: {t:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(DRIVER, "DELETE", &format!("/session/{}", self.session), &[], "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn status_page_in_headless_chromium() {
    let lab = lab_with_listeners();
    let token = std::fs::read_to_string(lab.control.with_extension("token")).expect("token file").trim().to_string();
    let config = lab.dir.join("network");
    let profile = lab.dir.join("chromium-profile");
    let sim_control = lab.sim_control.clone();
    let control = lab.control.clone();
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ncmd-status-page.png");
    let sim = move |req: &str| {
        let mut s = std::os::unix::net::UnixStream::connect(&sim_control).expect("simulator control socket");
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(s), &mut line).unwrap();
    };
    in_lab_netns(&lab, move || {
        let b = Browser::start(&profile);
        b.session("POST", "/url", json!({"url": format!("http://{WEB}/#token={token}")}));
        let card = r#"section[data-iface="wwan"]"#;
        let t = Duration::from_secs(30);

        // State and signal appear; the chart has samples.
        b.wait_text(&format!("{card} .state"), t, |s| s == "up");
        let signal = b.wait_text(&format!("{card} .signal"), t, |s| s.contains("dBm"));
        assert!(signal.contains("RSRP"), "{signal}");
        b.wait_text(&format!("{card} .chart-legend"), t, |s| s.contains("samples"));
        let points = b.js(&format!("return document.querySelector('{card} .chart .line').getAttribute('points')"));
        assert!(points.as_str().is_some_and(|p| p.contains(',')), "empty chart: {points}");
        assert!(b.text(&format!("{card} .operator")).contains("lte"), "operator/technology");
        assert!(b.text(&format!("{card} .ip")).contains('.'), "IP");
        assert_eq!(b.wait_text(&format!("{card} .pin-state"), t, |s| !s.is_empty()), "a PIN is set");

        // A forced drop shows up in the reconnect history with its cause.
        sim("fault drop-urc");
        b.wait_text(&format!("{card} .history"), t, |s| s.contains("network-disconnect"));
        b.wait_text(&format!("{card} .causes"), t, |s| s.contains("network-disconnect: 1"));

        // The reconnect button works: the daemon records a `user` loss and comes back up.
        b.wait_text(&format!("{card} .state"), t, |s| s == "up");
        b.click(&format!("{card} button.reconnect"));
        b.wait_text(&format!("{card} .action-msg"), t, |s| s.contains("reconnecting"));
        b.wait_text(&format!("{card} .causes"), t, |s| s.contains("user: 1"));
        b.wait_text(&format!("{card} .state"), t, |s| s == "up");

        // An invalid APN shows the error and changes nothing.
        let before = std::fs::read(&config).unwrap();
        b.type_into(&format!("{card} input[name=apn]"), "bad\";+CFUN=0");
        b.click(&format!("{card} form.settings button[type=submit]"));
        let err = b.wait_text(&format!("{card} .form-msg"), t, |s| !s.is_empty());
        assert!(err.contains("option apn"), "the error names the option: {err}");
        assert_eq!(std::fs::read(&config).unwrap(), before, "an invalid form changed the UCI file");

        // A valid one is written (and the PIN, left empty, is kept).
        b.type_into(&format!("{card} input[name=apn]"), "web.apn");
        b.click(&format!("{card} form.settings button[type=submit]"));
        b.wait_text(&format!("{card} .form-msg"), t, |s| s.contains("saved"));
        let now = std::fs::read_to_string(&config).unwrap();
        assert!(now.contains("option apn 'web.apn'") && now.contains(&format!("option pincode '{PIN}'")), "{now}");

        // Secrets never reach the page.
        let html = b.js("return document.documentElement.outerHTML");
        assert!(!html.as_str().unwrap_or_default().contains(PIN), "the PIN is on the page");

        let png = b.session("GET", "/screenshot", Value::Null);
        if let Some(b64) = png.as_str() {
            let _ = std::fs::write(&shot, base64_decode(b64));
        }
    });
    // The daemon saw it the same way.
    let out = Command::new(common::ncmd()).args(["status", "--json", "--control"]).arg(&control).output().unwrap();
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(st[0]["counters"]["reconnects_by_cause"]["user"].as_u64() >= Some(1), "{st}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let bits: Vec<u8> = s.bytes().filter_map(val).collect();
    bits.chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |acc, (i, v)| acc | (u32::from(*v) << (18 - 6 * i)));
            let bytes = n.to_be_bytes();
            bytes[1..c.len()].to_vec()
        })
        .collect()
}

#[test]
fn cli_goes_through_the_daemon() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", UP);

    // `info` asks the daemon that owns the port (found through the runtime dir).
    let out = Command::new(common::ncmd()).args(["-vv", "info", "--json", "--device"]).arg(&lab.tty).env("NCMD_RUNTIME_DIR", &lab.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["connection"]["state"], "connected", "{info}");
    assert!(info["modem"]["imei"].is_string(), "{info}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("AT+CGMI"), "info opened the port beside the daemon");

    // `reconnect` drops the link on the user's word; the daemon counts the cause.
    let out = lab.ncmd(&["reconnect", "wwan"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = lab.wait_status("user reconnect", UP, |s| s["state"] == "up" && s["counters"]["reconnects_by_cause"]["user"] == 1);
    assert!(st["events"].to_string().contains("link lost: user"), "{st}");
    let out = lab.ncmd(&["reconnect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no interface nosuch"));
}

/// A TCP connection from a chosen loopback source address (every 127/8 address is the
/// lab's own loopback), so that many "clients" can be played from one test.
fn connect_from(source: std::net::Ipv4Addr, to: &str) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let to: std::net::SocketAddrV4 = to.parse().unwrap();
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(std::net::SocketAddrV4::new(source, 0))).expect("bind a loopback source");
    connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(to)).expect("connect");
    TcpStream::from(fd)
}

/// Issue 12, items 5 and 6: on a listener beyond loopback, a re-bound DNS name reads
/// nothing and a cross-site page changes nothing, even with the token; 140 slow clients
/// hanging on do not lock the page out.
#[test]
fn wide_listener_refuses_rebound_names_cross_site_changes_and_slow_clients() {
    require_root();
    const WIDE: &str = "0.0.0.0:18081";
    const LOCAL: &str = "127.0.0.1:18081";
    let mut lab = Lab::new(SimSpec::default());
    let ns = lab.netns.clone().expect("a namespace lab");
    let ok = Command::new("ip").args(["-n", &ns, "link", "set", "lo", "up"]).status().is_ok_and(|s| s.success());
    assert!(ok, "cannot bring up loopback in the lab namespace {ns}");
    let cfg = lab.config(&format!("\toption apn 'internet'\n\nconfig ncmd 'main'\n\toption web_listen '{WIDE}'\n\tlist web_hosts 'router.lan'\n"));
    lab.up(&cfg, None);
    lab.wait_state("up", UP);
    let token = std::fs::read_to_string(lab.control.with_extension("token")).expect("token file").trim().to_string();
    let imei = lab.status().unwrap()["modem"]["imei"].as_str().expect("the simulator has an IMEI").to_string();

    let (evil, named, ip, cross, same) = in_lab_netns(&lab, move || {
        let body = r#"{"interface":"wwan"}"#;
        (
            http(LOCAL, "GET", "/api/status", &[("Host", "evil.example:18081")], ""),
            http(LOCAL, "GET", "/api/status", &[("Host", "router.lan:18081")], ""),
            http(LOCAL, "GET", "/api/status", &[], ""),
            http(LOCAL, "POST", "/api/reconnect", &[("X-Ncmd-Token", &token), ("Origin", "http://evil.example")], body),
            http(LOCAL, "POST", "/api/reconnect", &[("X-Ncmd-Token", &token), ("Origin", "http://127.0.0.1:18081")], body),
        )
    });
    assert_eq!(evil.0, 403, "{}", evil.1);
    assert!(!evil.1.contains(&imei), "a re-bound name read the IMEI: {}", evil.1);
    assert_eq!(named.0, 200, "a name in web_hosts is served");
    assert_eq!(ip.0, 200, "an IP literal is served");
    assert!(ip.1.contains(&imei));
    assert_eq!(cross.0, 403, "{}", cross.1);
    assert_eq!(same.0, 200, "{}", same.1);
    // Only the same-origin request reconnected.
    let st = lab.wait_status("one user reconnect", UP, |s| s["state"] == "up" && s["counters"]["reconnects_by_cause"]["user"] == 1);
    assert_eq!(st["counters"]["reconnects_by_cause"]["user"], 1, "{st}");

    // 100 slow clients from 100 addresses and 40 from one: each sends half a request
    // head and hangs on. A user from another address still gets the page.
    let (page, refused_extra) = in_lab_netns(&lab, || {
        let mut slow = Vec::new();
        for i in 0..100u8 {
            let mut s = connect_from(std::net::Ipv4Addr::new(127, 0, 1, i + 1), LOCAL);
            s.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0").unwrap();
            slow.push(s);
        }
        let mut one = Vec::new();
        for _ in 0..40 {
            let mut s = connect_from(std::net::Ipv4Addr::new(127, 0, 2, 1), LOCAL);
            let _ = s.write_all(b"GET / HTTP/1.1\r\n");
            one.push(s);
        }
        // The 40 from one address are mostly turned away at once (a per-client cap).
        let mut closed = 0;
        for s in &mut one {
            s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            let mut b = [0u8; 1];
            // Turned away: a FIN (0 bytes) or, with our bytes unread, a reset. A held
            // connection times out instead.
            let turned_away = match s.read(&mut b) {
                Ok(0) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                Ok(_) => false,
            };
            closed += usize::from(turned_away);
        }
        let mut user = connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), LOCAL);
        user.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        user.write_all(format!("GET /api/status HTTP/1.1\r\nHost: {LOCAL}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = user.read_to_string(&mut answer);
        drop(slow);
        (answer, closed)
    });
    assert!(page.starts_with("HTTP/1.1 200"), "the page was locked out by slow clients: {page:?}");
    assert!(refused_extra >= 30, "only {refused_extra} of 40 connections from one address were turned away");
}
