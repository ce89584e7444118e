//! Threshold, expiry, version and root-rotation rules of tufmirror-core.

use ed25519_dalek::{Signer as _, SigningKey};
use std::collections::BTreeMap;
use tufmirror_core::metadata::{MetaFile, Role, RoleKeys, Root, SPEC_VERSION, Signed, Targets, Timestamp};
use tufmirror_core::time::{self, DateTime};
use tufmirror_core::verify::{self, RoleVerifier, VerifyError};
use tufmirror_core::{KeyId, PublicKey};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn id(k: &SigningKey) -> KeyId {
    PublicKey::Ed25519(k.verifying_key()).key_id()
}

fn now() -> DateTime {
    time::parse("2030-06-01T00:00:00Z").expect("time")
}

/// A root whose role `root` uses `root_keys` with `threshold`, other roles key 100.
fn root(version: u64, root_keys: &[&SigningKey], threshold: u64) -> Root {
    let online = key(100);
    let mut keys = BTreeMap::new();
    for k in root_keys.iter().copied().chain([&online]) {
        let public = PublicKey::Ed25519(k.verifying_key());
        keys.insert(public.key_id(), public.to_key_object());
    }
    let mut roles = BTreeMap::new();
    roles.insert(
        "root".into(),
        RoleKeys { keyids: root_keys.iter().map(|k| id(k)).collect(), threshold, unknown: BTreeMap::new() },
    );
    for r in Role::ONLINE {
        roles.insert(r.name().into(), RoleKeys { keyids: vec![id(&online)], threshold: 1, unknown: BTreeMap::new() });
    }
    Root {
        kind: Role::Root,
        spec_version: SPEC_VERSION.into(),
        version,
        expires: time::in_days(now(), 365),
        consistent_snapshot: true,
        keys,
        roles,
        unknown: BTreeMap::new(),
    }
}

fn sign<T: tufmirror_core::metadata::Metadata>(meta: T, signers: &[&SigningKey]) -> Vec<u8> {
    let mut signed = Signed::unsigned(meta);
    let bytes = signed.signed_bytes().expect("canonical");
    for k in signers {
        signed.add_signature(id(k), &k.sign(&bytes).to_bytes());
    }
    signed.to_bytes().expect("bytes")
}

fn timestamp(version: u64, expires: DateTime) -> Timestamp {
    Timestamp {
        kind: Role::Timestamp,
        spec_version: SPEC_VERSION.into(),
        version,
        expires,
        meta: BTreeMap::from([(
            "snapshot.json".into(),
            MetaFile { version: 1, length: None, hashes: None, unknown: BTreeMap::new() },
        )]),
        merkle_root: None,
        merkle_tree_size: None,
        unknown: BTreeMap::new(),
    }
}

#[test]
fn thresholds_count_distinct_listed_keys() {
    let (a, b, c, outsider) = (key(1), key(2), key(3), key(9));
    let r = root(1, &[&a, &b, &c], 2);
    let v = RoleVerifier::from_root(&r, Role::Root).expect("verifier");
    let check = |signers: &[&SigningKey]| {
        let bytes = sign(r.clone(), signers);
        verify::parse_verified::<Root>(&bytes, &v).map(|_| ())
    };
    assert_eq!(check(&[&a, &b]), Ok(()));
    assert_eq!(check(&[&a]), Err(VerifyError::Threshold { role: Role::Root, valid: 1, threshold: 2 }));
    assert_eq!(
        check(&[&a, &outsider]),
        Err(VerifyError::Threshold { role: Role::Root, valid: 1, threshold: 2 }),
        "a key that root does not list does not count"
    );

    // The same key twice counts once.
    let mut signed = Signed::unsigned(r.clone());
    let bytes = signed.signed_bytes().expect("canonical");
    let sig = a.sign(&bytes).to_bytes();
    signed.add_signature(id(&a), &sig);
    signed.signatures.push(signed.signatures[0].clone());
    assert_eq!(
        verify::parse_verified::<Root>(&signed.to_bytes().expect("bytes"), &v).map(|_| ()),
        Err(VerifyError::Threshold { role: Role::Root, valid: 1, threshold: 2 })
    );
}

