//! DHCPv4 client for one data interface (modems that hand out their address by DHCP).
//!
//! Owns: the DISCOVER → OFFER → REQUEST → ACK exchange with retransmission and backoff,
//! renewal (unicast REQUEST to the server) and release, and the reading of a reply into
//! a [`Lease`]. Messages go over a UDP socket on 0.0.0.0:68 bound to the interface
//! (SO_BINDTODEVICE) with the broadcast flag set, so replies arrive as broadcasts before
//! the interface has an address; no packet socket is needed.
//!
//! Every lease passes [`crate::ipcheck`] (against what other interfaces hold) before it
//! is returned: a lease with mask 0.0.0.0, a loopback router or the LAN's subnet is
//! refused with [`DhcpError::Refused`], never handed on.
//!
//! Must not know about: applying the lease (the caller hands it to
//! [`crate::netlink::Netlink::apply`]), timers for renewal (the session's business),
//! modems.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

mod wire;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::ipcheck::{self, IpCheckError, Occupied, Prefix, Proposal, Proposed, Source};
use crate::netlink::{LinkError, Netlink};
use wire::{code, Message, MessageType, BOOT_REPLY, BOOT_REQUEST};

const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;
/// First retransmission wait; doubles per attempt up to [`MAX_RETRANSMIT`]. Shorter
/// than RFC 2131's 4 s: the server is the modem, one USB hop away.
const FIRST_RETRANSMIT: Duration = Duration::from_secs(1);
const MAX_RETRANSMIT: Duration = Duration::from_secs(16);

/// Why no lease was obtained, renewed or released.
#[derive(Debug, thiserror::Error)]
pub enum DhcpError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("network interface {ifname} has no usable hardware address for DHCP")]
    NoHwAddress { ifname: String },
    #[error("cannot open the DHCP client socket on {ifname}: {source}; ncmd needs root (port 68)")]
    Socket {
        ifname: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no DHCP {waiting_for} on {ifname} within {timeout:?}; the modem may not be connected \
         yet or may not serve DHCP (try the modem's static address mode)"
    )]
    Timeout {
        ifname: String,
        waiting_for: &'static str,
        timeout: Duration,
    },
    #[error("DHCP server {server} on {ifname} refused the address (NAK){}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Nak {
        ifname: String,
        server: Ipv4Addr,
        detail: Option<String>,
    },
    #[error("refused the lease of DHCP server {server} on {ifname}: {source}")]
    Refused {
        ifname: String,
        server: Ipv4Addr,
        #[source]
        source: IpCheckError,
    },
}

/// An address lease from a DHCP server, checked by [`crate::ipcheck`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub ifname: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub server: Ipv4Addr,
    pub lease_time: Duration,
    /// When to renew (T1), counted from the ACK; half the lease when the server is silent.
    pub renew_after: Duration,
}

/// A reply addressed to us, as the client state machine sees it (pure data).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Offer {
        address: Ipv4Addr,
        server: Ipv4Addr,
    },
    Ack(LeaseParams),
    Nak {
        server: Ipv4Addr,
        detail: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LeaseParams {
    address: Ipv4Addr,
    /// Option 1 as sent (unchecked: 0.0.0.0 and holes are the check's to refuse).
    mask: Option<Ipv4Addr>,
    gateway: Option<Ipv4Addr>,
    dns: Vec<Ipv4Addr>,
    server: Ipv4Addr,
    lease_time: Duration,
    renew_after: Duration,
}

/// Where the exchange stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Broadcasting DISCOVER, waiting for an OFFER.
    Selecting,
    /// Broadcasting REQUEST for an offered address, waiting for ACK or NAK.
    Requesting { address: Ipv4Addr, server: Ipv4Addr },
    /// Unicasting REQUEST for our leased address to its server (RFC 2131 RENEWING).
    Renewing { address: Ipv4Addr, server: Ipv4Addr },
}

impl Phase {
    fn waiting_for(&self) -> &'static str {
        match self {
            Phase::Selecting => "offer",
            Phase::Requesting { .. } | Phase::Renewing { .. } => "acknowledgement",
        }
    }
}

/// Wait before retransmission number `attempt` (0-based): 1 s, 2 s, 4 s … 16 s (pure).
fn backoff(attempt: u32) -> Duration {
    FIRST_RETRANSMIT
        .saturating_mul(1u32 << attempt.min(8))
        .min(MAX_RETRANSMIT)
}

