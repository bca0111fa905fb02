//! The command-line interface: argument definitions and one module per command.
//! `main.rs` parses and calls [`run`].

mod agents_cmd;
mod analyze_cmd;
pub mod args;
mod baseline_cmd;
mod completions_cmd;
mod hook_cmd;
mod init_cmd;
mod report_cmd;
mod revoke_cmd;
mod rules_cmd;
mod scan_cmd;
mod setup;
mod sweep_cmd;
mod validate_cmd;

use std::process::ExitCode;
use std::sync::Arc;

pub use args::Cli;
use args::{Command, RuleArgs};
pub use revoke_cmd::parse_report;

use crate::rules::RuleSet;

/// Exit status for a clean run.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status when findings were reported.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors and inputs that could not be scanned.
pub const EXIT_ERROR: u8 = 2;
/// Exit status when a revocation failed or could not be confirmed (findings
/// were still reported in full).
pub const EXIT_REVOKE_FAILED: u8 = 3;

/// Runs a parsed command line.
///
/// # Errors
///
/// Returns fatal errors (bad rules, unwritable output); `main` prints them and
/// exits with [`EXIT_ERROR`].
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => {
            let history = args.history.given();
            let mode = if args.staged {
                scan_cmd::Mode::Staged
            } else if args.git {
                scan_cmd::Mode::Git
            } else if !history.is_empty() {
                // The user asked for part of the history: scanning the work
                // tree instead would miss what that part added.
                if !args.out.quiet {
                    eprintln!(
                        "keysweep: {} reads git history: scanning it as `keysweep git` does",
                        history.join(" and ")
                    );
                }
                scan_cmd::Mode::Git
            } else {
                scan_cmd::Mode::Files
            };
            scan_cmd::run(args, mode)
        }
        Command::Git(args) => scan_cmd::run(args.into(), scan_cmd::Mode::Git),
        Command::Staged(args) => scan_cmd::run(args.into(), scan_cmd::Mode::Staged),
        Command::Sweep(args) => sweep_cmd::run(*args),
        Command::Report(args) => report_cmd::run(args),
        Command::InstallHook(args) => hook_cmd::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Agents(args) => agents_cmd::run(args),
        Command::Validate(args) => validate_cmd::run(args),
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Baseline(cmd) => baseline_cmd::run(cmd),
        Command::Init(args) => init_cmd::run(args),
        Command::Revoke(args) => revoke_cmd::run(args),
        Command::Completions(args) => completions_cmd::completions(args.shell),
        Command::Man => completions_cmd::man(),
    }
}

/// Resolves validation flags into options. `--endpoint` names must be
/// providers of loaded rules: a typo would silently send secrets to the
/// real provider instead of the intended server.
pub(crate) fn validate_options(
    net: &args::NetArgs,
    rules: &RuleSet,
    concurrency: usize,
) -> anyhow::Result<crate::validate::ValidateOptions> {
    let mut endpoints = std::collections::HashMap::new();
    for (provider, url) in &net.endpoint {
        if let Err(why) = rules.check_provider(provider) {
            anyhow::bail!("--endpoint {provider}={url}: {why}");
        }
        endpoints.insert(provider.clone(), url.clone());
    }
    Ok(crate::validate::ValidateOptions {
        concurrency,
        timeout: net.validate_timeout,
        allow_internal: net.allow_internal,
        trust_rule_validators: net.trust_rule_validators,
        endpoints,
        ..Default::default()
    })
}

/// Adds the config's `[endpoints]` to validation options; `--endpoint`
/// wins for a provider named in both.
pub(crate) fn add_config_endpoints(
    opts: &mut crate::validate::ValidateOptions,
    config: Option<&crate::config::LoadedConfig>,
) -> anyhow::Result<()> {
    if let Some(c) = config {
        if !c.chosen && !c.config.endpoints.is_empty() {
            anyhow::bail!(
                "{}: [endpoints] would send secrets to the servers it names, and this config was \
                 found in the scanned tree, not chosen: pass it with --config {} (or \
                 KEYSWEEP_CONFIG) to trust it",
                c.path.display(),
                c.path.display()
            );
        }
        for (provider, url) in &c.config.endpoints {
            opts.endpoints
                .entry(provider.clone())
                .or_insert_with(|| url.clone());
        }
    }
    Ok(())
}

/// Resolves the config's `[revoke]` table into revocation options.
///
/// # Errors
///
/// When there is no config or it has no `[revoke]` table.
pub(crate) fn revoke_options(
    config: Option<&crate::config::LoadedConfig>,
) -> anyhow::Result<crate::revoke::RevokeOptions> {
    let Some(c) = config else {
        anyhow::bail!(
            "revocation needs a [revoke] table in keysweep.toml (or --config FILE); see docs/revocation.md"
        );
    };
    let Some(r) = &c.config.revoke else {
        anyhow::bail!(
            "{}: no [revoke] table: revocation needs a policy and brokers (see docs/revocation.md)",
            c.path.display()
        );
    };
    let own_address = r.broker.iter().any(|b| {
        matches!(
            b,
            crate::config::Broker::Http { .. }
                | crate::config::Broker::Vault { .. }
                | crate::config::Broker::Command { .. }
        )
    });
    // A dry run sends nothing, so it may show what a found config would do.
    if own_address && !c.chosen && r.mode == crate::config::RevokeMode::Enforce {
        anyhow::bail!(
            "{}: its [revoke] brokers (http, vault or command) would receive secrets in enforce mode, and this \
             config was found in the scanned tree, not chosen: pass it with --config {} (or \
             KEYSWEEP_CONFIG) to trust it",
            c.path.display(),
            c.path.display()
        );
    }
    Ok(crate::revoke::RevokeOptions {
        config: r.clone(),
        audit_log: r
            .audit_log
            .as_ref()
            .map(|p| c.resolve_checked(p, "revoke.audit_log"))
            .transpose()?,
        base_dir: c.dir.clone(),
    })
}

