//! MCP client configurations: which client a file belongs to, where its
//! servers are, and which values in them are literal credentials.
//!
//! Each server's `env`, `headers`/`http_headers`, `args` (`--token X`,
//! `--api-key=X`, `-e NAME=X`, `--header "Authorization: Bearer X"`), `url`
//! (`user:pass@`, `?key=`) and other sensitive keys are looked at. A value
//! written as a reference (`${env:X}`, `${input:x}`, `${X}`, `$X`,
//! `${{ secrets.X }}`, Codex's `env_vars`/`*_env_var`/`env_http_headers`) is
//! never reported; a literal in a sensitive position is, by
//! `mcp-literal-credential`, when it looks like a secret.

use serde::{Deserialize, Serialize};

use super::literal::{
    env_name, is_reference, is_sensitive_name, looks_like_secret, strip_scheme, url_credentials,
};
use super::tree::{Node, Text, Tree};
use super::{Context, Literal};

/// The id of the rule for literal credentials in MCP configs.
pub const RULE_ID: &str = "mcp-literal-credential";

/// An MCP client (the program whose config file it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Client {
    #[serde(rename = "claude-desktop")]
    ClaudeDesktop,
    #[serde(rename = "claude-code")]
    ClaudeCode,
    #[serde(rename = "cursor")]
    Cursor,
    #[serde(rename = "vscode")]
    VsCode,
    #[serde(rename = "windsurf")]
    Windsurf,
    #[serde(rename = "cline")]
    Cline,
    #[serde(rename = "continue")]
    Continue,
    #[serde(rename = "zed")]
    Zed,
    #[serde(rename = "codex")]
    Codex,
    #[serde(rename = "gemini-cli")]
    Gemini,
    /// An `mcpServers` file of no known client.
    #[serde(rename = "generic")]
    Generic,
}

impl Client {
    /// The id used in JSON output (`vscode`, `claude-code`, …).
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::VsCode => "vscode",
            Client::Windsurf => "windsurf",
            Client::Cline => "cline",
            Client::Continue => "continue",
            Client::Zed => "zed",
            Client::Codex => "codex",
            Client::Gemini => "gemini-cli",
            Client::Generic => "generic",
        }
    }

    /// The product name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::VsCode => "VS Code",
            Client::Windsurf => "Windsurf",
            Client::Cline => "Cline",
            Client::Continue => "Continue",
            Client::Zed => "Zed",
            Client::Codex => "Codex",
            Client::Gemini => "Gemini CLI",
            Client::Generic => "MCP client",
        }
    }
}

/// The client whose config lives at this path, from the file name and its
/// two parent directories.
pub(crate) fn detect_path(name: &str, parent: &str, grandparent: &str) -> Option<Client> {
    let name = name.to_ascii_lowercase();
    let parent = parent.to_ascii_lowercase();
    let grandparent = grandparent.to_ascii_lowercase();
    let vscode_user = parent == "user"
        && matches!(
            grandparent.as_str(),
            "code" | "code - insiders" | "vscodium" | "code - oss"
        );
    let vscode_dir = parent == ".vscode" || vscode_user || grandparent == "profiles";
    Some(match name.as_str() {
        "claude_desktop_config.json" => Client::ClaudeDesktop,
        ".mcp.json" | ".claude.json" => Client::ClaudeCode,
        "mcp_config.json" => Client::Windsurf,
        "cline_mcp_settings.json" => Client::Cline,
        "mcp.json" if parent == ".cursor" => Client::Cursor,
        "mcp.json" if vscode_dir => Client::VsCode,
        "settings.json" if parent == "zed" || parent == ".zed" => Client::Zed,
        "settings.json" if parent == ".gemini" => Client::Gemini,
        "settings.json" if vscode_dir => Client::VsCode,
        "config.toml" if parent == ".codex" => Client::Codex,
        "config.yaml" | "config.yml" | "config.json" if parent == ".continue" => Client::Continue,
        _ if parent == "mcpservers" && grandparent == ".continue" => Client::Continue,
        _ => return None,
    })
}

