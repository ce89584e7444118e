//! Ready-to-send index responses: the bytes, the ETag and the encoded proof header of a file in
//! one snapshot. Making a proof, encoding it and reading and checking the blob is most of what a
//! request costs (docs/performance.md); a file that is asked for again in the same snapshot is
//! answered from here. Entries of older snapshots are never used (their proofs name the old
//! root). The cache is bounded by bytes: when full, it starts over, which keeps it simple and
//! lets the files in use now refill it.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tufmirror_core::Sha256Hash;
use tufmirror_core::merkle::InclusionProof;

/// One index file as served from one snapshot.
#[derive(Debug)]
pub struct ServedFile {
    /// The snapshot the entry was made from; entries of other snapshots are not served.
    pub snapshot_version: u64,
    /// SHA-256 of `bytes`, the leaf's hash in the snapshot's Merkle tree.
    pub sha256: Sha256Hash,
    /// The index file's contents, as sent.
    pub bytes: Bytes,
    /// `"<sha256>"`.
    pub etag: String,
    /// The `TUF-Merkle-Proof` header value: base64 of the proof's canonical JSON.
    pub proof_header: String,
    /// When the file was last checked against upstream (Unix seconds), to decide revalidation
    /// without a database read.
    pub checked_at: i64,
}

impl ServedFile {
    /// The entry for `bytes`, the file `proof` proves in its snapshot; `checked_at` in Unix seconds.
    pub fn new(proof: &InclusionProof, bytes: Vec<u8>, checked_at: i64) -> ServedFile {
        ServedFile {
            snapshot_version: proof.snapshot_version,
            sha256: proof.leaf_contents.sha256,
            etag: tufmirror_core::wire::etag_of(&proof.leaf_contents.sha256),
            proof_header: tufmirror_core::wire::encode_proof(&proof.to_canonical_json()),
            bytes: Bytes::from(bytes),
            checked_at,
        }
    }

    fn cost(&self) -> usize {
        self.bytes.len() + self.proof_header.len() + 128
    }
}

/// The cache; `limit` bytes at most.
#[derive(Debug)]
pub struct ResponseCache {
    limit: usize,
    inner: RwLock<(HashMap<String, Arc<ServedFile>>, usize)>,
}

impl ResponseCache {
    /// An empty cache holding at most `limit` bytes (0: nothing is ever kept).
    pub fn new(limit: usize) -> Self {
        ResponseCache { limit, inner: RwLock::new((HashMap::new(), 0)) }
    }

    /// The entry for `path` if it was made from snapshot `version`.
    pub fn get(&self, path: &str, version: u64) -> Option<Arc<ServedFile>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.0.get(path).filter(|f| f.snapshot_version == version).cloned()
    }

    /// Keeps `file` for `path`, replacing an older entry. Files costing more than a quarter of the
    /// limit are not kept; a full cache is emptied first.
    pub fn put(&self, path: &str, file: Arc<ServedFile>) {
        let cost = file.cost();
        if cost > self.limit / 4 {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.1 + cost > self.limit {
            inner.0.clear();
            inner.1 = 0;
        }
        if let Some(old) = inner.0.insert(path.to_owned(), file) {
            inner.1 -= old.cost();
        }
        inner.1 += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tufmirror_core::merkle::{Leaf, MerkleTree};

    fn served(version: u64, body: &[u8]) -> Arc<ServedFile> {
        let tree = MerkleTree::build(vec![Leaf::of("1/a", body)]).expect("tree");
        Arc::new(ServedFile::new(&tree.prove_index(0, version), body.to_vec(), 0))
    }

    #[test]
    fn entries_of_other_snapshots_are_not_used_and_the_bound_holds() {
        let cache = ResponseCache::new(32 * 1024);
        cache.put("1/a", served(3, b"{}\n"));
        assert!(cache.get("1/a", 3).is_some_and(|f| f.bytes.as_ref() == b"{}\n" && f.etag.len() == 66));
        assert!(cache.get("1/a", 4).is_none(), "a proof names its snapshot's root");
        for i in 0..100 {
            cache.put(&format!("x/{i}"), served(3, &[b'x'; 200]));
        }
        let inner = cache.inner.read().expect("lock");
        assert!(inner.1 <= 32 * 1024 && inner.0.len() < 100, "{} bytes in {} entries", inner.1, inner.0.len());
        assert_eq!(inner.1, inner.0.values().map(|f| f.cost()).sum::<usize>());
    }
}
