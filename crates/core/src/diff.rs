//! Leaf lists and snapshot diffs, so auditors can recompute every signed root and check history
//! incrementally (docs/POUF.md 1.6).

use crate::Sha256Hash;
use crate::merkle::{Leaf, LeafError, MerkleTree};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// All leaves of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafList {
    /// The snapshot version the leaves belong to.
    pub snapshot_version: u64,
    /// The number of leaves (the timestamp's `merkle_tree_size`).
    pub tree_size: u64,
    /// The root of the tree over `leaves` (the timestamp's `merkle_root`).
    pub merkle_root: Sha256Hash,
    /// Every leaf, sorted by path bytes, each path once.
    pub leaves: Vec<Leaf>,
}

/// What changed between two consecutive snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDiff {
    /// The snapshot version the diff leads to.
    pub snapshot_version: u64,
    /// The snapshot version the diff starts from.
    pub previous_version: u64,
    /// The Merkle root of `previous_version`.
    pub previous_root: Sha256Hash,
    /// The Merkle root of `snapshot_version`, once the diff is applied.
    pub merkle_root: Sha256Hash,
    /// The number of leaves of `snapshot_version`.
    pub tree_size: u64,
    /// The leaves of paths that `previous_version` does not have, sorted by path.
    pub added: Vec<Leaf>,
    /// The new leaf of every path whose length or hash changed.
    pub changed: Vec<Leaf>,
    /// The paths that `snapshot_version` no longer has, sorted and unique.
    pub removed: Vec<String>,
}

/// Why a diff does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// The diff adds a path that the previous snapshot already has.
    #[error("diff {snapshot} adds {path:?}, which snapshot {previous} already has")]
    AddsExisting {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The snapshot it was applied to.
        previous: u64,
        /// The path added twice.
        path: String,
    },
    /// The diff changes or removes a path that the previous snapshot does not have.
    #[error("diff {snapshot} changes or removes {path:?}, which snapshot {previous} does not have")]
    MissingPath {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The snapshot it was applied to.
        previous: u64,
        /// The path not found.
        path: String,
    },
    /// The diff lists a path as changed whose leaf is the same.
    #[error("diff {snapshot} lists {path:?} as changed, but its length and hash are the same")]
    NotChanged {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The path listed.
        path: String,
    },
    /// The diff's leaves are not sorted or repeat a path: the leaf error and the diff's snapshot.
    #[error("diff {snapshot} is not sorted or repeats a path: {0}", snapshot = .1)]
    Leaves(#[source] LeafError, u64),
    /// The diff gives another number of leaves than its `tree_size`.
    #[error("diff {snapshot} gives {found} leaves, it says {expected}")]
    Size {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The diff's `tree_size`.
        expected: u64,
        /// The number of leaves after applying it.
        found: u64,
    },
    /// The diff gives another root than its `merkle_root`.
    #[error("diff {snapshot} gives root {found}, it says {expected}")]
    Root {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The diff's `merkle_root`.
        expected: Sha256Hash,
        /// The root computed after applying it.
        found: Sha256Hash,
    },
    /// The diff claims to follow another snapshot than the one it is applied to.
    #[error(
        "diff {snapshot} follows snapshot {claimed} with root {claimed_root}, \
         but the previous snapshot is {actual} with root {actual_root}"
    )]
    Previous {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The diff's `previous_version`.
        claimed: u64,
        /// The diff's `previous_root`.
        claimed_root: Sha256Hash,
        /// The version of the snapshot it was applied to.
        actual: u64,
        /// That snapshot's root.
        actual_root: Sha256Hash,
    },
    /// The removed paths are not sorted or repeat a path.
    #[error("diff {snapshot}: removed paths are not sorted and unique at {path:?}")]
    RemovedUnsorted {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The first path out of order.
        path: String,
    },
    /// A path appears in more than one of added, changed and removed.
    #[error("diff {snapshot} lists {path:?} in more than one of added, changed and removed")]
    Overlap {
        /// The diff's snapshot version.
        snapshot: u64,
        /// The path listed more than once.
        path: String,
    },
}

