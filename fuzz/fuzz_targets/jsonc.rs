//! The JSONC parser behind MCP configs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keysweep::format::jsonc::parse(data);
});
