//! The template engine for AT commands in vendor profiles, compatible with the templates of
//! comgt-ncm's `/etc/gcom/ncm.json` without a shell.
//!
//! Forms: `${name}`, `$name`, `${name:+word}` (word if name is set and non-empty),
//! `${name:-word}` (word if name is unset or empty); a word may itself hold `$name`,
//! `${name}` and quotes. `\"` means `"`, `\\` means `\` and `\$` means `$` (what the shell's
//! eval did to the strings of ncm.json). Only the known variables ([`Var`]) expand; `$`
//! followed by anything else reaches the modem as written (Sierra's `AT$QCPDPP=...`).
//! `${unknown}` and a missing `}` are errors found when the template is parsed.
//!
//! Also [`Pattern`]: a template matched against one reply line, `*` matching any run of
//! characters, ASCII case ignored.
//!
//! Owns the syntax and expansion only; must not know about vendors, the AT transport or
//! where the values come from (callers validate them; expansion refuses values that could
//! end the AT command anyway).

use std::fmt;

/// A variable a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    /// PDP context id (cid), UCI `profile`.
    Profile,
    /// `IP`, `IPV6` or `IPV4V6`.
    Pdptype,
    /// 1 for IP, 2 for IPV6, 3 for IPV4V6.
    ContextType,
    /// The APN.
    Apn,
    /// PAP/CHAP username.
    Username,
    /// PAP/CHAP password (secret by default).
    Password,
    /// Authentication, already mapped to the vendor's value.
    Auth,
    /// SIM PIN (secret by default).
    Pincode,
}

impl Var {
    /// All variables, in the order of their indices.
    pub const ALL: [Var; 8] =
        [Var::Profile, Var::Pdptype, Var::ContextType, Var::Apn, Var::Username, Var::Password, Var::Auth, Var::Pincode];

    /// The name used in templates.
    pub fn name(self) -> &'static str {
        match self {
            Var::Profile => "profile",
            Var::Pdptype => "pdptype",
            Var::ContextType => "context_type",
            Var::Apn => "apn",
            Var::Username => "username",
            Var::Password => "password",
            Var::Auth => "auth",
            Var::Pincode => "pincode",
        }
    }

    /// The variable called `name`.
    pub fn from_name(name: &str) -> Option<Var> {
        Var::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Password and PIN are secret unless the caller says otherwise.
    pub fn is_secret(self) -> bool {
        matches!(self, Var::Password | Var::Pincode)
    }
}

/// A template that cannot be parsed, or a value that cannot go into an AT command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("template '{template}', column {column}: {message}")]
    Syntax { template: String, column: usize, message: String },
    /// A value would end or break the AT command. The value itself is not shown.
    #[error("the value of {var} contains a double quote or a control character and cannot be put into an AT command")]
    UnsafeValue { var: &'static str },
}

/// The values templates expand to, built from already-validated configuration values.
/// Unset and empty values behave alike (as in the shell).
#[derive(Clone, Default)]
pub struct Vars {
    values: [Option<(String, bool)>; 8],
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (var, slot) in Var::ALL.iter().zip(&self.values) {
            if let Some((v, secret)) = slot {
                m.entry(&var.name(), &if *secret { "***" } else { v.as_str() });
            }
        }
        m.finish()
    }
}

impl Vars {
    /// Starts with `profile` (cid), `pdptype` (upper-cased) and the derived `context_type`.
    pub fn new(profile: u8, pdptype: &str) -> Vars {
        let pdptype = pdptype.to_ascii_uppercase();
        let context_type = match pdptype.as_str() {
            "IPV6" => "2",
            "IPV4V6" => "3",
            _ => "1",
        };
        Vars::default()
            .set(Var::Profile, &profile.to_string())
            .set(Var::Pdptype, &pdptype)
            .set(Var::ContextType, context_type)
    }

    /// Sets `var`; password and PIN are marked secret.
    pub fn set(self, var: Var, value: &str) -> Vars {
        self.set_with(var, value, var.is_secret())
    }

