//! MCP config extraction for every client: the first byte picks it.
#![no_main]

use keysweep::format::{mcp, Client};
use libfuzzer_sys::fuzz_target;

const CLIENTS: &[Client] = &[
    Client::ClaudeDesktop,
    Client::ClaudeCode,
    Client::Cursor,
    Client::VsCode,
    Client::Windsurf,
    Client::Cline,
    Client::Continue,
    Client::Zed,
    Client::Codex,
    Client::Gemini,
    Client::Generic,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let _ = mcp::literals(CLIENTS[pick as usize % CLIENTS.len()], rest);
});