fn base_message(xid: u32, mac: &[u8], kind: MessageType) -> Message {
    let mut msg = Message::new(BOOT_REQUEST, xid, mac);
    msg.broadcast = true;
    let mut client_id = vec![1u8]; // hardware type Ethernet, then the address (RFC 2132 9.14)
    client_id.extend_from_slice(mac);
    msg.set(code::MESSAGE_TYPE, vec![kind as u8])
        .set(code::CLIENT_ID, client_id)
        .set(code::PARAMETER_LIST, vec![code::SUBNET_MASK, code::ROUTER, code::DNS, code::LEASE_TIME, code::RENEWAL]);
    msg
}

/// The message to send in `phase` (pure).
fn request_for(phase: &Phase, xid: u32, mac: &[u8]) -> Message {
    match phase {
        Phase::Selecting => base_message(xid, mac, MessageType::Discover),
        Phase::Requesting { address, server } => {
            let mut msg = base_message(xid, mac, MessageType::Request);
            msg.set(code::REQUESTED_IP, address.octets().to_vec()).set(code::SERVER_ID, server.octets().to_vec());
            msg
        }
        Phase::Renewing { address, .. } => {
            let mut msg = base_message(xid, mac, MessageType::Request);
            msg.ciaddr = *address;
            msg.broadcast = false;
            msg
        }
    }
}

/// Reads a server reply meant for transaction `xid` of client `mac` (pure).
/// Anything else (other clients, our own broadcasts, garbage) is `None`.
fn interpret(bytes: &[u8], xid: u32, mac: &[u8]) -> Option<Reply> {
    let msg = Message::decode(bytes)?;
    if msg.op != BOOT_REPLY || msg.xid != xid || msg.chaddr.get(..mac.len())? != mac {
        return None;
    }
    let server = msg.ipv4(code::SERVER_ID).unwrap_or(msg.siaddr);
    match msg.message_type()? {
        MessageType::Offer => Some(Reply::Offer { address: msg.yiaddr, server }),
        MessageType::Nak => {
            let detail = msg.option(code::MESSAGE).map(|m| String::from_utf8_lossy(m).into_owned());
            Some(Reply::Nak { server, detail })
        }
        MessageType::Ack => {
            let lease_time = Duration::from_secs(u64::from(msg.u32(code::LEASE_TIME)?));
            let renew_after = msg.u32(code::RENEWAL).map(|t| Duration::from_secs(u64::from(t))).unwrap_or(lease_time / 2);
            Some(Reply::Ack(LeaseParams {
                address: msg.yiaddr,
                mask: msg.ipv4(code::SUBNET_MASK),
                gateway: msg.ipv4(code::ROUTER),
                dns: msg.ipv4s(code::DNS),
                server,
                lease_time,
                renew_after,
            }))
        }
        _ => None,
    }
}

/// What the state machine does with a reply in a phase (pure).
enum Step {
    Wait,
    Next(Phase),
    Done(LeaseParams),
    Refused {
        server: Ipv4Addr,
        detail: Option<String>,
    },
}

fn step(phase: &Phase, reply: Reply) -> Step {
    match (phase, reply) {
        (Phase::Selecting, Reply::Offer { address, server }) => {
            Step::Next(Phase::Requesting { address, server })
        }
        (Phase::Requesting { .. } | Phase::Renewing { .. }, Reply::Ack(params)) => {
            Step::Done(params)
        }
        (
            Phase::Requesting { server: ours, .. } | Phase::Renewing { server: ours, .. },
            Reply::Nak { server, detail },
        ) if server == *ours || server.is_unspecified() => Step::Refused { server, detail },
        _ => Step::Wait,
    }
}

/// A random transaction id (RFC 2131 §4.1), from the kernel's generator; should that
/// be unreadable, the clock and the address still keep clients apart.
fn new_xid(mac: &[u8]) -> u32 {
    use std::io::Read;
    let mut b = [0u8; 4];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_ok() {
        return u32::from_ne_bytes(b);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    mac.iter().fold(nanos ^ std::process::id(), |h, &x| h.rotate_left(5) ^ u32::from(x))
}

fn client_socket(ifname: &str) -> Result<UdpSocket, DhcpError> {
    let err = |source| DhcpError::Socket {
        ifname: ifname.to_owned(),
        source,
    };
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    socket.set_reuse_address(true).map_err(err)?;
    socket.set_broadcast(true).map_err(err)?;
    socket.bind_device(Some(ifname.as_bytes())).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    let local = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT));
    socket.bind(&local.into()).map_err(err)?;
    UdpSocket::from_std(socket.into()).map_err(err)
}

