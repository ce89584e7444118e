use super::leaf::{Leaf, LeafError};
use super::shape::{BUCKET_BITS, bucket_of, bucket_root, fold, fold_top, top_directions};
use crate::Sha256Hash;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The most levels a proof may have: 16 above the buckets, and up to 48 inside one (docs/POUF.md 1.5).
pub const MAX_PATH: usize = 64;

/// Which side a sibling sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// The sibling is the left child: `h = node(sibling, h)`.
    L,
    /// The sibling is the right child: `h = node(h, sibling)`.
    R,
}

/// Why a proof does not hold (the verification steps of docs/POUF.md 1.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Step 1: the proof's `snapshot_version` is not the snapshot the trusted timestamp names.
    #[error("proof is for snapshot {found}, the trusted timestamp names snapshot {expected}")]
    SnapshotVersion {
        /// The snapshot version of the trusted timestamp (`meta["snapshot.json"].version`).
        expected: u64,
        /// The proof's `snapshot_version`.
        found: u64,
    },
    /// Step 1: the proof's `tree_size` is not the trusted timestamp's `merkle_tree_size`.
    #[error("proof is for a tree of {found} leaves, the trusted timestamp says {expected}")]
    TreeSize {
        /// The trusted timestamp's `merkle_tree_size`.
        expected: u64,
        /// The proof's `tree_size`.
        found: u64,
    },
    /// Step 2: `merkle_path` has fewer than 16 or more than 64 entries.
    #[error("the proof has {found} levels; it must have {BUCKET_BITS} to {MAX_PATH}")]
    PathLength {
        /// The number of entries of `merkle_path`.
        found: usize,
    },
    /// Step 2: the directions of the last 16 entries do not spell the bucket of the leaf's path.
    #[error("the last {BUCKET_BITS} directions of the proof do not lead from bucket {bucket} of {path:?}")]
    PathShape {
        /// `leaf_contents.path`.
        path: String,
        /// The bucket `b` of that path (its first two SHA-256 bytes, 1.4).
        bucket: usize,
    },
    /// Step 3 (or, for a non-inclusion proof, the fold of `bucket_path`): the path does not lead
    /// to the `merkle_root` of the trusted timestamp.
    #[error("the proof does not lead to the signed Merkle root")]
    RootMismatch,
    /// Step 4 (or `absent` of a non-inclusion proof): the proof is about another path than the
    /// file asked for.
    #[error("the proof is for {found:?}, not {expected:?}")]
    WrongPath {
        /// The path asked for.
        expected: String,
        /// The path the proof is about (`leaf_contents.path` or `absent`).
        found: String,
    },
    /// Step 4: the file's bytes do not match `leaf_contents` (`length` or `sha256`).
    #[error("the file does not match its leaf (expected {expected_length} bytes with SHA-256 {expected_sha256})")]
    ContentMismatch {
        /// `leaf_contents.length`.
        expected_length: u64,
        /// `leaf_contents.sha256`, hex.
        expected_sha256: String,
    },
    /// A non-inclusion proof with one of its `bucket_leaves` at the path `absent`, or outside the
    /// bucket of `absent`.
    #[error("the bucket leaves do not prove {absent:?} absent: {reason}")]
    NotProvenAbsent {
        /// The path the proof is meant to prove absent.
        absent: String,
        /// Which rule the bucket leaves break, naming the leaf that breaks it.
        reason: String,
    },
    /// A non-inclusion proof whose `bucket_leaves` are not strictly ascending bytewise by `path`.
    #[error("the bucket leaves do not prove {absent:?} absent: {source}")]
    UnsortedBucketLeaves {
        /// The path the proof is meant to prove absent.
        absent: String,
        /// The order rule the leaves break.
        #[source]
        source: LeafError,
    },
    /// A proof whose shape is wrong before any hash is computed (a `bucket_path` without exactly
    /// 16 entries); the message says what.
    #[error("malformed proof: {0}")]
    Malformed(String),
}

/// TAP-16 snapshot Merkle metadata for one index file (docs/POUF.md 1.5), parsed: `merkle_path`
/// and `path_directions` are read together into [`InclusionProof::path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// `leaf_contents`: the leaf (1.4) of the file the proof is about.
    pub leaf_contents: Leaf,
    /// `tree_size`: the `merkle_tree_size` of the snapshot, the number of its leaves.
    pub tree_size: u64,
    /// `snapshot_version`: N, the version of the snapshot whose tree the proof is in.
    pub snapshot_version: u64,
    /// Siblings from the leaf upwards: entry `i` is `path_directions["i"]` and `merkle_path["i"]`.
    pub path: Vec<(Direction, Sha256Hash)>,
}

impl InclusionProof {
    /// The root that this proof leads to, if its last directions lead from the leaf's bucket.
    pub fn computed_root(&self) -> Result<Sha256Hash, ProofError> {
        let path = &self.leaf_contents.path;
        let bucket = bucket_of(path);
        if !(BUCKET_BITS..=MAX_PATH).contains(&self.path.len()) {
            return Err(ProofError::PathLength { found: self.path.len() });
        }
        let inside = self.path.len() - BUCKET_BITS;
        if self.path[inside..].iter().map(|(d, _)| *d).ne(top_directions(bucket)) {
            return Err(ProofError::PathShape { path: path.clone(), bucket });
        }
        Ok(fold(self.leaf_contents.hash(), self.path.iter().map(|(direction, sibling)| (*direction, sibling))))
    }

