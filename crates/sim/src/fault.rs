//! Fault names (`pin-required`, `reset`, `hang`, …) and their timed form
//! `NAME@SECONDS`: parsing and printing only. What a fault does to the modem lives
//! in `modem` (state) and `engine` (port); this module must not know about either.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A fault that can be injected into the simulated modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The SIM asks for its PIN (as after a power cycle with the PIN lock enabled).
    PinRequired,
    /// The SIM is PUK-locked.
    PukRequired,
    /// The SIM is taken out.
    SimRemoved,
    /// The SIM is put back.
    SimInserted,
    /// The network never registers the modem.
    NoRegistration,
    /// Registration is lost (the connection with it).
    RegistrationLost,
    /// Registration comes back.
    RegistrationRegained,
    /// Network-side disconnect, announced by the personality's URC.
    DropUrc,
    /// Network-side disconnect without any URC; queries show it.
    DropSilent,
    /// The data path drops everything while AT says connected.
    Blackhole,
    /// The data path works again.
    Unblackhole,
    /// Every reply is delayed by several seconds.
    Slow,
    /// The modem stops answering (no echo, no reply).
    Hang,
    /// The modem answers again.
    Unhang,
    /// Random bytes and NULs now and then.
    Garbage,
    /// `ATE0` is acknowledged but echo stays on.
    EchoStuck,
    /// The port vanishes and comes back with fresh state.
    Reset,
    /// The port vanishes until `replug`.
    Unplug,
    /// The port comes back after `unplug`.
    Replug,
}

const NAMES: &[(Fault, &str)] = &[
    (Fault::PinRequired, "pin-required"),
    (Fault::PukRequired, "puk-required"),
    (Fault::SimRemoved, "sim-removed"),
    (Fault::SimInserted, "sim-inserted"),
    (Fault::NoRegistration, "no-registration"),
    (Fault::RegistrationLost, "registration-lost"),
    (Fault::RegistrationRegained, "registration-regained"),
    (Fault::DropUrc, "drop-urc"),
    (Fault::DropSilent, "drop-silent"),
    (Fault::Blackhole, "blackhole"),
    (Fault::Unblackhole, "unblackhole"),
    (Fault::Slow, "slow"),
    (Fault::Hang, "hang"),
    (Fault::Unhang, "unhang"),
    (Fault::Garbage, "garbage"),
    (Fault::EchoStuck, "echo-stuck"),
    (Fault::Reset, "reset"),
    (Fault::Unplug, "unplug"),
    (Fault::Replug, "replug"),
];

impl Fault {
    /// All fault names, for help texts.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(_, n)| *n)
    }

    /// The fault's name as written on the command line.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("?", |(_, n)| n)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name or timing that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultParseError {
    #[error("unknown fault '{name}'; known faults: {known}")]
    Unknown { name: String, known: String },
    #[error("bad delay '{text}' in fault '{spec}': write NAME@SECONDS, e.g. reset@2.5")]
    BadDelay { spec: String, text: String },
}

impl FromStr for Fault {
    type Err = FaultParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let want = s.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(_, n)| *n == want)
            .map(|(f, _)| *f)
            .ok_or_else(|| FaultParseError::Unknown {
                name: s.trim().to_string(),
                known: Fault::names().collect::<Vec<_>>().join(", "),
            })
    }
}

/// A fault and when to inject it, counted from the simulator's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultAt {
    pub fault: Fault,
    pub after: Duration,
}

impl FromStr for FaultAt {
    type Err = FaultParseError;
    /// `NAME` (at once) or `NAME@SECONDS` (fractions allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, delay) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s, None),
        };
        let fault = name.parse()?;
        let after = match delay {
            None => Duration::ZERO,
            Some(d) => d
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                .ok_or_else(|| FaultParseError::BadDelay {
                    spec: s.to_string(),
                    text: d.to_string(),
                })?,
        };
        Ok(FaultAt { fault, after })
    }
}

impl fmt::Display for FaultAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.fault, self.after.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Fault::names() {
            let f: Fault = name.parse().expect("known name");
            assert_eq!(f.to_string(), name);
        }
    }

    #[test]
    fn timed_faults() {
        let f: FaultAt = "reset@2.5".parse().expect("parses");
        assert_eq!(f.fault, Fault::Reset);
        assert_eq!(f.after, Duration::from_millis(2500));
        let f: FaultAt = "HANG".parse().expect("parses");
        assert_eq!((f.fault, f.after), (Fault::Hang, Duration::ZERO));
        assert!(matches!(
            "reset@-1".parse::<FaultAt>(),
            Err(FaultParseError::BadDelay { .. })
        ));
        let err = "melt".parse::<FaultAt>().expect_err("unknown");
        assert!(err.to_string().contains("pin-required"), "{err}");
    }
}
