//! Root, timestamp, snapshot and top-level targets: the client workflow's rules in order.

use crate::sim::{Sim, in_days, key, now, sign};
use tufmirror_core::trusted::{Origin, TimestampUpdate, TrustError, TrustedSet};

/// A set that trusts `sim`'s current root.
fn trusting(sim: &Sim) -> TrustedSet {
    TrustedSet::new(&sim.bytes("root"), now()).expect("root verifies")
}

/// A set that has loaded `sim`'s current timestamp, snapshot and targets.
fn refreshed(sim: &Sim) -> TrustedSet {
    let mut set = trusting(sim);
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).expect("snapshot");
    set.update_targets(&sim.bytes("targets")).expect("targets");
    set
}

#[test]
fn the_initial_root_must_be_signed_by_its_own_root_keys() {
    let sim = Sim::new();
    assert!(TrustedSet::new(&sim.bytes("root"), now()).is_ok());
    let unsigned = sign(&sim.root, &[&key(9)]);
    assert!(matches!(TrustedSet::new(&unsigned, now()), Err(TrustError::Threshold { valid: 0, .. })));
    let mut text: serde_json::Value = serde_json::from_slice(&sim.bytes("root")).expect("json");
    text["signed"].as_object_mut().expect("object").remove("version");
    assert!(matches!(TrustedSet::new(text.to_string().as_bytes(), now()), Err(TrustError::Malformed { .. })));
    // An expired root still bootstraps: only the final root must be current.
    let mut old = Sim::new();
    old.root.expires = in_days(-1);
    old.publish("root");
    let set = TrustedSet::new(&old.bytes("root"), now()).expect("expired root loads");
    assert!(matches!(set.check_final_root(), Err(TrustError::Expired { .. })));
}

#[test]
fn a_new_root_needs_both_thresholds_and_the_next_version() {
    let mut sim = Sim::new();
    let mut set = trusting(&sim);
    // v2 replaces the root key 1 by 11: signed by both, it is accepted.
    sim.rotate("root", vec![key(11)]);
    sim.signers.insert("root".into(), vec![key(1), key(11)]);
    set.update_root(&sim.publish("root")).expect("v2");
    // v3 signed only by the new key of v3 (12), not by v2's key 11: refused.
    sim.rotate("root", vec![key(12)]);
    assert!(matches!(set.update_root(&sim.publish("root")), Err(TrustError::Threshold { .. })));
    // v3 signed by v2's key only: refused by its own threshold.
    sim.signers.insert("root".into(), vec![key(11)]);
    sim.root.version -= 1;
    assert!(matches!(set.update_root(&sim.publish("root")), Err(TrustError::Threshold { .. })));
    // Version 4 where 3 is expected: refused, even when well signed.
    sim.signers.insert("root".into(), vec![key(11), key(12)]);
    sim.root.version = 3;
    assert!(matches!(
        set.update_root(&sim.publish("root")),
        Err(TrustError::UnexpectedVersion { expected: 3, found: 4, .. })
    ));
    assert_eq!(set.root().version, 2);
    // An expired intermediate root is fine; the final one is checked separately.
    sim.root.version = 2;
    sim.root.expires = in_days(-1);
    set.update_root(&sim.publish("root")).expect("expired v3 loads");
    assert!(set.check_final_root().is_err());
    assert!(matches!(set.update_timestamp(&sim.bytes("timestamp")), Err(TrustError::Expired { .. })));
}

