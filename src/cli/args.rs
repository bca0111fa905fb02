//! Every command-line flag, with its documentation. Parsing only: resolving
//! flags into a configuration happens in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Find leaked API keys and tokens in files, MCP configs, CI files and notebooks.
///
/// Exit codes: 0 no findings, 1 findings, 2 error (bad usage, or an input that
/// could not be read: the scan still finishes and reports what it found).
#[derive(Debug, Parser)]
#[command(name = "keysweep", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories for secrets.
    Scan(ScanArgs),
    /// Scan the full history of a git repository (same as `scan --git`).
    Git(ScanArgs),
    /// Scan staged changes before a commit (same as `scan --staged`).
    Staged(ScanArgs),
    /// Sweep many repositories into a datastore: incremental, resumable,
    /// shardable across machines.
    ///
    /// Exit codes: 0 no findings, 1 findings, 2 a repository failed (the
    /// others are still swept and reported) or the sweep could not run.
    Sweep(SweepArgs),
    /// Render findings stored by `keysweep sweep`.
    Report(ReportArgs),
    /// Install a git pre-commit hook that runs `keysweep staged`.
    InstallHook(InstallHookArgs),
    /// List or check detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// Rule selection flags shared by the commands that load rules.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Load extra rules from a YAML file or a directory of them. Repeatable.
    #[arg(long = "rules", value_name = "FILE_OR_DIR", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    /// Use only this rule (an id or a glob like `github-*`). Repeatable.
    #[arg(long = "rule", value_name = "ID", help_heading = "Rules")]
    pub rule: Vec<String>,

    /// Do not use this rule (an id or a glob). Repeatable.
    #[arg(long = "exclude-rule", value_name = "ID", help_heading = "Rules")]
    pub exclude_rule: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinConfidence {
    Low,
    Medium,
    High,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(
        long,
        short = 'f',
        value_enum,
        default_value = "human",
        help_heading = "Output"
    )]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Print secrets in full. By default only their first 4 characters are shown.
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// No progress bar, warnings or summary on standard error.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    /// Exit 0 even when there are findings (errors still exit 2).
    #[arg(long, help_heading = "Output")]
    pub exit_zero: bool,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,

    /// Do not honour .gitignore, .ignore and git exclude files.
    #[arg(long, help_heading = "Input")]
    pub no_ignore: bool,

    /// Leave out paths matching this glob (gitignore syntax). Repeatable.
    #[arg(long, value_name = "GLOB", help_heading = "Input")]
    pub exclude: Vec<String>,

    /// Skip files larger than this (e.g. 500K, 25MiB, 1G).
    #[arg(long, value_name = "SIZE", default_value = "25MiB", value_parser = parse_size, help_heading = "Input")]
    pub max_file_size: u64,

    /// Number of scanning threads (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", help_heading = "Input")]
    pub threads: Option<usize>,

    /// Treat each PATH as a git repository and scan its whole history.
    #[arg(long, conflicts_with = "staged", help_heading = "Git")]
    pub git: bool,

    /// Scan the staged content of the repository at PATH; report only lines the
    /// staged change adds or modifies.
    #[arg(long, help_heading = "Git")]
    pub staged: bool,

    /// Scan history reachable from this ref or revision only (default: every
    /// branch, tag, remote ref, stash and HEAD). Repeatable.
    #[arg(long, value_name = "REF", help_heading = "Git")]
    pub branch: Vec<String>,

    /// Scan only blobs introduced by commits after REV.
    #[arg(
        long,
        value_name = "REV",
        conflicts_with = "range",
        help_heading = "Git"
    )]
    pub since_commit: Option<String>,

    /// Scan only blobs introduced by commits in A..B (e.g. a pull request).
    #[arg(long, value_name = "A..B", help_heading = "Git")]
    pub range: Option<String>,

    /// Scan every blob in full instead of only text not seen before at the
    /// same path. Same findings, slower; for comparisons.
    #[arg(long, hide = true)]
    pub no_dedupe: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).multiple(true))]
