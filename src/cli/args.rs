//! Every command-line flag, with its documentation. Parsing only: resolving
//! flags into a configuration happens in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::units::{parse_age, parse_duration, parse_size};
use crate::report::Format;

/// Find leaked API keys and tokens in files, MCP configs, CI files and notebooks.
///
/// Exit codes: 0 no findings, 1 findings, 2 error (bad usage, or an input that
/// could not be read: the scan still finishes and reports what it found), 3
/// a revocation failed (`--revoke`; the findings are still reported).
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
    /// Scan the full history of git repositories (same as `scan --git`).
    Git(GitArgs),
    /// Scan staged changes before a commit (same as `scan --staged`).
    Staged(StagedArgs),
    /// Sweep many repositories into a datastore: incremental, resumable,
    /// shardable across machines.
    ///
    /// Exit codes: 0 no findings, 1 findings, 2 a repository failed (the
    /// others are still swept and reported) or the sweep could not run.
    Sweep(Box<SweepArgs>),
    /// Render findings stored by `keysweep sweep`, with what the latest run
    /// (or `--run`) scanned per repository and which findings are new,
    /// live or revoked. SARIF has one run per repository.
    Report(ReportArgs),
    /// Install a git pre-commit hook that runs `keysweep staged`.
    InstallHook(InstallHookArgs),
    /// List or check detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// For a live secret, who it belongs to and what it can do: identity,
    /// scopes, expiry and severity, from the provider's read-only endpoints.
    ///
    /// Exit codes: 0 the secret is not live, 1 it is live (analyzed or
    /// not), 2 nothing could be proved or an error. An offline analysis
    /// (PyPI) says what a token would allow, not that it is live: 2, or 0
    /// when the token is past its own expiry.
    Analyze(AnalyzeArgs),
    /// Check one known secret with its provider.
    ///
    /// Exit codes: 0 the provider rejected the secret (invalid), 1 the secret
    /// is live, 2 nothing could be proved (unknown, not checked, or an error).
    Validate(ValidateArgs),
    /// Record known findings so that scans report only new ones.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Write a commented keysweep.toml to start from.
    Init(InitArgs),
    /// Scan the MCP client configs of the current user (Claude Desktop, Claude
    /// Code, Cursor, VS Code, Windsurf, Cline, Continue, Zed, Codex, Gemini CLI)
    /// at their documented Linux, macOS and Windows locations, and the
    /// project's. Lists the files it looked at.
    Agents(AgentsArgs),
    /// Revoke the secrets of an earlier JSON report (written with
    /// --show-secrets) through the config's `[revoke]` brokers.
    ///
    /// Exit codes: 0 nothing failed, 2 error, 3 some revocation failed or
    /// could not be confirmed.
    Revoke(RevokeArgs),
    /// Print a shell completion script, e.g. `keysweep completions bash >
    /// ~/.local/share/bash-completion/completions/keysweep`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `keysweep man > ~/.local/share/man/man1/keysweep.1`.
    Man,
}

/// `keysweep completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `keysweep revoke --from REPORT.json`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A JSON report of `keysweep scan -f json --show-secrets`.
    #[arg(long, value_name = "REPORT.json")]
    pub from: PathBuf,

    /// Output format of the report of what was revoked.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: Format,

    /// Validate the report's findings again before revoking, instead of
    /// trusting the validation the report records.
    #[arg(long, help_heading = "Validation")]
    pub validate: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Load extra rules from a YAML file or a directory of them (rules the
    /// report names that keysweep does not bundle). Repeatable.
    #[arg(long = "rules", value_name = "FILE_OR_DIR", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs,
}

