//! tufmirror-core against fixed vectors computed independently (tests/data/*.json, produced from
//! docs/POUF.md by a separate Python implementation), and against mutated proofs.

use serde::Deserialize;
use tufmirror_core::Sha256Hash;
use tufmirror_core::key::KeyError;
use tufmirror_core::merkle::{
    Direction, InclusionProof, Leaf, MerkleTree, NonInclusionProof, PathProof, ProofError, bucket_of, top_directions,
};

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    leaves: Vec<Leaf>,
    leaf_hashes: Vec<Sha256Hash>,
    buckets: Vec<usize>,
    merkle_root: Sha256Hash,
    proofs: Vec<serde_json::Value>,
    absent: Vec<Absent>,
}

#[derive(Deserialize)]
struct Absent {
    path: String,
    proof: serde_json::Value,
}

fn vectors() -> Vec<Vector> {
    let bytes = include_bytes!("data/merkle_vectors.json");
    serde_json::from_slice::<Vectors>(bytes).expect("vectors parse").vectors
}

#[test]
fn roots_leaf_hashes_and_proofs_match_the_vectors() {
    for v in vectors() {
        let size = v.leaves.len() as u64;
        let hashes: Vec<Sha256Hash> = v.leaves.iter().map(Leaf::hash).collect();
        assert_eq!(hashes, v.leaf_hashes, "leaf hashes, size {size}");
        let buckets: Vec<usize> = v.leaves.iter().map(|l| bucket_of(&l.path)).collect();
        assert_eq!(buckets, v.buckets, "buckets, size {size}");
        let tree = MerkleTree::build(v.leaves.clone()).expect("sorted");
        assert_eq!(tree.root(), v.merkle_root, "root, size {size}");
        for (i, expected) in v.proofs.iter().enumerate() {
            let ours = tree.prove_index(i, 5);
            // The same JSON document as the independent implementation.
            assert_eq!(serde_json::to_value(&ours).expect("json"), *expected, "proof {i} of {size}");
            let parsed: InclusionProof = serde_json::from_value(expected.clone()).expect("parses");
            parsed.verify(&v.merkle_root, size, 5).expect("verifies");
        }
        for absent in &v.absent {
            let PathProof::Absent(ours) = tree.prove(&absent.path, 5) else { panic!("{} is present", absent.path) };
            assert_eq!(serde_json::to_value(&ours).expect("json"), absent.proof, "absent {}", absent.path);
            let parsed: NonInclusionProof = serde_json::from_value(absent.proof.clone()).expect("parses");
            parsed.verify(&absent.path, &v.merkle_root, size, 5).expect("verifies");
        }
    }
}

/// The vector whose buckets hold 3 and 5 leaves, so that proofs have entries inside the bucket.
fn crowded() -> Vector {
    vectors().into_iter().find(|v| v.leaves.len() == 8).expect("8-leaf vector")
}

