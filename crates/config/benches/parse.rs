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
    println!("{:>8} {:>12} {:>12} {:>14}", "options", "per section", "parse ms", "µs per option");
    for per_section in [usize::MAX, 10] {
        for n in [10_000, 20_000, 40_000, 80_000] {
            let text = file(n, per_section);
            let runs = if n <= 20_000 { 3 } else { 1 };
            let t = best_of(runs, || {
                let pkg = ncmd_config::parse_uci(&text).expect("the generated file is valid");
                std::hint::black_box(pkg);
            });
            let shown = if per_section == usize::MAX { "all".to_string() } else { per_section.to_string() };
            println!("{n:>8} {shown:>12} {:>12.1} {:>14.3}", t.as_secs_f64() * 1e3, t.as_secs_f64() * 1e6 / n as f64);
        }
    }
}
