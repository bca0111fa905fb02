//! `keysweep agents`: the current user's (and project's) MCP client configs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::args::AgentsArgs;
use super::{ignore_broken_pipe, load_rules, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use super::{open_output, write_report};
use crate::diag::Messages;
use crate::report::{Format, Report, RunSummary};
use crate::rules::Confidence;
use crate::scan::{ScanOptions, Scanner};
use crate::source::agents::{self, ConfigDirs, Location, Scope};
use crate::source::fs::WalkOptions;

pub fn run(args: AgentsArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let min_confidence = Confidence::from(args.min_confidence);
    let (home, dirs) = home_and_dirs(args.home.as_deref())?;
    let project = (!args.no_project).then_some(args.project.as_path());
    let locations = agents::locations(&home, &dirs, project);
    let (found, absent): (Vec<&Location>, Vec<&Location>) =
        locations.iter().partition(|l| l.path.is_file());

    let mut out = open_output(args.out.output.as_deref())?;
    // The list of locations is part of the report for people; machine
    // formats keep stdout parseable and put it on standard error.
    let listing = listing(&home, &found, &absent, args.out.verbose > 0);
    if args.out.format == Format::Human {
        ignore_broken_pipe(
            out.write_all(listing.as_bytes())
                .and_then(|_| writeln!(out)),
        )?;
    } else if !args.out.quiet {
        eprint!("{listing}");
    }

    let opts = scan_options();
    // First, so the diagnostic level holds for the whole run.
    let show = super::show_options(&args.out);
    let messages = Messages::new(args.out.quiet);
    let scanner = Scanner::new(rules.clone(), min_confidence);
    let paths: Vec<PathBuf> = found.iter().map(|l| l.path.clone()).collect();
    let result = if paths.is_empty() {
        Default::default()
    } else {
        scanner.scan_paths(&paths, &opts, &messages)?
    };

    let report = Report {
        findings: &result.findings,
        summary: &RunSummary::from(result.summary.clone()),
        rules: &rules,
        show,
    };
    write_report(&*super::reporter_for(&args.out)?, &report, &mut out)?;
    if args.out.format != Format::Human && !args.out.quiet {
        let s = &result.summary;
        eprintln!(
            "keysweep: {} findings in {} MCP config files; {} errors",
            s.findings, s.files_scanned, s.errors
        );
    }
    let code = if result.summary.errors > 0 {
        EXIT_ERROR
    } else if !result.findings.is_empty() && !args.out.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    Ok(ExitCode::from(code))
}

/// The home directory and the client config directories under it: `--home`
/// with default directories, or the environment's.
fn home_and_dirs(home: Option<&Path>) -> anyhow::Result<(PathBuf, ConfigDirs)> {
    match home {
        Some(h) => {
            if !h.is_dir() {
                anyhow::bail!("{}: --home is not a directory", h.display());
            }
            Ok((h.to_path_buf(), ConfigDirs::under(h)))
        }
        None => {
            let h = agents::home_dir()
                .context("cannot tell the home directory: set HOME or pass --home")?;
            let d = ConfigDirs::from_env(&h);
            Ok((h, d))
        }
    }
}

/// Config files are named one by one: no ignore files, no walk to speak of.
fn scan_options() -> ScanOptions {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    ScanOptions {
        walk: WalkOptions {
            respect_ignore: false,
            excludes: Vec::new(),
            max_file_size: crate::config::units::DEFAULT_MAX_FILE_SIZE,
            threads,
            archives: Default::default(),
            follow_symlinks: false,
        },
        progress: false,
        stream: None,
    }
}

/// `found  Cursor  ~/.cursor/mcp.json` lines, then a count.
fn listing(home: &Path, found: &[&Location], absent: &[&Location], verbose: bool) -> String {
    let mut s = format!("MCP client configs (home {}):\n", home.display());
    let line = |s: &mut String, status: &str, l: &Location| {
        let scope = match l.scope {
            Scope::User => "user",
            Scope::Project => "project",
        };
        s.push_str(&format!(
            "  {status:<7} {:<15} {scope:<8} {}\n",
            l.client.name(),
            shown(home, &l.path)
        ));
    };
    for l in found {
        line(&mut s, "found", l);
    }
    if verbose {
        for l in absent {
            line(&mut s, "absent", l);
        }
    }
    s.push_str(&format!(
        "{} config file{} found; {} other location{} checked{}\n",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        absent.len(),
        if absent.len() == 1 { "" } else { "s" },
        if verbose || absent.is_empty() {
            ""
        } else {
            " (--verbose lists them)"
        }
    ));
    s
}

/// A path under the home as `~/…`; others as they are, without `./`.
fn shown(home: &Path, p: &Path) -> String {
    match p.strip_prefix(home) {
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => {
            let s = p.display().to_string();
            s.strip_prefix("./").map(str::to_string).unwrap_or(s)
        }
    }
}