/// Finds the servers in an MCP config and the values in credential
/// positions. Every server value is returned (as context for provider-rule
/// findings); those that look like literal secrets are marked reportable.
///
/// # Errors
///
/// Fails when the file does not parse (JSON with comments, YAML or TOML,
/// by its content), with the line and column.
pub fn literals(client: Client, bytes: &[u8]) -> Result<Vec<Literal>, super::FormatError> {
    // Windows editors write a UTF-8 byte order mark; as three spaces it
    // leaves the JSON valid and every offset where it was.
    let unmarked;
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if first_significant(rest) == Some(b'{') => {
            unmarked = [b"   ".as_slice(), rest].concat();
            unmarked.as_slice()
        }
        _ => bytes,
    };
    let text = super::utf8(bytes)?;
    let first = first_significant(bytes);
    let root = if first == Some(b'{') || first.is_none() {
        super::jsonc::parse(bytes)?
    } else if client == Client::Codex || text.contains("[mcp_servers") {
        super::toml::parse(text)?
    } else {
        super::yaml::parse(text)?
    };
    let mut out = Vec::new();
    let mut servers = Vec::new();
    find_servers(&root, client, 0, &mut servers);
    for (name, server) in servers {
        let s = ServerCheck {
            client,
            server: name,
            out: &mut out,
        };
        s.check(server);
    }
    Ok(out)
}

/// Keys under which clients keep their servers.
fn is_servers_key(key: &str, client: Client) -> bool {
    matches!(
        key,
        "mcpServers" | "mcp_servers" | "context_servers" | "modelContextProtocolServers"
    ) || (key == "servers" && client == Client::VsCode)
}

