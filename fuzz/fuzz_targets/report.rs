//! Reading a JSON or JSON Lines report back into findings, as
//! `keysweep revoke --from` does.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = keysweep::cli::parse_report(&text, Path::new("report.json"));
});
