//! The YAML parser, through the two paths that reach it: CI files and MCP
//! configs written in YAML (Continue).
#![no_main]

use keysweep::format::{ci, mcp, CiSystem, Client};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ci::literals(CiSystem::GitlabCi, data);
    let _ = mcp::literals(Client::Continue, data);
});
