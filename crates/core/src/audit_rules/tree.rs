//! [`LeafTree`]: the snapshot Merkle tree kept bucket by bucket, so that applying a diff re-hashes
//! only what the diff touches.
//!
//! [`MerkleTree`](crate::merkle::MerkleTree) is built once per snapshot from every leaf; an
//! auditor that checks thousands of snapshots of a 254,000-file index cannot afford that (a full
//! build hashes every leaf again). This tree keeps each bucket's leaves and every node of the fixed
//! top tree (docs/POUF.md 1.4), so a diff of `d` paths, whether it changes, adds or removes them,
//! re-hashes `d` leaves, the few nodes of each touched bucket (about 4 leaves per bucket at
//! crates.io's size) and at most 16 nodes above each: time in proportion to the diff, not to the
//! index.

use crate::Sha256Hash;
use crate::diff::{DiffError, SnapshotDiff};
use crate::merkle::{BUCKET_BITS, BUCKETS, EMPTY, Leaf, LeafError, bucket_of, bucket_root, empty_root, node_hash};
use std::collections::BTreeSet;

/// The leaves of every bucket with all the node hashes above them. See the module documentation.
#[derive(Debug, Clone)]
pub struct LeafTree {
    /// Bucket `b`'s leaves in path order, each with its leaf hash.
    buckets: Vec<Vec<(Leaf, Sha256Hash)>>,
    /// `top[k]` holds the nodes at height `k` above the buckets (`top[0]` the bucket roots).
    top: Vec<Vec<Sha256Hash>>,
    len: usize,
}

impl Default for LeafTree {
    fn default() -> Self {
        let top = (0..=BUCKET_BITS).map(|k| vec![EMPTY[k]; BUCKETS >> k]).collect();
        LeafTree { buckets: vec![Vec::new(); BUCKETS], top, len: 0 }
    }
}

impl LeafTree {
    /// The tree over `leaves`, which must be sorted by path with no duplicates.
    pub fn from_leaves(leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        Leaf::check_sorted(&leaves)?;
        let mut tree = LeafTree { len: leaves.len(), ..LeafTree::default() };
        for leaf in leaves {
            let bucket = bucket_of(&leaf.path);
            let hash = leaf.hash();
            tree.buckets[bucket].push((leaf, hash));
        }
        tree.rehash((0..BUCKETS).collect());
        Ok(tree)
    }

