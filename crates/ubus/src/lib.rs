//! ncmd-ubus: a small native ubus client that publishes one object on OpenWrt's bus, so
//! LuCI, rpcd and scripts (`ubus call ncmd status`) read a daemon without its own socket.
//!
//! Owns: the ubus wire protocol over ubusd's unix socket (ubus `ubusmsg.h`: an 8-byte
//! header — version, type, sequence, peer — then one blob of `UBUS_ATTR_*` attributes;
//! see [`blob`]), registering an object with its methods' signatures (`ADD_OBJECT`), and
//! answering the `INVOKE`s ubusd forwards (`DATA`, then `STATUS`). Must not know about
//! what the methods do (the caller's handler answers them with JSON).
//!
//! Why our own: the `ubus` crate on crates.io (0.1.7, "work in progress") can look up
//! and call objects but not publish one, and needs Rust 2024; libubus through FFI would
//! tie the build to OpenWrt's C libraries. This is about 500 lines of code and no new dependency.

pub mod blob;

use std::future::Future;
use std::path::{Path, PathBuf};

use blob::{attrs, table_to_json, BlobBuf};
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// ubus message types (`enum ubus_msg_type`).
mod msg {
    pub const HELLO: u8 = 0;
    pub const STATUS: u8 = 1;
    pub const DATA: u8 = 2;
    pub const INVOKE: u8 = 5;
    pub const ADD_OBJECT: u8 = 6;
}

/// ubus message attributes (`enum ubus_msg_attr`).
mod attr {
    pub const STATUS: u8 = 1;
    pub const OBJPATH: u8 = 2;
    pub const OBJID: u8 = 3;
    pub const METHOD: u8 = 4;
    pub const SIGNATURE: u8 = 6;
    pub const DATA: u8 = 7;
    pub const NO_REPLY: u8 = 10;
}

/// Replies of a method (`enum ubus_msg_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    InvalidArgument = 2,
    MethodNotFound = 3,
    NotFound = 4,
    UnknownError = 9,
}

/// Where ubusd listens on OpenWrt (current and older releases).
pub const SOCKETS: &[&str] = &["/var/run/ubus/ubus.sock", "/var/run/ubus.sock"];

/// The first of [`SOCKETS`] that exists.
pub fn default_socket() -> Option<PathBuf> {
    SOCKETS.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Largest message accepted from ubusd (its own limit, `UBUS_MAX_MSGLEN`, is 1 MiB).
const MAX_MSG: usize = 1 << 20;

/// Why the bus could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UbusError {
    #[error("cannot connect to ubusd at {path}: {source} (is ubusd running?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ubus connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("ubusd sent a malformed message: {0}")]
    Protocol(String),
    #[error(
        "ubusd refused to add object {name} (status {status}); is another process publishing it?"
    )]
    AddObject { name: String, status: u32 },
}

/// One method: its name and its arguments with their blobmsg types (`blob::kind`), as
/// `ubus -v list` shows them.
#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub args: Vec<(String, u8)>,
}

impl Method {
    pub fn new(name: &str, args: &[(&str, u8)]) -> Method {
        Method {
            name: name.into(),
            args: args.iter().map(|(n, t)| ((*n).into(), *t)).collect(),
        }
    }
}

/// One received message.
struct Message {
    kind: u8,
    seq: u16,
    peer: u32,
    body: Vec<u8>,
}

/// A connection to ubusd with one published object.
pub struct Connection {
    stream: UnixStream,
    seq: u16,
    object_id: u32,
    methods: Vec<Method>,
}

