//! The ubus object (feature `ubus`): `ncmd` for `ncmd up`, `ncmd.<iface>` for a netifd
//! proto task (one process per interface, and ubus names are unique). Methods:
//! `status {interface?}` (the `status --json` objects keyed by interface), `reconnect
//! {interface}`, `info` (version, interfaces, shared AT ports). rpcd's ACL file
//! (`/usr/share/rpcd/acl.d/ncmd.json`) lets LuCI read status and info.
//!
//! Owns: mapping the methods onto the daemon's control requests and keeping the object
//! published (ubusd restarts: published again). Must not know about the wire format
//! (`ncmd_ubus`) or sessions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ncmd_ubus::blob::kind;
use ncmd_ubus::{Connection, Method, Status};
use serde_json::{Map, Value};

use super::Daemon;
use crate::control::{Handler, Request};

/// Where and under which name to publish.
#[derive(Debug, Clone)]
pub struct Publish {
    /// ubusd's socket; `None`: the first of OpenWrt's usual paths that exists.
    pub socket: Option<PathBuf>,
    pub name: String,
}

fn methods() -> Vec<Method> {
    vec![Method::new("status", &[("interface", kind::STRING)]), Method::new("reconnect", &[("interface", kind::STRING)]), Method::new("info", &[])]
}

/// Publishes and serves until the daemon ends; a bus that goes away is waited for.
pub(super) fn spawn(publish: Publish, daemon: Arc<Daemon>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut quiet = false;
        loop {
            match publish.socket.clone().or_else(ncmd_ubus::default_socket) {
                None => {
                    if !quiet {
                        tracing::info!("no ubusd socket ({}); the ubus object {} waits for it", ncmd_ubus::SOCKETS.join(", "), publish.name);
                        quiet = true;
                    }
                }
                Some(socket) => match Connection::publish(&socket, &publish.name, methods()).await {
                    Ok(conn) => {
                        tracing::info!("ubus object {} published on {}", publish.name, socket.display());
                        quiet = false;
                        let d = daemon.clone();
                        if let Err(e) = conn.serve(move |m, a| call(d.clone(), m, a)).await {
                            tracing::warn!("ubus object {}: {e}; publishing again", publish.name);
                        }
                    }
                    Err(e) => {
                        if !quiet {
                            tracing::warn!("ubus object {}: {e}", publish.name);
                            quiet = true;
                        }
                    }
                },
            }
            // ubusd is restarted by procd within seconds; no need to watch the socket.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

async fn call(daemon: Arc<Daemon>, method: String, args: Map<String, Value>) -> Result<Map<String, Value>, Status> {
    let interface = match args.get("interface") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Status::InvalidArgument),
    };
    match method.as_str() {
        "status" => {
            if interface.as_ref().is_some_and(|i| !daemon.sessions.contains_key(i)) {
                return Err(Status::NotFound);
            }
            let reply = daemon.handle(Request::Status { interface }).await;
            let mut out = Map::new();
            for s in reply.data.as_array().into_iter().flatten() {
                if let Some(name) = s.get("interface").and_then(Value::as_str) {
                    out.insert(name.to_string(), s.clone());
                }
            }
            Ok(out)
        }
        "reconnect" => {
            let interface = interface.ok_or(Status::InvalidArgument)?;
            if !daemon.sessions.contains_key(&interface) {
                return Err(Status::NotFound);
            }
            let reply = daemon.handle(Request::Reconnect { interface }).await;
            if reply.ok {
                Ok(Map::new())
            } else {
                Err(Status::UnknownError)
            }
        }
        "info" => {
            let mut share = Map::new();
            for (name, s) in &daemon.sessions {
                share.insert(name.clone(), Value::from(s.status.snapshot().share_ports));
            }
            let mut out = Map::new();
            out.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
            out.insert("interfaces".into(), Value::from(daemon.sessions.keys().cloned().collect::<Vec<_>>()));
            out.insert("share_ports".into(), Value::Object(share));
            Ok(out)
        }
        _ => Err(Status::MethodNotFound),
    }
}
