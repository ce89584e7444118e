use super::leaf::{Leaf, LeafError};
use super::proof::{Direction, InclusionProof, NonInclusionProof};

/// What the tree says about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProof {
    Included(InclusionProof),
    Absent(NonInclusionProof),
}
use crate::Sha256Hash;
use sha2::{Digest, Sha256};

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Sha256Hash, right: &Sha256Hash) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Sha256Hash(h.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`, as in RFC 6962.
pub fn empty_root() -> Sha256Hash {
    Sha256Hash::of(b"")
}

/// rs_merkle's view of our node hashing. `hash` is never given raw data by rs_merkle when trees
/// are built from leaf hashes; `concat_and_hash` is where the domain separation lives.
#[derive(Clone, Debug)]
struct NodeHasher;

impl rs_merkle::Hasher for NodeHasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => node_hash(&Sha256Hash(*left), &Sha256Hash(*right)).0,
            None => *left,
        }
    }
}

/// A built tree: the sorted leaves and rs_merkle's layers, ready to answer proofs.
pub struct MerkleTree {
    leaves: Vec<Leaf>,
    tree: rs_merkle::MerkleTree<NodeHasher>,
    root: Sha256Hash,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree").field("size", &self.leaves.len()).field("root", &self.root).finish()
    }
}

impl MerkleTree {
    /// Builds the tree over `leaves`, which must be sorted by path with no duplicates.
    pub fn build(leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        Leaf::check_sorted(&leaves)?;
        let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| l.hash().0).collect();
        let tree = rs_merkle::MerkleTree::<NodeHasher>::from_leaves(&hashes);
        let root = tree.root().map(Sha256Hash).unwrap_or_else(empty_root);
        Ok(MerkleTree { leaves, tree, root })
    }

    /// Sorts `leaves` by path, then builds.
    pub fn build_unsorted(mut leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        leaves.sort_unstable_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        Self::build(leaves)
    }

    pub fn root(&self) -> Sha256Hash {
        self.root
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

    /// The position of `path`, or where it would be inserted.
    pub fn position(&self, path: &str) -> Result<usize, usize> {
        self.leaves.binary_search_by(|l| l.path.as_bytes().cmp(path.as_bytes()))
    }

    /// The inclusion proof of leaf `index` (which must be `< len()`).
    pub fn prove_index(&self, index: usize, snapshot_version: u64) -> InclusionProof {
        let siblings = self.tree.proof(&[index]);
        let directions = super::proof::expected_directions(index as u64, self.leaves.len() as u64);
        debug_assert_eq!(siblings.proof_hashes().len(), directions.len());
        let path: Vec<(Direction, Sha256Hash)> =
            directions.into_iter().zip(siblings.proof_hashes().iter().map(|h| Sha256Hash(*h))).collect();
        InclusionProof {
            leaf_contents: self.leaves[index].clone(),
            leaf_index: index as u64,
            tree_size: self.leaves.len() as u64,
            snapshot_version,
            path,
        }
    }

    /// An inclusion proof if `path` is a leaf, else the non-inclusion proof of its neighbours.
    pub fn prove(&self, path: &str, snapshot_version: u64) -> PathProof {
        match self.position(path) {
            Ok(i) => PathProof::Included(self.prove_index(i, snapshot_version)),
            Err(i) => PathProof::Absent(NonInclusionProof {
                absent: path.to_owned(),
                snapshot_version,
                tree_size: self.leaves.len() as u64,
                left: i.checked_sub(1).map(|l| self.prove_index(l, snapshot_version)),
                right: (i < self.leaves.len()).then(|| self.prove_index(i, snapshot_version)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's recursive definition, independent of rs_merkle.
    fn mth(hashes: &[Sha256Hash]) -> Sha256Hash {
        match hashes.len() {
            0 => empty_root(),
            1 => hashes[0],
            n => {
                // k is the largest power of two smaller than n.
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Leaf> {
        (0..n).map(|i| Leaf::of(format!("{i:05}"), format!("file {i}").as_bytes())).collect()
    }

    #[test]
    fn matches_rfc6962_shape_for_every_size_up_to_70() {
        for n in 0..70 {
            let ls = leaves(n);
            let hashes: Vec<Sha256Hash> = ls.iter().map(Leaf::hash).collect();
            let tree = MerkleTree::build(ls).expect("sorted");
            assert_eq!(tree.root(), mth(&hashes), "size {n}");
        }
    }

    #[test]
    fn every_proof_verifies_for_every_size_up_to_40() {
        for n in 1..40 {
            let tree = MerkleTree::build(leaves(n)).expect("sorted");
            for i in 0..n {
                let proof = tree.prove_index(i, 3);
                proof.verify(&tree.root(), n as u64, 3).unwrap_or_else(|e| panic!("size {n} index {i}: {e}"));
            }
        }
    }

    #[test]
    fn direct_canonical_json_equals_the_generic_encoder() {
        // 70 leaves: paths up to 7 levels; the 1100-leaf tree has 11 levels, so keys "10".
        for n in [0, 1, 2, 5, 70, 1100] {
            let tree = MerkleTree::build(leaves(n)).expect("sorted");
            for i in (0..n).step_by(1 + n / 50) {
                let proof = tree.prove_index(i, 9);
                assert_eq!(
                    proof.to_canonical_json(),
                    crate::cjson::to_vec(&proof).expect("cjson"),
                    "size {n} index {i}"
                );
            }
            for absent in ["", "00000a", "99999", "zzz\"\\"] {
                let PathProof::Absent(proof) = tree.prove(absent, 9) else { panic!("{absent} is present") };
                assert_eq!(
                    proof.to_canonical_json(),
                    crate::cjson::to_vec(&proof).expect("cjson"),
                    "absent {absent:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_unsorted_and_duplicate_leaves() {
        let mut ls = leaves(3);
        ls.swap(0, 1);
        assert!(matches!(MerkleTree::build(ls), Err(LeafError::Unsorted { .. })));
        let mut ls = leaves(2);
        ls[1].path = ls[0].path.clone();
        assert!(matches!(MerkleTree::build(ls), Err(LeafError::Duplicate(_))));
    }
}
