//! Parsers and classifiers: any text → a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncmd_at::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r: &str = &text;
    parse::run_all(r);
    let _ = ncmd_at::classify_final(r);
    let _ = ncmd_at::is_unsolicited(r);
    let _ = ncmd_at::reply_prefix(r);
});