#[test]
fn rotating_timestamp_or_snapshot_keys_asks_for_a_fast_forward_reset() {
    let mut sim = Sim::new();
    let mut set = trusting(&sim);
    sim.root.unknown.insert("x-note".into(), serde_json::json!("unrelated"));
    set.update_root(&sim.publish("root")).expect("v2");
    assert!(!set.fast_forward_reset(), "a root change that keeps the keys");
    sim.rotate("targets", vec![key(21)]);
    set.update_root(&sim.publish("root")).expect("v3");
    assert!(!set.fast_forward_reset(), "targets keys are not part of it");
    sim.rotate("snapshot", vec![key(22)]);
    set.update_root(&sim.publish("root")).expect("v4");
    assert!(set.fast_forward_reset());

    // After a reset, a snapshot rolled back far below the old one is accepted.
    let mut sim = Sim::new();
    for _ in 0..5 {
        sim.publish("snapshot");
    }
    sim.publish("timestamp");
    let before = refreshed(&sim);
    assert_eq!(before.snapshot().map(|s| s.version), Some(6));
    sim.rotate("snapshot", vec![key(30)]);
    sim.rotate("timestamp", vec![key(31)]);
    sim.snapshot.version = 0;
    for role in ["root", "snapshot", "timestamp"] {
        sim.publish(role);
    }
    let mut set = TrustedSet::new(&Sim::new().bytes("root"), now()).expect("v1");
    set.update_root(&sim.bytes("root")).expect("v2");
    assert!(set.fast_forward_reset());
    set.update_timestamp(&sim.bytes("timestamp")).expect("fresh timestamp");
    assert_eq!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).map(|s| s.version), Ok(1));
}

#[test]
fn timestamps_never_go_back_and_an_equal_version_keeps_the_trusted_one() {
    let mut sim = Sim::new();
    let mut set = trusting(&sim);
    let v1 = sim.bytes("timestamp");
    let v2 = sim.publish("timestamp");
    assert_eq!(set.update_timestamp(&v1), Ok(TimestampUpdate::Updated));
    assert_eq!(set.update_timestamp(&v2), Ok(TimestampUpdate::Updated));
    assert!(matches!(set.update_timestamp(&v1), Err(TrustError::Rollback { trusted: 2, found: 1, .. })));
    // Same version, different content (a snapshot version far ahead): the trusted one stays.
    sim.timestamp.version -= 1;
    sim.timestamp.meta.get_mut("snapshot.json").expect("meta").version = 100;
    assert_eq!(set.update_timestamp(&sim.publish("timestamp")), Ok(TimestampUpdate::Unchanged));
    assert_eq!(set.timestamp().and_then(|t| t.snapshot_version()), Some(1));
    // A newer timestamp that names an older snapshot is a rollback.
    let mut sim = Sim::new();
    sim.publish("snapshot");
    let mut set = trusting(&sim);
    set.update_timestamp(&sim.publish("timestamp")).expect("v2 names snapshot 2");
    sim.timestamp.meta.get_mut("snapshot.json").expect("meta").version = 1;
    assert!(matches!(
        set.update_timestamp(&sim.publish("timestamp")),
        Err(TrustError::Rollback { trusted: 2, found: 1, .. })
    ));
}

#[test]
fn an_expired_timestamp_guards_against_rollback_but_blocks_the_snapshot() {
    let mut sim = Sim::new();
    let mut set = trusting(&sim);
    sim.timestamp.expires = in_days(-1);
    let expired = sim.publish("timestamp");
    assert!(matches!(set.update_timestamp(&expired), Err(TrustError::Expired { .. })));
    assert_eq!(set.timestamp().map(|t| t.version), Some(2), "kept as intermediate");
    assert!(matches!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository), Err(TrustError::Expired { .. })));
    // Version 1 is a rollback against the intermediate version 2; a current version 3 is fine.
    assert!(matches!(set.update_timestamp(&Sim::new().bytes("timestamp")), Err(TrustError::Rollback { .. })));
    sim.timestamp.expires = in_days(1);
    assert_eq!(set.update_timestamp(&sim.publish("timestamp")), Ok(TimestampUpdate::Updated));
    assert!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).is_ok());
}

