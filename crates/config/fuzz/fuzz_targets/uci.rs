//! UCI parse + write: any text → a parse or a syntax error, never a panic; for every text
//! that parses, a change to one of its sections is written at statement boundaries and
//! reads back as the change applied to the parse (`Document::edit` never gives up).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncmd_config::uci::{parse, Package};
use ncmd_config::{Change, Document, Edit};

const OPTIONS: &[&str] = &["apn", "pincode", "mode", "probe_hosts", "a"];
const VALUES: &[&str] = &["internet", "it's", "a \"b\"", "back\\slash", "x;y #z", "two\nlines", "", " "];

fuzz_target!(|data: &[u8]| {
    // First three bytes: which change; the rest: the file.
    let [section, option, edit, rest @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Ok(doc) = Document::parse(text) else { return };
    let pkg: &Package = doc.package();
    if pkg.sections.is_empty() {
        return;
    }
    let section = usize::from(*section) % pkg.sections.len();
    // An option the section has, or one of ours.
    let existing = &pkg.sections[section].options;
    let option = match usize::from(*option) % (OPTIONS.len() + existing.len()) {
        i if i < OPTIONS.len() => OPTIONS[i].to_owned(),
        i => existing[i - OPTIONS.len()].0.clone(),
    };
    let value = VALUES[usize::from(*edit / 3) % VALUES.len()].to_owned();
    let edit = match edit % 3 {
        0 => Edit::Set(value),
        1 => Edit::AddToList(value),
        _ => Edit::Delete,
    };
    let changes = [Change { section, option, edit }];
    let mut expected = pkg.clone();
    expected.apply(&changes).expect("the change names an existing section and a valid option");
    let written = doc.edit(&changes).unwrap_or_else(|e| panic!("{e}"));
    let reparsed = parse(written.text()).expect("the written file parses");
    assert!(reparsed.same_content(&expected));
});
