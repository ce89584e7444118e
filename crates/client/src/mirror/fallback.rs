//! Hosts that send no proof headers (a plain static host serving `tufmirror publish`'s output):
//! proofs and leaf lists from the static layout of the trusted snapshot N (docs/POUF.md 2.1, 2.2).
//!
//! - A 200 without a proof costs one more request, `snapshots/N/proofs/<path>`. If the body is
//!   not that leaf's file (the host has published a newer snapshot since N was trusted), the
//!   file of N is fetched from `snapshots/N/index/<path>`: the answer is then N's file, which is
//!   what the trusted metadata vouches for.
//! - A 404 without a proof is checked against `snapshots/N/leaves.json`, fetched once per
//!   snapshot and checked against the signed root and size. A path that N lists is a hidden file
//!   (unless a newer snapshot is signed by now: then the answer is asked for again).
//! - When `snapshots/N/` is gone (the host keeps a few snapshots), the client refreshes and asks
//!   again if a newer snapshot is signed.

use super::check::{check_file, check_leaf, decode_header, decode_proof_file};
use super::{Done, IndexFile, Interrupt, MirrorClient, MirrorError, Refusal, TrustedView};
use std::sync::Arc;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{InclusionProof, Leaf, MerkleTree};

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
            return Err(refused(Refusal::LeafList { snapshot: n, reason: format!("{path} differs from its leaf") }));
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
    /// and size; cached for the current snapshot. `None` if the host does not have it.
    pub(super) async fn leaves(&self, view: &TrustedView, path: &str) -> Result<Option<Arc<MerkleTree>>, MirrorError> {
        let n = view.snapshot_version;
        let mut cache = self.leaves.lock().await;
        if let Some((cached, tree)) = cache.as_ref()
            && *cached == n
        {
            return Ok(Some(tree.clone()));
        }
        let url = format!("{}snapshots/{n}/leaves.json", self.base);
        let Some(bytes) = self.fetch_optional(path, &url, self.config.max_leaves_length).await? else {
            return Ok(None);
        };
        let (root, size) = (view.merkle_root, view.tree_size);
        // Parsing and hashing a crates.io-sized list takes a while: off the async threads.
        let tree = tokio::task::spawn_blocking(move || check_leaf_list(&bytes, n, &root, size))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            .map_err(|r| self.refused(path, view, r))?;
        let tree = Arc::new(tree);
        *cache = Some((n, tree.clone()));
        Ok(Some(tree))
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

/// A leaf list that must rebuild exactly the signed tree of snapshot `n`.
fn check_leaf_list(bytes: &[u8], n: u64, root: &tufmirror_core::Sha256Hash, size: u64) -> Result<MerkleTree, Refusal> {
    let bad = |reason: String| Refusal::LeafList { snapshot: n, reason };
    let list: LeafList = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if (list.snapshot_version, list.tree_size, &list.merkle_root) != (n, size, root) {
        return Err(bad(format!(
            "it says snapshot {} with {} leaves and root {}",
            list.snapshot_version, list.tree_size, list.merkle_root
        )));
    }
    let tree = MerkleTree::build(list.leaves).map_err(|e| bad(e.to_string()))?;
    if tree.root() != *root || tree.len() as u64 != size {
        return Err(bad(format!("its leaves give root {} with {} leaves", tree.root(), tree.len())));
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
        assert!(check_leaf_list(&good, 4, &tree.root(), 2).is_err(), "another snapshot");
        let dropped = list(leaves[..1].to_vec(), 2);
        assert!(check_leaf_list(&dropped, 3, &tree.root(), 2).is_err(), "a leaf dropped, the header kept");
        let mut changed = leaves;
        changed[1] = Leaf::of("2/bb", b"c");
        assert!(check_leaf_list(&list(changed, 2), 3, &tree.root(), 2).is_err(), "a leaf changed");
    }
}
