//! The checks of one answer against a [`TrustedView`], without I/O (docs/POUF.md 1.5, 2.2).

use super::{Refusal, TrustedView};
use serde::de::DeserializeOwned;
use tufmirror_core::merkle::{InclusionProof, Leaf, NonInclusionProof};
use tufmirror_core::metadata::RemovalRecord;
use tufmirror_core::wire;

/// The ETag a tufmirror server gives an index file ([`wire::etag_of`] of its leaf's SHA-256).
pub fn etag_of(leaf: &Leaf) -> String {
    wire::etag_of(&leaf.sha256)
}

/// A `TUF-Merkle-Proof` header ([`wire::decode_proof`]).
pub(crate) fn decode_header<T: DeserializeOwned>(value: &str) -> Result<T, Refusal> {
    wire::decode_proof(value).map_err(Refusal::BadProof)
}

/// A proof file of the static layout (`snapshots/N/proofs/<path>`): plain JSON.
pub(crate) fn decode_proof_file(bytes: &[u8]) -> Result<InclusionProof, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| Refusal::BadProof(wire::ProofHeaderError::NotAProof(e)))
}

/// Where a proof's snapshot stands relative to the trusted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    /// The trusted snapshot: check it now.
    Trusted,
    /// Newer: refresh until the timestamp names it, then check.
    Newer,
}

/// An older snapshot than the trusted one is refused outright: an honest mirror never answers
/// from a snapshot older than a timestamp it already served, and accepting one would let a
/// mirror mix files of different snapshots or roll a file back.
pub(crate) fn position(proof_snapshot: u64, view: &TrustedView) -> Result<Position, Refusal> {
    use std::cmp::Ordering::*;
    match proof_snapshot.cmp(&view.snapshot_version) {
        Equal => Ok(Position::Trusted),
        Greater => Ok(Position::Newer),
        Less => Err(Refusal::OlderSnapshot { proof: proof_snapshot, trusted: view.snapshot_version }),
    }
}

/// A 200: the proof verifies against the view, is for `path`, and `bytes` are its leaf's file.
pub(crate) fn check_file(path: &str, bytes: &[u8], proof: &InclusionProof, view: &TrustedView) -> Result<(), Refusal> {
    Ok(proof.verify_file(path, bytes, &view.merkle_root, view.tree_size, view.snapshot_version)?)
}

/// A proof without a file (a 304, or a static proof file): it verifies and is for `path`.
pub(crate) fn check_leaf(path: &str, proof: &InclusionProof, view: &TrustedView) -> Result<(), Refusal> {
    if proof.leaf_contents.path != path {
        return Err(tufmirror_core::merkle::ProofError::WrongPath {
            expected: path.to_owned(),
            found: proof.leaf_contents.path.clone(),
        }
        .into());
    }
    Ok(proof.verify(&view.merkle_root, view.tree_size, view.snapshot_version)?)
}

/// A 304: the client asked with `sent` (the ETag of its copy), and the proof vouches for a leaf
/// whose ETag is exactly that, so the client's copy is the file of the trusted snapshot.
pub(crate) fn check_not_modified(
    path: &str,
    sent: Option<&str>,
    proof: &InclusionProof,
    view: &TrustedView,
) -> Result<(), Refusal> {
    let sent = sent.ok_or(Refusal::UnaskedNotModified)?;
    check_leaf(path, proof, view)?;
    let proven = etag_of(&proof.leaf_contents);
    if !wire::not_modified(sent, &proven) {
        return Err(Refusal::EtagMismatch { sent: sent.to_owned(), proven });
    }
    Ok(())
}

/// A 404: the non-inclusion proof verifies against the view and is for `path`.
pub(crate) fn check_absent(path: &str, proof: &NonInclusionProof, view: &TrustedView) -> Result<(), Refusal> {
    Ok(proof.verify(path, &view.merkle_root, view.tree_size, view.snapshot_version)?)
}

