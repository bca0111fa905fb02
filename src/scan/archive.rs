//! Archive members scanned like files: [`crate::source::archive`] opens the
//! archive, each member goes through the per-blob pipeline under its
//! `outer!inner` path, and what was not scanned is warned about and counted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{Scanner, Summary};
use crate::blob::{Blob, Bytes, Origin};
use crate::diag::Messages;
use crate::finding::Finding;
use crate::matcher::Scratch;
use crate::source::archive::{self, Limits};
use crate::source::SkipReason;

/// What the scanning threads did with archive members.
#[derive(Default)]
pub(super) struct ArchiveTally {
    members: AtomicU64,
    bytes: AtomicU64,
    skipped: Mutex<BTreeMap<SkipReason, u64>>,
}

impl ArchiveTally {
    fn skip(&self, reason: SkipReason) {
        *self.skipped.lock().unwrap().entry(reason).or_default() += 1;
    }

    /// Members count as files scanned; skips are counted by reason.
    pub(super) fn add_to(self, summary: &mut Summary) {
        summary.files_scanned += self.members.into_inner();
        summary.bytes_scanned += self.bytes.into_inner();
        for (reason, n) in self.skipped.into_inner().unwrap() {
            *summary.skipped.entry(reason).or_default() += n;
        }
    }
}

impl Scanner {
    /// Scans the members of `blob` when it is an archive and `limits` open
    /// archives; `None` when it is not one, for the caller to scan it as it is.
    pub(super) fn scan_archive(
        &self,
        blob: &Blob,
        limits: &Limits,
        scratch: &mut Scratch,
        messages: &Messages,
        tally: &ArchiveTally,
    ) -> Option<Vec<Finding>> {
        if limits.depth == 0 || archive::detect(&blob.bytes).is_none() {
            return None;
        }
        let mut found = Vec::new();
        let path = blob.origin.display_path();
        let skipped = archive::expand(&path, &blob.bytes, limits, &mut |inner, data| {
            let data = crate::blob::utf16_to_utf8(&data).unwrap_or(data);
            if crate::blob::looks_binary(&data) {
                tally.skip(SkipReason::Binary);
                return;
            }
            tally.members.fetch_add(1, Ordering::Relaxed);
            tally.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            let member = Blob::new(Bytes::Owned(data), Origin::File(PathBuf::from(inner)));
            found.extend(self.scan_blob_with(&member, scratch, messages));
        });
        for s in skipped {
            messages.warn(&s.location, &format!("{}: {}", s.reason, s.detail));
            tally.skip(s.reason);
        }
        Some(found)
    }
}
