//! The DHCPv4 wire format, as far as a client needs it: the BOOTP header (RFC 2131 §2)
//! and the options of RFC 2132 that a lease is made of. Pure encode/decode, no I/O.
//!
//! Hand-written on purpose: the general-purpose crate pulled a DNS library, URL and
//! Unicode tables into the router binary for four message kinds and a dozen options.
//! Must not know about sockets, timers or the client's state machine.

use std::net::Ipv4Addr;

pub const BOOT_REQUEST: u8 = 1;
pub const BOOT_REPLY: u8 = 2;

/// Option codes (RFC 2132).
pub mod code {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMETER_LIST: u8 = 55;
    pub const MESSAGE: u8 = 56;
    pub const RENEWAL: u8 = 58;
    pub const CLIENT_ID: u8 = 61;
    pub const END: u8 = 255;
}

/// Option 53 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

impl MessageType {
    fn from_u8(v: u8) -> Option<Self> {
        use MessageType::*;
        Some(match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            _ => return None,
        })
    }
}

const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// op … file: the fixed BOOTP part before the magic cookie.
const HEADER_LEN: usize = 236;
/// Some servers ignore BOOTP messages shorter than this (RFC 1542 §3.1.1).
const MIN_LEN: usize = 300;
const BROADCAST_FLAG: u16 = 0x8000;

/// One DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub op: u8,
    pub xid: u32,
    pub broadcast: bool,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    /// Client hardware address (at most 16 bytes).
    pub chaddr: Vec<u8>,
    /// Options in order; a code appears once (split long options are joined on decode).
    pub options: Vec<(u8, Vec<u8>)>,
}

impl Message {
    pub fn new(op: u8, xid: u32, chaddr: &[u8]) -> Message {
        Message {
            op,
            xid,
            broadcast: false,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: chaddr.iter().copied().take(16).collect(),
            options: Vec::new(),
        }
    }

    /// Sets option `code` (replacing an earlier value).
    pub fn set(&mut self, code: u8, value: Vec<u8>) -> &mut Self {
        match self.options.iter_mut().find(|(c, _)| *c == code) {
            Some(slot) => slot.1 = value,
            None => self.options.push((code, value)),
        }
        self
    }