    /// Checks the proof against the `merkle_root`, `merkle_tree_size` and snapshot version of a
    /// verified timestamp.
    pub fn verify(&self, root: &Sha256Hash, tree_size: u64, snapshot_version: u64) -> Result<(), ProofError> {
        if self.snapshot_version != snapshot_version {
            return Err(ProofError::SnapshotVersion { expected: snapshot_version, found: self.snapshot_version });
        }
        if self.tree_size != tree_size {
            return Err(ProofError::TreeSize { expected: tree_size, found: self.tree_size });
        }
        if self.computed_root()? != *root {
            return Err(ProofError::RootMismatch);
        }
        Ok(())
    }

    /// [`Self::verify`], and that the proof is for `path` and that `bytes` are that leaf's file.
    pub fn verify_file(
        &self,
        path: &str,
        bytes: &[u8],
        root: &Sha256Hash,
        tree_size: u64,
        snapshot_version: u64,
    ) -> Result<(), ProofError> {
        if self.leaf_contents.path != path {
            return Err(ProofError::WrongPath { expected: path.to_owned(), found: self.leaf_contents.path.clone() });
        }
        self.verify(root, tree_size, snapshot_version)?;
        if Leaf::of(path, bytes) != self.leaf_contents {
            return Err(ProofError::ContentMismatch {
                expected_length: self.leaf_contents.length,
                expected_sha256: self.leaf_contents.sha256.to_hex(),
            });
        }
        Ok(())
    }
}

impl InclusionProof {
    /// The canonical JSON of the proof, written directly: this is what every index response's
    /// header carries, so it avoids the generic encoder's intermediate `Value` (several times
    /// faster; tests pin it to [`crate::cjson::to_vec`]).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(200 + self.path.len() * 80);
        self.write_canonical(&mut out);
        out
    }

    fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"leaf_contents\":");
        out.extend_from_slice(&self.leaf_contents.contents_bytes());
        // Canonical JSON sorts the keys "0", "1", "10", "11", ..., "2", ... as strings. This key
        // works below 100 levels; a proof has at most MAX_PATH.
        debug_assert!(self.path.len() < 100);
        let mut order: Vec<usize> = (0..self.path.len()).collect();
        order.sort_unstable_by_key(|&i| if i < 10 { (i, 0) } else { (i / 10, 1 + i % 10) });
        let mut hex = [0u8; 64];
        out.extend_from_slice(b",\"merkle_path\":{");
        for (n, &i) in order.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            // A 32-byte input always fits the 64-byte buffer.
            let _ = hex::encode_to_slice(self.path[i].1.0, &mut hex);
            out.extend_from_slice(format!("\"{i}\":\"").as_bytes());
            out.extend_from_slice(&hex);
            out.push(b'"');
        }
        out.extend_from_slice(b"},\"path_directions\":{");
        for (n, &i) in order.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let dir = match self.path[i].0 {
                Direction::L => "L",
                Direction::R => "R",
            };
            out.extend_from_slice(format!("\"{i}\":\"{dir}\"").as_bytes());
        }
        out.extend_from_slice(b"},\"snapshot_version\":");
        out.extend_from_slice(self.snapshot_version.to_string().as_bytes());
        out.extend_from_slice(b",\"tree_size\":");
        out.extend_from_slice(self.tree_size.to_string().as_bytes());
        out.push(b'}');
    }
}

impl NonInclusionProof {
    /// The canonical JSON of the proof, written directly (see [`InclusionProof::to_canonical_json`]).
    pub fn to_canonical_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(700 + self.absent.len() + 130 * self.bucket_leaves.len());
        out.extend_from_slice(b"{\"absent\":");
        crate::cjson::write_string(&self.absent, &mut out);
        out.extend_from_slice(b",\"bucket_leaves\":[");
        for (n, leaf) in self.bucket_leaves.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&leaf.contents_bytes());
        }
        out.extend_from_slice(b"],\"bucket_path\":[");
        let mut hex = [0u8; 64];
        for (n, hash) in self.bucket_path.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            // A 32-byte input always fits the 64-byte buffer.
            let _ = hex::encode_to_slice(hash.0, &mut hex);
            out.push(b'"');
            out.extend_from_slice(&hex);
            out.push(b'"');
        }
        out.extend_from_slice(b"],\"snapshot_version\":");
        out.extend_from_slice(self.snapshot_version.to_string().as_bytes());
        out.extend_from_slice(b",\"tree_size\":");
        out.extend_from_slice(self.tree_size.to_string().as_bytes());
        out.push(b'}');
        out
    }
}

