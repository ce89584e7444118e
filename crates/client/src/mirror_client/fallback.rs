//! Hosts that send no proof headers (a plain static host serving `tufmirror publish`'s output):
//! proofs and leaf lists from the static layout of the trusted snapshot N (docs/POUF.md 2.1, 2.2).
//!
//! - A 200 without a proof costs one more request, `snapshots/N/proofs/<path>`. If the body is
//!   not that leaf's file (the host has published a newer snapshot since N was trusted), the
//!   file of N is fetched from `snapshots/N/index/<path>`: the answer is then N's file, which is
//!   what the trusted metadata vouches for.
//! - A 404 without a proof is checked against `snapshots/N/leaves.json`, fetched once per
//!   snapshot and checked against the signed root and size. A path that N lists is a hidden file
//!   (unless a newer snapshot is signed by now: then the answer is asked for again). The list is
//!   read only up to the most that the signed `merkle_tree_size` leaves can take
//!   ([`leaf_list_bound`]), so a hostile host cannot make the client hold a huge body; the
//!   verdict (the tree, or why the list was refused) is kept for the snapshot, so a refused list
//!   is not fetched again for every 404.
//! - When `snapshots/N/` is gone (the host keeps a few snapshots), the client refreshes and asks
//!   again if a newer snapshot is signed.

use super::check::{check_file, check_leaf, decode_header, decode_proof_file};
use super::{Done, IndexFile, Interrupt, LeafListProblem, MirrorClient, MirrorError, Refusal, TrustedView};
use crate::FetchError;
use std::sync::Arc;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{InclusionProof, Leaf, MerkleTree};

/// What a snapshot's leaf list gave: its verified tree, or why it was refused.
pub(super) type LeafVerdict = Result<Arc<MerkleTree>, LeafListProblem>;

impl MirrorClient {
    /// A 200 without a proof header.
    pub(super) async fn static_file(
        &self,
        path: &str,
        body: Vec<u8>,
        view: &Arc<TrustedView>,
    ) -> Result<Done, Interrupt> {
        let n = view.snapshot_version;
        let Some(proof) = self.static_proof(path, view).await? else {
            return Err(self.gone(path, view).await);
        };
        let refused = |r| self.refused(path, view, r);
        check_leaf(path, &proof, view).map_err(refused)?;
        let bytes = if Leaf::of(path, &body) == proof.leaf_contents {
            body
        } else {
            let url = format!("{}snapshots/{n}/index/{path}", self.base);
            let Some(bytes) = self.fetch_optional(path, &url, proof.leaf_contents.length).await? else {
                return Err(self.gone(path, view).await);
            };
            check_file(path, &bytes, &proof, view).map_err(refused)?;
            bytes
        };
        Ok((IndexFile::Present { bytes, leaf: proof.leaf_contents, snapshot: n }, view.clone()))
    }

    /// A 404 (or 403) without a proof header.
    pub(super) async fn static_absent(
        &self,
        path: &str,
        status: u16,
        view: &Arc<TrustedView>,
    ) -> Result<Done, Interrupt> {
        let Some(tree) = self.leaves(view, path).await? else {
            return Err(self.gone(path, view).await);
        };
        if tree.position(path).is_err() {
            return Ok((IndexFile::Absent { snapshot: view.snapshot_version }, view.clone()));
        }
        let reason = Refusal::HiddenFile { status, snapshot: view.snapshot_version };
        match self.newer_than(view, path).await? {
            Some(newer) => Err(Interrupt::Again(newer, reason)),
            None => Err(self.refused(path, view, reason).into()),
        }
    }