#[test]
fn mutated_inclusion_proofs_are_rejected() {
    let v = crowded();
    let (root, size) = (v.merkle_root, 8);
    let good: InclusionProof = serde_json::from_value(v.proofs[0].clone()).expect("parses");
    assert!(good.path.len() > 16, "a leaf that shares its bucket");
    good.verify(&root, size, 5).expect("the unmutated proof verifies");

    for i in [0, good.path.len() - 1] {
        let mut flipped = good.clone();
        flipped.path[i].1.0[7] ^= 0x10;
        assert_eq!(flipped.verify(&root, size, 5), Err(ProofError::RootMismatch), "sibling {i}");
    }
    let mut leaf_bit = good.clone();
    leaf_bit.leaf_contents.sha256.0[0] ^= 1;
    assert_eq!(leaf_bit.verify(&root, size, 5), Err(ProofError::RootMismatch));

    let swap = |d: Direction| if d == Direction::L { Direction::R } else { Direction::L };
    let mut inside = good.clone();
    inside.path[0].0 = swap(inside.path[0].0);
    assert_eq!(inside.verify(&root, size, 5), Err(ProofError::RootMismatch), "a direction inside the bucket");
    let mut top = good.clone();
    let last = top.path.len() - 1;
    top.path[last].0 = swap(top.path[last].0);
    assert!(matches!(top.verify(&root, size, 5), Err(ProofError::PathShape { .. })), "a top direction");
    let mut truncated = good.clone();
    truncated.path.pop();
    assert!(matches!(truncated.verify(&root, size, 5), Err(ProofError::PathShape { .. })));
    let mut short = good.clone();
    short.path.remove(0);
    assert_eq!(short.verify(&root, size, 5), Err(ProofError::RootMismatch), "an entry inside the bucket dropped");
    let mut top_only = good.clone();
    top_only.path.drain(..top_only.path.len() - 15);
    assert!(matches!(top_only.verify(&root, size, 5), Err(ProofError::PathLength { found: 15 })), "15 entries");

    // The same leaf claimed under a path of another bucket; then also with the top directions of
    // that bucket, so that only the hashes can tell.
    let other_leaf = v.leaves.iter().find(|l| bucket_of(&l.path) != v.buckets[0]).expect("other bucket");
    let mut moved = good.clone();
    moved.leaf_contents.path = other_leaf.path.clone();
    assert!(matches!(moved.verify(&root, size, 5), Err(ProofError::PathShape { .. })));
    let inside = moved.path.len() - 16;
    for (step, direction) in moved.path[inside..].iter_mut().zip(top_directions(bucket_of(&other_leaf.path))) {
        step.0 = direction;
    }
    assert_eq!(moved.verify(&root, size, 5), Err(ProofError::RootMismatch));
    let mut foreign = good.clone();
    foreign.leaf_contents = other_leaf.clone();
    let refused = foreign.verify(&root, size, 5);
    assert!(matches!(refused, Err(ProofError::PathShape { .. })), "another leaf on this leaf's path: {refused:?}");

    // Longer than 64 levels (built in memory: the wire form refuses it before verification).
    let mut long = good.clone();
    while long.path.len() <= 64 {
        long.path.insert(0, (Direction::R, Sha256Hash::default()));
    }
    assert!(matches!(long.verify(&root, size, 5), Err(ProofError::PathLength { found: 65 })));

    let mut wrong_size = good.clone();
    wrong_size.tree_size = 7;
    assert!(matches!(wrong_size.verify(&root, size, 5), Err(ProofError::TreeSize { .. })));
    assert!(matches!(good.verify(&root, size, 6), Err(ProofError::SnapshotVersion { .. })));

    // A valid proof for another path does not vouch for this one.
    let other: InclusionProof = serde_json::from_value(v.proofs[2].clone()).expect("parses");
    let path = good.leaf_contents.path.clone();
    assert!(matches!(other.verify_file(&path, b"anything", &root, size, 5), Err(ProofError::WrongPath { .. })));
    // The right path with the wrong bytes.
    assert!(matches!(
        good.verify_file(&path, b"not the file", &root, size, 5),
        Err(ProofError::ContentMismatch { .. })
    ));
}