impl Connection {
    /// Connects to ubusd at `socket` and publishes object `name` with `methods`.
    pub async fn publish(
        socket: &Path,
        name: &str,
        methods: Vec<Method>,
    ) -> Result<Connection, UbusError> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|source| UbusError::Connect {
                path: socket.to_owned(),
                source,
            })?;
        let mut c = Connection {
            stream,
            seq: 0,
            object_id: 0,
            methods,
        };
        let hello = c.read().await?;
        if hello.kind != msg::HELLO {
            return Err(UbusError::Protocol(format!(
                "expected HELLO first, got message type {}",
                hello.kind
            )));
        }
        let mut b = BlobBuf::new();
        b.put_string(attr::OBJPATH, name);
        let sig = b.open(attr::SIGNATURE, false);
        for m in &c.methods {
            let mut args = Map::new();
            for (arg, kind) in &m.args {
                args.insert(arg.clone(), Value::from(*kind));
            }
            b.put_json(&m.name, &Value::Object(args));
        }
        b.close(sig);
        c.seq = c.seq.wrapping_add(1);
        let seq = c.seq;
        c.send(msg::ADD_OBJECT, seq, 0, b).await?;
        loop {
            let m = c.read().await?;
            if m.seq != seq {
                continue;
            }
            let a = attrs(&m.body).map_err(|e| UbusError::Protocol(e.to_string()))?;
            let find = |id| a.iter().find(|x| x.id == id).and_then(|x| x.u32());
            match m.kind {
                msg::DATA => c.object_id = find(attr::OBJID).unwrap_or(0),
                msg::STATUS => {
                    let status = find(attr::STATUS).unwrap_or(u32::MAX);
                    if status != 0 || c.object_id == 0 {
                        return Err(UbusError::AddObject {
                            name: name.into(),
                            status,
                        });
                    }
                    return Ok(c);
                }
                _ => {}
            }
        }
    }

    /// The id ubusd gave the object.
    pub fn object_id(&self) -> u32 {
        self.object_id
    }

    /// Answers method calls until the connection ends (ubusd gone: an error). Calls are
    /// answered one at a time, in order; `handler` gets the method name and arguments.
    pub async fn serve<H, F>(mut self, handler: H) -> Result<(), UbusError>
    where
        H: Fn(String, Map<String, Value>) -> F,
        F: Future<Output = Result<Map<String, Value>, Status>>,
    {
        loop {
            let m = self.read().await?;
            if m.kind != msg::INVOKE {
                continue;
            }
            let Ok(a) = attrs(&m.body) else {
                tracing::debug!("ubus: malformed INVOKE ignored");
                continue;
            };
            let method = a
                .iter()
                .find(|x| x.id == attr::METHOD)
                .and_then(|x| x.string())
                .map(str::to_owned);
            let no_reply = a
                .iter()
                .find(|x| x.id == attr::NO_REPLY)
                .is_some_and(|x| x.data.first().is_some_and(|&b| b != 0));
            let args = a
                .iter()
                .find(|x| x.id == attr::DATA)
                .map(|x| table_to_json(x.data));
            let result = match (method, args) {
                (Some(method), Some(Ok(args))) if self.methods.iter().any(|m| m.name == method) => {
                    handler(method, args).await
                }
                (Some(_), Some(Ok(_))) => Err(Status::MethodNotFound),
                _ => Err(Status::InvalidArgument),
            };
            if no_reply {
                continue;
            }
            let status = match result {
                Ok(data) => {
                    let mut b = BlobBuf::new();
                    b.put_u32(attr::OBJID, self.object_id);
                    let d = b.open(attr::DATA, false);
                    b.put_table_fields(&data);
                    b.close(d);
                    self.send(msg::DATA, m.seq, m.peer, b).await?;
                    Status::Ok
                }
                Err(s) => s,
            };
            let mut b = BlobBuf::new();
            b.put_u32(attr::STATUS, status as u32);
            b.put_u32(attr::OBJID, self.object_id);
            self.send(msg::STATUS, m.seq, m.peer, b).await?;
        }
    }

    async fn send(
        &mut self,
        kind: u8,
        seq: u16,
        peer: u32,
        body: BlobBuf,
    ) -> Result<(), UbusError> {
        let mut top = BlobBuf::new();
        let at = top.open(0, false);
        let mut bytes = top.into_bytes();
        bytes.extend_from_slice(&body.into_bytes());
        // The top-level blob: id 0, its length over the attributes.
        let len = bytes.len() as u32 - at as u32;
        bytes[at..at + 4].copy_from_slice(&len.to_be_bytes());
        let mut out = Vec::with_capacity(8 + bytes.len());
        out.extend_from_slice(&[0, kind]);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&peer.to_be_bytes());
        out.extend_from_slice(&bytes);
        self.stream.write_all(&out).await?;
        Ok(())
    }

    async fn read(&mut self) -> Result<Message, UbusError> {
        let mut head = [0u8; 12];
        self.stream.read_exact(&mut head).await?;
        let len =
            (u32::from_be_bytes([head[8], head[9], head[10], head[11]]) & 0x00ff_ffff) as usize;
        if !(4..=MAX_MSG).contains(&len) {
            return Err(UbusError::Protocol(format!("blob length {len}")));
        }
        let mut body = vec![0u8; len - 4];
        self.stream.read_exact(&mut body).await?;
        Ok(Message {
            kind: head[1],
            seq: u16::from_be_bytes([head[2], head[3]]),
            peer: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
            body,
        })
    }
}