/// The wire form of [`InclusionProof`]: TAP-16's maps keyed by `"0"`, `"1"`, …
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireProof {
    leaf_contents: Leaf,
    tree_size: u64,
    snapshot_version: u64,
    merkle_path: UniqueKeys<Sha256Hash>,
    path_directions: UniqueKeys<Direction>,
}

/// A JSON object whose keys must not repeat. serde_json's maps keep the last of a repeated key
/// silently; a proof that says two things about one level is malformed (docs/POUF.md 1.5), as the
/// independent Python verifier also holds.
struct UniqueKeys<V>(BTreeMap<String, V>);

impl<V: Serialize> Serialize for UniqueKeys<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueKeys<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = UniqueKeys<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object without repeated keys")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if out.contains_key(&key) {
                        return Err(A::Error::custom(format!("key {key:?} appears twice")));
                    }
                    out.insert(key, value);
                }
                Ok(UniqueKeys(out))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

impl Serialize for InclusionProof {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut merkle_path = BTreeMap::new();
        let mut path_directions = BTreeMap::new();
        for (i, (dir, hash)) in self.path.iter().enumerate() {
            merkle_path.insert(i.to_string(), *hash);
            path_directions.insert(i.to_string(), *dir);
        }
        WireProof {
            leaf_contents: self.leaf_contents.clone(),
            tree_size: self.tree_size,
            snapshot_version: self.snapshot_version,
            merkle_path: UniqueKeys(merkle_path),
            path_directions: UniqueKeys(path_directions),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InclusionProof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WireProof::deserialize(d)?;
        let (merkle_path, path_directions) = (wire.merkle_path.0, wire.path_directions.0);
        let len = merkle_path.len();
        if path_directions.len() != len || len > MAX_PATH {
            return Err(D::Error::custom(format!(
                "merkle_path and path_directions differ in length or exceed {MAX_PATH}"
            )));
        }
        let mut path = Vec::with_capacity(len);
        for i in 0..len {
            let key = i.to_string();
            match (path_directions.get(&key), merkle_path.get(&key)) {
                (Some(dir), Some(hash)) => path.push((*dir, *hash)),
                _ => {
                    return Err(D::Error::custom(format!("merkle_path keys must be \"0\"..\"{}\"", len - 1)));
                }
            }
        }
        Ok(InclusionProof {
            leaf_contents: wire.leaf_contents,
            tree_size: wire.tree_size,
            snapshot_version: wire.snapshot_version,
            path,
        })
    }
}

/// Proof that `absent` is not a leaf: every leaf of its bucket, and the bucket's path to the root
/// (docs/POUF.md 1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonInclusionProof {
    /// `absent`: the sparse-index path proven absent.
    pub absent: String,
    /// `snapshot_version`: N, the version of the snapshot whose tree the proof is about.
    pub snapshot_version: u64,
    /// `tree_size`: the `merkle_tree_size` of that snapshot.
    pub tree_size: u64,
    /// `bucket_leaves`: every leaf of the bucket of `absent`, in path order (possibly none).
    pub bucket_leaves: Vec<Leaf>,
    /// `bucket_path`: the 16 siblings from that bucket's root upwards.
    pub bucket_path: Vec<Sha256Hash>,
}

impl NonInclusionProof {
    /// Checks that `absent` is not in the tree that a verified timestamp signs.
    pub fn verify(
        &self,
        absent: &str,
        root: &Sha256Hash,
        tree_size: u64,
        snapshot_version: u64,
    ) -> Result<(), ProofError> {
        let not_absent = |reason: String| ProofError::NotProvenAbsent { absent: absent.to_owned(), reason };
        if self.absent != absent {
            return Err(ProofError::WrongPath { expected: absent.to_owned(), found: self.absent.clone() });
        }
        if self.snapshot_version != snapshot_version {
            return Err(ProofError::SnapshotVersion { expected: snapshot_version, found: self.snapshot_version });
        }
        if self.tree_size != tree_size {
            return Err(ProofError::TreeSize { expected: tree_size, found: self.tree_size });
        }
        let Ok(bucket_path) = <&[Sha256Hash; BUCKET_BITS]>::try_from(self.bucket_path.as_slice()) else {
            return Err(ProofError::Malformed(format!(
                "bucket_path has {} entries, not {BUCKET_BITS}",
                self.bucket_path.len()
            )));
        };
        Leaf::check_sorted(&self.bucket_leaves)
            .map_err(|source| ProofError::UnsortedBucketLeaves { absent: absent.to_owned(), source })?;
        let bucket = bucket_of(absent);
        if let Some(leaf) = self.bucket_leaves.iter().find(|l| l.path == absent) {
            return Err(not_absent(format!("{:?} is one of the bucket's leaves", leaf.path)));
        }
        if let Some(leaf) = self.bucket_leaves.iter().find(|l| bucket_of(&l.path) != bucket) {
            return Err(not_absent(format!("{:?} is not in bucket {bucket}", leaf.path)));
        }
        let hashes: Vec<Sha256Hash> = self.bucket_leaves.iter().map(Leaf::hash).collect();
        if fold_top(bucket, bucket_root(&hashes), bucket_path) != *root {
            return Err(ProofError::RootMismatch);
        }
        Ok(())
    }
}
