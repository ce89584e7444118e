//! The TAP-16 snapshot Merkle tree over index files (docs/POUF.md 1.4 and 1.5).
//!
//! Leaves hash as `SHA-256(0x00 || leaf bytes)`, nodes as `SHA-256(0x01 || l || r)`. A path's
//! bucket is the first 16 bits of its SHA-256; each of the 65,536 buckets is an RFC 6962 tree over
//! its leaves in path order (a lone last node promoted unchanged), and a fixed perfect tree of
//! depth 16 joins the buckets. The fixed top is what keeps an update proportional to the change:
//! an added path re-hashes its bucket and 16 nodes, not every node right of it (`shape.rs`).
//!
//! rs_merkle builds each bucket's tree and its proofs (it pairs bottom-up and promotes lone nodes);
//! it hashes nothing itself, so leaves are hashed here and `NodeHasher` (in `tree.rs`) adds the node
//! prefix. Verification does not use rs_merkle at all: it is the few lines of
//! [`InclusionProof::verify`] and [`NonInclusionProof::verify`], the same ones a client in any
//! language writes from the POUF.

mod leaf;
mod proof;
mod shape;
mod tree;

pub use leaf::{Leaf, LeafError};
pub use proof::{Direction, InclusionProof, MAX_PATH, NonInclusionProof, ProofError};
pub(crate) use shape::EMPTY;
pub use shape::{BUCKET_BITS, BUCKETS, bucket_of, bucket_root, empty_root, fold, fold_top, node_hash, top_directions};
pub use tree::{MerkleTree, PathProof};
