//! Probes: is the path beyond the data interface alive?
//!
//! Owns: one ICMP echo or one TCP connection attempt, sent out of a named interface
//! (SO_BINDTODEVICE) whatever the routing table says, and the round-trip time. The ICMP
//! probe uses an unprivileged ping socket (SOCK_DGRAM/IPPROTO_ICMP) and falls back to a
//! raw socket when `net.ipv4.ping_group_range` refuses it. Echo requests carry no
//! payload, so a probe costs [`icmp_probe_wire_bytes`] at the IP layer.
//!
//! Must not know about: how often to probe, how many failures mean loss (health's
//! business), sessions, modems.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use tokio::time::Instant;

/// ICMP echo header: type, code, checksum, identifier, sequence. Probes send nothing more.
pub const ICMP_ECHO_BYTES: usize = 8;
const IPV4_HEADER_BYTES: usize = 20;
const IPV6_HEADER_BYTES: usize = 40;

/// IP-layer bytes one ICMP probe costs on the wire: the request plus its reply
/// (56 for IPv4, 96 for IPv6). Link framing (Ethernet/NCM) comes on top.
pub const fn icmp_probe_wire_bytes(target: IpAddr) -> usize {
    let ip = match target {
        IpAddr::V4(_) => IPV4_HEADER_BYTES,
        IpAddr::V6(_) => IPV6_HEADER_BYTES,
    };
    2 * (ip + ICMP_ECHO_BYTES)
}

const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

/// Why a probe did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer from {target} over {ifname} within {timeout:?}")]
    Timeout {
        ifname: String,
        target: IpAddr,
        timeout: Duration,
    },
    #[error(
        "cannot open a probe socket on {ifname}: {source}; ncmd needs root, CAP_NET_RAW, \
         or ping sockets allowed by sysctl net.ipv4.ping_group_range, and the interface must exist"
    )]
    Socket {
        ifname: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot reach {target} over {ifname}: {source}")]
    Unreachable {
        ifname: String,
        target: IpAddr,
        #[source]
        source: io::Error,
    },
}

