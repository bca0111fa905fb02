//! The order libgit2's revwalk gives with `TOPOLOGICAL | REVERSE` and no
//! hidden commits, computed from commits read elsewhere.
//!
//! A history walk takes its commits in this order, and which commit is
//! reported as introducing a blob met on two unrelated branches depends on
//! it: the order must be libgit2's to the last tie, so that reading commits
//! from the packs (see [`super::packed`]) changes no finding. libgit2 reads
//! each commit through its object database with the system zlib, one at a
//! time, before the walk can start: git.git's 85,000 commits took 1.2 s,
//! a third of the walk. The steps below follow libgit2 1.9's `revwalk.c`
//! (`prepare_walk`, `limit_list`, `sort_in_topological_order`): a
//! date-ordered frontier with ties kept in arrival order, then Kahn's
//! algorithm over a stack seeded with the tips in the order they came out.
//!
//! Whatever libgit2 would read differently is refused, not guessed:
//! [`topological_reverse`] returns `None` for a commit it cannot read or
//! parse strictly (the caller then asks libgit2, which names the problem),
//! and the caller does not use it where libgit2 reads parents from
//! elsewhere (a commit-graph file, grafts, a shallow file).
//!
//! Cost: one read and parse per commit; inserting into the frontier is
//! linear in its width, as in libgit2.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;

use git2::Oid;

/// What the walk needs of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Committer time, seconds since the epoch.
    pub time: i64,
    pub parents: Vec<Oid>,
}

/// Parses a commit's parents and committer time as libgit2's quick parse
/// does, or `None` where the text is not what git writes (libgit2 may read
/// such a commit otherwise, or refuse it).
pub fn parse_commit(data: &[u8]) -> Option<Parsed> {
    let mut lines = data.split_inclusive(|&b| b == b'\n');
    let hex_line = |line: &[u8], key: &[u8]| -> Option<Oid> {
        let hex = line.strip_prefix(key)?.strip_suffix(b"\n")?;
        if hex.len() != 40 {
            return None;
        }
        Oid::from_str(std::str::from_utf8(hex).ok()?).ok()
    };
    hex_line(lines.next()?, b"tree ")?;
    let mut parents = Vec::new();
    let mut line = lines.next()?;
    while line.starts_with(b"parent ") {
        parents.push(hex_line(line, b"parent ")?);
        line = lines.next()?;
    }
    while line.starts_with(b"author ") {
        signature_time(line.strip_prefix(b"author ")?)?;
        line = lines.next()?;
    }
    let time = signature_time(line.strip_prefix(b"committer ")?)?;
    Some(Parsed { time, parents })
}