async fn hw_address(ifname: &str) -> Result<Vec<u8>, DhcpError> {
    let mac = Netlink::new().await?.hw_address(ifname).await?;
    if mac.is_empty() || mac.len() > 16 {
        return Err(DhcpError::NoHwAddress {
            ifname: ifname.to_owned(),
        });
    }
    Ok(mac)
}

/// Runs the exchange from `phase` until a lease, a NAK, or `timeout`.
async fn exchange(
    ifname: &str,
    mac: &[u8],
    mut phase: Phase,
    timeout: Duration,
) -> Result<LeaseParams, DhcpError> {
    let socket = client_socket(ifname)?;
    let sock_err = |source| DhcpError::Socket {
        ifname: ifname.to_owned(),
        source,
    };
    let xid = new_xid(mac);
    let deadline = Instant::now() + timeout;
    let mut attempt = 0;
    let mut buf = vec![0u8; 1500];
    loop {
        let bytes = request_for(&phase, xid, mac).encode();
        let to = match phase {
            Phase::Renewing { server, .. } => server,
            _ => Ipv4Addr::BROADCAST,
        };
        socket
            .send_to(&bytes, SocketAddrV4::new(to, SERVER_PORT))
            .await
            .map_err(sock_err)?;
        let resend_at = (Instant::now() + backoff(attempt)).min(deadline);
        attempt += 1;
        let next = loop {
            let received = tokio::time::timeout_at(resend_at, socket.recv_from(&mut buf)).await;
            let n = match received {
                Ok(Ok((n, _from))) => n,
                Ok(Err(e)) => return Err(sock_err(e)),
                Err(_elapsed) => break None,
            };
            let Some(reply) = interpret(&buf[..n], xid, mac) else {
                continue;
            };
            match step(&phase, reply) {
                Step::Wait => continue,
                Step::Next(p) => break Some(p),
                Step::Done(params) => return Ok(params),
                Step::Refused { server, detail } => {
                    return Err(DhcpError::Nak {
                        ifname: ifname.to_owned(),
                        server,
                        detail,
                    })
                }
            }
        };
        if let Some(p) = next {
            phase = p;
            attempt = 0;
        } else if Instant::now() >= deadline {
            return Err(DhcpError::Timeout {
                ifname: ifname.to_owned(),
                waiting_for: phase.waiting_for(),
                timeout,
            });
        }
    }
}

/// The lease `p` if it passes the IP check against `others` (pure). A lease without a
/// subnet mask is a host address with its router on-link.
fn checked_lease(ifname: &str, p: LeaseParams, others: &[Occupied]) -> Result<Lease, DhcpError> {
    let proposal = Proposal {
        from: Source::Dhcp,
        ipv4: Some(Proposed {
            address: p.address.into(),
            prefix: p.mask.map_or(Prefix::Unknown, |m| Prefix::Mask(m.into())),
            gateway: p.gateway.map(Into::into),
            dns: p.dns.iter().map(|&d| d.into()).collect(),
        }),
        ipv6: None,
        mtu: None,
    };
    let refused = |source| DhcpError::Refused {
        ifname: ifname.to_owned(),
        server: p.server,
        source,
    };
    let checked = ipcheck::check(&proposal, others).map_err(refused)?;
    for warning in &checked.warnings {
        tracing::warn!("{ifname}: {warning}");
    }
    let v4 = checked.ipv4.ok_or(refused(IpCheckError::Empty { from: Source::Dhcp }))?;
    Ok(Lease {
        ifname: ifname.to_owned(),
        address: v4.address,
        prefix_len: v4.prefix_len,
        gateway: v4.gateway,
        dns: v4.dns,
        server: p.server,
        lease_time: p.lease_time,
        renew_after: p.renew_after,
    })
}

/// What interfaces other than `ifname` hold, for the check of a lease.
async fn others(ifname: &str) -> Result<Vec<Occupied>, DhcpError> {
    Ok(Netlink::new().await?.occupied_elsewhere(ifname).await?)
}

/// Obtains a lease on `ifname` (which must be up), giving up after `timeout`; a lease
/// that fails the IP check is [`DhcpError::Refused`].
pub async fn acquire(ifname: &str, timeout: Duration) -> Result<Lease, DhcpError> {
    let mac = hw_address(ifname).await?;
    let params = exchange(ifname, &mac, Phase::Selecting, timeout).await?;
    checked_lease(ifname, params, &others(ifname).await?)
}