/// How results are written; shared by the commands that report findings.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
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

    /// The template for `--format template` (Jinja syntax; README,
    /// "Templates", lists its variables). Only this file is read: a
    /// template in the scanned tree is never used unless named here.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub template: Option<PathBuf>,

    /// On a terminal, print findings sorted when the scan ends instead of
    /// as they are found (files and pipes always get sorted output).
    #[arg(long, help_heading = "Output")]
    pub sort: bool,

    /// Print secrets in full. By default a secret shows its known prefix and
    /// a few characters at each end of the rest, never more than a quarter
    /// (README, "Redaction").
    #[arg(long, help_heading = "Output")]
    pub show_secrets: bool,

    /// Hide N% of each secret instead, showing the first (100-N)% (gitleaks'
    /// --redact; N is 1-100, 100 when no value is given).
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "100",
        value_parser = clap::value_parser!(u8).range(1..=100),
        conflicts_with = "show_secrets",
        help_heading = "Output"
    )]
    pub redact: Option<u8>,

    /// One entry per distinct secret, with every place it was found.
    #[arg(long, help_heading = "Output")]
    pub group: bool,

    /// Colour the human report: auto (a terminal, unless NO_COLOR is set or
    /// CLICOLOR_FORCE asks for it anyway), always or never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Output"
    )]
    pub color: ColorWhen,

    /// Say more on standard error: -v per-phase timings, -vv each file
    /// skipped and why, -vvv each file walked. `agents -v` also lists every
    /// location looked at, including those with no file.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// The level of diagnostics on standard error (overrides -v).
    #[arg(long, value_enum, value_name = "LEVEL", help_heading = "Output")]
    pub log_level: Option<crate::diag::Level>,

    /// Nothing on standard error but errors: no progress bar, warnings or
    /// summary.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    /// Exit 0 even when there are findings (errors and failures still exit 2).
    #[arg(long, help_heading = "Output")]
    pub exit_zero: bool,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// Where settings come from.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// Read settings from FILE (default: the file named by $KEYSWEEP_CONFIG,
    /// else keysweep.toml at the scan root if there is one).
    #[arg(long, value_name = "FILE", help_heading = "Config")]
    pub config: Option<PathBuf>,

    /// Read no config file: neither keysweep.toml nor $KEYSWEEP_CONFIG, nor
    /// .gitleaks.toml and .gitleaksignore at the scan root.
    #[arg(long, conflicts_with = "config", help_heading = "Config")]
    pub no_config: bool,

    /// Load rules and allowlists from a gitleaks config (default:
    /// .gitleaks.toml at the scan root when there is no keysweep config).
    #[arg(long, value_name = "FILE", help_heading = "Config")]
    pub gitleaks_config: Option<PathBuf>,
}

/// What to read and how.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Do not honour .gitignore, .ignore and git exclude files.
    #[arg(long, help_heading = "Input")]
    pub no_ignore: bool,

    /// Leave out paths matching this glob (gitignore syntax). Repeatable.
    #[arg(long, value_name = "GLOB", help_heading = "Input")]
    pub exclude: Vec<String>,

    /// Skip files larger than this (e.g. 500K, 25MiB, 1G) [default: 25MiB,
    /// or max_file_size in the config].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Input")]
    pub max_file_size: Option<u64>,

    /// Number of scanning threads (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", help_heading = "Input")]
    pub threads: Option<usize>,

    /// Open archives (zip, jar, tar, gz, bz2, xz, zstd) to this many nesting
    /// levels and scan their members; 0 skips archives as binary files.
    #[arg(long, value_name = "N", default_value_t = 3, help_heading = "Input")]
    pub archive_depth: u32,

    /// Bytes one archive or saved image (with the archives in it) may expand
    /// to; what lies past it is counted as archive-too-large [default: 256M].
    /// A file over --max-file-size whose first bytes are an archive is opened
    /// anyway, under this budget.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Input")]
    pub archive_max_bytes: Option<u64>,

    /// Members one archive or saved image (with the archives in it) may hold
    /// [default: 10000].
    #[arg(long, value_name = "N", help_heading = "Input")]
    pub archive_max_members: Option<u64>,
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

impl From<MinConfidence> for crate::rules::Confidence {
    fn from(m: MinConfidence) -> Self {
        match m {
            MinConfidence::Low => Self::Low,
            MinConfidence::Medium => Self::Medium,
            MinConfidence::High => Self::High,
        }
    }
}

/// `keysweep scan`: files and directories, or (with `--git`, `--staged`, or
/// a history flag) what `keysweep git` / `keysweep staged` read.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,

    #[command(flatten)]
    pub input: InputArgs,

    /// Follow symbolic links met in the walk, to files and directories
    /// within the PATHs given only: a link leading elsewhere, or back to a
    /// directory above it, is reported and counted as skipped. Links named
    /// as PATH are always read.
    #[arg(long, help_heading = "Input")]
    pub follow_symlinks: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub triage: TriageArgs,

    /// Treat each PATH as a git repository and scan its whole history (as
    /// `keysweep git`).
    #[arg(long, conflicts_with = "staged", help_heading = "Git")]
    pub git: bool,

    /// Scan the staged content of the repository at PATH; report only lines the
    /// staged change adds or modifies (as `keysweep staged`).
    #[arg(long, conflicts_with_all = ["branch", "since_commit", "range"], help_heading = "Git")]
    pub staged: bool,

    /// History flags: any of them makes this a history scan, as `--git`.
    #[command(flatten)]
    pub history: HistoryArgs,

    #[command(flatten)]
    pub checks: CheckArgs,
}

