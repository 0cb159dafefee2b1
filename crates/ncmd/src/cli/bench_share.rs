//! `ncmd bench`, shared AT port figures: the latency a command adds when it goes through
//! a shared pty instead of the daemon's channel, and a run of many shared commands from
//! two ptys interleaved with polls on the daemon's channel, counting every reply that is
//! lost, cut short or delivered to the wrong side.
//!
//! Owns these two procedures. The programs are played by blocking threads that use the
//! ptys as comgt does (write a line, read to the final code).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ncmd_at::share::{ShareOptions, SharedPort};
use ncmd_sim::{SimOptions, Simulator};

const T: Duration = Duration::from_secs(5);

/// One program on a shared pty: a line out, the reply up to `OK`/`ERROR` back.
struct Program {
    file: std::fs::File,
    pending: Vec<u8>,
}

impl Program {
    fn open(path: &Path) -> Result<Program, crate::Error> {
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
        let mut p = Program { file, pending: Vec::new() };
        p.ask("ATE0")?;
        Ok(p)
    }

    /// Sends `cmd`, returns its reply (final code included); an error when none came in 5 s.
    fn ask(&mut self, cmd: &str) -> Result<String, crate::Error> {
        self.file.write_all(format!("{cmd}\r").as_bytes())?;
        let deadline = Instant::now() + T;
        let mut buf = [0u8; 512];
        loop {
            for end in ["\r\nOK\r\n", "\r\nERROR\r\n"] {
                if let Some(i) = find(&self.pending, end.as_bytes()) {
                    let reply: Vec<u8> = self.pending.drain(..i + end.len()).collect();
                    return Ok(String::from_utf8_lossy(&reply).into_owned());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no final result code for {cmd} within {T:?}").into());
            }
            let mut pfd = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&self.file), nix::poll::PollFlags::POLLIN)];
            if nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(100u16))? > 0 {
                let n = self.file.read(&mut buf)?;
                self.pending.extend_from_slice(&buf[..n]);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn pct(lat: &mut [Duration], p: f64) -> f64 {
    lat.sort();
    lat[((lat.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6
}

pub async fn shared_port(rounds: u32, total: u32, dir: &Path) -> Result<(), crate::Error> {
    let tty = dir.join("tty-share");
    let sim = Simulator::start(SimOptions { latency_scale: 0.0, tty_link: Some(tty.clone()), ..SimOptions::default() }).await?;
    let chan = ncmd_at::AtChannel::open(&tty).await?;
    chan.command("ATE0", T).await?;
    let opts = ShareOptions::new(&dir.join("ttyNCM0"), 2, crate::daemon::share::guard());
    let links: Vec<PathBuf> = opts.links.clone();
    let share = SharedPort::start(opts, Some(chan.clone()))?;

    // Latency: the same command, directly and through a shared pty, nothing else running.
    let mut direct = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let t = Instant::now();
        chan.command("AT+CSQ", T).await?;
        direct.push(t.elapsed());
    }
    let link = links[0].clone();
    let mut shared: Vec<Duration> = tokio::task::spawn_blocking(move || -> Result<Vec<Duration>, String> {
        let mut p = Program::open(&link).map_err(|e| e.to_string())?;
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                p.ask("AT+CSQ").map_err(|e| e.to_string())?;
                Ok(t.elapsed())
            })
            .collect()
    })
    .await??;
    let (d50, d99, s50, s99) = (pct(&mut direct, 0.5), pct(&mut direct, 0.99), pct(&mut shared, 0.5), pct(&mut shared, 0.99));
    println!("shared AT port (zero-latency simulator, AT+CSQ, {rounds} each):");
    println!("  daemon's channel   p50 {d50:>6.0} µs, p99 {d99:>6.0} µs");
    println!("  through a shared pty p50 {s50:>6.0} µs, p99 {s99:>6.0} µs  (adds {:.0} µs at p50)", s50 - d50);

    // Interleaving: two programs and the daemon's polls at once.
    let stop = Arc::new(AtomicBool::new(false));
    let (polls, poll_wrong) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let poller = {
        let (chan, stop, polls, wrong) = (chan.clone(), stop.clone(), polls.clone(), poll_wrong.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match chan.command("AT^NDISSTATQRY?", T).await {
                    Ok(r) if r.lines.len() == 1 && r.lines[0].starts_with("^NDISSTATQRY:") => polls.fetch_add(1, Ordering::Relaxed),
                    _ => wrong.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    // Each program's command and the text only its reply holds (the simulated E3372).
    let jobs = [(links[0].clone(), "AT+CGMM", "E3372", "22.328"), (links[1].clone(), "AT+CGMR", "22.328", "E3372")];
    let t0 = Instant::now();
    let mut threads = Vec::new();
    for (link, cmd, own, other) in jobs {
        let n = total / 2;
        threads.push(tokio::task::spawn_blocking(move || -> Result<(u64, u64, u64), String> {
            let mut p = Program::open(&link).map_err(|e| e.to_string())?;
            let (mut ok, mut lost, mut wrong) = (0u64, 0u64, 0u64);
            for _ in 0..n {
                match p.ask(cmd) {
                    Ok(r) if r.contains(own) && !r.contains(other) && !r.contains("NDISSTATQRY") && r.ends_with("\r\nOK\r\n") => ok += 1,
                    Ok(_) => wrong += 1,
                    Err(_) => lost += 1,
                }
            }
            Ok((ok, lost, wrong))
        }));
    }
    let (mut ok, mut lost, mut wrong) = (0, 0, 0);
    for t in threads {
        let (o, l, w) = t.await??;
        (ok, lost, wrong) = (ok + o, lost + l, wrong + w);
    }
    let elapsed = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = poller.await;
    let counts = share.counts();
    println!("  {total} shared commands from 2 ptys interleaved with {} daemon polls in {:.2} s:", polls.load(Ordering::Relaxed), elapsed.as_secs_f64());
    println!(
        "    answered right {ok}, lost {lost}, wrong or mixed reply {wrong}; daemon polls with a wrong reply {}; failed {}, output dropped {} bytes",
        poll_wrong.load(Ordering::Relaxed),
        counts.failed,
        counts.dropped_bytes
    );
    drop(share);
    drop(chan);
    sim.shutdown().await;
    Ok(())
}
