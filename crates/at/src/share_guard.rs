//! What a program sharing the modem port may send.
//!
//! Owns: splitting a command line into its commands (V.250 basic commands such as `E0`,
//! `&F`, `D…`, `S3=13`; extended ones such as `+CSQ`, `^NDISDUP=1,1`, joined by `;`), the
//! form of each (action, set, read, test), and the verdict on the line: passed to the
//! modem, answered here (`ATE0`/`ATE1`, each program's own echo), or refused.
//! Must not know about: ptys, sessions, or which vendor is attached (the caller adds the
//! vendor's dial, mode and PDP commands, taken from the profile data, as refused names).
//!
//! Refused: every command that would pull the link or the port from under the daemon
//! that owns it — reset and factory defaults (`Z`, `&F`, `+CFUN=`), dial and hang-up
//! (`D`, `H`, `O`, `+CGACT=`, `+CGDATA`, `+CGATT=`), PDP context and credential writes,
//! operator selection and network scans (`+COPS=`, `+COPS=?` blocks the port for
//! minutes), PIN entry and SIM lock changes (a wrong PIN must never be retried behind
//! the daemon's back), the result-code and framing format the daemon parses (`V`, `Q`,
//! `S` writes, `+CMEE=`, `+IPR=`, `+ICF=`, `+IFC=`, `+CMUX=`). Reads and tests of the
//! same commands pass (`AT+CFUN?`, `AT+CGDCONT?`). We refuse rather than pass and let
//! the daemon resynchronise: a pass would drop the link of every user for a program
//! that wanted a signal reading, would bypass the read-before-write that protects the
//! modem's flash and the never-twice rule for the PIN, and cannot be undone by a
//! resync (a factory reset or a wrong PIN has already happened).

/// The form of one command in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `ATZ`, `AT+CGDATA`, `ATD*99#`: does something.
    Action,
    /// `AT+CFUN=1`, `ATE0`, `ATS0=0`: writes a setting.
    Set,
    /// `AT+CFUN?`, `ATS0?`.
    Read,
    /// `AT+CFUN=?`.
    Test,
}

/// One command of a line: its name (upper case, `+CFUN`, `^NDISDUP`, `E`, `&F`, `D`) and
/// form; `value` holds what follows the name of a basic command (`0` for `E0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub form: Form,
    pub value: String,
}

/// What to do with a line a sharing program wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Send it to the modem.
    Pass,
    /// `ATE0`/`ATE1` on its own: the program's echo, answered `OK` without the modem.
    Echo(bool),
    /// Not an AT command (modems ignore such lines): no answer.
    Ignore,
    /// Answer `ERROR` without the modem; the reason is for the log.
    Refuse(String),
}

/// Extended commands refused in set and action form (reads and tests pass).
const REFUSED_WRITES: &[&str] = &[
    "+CFUN",
    "+CGACT",
    "+CGDATA",
    "+CGATT",
    "+CGDCONT",
    "+CGDSCONT",
    "+CGAUTH",
    "+CGEQOS",
    "+CGQREQ",
    "+CGQMIN",
    "+CGTFT",
    "+COPS",
    "+CPIN",
    "+CLCK",
    "+CPWD",
    "+CMEE",
    "+IPR",
    "+ICF",
    "+IFC",
    "+CMUX",
    "+CEMODE",
    "+CSCS",
];
/// Extended commands refused in every form (`+COPS=?` scans for minutes and detaches
/// many modems meanwhile).
const REFUSED_ALWAYS: &[&str] = &["+COPS=?"];
/// Basic commands refused whatever their value.
const REFUSED_BASIC: &[&str] = &["Z", "&F", "D", "H", "O", "&W", "&V"];

/// The judge of lines from sharing programs.
#[derive(Debug, Clone, Default)]
pub struct ShareGuard {
    /// Vendor command names refused in set and action form, upper case.
    vendor: Vec<String>,
}