    /// One file of snapshot N from `snapshots/N/index/<path>`, checked against `leaf` (from N's
    /// verified leaf list) and its proof; returns its length.
    pub(super) async fn snapshot_file(&self, view: &TrustedView, leaf: &Leaf) -> Result<u64, MirrorError> {
        let (path, n) = (leaf.path.as_str(), view.snapshot_version);
        let url = format!("{}snapshots/{n}/index/{path}", self.base);
        let answer = self.transport.get_index(&url, None, leaf.length).await.map_err(|source| MirrorError::Fetch {
            path: path.to_owned(),
            url: url.clone(),
            source,
        })?;
        if answer.status != 200 {
            return Err(MirrorError::Status { path: path.to_owned(), url, status: answer.status });
        }
        let refused = |r| self.refused(path, view, r);
        let proof = match &answer.proof {
            Some(header) => decode_header::<InclusionProof>(header).map_err(refused)?,
            None => {
                self.static_proof(path, view).await?.ok_or_else(|| refused(Refusal::SnapshotGone { snapshot: n }))?
            }
        };
        check_file(path, &answer.body, &proof, view).map_err(refused)?;
        if proof.leaf_contents != *leaf {
            // Unreachable for a proof that verifies against the root the leaf list rebuilds.
            return Err(refused(Refusal::LeafList {
                snapshot: n,
                reason: LeafListProblem::DiffersFromLeaf { path: path.to_owned() },
            }));
        }
        Ok(answer.body.len() as u64)
    }

    /// `snapshots/N/proofs/<path>` of the trusted N; `None` if the host does not have it.
    async fn static_proof(&self, path: &str, view: &TrustedView) -> Result<Option<InclusionProof>, MirrorError> {
        let url = format!("{}snapshots/{}/proofs/{path}", self.base, view.snapshot_version);
        match self.fetch_optional(path, &url, self.config.max_proof_length).await? {
            Some(bytes) => Ok(Some(decode_proof_file(&bytes).map_err(|r| self.refused(path, view, r))?)),
            None => Ok(None),
        }
    }

    /// The tree of snapshot N from `snapshots/N/leaves.json`, checked against the signed root
    /// and size; the verdict is cached for the current snapshot. `None` if the host does not
    /// have it.
    pub(super) async fn leaves(&self, view: &TrustedView, path: &str) -> Result<Option<Arc<MerkleTree>>, MirrorError> {
        let n = view.snapshot_version;
        let mut cache = self.leaves.lock().await;
        if let Some((cached, verdict)) = cache.as_ref()
            && *cached == n
        {
            return match verdict {
                Ok(tree) => Ok(Some(tree.clone())),
                Err(reason) => Err(self.refused(path, view, Refusal::LeafList { snapshot: n, reason: reason.clone() })),
            };
        }
        let url = format!("{}snapshots/{n}/leaves.json", self.base);
        let limit = leaf_list_bound(view.tree_size).min(self.config.max_leaves_length);
        let (root, size) = (view.merkle_root, view.tree_size);
        let verdict = match self.transport.fetch(&url, limit).await {
            Ok(bytes) => {
                // Parsing and hashing a crates.io-sized list takes a while: off the async threads.
                tokio::task::spawn_blocking(move || check_leaf_list(&bytes, n, &root, size))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                    .map(Arc::new)
            }
            Err(FetchError::NotFound { .. }) => return Ok(None),
            Err(FetchError::TooLarge { limit }) => Err(LeafListProblem::TooLong { limit, tree_size: size }),
            Err(source) => return Err(MirrorError::Fetch { path: path.to_owned(), url, source }),
        };
        *cache = Some((n, verdict.clone()));
        match verdict {
            Ok(tree) => Ok(Some(tree)),
            Err(reason) => Err(self.refused(path, view, Refusal::LeafList { snapshot: n, reason })),
        }
    }

    /// Refreshes when the static files of the trusted snapshot are gone: ask again if a newer
    /// snapshot is signed, else refuse.
    async fn gone(&self, path: &str, view: &TrustedView) -> Interrupt {
        let reason = Refusal::SnapshotGone { snapshot: view.snapshot_version };
        match self.newer_than(view, path).await {
            Ok(Some(newer)) => Interrupt::Again(newer, reason),
            Ok(None) => Interrupt::Fail(self.refused(path, view, reason)),
            Err(e) => Interrupt::Fail(e),
        }
    }
}

/// The most bytes a leaf takes in a leaf list, with room to spare: `{"length":` and 20 digits,
/// `,"path":"` and an index path (at most 70 ASCII characters, docs/POUF.md 1.7), `","sha256":"`
/// and 64 hex digits, `"}` and a comma come to 188 bytes; indented JSON adds under 60.
pub(crate) const MAX_LEAF_JSON: u64 = 512;