/// `keysweep git`: the history of one or more repositories.
#[derive(Debug, Args)]
pub struct GitArgs {
    /// Git repositories to scan (a work tree, a directory inside one, or a
    /// bare repository).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repos: Vec<PathBuf>,

    #[command(flatten)]
    pub history: HistoryArgs,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,

    /// Skip blobs larger than this (e.g. 500K, 25MiB, 1G) [default: 25MiB,
    /// or max_file_size in the config].
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Input")]
    pub max_file_size: Option<u64>,

    /// Number of scanning threads (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", help_heading = "Input")]
    pub threads: Option<usize>,

    /// Open archive blobs (zip, jar, tar, gz, bz2, xz, zstd) to this many
    /// nesting levels and scan their members, reported as
    /// `bundle.zip!inner.py`; 0 skips them as binary.
    #[arg(long, value_name = "N", default_value_t = 3, help_heading = "Input")]
    pub archive_depth: u32,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub triage: TriageArgs,

    #[command(flatten)]
    pub checks: CheckArgs,
}

/// `keysweep staged`: what the next commit would add.
#[derive(Debug, Args)]
pub struct StagedArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub triage: TriageArgs,

    #[command(flatten)]
    pub checks: CheckArgs,
}

impl From<GitArgs> for ScanArgs {
    fn from(a: GitArgs) -> ScanArgs {
        ScanArgs {
            paths: a.repos,
            out: a.out,
            rules: a.rules,
            min_confidence: a.min_confidence,
            input: InputArgs {
                max_file_size: a.max_file_size,
                threads: a.threads,
                archive_depth: a.archive_depth,
                ..InputArgs::default()
            },
            follow_symlinks: false,
            config: a.config,
            triage: a.triage,
            git: true,
            staged: false,
            history: a.history,
            checks: a.checks,
        }
    }
}

impl From<StagedArgs> for ScanArgs {
    fn from(a: StagedArgs) -> ScanArgs {
        ScanArgs {
            paths: vec![a.repo],
            out: a.out,
            rules: a.rules,
            min_confidence: a.min_confidence,
            input: InputArgs::default(),
            follow_symlinks: false,
            config: a.config,
            triage: a.triage,
            git: false,
            staged: true,
            history: HistoryArgs::default(),
            checks: a.checks,
        }
    }
}

/// Which part of a repository's history to scan.
#[derive(Debug, Args, Clone, Default)]
pub struct HistoryArgs {
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

    /// Read blobs straight from the pack files in delta-tree order (each
    /// delta applied once) instead of looking each up by id. The default
    /// when the whole history is scanned (no --range or --since-commit):
    /// same findings, in less time and memory. Loose objects and anything a
    /// pack cannot resolve alone are still read by id.
    #[arg(long, help_heading = "Git", conflicts_with = "no_read_packs")]
    pub read_packs: bool,

    /// Look every blob up by id through libgit2, even for a whole-history
    /// scan (the path used for --range and --since-commit, where a few blobs
    /// of a large pack are wanted).
    #[arg(long, help_heading = "Git")]
    pub no_read_packs: bool,
}

impl HistoryArgs {
    /// The history flags given, for messages; empty when none was.
    pub fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if !self.branch.is_empty() {
            v.push("--branch");
        }
        if self.since_commit.is_some() {
            v.push("--since-commit");
        }
        if self.range.is_some() {
            v.push("--range");
        }
        if self.read_packs {
            v.push("--read-packs");
        }
        if self.no_read_packs {
            v.push("--no-read-packs");
        }
        v
    }

    /// Whether to read the pack files in delta-tree order: when asked, or by
    /// default for a whole-history scan. A range or a starting commit wants
    /// a few blobs, which lookups by id find without resolving whole packs.
    pub fn read_packs(&self) -> bool {
        if self.no_read_packs {
            return false;
        }
        self.read_packs || (self.range.is_none() && self.since_commit.is_none())
    }
}

