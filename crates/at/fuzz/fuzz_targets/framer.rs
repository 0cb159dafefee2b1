//! Framer: any bytes, any split → same lines, bounded memory, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncmd_at::LineFramer;

fuzz_target!(|data: &[u8]| {
    // First byte: the line bound; second: where to split the rest.
    let [max, cut, rest @ ..] = data else { return };
    let max = usize::from(*max) + 1;
    let cut = usize::from(*cut).min(rest.len());
    let mut whole = LineFramer::new(max);
    let all = whole.push(rest);
    let mut split = LineFramer::new(max);
    let mut parts = split.push(&rest[..cut]);
    parts.extend(split.push(&rest[cut..]));
    assert_eq!(all, parts);
    assert!(whole.pending() <= max);
    assert!(all.iter().all(|l| !l.text.is_empty()));
});