    /// The Merkle root, as [`crate::merkle::MerkleTree::root`] computes it for the same leaves.
    pub fn root(&self) -> Sha256Hash {
        self.top[BUCKET_BITS][0]
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every leaf in path order (a sort of all of them: for tests and exports, not hot paths).
    pub fn sorted_leaves(&self) -> Vec<Leaf> {
        let mut out: Vec<Leaf> = self.buckets.iter().flatten().map(|(leaf, _)| leaf.clone()).collect();
        out.sort_unstable_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        out
    }

    /// The leaf of `path`, if the tree has it.
    pub fn get(&self, path: &str) -> Option<&Leaf> {
        let bucket = &self.buckets[bucket_of(path)];
        position(bucket, path).ok().map(|i| &bucket[i].0)
    }

    /// Applies `diff` to this tree, which must be snapshot `previous_version`, and returns the new
    /// root. The diff is checked completely (predecessor, sorted lists, no path in two lists,
    /// removed and changed paths present and really changed, added paths absent, the size it
    /// claims) *before* anything changes: on those errors the tree is untouched. Whether the new
    /// root is the one the diff (or a timestamp) claims is the caller's to compare; the tree then
    /// holds the diff's result either way.
    pub fn apply(&mut self, diff: &SnapshotDiff, previous_version: u64) -> Result<Sha256Hash, DiffError> {
        self.check(diff, previous_version)?;
        let mut dirty = BTreeSet::new();
        for path in &diff.removed {
            let bucket = bucket_of(path);
            if let Ok(i) = position(&self.buckets[bucket], path) {
                self.buckets[bucket].remove(i);
                dirty.insert(bucket);
            }
        }
        for leaf in diff.changed.iter().chain(&diff.added) {
            let bucket = bucket_of(&leaf.path);
            let entry = (leaf.clone(), leaf.hash());
            match position(&self.buckets[bucket], &leaf.path) {
                Ok(i) => self.buckets[bucket][i] = entry,
                Err(i) => self.buckets[bucket].insert(i, entry),
            }
            dirty.insert(bucket);
        }
        self.len = self.len + diff.added.len() - diff.removed.len();
        self.rehash(dirty.into_iter().collect());
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
        let found = (self.len + diff.added.len() - diff.removed.len()) as u64;
        if found != diff.tree_size {
            return Err(DiffError::Size { snapshot, expected: diff.tree_size, found });
        }
        Ok(())
    }

    /// Recomputes the roots of the `dirty` buckets (sorted, unique) and the top nodes above them,
    /// level by level.
    fn rehash(&mut self, mut dirty: Vec<usize>) {
        for &b in &dirty {
            let hashes: Vec<Sha256Hash> = self.buckets[b].iter().map(|(_, hash)| *hash).collect();
            self.top[0][b] = bucket_root(&hashes);
        }
        for k in 0..BUCKET_BITS {
            dirty = dirty.into_iter().map(|i| i / 2).collect();
            dirty.dedup();
            let (below, above) = self.top.split_at_mut(k + 1);
            for &p in &dirty {
                above[0][p] = node_hash(&below[k][2 * p], &below[k][2 * p + 1]);
            }
        }
        debug_assert!(self.len > 0 || self.root() == empty_root());
    }
}

/// Where `path` is in a bucket's leaves, or where it would go.
fn position(bucket: &[(Leaf, Sha256Hash)], path: &str) -> Result<usize, usize> {
    bucket.binary_search_by(|(leaf, _)| leaf.path.as_bytes().cmp(path.as_bytes()))
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

    /// Path `i` of 256: the first 60 crowd into three buckets (so that buckets of up to 20 leaves
    /// grow and shrink), the rest are spread as real paths are.
    fn path(i: u64) -> String {
        static PATHS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let paths = PATHS.get_or_init(|| {
            let mut out = Vec::new();
            for target in [bucket_of("a"), bucket_of("b"), bucket_of("c")] {
                out.extend((0u32..).map(|n| format!("cr/ow/{n}")).filter(|p| bucket_of(p) == target).take(20));
            }
            out.extend((60..256).map(|i| format!("{i:05}")));
            out
        });
        paths[i as usize].clone()
    }

    fn leaf(i: u64, content: u64) -> Leaf {
        Leaf::of(path(i), format!("file {i} v{content}").as_bytes())
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
        for seed in 0..24 {
            let mut rng = Rng(seed);
            let mut full = MerkleTree::build(Vec::new()).expect("empty");
            let mut incremental = LeafTree::default();
            assert_eq!(incremental.root(), empty_root());
            for round in 1..=30 {
                let after = next(&full, &mut rng, round);
                let diff = SnapshotDiff::between(&full, round - 1, &after, round);
                let root = incremental.apply(&diff, round - 1).expect("applies");
                assert_eq!(root, after.root(), "seed {seed} round {round} size {}", after.len());
                assert_eq!(incremental.sorted_leaves(), after.leaves());
                full = after;
            }
            let rebuilt = LeafTree::from_leaves(full.leaves().to_vec()).expect("sorted");
            assert_eq!(rebuilt.root(), full.root());
        }
    }

    #[test]
    fn shrinking_to_one_and_to_none_and_growing_again() {
        // Sizes far apart: whole buckets fill and empty (the crowded paths come first).
        let sizes = [5, 1, 0, 2, 9, 8, 17, 16, 3, 64, 65, 1, 200, 150, 3];
        let mut full = MerkleTree::build(Vec::new()).expect("empty");
        let mut incremental = LeafTree::default();
        for (round, n) in sizes.iter().enumerate() {
            let round = round as u64 + 1;
            // Alternate which paths are taken, so that most of them are added and removed again.
            let offset = if round.is_multiple_of(2) { 0 } else { 50 };
            let after = MerkleTree::build_unsorted((0..*n).map(|i| leaf(i + offset, round)).collect()).expect("unique");
            let diff = SnapshotDiff::between(&full, round - 1, &after, round);
            assert_eq!(incremental.apply(&diff, round - 1).expect("applies"), after.root(), "size {n}");
            full = after;
        }
    }

    #[test]
    fn a_bad_diff_leaves_the_tree_as_it_was() {
        let a = MerkleTree::build_unsorted((0..10).map(|i| leaf(i, 0)).collect()).expect("unique");
        let b = MerkleTree::build_unsorted((0..12).map(|i| leaf(i, u64::from(i == 3))).collect()).expect("unique");
        let mut tree = LeafTree::from_leaves(a.leaves().to_vec()).expect("sorted");
        let good = SnapshotDiff::between(&a, 1, &b, 2);
        let mut bad = good.clone();
        bad.removed.push("99999".into());
        bad.removed.sort();
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::MissingPath { .. })));
        let mut bad = good.clone();
        bad.tree_size += 1;
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::Size { .. })));
        let mut bad = good.clone();
        bad.changed[0] = a.leaves().iter().find(|l| l.path == good.changed[0].path).expect("present").clone();
        assert!(matches!(tree.apply(&bad, 1), Err(DiffError::NotChanged { .. })));
        let mut bad = good.clone();
        bad.added.push(a.leaves()[0].clone());
        assert!(tree.apply(&bad, 1).is_err());
        assert!(matches!(tree.apply(&good, 2), Err(DiffError::Previous { .. })));
        assert_eq!(tree.root(), a.root(), "untouched");
        assert_eq!(tree.apply(&good, 1).expect("applies"), b.root());
    }
}
