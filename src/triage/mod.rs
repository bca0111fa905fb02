//! Triage: which findings a user has already accepted.
//!
//! A finding can be suppressed by, in this order: an inline comment on its
//! line ([`inline`]), a `.gitleaksignore` fingerprint ([`gitleaksignore`]), an
//! allowlist from `keysweep.toml` or a gitleaks config ([`allowlist`]), or a
//! baseline of known findings ([`baseline`]). Nothing is dropped silently: a
//! suppressed finding keeps its [`Suppression`] (reason and detail), the
//! summary counts it by reason, and `--show-suppressed` lists it.
//!
//! # Cost
//!
//! Triage runs only on findings, never on clean content: scanning a blob with
//! no match costs nothing here, and the inline check reads only the lines a
//! match spans plus the line before.

pub mod allowlist;
pub mod baseline;
pub mod gitleaksignore;
pub mod inline;
mod paths;

use std::ops::Range;
use std::path::PathBuf;

use crate::finding::Finding;
pub use crate::finding::{SuppressReason, Suppression};
use crate::matcher::Match;

pub use allowlist::{Allowlist, Condition, PathPattern, PatternError, RegexTarget, Scope};
pub use baseline::{Baseline, BaselineError};
pub use gitleaksignore::GitleaksIgnore;
pub use paths::{absolute, confine, PathForms, Refused};

/// The content around a finding, for checks that look beyond the secret.
pub struct Context<'a> {
    /// The whole blob.
    pub hay: &'a [u8],
    /// The span of the rule's whole match.
    pub whole: Range<usize>,
}

impl Context<'_> {
    /// The whole regex match.
    pub fn matched(&self) -> &[u8] {
        &self.hay[self.whole.clone()]
    }

    /// The lines the match spans, without their final line break.
    pub fn lines(&self) -> &[u8] {
        let r = inline::line_span(self.hay, self.whole.clone());
        &self.hay[r]
    }
}

/// Everything that can suppress findings in one run. Build once, share across
/// threads.
#[derive(Debug, Default)]
pub struct Triage {
    /// Honour inline allow comments.
    pub inline: bool,
    pub allowlists: Vec<Allowlist>,
    pub ignore: Option<GitleaksIgnore>,
    pub baseline: Option<Baseline>,
    cwd: PathBuf,
}

impl Triage {
    /// A triage with inline allows on and nothing else. Relative finding paths
    /// are resolved against the current directory.
    pub fn new() -> Triage {
        Triage {
            inline: true,
            cwd: std::env::current_dir().unwrap_or_default(),
            ..Triage::default()
        }
    }

    /// Whether anything besides inline allows is configured.
    pub fn is_trivial(&self) -> bool {
        self.allowlists.is_empty() && self.ignore.is_none() && self.baseline.is_none()
    }

    /// The path of `f` in the forms the checks compare against.
    pub fn forms<'a>(&self, f: &'a Finding) -> PathForms<'a> {
        PathForms::new(&f.location.path, f.commit().is_some(), &self.cwd)
    }

    /// Decides whether `f` is suppressed, and why. `ctx` is the blob around the
    /// finding; without it, inline allows and allowlist regexes that target
    /// the match are not checked (those on the line use the finding's snippet).
    pub fn judge(&self, f: &Finding, ctx: Option<&Context<'_>>) -> Option<Suppression> {
        let inline = ctx
            .filter(|_| self.inline)
            .and_then(|c| inline::allowed(c.hay, c.whole.clone()));
        self.decide(f, ctx, inline)
    }

    /// [`Triage::judge`] once the inline marker (if any) is known.
    fn decide(
        &self,
        f: &Finding,
        ctx: Option<&Context<'_>>,
        inline: Option<&'static str>,
    ) -> Option<Suppression> {
        if let Some(marker) = inline {
            return Some(Suppression {
                reason: SuppressReason::Inline,
                detail: marker.to_string(),
            });
        }
        if self.is_trivial() {
            return None;
        }
        let forms = self.forms(f);
        if let Some(ignore) = &self.ignore {
            if let Some(entry) = ignore.matches(f, &forms) {
                return Some(Suppression {
                    reason: SuppressReason::Gitleaksignore,
                    detail: format!("{}: {entry}", ignore.path().display()),
                });
            }
        }
        for a in &self.allowlists {
            if let Some((reason, detail)) = a.check(f, &forms, ctx) {
                return Some(Suppression { reason, detail });
            }
        }
        if let Some(b) = &self.baseline {
            if b.contains(f, &forms) {
                return Some(Suppression {
                    reason: SuppressReason::Baseline,
                    detail: b.path().display().to_string(),
                });
            }
        }
        None
    }

    /// Marks the findings of one blob. `findings[i]` must come from `matches[i]`
    /// (as [`crate::finding::from_segment`] returns them).
    pub fn review(&self, hay: &[u8], matches: &[Match], findings: &mut [Finding]) {
        let mut memo = self.inline.then(|| inline::Memo::new(hay));
        for (m, f) in matches.iter().zip(findings.iter_mut()) {
            let ctx = Context {
                hay,
                whole: m.whole.clone(),
            };
            let inline = memo
                .as_mut()
                .and_then(|memo| memo.allowed(hay, m.whole.clone()));
            f.annotations.suppressed = self.decide(f, Some(&ctx), inline);
        }
    }
}