/// Renews `lease` with its server (unicast; the lease's address must be applied).
/// On a NAK or timeout the caller should stop using the address and `acquire` anew.
pub async fn renew(lease_now: &Lease, timeout: Duration) -> Result<Lease, DhcpError> {
    let mac = hw_address(&lease_now.ifname).await?;
    let phase = Phase::Renewing {
        address: lease_now.address,
        server: lease_now.server,
    };
    let params = exchange(&lease_now.ifname, &mac, phase, timeout).await?;
    checked_lease(&lease_now.ifname, params, &others(&lease_now.ifname).await?)
}

/// Gives `lease` back to its server (one unicast RELEASE; the server does not answer).
pub async fn release(lease: &Lease) -> Result<(), DhcpError> {
    let mac = hw_address(&lease.ifname).await?;
    let mut msg = base_message(new_xid(&mac), &mac, MessageType::Release);
    msg.ciaddr = lease.address;
    msg.broadcast = false;
    msg.remove(code::PARAMETER_LIST);
    msg.set(code::SERVER_ID, lease.server.octets().to_vec());
    let socket = client_socket(&lease.ifname)?;
    socket
        .send_to(&msg.encode(), SocketAddrV4::new(lease.server, SERVER_PORT))
        .await
        .map_err(|source| DhcpError::Socket {
            ifname: lease.ifname.clone(),
            source,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x1e, 0x10, 0x1f, 0x00, 0x00];

    fn server_reply(kind: MessageType, xid: u32, opts: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let mut msg = Message::new(BOOT_REPLY, xid, &MAC);
        msg.yiaddr = Ipv4Addr::new(10, 64, 0, 2);
        msg.set(code::MESSAGE_TYPE, vec![kind as u8]).set(code::SERVER_ID, vec![10, 64, 0, 1]);
        for (c, v) in opts {
            msg.set(c, v);
        }
        msg.encode()
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let secs: Vec<u64> = (0..7).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(backoff(u32::MAX), MAX_RETRANSMIT);
    }

    fn params(mask: Option<[u8; 4]>, router: [u8; 4], dns: &[[u8; 4]]) -> LeaseParams {
        LeaseParams {
            address: Ipv4Addr::new(10, 64, 0, 2),
            mask: mask.map(Ipv4Addr::from),
            gateway: Some(Ipv4Addr::from(router)),
            dns: dns.iter().map(|&d| Ipv4Addr::from(d)).collect(),
            server: Ipv4Addr::new(10, 64, 0, 1),
            lease_time: Duration::from_secs(3600),
            renew_after: Duration::from_secs(1800),
        }
    }

    #[test]
    fn leases_pass_the_ip_check() {
        let ok = checked_lease("wwan0", params(Some([255, 255, 255, 252]), [10, 64, 0, 1], &[[10, 64, 0, 1]]), &[]).unwrap();
        assert_eq!((ok.prefix_len, ok.gateway), (30, Some(Ipv4Addr::new(10, 64, 0, 1))));
        // Issue 12: the client accepted mask 0.0.0.0.
        let e = checked_lease("wwan0", params(Some([0, 0, 0, 0]), [10, 64, 0, 1], &[]), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused the lease of DHCP server 10.64.0.1 on wwan0: the DHCP lease's prefix length /0 for 10.64.0.2 is outside 1–32"
        );
        let e = checked_lease("wwan0", params(Some([255, 0, 255, 0]), [10, 64, 0, 1], &[]), &[]).unwrap_err();
        assert!(matches!(e, DhcpError::Refused { source: IpCheckError::MaskHoles { .. }, .. }), "{e}");
        let e = checked_lease("wwan0", params(Some([255, 255, 255, 252]), [127, 0, 0, 1], &[]), &[]).unwrap_err();
        assert!(matches!(e, DhcpError::Refused { source: IpCheckError::NotUnicast { .. }, .. }), "{e}");
        // No mask: a host address with its router on-link; a bad DNS server is dropped.
        let host = checked_lease("wwan0", params(None, [10, 9, 0, 1], &[[224, 0, 0, 1], [10, 64, 0, 53]]), &[]).unwrap();
        assert_eq!((host.prefix_len, host.dns.clone()), (32, vec![Ipv4Addr::new(10, 64, 0, 53)]));
        let lan = [Occupied { holder: "br-lan".into(), network: Ipv4Addr::new(10, 64, 0, 0).into(), prefix_len: 24, address: None }];
        let e = checked_lease("wwan0", params(Some([255, 255, 255, 252]), [10, 64, 0, 1], &[]), &lan).unwrap_err();
        assert!(e.to_string().contains("the DHCP lease's address 10.64.0.2/30 overlaps 10.64.0.0/24 (a route on br-lan)"), "{e}");
    }

    #[test]
    fn discover_is_broadcast_with_client_id() {
        let msg = request_for(&Phase::Selecting, 7, &MAC);
        assert!(msg.broadcast);
        assert_eq!(msg.message_type(), Some(MessageType::Discover));
        assert_eq!(msg.option(code::CLIENT_ID), Some(&[1, 0x02, 0x1e, 0x10, 0x1f, 0x00, 0x00][..]));
        let bytes = msg.encode();
        // Our own broadcast looped back is not a reply.
        assert_eq!(interpret(&bytes, 7, &MAC), None);
    }

    #[test]
    fn full_exchange_through_the_state_machine() {
        let offer = server_reply(MessageType::Offer, 9, vec![]);
        let reply = interpret(&offer, 9, &MAC).unwrap();
        let Step::Next(phase) = step(&Phase::Selecting, reply) else {
            panic!("offer not taken")
        };
        assert_eq!(
            phase,
            Phase::Requesting {
                address: Ipv4Addr::new(10, 64, 0, 2),
                server: Ipv4Addr::new(10, 64, 0, 1)
            }
        );
        let req = request_for(&phase, 9, &MAC);
        assert_eq!(req.ipv4(code::REQUESTED_IP), Some(Ipv4Addr::new(10, 64, 0, 2)));
        assert_eq!(req.ipv4(code::SERVER_ID), Some(Ipv4Addr::new(10, 64, 0, 1)));
        // A reply for another transaction is ignored.
        assert_eq!(interpret(&offer, 10, &MAC), None);
        let ack = server_reply(
            MessageType::Ack,
            9,
            vec![
                (code::SUBNET_MASK, vec![255, 255, 255, 252]),
                (code::ROUTER, vec![10, 64, 0, 1]),
                (code::DNS, vec![10, 64, 0, 1]),
                (code::LEASE_TIME, 7200u32.to_be_bytes().to_vec()),
            ],
        );
        let Step::Done(p) = step(&phase, interpret(&ack, 9, &MAC).unwrap()) else {
            panic!("ack not taken")
        };
        assert_eq!(p.mask, Some(Ipv4Addr::new(255, 255, 255, 252)));
        assert_eq!(p.gateway, Some(Ipv4Addr::new(10, 64, 0, 1)));
        assert_eq!(p.lease_time, Duration::from_secs(7200));
        assert_eq!(p.renew_after, Duration::from_secs(3600));
        let nak = server_reply(
            MessageType::Nak,
            9,
            vec![(code::MESSAGE, b"wrong network".to_vec())],
        );
        assert!(matches!(
            step(&phase, interpret(&nak, 9, &MAC).unwrap()),
            Step::Refused {
                detail: Some(_),
                ..
            }
        ));
        // An ACK while selecting is not for us to take.
        assert!(matches!(
            step(&Phase::Selecting, interpret(&ack, 9, &MAC).unwrap()),
            Step::Wait
        ));
    }

    #[test]
    fn an_ack_with_mask_0_0_0_0_is_refused() {
        // Issue 12: an ACK carrying option 1 = 0.0.0.0, read off the wire.
        let ack = server_reply(
            MessageType::Ack,
            4,
            vec![
                (code::SUBNET_MASK, vec![0, 0, 0, 0]),
                (code::ROUTER, vec![10, 64, 0, 1]),
                (code::LEASE_TIME, 3600u32.to_be_bytes().to_vec()),
            ],
        );
        let phase = Phase::Requesting { address: Ipv4Addr::new(10, 64, 0, 2), server: Ipv4Addr::new(10, 64, 0, 1) };
        let Step::Done(p) = step(&phase, interpret(&ack, 4, &MAC).unwrap()) else {
            panic!("ack not taken")
        };
        let e = checked_lease("wwan0", p, &[]).unwrap_err();
        assert!(matches!(e, DhcpError::Refused { source: IpCheckError::PrefixRange { len: 0, .. }, .. }), "{e}");
    }

    #[test]
    fn renewal_is_unicast_with_ciaddr() {
        let phase = Phase::Renewing {
            address: Ipv4Addr::new(10, 64, 0, 2),
            server: Ipv4Addr::new(10, 64, 0, 1),
        };
        let msg = request_for(&phase, 3, &MAC);
        assert_eq!(msg.ciaddr, Ipv4Addr::new(10, 64, 0, 2));
        assert!(!msg.broadcast);
        assert_eq!(msg.option(code::REQUESTED_IP), None);
    }
}
