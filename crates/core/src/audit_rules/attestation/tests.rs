use super::*;
use crate::PublicKey;
use crate::metadata::{MetaFile, Role, RoleKeys};
use ed25519_dalek::{Signer as _, SigningKey};
use std::collections::BTreeMap;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn id(k: &SigningKey) -> KeyId {
    PublicKey::Ed25519(k.verifying_key()).key_id()
}

fn expires() -> time::OffsetDateTime {
    crate::time::parse("2030-01-01T00:00:00Z").expect("time")
}

/// A root whose four roles use key 1 and which declares `auditors` (seeds) with `threshold`.
fn root(auditors: &[u8], threshold: u64) -> Root {
    let mut keys = BTreeMap::new();
    let online = key(1);
    keys.insert(id(&online), PublicKey::Ed25519(online.verifying_key()).to_key_object());
    let roles = Role::ALL
        .iter()
        .map(|r| (r.name().to_owned(), RoleKeys { keyids: vec![id(&online)], threshold: 1, unknown: BTreeMap::new() }))
        .collect();
    let mut root = Root {
        kind: Role::Root,
        spec_version: "1.0.31".into(),
        version: 3,
        expires: expires(),
        consistent_snapshot: true,
        keys,
        roles,
        unknown: BTreeMap::new(),
    };
    let mut keyids = Vec::new();
    for seed in auditors {
        let k = key(*seed);
        root.keys.insert(id(&k), PublicKey::Ed25519(k.verifying_key()).to_key_object());
        keyids.push(id(&k));
    }
    if !auditors.is_empty() {
        Auditors::set(&mut root, Some(&Auditors { keyids, threshold }));
    }
    root
}

fn timestamp(version: u64, snapshot: u64, root: Sha256Hash, size: u64) -> Timestamp {
    Timestamp {
        kind: Role::Timestamp,
        spec_version: "1.0.31".into(),
        version,
        expires: expires(),
        meta: BTreeMap::from([("snapshot.json".to_owned(), MetaFile::pinning(snapshot, b"snapshot"))]),
        merkle_root: Some(root),
        merkle_tree_size: Some(size),
        unknown: BTreeMap::new(),
    }
}

fn attest(a: &Attestation, keys: &[u8]) -> Vec<u8> {
    let bytes = a.signed_bytes();
    let signatures = keys
        .iter()
        .map(|seed| Signature {
            keyid: id(&key(*seed)),
            sig: hex::encode(key(*seed).sign(&bytes).to_bytes()),
            unknown: BTreeMap::new(),
        })
        .collect();
    SignedAttestation { signed: a.clone(), signatures }.to_bytes()
}

const R: Sha256Hash = Sha256Hash([7; 32]);

#[test]
fn a_covering_attestation_by_a_declared_auditor_is_accepted() {
    let root = root(&[10], 1);
    let ts = timestamp(9, 7, R, 191);
    let bytes = attest(&Attestation::new(7, R, 191, 9), &[10]);
    let attested = check_attestations(&root, &ts, &[&bytes]).expect("attested");
    assert_eq!(attested, Attested { snapshot_version: 7, timestamp_version: 9, keyids: vec![id(&key(10))] });
    // An older timestamp of the same snapshot is covered too (a client that has not refreshed).
    check_attestations(&root, &timestamp(8, 7, R, 191), &[&bytes]).expect("older timestamp");
}

#[test]
fn refuses_what_the_auditor_did_not_check() {
    let root = root(&[10], 1);
    let bytes = attest(&Attestation::new(7, R, 191, 9), &[10]);
    let refused = |ts: &Timestamp| check_attestations(&root, ts, &[&bytes]).expect_err("refused");
    for (ts, what) in [
        (timestamp(10, 7, R, 191), "not audited yet"),
        (timestamp(9, 8, R, 191), "names snapshot 8"),
        (timestamp(9, 7, Sha256Hash([8; 32]), 191), "another root"),
        (timestamp(9, 7, R, 190), "another root or size"),
    ] {
        let e = refused(&ts);
        assert!(matches!(&e, AttestationError::NotCovered { reason } if reason.contains(what)), "{what}: {e}");
    }
}

#[test]
fn refuses_keys_root_does_not_declare_and_counts_distinct_auditors() {
    let ts = timestamp(9, 7, R, 191);
    let a = Attestation::new(7, R, 191, 9);
    // Signed by the online key: not an auditor.
    let e = check_attestations(&root(&[10], 1), &ts, &[&attest(&a, &[1])]).expect_err("not an auditor");
    assert_eq!(e, AttestationError::Threshold { valid: 0, threshold: 1 });
    // Two of three: one envelope with both, or two envelopes (pooled), but not one key twice.
    let root = root(&[10, 11, 12], 2);
    assert!(check_attestations(&root, &ts, &[&attest(&a, &[10, 12])]).is_ok());
    assert!(check_attestations(&root, &ts, &[&attest(&a, &[10]), &attest(&a, &[11])]).is_ok());
    let twice = check_attestations(&root, &ts, &[&attest(&a, &[10]), &attest(&a, &[10])]);
    assert_eq!(twice.expect_err("one key"), AttestationError::Threshold { valid: 1, threshold: 2 });
    // A tampered signed part no longer verifies.
    let mut forged: Value = serde_json::from_slice(&attest(&a, &[10, 11])).expect("json");
    forged["signed"]["timestamp_version"] = 99.into();
    let forged = serde_json::to_vec(&forged).expect("json");
    let e = check_attestations(&root, &timestamp(50, 7, R, 191), &[&forged]).expect_err("forged");
    assert_eq!(e, AttestationError::Threshold { valid: 0, threshold: 2 });
}

#[test]
fn without_auditors_in_root_nothing_is_attested() {
    let ts = timestamp(9, 7, R, 191);
    let bytes = attest(&Attestation::new(7, R, 191, 9), &[10]);
    assert_eq!(
        check_attestations(&root(&[], 1), &ts, &[&bytes]).expect_err("none"),
        AttestationError::NoAuditors { root_version: 3 }
    );
    assert_eq!(
        check_attestations(&root(&[10], 1), &ts, &[]).expect_err("none given"),
        AttestationError::NoAttestation { snapshot_version: 7 }
    );
    let mut bad = root(&[10], 1);
    bad.unknown.insert(AUDITORS_FIELD.into(), serde_json::json!({"keyids": [], "threshold": 1}));
    assert!(matches!(Auditors::of(&bad), Err(AttestationError::BadAuditors { .. })));
    let e = check_attestations(&root(&[10], 1), &ts, &[b"{}"]).expect_err("malformed");
    assert!(matches!(e, AttestationError::Malformed { .. }), "{e}");
}