#[test]
fn mutated_non_inclusion_proofs_are_rejected() {
    let v = crowded();
    let (root, size) = (v.merkle_root, 8);
    let absent = v.absent.iter().find(|a| a.proof["bucket_leaves"].as_array().is_some_and(|l| l.len() == 5));
    let absent = absent.expect("an absent path in the bucket of 5");
    let good: NonInclusionProof = serde_json::from_value(absent.proof.clone()).expect("parses");
    let path = absent.path.as_str();
    good.verify(path, &root, size, 5).expect("the unmutated proof verifies");

    let mut dropped = good.clone();
    dropped.bucket_leaves.remove(2);
    assert_eq!(dropped.verify(path, &root, size, 5), Err(ProofError::RootMismatch), "a leaf hidden");
    let mut swapped = good.clone();
    swapped.bucket_leaves.swap(0, 1);
    assert!(matches!(swapped.verify(path, &root, size, 5), Err(ProofError::UnsortedBucketLeaves { .. })));
    let mut stranger = good.clone();
    let other = v.leaves.iter().find(|l| bucket_of(&l.path) != bucket_of(path)).expect("another bucket");
    stranger.bucket_leaves.push(other.clone());
    stranger.bucket_leaves.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(matches!(stranger.verify(path, &root, size, 5), Err(ProofError::NotProvenAbsent { .. })));
    let present = good.bucket_leaves[3].path.clone();
    let mut renamed = good.clone();
    renamed.absent = present.clone();
    assert!(matches!(renamed.verify(&present, &root, size, 5), Err(ProofError::NotProvenAbsent { .. })));
    let mut short = good.clone();
    short.bucket_path.pop();
    assert!(matches!(short.verify(path, &root, size, 5), Err(ProofError::Malformed(_))));
    let mut flipped = good.clone();
    flipped.bucket_path[9].0[0] ^= 1;
    assert_eq!(flipped.verify(path, &root, size, 5), Err(ProofError::RootMismatch));
    assert!(matches!(good.verify("no/ne/other", &root, size, 5), Err(ProofError::WrongPath { .. })));
    assert!(matches!(good.verify(path, &root, size + 1, 5), Err(ProofError::TreeSize { .. })));
}

#[test]
fn malformed_wire_proofs_do_not_parse() {
    let v = crowded();
    let mut gap = v.proofs[0].clone();
    let hash = gap["merkle_path"]["0"].clone();
    gap["merkle_path"].as_object_mut().expect("map").remove("0");
    gap["merkle_path"]["30"] = hash;
    let error = serde_json::from_value::<InclusionProof>(gap).expect_err("gap").to_string();
    assert!(error.contains("merkle_path keys must be"), "gap: {error}");
    let mut bad_dir = v.proofs[0].clone();
    bad_dir["path_directions"]["0"] = "left".into();
    let error = serde_json::from_value::<InclusionProof>(bad_dir).expect_err("bad_dir").to_string();
    assert!(error.contains("unknown variant `left`"), "bad_dir: {error}");
    let mut extra = v.proofs[0].clone();
    extra["surprise"] = 1.into();
    let error = serde_json::from_value::<InclusionProof>(extra).expect_err("extra").to_string();
    assert!(error.contains("unknown field `surprise`"), "extra: {error}");
    let text = serde_json::to_string(&v.proofs[0]).expect("json");
    let first = v.proofs[0]["merkle_path"]["0"].as_str().expect("hex");
    let repeated = text.replacen("\"merkle_path\":{", &format!("\"merkle_path\":{{\"0\":\"{first}\","), 1);
    assert_ne!(repeated, text);
    let error = serde_json::from_str::<InclusionProof>(&repeated).expect_err("a repeated key in merkle_path");
    assert!(error.to_string().contains("\"0\" appears twice"), "{error}");
    let mut long = v.proofs[0].clone();
    for i in long["merkle_path"].as_object().expect("map").len()..65 {
        long["merkle_path"][i.to_string()] = first.into();
        long["path_directions"][i.to_string()] = "R".into();
    }
    let error = serde_json::from_value::<InclusionProof>(long).expect_err("long (65 levels)").to_string();
    assert!(error.contains("exceed 64"), "long: {error}");
    let mut old = v.proofs[0].clone();
    old["leaf_index"] = 0.into();
    let error =
        serde_json::from_value::<InclusionProof>(old).expect_err("old (the old format with leaf_index)").to_string();
    assert!(error.contains("unknown field `leaf_index`"), "old: {error}");
}

#[derive(Deserialize)]
struct SslibVectors {
    canonical: Vec<CanonicalCase>,
    signatures: Vec<SignatureCase>,
}

#[derive(Deserialize)]
struct CanonicalCase {
    value: serde_json::Value,
    canonical_base64: String,
}

#[derive(Deserialize)]
struct SignatureCase {
    key: tufmirror_core::key::KeyObject,
    keyid: String,
    message_base64: String,
    sig: String,
}

