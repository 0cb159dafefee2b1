//! The daemon's HTTP side (cargo feature `web`): the Prometheus endpoint and the status
//! page with its small JSON API (status, signal history, reconnect, settings).
//!
//! Owns a deliberately tiny HTTP/1.1 server (one request per connection, bounded head and
//! body, a deadline per request, a cap on concurrent connections), the change token, the
//! bounded signal history and the settings form's round trip through the UCI file. It
//! talks to the sessions only through the control [`Handler`] (the same requests the
//! control socket serves), so it must not know how sessions work; and it must not know
//! AT syntax. Secrets never leave it: the PIN is reported only as set or not set.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::control::{accepted, Handler, Request};
use crate::status::InterfaceStatus;

const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: usize = 16 * 1024;
/// A client that has not sent its whole request head by then is dropped: slow clients
/// cannot hold slots for long.
const HEAD_DEADLINE: Duration = Duration::from_secs(3);
/// The whole request, body included.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// Connections served at once, in all; each costs a task and a few KiB.
const MAX_CONNECTIONS: usize = 256;
/// Connections one client address may hold at once, so that a few hosts cannot take
/// every slot (a browser opens about six).
const MAX_PER_CLIENT: usize = 8;
/// Signal samples kept per interface (an hour at the default 5 s period).
const HISTORY_POINTS: usize = 720;
/// The header that carries the change token on every POST.
pub const TOKEN_HEADER: &str = "x-ncmd-token";

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const STYLE_CSS: &str = include_str!("../../web/style.css");

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen for HTTP on {addr}: {source}; choose another address or port")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot write the web change token to {path}: {source}")]
    Token { path: String, source: std::io::Error },
    #[error("cannot read random bytes for the web change token from /dev/urandom: {0}")]
    Random(std::io::Error),
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// `/metrics` only (`--metrics-listen`).
    Metrics,
    /// The page, its API and `/metrics` (`--web-listen`).
    Page,
}

/// Parses a listen address; a bare port means loopback (`8080` = `127.0.0.1:8080`).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.parse().map_err(|_| format!("'{s}' is not a listen address; write ADDR:PORT (e.g. 127.0.0.1:9100 or [::1]:9100) or a port for loopback"))
}

/// One signal sample of the history chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalPoint {
    /// Unix time, seconds.
    pub t: u64,
    pub rssi: Option<f64>,
    pub rsrp: Option<f64>,
    pub rsrq: Option<f64>,
    pub sinr: Option<f64>,
}

/// Shared by the listeners and the sampler.
pub struct WebState {
    token: String,
    /// Host names (besides `localhost` and IP literals) the page may be addressed by.
    hosts: Vec<String>,
    /// The UCI file the settings form edits (`None`: the form is read-only).
    config: Option<PathBuf>,
    history: Mutex<BTreeMap<String, VecDeque<SignalPoint>>>,
}

impl WebState {
    pub fn new(token: String, config: Option<PathBuf>, hosts: Vec<String>) -> Self {
        let hosts = hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect();
        WebState { token, hosts, config, history: Mutex::new(BTreeMap::new()) }
    }

    /// DNS-rebinding protection on every listener: a request must name the daemon by
    /// `localhost`, an IP literal, or a name the user allowed (`web_hosts`). A page of
    /// another site whose name was re-bound to the router's address sends its own name.
    fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true }; // HTTP/1.0 clients; browsers always send it
        match host_name(host) {
            Some(HostName::Ip) => true,
            Some(HostName::Name(n)) => n.eq_ignore_ascii_case("localhost") || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(n)),
            None => false,
        }
    }

    /// Cross-site request protection for changes: a browser says where a request comes
    /// from; it must be this very page (same scheme-less host and port as `Host`).
    /// Clients that send no Origin (curl, scripts) still need the token.
    fn origin_allowed(&self, req: &HttpRequest) -> bool {
        if req.header("sec-fetch-site").is_some_and(|v| v.eq_ignore_ascii_case("cross-site")) {
            return false;
        }
        match req.header("origin") {
            None => true,
            Some(origin) => {
                let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else { return false };
                req.header("host").is_some_and(|h| h.eq_ignore_ascii_case(rest.trim_end_matches('/'))) && self.host_allowed(Some(rest))
            }
        }
    }

    fn record(&self, list: &[InterfaceStatus], now: SystemTime) {
        let t = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for s in list {
            let sig = &s.modem.signal;
            if [sig.rssi_dbm, sig.rsrp_dbm, sig.rsrq_db, sig.sinr_db].iter().all(Option::is_none) {
                continue;
            }
            let q = h.entry(s.interface.clone()).or_default();
            if q.len() >= HISTORY_POINTS {
                q.pop_front();
            }
            q.push_back(SignalPoint { t, rssi: sig.rssi_dbm, rsrp: sig.rsrp_dbm, rsrq: sig.rsrq_db, sinr: sig.sinr_db });
        }
    }

    fn history(&self) -> BTreeMap<String, VecDeque<SignalPoint>> {
        self.history.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn token_ok(&self, given: Option<&str>) -> bool {
        // Constant time in the token's content.
        given.is_some_and(|g| g.len() == self.token.len() && g.bytes().zip(self.token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
    }
}

/// A fresh change token: 128 random bits, hex.
pub fn new_token() -> Result<String, WebError> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b)).map_err(WebError::Random)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Writes the token to a file only root can read (mode 0600), replacing an old one.
pub fn write_token(path: &Path, token: &str) -> Result<(), WebError> {
    let err = |source| WebError::Token { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        crate::files::private_dir(dir).map_err(err)?;
    }
    crate::files::replace(path, format!("{token}\n").as_bytes(), 0o600).map_err(err)
}

