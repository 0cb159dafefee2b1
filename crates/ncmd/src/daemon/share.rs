//! The shared AT port of a session (`option share_port`): starts the ptys that other
//! programs use as the modem's tty (see `ncmd_at::share`) and gives them the guard that
//! refuses link-breaking commands, built from every loaded vendor profile's own writes
//! (dial, hang-up, mode, PDP, reset lines), so a vendor's commands are data, not code.
//!
//! Owns: the choice of links and the guard. Must not know about AT syntax (the guard
//! parses) or the session's order (the connector attaches each opened channel).

use std::sync::Arc;

use ncmd_at::share::{ShareOptions, SharedPort};
use ncmd_at::share_guard::ShareGuard;
use ncmd_config::Spec;

use crate::session::query::profiles;

/// The guard: generic rules plus the write commands of every vendor profile (refusing
/// another vendor's dial command costs nothing; guessing the vendor wrong would).
pub fn guard() -> ShareGuard {
    let profiles = profiles();
    let mut lines: Vec<String> = Vec::new();
    for key in profiles.keys() {
        let Some(p) = profiles.get(key) else { continue };
        let templates = p
            .initialize
            .iter()
            .chain(&p.configure)
            .chain(p.modes.values())
            .chain([&p.connect, &p.finalize, &p.disconnect, &p.reset, &p.attach, &p.detach, &p.psonly].into_iter().flatten());
        lines.extend(templates.map(|t| t.source().to_string()));
    }
    ShareGuard::new(lines.iter().map(String::as_str))
}

/// Starts the shared port the spec asks for (`None` when `share_port` is unset).
pub fn start(spec: &Spec) -> Result<Option<Arc<SharedPort>>, crate::Error> {
    let Some(first) = &spec.share_port else { return Ok(None) };
    let opts = ShareOptions::new(first, spec.share_ports as usize, guard());
    let port = SharedPort::start(opts, None).map_err(|e| format!("{}: {e}", spec.interface()))?;
    let links: Vec<String> = port.links().iter().map(|(l, _)| l.display().to_string()).collect();
    tracing::info!("{}: shared AT port for other programs: {}", spec.interface(), links.join(", "));
    Ok(Some(Arc::new(port)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ncmd_at::share_guard::Verdict;

    #[test]
    fn vendor_writes_from_the_profiles_are_refused_and_reads_pass() {
        let g = guard();
        for refused in ["AT^NDISDUP=1,0", "AT^SYSCFGEX=\"03\",3fffffff,2,4,7fffffffffffffff,,", "AT+QNETDEVCTL=1,1,1"] {
            assert!(matches!(g.judge(refused), Verdict::Refuse(_)), "{refused}");
        }
        for passed in ["AT^NDISSTATQRY?", "AT^SYSCFGEX?", "AT+CSQ", "AT^HCSQ?", "AT+QENG=\"servingcell\""] {
            assert_eq!(g.judge(passed), Verdict::Pass, "{passed}");
        }
    }
}
