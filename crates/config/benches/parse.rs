//! `cargo bench -p ncmd-config`: how long parsing and one edit take as a UCI file grows.
//! Prints one line per size; a linear parser keeps µs/option flat.

use std::time::{Duration, Instant};

/// One `config interface` section per `per_section` options, `n` options in all, with the
/// syntax the parser must handle (quotes, lists, comments, `;`).
fn file(n: usize, per_section: usize) -> String {
    let mut text = String::with_capacity(n * 32);
    for i in 0..n {
        if i % per_section == 0 {
            text.push_str(&format!("\n# section {}\nconfig interface 's{}'\n", i / per_section, i / per_section));
        }
        match i % 4 {
            0 => text.push_str(&format!("\toption o{i} 'value {i}'\n")),
            1 => text.push_str(&format!("\toption o{i} \"v\\\"{i}\"; list l{i} x\n")),
            2 => text.push_str(&format!("\tlist l{} item{i}\n", i % 7)),
            _ => text.push_str(&format!("\toption o{i} plain{i} # comment\n")),
        }
    }
    text
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    println!("{:>8} {:>12} {:>12} {:>14} {:>12}", "options", "per section", "parse ms", "µs per option", "edit ms");
    for per_section in [usize::MAX, 10] {
        for n in [10_000, 20_000, 40_000, 80_000] {
            let text = file(n, per_section);
            let parse = best_of(3, || {
                let doc = ncmd_config::Document::parse(text.as_str()).expect("the generated file is valid");
                std::hint::black_box(doc);
            });
            // One settings change to the first section: parse, edit, check (a second parse).
            let doc = ncmd_config::Document::parse(text.as_str()).expect("the generated file is valid");
            let edit = best_of(3, || {
                let out = doc.edit(&[ncmd_config::Change::set(0, "apn", "internet")]).expect("writable");
                std::hint::black_box(out);
            });
            let shown = if per_section == usize::MAX { "all".to_string() } else { per_section.to_string() };
            println!(
                "{n:>8} {shown:>12} {:>12.1} {:>14.3} {:>12.1}",
                parse.as_secs_f64() * 1e3,
                parse.as_secs_f64() * 1e6 / n as f64,
                edit.as_secs_f64() * 1e3
            );
        }
    }
    // One 50 MB value (issue 12 item 9's APN).
    let text = format!("config interface 'wwan'\n\toption apn '{}'\n", "a".repeat(50 << 20));
    let t = best_of(3, || {
        std::hint::black_box(ncmd_config::parse_uci(&text).expect("valid"));
    });
    println!(
        "a 50 MB value: parse {:.1} ms ({:.2} ns per byte)",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e9 / text.len() as f64
    );
}
