//! Writes a generated SyncML DM message as XML to standard output, for benchmarks and
//! for timing the host tool against other codecs on the same input.
//!
//! ```text
//! cargo run --release --example gen_message -- large 8388608 > big.xml
//! cargo run --release --example gen_message -- mixed 8388608 > mixed.xml
//! cargo run --release --example gen_message -- seed 42 > one.xml
//! ```
//!
//! `large N` is a Replace of many items of about N bytes, as a device sends a large part
//! of its tree; `mixed N` is about N bytes of varied commands from the seeded generator
//! the tests use; `seed S` is one message from that generator.

use std::io::Write;
use std::process::ExitCode;

#[path = "../tests/common/gen.rs"]
mod gen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok());
    let xml = match (args.first().map(String::as_str), number(1)) {
        (Some("large"), Some(n)) => gen::large_message(usize::try_from(n).unwrap_or(usize::MAX)),
        (Some("mixed"), Some(n)) => gen::mixed_message(usize::try_from(n).unwrap_or(usize::MAX)),
        (Some("seed"), Some(s)) => gen::Generator::new(s).message(),
        _ => {
            eprintln!("usage: gen_message (large BYTES | mixed BYTES | seed SEED)");
            return ExitCode::from(2);
        }
    };
    match std::io::stdout().lock().write_all(xml.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("standard output: {e}");
            ExitCode::FAILURE
        }
    }
}
