//! Issue 12 through the binary: a modem whose text carries terminal escapes, a runtime
//! directory made under umask 000, messages for a broken config and for a user who is
//! not root. Each test replays the attack and shows it refused, with nothing obeyed,
//! leaked or loosened.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{ncmd, require_root, Lab, SimSpec};

/// Item 4: the modem's model, revision and operator hold ESC sequences (colour, clear
/// screen, window title) and a bidi override; `ncmd info` and `ncmd at` show them
/// escaped, and no byte that a terminal obeys reaches stdout.
#[test]
fn modem_text_never_drives_the_terminal() {
    let dir = std::env::temp_dir().join(format!("ncmd-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let overlay = dir.join("liar.txt");
    // Constructed hostile replies (no real modem sends these; that is the point).
    std::fs::write(
        &overlay,
        "> AT+CGMM\n< E3372\x1b[2J\x1b]0;owned\x07\n< OK\n> AT+CGMR\n< 21.180\x1b[31m\u{202e}\n< OK\n\
         > AT+COPS?\n< +COPS: 0,0,\"Op\x1b[5m\r\",7\n< OK\n",
    )
    .unwrap();
    let lab = Lab::new(SimSpec { netns: false, extra: vec!["--overlay".into(), overlay.display().to_string()], ..Default::default() });
    let info = Command::new(ncmd()).args(["info", "--device"]).arg(&lab.tty).output().unwrap();
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    let at = Command::new(ncmd()).args(["at", "--device"]).arg(&lab.tty).args(["AT+CGMM", "AT+CGMR"]).output().unwrap();
    assert!(at.status.success(), "{}", String::from_utf8_lossy(&at.stderr));
    for (what, out) in [("info", &info.stdout), ("at", &at.stdout)] {
        let text = String::from_utf8_lossy(out);
        let obeyed: Vec<char> = text.chars().filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}').collect();
        assert!(obeyed.is_empty(), "ncmd {what} printed terminal controls {obeyed:?}: {text}");
        assert!(text.contains("E3372\\x1b[2J"), "ncmd {what} hid the text instead of showing it: {text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 8: under umask 000 the runtime directory is still 0700, the socket 0600 and the
/// token 0600: nobody but root can reach them at any moment.
#[test]
fn runtime_files_are_private_whatever_the_umask() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let run = lab.dir.join("run/ncmd");
    let control = run.join("ncmd.sock");
    let cfg = lab.config("\toption apn 'internet'\n\nconfig ncmd 'main'\n\toption web_listen '127.0.0.1:18082'\n");
    let ns = lab.netns.clone().unwrap();
    let mut daemon = Command::new("sh")
        .args(["-c", "umask 000; exec \"$@\"", "sh", "ip", "netns", "exec", &ns])
        .arg(ncmd())
        .args(["up", "wwan", "--config"])
        .arg(&cfg)
        .arg("--control")
        .arg(&control)
        .arg("--state-dir")
        .arg(lab.dir.join("state"))
        .env("NCMD_TEST_SCALE_MS", "50")
        .spawn()
        .unwrap();
    lab.control = control.clone();
    lab.wait_state("up", Duration::from_secs(30));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run), 0o700, "runtime directory");
    assert_eq!(mode(&control), 0o600, "control socket");
    assert_eq!(mode(&control.with_extension("token")), 0o600, "web token");
    let leftovers: Vec<_> = std::fs::read_dir(&run).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with('.')).collect();
    assert!(leftovers.is_empty(), "temporary files left in the runtime directory: {leftovers:?}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(daemon.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = daemon.wait();
}

/// Item 9: each message once, true, and short.
#[test]
fn config_errors_are_printed_once_and_say_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("ncmd-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("network");
    std::fs::write(&cfg, "config interface 'wwan'\n\toption proto 'ncm'\n\toption device '/dev/ttyUSB9'\n\toption pdptype 'IPX'\n").unwrap();
    let control = dir.join("ncmd.sock");
    for args in [&["up", "wwan"][..], &["up"][..]] {
        let out = Command::new(ncmd()).args(args).arg("--config").arg(&cfg).arg("--control").arg(&control).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("option pdptype").count(), 1, "{args:?}: the error should appear once: {err}");
        assert!(!err.contains("has no interface with option proto 'ncm'"), "{args:?}: untrue: the file has one, it is invalid: {err}");
        assert!(err.lines().all(|l| l.len() < 400), "{args:?}: an overlong line: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 9: a user who is not root is told the socket is root's, not that no daemon runs.
#[test]
fn a_user_who_is_not_root_is_told_why() {
    require_root();
    let mut lab = Lab::new(SimSpec::default());
    let cfg = lab.config("\toption apn 'internet'\n");
    lab.up(&cfg, None);
    lab.wait_state("up", Duration::from_secs(30));
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(ncmd())
        .args(["status", "--control"])
        .arg(&lab.control)
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("root") && !err.contains("no ncmd daemon is listening"), "{err}");
}