impl ShareGuard {
    /// A guard that also refuses the set and action forms of the commands named in
    /// `vendor_writes`: the daemon's own dial, hang-up, mode and PDP command lines from
    /// the vendor profile (`AT^NDISDUP=${profile},1,...`, `AT^SYSCFGEX=...`).
    pub fn new<'a>(vendor_writes: impl IntoIterator<Item = &'a str>) -> ShareGuard {
        let mut vendor: Vec<String> = vendor_writes
            .into_iter()
            .filter_map(|l| split(l).ok())
            .flatten()
            .filter(|c| c.name.len() > 1 && !c.name.starts_with('&'))
            .map(|c| c.name)
            .collect();
        vendor.sort();
        vendor.dedup();
        ShareGuard { vendor }
    }

    /// The verdict on one command line (without its CR).
    pub fn judge(&self, line: &str) -> Verdict {
        let line = line.trim();
        if !line.get(..2).is_some_and(|a| a.eq_ignore_ascii_case("AT")) {
            return Verdict::Ignore;
        }
        let commands = match split(line) {
            Ok(c) => c,
            Err(why) => return Verdict::Refuse(why),
        };
        if let [only] = commands.as_slice() {
            if only.name == "E" && only.form == Form::Set {
                return match only.value.as_str() {
                    "" | "0" => Verdict::Echo(false),
                    "1" => Verdict::Echo(true),
                    _ => Verdict::Refuse(format!("ATE{} is not an echo setting", only.value)),
                };
            }
        }
        for c in &commands {
            if let Some(why) = self.refusal(c, commands.len()) {
                return Verdict::Refuse(why);
            }
        }
        Verdict::Pass
    }

    fn refusal(&self, c: &Command, count: usize) -> Option<String> {
        let name = c.name.as_str();
        let writes = matches!(c.form, Form::Set | Form::Action);
        let owned = "it would change the link or port the daemon owns";
        if name == "E" && count > 1 {
            return Some(
                "send ATE0/ATE1 on a line of its own (each program's echo is its own)".into(),
            );
        }
        if REFUSED_BASIC.contains(&name) {
            return Some(format!("AT{name}: {owned}"));
        }
        if name == "V" && c.value != "1" && !c.value.is_empty() {
            return Some(format!(
                "ATV{}: the daemon reads verbose result codes",
                c.value
            ));
        }
        if name == "Q" && c.value != "0" && !c.value.is_empty() {
            return Some(format!("ATQ{}: the daemon needs result codes", c.value));
        }
        if name.starts_with('S') && c.form == Form::Set {
            return Some(format!("AT{name}=: {owned}"));
        }
        if c.form == Form::Test && REFUSED_ALWAYS.contains(&format!("{name}=?").as_str()) {
            return Some(format!(
                "AT{name}=?: a network scan blocks the port for minutes"
            ));
        }
        if writes && (REFUSED_WRITES.contains(&name) || self.vendor.iter().any(|v| v == name)) {
            return Some(format!("AT{name} (write): {owned}"));
        }
        None
    }
}

/// Splits a command line (starting with `AT`) into its commands.
pub fn split(line: &str) -> Result<Vec<Command>, String> {
    let line = line.trim();
    let rest = line
        .get(2..)
        .filter(|_| line.get(..2).is_some_and(|a| a.eq_ignore_ascii_case("AT")))
        .ok_or_else(|| "not an AT command".to_string())?;
    let b = rest.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b';' || c == b' ' {
            i += 1;
            continue;
        }
        if matches!(c, b'+' | b'^' | b'*' | b'$' | b'!' | b'%' | b'#') {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let name = rest[start..i].to_ascii_uppercase();
            let (form, end) = extended_form(b, i);
            let value = rest.get(i..end).unwrap_or("").to_string();
            out.push(Command { name, form, value });
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'&' {
            let start = i;
            i += if c == b'&' { 2 } else { 1 };
            let name = rest
                .get(start..i.min(rest.len()))
                .unwrap_or("")
                .to_ascii_uppercase();
            if name == "D" {
                // Dial takes the rest of the line as its number.
                out.push(Command {
                    name,
                    form: Form::Action,
                    value: rest.get(i..).unwrap_or("").to_string(),
                });
                break;
            }
            let (form, end) = basic_form(b, i, name.starts_with('S'));
            let value = rest.get(i.min(rest.len())..end).unwrap_or("").to_string();
            out.push(Command { name, form, value });
            i = end;
        } else {
            return Err(format!(
                "unexpected character {:?} in the command line",
                c as char
            ));
        }
    }
    Ok(out)
}

/// The form of an extended command whose name ends at `i`, and where the command ends
/// (at the `;` that joins the next one, outside quotes, or at the end of the line).
fn extended_form(b: &[u8], i: usize) -> (Form, usize) {
    let form = match (b.get(i), b.get(i + 1)) {
        (Some(b'='), Some(b'?')) => Form::Test,
        (Some(b'?'), _) => Form::Read,
        (Some(b'='), _) => Form::Set,
        _ => Form::Action,
    };
    let mut quoted = false;
    let mut end = i;
    while end < b.len() {
        match b[end] {
            b'"' => quoted = !quoted,
            b';' if !quoted => break,
            _ => {}
        }
        end += 1;
    }
    (form, end)
}