impl SnapshotDiff {
    /// The diff from `previous` (sorted leaves of snapshot `previous_version`) to `next`.
    pub fn between(previous: &MerkleTree, previous_version: u64, next: &MerkleTree, snapshot_version: u64) -> Self {
        let (mut added, mut changed, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        let (a, b) = (previous.leaves(), next.leaves());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let ord = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.path.as_bytes().cmp(y.path.as_bytes()),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match ord {
                Ordering::Less => {
                    removed.push(a[i].path.clone());
                    i += 1;
                }
                Ordering::Greater => {
                    added.push(b[j].clone());
                    j += 1;
                }
                Ordering::Equal => {
                    if a[i] != b[j] {
                        changed.push(b[j].clone());
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        SnapshotDiff {
            snapshot_version,
            previous_version,
            previous_root: previous.root(),
            merkle_root: next.root(),
            tree_size: b.len() as u64,
            added,
            changed,
            removed,
        }
    }

    /// Applies the diff to the previous snapshot (its version and tree) and checks that the diff
    /// is well formed (lists sorted, no path in two lists, the right predecessor) and that it gives
    /// the size and root it claims.
    pub fn apply(&self, previous_version: u64, previous: &MerkleTree) -> Result<MerkleTree, DiffError> {
        let snapshot = self.snapshot_version;
        if self.previous_version != previous_version || self.previous_root != previous.root() {
            return Err(DiffError::Previous {
                snapshot,
                claimed: self.previous_version,
                claimed_root: self.previous_root,
                actual: previous_version,
                actual_root: previous.root(),
            });
        }
        for list in [&self.added, &self.changed] {
            Leaf::check_sorted(list).map_err(|e| DiffError::Leaves(e, snapshot))?;
        }
        if let Some(pair) = self.removed.windows(2).find(|p| p[0].as_bytes() >= p[1].as_bytes()) {
            return Err(DiffError::RemovedUnsorted { snapshot, path: pair[1].clone() });
        }
        let mut touched = std::collections::HashSet::new();
        let paths = self.added.iter().chain(&self.changed).map(|l| &l.path).chain(&self.removed);
        for path in paths {
            if !touched.insert(path.as_str()) {
                return Err(DiffError::Overlap { snapshot, path: path.clone() });
            }
        }
        let previous = previous.leaves();
        let mut next: std::collections::BTreeMap<&[u8], Leaf> =
            previous.iter().map(|l| (l.path.as_bytes(), l.clone())).collect();
        for path in &self.removed {
            if next.remove(path.as_bytes()).is_none() {
                return Err(DiffError::MissingPath { snapshot, previous: previous_version, path: path.clone() });
            }
        }
        for leaf in &self.changed {
            match next.get_mut(leaf.path.as_bytes()) {
                None => {
                    return Err(DiffError::MissingPath {
                        snapshot,
                        previous: previous_version,
                        path: leaf.path.clone(),
                    });
                }
                Some(old) if old == leaf => {
                    return Err(DiffError::NotChanged { snapshot, path: leaf.path.clone() });
                }
                Some(old) => *old = leaf.clone(),
            }
        }
        for leaf in &self.added {
            if next.insert(leaf.path.as_bytes(), leaf.clone()).is_some() {
                return Err(DiffError::AddsExisting { snapshot, previous: previous_version, path: leaf.path.clone() });
            }
        }
        let leaves: Vec<Leaf> = next.into_values().collect();
        let found = leaves.len() as u64;
        if found != self.tree_size {
            return Err(DiffError::Size { snapshot, expected: self.tree_size, found });
        }
        let tree = MerkleTree::build(leaves).map_err(|e| DiffError::Leaves(e, snapshot))?;
        if tree.root() != self.merkle_root {
            return Err(DiffError::Root { snapshot, expected: self.merkle_root, found: tree.root() });
        }
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> MerkleTree {
        MerkleTree::build_unsorted(files.iter().map(|(p, c)| Leaf::of(*p, c.as_bytes())).collect()).expect("tree")
    }

    #[test]
    fn diff_then_apply_reproduces_the_next_root() {
        let a = tree(&[("1/a", "a"), ("2/bb", "b"), ("3/c/ccc", "c")]);
        let b = tree(&[("1/a", "a2"), ("3/c/ccc", "c"), ("dd/dd/dddd", "d")]);
        let d = SnapshotDiff::between(&a, 1, &b, 2);
        assert_eq!(d.removed, vec!["2/bb".to_owned()]);
        assert_eq!(d.changed.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), vec!["1/a"]);
        assert_eq!(d.added.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(), vec!["dd/dd/dddd"]);
        assert_eq!(d.apply(1, &a).expect("applies").root(), b.root());
        let mut forged = d.clone();
        forged.removed.clear();
        assert!(matches!(forged.apply(1, &a), Err(DiffError::Size { .. })));
        assert!(matches!(d.apply(2, &a), Err(DiffError::Previous { .. })), "wrong predecessor version");
        assert!(matches!(d.apply(1, &b), Err(DiffError::Previous { .. })), "wrong predecessor tree");
        let mut overlap = d.clone();
        overlap.removed.push("dd/dd/dddd".into());
        assert!(matches!(overlap.apply(1, &a), Err(DiffError::Overlap { .. })));
        let mut unsorted = SnapshotDiff::between(&b, 1, &a, 2);
        unsorted.removed = vec!["b".into(), "a".into()];
        assert!(matches!(unsorted.apply(1, &b), Err(DiffError::RemovedUnsorted { .. })));
    }
}