fn find_servers<'t>(t: &'t Tree, client: Client, depth: usize, out: &mut Vec<(String, &'t Tree)>) {
    if depth > 8 {
        return;
    }
    match &t.node {
        Node::Map(entries) => {
            for (k, v) in entries {
                if is_servers_key(&k.value, client) {
                    match &v.node {
                        Node::Map(servers) => {
                            out.extend(servers.iter().map(|(n, s)| (n.value.clone(), s)))
                        }
                        Node::List(servers) => {
                            for (i, s) in servers.iter().enumerate() {
                                let name = s
                                    .get("name")
                                    .and_then(Tree::as_str)
                                    .map_or_else(|| format!("#{}", i + 1), str::to_string);
                                out.push((name, s));
                            }
                        }
                        _ => {}
                    }
                } else {
                    find_servers(v, client, depth + 1, out);
                }
            }
        }
        Node::List(items) => {
            for i in items {
                find_servers(i, client, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Where in a server a value sits; the fix differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Env,
    Header,
    Arg,
    Url,
    Other,
}

/// Server keys that hold names of variables or harmless settings, never
/// credentials.
const NOT_CREDENTIALS: &[&str] = &[
    "env_vars",
    "env_http_headers",
    "bearer_token_env_var",
    "envFile",
    "env_file",
    "cwd",
    "type",
    "name",
    "description",
    "disabled",
    "autoApprove",
    "alwaysAllow",
    "timeout",
    "trust",
    "inputs",
];

struct ServerCheck<'o> {
    client: Client,
    server: String,
    out: &'o mut Vec<Literal>,
}

impl ServerCheck<'_> {
    fn check(mut self, server: &Tree) {
        // The whole server, as context for findings anywhere in it.
        self.out.push(Literal {
            rule_id: RULE_ID,
            secret: String::new(),
            span: server.span.clone(),
            context: self.context(None, None),
            report: false,
        });
        self.walk(server, 0);
    }

    fn walk(&mut self, server: &Tree, depth: usize) {
        if depth > 3 {
            return;
        }
        for (k, v) in server.entries() {
            let key = k.value.as_str();
            if NOT_CREDENTIALS.contains(&key) {
                continue;
            }
            match key {
                "env" | "environment" => {
                    for (name, val) in v.entries() {
                        if let Some(t) = val.as_text() {
                            self.value(&name.value, Position::Env, t, 0..t.value.len());
                        }
                    }
                }
                "headers" | "http_headers" => self.headers(v),
                "requestOptions" | "transport" | "command" if !matches!(v.node, Node::Str(_)) => {
                    self.walk(v, depth + 1)
                }
                "command" => {
                    // A command line written as one string: judge its words.
                    if let Some(t) = v.as_text() {
                        let words = split_words(t);
                        self.args(&words);
                    }
                }
                "args" => {
                    let items: Vec<Text> = v
                        .items()
                        .iter()
                        .filter_map(|i| i.as_text().cloned())
                        .collect();
                    self.args(&items);
                }
                "url" | "serverUrl" | "httpUrl" | "endpoint" => {
                    if let Some(t) = v.as_text() {
                        self.url(t);
                    }
                }
                "settings" => self.leaves(v, 0),
                _ => {
                    if let Some(t) = v.as_text() {
                        if is_sensitive_name(key) {
                            self.value(key, Position::Other, t, 0..t.value.len());
                        }
                    }
                }
            }
        }
    }

    /// Sensitive leaves anywhere below (Zed's extension `settings`).
    fn leaves(&mut self, t: &Tree, depth: usize) {
        if depth > 6 {
            return;
        }
        for (k, v) in t.entries() {
            match &v.node {
                Node::Str(s) if is_sensitive_name(&k.value) => {
                    self.value(&k.value, Position::Other, s, 0..s.value.len())
                }
                _ => self.leaves(v, depth + 1),
            }
        }
    }

    fn headers(&mut self, v: &Tree) {
        for (name, val) in v.entries() {
            if let Some(t) = val.as_text() {
                let r = strip_scheme(&t.value);
                self.value(&name.value, Position::Header, t, r);
            }
        }
    }

    fn args(&mut self, items: &[Text]) {
        let mut i = 0;
        while i < items.len() {
            let t = &items[i];
            let a = t.value.as_str();
            i += 1;
            if a.contains("://") {
                self.url(t);
                continue;
            }
            if a.starts_with('-') {
                if let Some(eq) = a.find('=') {
                    let flag = &a[..eq];
                    if is_header_flag(flag) {
                        self.header_arg(t, eq + 1);
                    } else {
                        self.value(flag, Position::Arg, t, eq + 1..a.len());
                    }
                    continue;
                }
                let Some(next) = items.get(i) else { continue };
                if is_header_flag(a) {
                    self.header_arg(next, 0);
                    i += 1;
                } else if matches!(a, "-e" | "--env") {
                    self.assignment(next);
                    i += 1;
                } else if is_sensitive_name(a) && !next.value.starts_with('-') {
                    self.value(a, Position::Arg, next, 0..next.value.len());
                    i += 1;
                }
                continue;
            }
            self.assignment(t);
        }
    }

    /// `NAME=value`, as docker's `-e` and `env` take it.
    fn assignment(&mut self, t: &Text) {
        let a = t.value.as_str();
        if let Some(eq) = a.find('=') {
            let name = &a[..eq];
            if !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                self.value(name, Position::Env, t, eq + 1..a.len());
            }
        }
    }

    /// `Name: value` given to `--header`.
    fn header_arg(&mut self, t: &Text, from: usize) {
        let a = &t.value[from..];
        if let Some(colon) = a.find(':') {
            let name = a[..colon].trim();
            let value_start = from + colon + 1;
            let r = strip_scheme(&t.value[value_start..]);
            self.value(
                name,
                Position::Header,
                t,
                value_start + r.start..value_start + r.end,
            );
        }
    }

    fn url(&mut self, t: &Text) {
        for (what, r) in url_credentials(&t.value) {
            let name = what.clone();
            self.value_named(&name, Position::Url, t, r, true);
        }
    }

    fn value(&mut self, name: &str, pos: Position, t: &Text, r: std::ops::Range<usize>) {
        let sensitive = is_sensitive_name(name);
        self.value_named(name, pos, t, r, sensitive);
    }

    fn value_named(
        &mut self,
        name: &str,
        pos: Position,
        t: &Text,
        r: std::ops::Range<usize>,
        sensitive: bool,
    ) {
        if r.start >= r.end || r.end > t.value.len() {
            return;
        }
        let secret = &t.value[r.clone()];
        let report = sensitive && !is_reference(&t.value) && looks_like_secret(secret);
        let replacement = format!(
            "{}{}{}",
            &t.value[..r.start],
            self.reference(name, pos),
            &t.value[r.end..]
        );
        let fix = Some(self.fix(name, pos, &replacement));
        self.out.push(Literal {
            rule_id: RULE_ID,
            secret: secret.to_string(),
            span: t.span_of(r),
            context: self.context(Some(name), fix),
            report,
        });
    }

    fn context(&self, variable: Option<&str>, fix: Option<String>) -> Context {
        Context {
            mcp_client: Some(self.client),
            mcp_server: Some(self.server.clone()),
            variable: variable.map(str::to_string),
            fix,
            ..Context::default()
        }
    }

    /// The environment variable suggested to hold the value.
    fn env_var(&self, name: &str, pos: Position) -> String {
        let server = env_name(&self.server);
        match pos {
            Position::Env => name.to_string(),
            Position::Header if name.eq_ignore_ascii_case("authorization") => {
                format!("{server}_TOKEN")
            }
            Position::Url => {
                let what = name
                    .strip_prefix("url parameter ")
                    .map_or("PASSWORD".to_string(), env_name);
                format!("{server}_{what}")
            }
            _ => env_name(name),
        }
    }

    /// The value's reference in the client's syntax.
    fn reference(&self, name: &str, pos: Position) -> String {
        let var = self.env_var(name, pos);
        match self.client {
            Client::ClaudeCode | Client::Gemini => format!("${{{var}}}"),
            Client::Cursor | Client::Windsurf | Client::Generic => format!("${{env:{var}}}"),
            Client::VsCode => format!("${{input:{}}}", input_id(&var)),
            Client::Continue => format!("${{{{ secrets.{var} }}}}"),
            Client::ClaudeDesktop | Client::Cline | Client::Zed | Client::Codex => var,
        }
    }

    fn fix(&self, name: &str, pos: Position, replacement: &str) -> String {
        let var = self.env_var(name, pos);
        match self.client {
            Client::ClaudeCode => format!(
                "Write \"{replacement}\" and export {var} in your shell: Claude Code expands \
                 ${{VAR}} and ${{VAR:-default}} in .mcp.json and ~/.claude.json."
            ),
            Client::Cursor => format!(
                "Write \"{replacement}\" and set {var} in your environment (or in a git-ignored \
                 file named by \"envFile\"): Cursor expands ${{env:VAR}}."
            ),
            Client::Windsurf => format!(
                "Write \"{replacement}\" and set {var} in your environment: Windsurf expands \
                 ${{env:VAR}} (and ${{file:/path}}) in mcp_config.json."
            ),
            Client::Gemini => format!(
                "Write \"{replacement}\" and export {var}: Gemini CLI expands $VAR and ${{VAR}} \
                 in settings.json."
            ),
            Client::VsCode => {
                let id = input_id(&var);
                format!(
                    "Add {{\"type\": \"promptString\", \"id\": \"{id}\", \"description\": \
                     \"{var}\", \"password\": true}} to \"inputs\" and write \"{replacement}\": \
                     VS Code prompts once and keeps the value in its secret storage."
                )
            }
            Client::Continue => format!(
                "Write \"{replacement}\" and define {var} in .continue/.env or as a Continue \
                 Hub secret."
            ),
            Client::Codex => match pos {
                Position::Env => format!(
                    "Remove {var} from env and add env_vars = [\"{var}\"]: Codex passes it \
                     from your environment to the server."
                ),
                Position::Header if name.eq_ignore_ascii_case("authorization") => format!(
                    "Remove the header and set bearer_token_env_var = \"{var}\": Codex sends \
                     \"Authorization: Bearer\" with the value of {var}."
                ),
                Position::Header => format!(
                    "Move it to env_http_headers = {{ \"{name}\" = \"{var}\" }}: Codex reads \
                     the header's value from {var}."
                ),
                _ => format!(
                    "Codex does not expand variables in args or url: list env_vars = \
                     [\"{var}\"] and have the server read the key from {var}."
                ),
            },
            Client::ClaudeDesktop => format!(
                "Claude Desktop does not expand variables in claude_desktop_config.json: \
                 install the server as a Desktop Extension (its sensitive user_config is kept \
                 in the OS keychain), or start it through a wrapper that reads {var} from your \
                 keychain."
            ),
            Client::Cline | Client::Zed => format!(
                "{} passes these values verbatim: start the server through a wrapper that \
                 reads {var} from a secret store (e.g. \"command\": \"sh\", \"args\": [\"-c\", \
                 \"{var}=$(secret-tool lookup name {var}) exec <server>\"]) and remove the \
                 value from this file.",
                self.client.name()
            ),
            Client::Generic => format!(
                "Write \"{replacement}\" (or your client's syntax for an environment variable) \
                 and set {var} outside this file."
            ),
        }
    }
}

/// The first byte that is not white space or inside a `//` or `/* */`
/// comment: `{` for JSON (with comments, as Zed's settings start).
fn first_significant(bytes: &[u8]) -> Option<u8> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |p| i + p + 4)
            }
            b => return Some(b),
        }
    }
    None
}

