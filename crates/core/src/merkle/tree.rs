use super::leaf::{Leaf, LeafError};
use super::proof::{InclusionProof, NonInclusionProof};
use super::shape::{BUCKET_BITS, BUCKETS, EMPTY, bucket_directions, bucket_of, node_hash, top_directions};
use crate::Sha256Hash;
use sha2::{Digest, Sha256};

/// What the tree says about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProof {
    /// The path is in the tree: the proof of its leaf.
    Included(InclusionProof),
    /// The path is not in the tree: the proof of its absence.
    Absent(NonInclusionProof),
}

/// rs_merkle's view of our node hashing inside a bucket. `hash` is never given raw data by
/// rs_merkle when trees are built from leaf hashes; `concat_and_hash` is where the domain
/// separation lives, and a lone node is promoted unchanged (RFC 6962's shape).
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

/// A built tree (docs/POUF.md 1.4): the leaves in path order, which leaves each bucket holds, and
/// every node of the fixed top tree, ready to answer proofs.
pub struct MerkleTree {
    leaves: Vec<Leaf>,
    leaf_hashes: Vec<Sha256Hash>,
    /// Leaf positions grouped by bucket, in path order inside each bucket: bucket `b` holds
    /// `members[starts[b]..starts[b + 1]]`.
    members: Vec<u32>,
    starts: Vec<u32>,
    /// `top[k]` holds the nodes at height `k` above the buckets: `top[0]` the 65,536 bucket
    /// roots, `top[BUCKET_BITS]` the root alone.
    top: Vec<Vec<Sha256Hash>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree").field("size", &self.leaves.len()).field("root", &self.root()).finish()
    }
}

impl MerkleTree {
    /// Builds the tree over `leaves`, which must be sorted by path with no duplicates.
    pub fn build(leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        Leaf::check_sorted(&leaves)?;
        if u32::try_from(leaves.len()).is_err() {
            return Err(LeafError::TooMany(leaves.len()));
        }
        let leaf_hashes: Vec<Sha256Hash> = leaves.iter().map(Leaf::hash).collect();
        let buckets: Vec<u16> = leaves.iter().map(|l| bucket_of(&l.path) as u16).collect();
        let (members, starts) = group_by_bucket(&buckets);
        let mut tree = MerkleTree { leaves, leaf_hashes, members, starts, top: Vec::with_capacity(BUCKET_BITS + 1) };
        let roots = (0..BUCKETS).map(|b| tree.bucket_root(b)).collect();
        tree.top.push(roots);
        for k in 0..BUCKET_BITS {
            let below = &tree.top[k];
            // Most of a small tree is empty: a node over two empty subtrees is a known constant.
            let level = below
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] if *l == EMPTY[k] && *r == EMPTY[k] => EMPTY[k + 1],
                    [l, r] => node_hash(l, r),
                    _ => pair[0],
                })
                .collect();
            tree.top.push(level);
        }
        Ok(tree)
    }

    /// Sorts `leaves` by path, then builds.
    pub fn build_unsorted(mut leaves: Vec<Leaf>) -> Result<Self, LeafError> {
        leaves.sort_unstable_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        Self::build(leaves)
    }

    /// The Merkle root (the timestamp's `merkle_root`).
    pub fn root(&self) -> Sha256Hash {
        self.top[BUCKET_BITS][0]
    }

    /// The number of leaves (the timestamp's `merkle_tree_size`).
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The leaves, sorted by path bytes.
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The position of `path` in path order, or where it would be inserted.
    pub fn position(&self, path: &str) -> Result<usize, usize> {
        self.leaves.binary_search_by(|l| l.path.as_bytes().cmp(path.as_bytes()))
    }

    /// The positions (in path order) of bucket `b`'s leaves.
    fn members(&self, bucket: usize) -> &[u32] {
        &self.members[self.starts[bucket] as usize..self.starts[bucket + 1] as usize]
    }

    fn member_hashes(&self, bucket: usize) -> Vec<[u8; 32]> {
        self.members(bucket).iter().map(|&i| self.leaf_hashes[i as usize].0).collect()
    }

    fn bucket_root(&self, bucket: usize) -> Sha256Hash {
        match self.members(bucket) {
            [] => EMPTY[0],
            [only] => self.leaf_hashes[*only as usize],
            // rs_merkle has no root only without leaves, which the arms above took.
            _ => rs_merkle::MerkleTree::<NodeHasher>::from_leaves(&self.member_hashes(bucket))
                .root()
                .map_or(EMPTY[0], Sha256Hash),
        }
    }

    /// The siblings from bucket `b`'s root up to the root.
    fn top_path(&self, bucket: usize) -> Vec<Sha256Hash> {
        (0..BUCKET_BITS).map(|k| self.top[k][(bucket >> k) ^ 1]).collect()
    }

    /// The inclusion proof of the leaf at position `index` in path order (`index < len()`).
    pub fn prove_index(&self, index: usize, snapshot_version: u64) -> InclusionProof {
        let leaf = &self.leaves[index];
        let bucket = bucket_of(&leaf.path);
        let members = self.members(bucket);
        let mut path = Vec::with_capacity(BUCKET_BITS + 4);
        if members.len() > 1 {
            // Members are positions in path order, ascending: `index` is among them.
            let inside = members.partition_point(|&m| (m as usize) < index);
            debug_assert_eq!(members.get(inside).map(|&m| m as usize), Some(index));
            let subtree = rs_merkle::MerkleTree::<NodeHasher>::from_leaves(&self.member_hashes(bucket));
            let siblings = subtree.proof(&[inside]);
            let directions = bucket_directions(inside, members.len());
            debug_assert_eq!(directions.len(), siblings.proof_hashes().len());
            path.extend(directions.into_iter().zip(siblings.proof_hashes().iter().map(|h| Sha256Hash(*h))));
        }
        path.extend(top_directions(bucket).into_iter().zip(self.top_path(bucket)));
        InclusionProof { leaf_contents: leaf.clone(), tree_size: self.leaves.len() as u64, snapshot_version, path }
    }

    /// An inclusion proof if `path` is a leaf, else the non-inclusion proof of its bucket.
    pub fn prove(&self, path: &str, snapshot_version: u64) -> PathProof {
        match self.position(path) {
            Ok(i) => PathProof::Included(self.prove_index(i, snapshot_version)),
            Err(_) => {
                let bucket = bucket_of(path);
                PathProof::Absent(NonInclusionProof {
                    absent: path.to_owned(),
                    snapshot_version,
                    tree_size: self.leaves.len() as u64,
                    bucket_leaves: self.members(bucket).iter().map(|&i| self.leaves[i as usize].clone()).collect(),
                    bucket_path: self.top_path(bucket),
                })
            }
        }
    }
}

