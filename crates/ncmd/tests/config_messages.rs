//! Issue 12 item 9 at the command line: a bad configuration is reported once, truly and
//! bounded in length, and `ncmd up` stops before it touches anything.

mod common;

use std::process::Command;

use common::ncmd;

fn up(config: &str, args: &[&str]) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("ncmd-config-messages-{}-{}", std::process::id(), args.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("network");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(ncmd())
        .arg("up")
        .args(args)
        .arg("--config")
        .arg(&path)
        .arg("--control")
        .arg(dir.join("ncmd.sock"))
        .arg("--state-dir")
        .arg(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_invalid_interface_is_reported_once_and_bounded() {
    let apn = "a".repeat(50 << 20);
    let config = format!(
        "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB1'\n\toption apn '{apn}'\n"
    );
    let (ok, stderr) = up(&config, &["wwan"]);
    assert!(!ok);
    assert_eq!(stderr.matches("option apn").count(), 1, "{}", &stderr[..stderr.len().min(2000)]);
    assert!(
        stderr.len() < 1000 && stderr.contains(&format!("({} bytes)", 50 << 20)),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    // Without a name: the error, then a true summary (the file has an ncm interface).
    let (ok, stderr) = up(&config, &[]);
    assert!(!ok);
    assert_eq!(stderr.matches("option apn").count(), 1, "{stderr}");
    assert!(stderr.contains("has no valid ncm interface: fix the errors above"), "{stderr}");
    assert!(!stderr.contains("has no interface with option proto 'ncm'"), "{stderr}");
}