/// Samples every interface's signal into the bounded history, every `every`.
pub fn spawn_sampler<H: Handler>(handler: Arc<H>, state: Arc<WebState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            state.record(&statuses(&*handler).await, SystemTime::now());
        }
    })
}

async fn statuses<H: Handler>(handler: &H) -> Vec<InterfaceStatus> {
    let reply = handler.handle(Request::Status { interface: None }).await;
    serde_json::from_value(reply.data).unwrap_or_default()
}

/// Binds `addr` and serves `site` until the task is dropped.
pub async fn serve<H: Handler>(addr: SocketAddr, site: Site, handler: Arc<H>, state: Arc<WebState>) -> Result<tokio::task::JoinHandle<()>, WebError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })?;
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_client: Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> = Arc::default();
    Ok(tokio::spawn(async move {
        loop {
            let Some((stream, peer)) = accepted(listener.accept().await).await else { continue };
            // Over a cap: drop the connection rather than queue without bound.
            let Some(slot) = ClientSlot::take(&per_client, peer.ip()) else { continue };
            let Ok(permit) = limit.clone().try_acquire_owned() else { continue };
            let (handler, state) = (handler.clone(), state.clone());
            tokio::spawn(async move {
                connection(stream, site, &*handler, &state).await;
                drop((permit, slot));
            });
        }
    }))
}

/// One of a client address's connection slots; given back on drop.
struct ClientSlot {
    table: Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl ClientSlot {
    fn take(table: &Arc<Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>, ip: std::net::IpAddr) -> Option<ClientSlot> {
        let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
        let n = t.entry(ip).or_default();
        if *n >= MAX_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(ClientSlot { table: table.clone(), ip })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = t.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.ip);
            }
        }
    }
}

