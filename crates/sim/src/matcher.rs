//! The simulator's own AT command-line matcher: splits one received line into
//! commands (`E0`, `+CGDCONT=1,"IP","apn"`, `^SYSCFGEX?`, `+CGDCONT=?`), with their
//! kind and arguments, and rebuilds a redacted copy for the command log.
//!
//! Pure text in, values out. It must not know about modem state or personalities,
//! and it deliberately shares no code with the `ncmd-at` crate (so a parsing bug
//! cannot hide on both sides of the wire).

/// How a command was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `AT+CMD` or a basic command like `ATZ`.
    Exec,
    /// `AT+CMD?`
    Read,
    /// `AT+CMD=?`
    Test,
    /// `AT+CMD=args`
    Set(Vec<Arg>),
}

/// One argument of a set command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The text without surrounding quotes.
    pub text: String,
    /// Whether it was written as a quoted string.
    pub quoted: bool,
}

impl Arg {
    /// The argument as an unsigned number (decimal), if it is one.
    pub fn num(&self) -> Option<u32> {
        self.text.trim().parse().ok()
    }
}

/// One command of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Upper-cased name with its prefix character: `+CGDCONT`, `^NDISDUP`, `E`, `S0`, `&F`.
    pub name: String,
    pub kind: Kind,
}

impl Command {
    /// Argument `i` of a set command.
    pub fn arg(&self, i: usize) -> Option<&Arg> {
        match &self.kind {
            Kind::Set(args) => args.get(i),
            _ => None,
        }
    }

    /// Argument `i` as a number.
    pub fn num(&self, i: usize) -> Option<u32> {
        self.arg(i).and_then(Arg::num)
    }

    /// Argument `i` as text (quotes removed); empty when absent.
    pub fn text(&self, i: usize) -> &str {
        self.arg(i).map(|a| a.text.as_str()).unwrap_or("")
    }
}

/// Why a line could not be split into commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The line does not start with `AT`: a modem ignores it.
    NotAt,
    /// A quoted string is not closed, or a name is malformed.
    Syntax,
}

/// Characters that start an extended command name.
const EXTENDED_PREFIXES: &[char] = &['+', '^', '$', '!', '*', '%', '#'];

/// Splits one command line (without its terminator) into commands.
/// `AT` alone gives an empty list. Extended commands may be separated by `;`;
/// basic commands may be concatenated (`ATE0V1`).
pub fn parse_line(line: &str) -> Result<Vec<Command>, ParseError> {
    let line = line.trim();
    let bytes = line.as_bytes();
    if bytes.len() < 2 || !bytes[..2].eq_ignore_ascii_case(b"AT") {
        return Err(ParseError::NotAt);
    }
    let chars: Vec<char> = line[2..].chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ';' || c == ' ' {
            i += 1;
            continue;
        }
        if EXTENDED_PREFIXES.contains(&c) {
            let (cmd, next) = parse_extended(&chars, i)?;
            out.push(cmd);
            i = next;
        } else if c.is_ascii_alphabetic() || c == '&' {
            let (cmd, next) = parse_basic(&chars, i)?;
            out.push(cmd);
            i = next;
        } else {
            return Err(ParseError::Syntax);
        }
    }
    Ok(out)
}

fn parse_extended(chars: &[char], start: usize) -> Result<(Command, usize), ParseError> {
    let mut i = start + 1;
    let mut name = String::new();
    name.push(chars[start]);
    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
        name.push(chars[i].to_ascii_uppercase());
        i += 1;
    }
    if name.len() == 1 {
        return Err(ParseError::Syntax);
    }
    let kind = match chars.get(i) {
        Some('?') => {
            i += 1;
            Kind::Read
        }
        Some('=') if chars.get(i + 1) == Some(&'?') => {
            i += 2;
            Kind::Test
        }
        Some('=') => {
            let (args, next) = parse_args(chars, i + 1)?;
            i = next;
            Kind::Set(args)
        }
        _ => Kind::Exec,
    };
    Ok((Command { name, kind }, i))
}