pub struct SweepArgs {
    /// Read repositories from FILE: one clone URL or local path per line
    /// (`#` starts a comment).
    #[arg(long, value_name = "FILE", group = "input", help_heading = "Input")]
    pub repos: Option<PathBuf>,

    /// Sweep every git repository below DIR. Repeatable.
    #[arg(long, value_name = "DIR", group = "input", help_heading = "Input")]
    pub dir: Vec<PathBuf>,

    /// Keep bare mirrors of the repositories here; later sweeps fetch only
    /// what is new.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".keysweep/cache",
        help_heading = "Sweep"
    )]
    pub cache: PathBuf,

    /// Where to record runs, scanned blobs and findings: an SQLite file, or a
    /// `postgres://user@host/db` URL shared by many workers. Holds secrets:
    /// protect it like them.
    #[arg(
        long,
        value_name = "PATH|URL",
        default_value = ".keysweep/sweep.db",
        help_heading = "Sweep"
    )]
    pub datastore: String,

    /// Sweep only shard K of N (0 <= K < N) of the repository list, chosen by a
    /// stable hash of each entry, so N workers split one list.
    #[arg(long, value_name = "K/N", value_parser = crate::source::mirror::Shard::parse, help_heading = "Sweep")]
    pub shard: Option<crate::source::mirror::Shard>,

    /// Report only findings first seen in this run.
    #[arg(long, help_heading = "Sweep")]
    pub new_only: bool,

    /// Repositories swept at once (default: the number of CPUs).
    #[arg(long, value_name = "N", help_heading = "Sweep")]
    pub jobs: Option<usize>,

    /// Scanning threads per repository.
    #[arg(long, value_name = "N", default_value = "1", help_heading = "Sweep")]
    pub threads: usize,

    /// Output format.
    #[arg(
        long,
        short = 'f',
        value_enum,
        default_value = "human",
        help_heading = "Output"
    )]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Print secrets in full. By default only their first 4 characters are shown.
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// No progress bar, warnings or summary on standard error.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    /// Exit 0 even when there are findings (failures still exit 2).
    #[arg(long, help_heading = "Output")]
    pub exit_zero: bool,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,

    /// Skip blobs larger than this (e.g. 500K, 25MiB, 1G).
    #[arg(long, value_name = "SIZE", default_value = "25MiB", value_parser = parse_size, help_heading = "Input")]
    pub max_file_size: u64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The datastore written by `keysweep sweep` (SQLite path or
    /// `postgres://` URL).
    #[arg(
        long,
        value_name = "PATH|URL",
        default_value = ".keysweep/sweep.db",
        help_heading = "Input"
    )]
    pub datastore: String,

    /// Only findings first seen after run RUN.
    #[arg(long, value_name = "RUN", help_heading = "Input")]
    pub since: Option<i64>,

    /// Only findings seen in run RUN.
    #[arg(long, value_name = "RUN", help_heading = "Input")]
    pub run: Option<i64>,

    /// Output format.
    #[arg(
        long,
        short = 'f',
        value_enum,
        default_value = "human",
        help_heading = "Output"
    )]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Print secrets in full. By default only their first 4 characters are shown.
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// No summary on standard error.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    /// Exit 0 even when there are findings.
    #[arg(long, help_heading = "Output")]
    pub exit_zero: bool,
}

#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Replace an existing pre-commit hook.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in use.
    List {
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: ListFormat,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Check that rules compile and that their examples match and negative
    /// examples do not. Without a PATH, checks the bundled rules.
    Check {
        /// Rule files or directories to check.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Treat warnings (missing examples, references, description) as errors.
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// Parses a size such as `1024`, `500K`, `25MiB` or `1.5G` (binary units).
///
/// ```
/// use keysweep::cli::args::parse_size;
/// assert_eq!(parse_size("25MiB"), Ok(25 << 20));
/// assert_eq!(parse_size("500k"), Ok(500 << 10));
/// assert_eq!(parse_size("1024"), Ok(1024));
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 500K, 25MiB or 1G)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use K, M or G)")),
    };
    Ok((n * mult as f64) as u64)
}
