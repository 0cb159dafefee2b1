//! AtChannel against a scripted fake modem on an in-memory duplex stream (paused tokio
//! time for every timing rule) and against a real pseudo-terminal.

use ncmd_at::parse::csq;
use ncmd_at::{AtChannel, AtError, CmeKind, STALE_DRAIN};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::broadcast::error::RecvError;

const T: Duration = Duration::from_secs(2);

fn pair() -> (AtChannel, DuplexStream) {
    let (client, modem) = tokio::io::duplex(4096);
    (AtChannel::new(client), modem)
}

/// Reads one command (up to its CR) on the modem side.
async fn read_cmd(modem: &mut DuplexStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = modem.read(&mut b).await.expect("modem side read");
        assert_ne!(
            n, 0,
            "channel closed its side while the modem waited for a command"
        );
        if b[0] == b'\r' {
            return String::from_utf8(out).expect("command is UTF-8");
        }
        out.push(b[0]);
    }
}

async fn send(modem: &mut DuplexStream, s: &str) {
    modem
        .write_all(s.as_bytes())
        .await
        .expect("modem side write");
}

#[tokio::test(start_paused = true)]
async fn echo_removed_and_reply_returned() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        let cmd = read_cmd(&mut modem).await;
        assert_eq!(cmd, "AT+CGMI");
        // ATE1: the modem echoes the command line first.
        send(&mut modem, "AT+CGMI\r\r\nhuawei\r\n\r\nOK\r\n").await;
        modem
    });
    let r = ch.command("AT+CGMI", T).await.unwrap();
    assert_eq!(r.lines, ["huawei"]);
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn cme_11_is_sim_pin_required() {
    let (ch, mut modem) = pair();
    tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n+CME ERROR: 11\r\n").await;
        modem
    });
    match ch.command("AT+CGATT=1", T).await {
        Err(AtError::Cme { command, error }) => {
            assert_eq!(command, "AT+CGATT=1");
            assert_eq!(error.kind(), CmeKind::SimPinRequired);
        }
        other => panic!("expected +CME ERROR, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn huawei_command_not_support() {
    let (ch, mut modem) = pair();
    tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\nCOMMAND NOT SUPPORT\r\n").await;
        modem
    });
    let e = ch.command("AT^FOO", T).await.unwrap_err();
    assert!(matches!(e, AtError::NotSupported { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn garbage_before_reply_does_not_lose_it() {
    let (ch, mut modem) = pair();
    let mut urcs = ch.urcs();
    tokio::spawn(async move {
        // Noise while idle (a modem booting), then noise glued to the reply.
        send(&mut modem, "\0\u{1b}[0m\r\n").await;
        read_cmd(&mut modem).await;
        modem
            .write_all(b"\xff\xfe\x00junk\r\n+CSQ: 20,99\r\nOK\r\n")
            .await
            .unwrap();
        modem
    });
    assert_eq!(urcs.recv().await.unwrap().line, "\u{1b}[0m");
    let r = ch.command("AT+CSQ", T).await.unwrap();
    assert_eq!(csq(&r).unwrap().rssi_dbm, Some(-73));
}

#[tokio::test(start_paused = true)]
async fn control_characters_refused_before_writing() {
    let (ch, mut modem) = pair();
    for bad in [
        "AT\r+CFUN=0",
        "AT+CGDCONT=1,\"IP\",\"a\nb\"",
        "AT\0",
        "AT\u{1b}",
    ] {
        assert!(
            matches!(ch.command(bad, T).await, Err(AtError::InvalidCommand(_))),
            "{bad:?}"
        );
    }
    // Redacted form: the error shows only the shown text.
    let e = ch
        .command_redacted("AT+CPIN=\"12\r34\"", "AT+CPIN=<pin>", T)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("12"), "{e}");
    // Nothing reached the modem: the first bytes it sees are the next valid command.
    let fake = tokio::spawn(async move {
        let cmd = read_cmd(&mut modem).await;
        send(&mut modem, "OK\r\n").await;
        cmd
    });
    ch.command("AT", T).await.unwrap();
    assert_eq!(fake.await.unwrap(), "AT");
}

#[tokio::test(start_paused = true)]
async fn never_answering_modem_times_out() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        read_cmd(&mut modem).await;
        modem // held open, silent
    });
    let start = tokio::time::Instant::now();
    match ch.command("AT+COPS=?", Duration::from_secs(3)).await {
        Err(AtError::Timeout { command, timeout }) => {
            assert_eq!(
                (command.as_str(), timeout),
                ("AT+COPS=?", Duration::from_secs(3))
            );
        }
        other => panic!("expected timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(!ch.is_closed());
    drop(fake);
}

#[tokio::test(start_paused = true)]
async fn late_reply_is_not_taken_for_the_next_command() {
    let (ch, mut modem) = pair();
    let (late_tx, late_rx) = tokio::sync::oneshot::channel::<()>();
    let fake = tokio::spawn(async move {
        assert_eq!(read_cmd(&mut modem).await, "AT+CSQ");
        late_rx.await.unwrap();
        // The answer to the timed-out command arrives, with a URC in it.
        send(&mut modem, "\r\n+CSQ: 5,99\r\n^RSSI: 5\r\n\r\nOK\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT+CGATT?");
        send(&mut modem, "\r\n+CGATT: 1\r\n\r\nOK\r\n").await;
        modem
    });
    let mut urcs = ch.urcs();
    assert!(matches!(
        ch.command("AT+CSQ", T).await,
        Err(AtError::Timeout { .. })
    ));
    late_tx.send(()).unwrap();
    let r = ch.command("AT+CGATT?", T).await.unwrap();
    assert_eq!(r.lines, ["+CGATT: 1"]);
    assert_eq!(urcs.recv().await.unwrap().line, "^RSSI: 5");
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stale_command_given_up_after_drain_window() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        read_cmd(&mut modem).await; // never answered
        assert_eq!(read_cmd(&mut modem).await, "AT");
        send(&mut modem, "OK\r\n").await;
        modem
    });
    assert!(matches!(
        ch.command("AT+CSQ", T).await,
        Err(AtError::Timeout { .. })
    ));
    let start = tokio::time::Instant::now();
    ch.command("AT", T).await.unwrap();
    // The second command waited for the drain window, and its own timeout did not run out.
    assert_eq!(start.elapsed(), STALE_DRAIN);
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn queued_command_wait_does_not_count_toward_its_timeout() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        assert_eq!(read_cmd(&mut modem).await, "AT+COPS=?");
        tokio::time::sleep(Duration::from_secs(30)).await;
        send(&mut modem, "+COPS: (2,\"X\",\"X\",\"00101\",7)\r\nOK\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT+CSQ");
        send(&mut modem, "+CSQ: 10,99\r\nOK\r\n").await;
        modem
    });
    let slow = ch.clone();
    let scan =
        tokio::spawn(async move { slow.command("AT+COPS=?", Duration::from_secs(60)).await });
    tokio::task::yield_now().await;
    // Queued behind a 30 s scan with only a 1 s timeout of its own: still succeeds.
    let r = ch.command("AT+CSQ", Duration::from_secs(1)).await.unwrap();
    assert_eq!(r.lines, ["+CSQ: 10,99"]);
    assert_eq!(scan.await.unwrap().unwrap().lines.len(), 1);
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn peer_dropped_mid_command_is_port_closed() {
    let (ch, mut modem) = pair();
    let mut urcs = ch.urcs();
    tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n+CGDCONT: 1,\"IP\"").await;
        drop(modem); // unplugged mid-reply
    });
    let start = tokio::time::Instant::now();
    let e = ch
        .command("AT+CGDCONT?", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(matches!(e, AtError::PortClosed(_)), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(ch.is_closed());
    ch.closed().await;
    assert!(matches!(urcs.recv().await, Err(RecvError::Closed)));
    assert!(matches!(ch.urcs().recv().await, Err(RecvError::Closed)));
    // Every later command fails the same way, at once.
    assert!(matches!(
        ch.command("AT", T).await,
        Err(AtError::PortClosed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn write_to_vanished_port_is_port_closed() {
    let (ch, modem) = pair();
    drop(modem);
    ch.closed().await;
    assert!(matches!(
        ch.command("AT", T).await,
        Err(AtError::PortClosed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn urcs_routed_around_replies() {
    let (ch, mut modem) = pair();
    let mut urcs = ch.urcs();
    tokio::spawn(async move {
        send(&mut modem, "\r\n^RSSI: 20\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT+CREG?");
        // The command's own prefix is reply even though +CREG: is a URC prefix;
        // +CGREG: and ^HCSQ: in the middle are URCs.
        send(&mut modem, "AT+CREG?\r\r\n+CGREG: 1\r\n+CREG: 2,1,\"00C3\",\"0000001A\"\r\n^HCSQ: \"LTE\",1,2,3,4\r\n\r\nOK\r\n").await;
        send(&mut modem, "\r\nRING\r\n").await;
        modem
    });
    let r = ch.command("AT+CREG?", T).await.unwrap();
    assert_eq!(r.lines, ["+CREG: 2,1,\"00C3\",\"0000001A\""]);
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(urcs.recv().await.unwrap().line);
    }
    assert_eq!(
        got,
        ["^RSSI: 20", "+CGREG: 1", "^HCSQ: \"LTE\",1,2,3,4", "RING"]
    );
}

#[tokio::test(start_paused = true)]
async fn redacted_command_never_shows_the_secret() {
    let (ch, mut modem) = pair();
    // Kept: the finished task's output (the modem end) stays open until the test ends.
    let _fake = tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "AT+CPIN=\"4711\"\r\r\n+CME ERROR: 16\r\n").await;
        read_cmd(&mut modem).await; // second one: silent
        modem
    });
    let e = ch
        .command_redacted("AT+CPIN=\"4711\"", "AT+CPIN=<pin>", T)
        .await
        .unwrap_err();
    let AtError::Cme { ref error, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(error.kind(), CmeKind::IncorrectPassword);
    assert!(
        e.to_string().contains("AT+CPIN=<pin>") && !e.to_string().contains("4711"),
        "{e}"
    );
    let e = ch
        .command_redacted("AT+CPIN=\"4711\"", "AT+CPIN=<pin>", T)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AtError::Timeout { .. }) && !format!("{e} {e:?}").contains("4711"),
        "{e:?}"
    );
}

/// A real pseudo-terminal: `AtChannel::open` on the slave (raw mode via termios), the test
/// plays the modem on the master; closing the master is the modem vanishing.
#[tokio::test]
async fn pty_round_trip_and_hangup() {
    use std::io::{Read, Write};
    let pty = nix::pty::openpty(None, None).expect("openpty: this test needs /dev/ptmx");
    let path = nix::unistd::ttyname(&pty.slave).expect("ttyname of the pty slave");
    let ch = AtChannel::open(&path).await.expect("open the pty slave");
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    let modem = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut b = [0u8; 1];
        while !buf.ends_with(b"\r") {
            master.read_exact(&mut b).expect("read from pty master");
            buf.push(b[0]);
        }
        master
            .write_all(b"AT+CSQ\r\r\n+CSQ: 31,99\r\n\r\nOK\r\n")
            .expect("write to pty master");
        let mut rest = [0u8; 64];
        let n = master.read(&mut rest).expect("second command");
        assert!(n > 0);
        drop(master); // hang up with a command in flight
        buf
    });
    let r = ch.command("AT+CSQ", Duration::from_secs(5)).await.unwrap();
    assert_eq!(csq(&r).unwrap().rssi_dbm, Some(-51));
    let e = ch
        .command("AT+CGATT?", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(e, AtError::PortClosed(_)), "{e:?}");
    assert_eq!(modem.join().unwrap(), b"AT+CSQ\r");
    assert!(ch.is_closed());
}

#[tokio::test]
async fn open_missing_device_says_which() {
    let e = AtChannel::open(std::path::Path::new("/dev/ncmd-test-no-such-tty"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/dev/ncmd-test-no-such-tty"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_handle_releases_the_port() {
    let (ch, mut modem) = pair();
    let other = ch.clone();
    drop(ch);
    assert!(!other.is_closed());
    drop(other);
    // Reader task aborted and writer dropped: the modem side sees end of file.
    let mut b = [0u8; 1];
    assert_eq!(modem.read(&mut b).await.unwrap(), 0);
}

/// Reads exactly `n` bytes on the modem side.
async fn read_n(modem: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    modem.read_exact(&mut out).await.expect("modem side read");
    out
}

#[tokio::test(start_paused = true)]
async fn passthrough_serves_a_prompt_and_returns_the_raw_final_code() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        assert_eq!(read_cmd(&mut modem).await, "AT+CMGS=\"+491701234567\"");
        // 3GPP TS 27.005 §3.5.1: the four-byte prompt, no line end.
        send(&mut modem, "\r\n> ").await;
        assert_eq!(read_n(&mut modem, 3).await, b"Hi\x1a");
        send(&mut modem, "\r\n+CMGS: 7\r\n\r\nOK\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT+CMGR=9");
        send(&mut modem, "\r\n+CMS ERROR: 321\r\n").await;
        modem
    });
    let r = ch
        .passthrough("AT+CMGS=\"+491701234567\"", T, || async {
            b"Hi\x1a".to_vec()
        })
        .await
        .unwrap();
    assert_eq!(r.lines, ["+CMGS: 7"]);
    assert_eq!(r.final_line, "OK");
    // An error final code is the program's to read, returned as it came.
    let r = ch
        .passthrough("AT+CMGR=9", T, || async { Vec::new() })
        .await
        .unwrap();
    assert_eq!(
        (r.lines.len(), r.final_line.as_str()),
        (0, "+CMS ERROR: 321")
    );
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn continuation_prompts_are_not_reply_lines() {
    let (ch, mut modem) = pair();
    tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n> ").await;
        read_n(&mut modem, 6).await;
        // Text mode: a new prompt after the CR inside the text (Telit LE910C AT reference).
        send(&mut modem, "\r\n> ").await;
        send(&mut modem, "\r\n> \r\n+CMGS: 3\r\n\r\nOK\r\n").await;
        modem
    });
    let r = ch
        .passthrough("AT+CMGS=\"1\"", T, || async { b"a\rb\rc\x1a".to_vec() })
        .await
        .unwrap();
    assert_eq!(r.lines, ["+CMGS: 3"]);
}