fn is_header_flag(flag: &str) -> bool {
    matches!(flag, "--header" | "-H" | "--headers")
}

/// A VS Code input id for a variable: `GITHUB_TOKEN` → `github-token`.
fn input_id(var: &str) -> String {
    var.to_ascii_lowercase().replace('_', "-")
}

/// Splits a command line on white space, each word keeping its map.
fn split_words(t: &Text) -> Vec<Text> {
    let mut out = Vec::new();
    let mut start = None;
    let v = &t.value;
    for (i, c) in v.char_indices().chain(std::iter::once((v.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                let w = &v[s..i];
                let w_trim = w.trim_matches(|c| c == '"' || c == '\'');
                let off = s + w.find(w_trim).unwrap_or(0);
                out.push(Text {
                    value: w_trim.to_string(),
                    map: t.map.slice(off..off + w_trim.len()),
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(client: Client, src: &str) -> Vec<(String, String, String)> {
        literals(client, src.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|l| l.report)
            .map(|l| {
                assert_eq!(&src[l.span.clone()], l.secret, "span points at the secret");
                (
                    l.context.mcp_server.unwrap(),
                    l.context.variable.unwrap(),
                    l.secret,
                )
            })
            .collect()
    }

    #[test]
    fn env_headers_args_url() {
        let src = r#"{
  "mcpServers": {
    "vendor": {
      "command": "npx",
      "args": ["-y", "vendor-mcp", "--api-key", "Vq8Wn4Rt2Yp6Lm0VzX3c", "--token=Tk9fP2xQ7mZ4rW1s"],
      "env": {"VENDOR_API_KEY": "a8F3kL9qW2xZ7mN4pQ1r", "REF": "${env:X}", "OTHER_KEY": "${env:OTHER_KEY}", "MODE": "fast1234"}
    },
    "remote": {
      "url": "https://mcp.vendor.test/sse?api_key=Rk2Lp9Qw4Zx7Nm3B",
      "headers": {"Authorization": "Bearer Hb7Yt3Kd9Lm2Qp5W", "X-Api-Key": "${env:K}"}
    }
  }
}"#;
        let got = reported(Client::Cursor, src);
        let want = [
            ("vendor", "--api-key", "Vq8Wn4Rt2Yp6Lm0VzX3c"),
            ("vendor", "--token", "Tk9fP2xQ7mZ4rW1s"),
            ("vendor", "VENDOR_API_KEY", "a8F3kL9qW2xZ7mN4pQ1r"),
            ("remote", "url parameter api_key", "Rk2Lp9Qw4Zx7Nm3B"),
            ("remote", "Authorization", "Hb7Yt3Kd9Lm2Qp5W"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn fix_messages_use_client_syntax() {
        let src = r#"{"servers": {"gh": {"env": {"GITHUB_TOKEN": "a8F3kL9qW2xZ7mN4pQ1r"}}}}"#;
        let l: Vec<_> = literals(Client::VsCode, src.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|l| l.report)
            .collect();
        let fix = l[0].context.fix.as_deref().unwrap();
        assert!(fix.contains("${input:github-token}"), "{fix}");
        assert!(fix.contains("\"password\": true"), "{fix}");
        assert!(
            !fix.contains("a8F3kL9q"),
            "the fix never repeats the secret"
        );

        let toml = "[mcp_servers.gh]\ncommand = \"x\"\nenv = { GITHUB_TOKEN = \"a8F3kL9qW2xZ7mN4pQ1r\" }\nenv_vars = [\"OTHER_TOKEN\"]\n";
        let l: Vec<_> = literals(Client::Codex, toml.as_bytes())
            .unwrap()
            .into_iter()
            .filter(|l| l.report)
            .collect();
        assert_eq!(l.len(), 1);
        assert!(l[0]
            .context
            .fix
            .as_deref()
            .unwrap()
            .contains("env_vars = [\"GITHUB_TOKEN\"]"));
    }

    #[test]
    fn claude_code_projects_and_zed_commands() {
        let src = r#"{"projects": {"/home/u/app": {"mcpServers": {"db": {"command": "server --password Pq7Wm2Kx9Lr4Tz8N"}}}}}"#;
        assert_eq!(
            reported(Client::ClaudeCode, src),
            vec![("db".into(), "--password".into(), "Pq7Wm2Kx9Lr4Tz8N".into())]
        );
        let zed = r#"{
  // Zed settings
  "context_servers": {
    "vendor": {"command": {"path": "vendor", "args": [], "env": {"VENDOR_TOKEN": "Zt5Rk8Lw2Qm9Xp4V",}},},
  },
}"#;
        assert_eq!(
            reported(Client::Zed, zed),
            vec![(
                "vendor".into(),
                "VENDOR_TOKEN".into(),
                "Zt5Rk8Lw2Qm9Xp4V".into()
            )]
        );
    }

    #[test]
    fn continue_yaml_list() {
        let src = "name: x\nmcpServers:\n  - name: search\n    command: npx\n    env:\n      SEARCH_API_KEY: Ks4Nd8Wq2Lz7Rm5P\n      OTHER_API_KEY: ${{ secrets.OTHER_API_KEY }}\n";
        assert_eq!(
            reported(Client::Continue, src),
            vec![(
                "search".into(),
                "SEARCH_API_KEY".into(),
                "Ks4Nd8Wq2Lz7Rm5P".into()
            )]
        );
    }

    #[test]
    fn detect_paths() {
        assert_eq!(
            detect_path("mcp.json", "User", "Code"),
            Some(Client::VsCode)
        );
        assert_eq!(detect_path("settings.json", "User", "Cursor"), None);
        assert_eq!(
            detect_path("gh.yaml", "mcpServers", ".continue"),
            Some(Client::Continue)
        );
        assert_eq!(detect_path("package.json", "x", "y"), None);
    }
}
