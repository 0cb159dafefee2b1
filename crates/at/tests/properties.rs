//! Property tests: every parser on hostile input never panics; random URC interleavings
//! around and inside replies, over a duplex stream cut into random chunks, still give each
//! command exactly its reply and deliver every URC in order.

use ncmd_at::parse::{self, Reply};
use ncmd_at::{AtChannel, Response};
use proptest::prelude::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PREFIXES: &[&str] = &[
    "",
    "+CSQ: ",
    "^HCSQ: ",
    "+CREG: ",
    "+CEREG: ",
    "+C5GREG: ",
    "+COPS: ",
    "+CGDCONT: ",
    "+CGPADDR: ",
    "+CGCONTRDP: ",
    "+CGACT: ",
    "+CGATT: ",
    "+CPIN: ",
    "^CPIN: ",
    "+CPINR: ",
    "+QPINC: ",
    "^SYSCFGEX: ",
    "^NDISSTAT: ",
    "^NDISSTATQRY: ",
    "^DHCP: ",
    "^DHCPV6: ",
    "^ICCID: ",
    "+CGMI: ",
];

fn hostile_line() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(PREFIXES),
        proptest::string::string_regex(r#"[0-9A-Fa-f,"()./:x \-]{0,80}"#).expect("regex"),
        any::<String>(),
        any::<bool>(),
    )
        .prop_map(|(p, body, junk, add_junk)| {
            if add_junk {
                format!("{p}{body}{junk}")
            } else {
                format!("{p}{body}")
            }
        })
}

fn run_every_parser<R: Reply + ?Sized>(r: &R) {
    parse::run_all(r);
    let _ = ncmd_at::classify_final(&r.reply_lines().join("\n"));
}

const URCS: &[&str] = &[
    "^RSSI: 17",
    "^HCSQ: \"LTE\",40,50,60,20",
    "+CGEV: ME PDN DEACT 1",
    "RING",
    "^NDISSTAT: 0,,,\"IPV4\"",
    "+CREG: 1",
    "^MODE: 7,17",
    "+CMTI: \"SM\",3",
];

/// One command's exchange as the modem sends it: URCs before the command is read, then the
/// echo, reply lines and `OK` with URCs mixed in.
#[derive(Debug, Clone)]
struct Exchange {
    before: Vec<&'static str>,
    /// Reply lines, each preceded by the URCs inserted before it.
    reply: Vec<(Vec<&'static str>, String)>,
    before_ok: Vec<&'static str>,
}

fn urcs() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(proptest::sample::select(URCS), 0..3)
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        urcs(),
        proptest::collection::vec((urcs(), 1u8..16), 0..5),
        urcs(),
    )
        .prop_map(|(before, reply, before_ok)| Exchange {
            before,
            reply: reply
                .into_iter()
                .map(|(u, cid)| (u, format!("+CGDCONT: {cid},\"IP\",\"apn{cid}\"")))
                .collect(),
            before_ok,
        })
}

fn eol() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(&["\r\n", "\r", "\n", "\r\n\r\n", "\n\r"][..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(lines in proptest::collection::vec(hostile_line(), 0..4)) {
        let text = lines.join("\r\n");
        run_every_parser(text.as_str());
        run_every_parser(&Response::new(lines.clone()));
        run_every_parser(&lines[..]);
    }

    #[test]
    fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        run_every_parser(text.as_str());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn urc_interleavings(exchanges in proptest::collection::vec(exchange(), 1..3),
                         eols in proptest::collection::vec(eol(), 64),
                         cuts in proptest::collection::vec(1usize..40, 64),
                         echo in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let (client, mut modem) = tokio::io::duplex(64);
            let ch = AtChannel::new(client);
            let mut rx = ch.urcs();
            let script = exchanges.clone();
            let fake = tokio::spawn(async move {
                let mut e = eols.iter().cycle();
                let mut c = cuts.iter().cycle();
                for ex in &script {
                    let mut out = String::new();
                    for u in &ex.before {
                        out.push_str(u);
                        out.push_str(e.next().unwrap_or(&"\r\n"));
                    }
                    modem.write_all(out.as_bytes()).await.expect("write");
                    let mut cmd = Vec::new();
                    let mut b = [0u8; 1];
                    while b[0] != b'\r' {
                        modem.read_exact(&mut b).await.expect("read command");
                        cmd.push(b[0]);
                    }
                    let mut out = String::new();
                    if echo {
                        out.push_str("AT+CGDCONT?\r");
                    }
                    for (us, line) in &ex.reply {
                        for u in us {
                            out.push_str(e.next().unwrap_or(&"\r\n"));
                            out.push_str(u);
                        }
                        out.push_str(e.next().unwrap_or(&"\r\n"));
                        out.push_str(line);
                    }
                    for u in &ex.before_ok {
                        out.push_str(e.next().unwrap_or(&"\r\n"));
                        out.push_str(u);
                    }
                    out.push_str("\r\nOK\r\n");
                    // Random chunking, with a yield between chunks so the reader sees them apart.
                    let mut rest = out.as_bytes();
                    while !rest.is_empty() {
                        let n = (*c.next().unwrap_or(&1)).min(rest.len());
                        modem.write_all(&rest[..n]).await.expect("write chunk");
                        rest = &rest[n..];
                        tokio::task::yield_now().await;
                    }
                }
                modem
            });
            for ex in &exchanges {
                let r = ch.command("AT+CGDCONT?", Duration::from_secs(5)).await.expect("command");
                let want: Vec<String> = ex.reply.iter().map(|(_, l)| l.clone()).collect();
                assert_eq!(r.lines, want);
            }
            let want: Vec<&str> = exchanges
                .iter()
                .flat_map(|ex| ex.before.iter().chain(ex.reply.iter().flat_map(|(u, _)| u.iter())).chain(ex.before_ok.iter()))
                .copied()
                .collect();
            let mut got = Vec::new();
            for _ in 0..want.len() {
                got.push(tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("urc in time").expect("urc").line);
            }
            assert_eq!(got, want);
            let _modem = fake.await.expect("fake modem");
        });
    }
}
