//! Where MCP clients keep their configuration: the documented per-user
//! locations on Linux, macOS and Windows, and the per-project files.
//!
//! Every OS's layout is checked under one home directory, so a home synced
//! between machines (or a fake home in a test) is covered whatever the
//! current OS.

use std::path::{Path, PathBuf};

use crate::format::Client;

/// Whose configuration a location holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    User,
    Project,
}

/// A place an MCP client reads its configuration from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub client: Client,
    pub path: PathBuf,
    pub scope: Scope,
}

/// The per-user configuration directories, which the OS or the user may move
/// away from the home.
#[derive(Debug, Clone)]
pub struct ConfigDirs {
    /// Linux's `$XDG_CONFIG_HOME` (default `~/.config`).
    pub xdg_config: PathBuf,
    /// Windows' `%APPDATA%` (default `~\AppData\Roaming`).
    pub appdata: PathBuf,
    /// macOS's `~/Library/Application Support`.
    pub mac_support: PathBuf,
}

impl ConfigDirs {
    /// The default directories under `home`, ignoring the environment (for
    /// `--home`).
    pub fn under(home: &Path) -> ConfigDirs {
        ConfigDirs {
            xdg_config: home.join(".config"),
            appdata: home.join("AppData").join("Roaming"),
            mac_support: home.join("Library").join("Application Support"),
        }
    }

    /// The directories for the current user: `XDG_CONFIG_HOME` and `APPDATA`
    /// when set, the defaults under `home` otherwise.
    pub fn from_env(home: &Path) -> ConfigDirs {
        let mut d = ConfigDirs::under(home);
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            d.xdg_config = PathBuf::from(x);
        }
        if let Some(x) = std::env::var_os("APPDATA").filter(|x| !x.is_empty()) {
            d.appdata = PathBuf::from(x);
        }
        d
    }
}

/// The current user's home: `$HOME`, or `%USERPROFILE%` on Windows.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// VS Code flavours and forks whose user directory holds `mcp.json`,
/// `settings.json` and extension storage (Cline's settings).
const VSCODE_DIRS: &[&str] = &["Code", "Code - Insiders", "VSCodium"];

/// Every location to look at, user locations first. Directories that hold
/// one file per server (Continue's `mcpServers/`) are listed as they are
/// found on disk.
pub fn locations(home: &Path, dirs: &ConfigDirs, project: Option<&Path>) -> Vec<Location> {
    let mut out = Vec::new();
    let mut user = |client: Client, path: PathBuf| {
        out.push(Location {
            client,
            path,
            scope: Scope::User,
        })
    };
    let os_dirs = [&dirs.xdg_config, &dirs.mac_support, &dirs.appdata];

    for d in os_dirs {
        user(
            Client::ClaudeDesktop,
            d.join("Claude").join("claude_desktop_config.json"),
        );
    }
    user(Client::ClaudeCode, home.join(".claude.json"));
    user(Client::Cursor, home.join(".cursor").join("mcp.json"));
    for d in os_dirs {
        for code in VSCODE_DIRS {
            let u = d.join(code).join("User");
            user(Client::VsCode, u.join("mcp.json"));
            user(Client::VsCode, u.join("settings.json"));
        }
    }
    user(
        Client::Windsurf,
        home.join(".codeium")
            .join("windsurf")
            .join("mcp_config.json"),
    );
    for d in os_dirs {
        for code in VSCODE_DIRS.iter().chain(&["Cursor"]) {
            user(
                Client::Cline,
                d.join(code)
                    .join("User")
                    .join("globalStorage")
                    .join("saoudrizwan.claude-dev")
                    .join("settings")
                    .join("cline_mcp_settings.json"),
            );
        }
    }
    let cont = home.join(".continue");
    user(Client::Continue, cont.join("config.yaml"));
    user(Client::Continue, cont.join("config.json"));
    for p in dir_files(&cont.join("mcpServers")) {
        user(Client::Continue, p);
    }
    user(
        Client::Zed,
        dirs.xdg_config.join("zed").join("settings.json"),
    );
    user(Client::Zed, dirs.appdata.join("Zed").join("settings.json"));
    user(Client::Codex, home.join(".codex").join("config.toml"));
    user(Client::Gemini, home.join(".gemini").join("settings.json"));

    if let Some(p) = project {
        let mut proj = |client: Client, path: PathBuf| {
            out.push(Location {
                client,
                path,
                scope: Scope::Project,
            })
        };
        proj(Client::ClaudeCode, p.join(".mcp.json"));
        proj(Client::Cursor, p.join(".cursor").join("mcp.json"));
        proj(Client::VsCode, p.join(".vscode").join("mcp.json"));
        proj(Client::VsCode, p.join(".vscode").join("settings.json"));
        for f in dir_files(&p.join(".continue").join("mcpServers")) {
            proj(Client::Continue, f);
        }
        proj(Client::Zed, p.join(".zed").join("settings.json"));
        proj(Client::Codex, p.join(".codex").join("config.toml"));
        proj(Client::Gemini, p.join(".gemini").join("settings.json"));
    }
    out
}

/// The YAML and JSON files in a directory, sorted; none if it is missing.
fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{detect, Kind};

    /// Every documented location is read as its client's format, so that
    /// `keysweep agents` and `keysweep scan` agree on what a file is.
    #[test]
    fn every_location_is_detected_as_its_client() {
        let home = Path::new("/home/u");
        let dirs = ConfigDirs::under(home);
        let locs = locations(home, &dirs, Some(Path::new("proj")));
        assert!(locs.len() > 30);
        for l in locs {
            assert_eq!(
                detect(Some(&l.path), b"{}"),
                Kind::Mcp(l.client),
                "{}",
                l.path.display()
            );
        }
    }
}
