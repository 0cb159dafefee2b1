//! What the daemon shows of itself: the text rendering of status snapshots, and (feature
//! `web`) Prometheus metrics and the status page.
//!
//! Reads status snapshots and talks to sessions only through the control protocol's
//! [`Handler`](crate::control::Handler). Must not know about AT, netlink or session order.

#[cfg(feature = "web")]
pub mod metrics;
pub mod render;
#[cfg(feature = "web")]
pub mod web;