/// ICMP echo request with no payload (pure). The checksum is filled in; the kernel
/// recomputes it for ping sockets and for ICMPv6.
pub fn echo_request(v6: bool, id: u16, seq: u16) -> [u8; ICMP_ECHO_BYTES] {
    let kind = if v6 {
        ICMPV6_ECHO_REQUEST
    } else {
        ICMP_ECHO_REQUEST
    };
    let mut pkt = [kind, 0, 0, 0, 0, 0, 0, 0];
    pkt[4..6].copy_from_slice(&id.to_be_bytes());
    pkt[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = internet_checksum(&pkt);
    pkt[2..4].copy_from_slice(&sum.to_be_bytes());
    pkt
}

/// RFC 1071 checksum (pure).
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The (identifier, sequence) of an echo reply, or `None` for any other packet (pure).
/// `with_ip_header`: raw IPv4 sockets deliver the IP header in front of the ICMP message.
pub fn parse_echo_reply(v6: bool, with_ip_header: bool, packet: &[u8]) -> Option<(u16, u16)> {
    let icmp = if with_ip_header {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        packet.get(ihl..)?
    } else {
        packet
    };
    let reply = if v6 {
        ICMPV6_ECHO_REPLY
    } else {
        ICMP_ECHO_REPLY
    };
    if icmp.len() < ICMP_ECHO_BYTES || icmp[0] != reply || icmp[1] != 0 {
        return None;
    }
    Some((
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

static SEQUENCE: AtomicU16 = AtomicU16::new(1);

/// How the echo socket was opened: ping sockets match identifiers in the kernel; raw
/// sockets see every ICMP packet and must match the identifier themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EchoSocket {
    Ping,
    Raw,
}

fn open_echo_socket(v6: bool) -> io::Result<(Socket, EchoSocket)> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => Ok((s, EchoSocket::Ping)),
        Err(e) if matches!(e.raw_os_error(), Some(nix::libc::EACCES | nix::libc::EPERM)) => Ok((
            Socket::new(domain, Type::RAW, Some(protocol))?,
            EchoSocket::Raw,
        )),
        Err(e) => Err(e),
    }
}

fn bound_socket(sock: &SockRef<'_>, ifname: &str) -> io::Result<()> {
    sock.bind_device(Some(ifname.as_bytes()))?;
    sock.set_nonblocking(true)
}

/// Sends one ICMP echo request to `target` out of `ifname` and waits for the reply;
/// returns the round-trip time.
pub async fn icmp_echo(
    ifname: &str,
    target: IpAddr,
    timeout: Duration,
) -> Result<Duration, ProbeError> {
    let socket_err = |source| ProbeError::Socket {
        ifname: ifname.to_owned(),
        source,
    };
    let v6 = target.is_ipv6();
    let (socket, kind) = open_echo_socket(v6).map_err(socket_err)?;
    bound_socket(&SockRef::from(&socket), ifname).map_err(socket_err)?;
    let unreachable = |source| ProbeError::Unreachable {
        ifname: ifname.to_owned(),
        target,
        source,
    };
    socket
        .connect(&SockAddr::from(SocketAddr::new(target, 0)))
        .map_err(unreachable)?;
    // tokio's UdpSocket is a datagram socket wrapper; send/recv on an ICMP socket are
    // the same system calls, and it keeps the probe free of unsafe fd registration.
    let socket = tokio::net::UdpSocket::from_std(socket.into()).map_err(socket_err)?;

    // Raw sockets: our identifier is the low bits of the pid. Ping sockets: the kernel
    // replaces it with the socket's port and only hands us our own replies.
    let id = (std::process::id() & 0xffff) as u16;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let request = echo_request(v6, id, seq);
    let exchange = async {
        let sent = Instant::now();
        socket.send(&request).await.map_err(unreachable)?;
        let mut buf = [0u8; 1500];
        loop {
            let n = socket.recv(&mut buf).await.map_err(unreachable)?;
            let with_ip_header = kind == EchoSocket::Raw && !v6;
            match parse_echo_reply(v6, with_ip_header, &buf[..n]) {
                Some((reply_id, reply_seq))
                    if reply_seq == seq && (kind == EchoSocket::Ping || reply_id == id) =>
                {
                    return Ok(sent.elapsed());
                }
                _ => continue,
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout {
            ifname: ifname.to_owned(),
            target,
            timeout,
        }),
    }
}

/// Opens a TCP connection to `target` out of `ifname` and closes it again; returns the
/// time until the target answered. A refused connection (RST) counts as an answer: the
/// path is alive even if nothing listens on that port.
pub async fn tcp_connect(
    ifname: &str,
    target: SocketAddr,
    timeout: Duration,
) -> Result<Duration, ProbeError> {
    let socket_err = |source| ProbeError::Socket {
        ifname: ifname.to_owned(),
        source,
    };
    let socket = match target {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(socket_err)?;
    SockRef::from(&socket)
        .bind_device(Some(ifname.as_bytes()))
        .map_err(socket_err)?;
    let started = Instant::now();
    match tokio::time::timeout(timeout, socket.connect(target)).await {
        Ok(Ok(_stream)) => Ok(started.elapsed()),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(started.elapsed()),
        Ok(Err(source)) => Err(ProbeError::Unreachable {
            ifname: ifname.to_owned(),
            target: target.ip(),
            source,
        }),
        Err(_) => Err(ProbeError::Timeout {
            ifname: ifname.to_owned(),
            target: target.ip(),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_has_valid_checksum() {
        let pkt = echo_request(false, 0x1234, 7);
        assert_eq!(pkt[0], ICMP_ECHO_REQUEST);
        assert_eq!(&pkt[4..], &[0x12, 0x34, 0, 7]);
        // A correct checksum makes the sum over the whole message come out as zero.
        assert_eq!(internet_checksum(&pkt), 0);
    }

    #[test]
    fn reply_parser_handles_raw_and_ping_sockets() {
        let mut reply = echo_request(false, 0xbeef, 42);
        reply[0] = ICMP_ECHO_REPLY;
        assert_eq!(parse_echo_reply(false, false, &reply), Some((0xbeef, 42)));
        let mut with_ip = vec![0x45u8];
        with_ip.extend_from_slice(&[0u8; 19]);
        with_ip.extend_from_slice(&reply);
        assert_eq!(parse_echo_reply(false, true, &with_ip), Some((0xbeef, 42)));
        // Our own request seen on a raw socket, truncated data, and ICMPv6 mismatches.
        assert_eq!(
            parse_echo_reply(false, false, &echo_request(false, 1, 1)),
            None
        );
        assert_eq!(parse_echo_reply(false, false, &reply[..4]), None);
        assert_eq!(parse_echo_reply(true, false, &reply), None);
        assert_eq!(parse_echo_reply(false, true, &[0x4f]), None);
    }

    #[test]
    fn probe_cost_is_counted() {
        assert_eq!(icmp_probe_wire_bytes("10.0.0.1".parse().unwrap()), 56);
        assert_eq!(icmp_probe_wire_bytes("2001:db8::1".parse().unwrap()), 96);
    }
}