#[tokio::test(start_paused = true)]
async fn text_without_an_end_is_cancelled_with_escape() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n> ").await;
        assert_eq!(read_n(&mut modem, 4).await, b"abc\x1b");
        send(&mut modem, "\r\nOK\r\n").await;
        modem
    });
    let r = ch
        .passthrough("AT+CMGS=\"1\"", T, || async { b"abc".to_vec() })
        .await
        .unwrap();
    assert_eq!(r.final_line, "OK");
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_prompt_is_closed_before_the_next_command() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n> ").await;
        // The program vanished: the next thing the modem sees is ESC, then the command.
        assert_eq!(read_n(&mut modem, 1).await, b"\x1b");
        send(&mut modem, "\r\nOK\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT+CSQ");
        send(&mut modem, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n").await;
        modem
    });
    let abandoned = ch.passthrough("AT+CMGS=\"1\"", T, std::future::pending);
    assert!(tokio::time::timeout(Duration::from_secs(30), abandoned)
        .await
        .is_err());
    let r = ch.command("AT+CSQ", T).await.unwrap();
    assert_eq!(r.lines, ["+CSQ: 20,99"]);
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_prompt_that_never_comes_times_out_and_is_escaped() {
    let (ch, mut modem) = pair();
    let fake = tokio::spawn(async move {
        read_cmd(&mut modem).await;
        // Silent past the timeout; then the late prompt is closed with ESC.
        assert_eq!(read_n(&mut modem, 1).await, b"\x1b");
        send(&mut modem, "\r\nOK\r\n").await;
        assert_eq!(read_cmd(&mut modem).await, "AT");
        send(&mut modem, "\r\nOK\r\n").await;
        modem
    });
    let e = ch
        .passthrough("AT+CMGS=\"1\"", T, || async { b"x\x1a".to_vec() })
        .await
        .unwrap_err();
    assert!(matches!(e, AtError::Timeout { .. }), "{e:?}");
    ch.command("AT", T).await.unwrap();
    fake.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn silence_counts_from_the_last_final_code_and_not_at_a_prompt() {
    let (ch, mut modem) = pair();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\nOK\r\n").await;
        read_cmd(&mut modem).await;
        send(&mut modem, "\r\n> ").await;
        let _ = wait.await;
        read_n(&mut modem, 2).await;
        send(&mut modem, "\r\n+CMGS: 1\r\n\r\nOK\r\n").await;
        modem
    });
    ch.command("AT", T).await.unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(ch.silent_for() >= Duration::from_secs(7));
    let held = {
        let ch = ch.clone();
        tokio::spawn(async move {
            ch.passthrough("AT+CMGS=\"1\"", T, || async move {
                // A person typing for a minute: the modem is waiting, not silent.
                tokio::time::sleep(Duration::from_secs(60)).await;
                b"x\x1a".to_vec()
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(ch.silent_for(), Duration::ZERO);
    let _ = go.send(());
    assert_eq!(held.await.unwrap().unwrap().lines, ["+CMGS: 1"]);
    assert!(ch.silent_for() < Duration::from_secs(1));
}