/// Arguments up to `;` or the end of the line.
fn parse_args(chars: &[char], start: usize) -> Result<(Vec<Arg>, usize), ParseError> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut i = start;
    loop {
        match chars.get(i) {
            None | Some(';') => {
                args.push(finish_arg(cur, quoted));
                return Ok((args, i));
            }
            Some('"') => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .ok_or(ParseError::Syntax)?;
                cur.extend(&chars[i + 1..i + 1 + close]);
                quoted = true;
                i += close + 2;
            }
            Some(',') => {
                args.push(finish_arg(std::mem::take(&mut cur), quoted));
                quoted = false;
                i += 1;
            }
            Some(&c) => {
                cur.push(c);
                i += 1;
            }
        }
    }
}

fn finish_arg(text: String, quoted: bool) -> Arg {
    let text = if quoted {
        text
    } else {
        text.trim().to_string()
    };
    Arg { text, quoted }
}

/// Basic commands: a letter (or `&` + letter) and an optional number; `S<n>=<v>` / `S<n>?`.
fn parse_basic(chars: &[char], start: usize) -> Result<(Command, usize), ParseError> {
    let mut i = start;
    let mut name = String::new();
    if chars[i] == '&' {
        name.push('&');
        i += 1;
    }
    let letter = chars
        .get(i)
        .filter(|c| c.is_ascii_alphabetic())
        .ok_or(ParseError::Syntax)?;
    name.push(letter.to_ascii_uppercase());
    i += 1;
    let mut digits = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() {
        digits.push(chars[i]);
        i += 1;
    }
    if name == "S" {
        // S-register: the number is part of the name.
        name.push_str(&digits);
        let kind = match chars.get(i) {
            Some('?') => {
                i += 1;
                Kind::Read
            }
            Some('=') => {
                let mut v = String::new();
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    v.push(chars[i]);
                    i += 1;
                }
                Kind::Set(vec![Arg {
                    text: v,
                    quoted: false,
                }])
            }
            _ => Kind::Exec,
        };
        return Ok((Command { name, kind }, i));
    }
    let kind = if digits.is_empty() {
        Kind::Exec
    } else {
        Kind::Set(vec![Arg {
            text: digits,
            quoted: false,
        }])
    };
    Ok((Command { name, kind }, i))
}

/// Which arguments of a command carry secrets (PIN, PUK, password, user name).
/// `None` means: every argument.
fn secret_args(name: &str) -> Option<&'static [usize]> {
    match name {
        "+CPIN" | "+CPIN2" | "+CPWD" => None,
        "+CLCK" => Some(&[2]),
        "^NDISDUP" => Some(&[3, 4]),
        "+QICSGP" => Some(&[3, 4]),
        "$QCPDPP" => Some(&[2, 3]),
        "+ZGPCOAUTH" => Some(&[1, 2]),
        "*EIAAUW" => Some(&[2, 3]),
        "+CGAUTH" => Some(&[2, 3]),
        _ => Some(&[]),
    }
}

