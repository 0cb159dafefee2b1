//! System tests of the IP check (issue 12 item 1) in network namespaces the tests make:
//! a modem configuration overlapping a "LAN" veth is refused with nothing applied to
//! wwan0; a point-to-point host address gets its gateway on-link and carries traffic;
//! a real dnsmasq handing out a bad netmask or the LAN's subnet is refused. Need root.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{data_link, in_netns, must, unique_netns};
use ncmd_link::ipcheck::{IpCheckError, Prefix, Proposal, Proposed, Source};
use ncmd_link::{dhcp, LinkConfig, LinkError, Netlink};

const IF: &str = "wwan0";

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

fn v4(address: Ipv4Addr, prefix: Prefix, gateway: Ipv4Addr) -> Proposal {
    Proposal {
        from: Source::Modem,
        ipv4: Some(Proposed {
            address: address.into(),
            prefix,
            gateway: Some(gateway.into()),
            dns: vec![],
        }),
        ipv6: None,
        mtu: None,
    }
}

/// A "LAN" in namespace `netns`: a veth pair whose end `lan0` holds `cidr`.
fn add_lan(netns: &str, cidr: &str) {
    must(
        "ip",
        &[
            "-n", netns, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1",
        ],
    );
    must("ip", &["-n", netns, "addr", "add", cidr, "dev", "lan0"]);
    must("ip", &["-n", netns, "link", "set", "lan0", "up"]);
    must("ip", &["-n", netns, "link", "set", "lan1", "up"]);
}

/// IPv4 addresses and IPv4/IPv6 routes on wwan0 as `ip` sees them (not our netlink code).
fn ip_state(netns: &str) -> (String, String) {
    let out = |args: &[&str]| {
        let o = Command::new("ip")
            .args(["-n", netns])
            .args(args)
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    (
        out(&["-4", "addr", "show", "dev", IF]),
        format!(
            "{}{}",
            out(&["-4", "route", "show", "dev", IF]),
            out(&["-6", "route", "show", "dev", IF, "proto", "static"])
        ),
    )
}

#[test]
fn a_modem_config_overlapping_the_lan_is_refused_with_nothing_applied() {
    let link = block_on(async {
        let link = data_link(false).await;
        link.set_carrier(true).await.expect("carrier up");
        link
    });
    let info = link.info().clone();
    let netns = info.netns.clone();
    add_lan(&netns, "192.168.1.1/24");
    let before = ip_state(&netns);
    // Issue 12: the modem reports 192.168.1.130/25 while the LAN is 192.168.1.0/24.
    let attack = v4(
        Ipv4Addr::new(192, 168, 1, 130),
        Prefix::Len(25),
        Ipv4Addr::new(192, 168, 1, 129),
    );
    let err = in_netns(&netns, move || async move {
        let nl = Netlink::new().await.expect("netlink");
        nl.check(IF, &attack).await.expect_err("overlap refused")
    });
    assert_eq!(
        err.to_string(),
        "the modem's address 192.168.1.130/25 overlaps 192.168.1.0/24 on lan0 (its address 192.168.1.1)"
    );
    assert!(matches!(
        err,
        LinkError::Refused(IpCheckError::Overlap { .. })
    ));
    let after = ip_state(&netns);
    assert_eq!(after, before, "wwan0 changed by a refused configuration");
    assert!(
        !after.0.contains("inet ") && after.1.is_empty(),
        "{after:?}"
    );
    // The LAN still owns its whole subnet.
    let route = Command::new("ip")
        .args(["-n", &netns, "route", "get", "192.168.1.130"])
        .output()
        .expect("ip route get");
    assert!(String::from_utf8_lossy(&route.stdout).contains("dev lan0"));

    // The carrier's real configuration passes the same check and carries traffic, and so
    // does its address alone as a point-to-point /32 with the gateway on-link.
    let target = info.ping_target;
    for prefix in [Prefix::Len(info.prefix_len), Prefix::Unknown] {
        let proposal = v4(info.ipv4, prefix, info.gateway);
        in_netns(&netns, move || async move {
            let nl = Netlink::new().await.expect("netlink");
            let checked = nl.check(IF, &proposal).await.expect("accepted");
            let config = LinkConfig::from_checked(IF, &checked, true, 20, None);
            let applied = nl.apply(&config).await.expect("apply");
            let onlink = matches!(prefix, Prefix::Unknown);
            assert_eq!(applied.routes.len(), 1);
            assert_eq!(applied.routes[0].onlink, onlink);
            // Re-applying finds everything in place (the onlink flag reads back).
            assert!(nl.apply(&config).await.expect("re-apply").is_empty());
            ncmd_link::probe::icmp_echo(IF, IpAddr::V4(target), Duration::from_secs(5))
                .await
                .expect("ping through the link");
            nl.release(&applied).await.expect("release");
        });
    }
    assert_eq!(ip_state(&netns), before);
    block_on(link.destroy()).expect("destroy");
}

/// A DHCP server (real dnsmasq) on a veth link of namespaces this test makes: the
/// client end is `wwan0` in `router`, the server end `srv0` (10.77.0.1/30) in `server`.
struct DhcpServer {
    router: String,
    server: String,
    dnsmasq: Child,
    dir: std::path::PathBuf,
}

impl DhcpServer {
    /// A server whose own end holds `server_cidr`, leasing 10.77.0.2 (`range`: the
    /// dnsmasq range with its mask, if any) with extra dnsmasq `options`.
    fn start(server_cidr: &str, range: &str, options: &[&str]) -> DhcpServer {
        common::require_root();
        assert!(
            Command::new("dnsmasq").arg("--version").output().is_ok(),
            "this system test needs dnsmasq; run .ci/install-deps.sh"
        );
        let (router, server) = (unique_netns("dhcpc"), unique_netns("dhcps"));
        must("ip", &["netns", "add", &router]);
        must("ip", &["netns", "add", &server]);
        must(
            "ip",
            &[
                "-n", &router, "link", "add", IF, "type", "veth", "peer", "name", "srv0", "netns",
                &server,
            ],
        );
        must(
            "ip",
            &["-n", &server, "addr", "add", server_cidr, "dev", "srv0"],
        );
        must("ip", &["-n", &server, "link", "set", "srv0", "up"]);
        let dir = std::env::temp_dir().join(&server);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut dnsmasq = Command::new("ip")
            .args(["netns", "exec", &server, "dnsmasq", "--keep-in-foreground"])
            .args([
                "--conf-file=/dev/null",
                "--port=0",
                "--no-resolv",
                "--no-hosts",
            ])
            .args([
                "--user=root",
                "--interface=srv0",
                "--dhcp-authoritative",
                "--no-ping",
            ])
            .arg(format!("--dhcp-range={range}"))
            .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg("--log-facility=-")
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dnsmasq");
        let stderr = dnsmasq.stderr.take().expect("dnsmasq log");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("dnsmasq: {line}");
                let _ = tx.send(line);
            }
        });
        // dnsmasq logs its range once its DHCP socket is bound.
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(line) if line.contains("DHCP, IP range") => break,
                Ok(_) => {}
                Err(e) => panic!("dnsmasq did not start within 10 s: {e}"),
            }
        }
        DhcpServer {
            router,
            server,
            dnsmasq,
            dir,
        }
    }

    /// Runs the client in the router namespace; returns its result and wwan0's state.
    fn acquire(&self) -> (Result<dhcp::Lease, dhcp::DhcpError>, (String, String)) {
        let result = in_netns(&self.router, || async {
            Netlink::new()
                .await
                .expect("netlink")
                .set_up(IF)
                .await
                .expect("set up");
            dhcp::acquire(IF, Duration::from_secs(20)).await
        });
        (result, ip_state(&self.router))
    }
}