/// Whether `records` hold a removal of `path` in a snapshot after `present` and up to `absent`.
pub(crate) fn removal_recorded(records: &[RemovalRecord], path: &str, present: u64, absent: u64) -> bool {
    records.iter().any(|r| r.path == path && r.snapshot_version > present && r.snapshot_version <= absent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tufmirror_core::merkle::{MerkleTree, PathProof};

    fn tree() -> MerkleTree {
        let files = [("1/a", "a\n"), ("3/s/syn", "syn\n"), ("se/rd/serde", "serde\n")];
        MerkleTree::build_unsorted(files.iter().map(|(p, c)| Leaf::of(*p, c.as_bytes())).collect()).expect("tree")
    }

    fn view(tree: &MerkleTree, snapshot: u64) -> TrustedView {
        let root = tufmirror_core::metadata::Root {
            kind: tufmirror_core::Role::Root,
            spec_version: tufmirror_core::metadata::SPEC_VERSION.to_owned(),
            version: 1,
            expires: time::OffsetDateTime::now_utc(),
            consistent_snapshot: true,
            keys: Default::default(),
            roles: Default::default(),
            unknown: Default::default(),
        };
        TrustedView {
            snapshot_version: snapshot,
            timestamp_version: snapshot,
            merkle_root: tree.root(),
            tree_size: tree.len() as u64,
            expires: time::OffsetDateTime::now_utc(),
            config: tufmirror_core::metadata::TargetFile::of(b"{}"),
            removals: Vec::new(),
            root_version: 1,
            roots: std::sync::Arc::new(tufmirror_core::binding::RootChain::new(root)),
        }
    }

    fn included(tree: &MerkleTree, path: &str, snapshot: u64) -> InclusionProof {
        match tree.prove(path, snapshot) {
            PathProof::Included(p) => p,
            PathProof::Absent(_) => panic!("{path} is absent"),
        }
    }

    fn absent(tree: &MerkleTree, path: &str, snapshot: u64) -> NonInclusionProof {
        match tree.prove(path, snapshot) {
            PathProof::Absent(p) => p,
            PathProof::Included(_) => panic!("{path} is present"),
        }
    }

    #[test]
    fn a_file_must_be_the_leaf_of_the_asked_path() {
        let (t, n) = (tree(), 4);
        let v = view(&t, n);
        let proof = included(&t, "se/rd/serde", n);
        check_file("se/rd/serde", b"serde\n", &proof, &v).expect("good file");
        assert!(matches!(check_file("se/rd/serde", b"serde!\n", &proof, &v), Err(Refusal::Proof(_))));
        let other = included(&t, "3/s/syn", n);
        assert!(matches!(check_file("se/rd/serde", b"syn\n", &other, &v), Err(Refusal::Proof(_))), "wrong path");
        let mut flipped = proof.clone();
        flipped.path[0].1.0[0] ^= 1;
        assert!(check_file("se/rd/serde", b"serde\n", &flipped, &v).is_err(), "a flipped sibling bit");
    }

    #[test]
    fn older_snapshots_are_refused_and_newer_ones_need_a_refresh() {
        let t = tree();
        let v = view(&t, 4);
        assert_eq!(position(4, &v).expect("current"), Position::Trusted);
        assert_eq!(position(5, &v).expect("newer"), Position::Newer);
        assert!(matches!(position(3, &v), Err(Refusal::OlderSnapshot { proof: 3, trusted: 4 })));
        // A proof of another snapshot does not verify against this one, even for the same tree.
        let proof = included(&t, "1/a", 3);
        assert!(check_file("1/a", b"a\n", &proof, &v).is_err());
    }

    #[test]
    fn not_modified_needs_the_etag_that_was_sent() {
        let t = tree();
        let v = view(&t, 4);
        let proof = included(&t, "1/a", 4);
        let etag = etag_of(&proof.leaf_contents);
        check_not_modified("1/a", Some(&etag), &proof, &v).expect("matching etag");
        assert!(matches!(check_not_modified("1/a", None, &proof, &v), Err(Refusal::UnaskedNotModified)));
        let other = etag_of(&Leaf::of("1/a", b"old\n"));
        assert!(matches!(check_not_modified("1/a", Some(&other), &proof, &v), Err(Refusal::EtagMismatch { .. })));
        assert!(check_not_modified("3/s/syn", Some(&etag), &proof, &v).is_err(), "proof for another path");
    }

    #[test]
    fn absence_needs_a_non_inclusion_proof_for_the_path() {
        let t = tree();
        let v = view(&t, 4);
        check_absent("no/ne/none", &absent(&t, "no/ne/none", 4), &v).expect("absent");
        assert!(check_absent("ab/cd/abcd", &absent(&t, "no/ne/none", 4), &v).is_err(), "proof for another path");
        // A path that shares its bucket with se/rd/serde: its proof lists that leaf.
        let bucket = tufmirror_core::merkle::bucket_of("se/rd/serde");
        let neighbour = (0u32..)
            .map(|n| format!("se/rd/serde{n}"))
            .find(|p| tufmirror_core::merkle::bucket_of(p) == bucket)
            .expect("some path shares the bucket");
        let proof = absent(&t, &neighbour, 4);
        assert_eq!(proof.bucket_leaves.len(), 1);
        check_absent(&neighbour, &proof, &v).expect("absent");
        let mut dropped = proof.clone();
        dropped.bucket_leaves.clear();
        assert!(check_absent(&neighbour, &dropped, &v).is_err(), "the bucket's leaf dropped");
        let mut renamed = proof;
        renamed.absent = "se/rd/serde".into();
        assert!(check_absent("se/rd/serde", &renamed, &v).is_err(), "a present path claimed absent");
    }

    #[test]
    fn headers_are_base64_of_json() {
        let t = tree();
        let proof = included(&t, "1/a", 4);
        let header = wire::encode_proof(&proof.to_canonical_json());
        assert_eq!(decode_header::<InclusionProof>(&header).expect("decodes"), proof);
        let e = decode_header::<InclusionProof>("%%%").expect_err("not base64");
        assert!(matches!(e, Refusal::BadProof(wire::ProofHeaderError::NotBase64(_))), "{e}");
        // The cause is a source now, and the one-line form still says it once.
        assert_eq!(tufmirror_core::error_chain(&e), e.to_string());
        assert!(e.to_string().starts_with("the proof is not a valid proof: not base64: "), "{e}");
        let not_json = wire::encode_proof(b"{");
        let e = decode_header::<InclusionProof>(&not_json).expect_err("not JSON");
        assert!(matches!(e, Refusal::BadProof(wire::ProofHeaderError::NotAProof(_))), "{e}");
        assert_eq!(tufmirror_core::error_chain(&e), e.to_string());
        assert!(
            decode_header::<NonInclusionProof>(&header).is_err(),
            "an inclusion proof is not a non-inclusion proof"
        );
    }

    #[test]
    fn removal_records_must_fall_between_the_two_snapshots() {
        let record = |path: &str, n| RemovalRecord { path: path.into(), snapshot_version: n, reason: "gone".into() };
        let records = [record("1/a", 5), record("2/bb", 7)];
        assert!(removal_recorded(&records, "1/a", 4, 5));
        assert!(removal_recorded(&records, "1/a", 2, 9));
        assert!(!removal_recorded(&records, "1/a", 5, 9), "removed in the snapshot where it was seen");
        assert!(!removal_recorded(&records, "1/a", 2, 4), "removed only after the absence");
        assert!(!removal_recorded(&records, "3/c/ccc", 0, 9), "another path");
    }
}
