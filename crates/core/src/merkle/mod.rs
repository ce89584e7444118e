//! The TAP-16 snapshot Merkle tree over index files (docs/POUF.md 1.4 and 1.5).
//!
//! Hashing follows RFC 6962: `leaf = SHA-256(0x00 || leaf bytes)`, `node = SHA-256(0x01 || l || r)`,
//! a last node without a partner is promoted unchanged, and the empty tree's root is
//! `SHA-256("")`. rs_merkle builds the tree (it pairs bottom-up and promotes lone nodes, which gives
//! RFC 6962's shape); it hashes nothing itself, so leaves are hashed here and `NodeHasher` (in `tree.rs`) adds
//! the node prefix. Verification does not use rs_merkle at all: it is the few lines of
//! [`InclusionProof::verify`], the same ones a client in any language writes from the POUF.

mod leaf;
mod proof;
mod tree;

pub use leaf::{Leaf, LeafError};
pub use proof::{Direction, InclusionProof, NonInclusionProof, ProofError, expected_directions};
pub use tree::{MerkleTree, PathProof, empty_root, node_hash};