impl Drop for DhcpServer {
    fn drop(&mut self) {
        let _ = self.dnsmasq.kill();
        let _ = self.dnsmasq.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        for ns in [&self.router, &self.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn dnsmasq_told_to_hand_mask_0_0_0_0_is_refused() {
    // Issue 12: the DHCP client accepted mask 0.0.0.0. dnsmasq reads 0.0.0.0 in
    // `--dhcp-option` as "this server's address" and so sends netmask 10.77.0.1 (its
    // log with --log-dhcp: "option:  1 netmask  10.77.0.1"): refused as well. The literal
    // 0.0.0.0 on the wire is refused by the unit test
    // `dhcp::tests::an_ack_with_mask_0_0_0_0_is_refused`.
    let server = DhcpServer::start(
        "10.77.0.1/30",
        "10.77.0.2,10.77.0.2,255.255.255.252,1h",
        &[
            "--dhcp-option=1,0.0.0.0",
            "--dhcp-option=3,10.77.0.1",
            "--log-dhcp",
        ],
    );
    let (result, state) = server.acquire();
    let err = result.expect_err("mask refused");
    assert_eq!(
        err.to_string(),
        "refused the lease of DHCP server 10.77.0.1 on wwan0: the DHCP lease's netmask 10.77.0.1 for 10.77.0.2 has holes (a netmask is ones, then zeros)"
    );
    assert!(
        !state.0.contains("inet ") && state.1.is_empty(),
        "{state:?}"
    );
}

#[test]
fn dnsmasq_handing_a_mask_with_holes_or_the_lans_subnet_is_refused() {
    let server = DhcpServer::start(
        "10.77.0.1/30",
        "10.77.0.2,10.77.0.2,255.255.255.252,1h",
        &["--dhcp-option=1,255.0.255.252", "--dhcp-option=3,10.77.0.1"],
    );
    let (result, _) = server.acquire();
    let err = result.expect_err("holes refused");
    assert!(err.to_string().ends_with("the DHCP lease's netmask 255.0.255.252 for 10.77.0.2 has holes (a netmask is ones, then zeros)"), "{err}");
    drop(server);

    // A sound lease, but the router's LAN already holds 10.77.0.0/24.
    let server = DhcpServer::start(
        "10.77.0.1/30",
        "10.77.0.2,10.77.0.2,255.255.255.252,1h",
        &["--dhcp-option=3,10.77.0.1"],
    );
    add_lan(&server.router, "10.77.0.129/24");
    let (result, state) = server.acquire();
    let err = result.expect_err("overlap refused");
    assert!(
        err.to_string().ends_with("the DHCP lease's address 10.77.0.2/30 overlaps 10.77.0.0/24 on lan0 (its address 10.77.0.129)"),
        "{err}"
    );
    assert!(
        !state.0.contains("inet ") && state.1.is_empty(),
        "{state:?}"
    );
}
