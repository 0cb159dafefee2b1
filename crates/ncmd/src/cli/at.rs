//! `ncmd at --device TTY CMD...`: raw AT commands, through the daemon when it owns the
//! port (one process talks to the modem), else directly.

use std::path::Path;
use std::time::Duration;

use ncmd_at::AtChannel;

use crate::control;
use crate::expose::render::printable;

/// `ncmd at`: through the daemon when one owns the port, else directly.
pub async fn raw_at(device: &Path, timeout: Duration, commands: &[String]) -> Result<(), crate::Error> {
    if let Some(iface) = control::owner_of(device).await {
        for cmd in commands {
            let reply = control::request(
                &iface.1,
                &control::Request::At { interface: iface.0.clone(), command: cmd.clone(), timeout_ms: timeout.as_millis() as u64 },
            )
            .await?;
            if !reply.ok {
                return Err(format!("{cmd}: {}", reply.error.unwrap_or_default()).into());
            }
            for l in reply.data.as_array().into_iter().flatten() {
                println!("{}", printable(l.as_str().unwrap_or_default()));
            }
            println!("OK");
        }
        return Ok(());
    }
    let chan = AtChannel::open(device).await?;
    for cmd in commands {
        let r = chan.command(cmd, timeout).await?;
        for l in &r.lines {
            println!("{}", printable(l));
        }
        println!("OK");
    }
    Ok(())
}