/// The time of `Name <email> 1700000000 +0100\n`, where libgit2 reads one:
/// after the last `>`, a space and the digits. A signature without a time is
/// refused (libgit2 reads it as 0, git never writes one).
fn signature_time(sig: &[u8]) -> Option<i64> {
    let sig = sig.strip_suffix(b"\n")?;
    let open = sig.iter().rposition(|&b| b == b'<')?;
    let close = sig.iter().rposition(|&b| b == b'>')?;
    if close <= open {
        return None;
    }
    let rest = sig[close + 1..].strip_prefix(b" ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // Past 18 digits an i64 may overflow, where libgit2 refuses the commit.
    if digits == 0 || digits > 18 || !(digits == rest.len() || rest[digits] == b' ') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Oid, usize, BuildHasherDefault<crate::blob::FoldHasher>>,
}

impl Graph {
    fn lookup(&mut self, id: Oid) -> usize {
        let nodes = &mut self.nodes;
        *self.index.entry(id).or_insert_with(|| {
            nodes.push(Node {
                id,
                time: 0,
                parents: Vec::new(),
                parsed: false,
                seen: false,
                in_degree: 0,
            });
            nodes.len() - 1
        })
    }
}

struct Node {
    id: Oid,
    time: i64,
    parents: Vec<usize>,
    parsed: bool,
    seen: bool,
    /// libgit2's width: past 65,535 children it wraps, and so must this
    /// to give libgit2's order.
    in_degree: u16,
}

/// The commits reachable from `starts` (pushed in this order), parents
/// first, exactly as libgit2's revwalk with `TOPOLOGICAL | REVERSE` gives
/// them, reading each commit with `read`. `None` when `read` gives `None`
/// for any commit met.
pub fn topological_reverse(
    starts: &[Oid],
    mut read: impl FnMut(Oid) -> Option<Parsed>,
) -> Option<Vec<Oid>> {
    let mut g = Graph {
        nodes: Vec::new(),
        index: HashMap::default(),
    };
    let mut parse = |g: &mut Graph, n: usize| -> Option<()> {
        if g.nodes[n].parsed {
            return Some(());
        }
        let p = read(g.nodes[n].id)?;
        let parents = p.parents.into_iter().map(|id| g.lookup(id)).collect();
        let node = &mut g.nodes[n];
        (node.time, node.parents, node.parsed) = (p.time, parents, true);
        Some(())
    };

    // Each push goes to the front of libgit2's input list.
    let mut input = Vec::new();
    for &s in starts.iter().rev() {
        input.push(g.lookup(s));
    }
    let mut frontier = VecDeque::new();
    for n in input {
        parse(&mut g, n)?;
        if !g.nodes[n].seen {
            g.nodes[n].seen = true;
            frontier.push_back(n);
        }
    }

    // limit_list: pop the front, queue its parents by date (after those as
    // recent or more recent), keep it.
    let mut limited = Vec::new();
    while let Some(n) = frontier.pop_front() {
        // Each commit enters the frontier once, so its parents are queued
        // once (libgit2 keeps an `added` flag for other walks).
        for i in 0..g.nodes[n].parents.len() {
            let p = g.nodes[n].parents[i];
            parse(&mut g, p)?;
            if !g.nodes[p].seen {
                g.nodes[p].seen = true;
                let time = g.nodes[p].time;
                let at = frontier
                    .iter()
                    .position(|&q| g.nodes[q].time < time)
                    .unwrap_or(frontier.len());
                frontier.insert(at, p);
            }
        }
        limited.push(n);
    }

    // sort_in_topological_order, without a time order: in-degrees over the
    // kept commits, tips stacked so the first found comes out first.
    let nodes = &mut g.nodes;
    for &n in &limited {
        nodes[n].in_degree = 1;
    }
    for &n in &limited {
        for i in 0..nodes[n].parents.len() {
            let p = nodes[n].parents[i];
            if nodes[p].in_degree != 0 {
                nodes[p].in_degree = nodes[p].in_degree.wrapping_add(1);
            }
        }
    }
    let mut stack: Vec<usize> = limited
        .iter()
        .copied()
        .filter(|&n| nodes[n].in_degree == 1)
        .collect();
    stack.reverse();
    let mut sorted = Vec::with_capacity(limited.len());
    while let Some(n) = stack.pop() {
        for i in 0..nodes[n].parents.len() {
            let p = nodes[n].parents[i];
            if nodes[p].in_degree == 0 {
                continue;
            }
            nodes[p].in_degree -= 1;
            if nodes[p].in_degree == 1 {
                stack.push(p);
            }
        }
        nodes[n].in_degree = 0;
        sorted.push(nodes[n].id);
    }
    sorted.reverse();
    Some(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{Repository, Signature, Sort, Time};

    fn id(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    #[test]
    fn commits_parse_as_libgit2_reads_them() {
        let tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let p1 = format!("parent {}\n", id(1));
        let p2 = format!("parent {}\n", id(2));
        let author = "author A U Thor <a@example.com> 1600000000 +0000\n";
        let committer = "committer C O Mitter <c@example.com> 1700000000 -0130\n";
        let ok = |parents: Vec<Oid>, time| Some(Parsed { time, parents });
        let cases: Vec<(String, Option<Parsed>)> = vec![
            (
                format!("{tree}{author}{committer}\nmsg\n"),
                ok(vec![], 1_700_000_000),
            ),
            (
                format!("{tree}{p1}{p2}{author}{committer}\nmsg\n"),
                ok(vec![id(1), id(2)], 1_700_000_000),
            ),
            // Two authors (some tools write them), no author at all.
            (
                format!("{tree}{p1}{author}{author}{committer}\n"),
                ok(vec![id(1)], 1_700_000_000),
            ),
            (format!("{tree}{committer}"), ok(vec![], 1_700_000_000)),
            // A '>' in the name: the last one ends the e-mail.
            (
                format!("{tree}committer a>b <c@d> 5 +0000\n"),
                ok(vec![], 5),
            ),
            // No zone.
            (format!("{tree}committer a <c@d> 5\n"), ok(vec![], 5)),
            // Refused: no committer, no time, a bad parent, no tree, a
            // time past i64, a sign.
            (format!("{tree}{author}\n"), None),
            (format!("{tree}committer a <c@d>\n"), None),
            (format!("{tree}parent 123\n{committer}"), None),
            (format!("{p1}{committer}"), None),
            (
                format!("{tree}committer a <c@d> 9999999999999999999 +0000\n"),
                None,
            ),
            (format!("{tree}committer a <c@d> -5 +0000\n"), None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_commit(text.as_bytes()), want, "{text:?}");
        }
    }

    /// Random histories (equal times, merges of up to four parents,
    /// duplicated and unrelated starts): the order is libgit2's.
    #[test]
    fn order_is_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let tree = repo.find_tree(tree).unwrap();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..12 {
            let mut commits: Vec<Oid> = Vec::new();
            for i in 0..200 {
                // Few distinct times, so ties are everywhere; times that go
                // backwards as well as forwards.
                let time = 1_700_000_000 + rand(6) as i64 * 100;
                let sig = Signature::new("a", "a@example.com", &Time::new(time, 0)).unwrap();
                let parents: Vec<git2::Commit> = if commits.is_empty() || rand(10) == 0 {
                    vec![]
                } else {
                    (0..[1, 1, 2, 4][rand(4)])
                        .map(|_| {
                            let p = commits[commits.len() - 1 - rand(commits.len().min(30))];
                            repo.find_commit(p).unwrap()
                        })
                        .collect()
                };
                let refs: Vec<&git2::Commit> = parents.iter().collect();
                let msg = format!("r{round} c{i}");
                commits.push(repo.commit(None, &sig, &sig, &msg, &tree, &refs).unwrap());
            }
            let starts: Vec<Oid> = (0..1 + rand(8))
                .map(|_| commits[commits.len() - 1 - rand(commits.len())])
                .collect();
            let mut walk = repo.revwalk().unwrap();
            walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).unwrap();
            for &s in &starts {
                walk.push(s).unwrap();
            }
            let want: Vec<Oid> = walk.map(Result::unwrap).collect();
            let odb = repo.odb().unwrap();
            let got = topological_reverse(&starts, |id| parse_commit(odb.read(id).ok()?.data()));
            assert_eq!(
                got.as_ref(),
                Some(&want),
                "round {round}, starts {starts:?}"
            );
        }
    }

    /// libgit2 counts children in 16 bits: a commit with 65,535 children
    /// or more comes out where the wrapped count puts it.
    #[test]
    fn child_counts_wrap_as_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        // Kept in memory: 65,000 loose files would take seconds to write.
        let _mempack = odb.add_new_mempack_backend(1000).unwrap();
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let commit = |parents: &[Oid], time: u32, msg: &str| {
            let parents: String = parents.iter().map(|p| format!("parent {p}\n")).collect();
            let text = format!(
                "tree {tree}\n{parents}author a <a@b> {time} +0000\ncommitter a <a@b> {time} +0000\n\n{msg}\n"
            );
            odb.write(git2::ObjectType::Commit, text.as_bytes())
                .unwrap()
        };
        let root = commit(&[], 1, "root");
        let mid = commit(&[root], 2, "mid");
        let mut starts = vec![mid];
        starts.extend((0..65_537u32).map(|i| commit(&[root], 3 + i % 5, &i.to_string())));
        let mut walk = repo.revwalk().unwrap();
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).unwrap();
        for &s in &starts {
            walk.push(s).unwrap();
        }
        let want: Vec<Oid> = walk.map(Result::unwrap).collect();
        let got = topological_reverse(&starts, |id| parse_commit(odb.read(id).ok()?.data()));
        assert_eq!(got.as_ref().map(Vec::len), Some(want.len()));
        assert!(got == Some(want), "orders differ");
    }

    #[test]
    fn an_unreadable_commit_gives_none() {
        let (a, b) = (id(1), id(2));
        let read = |x: Oid| {
            (x == a).then(|| Parsed {
                time: 1,
                parents: vec![b],
            })
        };
        assert_eq!(topological_reverse(&[a], read), None);
        assert_eq!(topological_reverse(&[], read), Some(vec![]));
    }
}
