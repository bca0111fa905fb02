//! Git repositories built in a test: write files, commit at a given time,
//! branch. Author and default branch are fixed, whatever the machine's git
//! config says.

use std::path::Path;

use git2::{Repository, Signature, Time};

/// A repository in the test's temp dir with helpers to commit files.
pub struct Repo {
    pub repo: Repository,
}

impl Repo {
    pub fn init(path: &Path) -> Repo {
        let repo = Repository::init(path).unwrap();
        // A fixed default branch name, whatever the machine's git config says.
        repo.set_head("refs/heads/main").unwrap();
        Repo { repo }
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.repo.workdir().unwrap().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Writes the files and commits them on HEAD at a fixed time.
    pub fn commit_files(&self, files: &[(&str, &str)], message: &str) -> git2::Oid {
        for (rel, text) in files {
            self.write(rel, text);
        }
        self.commit(message, 1_700_000_000)
    }

    /// Stages every change (additions and deletions) and commits on HEAD.
    pub fn commit(&self, message: &str, when: i64) -> git2::Oid {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::new("Ada Lovelace", "ada@example.org", &Time::new(when, 60)).unwrap();
        let parents: Vec<git2::Commit> = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
            .unwrap()
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.repo.workdir().unwrap().join(rel)).unwrap();
    }

    pub fn checkout_new_branch(&self, name: &str) {
        let head = self.repo.head().unwrap().peel_to_commit().unwrap();
        self.repo.branch(name, &head, false).unwrap();
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
    }

    pub fn checkout(&self, name: &str) {
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .unwrap();
    }
}
