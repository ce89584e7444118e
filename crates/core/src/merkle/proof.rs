use super::leaf::Leaf;
use super::tree::node_hash;
use crate::Sha256Hash;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Which side a sibling sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// The sibling is the left child: `h = node(sibling, h)`.
    L,
    /// The sibling is the right child: `h = node(h, sibling)`.
    R,
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("proof is for snapshot {found}, the trusted timestamp names snapshot {expected}")]
    SnapshotVersion { expected: u64, found: u64 },
    #[error("proof is for a tree of {found} leaves, the trusted timestamp says {expected}")]
    TreeSize { expected: u64, found: u64 },
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("the path of the proof does not fit leaf index {index} in a tree of {size} leaves")]
    PathShape { index: u64, size: u64 },
    #[error("the proof does not lead to the signed Merkle root")]
    RootMismatch,
    #[error("the proof is for {found:?}, not {expected:?}")]
    WrongPath { expected: String, found: String },
    #[error("the file does not match its leaf (expected {expected_length} bytes with SHA-256 {expected_sha256})")]
    ContentMismatch { expected_length: u64, expected_sha256: String },
    #[error("the neighbours do not enclose {absent:?}: {reason}")]
    NotEnclosed { absent: String, reason: String },
    #[error("malformed proof: {0}")]
    Malformed(String),
}

/// The directions that a leaf at `index` in a tree of `size` leaves must have, leaf upwards.
pub fn expected_directions(index: u64, size: u64) -> Vec<Direction> {
    let (mut i, mut n) = (index, size);
    let mut out = Vec::with_capacity(64);
    while n > 1 {
        if i % 2 == 1 {
            out.push(Direction::L);
        } else if i + 1 < n {
            out.push(Direction::R);
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    out
}

/// TAP-16 snapshot Merkle metadata for one index file (docs/POUF.md 1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf_contents: Leaf,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub snapshot_version: u64,
    /// Siblings from the leaf upwards.
    pub path: Vec<(Direction, Sha256Hash)>,
}

impl InclusionProof {
    /// The root that this proof leads to, if its shape fits its index and size.
    pub fn computed_root(&self) -> Result<Sha256Hash, ProofError> {
        let (index, size) = (self.leaf_index, self.tree_size);
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let expected = expected_directions(index, size);
        if expected.len() != self.path.len() || expected.iter().zip(&self.path).any(|(e, (d, _))| e != d) {
            return Err(ProofError::PathShape { index, size });
        }
        Ok(self.path.iter().fold(self.leaf_contents.hash(), |h, (dir, sibling)| match dir {
            Direction::L => node_hash(sibling, &h),
            Direction::R => node_hash(&h, sibling),
        }))
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
        out.extend_from_slice(b",\"leaf_index\":");
        out.extend_from_slice(self.leaf_index.to_string().as_bytes());
        // Canonical JSON sorts the keys "0", "1", "10", "11", ..., "2", ... as strings.
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
        let mut out = Vec::with_capacity(600 + self.absent.len());
        out.extend_from_slice(b"{\"absent\":");
        crate::cjson::write_string(&self.absent, &mut out);
        for (key, side) in [(&b",\"left\":"[..], &self.left), (&b",\"right\":"[..], &self.right)] {
            out.extend_from_slice(key);
            match side {
                Some(p) => p.write_canonical(&mut out),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b",\"snapshot_version\":");
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
    leaf_index: u64,
    tree_size: u64,
    snapshot_version: u64,
    merkle_path: BTreeMap<String, Sha256Hash>,
    path_directions: BTreeMap<String, Direction>,
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
            leaf_index: self.leaf_index,
            tree_size: self.tree_size,
            snapshot_version: self.snapshot_version,
            merkle_path,
            path_directions,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InclusionProof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WireProof::deserialize(d)?;
        let len = wire.merkle_path.len();
        if wire.path_directions.len() != len || len > 64 {
            return Err(D::Error::custom("merkle_path and path_directions differ in length or exceed 64"));
        }
        let mut path = Vec::with_capacity(len);
        for i in 0..len {
            let key = i.to_string();
            match (wire.path_directions.get(&key), wire.merkle_path.get(&key)) {
                (Some(dir), Some(hash)) => path.push((*dir, *hash)),
                _ => {
                    return Err(D::Error::custom(format!("merkle_path keys must be \"0\"..\"{}\"", len - 1)));
                }
            }
        }
        Ok(InclusionProof {
            leaf_contents: wire.leaf_contents,
            leaf_index: wire.leaf_index,
            tree_size: wire.tree_size,
            snapshot_version: wire.snapshot_version,
            path,
        })
    }
}

/// Proof that `absent` is not a leaf: its two neighbours in the sorted leaves (docs/POUF.md 1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonInclusionProof {
    pub absent: String,
    pub snapshot_version: u64,
    pub tree_size: u64,
    pub left: Option<InclusionProof>,
    pub right: Option<InclusionProof>,
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
        let not_enclosed =
            |reason: &str| ProofError::NotEnclosed { absent: absent.to_owned(), reason: reason.to_owned() };
        if self.absent != absent {
            return Err(ProofError::WrongPath { expected: absent.to_owned(), found: self.absent.clone() });
        }
        if self.snapshot_version != snapshot_version {
            return Err(ProofError::SnapshotVersion { expected: snapshot_version, found: self.snapshot_version });
        }
        if self.tree_size != tree_size {
            return Err(ProofError::TreeSize { expected: tree_size, found: self.tree_size });
        }
        for p in [&self.left, &self.right].into_iter().flatten() {
            p.verify(root, tree_size, snapshot_version)?;
        }
        let below = |p: &InclusionProof| p.leaf_contents.path.as_bytes() < absent.as_bytes();
        let above = |p: &InclusionProof| p.leaf_contents.path.as_bytes() > absent.as_bytes();
        match (&self.left, &self.right) {
            (None, None) if tree_size == 0 => Ok(()),
            (None, None) => Err(not_enclosed("a non-empty tree needs at least one neighbour")),
            (Some(l), Some(r)) if below(l) && above(r) && r.leaf_index == l.leaf_index + 1 => Ok(()),
            (None, Some(r)) if above(r) && r.leaf_index == 0 => Ok(()),
            (Some(l), None) if below(l) && l.leaf_index + 1 == tree_size => Ok(()),
            _ => Err(not_enclosed("the neighbours are not adjacent leaves on either side of it")),
        }
    }
}