/// What a user has accepted: suppressed findings and the baseline.
#[derive(Debug, Args, Clone, Default)]
pub struct TriageArgs {
    /// Also list suppressed findings (allowlisted, allowed inline, in the
    /// baseline), each marked with the reason. They never change the exit code.
    #[arg(long, help_heading = "Output")]
    pub show_suppressed: bool,

    /// Report only findings not recorded in this baseline (default: baseline
    /// in the config). See `keysweep baseline create`.
    #[arg(long, value_name = "FILE", help_heading = "Triage")]
    pub baseline: Option<PathBuf>,

    /// Ignore the config's baseline and report known findings too.
    #[arg(long, conflicts_with = "baseline", help_heading = "Triage")]
    pub no_baseline: bool,
}

/// What happens to findings after the scan: validation, revocation, and what
/// makes the exit code 1.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Ask each secret's provider whether it is live (sends secrets over the
    /// network to the host named in their rule; off by default).
    #[arg(long, help_heading = "Validation")]
    pub validate: bool,

    /// For each live secret, ask its provider's read-only endpoints who it
    /// belongs to and what it can do: identity, scopes, expiry and a
    /// blast-radius severity (README, "Analysis"). Implies --validate.
    #[arg(long, help_heading = "Validation")]
    pub analyze: bool,

    /// Report only findings whose secret is live.
    #[arg(long, help_heading = "Validation")]
    pub only_live: bool,

    /// What makes the exit code 1: any finding, or only a live one.
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value = "any",
        help_heading = "Validation"
    )]
    pub fail_on: FailOn,

    /// Validation requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        default_value = "8",
        requires = "validate",
        help_heading = "Validation"
    )]
    pub validate_concurrency: usize,

    /// Revoke the secrets found through the brokers of the config's
    /// `[revoke]` table: a dry run that prints each call unless mode =
    /// "enforce". Findings are validated first when the policy requires
    /// live ones. Exit code 3 when a revocation failed (docs/revocation.md).
    #[arg(long, help_heading = "Revocation")]
    pub revoke: bool,

    #[command(flatten)]
    pub net: NetArgs,
}

/// `keysweep baseline create|update`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan and record every finding in a new baseline file.
    Create {
        #[command(flatten)]
        args: BaselineArgs,
        /// Replace an existing baseline (with a new salt: every entry changes).
        #[arg(long)]
        force: bool,
    },
    /// Scan, add new findings to the baseline and remove those no longer
    /// found (only under the PATHs scanned).
    Update(BaselineArgs),
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Files or directories to scan.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// The baseline file [default: baseline in the config, else
    /// .keysweep-baseline.jsonl].
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// No warnings or summary on standard error.
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,

    #[command(flatten)]
    pub rules: RuleArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write keysweep.toml in.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Overwrite an existing keysweep.toml.
    #[arg(long)]
    pub force: bool,
}

/// Listing repositories through a platform's API: `sweep --github-org`.
#[derive(Debug, Args, Clone)]
pub struct PlatformArgs {
    /// Sweep every repository of this GitHub organisation. Repeatable.
    #[arg(long, value_name = "NAME", group = "input", help_heading = "Platforms")]
    pub github_org: Vec<String>,

    /// Sweep every repository this GitHub user owns. Repeatable.
    #[arg(long, value_name = "NAME", group = "input", help_heading = "Platforms")]
    pub github_user: Vec<String>,

    /// Sweep every project of this GitLab group (full path, e.g.
    /// `acme/platform`), subgroups included. Repeatable.
    #[arg(long, value_name = "PATH", group = "input", help_heading = "Platforms")]
    pub gitlab_group: Vec<String>,