/// A counting sort of leaf positions by bucket; stable, so each bucket keeps path order.
fn group_by_bucket(buckets: &[u16]) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; BUCKETS + 1];
    for &b in buckets {
        starts[usize::from(b) + 1] += 1;
    }
    for b in 0..BUCKETS {
        starts[b + 1] += starts[b];
    }
    let mut next = starts.clone();
    let mut members = vec![0u32; buckets.len()];
    for (i, &b) in buckets.iter().enumerate() {
        let slot = &mut next[usize::from(b)];
        members[*slot as usize] = i as u32;
        *slot += 1;
    }
    (members, starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::shape::{bucket_root, empty_root};

    /// docs/POUF.md 1.4 read literally: every bucket's root, then 16 levels of pairs.
    fn root_by_definition(leaves: &[Leaf]) -> Sha256Hash {
        let mut buckets = vec![Vec::new(); BUCKETS];
        for leaf in leaves {
            buckets[bucket_of(&leaf.path)].push(leaf.hash());
        }
        let mut level: Vec<Sha256Hash> = buckets.iter().map(|hashes| bucket_root(hashes)).collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        level[0]
    }

    /// `n` numbered paths; a few hundred of them already share some buckets.
    fn leaves(n: usize) -> Vec<Leaf> {
        let mut ls: Vec<Leaf> = (0..n).map(|i| Leaf::of(format!("{i:05}"), format!("file {i}").as_bytes())).collect();
        ls.sort_by(|a, b| a.path.cmp(&b.path));
        ls
    }

    /// Paths that all fall in one bucket, to exercise the RFC 6962 shape inside a bucket.
    fn crowded(n: usize) -> Vec<Leaf> {
        let target = bucket_of("crowd");
        let mut ls: Vec<Leaf> = (0u32..)
            .map(|i| format!("cr/ow/crowd{i}"))
            .filter(|p| bucket_of(p) == target)
            .take(n)
            .map(|p| Leaf::of(p.clone(), p.as_bytes()))
            .collect();
        ls.sort_by(|a, b| a.path.cmp(&b.path));
        ls
    }

    #[test]
    fn roots_match_the_definition() {
        assert_eq!(MerkleTree::build(Vec::new()).expect("empty").root(), empty_root());
        for ls in [leaves(1), leaves(7), leaves(600), crowded(2), crowded(5), crowded(9)] {
            let tree = MerkleTree::build(ls.clone()).expect("sorted");
            assert_eq!(tree.root(), root_by_definition(&ls), "{} leaves", ls.len());
        }
    }

    #[test]
    fn every_proof_verifies() {
        let mut mixed = leaves(300);
        mixed.extend(crowded(7));
        mixed.sort_by(|a, b| a.path.cmp(&b.path));
        for ls in [leaves(1), crowded(2), crowded(3), crowded(9), mixed] {
            let tree = MerkleTree::build(ls).expect("sorted");
            let n = tree.len() as u64;
            for i in 0..tree.len() {
                let proof = tree.prove_index(i, 3);
                proof.verify(&tree.root(), n, 3).unwrap_or_else(|e| panic!("size {n} index {i}: {e}"));
            }
            for absent in ["", "crowd", "cr/ow/crowd", "zzzz", "00000a"] {
                let PathProof::Absent(proof) = tree.prove(absent, 3) else { panic!("{absent} is present") };
                proof.verify(absent, &tree.root(), n, 3).unwrap_or_else(|e| panic!("absent {absent:?}: {e}"));
            }
        }
    }

    #[test]
    fn direct_canonical_json_equals_the_generic_encoder() {
        for ls in [Vec::new(), leaves(1), leaves(70), crowded(5)] {
            let tree = MerkleTree::build(ls).expect("sorted");
            for i in 0..tree.len() {
                let proof = tree.prove_index(i, 9);
                assert_eq!(proof.to_canonical_json(), crate::cjson::to_vec(&proof).expect("cjson"), "index {i}");
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
