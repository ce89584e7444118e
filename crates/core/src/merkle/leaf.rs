use crate::{Sha256Hash, cjson};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One index file as the tree sees it: its sparse path, length and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    /// The file's length in bytes.
    pub length: u64,
    /// The file's path in the sparse index (`se/rd/serde`, `3/a/abc`); `config.json` is never a leaf.
    pub path: String,
    /// The SHA-256 of the file's bytes.
    pub sha256: Sha256Hash,
}

/// A leaf list that cannot form a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafError {
    /// Two neighbouring leaves out of byte order of their paths.
    #[error("leaves are not sorted by path: {previous:?} comes before {next:?}")]
    Unsorted {
        /// The earlier leaf's path.
        previous: String,
        /// The later leaf's path, which sorts before it.
        next: String,
    },
    /// Two leaves with the same path (the path).
    #[error("two leaves have the path {0:?}")]
    Duplicate(String),
    /// More leaves than the tree holds (their number).
    #[error("{0} leaves are more than a tree holds (2^32 - 1)")]
    TooMany(usize),
}

impl Leaf {
    /// The leaf for a file's bytes.
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> Self {
        Leaf { length: bytes.len() as u64, path: path.into(), sha256: Sha256Hash::of(bytes) }
    }

    /// The canonical JSON of the leaf contents: the bytes that are hashed.
    pub fn contents_bytes(&self) -> Vec<u8> {
        // Written directly (it is on the hot path of every build and every proof check); the
        // test below pins it to the generic encoder.
        let mut out = Vec::with_capacity(self.path.len() + 110);
        out.extend_from_slice(b"{\"length\":");
        out.extend_from_slice(self.length.to_string().as_bytes());
        out.extend_from_slice(b",\"path\":");
        cjson::write_string(&self.path, &mut out);
        out.extend_from_slice(b",\"sha256\":\"");
        out.extend_from_slice(self.sha256.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        out
    }

    /// `SHA-256(0x00 || contents)`.
    pub fn hash(&self) -> Sha256Hash {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(self.contents_bytes());
        Sha256Hash(h.finalize().into())
    }

    /// Checks that leaves are strictly ascending by path (sorted, no duplicates).
    pub fn check_sorted(leaves: &[Leaf]) -> Result<(), LeafError> {
        for pair in leaves.windows(2) {
            match pair[0].path.as_bytes().cmp(pair[1].path.as_bytes()) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(LeafError::Duplicate(pair[0].path.clone()));
                }
                std::cmp::Ordering::Greater => {
                    return Err(LeafError::Unsorted { previous: pair[0].path.clone(), next: pair[1].path.clone() });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_bytes_are_canonical_json() {
        let leaf = Leaf::of("se/rd/se\"r\\de", b"hello\n");
        assert_eq!(leaf.contents_bytes(), cjson::to_vec(&leaf).expect("canonical"));
    }
}
