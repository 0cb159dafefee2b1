//! `ncmd status [IFACE] [--json]`: what the running daemon knows.

use std::path::PathBuf;

use super::ask;
use crate::control::Request;
use crate::expose::render;
use crate::status::InterfaceStatus;
use crate::Error;

pub async fn run(interface: Option<String>, json: bool, control: Option<PathBuf>) -> Result<(), Error> {
    let data = ask(control, Request::Status { interface }).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&data)?);
    } else {
        let list: Vec<InterfaceStatus> = serde_json::from_value(data)?;
        for s in &list {
            print!("{}", render::render_interface(s));
        }
    }
    Ok(())
}