    pub fn remove(&mut self, code: u8) {
        self.options.retain(|(c, _)| *c != code);
    }

    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_slice())
    }

    pub fn message_type(&self) -> Option<MessageType> {
        match self.option(code::MESSAGE_TYPE)? {
            [v] => MessageType::from_u8(*v),
            _ => None,
        }
    }

    /// The first address of an address option.
    pub fn ipv4(&self, code: u8) -> Option<Ipv4Addr> {
        self.ipv4s(code).into_iter().next()
    }

    /// Every address of an address-list option (a trailing partial address is dropped).
    pub fn ipv4s(&self, code: u8) -> Vec<Ipv4Addr> {
        self.option(code)
            .map(|v| v.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect())
            .unwrap_or_default()
    }

    pub fn u32(&self, code: u8) -> Option<u32> {
        let v: [u8; 4] = self.option(code)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MIN_LEN);
        b.extend_from_slice(&[self.op, 1, self.chaddr.len() as u8, 0]); // htype Ethernet
        b.extend_from_slice(&self.xid.to_be_bytes());
        b.extend_from_slice(&[0, 0]); // secs
        b.extend_from_slice(&(if self.broadcast { BROADCAST_FLAG } else { 0 }).to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, Ipv4Addr::UNSPECIFIED] {
            b.extend_from_slice(&a.octets());
        }
        let mut chaddr = [0u8; 16];
        chaddr[..self.chaddr.len()].copy_from_slice(&self.chaddr);
        b.extend_from_slice(&chaddr);
        b.resize(HEADER_LEN, 0); // sname and file
        b.extend_from_slice(&MAGIC_COOKIE);
        for (c, v) in &self.options {
            // Longer values are split into several options of the same code (RFC 3396).
            for part in v.chunks(255).chain(v.is_empty().then_some(&[][..])) {
                b.push(*c);
                b.push(part.len() as u8);
                b.extend_from_slice(part);
            }
        }
        b.push(code::END);
        if b.len() < MIN_LEN {
            b.resize(MIN_LEN, 0);
        }
        b
    }

    /// Reads a message; `None` for anything that is not one (too short, wrong cookie,
    /// an option running past the end).
    pub fn decode(bytes: &[u8]) -> Option<Message> {
        if bytes.len() < HEADER_LEN + MAGIC_COOKIE.len() || bytes[HEADER_LEN..HEADER_LEN + 4] != MAGIC_COOKIE {
            return None;
        }
        let addr = |at: usize| Ipv4Addr::new(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
        let hlen = usize::from(bytes[2]).min(16);
        let mut msg = Message {
            op: bytes[0],
            xid: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            broadcast: u16::from_be_bytes([bytes[10], bytes[11]]) & BROADCAST_FLAG != 0,
            ciaddr: addr(12),
            yiaddr: addr(16),
            siaddr: addr(20),
            chaddr: bytes[28..28 + hlen].to_vec(),
            options: Vec::new(),
        };
        let mut rest = &bytes[HEADER_LEN + 4..];
        while let Some((&c, tail)) = rest.split_first() {
            match c {
                code::END => break,
                code::PAD => rest = tail,
                _ => {
                    let (&len, tail) = tail.split_first()?;
                    let value = tail.get(..usize::from(len))?;
                    match msg.options.iter_mut().find(|(have, _)| *have == c) {
                        Some(slot) => slot.1.extend_from_slice(value),
                        None => msg.options.push((c, value.to_vec())),
                    }
                    rest = &tail[usize::from(len)..];
                }
            }
        }
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x1e, 0x10, 0x1f, 0x00, 0x01];

    fn sample() -> Message {
        let mut m = Message::new(BOOT_REPLY, 0xdead_beef, &MAC);
        m.broadcast = true;
        m.yiaddr = Ipv4Addr::new(10, 64, 0, 2);
        m.set(code::MESSAGE_TYPE, vec![MessageType::Ack as u8])
            .set(code::SUBNET_MASK, vec![255, 255, 255, 252])
            .set(code::ROUTER, vec![10, 64, 0, 1])
            .set(code::DNS, vec![10, 64, 0, 1, 10, 64, 0, 53])
            .set(code::LEASE_TIME, 7200u32.to_be_bytes().to_vec());
        m
    }

    #[test]
    fn round_trip_and_layout() {
        let m = sample();
        let bytes = m.encode();
        assert!(bytes.len() >= MIN_LEN);
        assert_eq!(&bytes[..4], &[BOOT_REPLY, 1, 6, 0]);
        assert_eq!(&bytes[4..8], &0xdead_beefu32.to_be_bytes());
        assert_eq!(&bytes[10..12], &[0x80, 0]);
        assert_eq!(&bytes[236..240], &MAGIC_COOKIE);
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.message_type(), Some(MessageType::Ack));
        assert_eq!(back.ipv4s(code::DNS), [Ipv4Addr::new(10, 64, 0, 1), Ipv4Addr::new(10, 64, 0, 53)]);
        assert_eq!(back.u32(code::LEASE_TIME), Some(7200));
    }

    #[test]
    fn split_options_are_joined_and_pads_skipped() {
        let mut bytes = Message::new(BOOT_REPLY, 1, &MAC).encode();
        bytes.truncate(240);
        bytes.extend_from_slice(&[code::PAD, code::DNS, 4, 1, 2, 3, 4, code::PAD, code::DNS, 4, 5, 6, 7, 8, code::END]);
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.ipv4s(code::DNS), [Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(5, 6, 7, 8)]);
    }

    #[test]
    fn every_truncation_and_garbage_is_refused_or_read_without_panic() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            let _ = Message::decode(&bytes[..cut]);
        }
        assert_eq!(Message::decode(&bytes[..239]), None);
        // An option whose length runs past the end is not a message.
        let mut bad = bytes[..240].to_vec();
        bad.extend_from_slice(&[code::ROUTER, 200, 1, 2]);
        assert_eq!(Message::decode(&bad), None);
        // Pseudo-random bytes (xorshift) behind a valid header never panic.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let mut b = bytes[..240].to_vec();
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b.push(x as u8);
            }
            let _ = Message::decode(&b);
        }
    }
}
