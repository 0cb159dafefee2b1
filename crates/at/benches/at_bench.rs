//! Throughput of ncmd-at's pure parts and of the channel over an in-memory stream.
//! `cargo bench -p ncmd-at` prints lines/s (or commands/s); no criterion, to keep deps small.
//! The pty round trip against the simulator is measured elsewhere (`ncmd bench`).

use ncmd_at::parse;
use ncmd_at::{AtChannel, LineFramer, Response};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs `f` (which handles `lines` lines per call) for about `budget`; returns lines/s.
fn rate(lines: u64, budget: Duration, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        f();
        n += lines;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn print(name: &str, per_s: f64, unit: &str) {
    println!("{name:<34} {:>14.0} {unit}/s", per_s);
}

fn main() {
    let budget = Duration::from_millis(300);

    // A realistic E3372 conversation: echo, replies, URCs, CRLF framing.
    let chunk = "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n^RSSI: 20\r\n^HCSQ: \"LTE\",48,41,171,21\r\n\
                 AT^NDISSTATQRY?\r\r\n^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\"\r\n\r\nOK\r\n";
    let stream: Vec<u8> = chunk.repeat(1000).into_bytes();
    let lines_in_stream = LineFramer::default().push(&stream).len() as u64;
    print(
        "framer (64-byte reads)",
        rate(lines_in_stream, budget, || {
            let mut f = LineFramer::default();
            for c in stream.chunks(64) {
                black_box(f.push(c));
            }
        }),
        "lines",
    );

    let resp = |l: &str| Response::new([l]);
    type Case = (&'static str, Response, fn(&Response));
    let cases: Vec<Case> = vec![
        ("csq", resp("+CSQ: 20,99"), |r| drop(black_box(parse::csq(r)))),
        ("hcsq", resp("^HCSQ: \"LTE\",48,41,171,21"), |r| drop(black_box(parse::hcsq(r)))),
        ("creg", resp("+CEREG: 2,1,\"1F00\",\"79D903\",7"), |r| drop(black_box(parse::creg(r)))),
        ("cops", resp("+COPS: 0,0,\"vodafone ES\",7"), |r| drop(black_box(parse::cops(r)))),
        (
            "cgcontrdp",
            resp("+CGCONTRDP: 1,5,\"internet\",\"10.175.213.177.255.255.255.0\",\"10.175.213.1\",\"10.105.16.254\",\"10.105.144.254\""),
            |r| drop(black_box(parse::cgcontrdp(r))),
        ),
        ("ndisstat", resp("^NDISSTATQRY: 1,,,\"IPV4\",0,,,\"IPV6\""), |r| drop(black_box(parse::ndisstat(r)))),
        (
            "dhcp",
            resp("^DHCP: 413DA8C0,00FFFFFF,423DA8C0,423DA8C0,00000000,00000000,81920000,81920000"),
            |r| drop(black_box(parse::dhcp(r))),
        ),
        ("classify_final", resp("+CME ERROR: 11"), |r| drop(black_box(ncmd_at::classify_final(&r.lines[0])))),
        ("is_unsolicited", resp("^NDISSTAT: 0,,,\"IPV4\""), |r| {
            black_box(ncmd_at::is_unsolicited(&r.lines[0]));
        }),
    ];
    for (name, r, f) in &cases {
        print(&format!("parse::{name}"), rate(1, budget, || f(r)), "lines");
    }

    // Command round trips through AtChannel against an instant in-memory modem: the
    // channel's own overhead per command (task hops, framing, routing).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let per_s = rt.block_on(async {
        let (client, mut modem) = tokio::io::duplex(4096);
        let ch = AtChannel::new(client);
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            loop {
                match modem.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if modem
                            .write_all(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            black_box(
                ch.command("AT+CSQ", Duration::from_secs(1))
                    .await
                    .expect("round trip"),
            );
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    });
    print("AtChannel round trip (duplex)", per_s, "commands");
}
