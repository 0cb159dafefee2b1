//! `ncmd info --device TTY [--json] [--profile CID]`: a one-shot read of a modem; through
//! the daemon when it owns the port (one process talks to the modem).

use std::path::Path;
use std::time::Duration;

use super::ask;
use crate::control::{self, Request};
use crate::expose::render;
use crate::session::query;
use crate::status::InterfaceStatus;
use crate::Error;

pub async fn run(device: &Path, json: bool, cid: u8, timeout: Duration) -> Result<(), Error> {
    let st = match control::owner_of(device).await {
        Some((interface, path)) => {
            let data = ask(Some(path), Request::Status { interface: Some(interface) }).await?;
            let list: Vec<InterfaceStatus> = serde_json::from_value(data)?;
            list.into_iter().next().map(|s| s.modem).ok_or("the daemon returned no status for the interface")?
        }
        None => {
            let chan = ncmd_at::AtChannel::open(device).await?;
            query::read(&chan, &device.display().to_string(), cid, timeout).await
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print!("{}", render::render(&st));
    }
    Ok(())
}
