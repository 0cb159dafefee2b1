//! The simulator's control socket: a Unix stream socket, one text command per line,
//! one JSON object per reply line. Commands: `fault NAME`, `stats`, `state`, `help`.
//!
//! The command parser is pure (`parse`); `serve` does the I/O. Must not know about
//! the pty or AT commands; it talks to the engine through `Msg` and reads `Shared`.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::UnboundedSender;

use crate::engine::{Msg, Shared};
use crate::fault::Fault;

/// One parsed control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Fault(Fault),
    Stats,
    State,
    Help,
}

/// Parses one control line; the error is the message sent back.
pub fn parse(line: &str) -> Result<Request, String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("").to_ascii_lowercase();
    let arg = words.next();
    let req = match (verb.as_str(), arg) {
        ("fault", Some(name)) => Request::Fault(name.parse().map_err(|e| format!("{e}"))?),
        ("fault", None) => return Err("usage: fault NAME".into()),
        ("stats", None) => Request::Stats,
        ("state", None) => Request::State,
        ("help", None) => Request::Help,
        _ => {
            return Err(format!(
                "unknown command '{}'; commands: fault NAME, stats, state, help",
                line.trim()
            ))
        }
    };
    if words.next().is_some() {
        return Err(format!("too many words in '{}'", line.trim()));
    }
    Ok(req)
}

/// How long a fault's reply waits for the data link to apply it.
const APPLIED_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Answers one request. A fault is answered once it is in place (routes and carrier
/// of the data link included), so a test may act on it at once.
async fn answer(req: Result<Request, String>, shared: &Shared, tx: &UnboundedSender<Msg>) -> Value {
    match req {
        Ok(Request::Fault(f)) => {
            let (done, applied) = tokio::sync::oneshot::channel();
            match tx.send(Msg::Inject(f, Some(done))) {
                Ok(()) => match tokio::time::timeout(APPLIED_WITHIN, applied).await {
                    Ok(Ok(())) => json!({ "ok": true, "fault": f.name() }),
                    _ => json!({ "error": format!("fault {} was not applied within {} s", f.name(), APPLIED_WITHIN.as_secs()) }),
                },
                Err(_) => json!({ "error": "the simulator is shutting down" }),
            }
        }
        Ok(Request::Stats) => serde_json::to_value(shared.modem().stats())
            .unwrap_or_else(|e| json!({ "error": e.to_string() })),
        Ok(Request::State) => serde_json::to_value(shared.modem().summary())
            .unwrap_or_else(|e| json!({ "error": e.to_string() })),
        Ok(Request::Help) => json!({
            "commands": ["fault NAME", "stats", "state", "help"],
            "faults": Fault::names().collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "error": e }),
    }
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener: UnixListener, shared: Arc<Shared>, tx: UnboundedSender<Msg>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(client(stream, shared.clone(), tx.clone()));
            }
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                return;
            }
        }
    }
}

async fn client(stream: UnixStream, shared: Arc<Shared>, tx: UnboundedSender<Msg>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let mut reply = answer(parse(&line), &shared, &tx).await.to_string();
        reply.push('\n');
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        assert_eq!(parse("fault reset"), Ok(Request::Fault(Fault::Reset)));
        assert_eq!(parse(" STATS "), Ok(Request::Stats));
        assert_eq!(parse("state"), Ok(Request::State));
        assert!(parse("fault").is_err());
        assert!(parse("fault melt").unwrap_err().contains("unknown fault"));
        assert!(parse("stats now").is_err());
        assert!(parse("reboot").is_err());
    }
}
