//! The staged driver: the index's version of each staged file, with findings
//! kept only on the lines the staged change adds or modifies.

use std::path::PathBuf;
use std::time::Instant;

use super::{ScanResult, Scanner, Summary};
use crate::blob::{Blob, Bytes, Origin};
use crate::diag::Messages;
use crate::matcher::Scratch;
use crate::source::staged::{staged_files, staged_files_with_git_cli};
use crate::source::SkipReason;

impl Scanner {
    /// Scans the staged content of the repository containing `path`, keeping
    /// only findings on lines the staged change adds or modifies.
    ///
    /// # Errors
    ///
    /// Fails when no repository contains `path` or its index cannot be read.
    pub fn scan_staged(
        &self,
        path: &std::path::Path,
        messages: &Messages,
    ) -> anyhow::Result<ScanResult> {
        let started = Instant::now();
        let repo = git2::Repository::discover(path).map_err(|e| {
            anyhow::anyhow!(
                "{}: not in a git repository: {}",
                path.display(),
                e.message()
            )
        })?;
        let from_cli = repo
            .workdir()
            .ok_or_else(|| "bare repository".to_string())
            .and_then(staged_files_with_git_cli);
        let files = match from_cli {
            Ok(files) => files,
            // No git on PATH (or it failed): read the index ourselves.
            Err(_) => staged_files(&repo)
                .map_err(|e| anyhow::anyhow!("cannot read staged changes: {}", e.message()))?,
        };
        let mut summary = Summary {
            rules: self.rules().len(),
            ..Summary::default()
        };
        let mut findings = Vec::new();
        let mut scratch = Scratch::default();
        for f in &files {
            let blob = match repo.find_blob(f.blob) {
                Ok(b) => b,
                Err(e) => {
                    messages.warn(&f.path, e.message());
                    summary.errors += 1;
                    continue;
                }
            };
            let b = Blob::new(
                Bytes::Owned(blob.content().to_vec()),
                Origin::File(PathBuf::from(&f.path)),
            )
            .utf16_decoded();
            if b.looks_binary() {
                *summary.skipped.entry(SkipReason::Binary).or_default() += 1;
                continue;
            }
            summary.files_scanned += 1;
            summary.bytes_scanned += b.bytes.len() as u64;
            findings.extend(
                self.scan_blob_with(&b, &mut scratch, messages)
                    .into_iter()
                    .filter(|x| f.touches(x.location.line, x.location.end_line)),
            );
        }
        summary.format_fallbacks = messages.format_fallbacks();
        Ok(self.finish(findings, summary, started))
    }
}