/// Builds the rule set: bundled rules, then `--rules`, then the selection.
pub(crate) fn load_rules(args: &RuleArgs) -> anyhow::Result<Arc<RuleSet>> {
    let mut set = RuleSet::builtin();
    for path in &args.rules {
        set.load_path(path)?;
    }
    set.select(&args.rule, &args.exclude_rule)?;
    if set.is_empty() {
        anyhow::bail!("no rules selected: check --rule and --exclude-rule");
    }
    Ok(Arc::new(set))
}

/// Writes to `out`, treating a closed pipe (`keysweep … | head`) as success.
pub(crate) fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The reporter the output flags ask for; a `--template` is read and
/// compiled here, so a bad one fails before any work.
pub(crate) fn reporter_for(
    out: &args::OutputArgs,
) -> anyhow::Result<Box<dyn crate::report::Reporter>> {
    use crate::report::Format;
    match (out.format, &out.template) {
        (Format::Template, Some(path)) => Ok(Box::new(crate::report::Template::load(path)?)),
        (Format::Template, None) => {
            anyhow::bail!("--format template needs --template FILE (README, \"Templates\")")
        }
        (_, Some(path)) => anyhow::bail!(
            "--template {}: only used with --format template",
            path.display()
        ),
        (format, None) => Ok(crate::report::reporter(format)),
    }
}

/// Writes `report` with `reporter` to `out` and flushes it; a closed pipe is
/// not an error (see [`ignore_broken_pipe`]).
pub(crate) fn write_report(
    reporter: &dyn crate::report::Reporter,
    report: &crate::report::Report<'_>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use anyhow::Context;
    ignore_broken_pipe(reporter.write(report, out).and_then(|_| out.flush()))
        .context("cannot write the report")
}

/// How a report shows findings, from the output flags. Sets the process's
/// diagnostic level too. Colour follows `--color`; `auto` colours standard
/// output when it is a terminal and `NO_COLOR` is unset, or when
/// `CLICOLOR_FORCE` is set (the rules of `anstream`, as clap uses them).
pub(crate) fn show_options(out: &args::OutputArgs) -> crate::report::Show {
    use crate::diag::Level;
    let level = out.log_level.unwrap_or(match out.verbose {
        0 => Level::Warn,
        1 => Level::Info,
        2 => Level::Debug,
        _ => Level::Trace,
    });
    crate::diag::set_level(level);
    let color = match out.color {
        args::ColorWhen::Always => true,
        args::ColorWhen::Never => false,
        args::ColorWhen::Auto => {
            out.output.is_none()
                && out.format == crate::report::Format::Human
                && anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    };
    crate::report::Show {
        secrets: out.show_secrets,
        redaction: out.redact.map_or(
            crate::finding::Redaction::Identify,
            crate::finding::Redaction::Percent,
        ),
        group: out.group,
        color: color && out.format == crate::report::Format::Human,
    }
}

/// More threads than this only exhaust memory and thread limits (each has
/// its own stack and buffers): 3,000 hung and 100,000 aborted.
pub(crate) const MAX_PARALLELISM: usize = 1024;

/// Refuses a thread or job count above [`MAX_PARALLELISM`].
pub(crate) fn check_parallelism(flag: &str, n: usize) -> anyhow::Result<()> {
    if n > MAX_PARALLELISM {
        anyhow::bail!(
            "{flag} {n} is more than keysweep runs at once (at most {MAX_PARALLELISM}); the \
             default is the number of CPUs"
        );
    }
    Ok(())
}

/// Creates (or truncates) a file readable by its owner only: reports may
/// hold secrets (`--show-secrets`) and always hold where they are. An
/// existing regular file is narrowed to 0600 too; a device or FIFO given as
/// the destination (`/dev/stdout`) is left as it is.
pub(crate) fn create_private(p: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(p)?;
        if f.metadata()?.is_file() {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    o.open(p)
}

/// Opens the report destination before any work, so a bad path fails fast.
pub(crate) fn open_output(
    path: Option<&std::path::Path>,
) -> anyhow::Result<Box<dyn std::io::Write>> {
    use anyhow::Context;
    use std::io::BufWriter;
    Ok(match path {
        Some(p) => {
            Box::new(BufWriter::new(create_private(p).with_context(|| {
                format!("{}: cannot create output file", p.display())
            })?))
        }
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}
