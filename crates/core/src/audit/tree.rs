//! [`LeafTree`]: the snapshot Merkle tree kept level by level, so that applying a diff re-hashes
//! only what the diff touches.
//!
//! [`MerkleTree`](crate::merkle::MerkleTree) is built once per snapshot from every leaf; an
//! auditor that checks thousands of snapshots of a 254,000-file index cannot afford that (a full
//! build hashes every leaf again). This tree keeps every level of node hashes (RFC 6962 shape:
//! pairs from the left, a lone last node promoted), so:
//!
//! - a diff that only *changes* files re-hashes one leaf and the `log2(n)` nodes above it per file;
//! - a diff that *adds or removes* a path shifts every leaf to its right, which moves them to other
//!   nodes: the nodes right of the first shifted position are re-hashed (at most about `2n`
//!   hashes of 65 bytes), but no leaf is hashed again and nothing is re-read.
//!
//! That second cost is the shape of the tree (sorted leaves in RFC 6962 order), not a choice
//! of this code: any verifier of the signed root has to pay it.

use crate::Sha256Hash;
use crate::diff::{DiffError, SnapshotDiff};
use crate::merkle::{Leaf, LeafError, empty_root, node_hash};
use std::cmp::Ordering;

/// A sorted leaf list with all its node hashes. See the module documentation.
#[derive(Debug, Clone)]
pub struct LeafTree {
    leaves: Vec<Leaf>,
    /// `levels[0]` holds the leaf hashes, `levels[k + 1][j]` the parent of `levels[k][2j]` and
    /// `levels[k][2j + 1]` (or `levels[k][2j]` itself when it has no partner). The last level has
    /// one node, the root, unless the tree is empty.
    levels: Vec<Vec<Sha256Hash>>,
}

impl Default for LeafTree {
    fn default() -> Self {
        LeafTree { leaves: Vec::new(), levels: vec![Vec::new()] }
    }
}

impl LeafTree {
    /// The tree over `leaves`, which must be sorted by path with no duplicates.
    pub fn from_leaves(leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        Leaf::check_sorted(&leaves)?;
        let hashes = leaves.iter().map(Leaf::hash).collect();
        let mut tree = LeafTree { leaves, levels: vec![hashes] };
        tree.rehash(Vec::new(), 0);
        Ok(tree)
    }

