//! System tests of ncmd-link in network namespaces against the simulated data link
//! (crates/sim/src/datalink.rs): netlink apply/release, carrier events, counters, DHCP
//! against a real dnsmasq, probes. Need root; fail loudly without it.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::datalink::DataLink;
use common::{data_link, in_netns, must, netns_exec, netns_list};
use futures::StreamExt;
use ncmd_link::netlink::DefaultRoute;
use ncmd_link::{dhcp, probe, Ipv4Config, LinkConfig, LinkEvent, Netlink};

const IF: &str = "wwan0";
const WAIT: Duration = Duration::from_secs(5);

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

fn config_for(link: &DataLink) -> LinkConfig {
    let info = link.info();
    LinkConfig {
        ifname: IF.into(),
        mtu: Some(1400),
        ipv4: Some(Ipv4Config {
            address: info.ipv4,
            prefix_len: info.prefix_len,
            gateway: Some(info.gateway),
            dns: info.dns.clone(),
        }),
        ipv6: None,
        default_route: true,
        metric: 50,
        table: None,
    }
}

async fn next_event(events: &mut ncmd_link::netlink::LinkEvents) -> LinkEvent {
    match tokio::time::timeout(WAIT, events.next()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("the link event stream ended"),
        Err(_) => panic!("no link event within {WAIT:?}"),
    }
}

#[test]
fn apply_then_release_removes_exactly_what_was_added() {
    let link = block_on(async {
        let link = data_link(false).await;
        link.set_carrier(true).await.expect("carrier up");
        link
    });
    let netns = link.info().netns.clone();
    // Something that was there before ncmd must survive the release.
    must(
        "ip",
        &["-n", &netns, "addr", "add", "192.0.2.9/32", "dev", IF],
    );
    let config = config_for(&link);
    let target = link.info().ping_target;
    let gateway = IpAddr::V4(link.info().gateway);
    in_netns(&netns, move || async move {
        let nl = Netlink::new().await.expect("netlink");
        let mtu_before = 1500;
        let applied = nl.apply(&config).await.expect("apply");
        assert!(applied.brought_up);
        assert_eq!(applied.previous_mtu, Some(mtu_before));
        let ours = (IpAddr::V4(config.ipv4.as_ref().unwrap().address), 30);
        assert_eq!(applied.addresses, vec![ours]);
        let route = DefaultRoute {
            v6: false,
            gateway: Some(gateway),
            onlink: false,
            metric: 50,
            table: None,
        };
        assert_eq!(applied.routes, vec![route.clone()]);
        // Read back through netlink.
        let addrs = nl.addresses(IF).await.expect("addresses");
        assert!(addrs.contains(&ours) && addrs.contains(&("192.0.2.9".parse().unwrap(), 32)));
        assert_eq!(nl.default_routes(IF).await.expect("routes"), vec![route]);
        assert!(nl.carrier(IF).await.expect("carrier"));
        // Idempotent: the same configuration again changes nothing.
        assert!(nl.apply(&config).await.expect("re-apply").is_empty());
        // Traffic flows through it, and the counters see it.
        let before = nl.stats(IF).await.expect("stats");
        let rtt = probe::icmp_echo(IF, IpAddr::V4(target), WAIT)
            .await
            .expect("ping through the link");
        eprintln!("figure: ICMP probe round trip over veth {rtt:?}");
        let after = nl.stats(IF).await.expect("stats");
        assert!(after.tx_packets > before.tx_packets && after.rx_packets > before.rx_packets);
        assert!(
            after.tx_bytes
                >= before.tx_bytes + probe::icmp_probe_wire_bytes(IpAddr::V4(target)) as u64 / 2
        );
        nl.release(&applied).await.expect("release");
        assert_eq!(
            nl.addresses(IF).await.expect("addresses"),
            vec![("192.0.2.9".parse().unwrap(), 32)]
        );
        assert!(nl.default_routes(IF).await.expect("routes").is_empty());
        assert!(
            !nl.carrier(IF).await.expect("carrier"),
            "link left down as found"
        );
    });
    assert!(!netns_exec(
        &netns,
        &["ping", "-c1", "-W1", &target.to_string()]
    ));
    block_on(link.destroy()).expect("destroy");
}

#[test]
fn apply_to_a_missing_interface_says_so() {
    let link = block_on(data_link(false));
    let netns = link.info().netns.clone();
    let mut config = config_for(&link);
    config.ifname = "wwan9".into();
    let err = in_netns(&netns, move || async move {
        Netlink::new()
            .await
            .expect("netlink")
            .apply(&config)
            .await
            .expect_err("no such link")
    });
    assert!(err.to_string().contains("wwan9 does not exist"), "{err}");
    block_on(link.destroy()).expect("destroy");
}

