//! `ncmd down`, `ncmd reconnect`, `ncmd reload`: one request each to the running daemon.

use std::path::PathBuf;

use super::ask;
use crate::control::Request;
use crate::Error;

pub async fn down(interface: String, control: Option<PathBuf>) -> Result<(), Error> {
    ask(control, Request::Down { interface: interface.clone() }).await?;
    println!("{interface}: down");
    Ok(())
}

pub async fn reconnect(interface: String, control: Option<PathBuf>) -> Result<(), Error> {
    ask(control, Request::Reconnect { interface: interface.clone() }).await?;
    println!("{interface}: reconnecting");
    Ok(())
}

pub async fn reload(interface: String, control: Option<PathBuf>) -> Result<(), Error> {
    ask(control, Request::Reload { interface: interface.clone() }).await?;
    println!("{interface}: settings reloaded; reconnecting");
    Ok(())
}
