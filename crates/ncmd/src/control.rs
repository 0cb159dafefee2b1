//! The control socket: how `ncmd status`, `ncmd down` and friends talk to the running
//! daemon instead of opening the modem's port beside it.
//!
//! Owns the wire protocol (one JSON request line, one JSON reply line, over a Unix
//! socket only root can open) and the server loop. It must not know how sessions work:
//! requests are handed to the daemon through [`Handler`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Where daemons put their sockets (`NCMD_RUNTIME_DIR` overrides `/run/ncmd`).
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("NCMD_RUNTIME_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/ncmd"))
}

/// Default socket path of `ncmd up`; `--control` or `NCMD_CONTROL` override it.
pub fn default_path() -> PathBuf {
    std::env::var_os("NCMD_CONTROL").map(PathBuf::from).unwrap_or_else(|| runtime_dir().join("ncmd.sock"))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    Status { interface: Option<String> },
    Down { interface: String },
    Reconnect { interface: String },
    /// Re-read the interface's settings from the UCI file and reconnect with them.
    Reload { interface: String },
    /// Raw AT command through the daemon's own port (one owner of the port).
    At { interface: String, command: String, timeout_ms: u64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Reply {
    pub fn ok(data: serde_json::Value) -> Self {
        Reply { ok: true, error: None, data }
    }
    pub fn err(msg: impl Into<String>) -> Self {
        Reply { ok: false, error: Some(msg.into()), data: serde_json::Value::Null }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no ncmd daemon is listening on {path} ({source}); start one with `ncmd up IFACE`")]
    NotRunning { path: String, source: std::io::Error },
    #[error("the control socket {path} is for root only; run this command as root (sudo ncmd ...)")]
    NotAllowed { path: String },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: String, source: std::io::Error },
    #[error("the daemon's reply was not understood: {0}")]
    Protocol(String),
    #[error("talking to the daemon failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The daemon side: answers one request.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Reply> + Send;
}

/// The result of one `accept`: an error (out of descriptors and the like) pauses the
/// listener briefly instead of letting it spin. Shared by the control socket and the
/// web listeners.
pub(crate) async fn accepted<T>(r: std::io::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("accept: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            None
        }
    }
}

/// Binds the socket (root-only) and serves until the task is dropped.
pub async fn serve<H: Handler>(path: &Path, handler: std::sync::Arc<H>) -> Result<tokio::task::JoinHandle<()>, ControlError> {
    let bind_err = |source| ControlError::Bind { path: path.display().to_string(), source };
    // The directory is root's alone (0700 whatever the umask), so the socket cannot be
    // reached by anyone else even in the moment between bind and chmod.
    if let Some(dir) = path.parent() {
        crate::files::private_dir(dir).map_err(bind_err)?;
    }
    // A socket left by a daemon that died: remove it only if nobody answers on it.
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(bind_err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "another ncmd daemon is running")));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = bind_private(path).map_err(bind_err)?;
    Ok(tokio::spawn(async move {
        loop {
            let Some((stream, _)) = accepted(listener.accept().await).await else { continue };
            let handler = handler.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r.take(64 * 1024)).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply = match serde_json::from_str::<Request>(&line) {
                        Ok(req) => handler.handle(req).await,
                        Err(e) => Reply::err(format!("bad request: {e}")),
                    };
                    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
                    out.push(b'\n');
                    if w.write_all(&out).await.is_err() {
                        break;
                    }
                }
            });
        }
    }))
}

/// Binds the socket in a fresh 0700 directory beside `path`, makes it 0600, then moves
/// it into place: at no moment can anyone but root connect, whatever the umask or the
/// directory's mode.
fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = dir.join(format!(".{name}.{}.bind", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::DirBuilder::new().mode(0o700).create(&staging)?;
    let result = (|| {
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o700))?;
        let inner = staging.join("s");
        let listener = UnixListener::bind(&inner)?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&inner, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The client side: one request, one reply.
pub async fn request(path: &Path, req: &Request) -> Result<Reply, ControlError> {
    let stream = UnixStream::connect(path).await.map_err(|source| match source.kind() {
        std::io::ErrorKind::PermissionDenied => ControlError::NotAllowed { path: path.display().to_string() },
        _ => ControlError::NotRunning { path: path.display().to_string(), source },
    })?;
    let (r, mut w) = stream.into_split();
    let mut out = serde_json::to_vec(req).map_err(|e| ControlError::Protocol(e.to_string()))?;
    out.push(b'\n');
    w.write_all(&out).await?;
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    serde_json::from_str(&line).map_err(|e| ControlError::Protocol(e.to_string()))
}

use tokio::io::AsyncReadExt as _;

/// The (interface, socket) of a running daemon whose session uses `device`.
pub async fn owner_of(device: &Path) -> Option<(String, std::path::PathBuf)> {
    let dir = runtime_dir();
    let want = std::fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf());
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sock") {
            continue;
        }
        let Ok(reply) = request(&path, &Request::Status { interface: None }).await else { continue };
        let list: Vec<crate::status::InterfaceStatus> = serde_json::from_value(reply.data).unwrap_or_default();
        for s in list {
            let dev = Path::new(&s.modem.device);
            if std::fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf()) == want {
                return Some((s.interface, path));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Echo;
    impl Handler for Echo {
        async fn handle(&self, req: Request) -> Reply {
            Reply::ok(serde_json::to_value(req).unwrap())
        }
    }

    #[tokio::test]
    async fn request_reply_roundtrip_and_permissions() {
        let path = std::env::temp_dir().join(format!("ncmd-ctl-{}.sock", std::process::id()));
        let server = serve(&path, Arc::new(Echo)).await.unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let reply = request(&path, &Request::Down { interface: "wwan".into() }).await.unwrap();
        assert!(reply.ok);
        assert_eq!(reply.data["op"], "down");
        // A second daemon may not steal a live socket.
        assert!(serve(&path, Arc::new(Echo)).await.is_err());
        server.abort();
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn no_daemon_is_a_clear_error() {
        let err = request(Path::new("/nonexistent/ncmd.sock"), &Request::Status { interface: None }).await.unwrap_err();
        assert!(err.to_string().contains("no ncmd daemon"), "{err}");
    }
}
