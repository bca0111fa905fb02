//! The summary a report ends with: the scan's counts and, when those stages
//! ran, the sweep's, validation's and revocation's.

use std::time::Duration;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::revoke::RevokeSummary;
use crate::scan;
use crate::sweep::SweepSummary;
use crate::validate::ValidationSummary;

/// Everything a run counted. Serialized flat, scan counts first, as the
/// `summary` object of the JSON report.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub scan: scan::Summary,
    /// Set by `keysweep sweep`: the run, repositories and failures.
    pub sweep: Option<SweepSummary>,
    /// Validation counts, when `--validate` ran.
    pub validation: Option<ValidationSummary>,
    /// Revocation counts and failures, when `--revoke` ran.
    pub revocation: Option<RevokeSummary>,
    /// Analysis counts, when `--analyze` ran.
    pub analysis: Option<crate::analyze::AnalysisSummary>,
}

impl From<scan::Summary> for RunSummary {
    fn from(scan: scan::Summary) -> RunSummary {
        RunSummary {
            scan,
            ..RunSummary::default()
        }
    }
}

impl Serialize for RunSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// A duration that serializes as seconds.
        struct Secs(Duration);
        impl Serialize for Secs {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::time::serialize_secs(&self.0, s)
            }
        }
        let c = &self.scan;
        let mut st = s.serialize_struct("Summary", 14)?;
        st.serialize_field("files_scanned", &c.files_scanned)?;
        st.serialize_field("bytes_scanned", &c.bytes_scanned)?;
        st.serialize_field("findings", &c.findings)?;
        st.serialize_field("skipped", &c.skipped)?;
        st.serialize_field("errors", &c.errors)?;
        st.serialize_field("suppressed", &c.suppressed)?;
        st.serialize_field("rules", &c.rules)?;
        optional(&mut st, "git", &c.git)?;
        if c.format_fallbacks != 0 {
            st.serialize_field("format_fallbacks", &c.format_fallbacks)?;
        } else {
            st.skip_field("format_fallbacks")?;
        }
        optional(&mut st, "sweep", &self.sweep)?;
        st.serialize_field("elapsed", &Secs(c.elapsed))?;
        optional(&mut st, "validation", &self.validation)?;
        optional(&mut st, "analysis", &self.analysis)?;
        optional(&mut st, "revocation", &self.revocation)?;
        st.end()
    }
}

fn optional<S: SerializeStruct, T: Serialize>(
    st: &mut S,
    name: &'static str,
    value: &Option<T>,
) -> Result<(), S::Error> {
    match value {
        Some(v) => st.serialize_field(name, v),
        None => st.skip_field(name),
    }
}

/// "N findings (M distinct secrets) in F files; scanned S files (B)": the
/// first words of every summary, the human report's and the one line on
/// standard error. Files and secrets count findings not suppressed; history
/// scans count blobs.
pub fn headline(summary: &RunSummary, findings: &[crate::finding::Finding]) -> String {
    use super::human::{human_bytes, plural};
    let s = &summary.scan;
    let unit = if s.git.is_some() { "blob" } else { "file" };
    let files_with: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.annotations.suppressed.is_none())
        .map(|f| f.location.path.as_str())
        .collect();
    let distinct = super::distinct_secrets(findings);
    format!(
        "{} finding{} ({distinct} distinct secret{}) in {} file{}; scanned {} {unit}{} ({})",
        s.findings,
        plural(s.findings as u64),
        plural(distinct as u64),
        files_with.len(),
        plural(files_with.len() as u64),
        s.files_scanned,
        plural(s.files_scanned),
        human_bytes(s.bytes_scanned),
    )
}
