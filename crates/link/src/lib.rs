//! ncmd-link: the data interface of a modem as the kernel sees it.
//!
//! Owns: netlink (link state, MTU, addresses, routes, carrier events, traffic counters),
//! the check of every IP configuration the network side proposes, a DHCPv4 client,
//! the resolv file ncmd writes, the probes that loss detection sends out of the data
//! interface, and the safe whole-file writer they and the daemon's state files use.
//!
//! Must not know about: AT commands, vendors, sessions. Callers hand in plain values
//! (interface names, addresses) and get plain values and typed errors back.

pub mod dhcp;
pub mod dns;
pub mod file;
pub mod ipcheck;
pub mod netlink;
pub mod probe;

pub use dhcp::{DhcpError, Lease};
pub use dns::DnsError;
pub use ipcheck::{Checked, IpCheckError, Occupied, Prefix, Proposal, Proposed, Source};
pub use netlink::{
    Applied, Counters, Ipv4Config, Ipv6Config, LinkConfig, LinkError, LinkEvent, Netlink,
};
pub use probe::ProbeError;