#[test]
fn watch_sees_carrier_changes_and_removal() {
    let link = Arc::new(block_on(data_link(false)));
    let netns = link.info().netns.clone();
    let link2 = Arc::clone(&link);
    in_netns(&netns, move || async move {
        let nl = Netlink::new().await.expect("netlink");
        nl.set_up(IF).await.expect("set up");
        let mut events = nl.watch(IF).await.expect("watch");
        assert_eq!(next_event(&mut events).await, LinkEvent::CarrierDown);
        link2.set_carrier(true).await.expect("carrier up");
        assert_eq!(next_event(&mut events).await, LinkEvent::CarrierUp);
        link2.set_carrier(false).await.expect("carrier down");
        assert_eq!(next_event(&mut events).await, LinkEvent::CarrierDown);
        drop(link2);
        events
    });
    let Ok(link) = Arc::try_unwrap(link) else {
        panic!("data link still shared")
    };
    // The router namespace goes with the link, so watch the removal from a second link
    // whose router namespace outlives the carrier.
    block_on(link.destroy()).expect("destroy");

    let router = common::unique_netns("keep");
    must("ip", &["netns", "add", &router]);
    let opts = common::datalink::DataLinkOptions {
        router_netns: router.clone(),
        ifname: IF.into(),
        dhcp: false,
    };
    let link = block_on(DataLink::create(&opts)).expect("data link");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watcher = {
        let router = router.clone();
        std::thread::spawn(move || {
            in_netns(&router, move || async move {
                let nl = Netlink::new().await.expect("netlink");
                let mut events = nl.watch(IF).await.expect("watch");
                assert_eq!(next_event(&mut events).await, LinkEvent::CarrierDown);
                tx.send(()).expect("signal");
                assert_eq!(next_event(&mut events).await, LinkEvent::Removed);
            })
        })
    };
    rx.recv_timeout(WAIT).expect("watcher ready");
    block_on(link.destroy()).expect("destroy");
    watcher.join().expect("watcher");
    assert!(
        netns_list().contains(&router),
        "a router namespace the link did not make is kept"
    );
    must("ip", &["netns", "del", &router]);
}

#[test]
fn dhcp_lease_from_dnsmasq_configures_the_link() {
    let link = block_on(async {
        let link = data_link(true).await;
        link.set_carrier(true).await.expect("carrier up");
        link
    });
    let info = link.info().clone();
    let netns = info.netns.clone();
    in_netns(&netns, move || async move {
        let nl = Netlink::new().await.expect("netlink");
        nl.set_up(IF).await.expect("set up");
        let started = tokio::time::Instant::now();
        let lease = dhcp::acquire(IF, Duration::from_secs(20))
            .await
            .expect("DHCP lease");
        eprintln!(
            "figure: DHCP lease from dnsmasq over veth in {:?}",
            started.elapsed()
        );
        let started = tokio::time::Instant::now();
        dhcp::acquire(IF, Duration::from_secs(20)).await.expect("DHCP lease");
        eprintln!("figure: second DHCP lease in {:?}", started.elapsed());
        assert_eq!(lease.address, info.ipv4);
        assert_eq!(lease.prefix_len, info.prefix_len);
        assert_eq!(lease.gateway, Some(info.gateway));
        assert_eq!(lease.dns, info.dns);
        assert_eq!(lease.server, info.gateway);
        assert_eq!(lease.lease_time, Duration::from_secs(3600));
        let config = LinkConfig {
            ifname: IF.into(),
            mtu: None,
            ipv4: Some(Ipv4Config {
                address: lease.address,
                prefix_len: lease.prefix_len,
                gateway: lease.gateway,
                dns: lease.dns.clone(),
            }),
            ipv6: None,
            default_route: true,
            metric: 10,
            table: Some(100),
        };
        let applied = nl.apply(&config).await.expect("apply lease");
        assert_eq!(applied.routes[0].table, Some(100));
        let renewed = dhcp::renew(&lease, Duration::from_secs(10))
            .await
            .expect("renew");
        assert_eq!(renewed.address, lease.address);
        dhcp::release(&lease).await.expect("release lease");
        nl.release(&applied).await.expect("release");
    });
    block_on(link.destroy()).expect("destroy");
}

#[test]
fn dhcp_times_out_when_black_holed() {
    let link = block_on(async {
        let link = data_link(true).await;
        link.set_carrier(true).await.expect("carrier up");
        link.set_blackhole(true).await.expect("black-hole");
        link
    });
    let netns = link.info().netns.clone();
    let err = in_netns(&netns, move || async move {
        Netlink::new()
            .await
            .expect("netlink")
            .set_up(IF)
            .await
            .expect("set up");
        dhcp::acquire(IF, Duration::from_secs(3))
            .await
            .expect_err("no lease through a black hole")
    });
    assert!(
        matches!(
            err,
            dhcp::DhcpError::Timeout {
                waiting_for: "offer",
                ..
            }
        ),
        "{err}"
    );
    block_on(link.destroy()).expect("destroy");
}

