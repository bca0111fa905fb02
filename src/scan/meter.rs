//! The progress bar of a scan: bytes and rate, plus what was scanned and
//! found so far. Drawn on standard error only when the caller asks (a
//! terminal, not `--quiet`); a hidden bar costs the counters only.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar and the counts its message shows.
pub struct Meter {
    pb: ProgressBar,
    /// Files (or blobs) scanned so far.
    items: AtomicU64,
    /// All the items found so far, when they are counted before they are
    /// scanned (a walk, which may still be going on).
    total: Option<AtomicU64>,
    findings: AtomicU64,
    /// The highest commit index seen plus one: commits walked, for history.
    commits: Option<AtomicU64>,
}

impl Meter {
    /// A bar over `total_bytes` of `total_files` files.
    pub fn files(total_bytes: u64, total_files: u64) -> Meter {
        Meter::new(
            bar(
                total_bytes,
                "{spinner} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
            ),
            Some(AtomicU64::new(total_files)),
            false,
        )
    }

    /// A bar over history, whose size is unknown until the walk ends.
    pub fn history() -> Meter {
        Meter::new(
            bar(None, "{spinner} {bytes} of blobs ({bytes_per_sec}) {msg}"),
            None,
            true,
        )
    }

    fn new(pb: ProgressBar, total: Option<AtomicU64>, history: bool) -> Meter {
        Meter {
            pb,
            items: AtomicU64::new(0),
            total,
            findings: AtomicU64::new(0),
            commits: history.then(|| AtomicU64::new(0)),
        }
    }

    /// The bar, for [`crate::diag::Messages::set_progress`].
    pub fn bar(&self) -> &ProgressBar {
        &self.pb
    }

    /// Adds `files` files of `bytes` bytes in all, which the walk found,
    /// to the totals (at once: each change may redraw the bar).
    pub fn walked(&self, files: u64, bytes: u64) {
        if let Some(t) = &self.total {
            t.fetch_add(files, Ordering::Relaxed);
        }
        self.pb.inc_length(bytes);
    }

    /// Counts `bytes` read (scanned or not).
    pub fn read(&self, bytes: u64) {
        self.pb.inc(bytes);
    }

    /// Counts one item scanned with `found` findings; `commit` is the index
    /// of the commit that introduced it (history).
    pub fn scanned(&self, found: usize, commit: Option<u32>) {
        let items = self.items.fetch_add(1, Ordering::Relaxed) + 1;
        let findings = self.findings.fetch_add(found as u64, Ordering::Relaxed) + found as u64;
        if let (Some(c), Some(i)) = (&self.commits, commit) {
            c.fetch_max(u64::from(i) + 1, Ordering::Relaxed);
        }
        self.pb.set_message(self.message(items, findings));
    }

    /// "12/40 files, 3 findings" or "1,200 blobs in 35 commits, 3 findings".
    fn message(&self, items: u64, findings: u64) -> String {
        let found = format!("{findings} finding{}", if findings == 1 { "" } else { "s" });
        match (&self.commits, &self.total) {
            (Some(c), _) => format!(
                "{items} blobs in {} commits, {found}",
                c.load(Ordering::Relaxed)
            ),
            (None, Some(t)) => format!("{items}/{} files, {found}", t.load(Ordering::Relaxed)),
            (None, None) => format!("{items} files, {found}"),
        }
    }

    /// What the bar would say now (for tests and the last draw).
    pub fn status(&self) -> String {
        self.message(
            self.items.load(Ordering::Relaxed),
            self.findings.load(Ordering::Relaxed),
        )
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

/// A progress bar on standard error; `total` is `None` when unknown.
pub(crate) fn bar(total: impl Into<Option<u64>>, template: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(total.into(), ProgressDrawTarget::stderr());
    pb.set_style(ProgressStyle::with_template(template).expect("progress template"));
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_findings_and_commits() {
        let m = Meter::files(100, 3);
        m.bar().set_draw_target(ProgressDrawTarget::hidden());
        m.scanned(0, None);
        m.scanned(2, None);
        assert_eq!(m.status(), "2/3 files, 2 findings");
        assert_eq!(m.bar().message(), "2/3 files, 2 findings");
        let h = Meter::history();
        h.bar().set_draw_target(ProgressDrawTarget::hidden());
        h.scanned(1, Some(4));
        h.scanned(0, Some(1));
        assert_eq!(h.status(), "2 blobs in 5 commits, 1 finding");
    }

    #[test]
    fn totals_grow_as_the_walk_finds_files() {
        let m = Meter::files(0, 0);
        m.bar().set_draw_target(ProgressDrawTarget::hidden());
        m.walked(1, 10);
        m.walked(1, 30);
        m.read(10);
        m.scanned(1, None);
        assert_eq!(m.status(), "1/2 files, 1 finding");
        assert_eq!(m.bar().length(), Some(40));
        assert_eq!(m.bar().position(), 10);
    }
}