#[test]
fn any_changed_signed_byte_breaks_the_signature() {
    let online = key(100);
    let r = root(1, &[&key(1)], 1);
    let v = RoleVerifier::from_root(&r, Role::Timestamp).expect("verifier");
    let bytes = sign(timestamp(7, time::in_days(now(), 1)), &[&online]);
    assert!(verify::parse_verified::<Timestamp>(&bytes, &v).is_ok());
    let text = String::from_utf8(bytes).expect("utf-8");
    let tampered = text.replace("\"version\":7", "\"version\":8");
    assert_ne!(tampered, text);
    assert!(matches!(verify::parse_verified::<Timestamp>(tampered.as_bytes(), &v), Err(VerifyError::Threshold { .. })));
    // An added unknown field is signed too.
    let tampered = text.replace("\"_type\":\"timestamp\"", "\"_type\":\"timestamp\",\"x\":1");
    assert!(matches!(
        verify::parse_verified::<Timestamp>(tampered.as_bytes(), &v),
        Err(VerifyError::Threshold { valid: 0, .. })
    ));
    // A root presented as a timestamp is refused by type.
    let root_bytes = sign(r.clone(), &[&key(1)]);
    assert!(matches!(verify::parse_verified::<Timestamp>(&root_bytes, &v), Err(VerifyError::WrongType { .. })));
}

#[test]
fn expiry_and_rollback_rules() {
    let fresh = timestamp(3, time::in_days(now(), 1));
    assert_eq!(verify::check_not_expired(&fresh, now()), Ok(()));
    let stale = timestamp(3, now());
    assert!(matches!(verify::check_not_expired(&stale, now()), Err(VerifyError::Expired { .. })));
    assert_eq!(verify::check_not_rolled_back(Role::Timestamp, 3, 3), Ok(()));
    assert!(matches!(verify::check_not_rolled_back(Role::Timestamp, 4, 3), Err(VerifyError::Rollback { .. })));
}

#[test]
fn root_rotation_needs_old_and_new_thresholds_and_the_next_version() {
    let (a, b, c, d) = (key(1), key(2), key(3), key(4));
    let v1 = root(1, &[&a, &b, &c], 2);
    // v2 replaces c by d, threshold 2 of {a, b, d}.
    let v2 = root(2, &[&a, &b, &d], 2);
    assert!(verify::verify_root_update(&v1, &sign(v2.clone(), &[&a, &b])).is_ok());
    // Meets v1's threshold (a, c) but not its own (c is not in v2): refused.
    assert!(matches!(
        verify::verify_root_update(&v1, &sign(v2.clone(), &[&a, &c])),
        Err(VerifyError::Threshold { valid: 1, .. })
    ));
    // Signed only by new keys: refused by v1's threshold.
    assert!(matches!(
        verify::verify_root_update(&v1, &sign(root(2, &[&d], 1), &[&d])),
        Err(VerifyError::Threshold { role: Role::Root, valid: 0, threshold: 2 })
    ));
    // Skipping a version is refused.
    assert!(matches!(
        verify::verify_root_update(&v1, &sign(root(3, &[&a, &b, &c], 2), &[&a, &b])),
        Err(VerifyError::UnexpectedVersion { expected: 2, found: 3, .. })
    ));
}

#[test]
fn zero_threshold_is_refused() {
    let r = root(1, &[&key(1)], 0);
    assert!(matches!(RoleVerifier::from_root(&r, Role::Root), Err(VerifyError::ZeroThreshold { .. })));
}

/// Targets metadata whose `signed` is `signed`, signed by `k` over its canonical JSON (built from
/// a JSON value, so that it can hold what the typed structs cannot).
fn sign_value(signed: serde_json::Value, k: &SigningKey) -> Vec<u8> {
    let bytes = tufmirror_core::cjson::to_vec_value(&signed).expect("canonical");
    let sig = hex::encode(k.sign(&bytes).to_bytes());
    serde_json::to_vec(&serde_json::json!({"signed": signed, "signatures": [{"keyid": id(k).0, "sig": sig}]}))
        .expect("json")
}

#[test]
fn a_removal_record_with_another_member_is_refused_even_when_signed() {
    // docs/POUF.md 1.6: a record has exactly path, snapshot_version and reason.
    let online = key(100);
    let verifier = RoleVerifier::from_root(&root(1, &[&key(1)], 1), Role::Targets).expect("verifier");
    let targets = |record: serde_json::Value| {
        serde_json::json!({
            "_type": "targets", "spec_version": SPEC_VERSION, "version": 3, "expires": "2030-09-01T00:00:00Z",
            "targets": {}, "x-tufmirror-removals": [record],
        })
    };
    let plain = serde_json::json!({"path": "ab/cd/abcd", "reason": "gone", "snapshot_version": 3});
    let parsed = verify::parse_verified::<Targets>(&sign_value(targets(plain), &online), &verifier).expect("valid");
    assert_eq!(parsed.signed.removals[0].path, "ab/cd/abcd");

    let extended = serde_json::json!({"path": "ab/cd/abcd", "reason": "gone", "snapshot_version": 3, "also": "x"});
    match verify::parse_verified::<Targets>(&sign_value(targets(extended), &online), &verifier) {
        Err(VerifyError::Malformed { role: Role::Targets, reason }) => {
            assert!(reason.contains("unknown field `also`"), "{reason}");
        }
        other => panic!("expected the record to be refused, got {other:?}"),
    }
}