#[test]
fn probes_answer_through_the_link_and_time_out_when_black_holed() {
    let link = Arc::new(block_on(async {
        let link = data_link(false).await;
        link.set_carrier(true).await.expect("carrier up");
        link
    }));
    let netns = link.info().netns.clone();
    let config = config_for(&link);
    let target = IpAddr::V4(link.info().ping_target);
    let link2 = Arc::clone(&link);
    // Both ICMP socket kinds: ping sockets refused to root's group (the default range
    // "1 0"), so the raw fallback is used; then ping sockets allowed.
    for range in ["1 0", "0 2147483647"] {
        must(
            "ip",
            &[
                "netns",
                "exec",
                &netns,
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv4.ping_group_range={range}"),
            ],
        );
        let config = config.clone();
        let link2 = Arc::clone(&link2);
        in_netns(&netns, move || async move {
            let nl = Netlink::new().await.expect("netlink");
            nl.apply(&config).await.expect("apply");
            probe::icmp_echo(IF, target, WAIT).await.expect("echo");
            // Nothing listens on the target's port 9: the RST proves the path.
            probe::tcp_connect(IF, SocketAddr::new(target, 9), WAIT)
                .await
                .expect("tcp answer");
            link2.set_blackhole(true).await.expect("black-hole on");
            let short = Duration::from_millis(500);
            let err = probe::icmp_echo(IF, target, short)
                .await
                .expect_err("black-holed echo");
            assert!(matches!(err, probe::ProbeError::Timeout { .. }), "{err}");
            let err = probe::tcp_connect(IF, SocketAddr::new(target, 9), short)
                .await
                .expect_err("black-holed tcp");
            assert!(matches!(err, probe::ProbeError::Timeout { .. }), "{err}");
            link2.set_blackhole(false).await.expect("black-hole off");
            probe::icmp_echo(IF, target, WAIT)
                .await
                .expect("echo after the black hole");
        });
    }
    // A probe bound to a missing interface fails with a socket error, not a timeout.
    let err = in_netns(&netns, move || async move {
        probe::icmp_echo("wwan9", target, WAIT)
            .await
            .expect_err("no such interface")
    });
    assert!(matches!(err, probe::ProbeError::Socket { .. }), "{err}");
    drop(link2);
    let Ok(link) = Arc::try_unwrap(link) else {
        panic!("data link still shared")
    };
    block_on(link.destroy()).expect("destroy");
}

#[test]
fn sixteen_data_links_coexist_in_one_router_and_clean_up() {
    common::require_root();
    let router = common::unique_netns("many");
    must("ip", &["netns", "add", &router]);
    let links = block_on(async {
        let mut links = Vec::new();
        for i in 0..16 {
            let opts = common::datalink::DataLinkOptions {
                router_netns: router.clone(),
                ifname: format!("wwan{i}"),
                dhcp: i % 4 == 0,
            };
            links.push(DataLink::create(&opts).await.expect("data link"));
        }
        links
    });
    let mut addrs: Vec<Ipv4Addr> = links
        .iter()
        .flat_map(|l| [l.info().ipv4, l.info().ping_target])
        .collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 32, "every instance has its own addresses");
    // Configure one by hand (as a user would) and ping its target.
    let info = links[5].info().clone();
    block_on(links[5].set_carrier(true)).expect("carrier");
    must(
        "ip",
        &[
            "-n",
            &router,
            "addr",
            "add",
            &format!("{}/{}", info.ipv4, info.prefix_len),
            "dev",
            &info.ifname,
        ],
    );
    must("ip", &["-n", &router, "link", "set", &info.ifname, "up"]);
    must(
        "ip",
        &[
            "-n",
            &router,
            "route",
            "add",
            &format!("{}/32", info.ping_target),
            "via",
            &info.gateway.to_string(),
        ],
    );
    assert!(netns_exec(
        &router,
        &["ping", "-c1", "-W2", &info.ping_target.to_string()]
    ));
    block_on(links[5].set_blackhole(true)).expect("black-hole");
    assert!(!netns_exec(
        &router,
        &["ping", "-c1", "-W1", &info.ping_target.to_string()]
    ));
    let carriers: Vec<String> = netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&format!("ncmd-carrier-{}-", std::process::id())))
        .collect();
    assert!(carriers.len() >= 16);
    block_on(async {
        for link in links {
            link.destroy().await.expect("destroy");
        }
    });
    let left: Vec<String> = netns_list().into_iter().filter(|n| n == &router).collect();
    assert_eq!(
        left,
        vec![router.clone()],
        "the router namespace was made by the test and is kept"
    );
    must("ip", &["netns", "del", &router]);
}
