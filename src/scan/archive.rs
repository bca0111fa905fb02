//! Archive members scanned like files: [`crate::source::archive`] opens the
//! archive (or [`crate::source::image`] an image tarball), each member goes
//! through the per-blob pipeline under its `outer!inner` path, and what was
//! not scanned is warned about and counted. The file and history drivers
//! both come here; only the origin they give members differs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{Scanner, Summary};
use crate::blob::Origin;
use crate::diag::Messages;
use crate::finding::{Finding, LayerStatus};
use crate::matcher::Scratch;
use crate::source::archive::{self, Limits, Skipped};
use crate::source::image::{self, Fate, Member, Opened};
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

    /// Members scanned, their bytes, and the skips by reason.
    pub(super) fn into_parts(self) -> (u64, u64, BTreeMap<SkipReason, u64>) {
        (
            self.members.into_inner(),
            self.bytes.into_inner(),
            self.skipped.into_inner().unwrap(),
        )
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

/// How an archive's members are named as origins: files on disk
/// (`bundle.zip!app.py`) or blobs in history (the archive's blob id).
pub(super) enum Outer<'a> {
    File,
    Git { blob: &'a str },
}

impl Outer<'_> {
    fn origin(&self, inner: &str) -> Origin {
        match self {
            Outer::File => Origin::File(PathBuf::from(inner)),
            Outer::Git { blob } => Origin::Git {
                blob: blob.to_string(),
                path: inner.to_string(),
            },
        }
    }
}

/// One archive being scanned: where it is and what to count into.
pub(super) struct ArchiveScan<'a> {
    pub path: &'a str,
    pub outer: Outer<'a>,
    pub limits: &'a Limits,
    pub messages: &'a Messages,
    pub tally: &'a ArchiveTally,
}

impl Scanner {
    /// Scans the members of `bytes` when it is an archive and `limits` open
    /// archives; `None` when it is not one, for the caller to scan it as it is.
    pub(super) fn scan_archive(
        &self,
        bytes: &[u8],
        a: &ArchiveScan<'_>,
        scratch: &mut Scratch,
    ) -> Option<Vec<Finding>> {
        if a.limits.depth == 0 || archive::detect(bytes).is_none() {
            return None;
        }
        if let Some(found) = self.scan_image(bytes, a, scratch) {
            return Some(found);
        }
        let mut found = Vec::new();
        let skipped = archive::expand(a.path, bytes, a.limits, &mut |inner, data| {
            found.extend(self.scan_member(inner, data, a, scratch));
        });
        a.report(skipped);
        Some(found)
    }

    /// One member: binary ones are counted and left out, like files.
    fn scan_member(
        &self,
        inner: &str,
        data: Vec<u8>,
        a: &ArchiveScan<'_>,
        scratch: &mut Scratch,
    ) -> Vec<Finding> {
        let data = crate::blob::utf16_to_utf8(&data).unwrap_or(data);
        if crate::blob::looks_binary(&data) {
            a.tally.skip(SkipReason::Binary);
            return Vec::new();
        }
        a.tally.members.fetch_add(1, Ordering::Relaxed);
        a.tally
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.scan_bytes_with(&data, &a.outer.origin(inner), scratch, a.messages)
    }

    /// Scans an image tarball's layers and configs; `None` when `bytes` are
    /// no image, or when its manifests are refused (warned about and
    /// counted; the caller then opens it as a plain tar, so a broken
    /// manifest hides nothing).
    fn scan_image(
        &self,
        bytes: &[u8],
        a: &ArchiveScan<'_>,
        scratch: &mut Scratch,
    ) -> Option<Vec<Finding>> {
        let image = image::detect(bytes, a.limits)?;
        let mut found: Vec<(Option<(usize, String)>, Finding)> = Vec::new();
        let opened = image::expand(
            a.path,
            bytes,
            image,
            a.limits,
            &mut |m: Member<'_>, data| {
                let at = m.layer.map(|(l, p)| (l, p.to_string()));
                for f in self.scan_member(m.location, data, a, scratch) {
                    found.push((at.clone(), f));
                }
            },
        );
        let mut opened = match opened {
            Ok(o) => o,
            Err(e) => {
                a.messages.warn(
                    &e.location,
                    &format!("{}; scanning it as a plain tar", e.cause),
                );
                a.tally.skip(SkipReason::ImageManifest);
                return None;
            }
        };
        a.report(std::mem::take(&mut opened.skipped));
        Some(
            found
                .into_iter()
                .map(|(at, f)| place_in_image(f, at, &opened))
                .collect(),
        )
    }
}

impl ArchiveScan<'_> {
    fn report(&self, skipped: Vec<Skipped>) {
        for s in skipped {
            self.messages
                .warn(&s.location, &format!("{}: {}", s.reason, s.detail));
            self.tally.skip(s.reason);
        }
    }
}

/// Names the image, layer and the file's fate on a finding in a layer.
fn place_in_image(mut f: Finding, at: Option<(usize, String)>, opened: &Opened) -> Finding {
    let Some((layer, path)) = at else {
        return f;
    };
    let names = opened.names(layer);
    f.place.image = (!names.is_empty()).then(|| names.join(", "));
    f.place.layer = Some(opened.layers[layer].digest.clone());
    let (fate, by) = opened.fate(layer, &path);
    f.place.layer_status = Some(match fate {
        Fate::Present => LayerStatus::Present,
        Fate::Deleted => LayerStatus::Deleted,
        Fate::Replaced => LayerStatus::Replaced,
    });
    if let (Some(by), true) = (by, fate != Fate::Present) {
        let verb = if fate == Fate::Deleted {
            "deleted"
        } else {
            "replaced"
        };
        f.place.fix = Some(format!(
            "{verb} by layer {}, but layer {} still holds it and ships with the image: \
             rotate the secret and rebuild without it (e.g. a multi-stage build or a \
             build secret mount)",
            opened.layers[by].short(),
            opened.layers[layer].short()
        ));
    }
    f
}