/// The line as it may appear in logs: secret arguments replaced by `***`.
/// A line that cannot be parsed is logged only by its length, since it might
/// carry a secret the matcher could not locate.
pub fn redact_line(line: &str) -> String {
    let line = line.trim();
    let cmds = match parse_line(line) {
        Ok(c) => c,
        Err(ParseError::NotAt) if line.is_empty() => return String::new(),
        Err(_) => return format!("<unparsed line, {} bytes>", line.len()),
    };
    let mut out = String::from("AT");
    for (n, cmd) in cmds.iter().enumerate() {
        let extended = cmd.name.starts_with(EXTENDED_PREFIXES);
        if n > 0 && extended {
            out.push(';');
        }
        match &cmd.kind {
            Kind::Exec => out.push_str(&cmd.name),
            Kind::Read => {
                out.push_str(&cmd.name);
                out.push('?');
            }
            Kind::Test => {
                out.push_str(&cmd.name);
                out.push_str("=?");
            }
            Kind::Set(args) if !extended && !cmd.name.starts_with('S') => {
                out.push_str(&cmd.name);
                out.push_str(&args[0].text);
            }
            Kind::Set(args) => {
                out.push_str(&cmd.name);
                out.push('=');
                let secret = secret_args(&cmd.name);
                let parts: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let hide = !a.text.is_empty()
                            && match secret {
                                None => true,
                                Some(s) => s.contains(&i),
                            };
                        let text = if hide { "***" } else { a.text.as_str() };
                        if a.quoted {
                            format!("\"{text}\"")
                        } else {
                            text.to_string()
                        }
                    })
                    .collect();
                out.push_str(&parts.join(","));
            }
        }
    }
    out
}

/// Normalised form used to match overlay commands: trimmed, upper-cased.
pub fn normalize(line: &str) -> String {
    line.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Command {
        let mut v = parse_line(line).expect("parses");
        assert_eq!(v.len(), 1, "{line}");
        v.remove(0)
    }

    #[test]
    fn kinds() {
        assert_eq!(one("AT+CGMI").kind, Kind::Exec);
        assert_eq!(one("at+cgdcont?").kind, Kind::Read);
        assert_eq!(one("AT+CGDCONT=?").kind, Kind::Test);
        let c = one(r#"AT+cgdcont=1,"IP","inter,net""#);
        assert_eq!(c.name, "+CGDCONT");
        assert_eq!(c.num(0), Some(1));
        assert_eq!(c.text(1), "IP");
        assert_eq!(c.text(2), "inter,net");
        assert!(c.arg(2).is_some_and(|a| a.quoted));
    }

    #[test]
    fn vendor_prefixes_and_empty_args() {
        let c = one(r#"AT^SYSCFGEX="030201",3fffffff,2,4,7fffffffffffffff,,"#);
        assert_eq!(c.name, "^SYSCFGEX");
        match &c.kind {
            Kind::Set(a) => assert_eq!(a.len(), 7),
            k => panic!("{k:?}"),
        }
        assert_eq!(one("AT$QCPDPP=1,0").name, "$QCPDPP");
        assert_eq!(one("AT!SCACT=1,1").name, "!SCACT");
        assert_eq!(one("AT*ENAP=1,1").name, "*ENAP");
    }

    #[test]
    fn basic_commands() {
        let v = parse_line("ATE0V1").expect("parses");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "E");
        assert_eq!(v[0].num(0), Some(0));
        assert_eq!(v[1].name, "V");
        assert_eq!(one("ATS0=0").name, "S0");
        assert_eq!(one("ATZ").kind, Kind::Exec);
        assert!(parse_line("AT").expect("parses").is_empty());
        assert_eq!(parse_line("hello"), Err(ParseError::NotAt));
        assert_eq!(parse_line(r#"AT+CPIN="12"#), Err(ParseError::Syntax));
    }

    #[test]
    fn redaction_hides_secrets_only() {
        assert_eq!(redact_line(r#"AT+CPIN="1234""#), r#"AT+CPIN="***""#);
        assert_eq!(
            redact_line(r#"at+cpin="12345678","4321""#),
            r#"AT+CPIN="***","***""#
        );
        assert_eq!(
            redact_line(r#"AT^NDISDUP=1,1,"internet","user","secret",2"#),
            r#"AT^NDISDUP=1,1,"internet","***","***",2"#
        );
        assert_eq!(redact_line("AT+CGMI"), "AT+CGMI");
        assert_eq!(redact_line("ATE0"), "ATE0");
        assert!(!redact_line(r#"AT+CPIN="1234"#).contains("1234"));
    }
}
