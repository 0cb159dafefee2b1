//! ncmd-at: the AT command engine and typed reply parsers.
//!
//! Owns: framing of the modem's byte stream ([`frame`]), final result codes ([`result`]),
//! URC routing ([`urc`]), command/response with timeouts over one port ([`channel`]), and
//! pure parsers from replies to typed values ([`parse`]), and the port shared with other
//! programs through pseudo-terminals ([`share`], [`share_guard`]).
//! Must not know about: sessions, vendors' dial logic, sockets other than the port.

pub mod channel;
pub mod frame;
pub mod parse;
pub mod response;
pub mod result;
pub mod share;
pub mod share_guard;
mod tty;
pub mod urc;

pub use channel::{AtChannel, AtError, RawReply, STALE_DRAIN, URC_CAPACITY};
pub use frame::{Line, LineFramer, DEFAULT_MAX_LINE};
pub use response::Response;
pub use result::{classify_final, CmeError, CmeKind, CmsError, Final};
pub use urc::{is_unsolicited, reply_prefix, Urc};
