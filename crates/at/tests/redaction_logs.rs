//! The debug trace of a redacted command shows the shown text only — for the command, its
//! echo and its error — while an ordinary command's trace shows `-> cmd` / `<- line`.

use ncmd_at::AtChannel;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Collects every event's fields as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, _field: &Field, value: &dyn std::fmt::Debug) {
        let _ = writeln!(self.0, "{value:?}");
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        event.record(&mut Fields(&mut log));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pin_never_in_the_trace() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let (client, mut modem) = tokio::io::duplex(1024);
    let ch = AtChannel::new(client);
    let _fake = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        for reply in [
            "AT+CPIN=\"4711\"\r\r\nOK\r\n",
            "AT+CPIN=\"4711\"\r\r\n+CME ERROR: 16\r\n",
            "+CSQ: 1,1\r\nOK\r\n",
        ] {
            let n = modem.read(&mut buf).await.expect("read");
            assert!(n > 0);
            modem.write_all(reply.as_bytes()).await.expect("write");
        }
        modem
    });
    let t = Duration::from_secs(1);
    ch.command_redacted("AT+CPIN=\"4711\"", "AT+CPIN=<pin>", t)
        .await
        .expect("first unlock");
    assert!(ch
        .command_redacted("AT+CPIN=\"4711\"", "AT+CPIN=<pin>", t)
        .await
        .is_err());
    ch.command("AT+CSQ", t).await.expect("csq");
    let log = capture
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(
        !log.contains("4711"),
        "secret leaked into the trace:\n{log}"
    );
    assert!(log.contains("-> AT+CPIN=<pin>"), "{log}");
    assert!(log.contains("<- (echo) AT+CPIN=<pin>"), "{log}");
    assert!(
        log.contains("-> AT+CSQ") && log.contains("<- +CSQ: 1,1"),
        "{log}"
    );
}
