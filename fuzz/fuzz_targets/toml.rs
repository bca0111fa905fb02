//! The TOML parser behind Codex MCP configs.
#![no_main]

use keysweep::format::{mcp, Client};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mcp::literals(Client::Codex, data);
});