    /// The GitHub REST API (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.github.com",
        help_heading = "Platforms"
    )]
    pub github_api_url: String,

    /// The GitLab REST API (self-managed: https://HOST/api/v4).
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://gitlab.com/api/v4",
        help_heading = "Platforms"
    )]
    pub gitlab_api_url: String,

    /// The environment variable holding the GitHub token (sent only in the
    /// API's Authorization header; without it, public repositories only).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "GITHUB_TOKEN",
        help_heading = "Platforms"
    )]
    pub github_token_env: String,

    /// The environment variable holding the GitLab token (PRIVATE-TOKEN header).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "GITLAB_TOKEN",
        help_heading = "Platforms"
    )]
    pub gitlab_token_env: String,

    /// Also sweep archived repositories.
    #[arg(long, help_heading = "Platforms")]
    pub include_archived: bool,

    /// Also sweep forks.
    #[arg(long, help_heading = "Platforms")]
    pub include_forks: bool,

    /// Longest total wait for the API's rate limit to reset; a later reset
    /// stops the sweep with a message before anything is swept.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "15m",
        value_parser = parse_age,
        help_heading = "Platforms"
    )]
    pub rate_limit_wait: std::time::Duration,
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
    /// `postgres://user@host/db` URL shared by many workers [default:
    /// $KEYSWEEP_DATASTORE, else .keysweep/sweep.db]. Put a URL with a
    /// password in KEYSWEEP_DATASTORE, not here: the command line is visible
    /// to other users. Holds secrets: protect it like them.
    #[arg(long, value_name = "PATH|URL", help_heading = "Sweep")]
    pub datastore: Option<String>,

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

    #[command(flatten)]
    pub platforms: PlatformArgs,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub triage: TriageArgs,

    #[command(flatten)]
    pub checks: CheckArgs,

    /// Validate a stored finding again only when its last validation is
    /// older than this (e.g. 12h, 7d); younger results are reused.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "24h",
        value_parser = parse_age,
        requires = "validate",
        help_heading = "Validation"
    )]
    pub revalidate_after: std::time::Duration,

    /// After the sweep, POST the findings first seen in it (redacted, JSON)
    /// to URL, signed with HMAC-SHA256 in X-Keysweep-Signature when
    /// --notify-key-env names the key, as broker requests are (docs/revocation.md).
    #[arg(long, value_name = "URL", help_heading = "Notify")]
    pub notify: Option<String>,

    /// The environment variable holding the notification's HMAC key.
    #[arg(
        long,
        value_name = "NAME",
        requires = "notify",
        help_heading = "Notify"
    )]
    pub notify_key_env: Option<String>,

    /// Send the notification as a Slack-compatible message (`{"text": …}`)
    /// instead of keysweep's JSON.
    #[arg(long, requires = "notify", help_heading = "Notify")]
    pub notify_slack: bool,

    #[command(flatten)]
    pub out: OutputArgs,

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
    /// `postgres://` URL) [default: $KEYSWEEP_DATASTORE, else
    /// .keysweep/sweep.db].
    #[arg(long, value_name = "PATH|URL", help_heading = "Input")]
    pub datastore: Option<String>,

    /// Only findings first seen after run RUN.
    #[arg(long, value_name = "RUN", help_heading = "Input")]
    pub since: Option<i64>,

    /// Only findings seen in run RUN. The report's summary describes that
    /// run (default: the latest): what it scanned, per repository, and
    /// which findings it saw first (new since the run before).
    #[arg(long, value_name = "RUN", help_heading = "Input")]
    pub run: Option<i64>,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// `keysweep install-hook [--uninstall]`.
#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// The repository (default: the one containing the current directory).
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Replace an existing pre-commit hook instead of chaining it (by
    /// default a hook already there keeps running, before keysweep).
    #[arg(long, conflicts_with = "uninstall")]
    pub force: bool,
    /// Remove keysweep's hook and restore the hook it chained, if any.
    #[arg(long)]
    pub uninstall: bool,
}

/// What makes `scan` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Any,
    /// A finding whose secret is live (needs --validate).
    Live,
    /// A live finding whose analyzed severity is critical (needs --analyze).
    Critical,
    /// A live finding whose analyzed severity is high or critical (needs
    /// --analyze).
    High,
    /// A live finding whose analyzed severity is medium or above (needs
    /// --analyze).
    Medium,
    /// A live finding with any analyzed severity (needs --analyze).
    Low,
}