async fn connection<H: Handler>(mut stream: TcpStream, site: Site, handler: &H, state: &WebState) {
    let response = match tokio::time::timeout(REQUEST_DEADLINE, read_request(&mut stream)).await {
        Err(_) => Response::text(408, "the request was not complete within 10 s\n"),
        Ok(Err(e)) => Response::text(e.status(), &format!("{e}\n")),
        Ok(Ok(req)) if !state.host_allowed(req.header("host")) => Response::error(
            403,
            "the Host must be localhost, an IP address or a name listed in option web_hosts (DNS rebinding protection)",
        ),
        Ok(Ok(req)) => route(req, site, handler, state).await,
    };
    let _ = tokio::time::timeout(REQUEST_DEADLINE, async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

// ---- HTTP/1.1: the pure parser and the bounded reader ----

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HttpError {
    #[error("bad request: {0}")]
    Bad(&'static str),
    #[error("request head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("request body larger than {MAX_BODY} bytes")]
    BodyTooLarge,
    #[error("the request head was not complete within 3 s")]
    Slow,
}

impl HttpError {
    fn status(&self) -> u16 {
        match self {
            HttpError::Bad(_) => 400,
            HttpError::HeadTooLarge => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::Slow => 408,
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| percent_decode(v))
    }
}

/// Parses a request head (request line and headers, without the blank line).
pub fn parse_head(head: &[u8]) -> Result<HttpRequest, HttpError> {
    let head = std::str::from_utf8(head).map_err(|_| HttpError::Bad("the head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) = (first.next(), first.next(), first.next(), first.next()) else {
        return Err(HttpError::Bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(HttpError::Bad("malformed request line"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HttpError::Bad("malformed header line"))?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(HttpError::Bad("malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(HttpRequest { method: method.to_string(), path: path.to_string(), query: query.to_string(), headers, body: Vec::new() })
}

async fn read_request(stream: &mut TcpStream) -> Result<HttpRequest, HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let head_by = tokio::time::Instant::now() + HEAD_DEADLINE;
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let n = match tokio::time::timeout_at(head_by, stream.read(&mut chunk)).await {
            Ok(r) => r.map_err(|_| HttpError::Bad("connection error"))?,
            Err(_) => return Err(HttpError::Slow),
        };
        if n == 0 {
            return Err(HttpError::Bad("connection closed before the end of the head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if end > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let mut req = parse_head(&buf[..end])?;
    if req.header("transfer-encoding").is_some() {
        return Err(HttpError::Bad("chunked bodies are not accepted; send Content-Length"));
    }
    let len = match req.header("content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| HttpError::Bad("bad Content-Length"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err(HttpError::BodyTooLarge);
    }
    let mut body = buf[end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.map_err(|_| HttpError::Bad("connection error"))?;
        if n == 0 {
            return Err(HttpError::Bad("connection closed before the end of the body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    req.body = body;
    Ok(req)
}

enum HostName<'a> {
    Ip,
    Name(&'a str),
}

/// The host part of a `Host` header (`name`, `name:port`, `1.2.3.4:80`, `[::1]:80`);
/// `None` when it is malformed.
fn host_name(host: &str) -> Option<HostName<'_>> {
    if let Some(v6) = host.strip_prefix('[') {
        let (addr, rest) = v6.split_once(']')?;
        let port_ok = rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok());
        return (port_ok && addr.parse::<std::net::Ipv6Addr>().is_ok()).then_some(HostName::Ip);
    }
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        Some(_) => return None,
        None => host,
    };
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(HostName::Ip);
    }
    let valid = !name.is_empty() && name.len() <= 253 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some(HostName::Name(name))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, body: &str) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.as_bytes().to_vec() }
    }

    fn json(status: u16, v: &impl Serialize) -> Self {
        Response { status, content_type: "application/json", body: serde_json::to_vec(v).unwrap_or_default() }
    }

    fn error(status: u16, message: impl Into<String>) -> Self {
        Response::json(status, &serde_json::json!({ "ok": false, "error": message.into() }))
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Payload Too Large",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

// ---- Routes ----

async fn route<H: Handler>(req: HttpRequest, site: Site, handler: &H, state: &WebState) -> Response {
    let page = site == Site::Page;
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/metrics") => {
            let text = crate::expose::metrics::render(&statuses(handler).await, SystemTime::now());
            Response { status: 200, content_type: crate::expose::metrics::CONTENT_TYPE, body: text.into_bytes() }
        }
        ("GET", "/") if page => Response { status: 200, content_type: "text/html; charset=utf-8", body: INDEX_HTML.into() },
        ("GET", "/app.js") if page => Response { status: 200, content_type: "text/javascript; charset=utf-8", body: APP_JS.into() },
        ("GET", "/style.css") if page => Response { status: 200, content_type: "text/css; charset=utf-8", body: STYLE_CSS.into() },
        ("GET", "/api/status") if page => {
            let list = statuses(handler).await;
            Response::json(200, &serde_json::json!({ "interfaces": list, "history": state.history() }))
        }
        ("GET", "/api/settings") if page => {
            let Some(iface) = req.query_param("interface") else { return Response::error(400, "add ?interface=NAME") };
            match read_settings(state, &iface) {
                Ok(v) => Response::json(200, &v),
                Err(e) => Response::error(400, e),
            }
        }
        ("POST", "/api/reconnect" | "/api/settings") if page => {
            if !state.origin_allowed(&req) {
                return Response::error(403, "changes are accepted only from this page itself (the Origin is another site)");
            }
            if !state.token_ok(req.header(TOKEN_HEADER)) {
                return Response::error(403, "a valid change token is required (header X-Ncmd-Token; the daemon wrote it to its token file, readable by root only)");
            }
            if req.path == "/api/reconnect" {
                let Ok(Target { interface }) = serde_json::from_slice::<Target>(&req.body) else {
                    return Response::error(400, "expected a JSON body {\"interface\": NAME}");
                };
                let reply = handler.handle(Request::Reconnect { interface: interface.clone() }).await;
                match reply.error {
                    None => Response::json(200, &serde_json::json!({ "ok": true, "message": format!("{interface}: reconnecting") })),
                    Some(e) => Response::error(400, e),
                }
            } else {
                let form = match serde_json::from_slice::<SettingsForm>(&req.body) {
                    Ok(f) => f,
                    Err(e) => return Response::error(400, format!("the settings form was not understood: {e}")),
                };
                match save_settings(state, &form) {
                    Ok(None) => Response::json(200, &serde_json::json!({ "ok": true, "message": format!("{}: nothing changed", form.interface) })),
                    Ok(Some(saved)) => {
                        // Apply at once: the daemon re-reads the file and reconnects.
                        let reply = handler.handle(Request::Reload { interface: form.interface.clone() }).await;
                        let message = match reply.error {
                            None => format!("{saved}; applied: reconnecting with the new settings"),
                            Some(e) => format!("{saved}; not applied yet: {e}"),
                        };
                        Response::json(200, &serde_json::json!({ "ok": true, "message": message }))
                    }
                    Err(e) => Response::error(400, e),
                }
            }
        }
        (_, "/metrics") | ("GET" | "POST", "/" | "/app.js" | "/style.css" | "/api/status" | "/api/settings" | "/api/reconnect") if page => {
            Response::error(405, "method not allowed")
        }
        _ => Response::error(404, "not found"),
    }
}

#[derive(Deserialize)]
struct Target {
    interface: String,
}

/// What the settings form posts. A field the body leaves out is not changed; an empty
/// string unsets it (APN, mode, pdptype). The PIN is never shown, so an empty or missing
/// PIN keeps it, and only `clear_pin` removes it.
#[derive(Debug, Deserialize, Default)]
pub struct SettingsForm {
    pub interface: String,
    #[serde(default)]
    pub apn: Option<String>,
    #[serde(default)]
    pub pin: Option<String>,
    #[serde(default)]
    pub clear_pin: bool,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub pdptype: Option<String>,
}

impl SettingsForm {
    /// The UCI changes the form names, for the section at `section`.
    fn changes(&self, section: usize) -> Vec<ncmd_config::Change> {
        use ncmd_config::Change;
        let field = |option: &str, value: &Option<String>| {
            value.as_deref().map(str::trim).map(|v| if v.is_empty() { Change::delete(section, option) } else { Change::set(section, option, v) })
        };
        let pin = if self.clear_pin {
            Some(Change::delete(section, "pincode"))
        } else {
            self.pin.as_deref().filter(|p| !p.is_empty()).map(|p| Change::set(section, "pincode", p))
        };
        [field("apn", &self.apn), field("mode", &self.mode), field("pdptype", &self.pdptype), pin].into_iter().flatten().collect()
    }
}

/// What the form shows: never the PIN, only whether one is set.
#[derive(Debug, Serialize, PartialEq)]
pub struct SettingsView {
    pub interface: String,
    pub apn: String,
    pub pin_set: bool,
    pub mode: String,
    pub pdptype: String,
    pub editable: bool,
}

fn config_path(state: &WebState) -> Result<&Path, String> {
    state.config.as_deref().ok_or_else(|| "this daemon was not started from a UCI file (`ncmd up --config`); settings cannot be changed here".to_string())
}

/// Reads and parses the file once.
fn read_document(path: &Path) -> Result<ncmd_config::Document, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    ncmd_config::Document::parse(text).map_err(|e| ncmd_config::ConfigError::from_uci(path, e).to_string())
}

fn read_settings(state: &WebState, iface: &str) -> Result<SettingsView, String> {
    let path = config_path(state)?;
    settings_view(path, &read_document(path)?, iface)
}

/// The ncm interface `iface` of the parsed file: its section index, or why it is not one.
fn ncm_section(path: &Path, doc: &ncmd_config::Document, iface: &str) -> Result<usize, String> {
    let config = ncmd_config::Config::from_package(path, doc.package());
    let names = config.names();
    match doc.package().section_index(iface) {
        Some(i) if names.iter().any(|n| n == iface) => Ok(i),
        _ => Err(ncmd_config::ConfigError::NoSuchInterface { interface: iface.into(), path: path.into(), available: names }.to_string()),
    }
}

/// The form's values for `iface`, read from the parsed file.
pub fn settings_view(path: &Path, doc: &ncmd_config::Document, iface: &str) -> Result<SettingsView, String> {
    let section = &doc.package().sections[ncm_section(path, doc, iface)?];
    let single = |opt: &str| match section.get(opt) {
        Some(ncmd_config::uci::Value::Single(v)) => v.clone(),
        _ => String::new(),
    };
    Ok(SettingsView { interface: iface.into(), apn: single("apn"), pin_set: !single("pincode").is_empty(), mode: single("mode"), pdptype: single("pdptype"), editable: true })
}

/// The file with the form applied (only the fields it names), or the validation error
/// (as `ncmd up` would say it; secrets are never part of it). Nothing is written here;
/// the file is not parsed again.
pub fn apply_settings(path: &Path, doc: &ncmd_config::Document, form: &SettingsForm) -> Result<ncmd_config::Document, String> {
    let section = ncm_section(path, doc, &form.interface)?;
    // The writer's errors name the section or option, never the value.
    let new = doc.edit(&form.changes(section)).map_err(|e| e.to_string())?;
    ncmd_config::Config::from_package(path, new.package()).interface(&form.interface).map_err(|e| e.to_string())?;
    Ok(new)
}

/// Writes the validated settings; `None` when nothing changed.
fn save_settings(state: &WebState, form: &SettingsForm) -> Result<Option<String>, String> {
    let path = config_path(state)?;
    let doc = read_document(path)?;
    let new = apply_settings(path, &doc, form)?;
    if new.text() == doc.text() {
        return Ok(None);
    }
    // Atomic replace through an exclusive temporary, keeping the file's permissions.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
    crate::files::replace(path, new.text().as_bytes(), mode).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tracing::info!("{}: settings saved to {} from the web page", form.interface, path.display());
    Ok(Some(format!("{}: saved to {}", form.interface, path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UCI: &str = "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n\toption apn 'internet'\n\toption pincode '1234'\n\nconfig interface 'lan'\n\toption proto 'static'\n";

    #[test]
    fn head_parsing() {
        let r = parse_head(b"POST /api/settings?interface=wwan%30 HTTP/1.1\r\nHost: x\r\nX-Ncmd-Token:  abc ").unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/settings"));
        assert_eq!(r.header("x-ncmd-token"), Some("abc"));
        assert_eq!(r.query_param("interface").as_deref(), Some("wwan0"));
        for bad in [&b"GET / HTTP/1.1 x"[..], b"GET nopath HTTP/1.1", b"get / HTTP/1.1", b"GET / SPDY/3", b"GET / HTTP/1.1\r\nno colon", b"\xff / HTTP/1.1"] {
            assert!(parse_head(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn rebound_names_are_refused_on_every_listener() {
        let s = WebState::new("t".into(), None, vec!["Router.LAN".into()]);
        for ok in [None, Some("127.0.0.1:8080"), Some("localhost"), Some("LOCALHOST:1"), Some("[::1]:80"), Some("192.168.1.1"), Some("router.lan:8080")] {
            assert!(s.host_allowed(ok), "{ok:?}");
        }
        for bad in ["evil.example:8080", "evil.example", "127.0.0.1.nip.io", "[evil]:80", "router.lan:http", "a b", ""] {
            assert!(!s.host_allowed(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn changes_only_from_the_page_itself() {
        let s = WebState::new("t".into(), None, vec![]);
        let req = |headers: &[(&str, &str)]| HttpRequest {
            method: "POST".into(),
            path: "/api/reconnect".into(),
            query: String::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: vec![],
        };
        assert!(s.origin_allowed(&req(&[("host", "127.0.0.1:8080")])), "no Origin: a script, still needs the token");
        assert!(s.origin_allowed(&req(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        for bad in ["http://evil.example", "null", "http://127.0.0.1:9999", "file://", "http://evil.example:8080"] {
            assert!(!s.origin_allowed(&req(&[("host", "127.0.0.1:8080"), ("origin", bad)])), "{bad}");
        }
        assert!(!s.origin_allowed(&req(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")])));
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("9100").unwrap(), "127.0.0.1:9100".parse().unwrap());
        assert_eq!(parse_listen("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        assert!(parse_listen("localhost:80").unwrap_err().contains("ADDR:PORT"));
    }

    #[test]
    fn token_check() {
        let s = WebState::new("abcd".into(), None, vec![]);
        assert!(s.token_ok(Some("abcd")));
        assert!(!s.token_ok(Some("abce")) && !s.token_ok(Some("abc")) && !s.token_ok(None));
        let t = new_token().unwrap();
        assert_eq!(t.len(), 32);
        assert_ne!(t, new_token().unwrap());
    }

    fn doc(text: &str) -> ncmd_config::Document {
        ncmd_config::Document::parse(text).unwrap()
    }

    #[test]
    fn settings_view_hides_the_pin() {
        let v = settings_view(Path::new("network"), &doc(UCI), "wwan").unwrap();
        assert_eq!(v, SettingsView { interface: "wwan".into(), apn: "internet".into(), pin_set: true, mode: String::new(), pdptype: String::new(), editable: true });
        assert!(!serde_json::to_string(&v).unwrap().contains("1234"));
        assert!(settings_view(Path::new("network"), &doc(UCI), "lan").unwrap_err().contains("no interface 'lan'"));
    }

    #[test]
    fn settings_are_validated_like_the_cli_and_keep_the_rest() {
        let p = Path::new("network");
        let form = |apn: &str, pin: &str| SettingsForm { interface: "wwan".into(), apn: Some(apn.into()), pin: Some(pin.into()), mode: Some("lte".into()), pdptype: Some("IPV4V6".into()), clear_pin: false };
        let new = apply_settings(p, &doc(UCI), &form("web.apn", "")).unwrap().into_text();
        assert!(new.contains("option apn 'web.apn'") && new.contains("option mode 'lte'") && new.contains("option pdptype 'IPV4V6'"));
        assert!(new.contains("option pincode '1234'"), "an empty PIN field keeps the PIN");
        assert!(new.ends_with("config interface 'lan'\n\toption proto 'static'\n"));
        let err = apply_settings(p, &doc(UCI), &form("bad\";+CFUN=0", "")).unwrap_err();
        assert!(err.contains("option apn"), "{err}");
        let err = apply_settings(p, &doc(UCI), &form("x", "12;4")).unwrap_err();
        assert!(err.contains("pincode") && !err.contains("12;4"), "the PIN is never echoed: {err}");
        let cleared = apply_settings(p, &doc(UCI), &SettingsForm { clear_pin: true, ..form("x", "") }).unwrap().into_text();
        assert!(!cleared.contains("pincode"));
    }

    /// Issue 12 item 10: a body that names only the interface changes nothing.
    #[test]
    fn fields_the_post_leaves_out_are_kept() {
        let p = Path::new("network");
        let text = UCI.replace("\toption pincode '1234'\n", "\toption pincode '1234'\n\toption mode 'lte'\n\toption pdptype 'IPV4V6'\n");
        let form: SettingsForm = serde_json::from_str(r#"{"interface": "wwan"}"#).unwrap();
        assert_eq!(apply_settings(p, &doc(&text), &form).unwrap().text(), text);
        let form: SettingsForm = serde_json::from_str(r#"{"interface": "wwan", "mode": ""}"#).unwrap();
        assert_eq!(apply_settings(p, &doc(&text), &form).unwrap().text(), text.replace("\toption mode 'lte'\n", ""));
    }

    /// Issue 12 item 3: the APN and PIN of `wwan` never land in `wwan2`.
    #[test]
    fn settings_stay_in_their_section_when_the_next_header_shares_the_line() {
        let p = Path::new("network");
        let text = "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n\toption probe_interval '0'; config interface 'wwan2'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB2'\n";
        let form: SettingsForm = serde_json::from_str(r#"{"interface": "wwan", "apn": "web.apn", "pin": "4321"}"#).unwrap();
        let new = apply_settings(p, &doc(text), &form).unwrap();
        let config = ncmd_config::Config::from_package(p, new.package());
        let wwan = config.interface("wwan").unwrap();
        assert_eq!((wwan.apn.as_deref(), wwan.pincode.as_ref().map(|s| s.expose())), (Some("web.apn"), Some("4321")));
        let wwan2 = config.interface("wwan2").unwrap();
        assert_eq!((wwan2.apn.as_deref(), wwan2.pincode.is_none()), (None, true));
    }

    #[test]
    fn history_is_bounded_and_skips_empty_samples() {
        let s = WebState::new("t".into(), None, vec![]);
        let mut st = InterfaceStatus { interface: "wwan".into(), ..Default::default() };
        s.record(std::slice::from_ref(&st), SystemTime::now());
        assert!(s.history().is_empty());
        st.modem.signal.rsrp_dbm = Some(-90.0);
        for _ in 0..HISTORY_POINTS + 5 {
            s.record(std::slice::from_ref(&st), SystemTime::now());
        }
        assert_eq!(s.history()["wwan"].len(), HISTORY_POINTS);
    }
}