/// What a leaf list's fields other than its leaves take at most (`snapshot_version`,
/// `tree_size`, `merkle_root`, the brackets), with room to spare.
const LEAF_LIST_HEADER: u64 = 1024;

/// The most bytes the leaf list of a tree of `tree_size` leaves can take: a longer list cannot
/// rebuild the signed tree, so reading stops there.
pub(crate) fn leaf_list_bound(tree_size: u64) -> u64 {
    tree_size.saturating_mul(MAX_LEAF_JSON).saturating_add(LEAF_LIST_HEADER)
}

/// A leaf list that must rebuild exactly the signed tree of snapshot `n`; the error is the reason.
fn check_leaf_list(
    bytes: &[u8],
    n: u64,
    root: &tufmirror_core::Sha256Hash,
    size: u64,
) -> Result<MerkleTree, LeafListProblem> {
    let list: LeafList = serde_json::from_slice(bytes).map_err(|e| LeafListProblem::NotJson(Arc::new(e)))?;
    if (list.snapshot_version, list.tree_size, &list.merkle_root) != (n, size, root) {
        return Err(LeafListProblem::Header {
            snapshot: list.snapshot_version,
            tree_size: list.tree_size,
            merkle_root: list.merkle_root,
        });
    }
    let tree = MerkleTree::build(list.leaves).map_err(LeafListProblem::Leaves)?;
    if tree.root() != *root || tree.len() as u64 != size {
        return Err(LeafListProblem::WrongTree { root: tree.root(), leaves: tree.len() });
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_list_must_rebuild_the_signed_tree() {
        let leaves = vec![Leaf::of("1/a", b"a"), Leaf::of("2/bb", b"b")];
        let tree = MerkleTree::build(leaves.clone()).expect("tree");
        let list = |leaves: Vec<Leaf>, size| {
            serde_json::to_vec(&LeafList { snapshot_version: 3, tree_size: size, merkle_root: tree.root(), leaves })
                .expect("json")
        };
        let good = list(leaves.clone(), 2);
        assert_eq!(check_leaf_list(&good, 3, &tree.root(), 2).expect("good").root(), tree.root());
        let e = check_leaf_list(&good, 4, &tree.root(), 2).expect_err("another snapshot");
        assert!(matches!(e, LeafListProblem::Header { snapshot: 3, tree_size: 2, .. }), "{e}");
        let dropped = list(leaves[..1].to_vec(), 2);
        let e = check_leaf_list(&dropped, 3, &tree.root(), 2).expect_err("a leaf dropped, the header kept");
        assert!(matches!(e, LeafListProblem::WrongTree { leaves: 1, .. }), "{e}");
        let mut changed = leaves;
        changed[1] = Leaf::of("2/bb", b"c");
        let e = check_leaf_list(&list(changed, 2), 3, &tree.root(), 2).expect_err("a leaf changed");
        assert!(matches!(e, LeafListProblem::WrongTree { leaves: 2, .. }), "{e}");
        let e = check_leaf_list(b"[", 3, &tree.root(), 2).expect_err("not JSON");
        assert!(matches!(e, LeafListProblem::NotJson(_)), "{e}");
    }

    #[test]
    fn the_leaf_list_bound_holds_the_longest_leaves() {
        let longest = format!("ab/cd/{}", "a".repeat(64));
        let leaf = Leaf { length: u64::MAX, path: longest, sha256: tufmirror_core::Sha256Hash::of(b"") };
        let list = LeafList {
            snapshot_version: u64::MAX,
            tree_size: u64::MAX,
            merkle_root: leaf.sha256,
            leaves: vec![leaf.clone(), leaf],
        };
        let pretty = serde_json::to_vec_pretty(&list).expect("json");
        assert!(pretty.len() as u64 <= leaf_list_bound(2), "{} bytes", pretty.len());
        assert_eq!(leaf_list_bound(u64::MAX), u64::MAX, "no overflow");
    }
}