#[test]
fn wrong_type_duplicate_signatures_and_thresholds_are_refused() {
    let sim = Sim::new();
    let mut set = trusting(&sim);
    // A snapshot offered as the timestamp, even one that the timestamp key signed.
    let snapshot_by_timestamp_key = sign(&sim.snapshot, &sim.keys("timestamp"));
    assert!(matches!(set.update_timestamp(&snapshot_by_timestamp_key), Err(TrustError::WrongType { .. })));
    // The same key's signature twice: refused outright.
    let mut doubled: serde_json::Value = serde_json::from_slice(&sim.bytes("timestamp")).expect("json");
    let first = doubled["signatures"][0].clone();
    doubled["signatures"].as_array_mut().expect("array").push(first);
    assert!(matches!(set.update_timestamp(doubled.to_string().as_bytes()), Err(TrustError::DuplicateSignature { .. })));
    // Threshold 2 of {timestamp key, key 40}, signed by one: refused; by both: accepted, even with
    // a third, invalid signature beside them.
    let mut sim2 = Sim::new();
    sim2.rotate("timestamp", vec![key(3), key(40)]);
    sim2.root.roles.get_mut("timestamp").expect("role").threshold = 2;
    set.update_root(&sim2.publish("root")).expect("v2");
    sim2.signers.insert("timestamp".into(), vec![key(3)]);
    assert!(matches!(
        set.update_timestamp(&sim2.publish("timestamp")),
        Err(TrustError::Threshold { valid: 1, threshold: 2, .. })
    ));
    sim2.signers.insert("timestamp".into(), vec![key(3), key(40), key(41)]);
    let mut with_garbage: serde_json::Value = serde_json::from_slice(&sim2.publish("timestamp")).expect("json");
    for s in with_garbage["signatures"].as_array_mut().expect("array") {
        if s["keyid"] == serde_json::json!(crate::sim::id(&key(41)).0) {
            s["sig"] = serde_json::json!("");
        }
    }
    assert!(set.update_timestamp(with_garbage.to_string().as_bytes()).is_ok());
    // A key id listed twice in root counts once toward the threshold.
    let mut sim3 = Sim::new();
    let k = key(50);
    sim3.rotate("snapshot", vec![k.clone(), k.clone()]);
    sim3.root.roles.get_mut("snapshot").expect("role").threshold = 2;
    sim3.publish("root");
    sim3.publish("snapshot");
    sim3.publish("timestamp");
    let mut set = trusting(&sim3);
    set.update_timestamp(&sim3.bytes("timestamp")).expect("timestamp");
    assert!(matches!(
        set.update_snapshot(&sim3.bytes("snapshot"), Origin::Repository),
        Err(TrustError::Threshold { valid: 1, threshold: 2, .. })
    ));
}

#[test]
fn snapshots_match_the_timestamp_and_never_drop_or_roll_back_targets() {
    let sim = Sim::new();
    let mut set = trusting(&sim);
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    // Bytes that differ from what the timestamp pins: refused when downloaded...
    let mut other = sim.snapshot.clone();
    other.unknown.insert("x".into(), serde_json::json!(1));
    let other = sign(&other, &sim.keys("snapshot"));
    assert!(matches!(set.update_snapshot(&other, Origin::Repository), Err(TrustError::Digest { .. })));
    // ...but the client's own copy is taken without the hash check (and it is the right version).
    assert!(set.update_snapshot(&other, Origin::Cache).is_ok());

    // A snapshot of another version than the timestamp names is intermediate: kept, but it
    // blocks targets.
    let mut sim = Sim::new();
    let mut set = trusting(&sim);
    sim.publish("snapshot");
    set.update_timestamp(&sim.publish("timestamp")).expect("timestamp names 2");
    let v1 = sign(&{ Sim::new().snapshot }, &sim.keys("snapshot"));
    assert!(matches!(set.update_snapshot(&v1, Origin::Cache), Err(TrustError::UnexpectedVersion { .. })));
    assert!(matches!(set.update_targets(&sim.bytes("targets")), Err(TrustError::UnexpectedVersion { .. })));
    assert!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).is_ok());

    // Rollback of a targets version, and removal of a targets file, against the trusted snapshot
    // (the client's stored copy, loaded as intermediate before the new one).
    let mut sim = Sim::new();
    sim.delegate("targets", "A", &["*"], false, key(60));
    for role in ["A", "targets", "snapshot", "timestamp"] {
        sim.publish(role);
    }
    let (trusted_timestamp, trusted_snapshot) = (sim.bytes("timestamp"), sim.bytes("snapshot"));
    let attempt = |change: &dyn Fn(&mut Sim)| {
        let mut bad = sim.clone();
        change(&mut bad);
        bad.publish("snapshot");
        bad.publish("timestamp");
        let mut set = trusting(&sim);
        set.update_timestamp(&trusted_timestamp).expect("stored timestamp");
        set.update_timestamp(&bad.bytes("timestamp")).expect("new timestamp");
        assert!(set.update_snapshot(&trusted_snapshot, Origin::Cache).is_err(), "intermediate: not the named version");
        set.update_snapshot(&bad.bytes("snapshot"), Origin::Repository).map(|_| ())
    };
    let rollback = attempt(&|s: &mut Sim| s.snapshot.meta.get_mut("targets.json").expect("meta").version = 1);
    assert!(matches!(rollback, Err(TrustError::Rollback { ref role, trusted: 2, found: 1 }) if role == "targets.json"));
    let removal = attempt(&|s: &mut Sim| {
        s.snapshot.meta.remove("A.json");
    });
    assert!(matches!(removal, Err(TrustError::MetaRemoved { ref file }) if file == "A.json"));
    assert_eq!(attempt(&|_: &mut Sim| {}), Ok(()), "the same files at the same versions are fine");
    // An expired snapshot is refused (and blocks targets).
    let mut sim = Sim::new();
    sim.snapshot.expires = in_days(-1);
    sim.publish("snapshot");
    sim.publish("timestamp");
    let mut set = trusting(&sim);
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    assert!(matches!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository), Err(TrustError::Expired { .. })));
    assert!(matches!(set.update_targets(&sim.bytes("targets")), Err(TrustError::Expired { .. })));
}