/// How validation requests are sent; shared by `scan --validate` and
/// `validate`.
#[derive(Debug, Args, Clone)]
pub struct NetArgs {
    /// Time allowed for one validation request (e.g. 10s, 500ms).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        value_parser = parse_duration,
        help_heading = "Validation"
    )]
    pub validate_timeout: std::time::Duration,

    /// Permit validation requests to loopback, private, link-local and CGNAT
    /// addresses, and plain http to them (self-hosted services, tests).
    #[arg(long, help_heading = "Validation")]
    pub allow_internal: bool,

    /// Send a provider's validation requests to another base URL, e.g.
    /// `github=https://ghe.example.com/api/v3`. PROVIDER is a rule file's name;
    /// URL replaces scheme, host and port, and its path is put in front.
    /// Repeatable.
    #[arg(long, value_name = "PROVIDER=URL", value_parser = parse_endpoint, help_heading = "Validation")]
    pub endpoint: Vec<(String, String)>,

    /// Run the validators of rules loaded with --rules. Without it they are
    /// not run, so a rule file from elsewhere cannot send secrets to its own
    /// server.
    #[arg(long, help_heading = "Validation")]
    pub trust_rule_validators: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The secret to check; `-` reads it from standard input (safer than the
    /// command line, which other users may see).
    #[arg(value_name = "SECRET")]
    pub secret: String,

    /// The rule whose validator to use (see `keysweep rules list`).
    #[arg(long, value_name = "ID")]
    pub rule: String,

    /// A part found with the secret, e.g. `key_id=AKIA…` for an AWS secret
    /// key. Repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_part)]
    pub part: Vec<(String, String)>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: ValidateFormat,

    /// Load extra rules from a YAML file or a directory of them. Repeatable.
    #[arg(long = "rules", value_name = "FILE_OR_DIR", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs,
}

/// `keysweep analyze SECRET --rule ID` or `keysweep analyze --from REPORT.json`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The secret to analyze; `-` reads it from standard input (safer than
    /// the command line, which other users may see).
    #[arg(
        value_name = "SECRET",
        required_unless_present = "from",
        conflicts_with = "from"
    )]
    pub secret: Option<String>,

    /// The rule the secret belongs to (see `keysweep rules list`).
    #[arg(long, value_name = "ID", required_unless_present = "from")]
    pub rule: Option<String>,

    /// A part found with the secret, e.g. `key_id=AKIA…` for an AWS secret
    /// key or `client_email=…` for a GCP key. Repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_part)]
    pub part: Vec<(String, String)>,

    /// Analyze the live secrets of a JSON report written with
    /// `--show-secrets` (each is validated again first).
    #[arg(long, value_name = "REPORT.json")]
    pub from: Option<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub format: ValidateFormat,

    /// Analyses in flight at once (with --from).
    #[arg(long, value_name = "N", default_value = "8")]
    pub concurrency: usize,

    /// Load extra rules from a YAML file or a directory of them. Repeatable.
    #[arg(long = "rules", value_name = "FILE_OR_DIR", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs,
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
        #[command(flatten)]
        config: ConfigArgs,
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

/// Output formats of `keysweep validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// `STATUS: detail`.
    Human,
    /// `{"rule_id": …, "validation": {"status": …, "detail": …}}`.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// A `KEY=VALUE` argument that is not one. The value is never echoed: for
/// `--part` it may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error("expected PROVIDER=URL, e.g. github=https://ghe.example.com/api/v3")]
    Endpoint,
    #[error("expected NAME=VALUE, e.g. key_id=AKIA…")]
    Part,
    #[error("the part needs a name")]
    UnnamedPart,
}

/// Parses `PROVIDER=URL`.
pub fn parse_endpoint(s: &str) -> Result<(String, String), PairError> {
    let (p, u) = s.split_once('=').ok_or(PairError::Endpoint)?;
    if p.is_empty() || u.is_empty() {
        return Err(PairError::Endpoint);
    }
    Ok((p.to_string(), u.to_string()))
}

/// Parses `NAME=VALUE`.
pub fn parse_part(s: &str) -> Result<(String, String), PairError> {
    let (n, v) = s.split_once('=').ok_or(PairError::Part)?;
    if n.is_empty() {
        return Err(PairError::UnnamedPart);
    }
    Ok((n.to_string(), v.to_string()))
}

#[derive(Debug, Args)]
pub struct AgentsArgs {
    /// Home directory to look in, instead of $HOME (%USERPROFILE%). With it,
    /// XDG_CONFIG_HOME and APPDATA are ignored and their defaults under DIR
    /// are used.
    #[arg(long, value_name = "DIR", help_heading = "Input")]
    pub home: Option<PathBuf>,

    /// Project whose MCP configs (.mcp.json, .cursor/, .vscode/, .continue/,
    /// .zed/, .codex/, .gemini/) are checked as well.
    #[arg(long, value_name = "DIR", default_value = ".", help_heading = "Input")]
    pub project: PathBuf,

    /// Check only the user's configs, not the project's.
    #[arg(long, help_heading = "Input")]
    pub no_project: bool,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Report only findings of rules with at least this confidence.
    #[arg(long, value_enum, default_value = "low", help_heading = "Rules")]
    pub min_confidence: MinConfidence,
}
