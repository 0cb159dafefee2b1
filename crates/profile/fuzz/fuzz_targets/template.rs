//! Templates and values from anywhere: parsing never panics; a value holding a quote or a
//! control character never reaches the command (it could end the AT command or start
//! another); a secret value never appears in the log form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncmd_profile::{Template, Var, Vars};

/// Characters no template or fuzz value can hold (they are stripped from the input), so
/// finding one in an expansion proves that variable's value was inserted.
const MARK: char = '\u{e000}';

fuzz_target!(|data: &[u8]| {
    // First line: the template; the rest: one value per variable, in Var::ALL order.
    let text = String::from_utf8_lossy(data).replace(MARK, "");
    let mut lines = text.split('\n');
    let source = lines.next().unwrap_or_default();
    let Ok(template) = Template::parse(source) else { return };
    let values: Vec<(Var, &str)> = Var::ALL.into_iter().zip(lines).collect();
    let with = |replace: Option<Var>| {
        values.iter().fold(Vars::new(1, "IP"), |vars, (var, value)| {
            if Some(*var) == replace && !value.is_empty() {
                vars.set(*var, &MARK.to_string())
            } else {
                vars.set(*var, value)
            }
        })
    };
    let result = template.expand(&with(None));
    for (var, value) in &values {
        // Would this variable's value be inserted? (Same emptiness: same branches.)
        let Ok(probe) = template.expand(&with(Some(*var))) else { continue };
        let inserted = probe.text.contains(MARK);
        if inserted && value.chars().any(|c| c == '"' || c.is_control()) {
            assert!(result.is_err(), "an unsafe value of {} went into {source:?}", var.name());
        }
        if inserted && var.is_secret() {
            assert!(!probe.shown.contains(MARK), "the log form of {source:?} shows {}", var.name());
        }
    }
});
