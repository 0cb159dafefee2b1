//! Test harness for system tests in network namespaces.
//!
//! Every test makes its own namespaces (through the simulator's data link, which names
//! them after the test process) and runs its async code in a thread that has joined the
//! router namespace. The machine's own namespace is never changed: only that thread
//! moves, and only into a namespace the test made. Without root the tests fail loudly.

#![allow(dead_code)] // each test binary uses its own part of the harness

#[path = "../../../sim/src/datalink.rs"]
pub mod datalink;

use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use datalink::{DataLink, DataLinkOptions};

static NAMES: AtomicU32 = AtomicU32::new(0);

/// Fails the test with a clear message unless it can make network namespaces.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this system test needs root to make network namespaces; run it as root \
         (e.g. in CI, or `sudo -E cargo test -p ncmd-link`)"
    );
    let out = Command::new("ip").arg("-V").output();
    assert!(
        matches!(out, Ok(ref o) if o.status.success()),
        "this system test needs iproute2 (`ip`); run .ci/install-deps.sh"
    );
}

/// A fresh name for a namespace owned by this test process.
pub fn unique_netns(what: &str) -> String {
    format!(
        "ncmd-test-{}-{what}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::Relaxed)
    )
}

/// A simulated data link whose router namespace is new (deleted again with the link).
pub async fn data_link(dhcp: bool) -> DataLink {
    require_root();
    let opts = DataLinkOptions {
        router_netns: unique_netns("router"),
        ifname: "wwan0".into(),
        dhcp,
    };
    match DataLink::create(&opts).await {
        Ok(link) => link,
        Err(e) => panic!("cannot make the simulated data link: {e}"),
    }
}

/// Runs `f` on a current-thread tokio runtime in a thread that joined namespace `netns`.
pub fn in_netns<T, F, Fut>(netns: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let path = format!("/run/netns/{netns}");
    let joined = std::thread::spawn(move || {
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}; was the namespace made?"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("cannot join network namespace {path}: {e}; run as root"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(f())
    })
    .join();
    match joined {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs `ip netns exec NETNS ARGS...`, returning whether it succeeded.
pub fn netns_exec(netns: &str, args: &[&str]) -> bool {
    Command::new("ip")
        .args(["netns", "exec", netns])
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or_else(|e| panic!("cannot run ip netns exec: {e}"))
}

/// Runs a command that must succeed.
pub fn must(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The names of the existing named network namespaces.
pub fn netns_list() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
