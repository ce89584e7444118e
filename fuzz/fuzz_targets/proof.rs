//! Merkle proofs (`crates/core/src/merkle/proof.rs`) against a fixed real tree: the 103-leaf
//! vector of `crates/core/tests/data/merkle_vectors.json`.
//!
//! The first byte chooses the input's form:
//! - 0: JSON of an inclusion proof. If it parses it re-encodes to the same value (its direct
//!   canonical writer agreeing with the generic encoder), and if it verifies against the tree's
//!   root it is exactly the tree's own proof of that path: no other proof verifies.
//! - 1: JSON of a non-inclusion proof. Same round trip; if it verifies, the path is really absent.
//! - 2: a real proof (the next byte picks the leaf) with the rest of the input as edits to its
//!   fields: if the edited proof differs from the real one, it does not verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tufmirror_core::Sha256Hash;
use tufmirror_core::cjson;
use tufmirror_core::merkle::{Direction, InclusionProof, Leaf, MerkleTree, NonInclusionProof, PathProof};

const VECTORS: &str = include_str!("../../crates/core/tests/data/merkle_vectors.json");
const VERSION: u64 = 5;

fn tree() -> &'static MerkleTree {
    static TREE: OnceLock<MerkleTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let vectors: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors");
        let largest = vectors["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .max_by_key(|v| v["leaves"].as_array().map_or(0, Vec::len))
            .expect("a vector");
        let leaves: Vec<Leaf> = serde_json::from_value(largest["leaves"].clone()).expect("leaves");
        let tree = MerkleTree::build(leaves).expect("a tree");
        assert_eq!(serde_json::to_value(tree.root()).expect("root"), largest["merkle_root"]);
        tree
    })
}

fn inclusion(data: &[u8]) {
    let Ok(proof) = serde_json::from_slice::<InclusionProof>(data) else { return };
    let canonical = proof.to_canonical_json();
    assert_eq!(cjson::to_vec(&proof).expect("canonical"), canonical, "direct and generic encoders differ");
    // Canonical JSON has raw control characters, which serde_json does not read back.
    if !proof.leaf_contents.path.bytes().any(|b| b < 0x20) {
        let again: InclusionProof = serde_json::from_slice(&canonical).expect("re-encoded proof parses");
        assert_eq!(again, proof);
    }
    let tree = tree();
    if proof.verify(&tree.root(), tree.len() as u64, VERSION).is_ok() {
        match tree.prove(&proof.leaf_contents.path, VERSION) {
            PathProof::Included(real) => assert_eq!(real, proof, "a proof other than the real one verified"),
            PathProof::Absent(_) => panic!("a proof of an absent path verified: {proof:?}"),
        }
    }
}

fn non_inclusion(data: &[u8]) {
    let Ok(proof) = serde_json::from_slice::<NonInclusionProof>(data) else { return };
    let canonical = proof.to_canonical_json();
    assert_eq!(cjson::to_vec(&proof).expect("canonical"), canonical, "direct and generic encoders differ");
    let tree = tree();
    if proof.verify(&proof.absent, &tree.root(), tree.len() as u64, VERSION).is_ok() {
        assert!(tree.position(&proof.absent).is_err(), "a present path was proven absent: {proof:?}");
    }
}

fn edited(data: &[u8]) {
    let Some((&pick, edits)) = data.split_first() else { return };
    let tree = tree();
    let real = tree.prove_index(usize::from(pick) % tree.len(), VERSION);
    assert!(real.verify(&tree.root(), tree.len() as u64, VERSION).is_ok(), "the real proof verifies");
    let mut proof = real.clone();
    for edit in edits.chunks(3) {
        let [what, at, value] = [edit[0], *edit.get(1).unwrap_or(&0), *edit.get(2).unwrap_or(&1)];
        let at = usize::from(at);
        match what % 8 {
            0 if !proof.path.is_empty() => {
                let n = at % proof.path.len();
                proof.path[n].1.0[at % 32] ^= value;
            }
            1 if !proof.path.is_empty() => {
                let n = at % proof.path.len();
                proof.path[n].0 = if proof.path[n].0 == Direction::L { Direction::R } else { Direction::L };
            }
            2 => {
                proof.path.truncate(at % (proof.path.len() + 1));
            }
            3 => proof.path.insert(at % (proof.path.len() + 1), (Direction::L, Sha256Hash([value; 32]))),
            4 => proof.leaf_contents.sha256.0[at % 32] ^= value,
            5 => proof.leaf_contents.length ^= u64::from(value),
            6 => proof.tree_size ^= u64::from(value) << (at % 57),
            _ => {
                let mut bytes = proof.leaf_contents.path.clone().into_bytes();
                if !bytes.is_empty() {
                    let n = at % bytes.len();
                    bytes[n] ^= value & 0x7f;
                }
                proof.leaf_contents.path = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
    }
    if proof != real {
        let result = proof.verify(&tree.root(), tree.len() as u64, VERSION);
        assert!(result.is_err(), "an edited proof verified: {proof:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    match form % 3 {
        0 => inclusion(rest),
        1 => non_inclusion(rest),
        _ => edited(rest),
    }
});
