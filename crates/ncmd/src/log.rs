//! The log: each `tracing` event as one line on stderr (UTC time, level, message and
//! fields; under a supervisor that stamps lines itself, only a level word where it
//! matters), filtered per target with the `NCMD_LOG` syntax (`warn,ncmd=debug`).
//! It replaces tracing-subscriber's formatter, which cost the router build more than
//! this whole file does (DESIGN.md "Router build"). Knows nothing of what is logged.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{span, Event, Level, Metadata, Subscriber};

/// A default level and levels per target prefix (`warn,ncmd=debug`; the longest
/// matching prefix wins; a bare target means all its levels; `off` silences).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    default: LevelFilter,
    targets: Vec<(String, LevelFilter)>,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Filter, String> {
        let mut filter = Filter { default: LevelFilter::OFF, targets: Vec::new() };
        for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            match directive.split_once('=') {
                Some((target, level)) => filter.targets.push((target.trim().to_string(), level_of(level.trim())?)),
                None => match level_of(directive) {
                    Ok(level) => filter.default = level,
                    // `ncmd` alone: everything from that target.
                    Err(_) if directive.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':') => {
                        filter.targets.push((directive.to_string(), LevelFilter::TRACE))
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        // Longest prefix first, so the most specific directive decides.
        filter.targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(filter)
    }
}

fn level_of(s: &str) -> Result<LevelFilter, String> {
    s.parse::<LevelFilter>().map_err(|_| format!("'{s}' is not a level (off, error, warn, info, debug, trace)"))
}

impl Filter {
    fn level_for(&self, target: &str) -> LevelFilter {
        self.targets.iter().find(|(t, _)| target.starts_with(t.as_str())).map_or(self.default, |(_, l)| *l)
    }

    fn max(&self) -> LevelFilter {
        self.targets.iter().map(|(_, l)| *l).fold(self.default, std::cmp::max)
    }
}

/// Writes enabled events to stderr, one line each.
pub struct Stderr {
    filter: Filter,
    /// A supervisor (netifd, procd, the journal) adds time and source to each line.
    supervised: bool,
}

impl Stderr {
    pub fn new(filter: Filter, supervised: bool) -> Stderr {
        Stderr { filter, supervised }
    }
}

impl Subscriber for Stderr {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= self.filter.level_for(meta.target())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max())
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        // ncmd logs events only; spans carry nothing this log shows.
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let fields = |out: &mut String| event.record(&mut Line(out));
        let level = event.metadata().level();
        let line = if self.supervised { supervised_line(level, fields) } else { format_line(SystemTime::now(), level, fields) };
        // A log line that cannot be written is dropped: logging never stops the daemon.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// `2026-11-28T03:41:07.123Z  INFO message key=value`
fn format_line(now: SystemTime, level: &Level, fields: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(128);
    let _ = write!(out, "{} {:>5} ", utc(now), level.as_str());
    fields(&mut out);
    out.push('\n');
    out
}

/// For logread or the journal: no time of our own, and a level word only where it
/// matters; normal progress reads as comgt-ncm's did (`sending -> AT...`).
fn supervised_line(level: &Level, fields: impl FnOnce(&mut String)) -> String {
    let mut out = String::from(match *level {
        Level::ERROR => "error: ",
        Level::WARN => "warning: ",
        Level::INFO => "",
        _ => "debug: ",
    });
    fields(&mut out);
    out.push('\n');
    out
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// RFC 3339 UTC with milliseconds, from the civil-from-days algorithm (H. Hinnant).
fn utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_longest_matching_target_decides_and_the_rest_take_the_default() {
        let f: Filter = "warn,ncmd=info,ncmd_at=debug".parse().unwrap();
        assert_eq!(f.level_for("ncmd::session"), LevelFilter::INFO);
        assert_eq!(f.level_for("ncmd_at::channel"), LevelFilter::DEBUG);
        assert_eq!(f.level_for("rtnetlink"), LevelFilter::WARN);
        assert_eq!(f.max(), LevelFilter::DEBUG);
        let bare: Filter = "ncmd".parse().unwrap();
        assert_eq!((bare.level_for("ncmd::x"), bare.level_for("mio")), (LevelFilter::TRACE, LevelFilter::OFF));
        assert_eq!("debug".parse::<Filter>().unwrap().level_for("anything"), LevelFilter::DEBUG);
    }

    #[test]
    fn a_bad_level_is_an_error_naming_it() {
        let e = "ncmd=loud".parse::<Filter>().unwrap_err();
        assert!(e.contains("'loud'"), "{e}");
        assert!("warn,ncmd=de bug".parse::<Filter>().is_err());
    }

    #[test]
    fn lines_carry_utc_time_level_message_and_fields() {
        // 2024-02-29T23:59:59.5Z: a leap day, the last second of it.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_500);
        let line = format_line(t, &Level::INFO, |out| out.push_str("up"));
        assert_eq!(line, "2024-02-29T23:59:59.500Z  INFO up\n");
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn supervised_lines_carry_a_level_word_only_where_it_matters() {
        let line = |l| supervised_line(&l, |out: &mut String| out.push_str("sending -> AT"));
        assert_eq!(line(Level::INFO), "sending -> AT\n");
        assert_eq!(line(Level::WARN), "warning: sending -> AT\n");
        assert_eq!(line(Level::ERROR), "error: sending -> AT\n");
        assert_eq!(line(Level::DEBUG), "debug: sending -> AT\n");
    }
}