    pub fn root(&self) -> Sha256Hash {
        match self.levels.last() {
            Some(top) if top.len() == 1 => top[0],
            _ => empty_root(),
        }
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The leaf of `path`, if the tree has it.
    pub fn get(&self, path: &str) -> Option<&Leaf> {
        self.position(path).ok().map(|i| &self.leaves[i])
    }

    /// Puts the changed leaves (present: the diff was checked) in place and returns their
    /// positions, whose parents need hashing again.
    fn replace_changed(&mut self, changed: &[Leaf]) -> Vec<usize> {
        let mut dirty = Vec::with_capacity(changed.len());
        for leaf in changed {
            if let Ok(i) = self.position(&leaf.path) {
                self.levels[0][i] = leaf.hash();
                self.leaves[i] = leaf.clone();
                dirty.push(i);
            }
        }
        dirty
    }

    fn position(&self, path: &str) -> Result<usize, usize> {
        self.leaves.binary_search_by(|l| l.path.as_bytes().cmp(path.as_bytes()))
    }

    /// Applies `diff` to this tree, which must be snapshot `previous_version`, and returns the new
    /// root. The diff is checked completely (predecessor, sorted lists, no path in two lists,
    /// removed and changed paths present and really changed, added paths absent, the size it
    /// claims) *before* anything changes: on those errors the tree is untouched. Whether the new
    /// root is the one the diff (or a timestamp) claims is the caller's to compare; the tree then
    /// holds the diff's result either way.
    pub fn apply(&mut self, diff: &SnapshotDiff, previous_version: u64) -> Result<Sha256Hash, DiffError> {
        self.check(diff, previous_version)?;
        if diff.added.is_empty() && diff.removed.is_empty() {
            let dirty = self.replace_changed(&diff.changed);
            let len = self.leaves.len();
            self.rehash(dirty, len);
        } else {
            self.splice(diff);
        }
        Ok(self.root())
    }

    /// Every check of [`Self::apply`] that does not need the new tree.
    fn check(&self, diff: &SnapshotDiff, previous_version: u64) -> Result<(), DiffError> {
        let snapshot = diff.snapshot_version;
        if diff.previous_version != previous_version || diff.previous_root != self.root() {
            return Err(DiffError::Previous {
                snapshot,
                claimed: diff.previous_version,
                claimed_root: diff.previous_root,
                actual: previous_version,
                actual_root: self.root(),
            });
        }
        for list in [&diff.added, &diff.changed] {
            Leaf::check_sorted(list).map_err(|e| DiffError::Leaves(e, snapshot))?;
        }
        if let Some(pair) = diff.removed.windows(2).find(|p| p[0].as_bytes() >= p[1].as_bytes()) {
            return Err(DiffError::RemovedUnsorted { snapshot, path: pair[1].clone() });
        }
        let mut touched = std::collections::HashSet::new();
        for path in diff.added.iter().chain(&diff.changed).map(|l| &l.path).chain(&diff.removed) {
            if !touched.insert(path.as_str()) {
                return Err(DiffError::Overlap { snapshot, path: path.clone() });
            }
        }
        let missing =
            |path: &str| DiffError::MissingPath { snapshot, previous: previous_version, path: path.to_owned() };
        for path in &diff.removed {
            self.get(path).ok_or_else(|| missing(path))?;
        }
        for leaf in &diff.changed {
            if self.get(&leaf.path).ok_or_else(|| missing(&leaf.path))? == leaf {
                return Err(DiffError::NotChanged { snapshot, path: leaf.path.clone() });
            }
        }
        if let Some(leaf) = diff.added.iter().find(|l| self.get(&l.path).is_some()) {
            return Err(DiffError::AddsExisting { snapshot, previous: previous_version, path: leaf.path.clone() });
        }
        let found = (self.leaves.len() + diff.added.len() - diff.removed.len()) as u64;
        if found != diff.tree_size {
            return Err(DiffError::Size { snapshot, expected: diff.tree_size, found });
        }
        Ok(())
    }

    /// Applies a checked diff that adds or removes a few paths where they go (a `memmove` of the
    /// leaves right of each), then re-hashes the nodes right of the first shifted position and
    /// above the changed leaves left of it. Many paths: one merge pass instead.
    fn splice(&mut self, diff: &SnapshotDiff) {
        if diff.added.len() + diff.removed.len() > 64 {
            return self.merge(diff);
        }
        let mut dirty = self.replace_changed(&diff.changed);
        // Every operation moves only what is at or right of its position, so nothing left of the
        // smallest position was moved.
        let mut from = usize::MAX;
        for path in &diff.removed {
            if let Ok(i) = self.position(path) {
                self.leaves.remove(i);
                self.levels[0].remove(i);
                from = from.min(i);
            }
        }
        for leaf in &diff.added {
            if let Err(i) = self.position(&leaf.path) {
                self.leaves.insert(i, leaf.clone());
                self.levels[0].insert(i, leaf.hash());
                from = from.min(i);
            }
        }
        let from = from.min(self.leaves.len());
        dirty.retain(|&i| i < from);
        self.rehash(dirty, from);
    }

    /// Applies a checked diff that adds or removes paths: one pass over the leaves, then the nodes
    /// right of the first shifted position (and above the changed leaves left of it) re-hashed.
    fn merge(&mut self, diff: &SnapshotDiff) {
        let old_leaves = std::mem::take(&mut self.leaves);
        let old_hashes = std::mem::take(&mut self.levels[0]);
        let capacity = old_leaves.len() + diff.added.len();
        let (mut leaves, mut hashes) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        let (mut changed, mut added, mut removed) =
            (diff.changed.iter().peekable(), diff.added.iter().peekable(), diff.removed.iter().peekable());
        let mut dirty = Vec::new();
        let mut shifted_from: Option<usize> = None;
        for (leaf, hash) in old_leaves.into_iter().zip(old_hashes) {
            while let Some(new) = added.next_if(|a| a.path.as_bytes() < leaf.path.as_bytes()) {
                shifted_from.get_or_insert(leaves.len());
                hashes.push(new.hash());
                leaves.push(new.clone());
            }
            if removed.next_if(|r| r.as_bytes() == leaf.path.as_bytes()).is_some() {
                shifted_from.get_or_insert(leaves.len());
                continue;
            }
            match changed.next_if(|c| c.path.as_bytes().cmp(leaf.path.as_bytes()) == Ordering::Equal) {
                Some(new) => {
                    dirty.push(leaves.len());
                    hashes.push(new.hash());
                    leaves.push(new.clone());
                }
                None => {
                    hashes.push(hash);
                    leaves.push(leaf);
                }
            }
        }
        for new in added {
            shifted_from.get_or_insert(leaves.len());
            hashes.push(new.hash());
            leaves.push(new.clone());
        }
        let from = shifted_from.unwrap_or(leaves.len());
        dirty.retain(|&i| i < from);
        self.leaves = leaves;
        self.levels[0] = hashes;
        self.rehash(dirty, from);
    }

    /// Recomputes the levels above the leaf hashes: the parents of `dirty` (sorted leaf
    /// positions) and of every position from `from` on, level by level, resizing each level to
    /// the new leaf count.
    fn rehash(&mut self, mut dirty: Vec<usize>, mut from: usize) {
        let mut level = 0;
        while self.levels[level].len() > 1 {
            let len = self.levels[level].len();
            let parent_len = len.div_ceil(2);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            from = from.min(len) / 2;
            dirty = dirty.into_iter().map(|i| i / 2).filter(|&p| p < from).collect();
            dirty.dedup();
            let (below, above) = self.levels.split_at_mut(level + 1);
            let (children, parents) = (&below[level], &mut above[0]);
            parents.resize(parent_len, Sha256Hash::default());
            for p in dirty.iter().copied().chain(from..parent_len) {
                parents[p] = match children.get(2 * p + 1) {
                    Some(right) => node_hash(&children[2 * p], right),
                    None => children[2 * p],
                };
            }
            level += 1;
        }
        self.levels.truncate(level + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleTree;

    /// A small deterministic generator (splitmix64), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn leaf(i: u64, content: u64) -> Leaf {
        Leaf::of(format!("{i:05}"), format!("file {i} v{content}").as_bytes())
    }

    /// A random next snapshot of `tree`: some files changed, removed and added.
    fn next(tree: &MerkleTree, rng: &mut Rng, round: u64) -> MerkleTree {
        let mut leaves: Vec<Leaf> = Vec::new();
        for l in tree.leaves() {
            match rng.below(10) {
                0 => {}
                1 | 2 => leaves.push(Leaf::of(l.path.clone(), format!("{} r{round}", l.path).as_bytes())),
                _ => leaves.push(l.clone()),
            }
        }
        for _ in 0..rng.below(4) {
            leaves.push(leaf(rng.below(120), round));
        }
        leaves.sort_by(|a, b| a.path.cmp(&b.path));
        leaves.dedup_by(|a, b| a.path == b.path);
        MerkleTree::build(leaves).expect("sorted")
    }

    #[test]
    fn every_diff_gives_the_root_of_a_full_build() {
        for seed in 0..40 {
            let mut rng = Rng(seed);
            let mut full = MerkleTree::build(Vec::new()).expect("empty");
            let mut incremental = LeafTree::default();
            assert_eq!(incremental.root(), empty_root());
            for round in 1..=30 {
                let after = next(&full, &mut rng, round);
                let diff = SnapshotDiff::between(&full, round - 1, &after, round);
                let root = incremental.apply(&diff, round - 1).expect("applies");
                assert_eq!(root, after.root(), "seed {seed} round {round} size {}", after.len());
                assert_eq!(incremental.leaves(), after.leaves());
                full = after;
            }
            let rebuilt = LeafTree::from_leaves(full.leaves().to_vec()).expect("sorted");
            assert_eq!(rebuilt.root(), full.root());
        }
    }

    #[test]
    fn shrinking_to_one_and_to_none_and_growing_again() {
        // Sizes far apart take the merge pass (more than 64 paths added or removed).
        let sizes = [5, 1, 0, 2, 9, 8, 17, 16, 3, 64, 65, 1, 200, 150, 3];
        let mut full = MerkleTree::build(Vec::new()).expect("empty");
        let mut incremental = LeafTree::default();
        for (round, n) in sizes.iter().enumerate() {
            let round = round as u64 + 1;
            // Alternate which end the leaves come from, so that both ends shift.
            let offset = if round.is_multiple_of(2) { 0 } else { 50 };
            let after = MerkleTree::build((0..*n).map(|i| leaf(i + offset, round)).collect()).expect("sorted");
            let diff = SnapshotDiff::between(&full, round - 1, &after, round);
            assert_eq!(incremental.apply(&diff, round - 1).expect("applies"), after.root(), "size {n}");
            full = after;
        }
    }

    #[test]
    fn a_bad_diff_leaves_the_tree_as_it_was() {
        let a = MerkleTree::build((0..10).map(|i| leaf(i, 0)).collect()).expect("sorted");
        let b = MerkleTree::build((0..12).map(|i| leaf(i, u64::from(i == 3))).collect()).expect("sorted");
        let mut tree = LeafTree::from_leaves(a.leaves().to_vec()).expect("sorted");
        let good = SnapshotDiff::between(&a, 1, &b, 2);
        let mut bad = good.clone();
        bad.removed.push("99999".into());
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::MissingPath { .. })));
        let mut bad = good.clone();
        bad.tree_size += 1;
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::Size { .. })));
        let mut bad = good.clone();
        bad.changed[0] = a.leaves()[3].clone();
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::NotChanged { .. })));
        let mut bad = good.clone();
        bad.added.push(a.leaves()[0].clone());
        assert!(tree.apply(&bad, 1).is_err());
        assert!(matches!(tree.apply(&good, 2), Err(DiffError::Previous { .. })));
        assert_eq!(tree.root(), a.root(), "untouched");
        assert_eq!(tree.apply(&good, 1).expect("applies"), b.root());
    }
}