#[test]
fn targets_must_be_what_the_snapshot_names_mix_and_match_refused() {
    let mut sim = Sim::new();
    let targets_v1 = sim.bytes("targets");
    sim.add_target("targets", "a.txt", b"a");
    let targets_v2 = sim.publish("targets");
    sim.publish("snapshot");
    sim.publish("timestamp");
    let mut set = trusting(&sim);
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).expect("snapshot");
    // Version 1 is well signed but not what snapshot 2 pins.
    assert!(matches!(set.update_targets(&targets_v1), Err(TrustError::Digest { .. })));
    // Signed by the wrong key.
    let forged = sign(&sim.targets["targets"], &[&key(70)]);
    assert!(matches!(set.update_targets(&forged), Err(TrustError::Digest { .. })), "pinned by hash first");
    assert!(set.update_targets(&targets_v2).is_ok());
    assert!(set.targets().is_some_and(|t| t.targets.contains_key("a.txt")));
    // Without hashes in the snapshot, the version and the signature decide.
    let mut sim = Sim::new();
    sim.publish("targets");
    sim.snapshot.meta.get_mut("targets.json").expect("meta").hashes = None;
    sim.snapshot.meta.get_mut("targets.json").expect("meta").length = None;
    sim.publish("snapshot");
    sim.publish("timestamp");
    let mut set = trusting(&sim);
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).expect("snapshot");
    assert!(matches!(
        set.update_targets(&targets_v1),
        Err(TrustError::UnexpectedVersion { expected: 2, found: 1, .. })
    ));
    let forged = sign(&sim.targets["targets"], &[&key(70)]);
    assert!(matches!(set.update_targets(&forged), Err(TrustError::Threshold { .. })));
    sim.targets.get_mut("targets").expect("targets").expires = in_days(-1);
    let expired = sign(&sim.targets["targets"], &sim.keys("targets"));
    assert!(matches!(set.update_targets(&expired), Err(TrustError::Expired { .. })));
    assert!(set.update_targets(&sim.bytes("targets")).is_ok());
    // Nothing goes back once targets are loaded.
    assert!(matches!(set.update_snapshot(&sim.bytes("snapshot"), Origin::Cache), Err(TrustError::OutOfOrder { .. })));
    assert!(matches!(set.update_root(&sim.bytes("root")), Err(TrustError::OutOfOrder { .. })));
}
