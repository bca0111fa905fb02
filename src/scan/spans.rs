//! Overlap queries over the byte spans of one blob's findings, so that the
//! per-blob steps stay O(n log n) in the number of matches: a file holding
//! 80,000 keys must not compare every finding with every other (issue 18,
//! item 10).

use std::ops::Range;

/// Spans sorted by start, with the running maximum of their ends.
pub(super) struct SpanIndex {
    /// Indices into the caller's spans, by start.
    order: Vec<usize>,
    starts: Vec<usize>,
    ends: Vec<usize>,
    max_end: Vec<usize>,
}

impl SpanIndex {
    pub fn new<'a>(spans: impl IntoIterator<Item = &'a Range<usize>>) -> SpanIndex {
        let mut items: Vec<(usize, Range<usize>)> =
            spans.into_iter().cloned().enumerate().collect::<Vec<_>>();
        items.sort_by_key(|(i, s)| (s.start, *i));
        let mut max_end = Vec::with_capacity(items.len());
        let mut running = 0;
        for (_, s) in &items {
            running = running.max(s.end);
            max_end.push(running);
        }
        SpanIndex {
            order: items.iter().map(|(i, _)| *i).collect(),
            starts: items.iter().map(|(_, s)| s.start).collect(),
            ends: items.iter().map(|(_, s)| s.end).collect(),
            max_end,
        }
    }

    /// Whether any span overlaps `r` (shares a byte with it, as
    /// `a.start < b.end && b.start < a.end` says).
    pub fn any_overlap(&self, r: &Range<usize>) -> bool {
        let n = self.starts.partition_point(|&s| s < r.end);
        n > 0 && self.max_end[n - 1] > r.start
    }

    /// The caller's indices of the spans that overlap `r` or start where it
    /// does, latest start first. Walks back only while an earlier span can
    /// still reach `r`, so disjoint spans cost O(log n) per query.
    pub fn touching(&self, r: &Range<usize>) -> impl Iterator<Item = usize> + '_ {
        let bound = r.end.max(r.start + 1);
        let n = self.starts.partition_point(|&s| s < bound);
        let start = r.start;
        (0..n)
            .rev()
            .take_while(move |&i| self.max_end[i] > start || self.starts[i] >= start)
            .filter(move |&i| self.ends[i] > start || self.starts[i] == start)
            .map(move |i| self.order[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
        a.start < b.end && b.start < a.end
    }

    #[test]
    fn agrees_with_the_pairwise_definition() {
        let spans: Vec<Range<usize>> = (0..60)
            .map(|i| {
                let s = (i * 7919) % 50;
                s..s + (i * 31) % 9
            })
            .collect();
        let index = SpanIndex::new(&spans);
        for q in 0..55 {
            for len in 0..6 {
                let r = q..q + len;
                let want = spans.iter().any(|s| overlaps(s, &r));
                assert_eq!(index.any_overlap(&r), want, "{r:?}");
                let mut got: Vec<usize> = index.touching(&r).collect();
                got.sort_unstable();
                let want: Vec<usize> = (0..spans.len())
                    .filter(|&i| overlaps(&spans[i], &r) || spans[i].start == r.start)
                    .collect();
                assert_eq!(got, want, "{r:?}");
            }
        }
    }
}