/// The form and end of a basic command whose name ends at `i`: digits (`E0`), or for an
/// S register `S3=13` / `S3?`.
fn basic_form(b: &[u8], i: usize, register: bool) -> (Form, usize) {
    let mut end = i;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    if register {
        match b.get(end) {
            Some(b'?') => return (Form::Read, end + 1),
            Some(b'=') if b.get(end + 1) == Some(&b'?') => return (Form::Test, end + 2),
            Some(b'=') => {
                end += 1;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                return (Form::Set, end);
            }
            _ => return (Form::Read, end),
        }
    }
    (Form::Set, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn huawei() -> ShareGuard {
        // The dial, hang-up and mode lines of the built-in Huawei profile
        // (crates/profile/data/ncm.json).
        ShareGuard::new([
            "AT^NDISDUP=1,1,\"internet\"",
            "AT^NDISDUP=1,0",
            "AT^SYSCFGEX=\"03\",3fffffff,2,4,7fffffffffffffff,,",
        ])
    }

    #[test]
    fn reads_and_harmless_commands_pass() {
        let g = huawei();
        for l in [
            "AT",
            "ATI",
            "at+csq",
            "AT+CFUN?",
            "AT+CGDCONT?",
            "AT^SYSCFGEX?",
            "AT+COPS?",
            "AT+CSQ;+CREG?",
            "AT^NDISSTATQRY?",
            "AT+CMGF=1",
            "AT+CMGS=\"+123\"",
            "AT+CPIN?",
            "AT+CFUN=?",
            "ATS0?",
            "ATV1",
            "ATQ0",
            "AT+CGMI;+CGMM;+CGMR",
            "AT^HCSQ?",
        ] {
            assert_eq!(g.judge(l), Verdict::Pass, "{l}");
        }
    }

    #[test]
    fn link_and_port_writes_are_refused() {
        let g = huawei();
        for l in [
            "ATZ",
            "AT&F",
            "ATH",
            "ATD*99#",
            "AT+CFUN=0",
            "AT+CFUN=1,1",
            "at+cgact=0,1",
            "AT^NDISDUP=1,0",
            "AT^SYSCFGEX=\"02\",3fffffff,2,4,7fffffffffffffff,,",
            "AT+CGDCONT=1,\"IP\",\"x\"",
            "AT+COPS=2",
            "AT+COPS=?",
            "AT+CPIN=\"1234\"",
            "ATV0",
            "ATQ1",
            "ATS3=10",
            "AT+CMEE=0",
            "AT+CSQ;+CFUN=4",
            "AT+IPR=9600",
            "AT+CMUX=0",
            "ATE0V1",
            "AT+CGATT=0",
        ] {
            assert!(matches!(g.judge(l), Verdict::Refuse(_)), "{l}");
        }
    }

    #[test]
    fn echo_is_the_program_s_own() {
        let g = ShareGuard::default();
        assert_eq!(g.judge("ATE0"), Verdict::Echo(false));
        assert_eq!(g.judge("ate"), Verdict::Echo(false));
        assert_eq!(g.judge("ATE1"), Verdict::Echo(true));
        assert!(matches!(g.judge("ATE2"), Verdict::Refuse(_)));
    }

    #[test]
    fn non_commands_are_ignored() {
        let g = ShareGuard::default();
        assert_eq!(g.judge(""), Verdict::Ignore);
        assert_eq!(g.judge("hello"), Verdict::Ignore);
        assert_eq!(g.judge("A"), Verdict::Ignore);
    }

    #[test]
    fn a_semicolon_inside_quotes_does_not_split() {
        let c = split("AT+CGDCONT=1,\"IP\",\"a;b\";+CSQ").expect("splits");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "+CGDCONT");
        assert_eq!(c[1].name, "+CSQ");
        assert_eq!(c[1].form, Form::Action);
    }

    proptest::proptest! {
        #[test]
        fn any_line_gets_a_verdict_without_panicking(line in "\\PC{0,40}", tail in "[a-zA-Z&+^;=?\"0-9é]{0,20}") {
            let g = huawei();
            let _ = g.judge(&line);
            let _ = g.judge(&format!("AT{tail}"));
            let _ = g.judge(&format!("AT&{line}"));
        }
    }

    #[test]
    fn vendor_names_come_from_the_profile_lines() {
        let g = huawei();
        assert_eq!(g.vendor, ["^NDISDUP", "^SYSCFGEX"]);
        // Generic guard: the vendor's writes are not known to it.
        assert_eq!(ShareGuard::default().judge("AT^NDISDUP=1,0"), Verdict::Pass);
    }
}