fn sslib() -> SslibVectors {
    serde_json::from_slice(include_bytes!("data/securesystemslib_vectors.json")).expect("vectors parse")
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).expect("base64")
}

#[test]
fn canonical_json_is_byte_identical_to_securesystemslib() {
    for case in sslib().canonical {
        let ours = tufmirror_core::cjson::to_vec_value(&case.value).expect("canonical");
        assert_eq!(ours, b64(&case.canonical_base64), "{}", case.value);
    }
}

#[test]
fn key_ids_and_signatures_of_securesystemslib_keys_verify() {
    let cases = sslib().signatures;
    for scheme in ["ecdsa-sha2-nistp256", "ed25519", "rsassa-pss-sha256", "rsa-pkcs1v15-sha256"] {
        assert!(cases.iter().any(|c| c.key.scheme == scheme), "a {scheme} case");
    }
    for case in cases {
        assert_eq!(case.key.key_id().0, case.keyid, "key id of {}", case.key.scheme);
        let key = tufmirror_core::key::VerifyingKey::from_key_object(&case.key).expect("supported key");
        let msg = b64(&case.message_base64);
        let sig = hex::decode(&case.sig).expect("hex");
        key.verify(&msg, &sig).unwrap_or_else(|e| panic!("{}: {e}", case.key.scheme));
        let other = key.verify(b"other", &sig);
        assert!(matches!(other, Err(KeyError::BadSignature { .. })), "{}: {other:?}", case.key.scheme);
        // Our own key object for the same key has the same id (PEM written identically).
        assert_eq!(key.to_key_object().key_id().0, case.keyid, "re-encoded key id of {}", case.key.scheme);
    }
}

/// The worked example and constants of docs/POUF.md 1.4, so that the text stays true.
#[test]
fn the_pouf_examples_hold() {
    let leaf = Leaf::of("1/a", b"hello\n");
    assert_eq!(
        leaf.contents_bytes(),
        br#"{"length":6,"path":"1/a","sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}"#
    );
    assert_eq!(leaf.hash().to_hex(), "8905f89984c60601dfaf99a725a2cf474a03214ab8c06b1b36381ae6a442c15d");
    assert_eq!(bucket_of("1/a"), 48925);
    assert_eq!(bucket_of("se/rd/serde"), 10763);
    let tree = MerkleTree::build(vec![leaf]).expect("tree");
    assert_eq!(tree.root().to_hex(), "46d2b42ea53119552c94cebad62c73ee924090d4b431ab9efedcf2462fe983cc");
    let empty = MerkleTree::build(Vec::new()).expect("empty tree");
    assert_eq!(empty.root().to_hex(), "03f0e06610687f70ab58d0e39ae4abb846a5ad17ec789db9d910d27f0ec52ba3");
}

/// docs/POUF.md 1.1: a repeated key in a proof, a leaf, a leaf list or a diff is refused.
#[test]
fn repeated_keys_are_refused_in_proofs_leaves_and_lists() {
    let hex = "00".repeat(32);
    let leaf = format!(r#"{{"length":1,"path":"1/a","sha256":"{hex}","length":2}}"#);
    assert!(serde_json::from_str::<Leaf>(&leaf).is_err_and(|e| e.to_string().contains("duplicate field")));
    let list = format!(r#"{{"leaves":[],"merkle_root":"{hex}","snapshot_version":1,"tree_size":0,"tree_size":1}}"#);
    let parsed = serde_json::from_str::<tufmirror_core::diff::LeafList>(&list);
    assert!(parsed.is_err_and(|e| e.to_string().contains("duplicate field")));
    let absent = r#"{"absent":"1/a","snapshot_version":1,"snapshot_version":2,"tree_size":0,"bucket_leaves":[],"bucket_path":[]}"#;
    assert!(
        serde_json::from_str::<NonInclusionProof>(absent).is_err_and(|e| e.to_string().contains("duplicate field"))
    );
}