    /// Sets `var`, saying whether its value must be hidden in [`Expanded::shown`].
    pub fn set_with(mut self, var: Var, value: &str, secret: bool) -> Vars {
        self.values[var as usize] = Some((value.to_owned(), secret));
        self
    }

    /// The value of `var` (empty if unset).
    pub fn get(&self, var: Var) -> &str {
        self.values[var as usize].as_ref().map_or("", |(v, _)| v.as_str())
    }

    fn secret(&self, var: Var) -> bool {
        self.values[var as usize].as_ref().is_some_and(|(_, s)| *s)
    }
}

/// The result of expanding a template.
#[derive(Clone, PartialEq, Eq)]
pub struct Expanded {
    /// What is sent to the modem.
    pub text: String,
    /// The same with secret values replaced by `***`, for logs.
    pub shown: String,
}

impl fmt::Debug for Expanded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expanded({:?})", self.shown)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(Var),
    /// `${var:+word}` (`if_set`) or `${var:-word}`.
    Alt { var: Var, if_set: bool, word: Vec<Part> },
}

/// A parsed AT command template.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

struct Parser<'a> {
    src: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, column: usize, message: impl Into<String>) -> TemplateError {
        TemplateError::Syntax { template: self.src.to_owned(), column, message: message.into() }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while let Some(&c) = self.chars.get(self.pos) {
            let ok = c == '_' || c.is_ascii_alphabetic() || (self.pos > start && c.is_ascii_digit());
            if !ok {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Parts up to the end, or (in a word) up to the closing `}` opened at `open`.
    fn parts(&mut self, open: Option<usize>) -> Result<Vec<Part>, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(&c) = self.chars.get(self.pos) else {
                if let Some(open) = open {
                    return Err(self.err(open, "missing closing '}' for '${'"));
                }
                break;
            };
            match c {
                '}' if open.is_some() => {
                    self.pos += 1;
                    break;
                }
                '\\' if matches!(self.chars.get(self.pos + 1), Some('"' | '\\' | '$')) => {
                    lit.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                '$' => {
                    let dollar = self.pos;
                    self.pos += 1;
                    if self.chars.get(self.pos) == Some(&'{') {
                        self.pos += 1;
                        let name_at = self.pos + 1;
                        let name = self.ident();
                        if name.is_empty() {
                            return Err(self.err(name_at, "'${' must be followed by a variable name"));
                        }
                        let Some(var) = Var::from_name(&name) else {
                            let known: Vec<&str> = Var::ALL.iter().map(|v| v.name()).collect();
                            return Err(self.err(name_at, format!("unknown variable '{name}'; known: {}", known.join(", "))));
                        };
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        match (self.chars.get(self.pos), self.chars.get(self.pos + 1)) {
                            (Some('}'), _) => {
                                self.pos += 1;
                                parts.push(Part::Var(var));
                            }
                            (Some(':'), Some(op @ ('+' | '-'))) => {
                                let if_set = *op == '+';
                                self.pos += 2;
                                let word = self.parts(Some(dollar + 1))?;
                                parts.push(Part::Alt { var, if_set, word });
                            }
                            (None, _) => return Err(self.err(dollar + 1, format!("missing closing '}}' for '${{{name}'"))),
                            _ => {
                                return Err(self.err(
                                    self.pos + 1,
                                    format!("unsupported form after '${{{name}'; use ${{{name}}}, ${{{name}:+word}} or ${{{name}:-word}}"),
                                ))
                            }
                        }
                    } else {
                        let name = self.ident();
                        match Var::from_name(&name) {
                            Some(var) => {
                                if !lit.is_empty() {
                                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                                }
                                parts.push(Part::Var(var));
                            }
                            None => {
                                lit.push('$');
                                lit.push_str(&name);
                            }
                        }
                    }
                }
                c if c.is_control() => {
                    return Err(self.err(self.pos + 1, "control characters (line breaks, tabs) are not allowed in an AT command"))
                }
                c => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(parts)
    }
}

impl Template {
    /// Parses a template (the JSON-decoded string from a profile file).
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut p = Parser { src: source, chars: source.chars().collect(), pos: 0 };
        let parts = p.parts(None)?;
        Ok(Template { source: source.to_owned(), parts })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True if the template refers to `var` anywhere.
    pub fn uses(&self, var: Var) -> bool {
        fn walk(parts: &[Part], var: Var) -> bool {
            parts.iter().any(|p| match p {
                Part::Lit(_) => false,
                Part::Var(v) => *v == var,
                Part::Alt { var: v, word, .. } => *v == var || walk(word, var),
            })
        }
        walk(&self.parts, var)
    }

    /// Expands the template. Fails only if a value it uses holds a `"` or a control
    /// character (which config validation refuses earlier).
    pub fn expand(&self, vars: &Vars) -> Result<Expanded, TemplateError> {
        let mut out = Expanded { text: String::new(), shown: String::new() };
        expand_parts(&self.parts, vars, &mut out)?;
        Ok(out)
    }
}

fn expand_parts(parts: &[Part], vars: &Vars, out: &mut Expanded) -> Result<(), TemplateError> {
    for part in parts {
        match part {
            Part::Lit(s) => {
                out.text.push_str(s);
                out.shown.push_str(s);
            }
            Part::Var(var) => {
                let value = vars.get(*var);
                if value.chars().any(|c| c == '"' || c.is_control()) {
                    return Err(TemplateError::UnsafeValue { var: var.name() });
                }
                out.text.push_str(value);
                out.shown.push_str(if vars.secret(*var) && !value.is_empty() { "***" } else { value });
            }
            Part::Alt { var, if_set, word } => {
                if vars.get(*var).is_empty() != *if_set {
                    expand_parts(word, vars, out)?;
                } else if !*if_set {
                    expand_parts(&[Part::Var(*var)], vars, out)?;
                }
            }
        }
    }
    Ok(())
}

/// A template matched against one reply line: after expansion, `*` matches any run of
/// characters and ASCII case is ignored; the whole line must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Template);

impl Pattern {
    /// Parses a pattern.
    pub fn parse(source: &str) -> Result<Pattern, TemplateError> {
        Template::parse(source).map(Pattern)
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        self.0.source()
    }

    /// True if `line` (surrounding whitespace ignored) matches.
    pub fn matches(&self, vars: &Vars, line: &str) -> Result<bool, TemplateError> {
        let pattern = self.0.expand(vars)?.text;
        Ok(glob(pattern.as_bytes(), line.trim().as_bytes()))
    }

    /// True if any of `lines` matches.
    pub fn matches_any<'l>(&self, vars: &Vars, lines: impl IntoIterator<Item = &'l str>) -> Result<bool, TemplateError> {
        let pattern = self.0.expand(vars)?.text;
        Ok(lines.into_iter().any(|l| glob(pattern.as_bytes(), l.trim().as_bytes())))
    }
}

/// `*`-only glob, ASCII case-insensitive, linear backtracking.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(t: &str, vars: &Vars) -> String {
        Template::parse(t).unwrap().expand(vars).unwrap().text
    }

    #[test]
    fn forms() {
        let v = Vars::new(2, "ipv4v6").set(Var::Apn, "internet");
        assert_eq!(x("${profile},$profile,${pdptype},${context_type}", &v), "2,2,IPV4V6,3");
        assert_eq!(x("A${apn:+,\\\"$apn\\\"}B", &v), "A,\"internet\"B");
        assert_eq!(x("A${username:+,\\\"$username\\\"}B", &v), "AB");
        assert_eq!(x("${auth:-0}|${apn:-x}|${auth:-${profile}}", &v), "0|internet|2");
        assert_eq!(x("${apn:+${apn:+[${apn}]}}", &v), "[internet]");
        assert_eq!(x("${apn:+\"q\"}", &v), "\"q\"");
        assert_eq!(x("a\\\\b\\$apn\\x", &v), "a\\b$apn\\x");
        // Empty counts as unset.
        let v = v.set(Var::Apn, "");
        assert_eq!(x("${apn:+,\"$apn\"}${apn:-none}", &v), "none");
    }

    #[test]
    fn dollar_literals_reach_the_modem() {
        let v = Vars::new(1, "IP").set(Var::Auth, "1");
        assert_eq!(x("AT$QCPDPP=${profile},${auth:-0}", &v), "AT$QCPDPP=1,1");
        assert_eq!(x("$ $1 $$ $apnx $}", &v), "$ $1 $$ $apnx $}");
        assert_eq!(x("AT}", &v), "AT}");
    }

    #[test]
    fn errors() {
        let e = Template::parse("AT^NDISDUP=${profile,1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "template 'AT^NDISDUP=${profile,1', column 21: unsupported form after '${profile'; use ${profile}, ${profile:+word} or ${profile:-word}"
        );
        let e = Template::parse("AT+X=${apn").unwrap_err();
        assert!(e.to_string().contains("missing closing '}' for '${apn'"), "{e}");
        let e = Template::parse("AT+X=${apn:+,\"$apn\"").unwrap_err();
        assert!(e.to_string().contains("column 6: missing closing '}'"), "{e}");
        let e = Template::parse("AT+X=${apm}").unwrap_err();
        assert!(e.to_string().contains("unknown variable 'apm'; known: profile, pdptype"), "{e}");
        assert!(Template::parse("AT+X=${}").unwrap_err().to_string().contains("must be followed by a variable name"));
        assert!(Template::parse("AT\r").is_err());
    }

    #[test]
    fn secrets_are_hidden_in_shown_and_unsafe_values_refused() {
        let t = Template::parse("AT+X=\"$username\",\"${password}\",${pincode:-none}").unwrap();
        let v = Vars::new(1, "IP").set(Var::Username, "bob").set(Var::Password, "Sup3r-distinct").set(Var::Pincode, "9731");
        let e = t.expand(&v).unwrap();
        assert_eq!(e.text, "AT+X=\"bob\",\"Sup3r-distinct\",9731");
        assert_eq!(e.shown, "AT+X=\"bob\",\"***\",***");
        assert!(!format!("{e:?}{v:?}").contains("Sup3r") && !format!("{v:?}").contains("9731"));
        let v = v.set_with(Var::Username, "bob", true);
        assert_eq!(t.expand(&v).unwrap().shown, "AT+X=\"***\",\"***\",***");
        for bad in ["a\"b", "a\rb", "a\nb", "a\0b"] {
            let err = t.expand(&v.clone().set(Var::Password, bad)).unwrap_err();
            assert_eq!(err, TemplateError::UnsafeValue { var: "password" });
        }
    }

    #[test]
    fn patterns() {
        let v = Vars::new(3, "IP");
        let p = Pattern::parse("+CGACT: ${profile},1").unwrap();
        assert!(p.matches(&v, "+CGACT: 3,1\r").unwrap());
        assert!(!p.matches(&v, "+CGACT: 1,1").unwrap());
        assert!(p.matches_any(&v, ["+CGACT: 1,0", "+CGACT: 3,1"]).unwrap());
        let p = Pattern::parse("^SYSCFGEX: \"030201\",*").unwrap();
        assert!(p.matches(&v, "^SYSCFGEX: \"030201\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,").unwrap());
        assert!(!p.matches(&v, "^SYSCFGEX: \"0201\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,").unwrap());
        let p = Pattern::parse("^syscfgex: *,*,*,1,*").unwrap();
        assert!(p.matches(&v, "^SYSCFGEX: \"00\",3FFFFFFF,1,1,7FFFFFFFFFFFFFFF,,").unwrap());
        assert!(!p.matches(&v, "^SYSCFGEX: \"00\",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,").unwrap());
    }
}
