//! Root version 1, edits, key id prefixes and online key rotation.

use super::*;
use tufmirror_core::KeyId;

#[test]
fn initial_root_follows_the_rules() {
    let k = keys();
    let root = v1(&k);
    assert_eq!(root.version, 1);
    assert!(root.consistent_snapshot);
    assert_eq!(root.keys.len(), 6);
    assert_eq!(root.roles["root"].threshold, 2);

    let online_root_key = BTreeMap::from([
        (Role::Root, spec(&[&k.root[0], &k.root[1]], 1)),
        (Role::Targets, spec(&[&k.online[0]], 1)),
        (Role::Snapshot, spec(&[&k.online[1]], 1)),
        (Role::Timestamp, spec(&[&k.root[1]], 1)),
    ]);
    let err = initial_root(&online_root_key, in_a_year()).expect_err("root key online");
    assert!(matches!(err, CeremonyError::RootKeyOnline { role: Role::Timestamp, .. }), "{err}");

    for threshold in [0, 3] {
        let mut roles = online_root_key.clone();
        roles.insert(Role::Timestamp, spec(&[&k.online[2]], 1));
        roles.insert(Role::Root, spec(&[&k.root[0], &k.root[1]], threshold));
        let err = initial_root(&roles, in_a_year()).expect_err("bad threshold");
        assert!(
            matches!(err, CeremonyError::BadThreshold { role: Role::Root, keys: 2, threshold: t } if t == threshold),
            "{err}"
        );
    }
    let mut roles = online_root_key.clone();
    roles.remove(&Role::Timestamp);
    let err = initial_root(&roles, in_a_year()).expect_err("empty role");
    assert!(matches!(err, CeremonyError::EmptyRole { role: Role::Timestamp }), "{err}");
    roles.insert(Role::Timestamp, spec(&[&k.online[2], &k.online[2]], 1));
    let err = initial_root(&roles, in_a_year()).expect_err("duplicate");
    assert!(matches!(err, CeremonyError::DuplicateKey { role: Role::Timestamp, .. }), "{err}");
}

#[test]
fn edits_prune_unused_keys_and_are_validated() {
    let k = keys();
    let root = v1(&k);
    let gone = k.root[2].key_id();
    let edited = apply_edits(
        &next_version(&root, in_a_year()),
        &[
            Edit::RemoveKey { role: Role::Root, key_id: gone.0[..10].to_uppercase() },
            Edit::AddKey { role: Role::Root, key: k.root[3].public_key().clone() },
            Edit::SetThreshold { role: Role::Root, threshold: 3 },
        ],
    )
    .expect("edit");
    assert_eq!(edited.version, 2);
    assert!(!edited.keys.contains_key(&gone), "a key no role uses leaves `keys`");
    assert!(edited.keys.contains_key(&k.root[3].key_id()));
    assert_eq!(edited.roles["root"].threshold, 3);
    assert_eq!(edited.roles["root"].keyids.len(), 3);

    // A key another role still uses stays defined.
    let shared = apply_edits(
        &root,
        &[
            Edit::AddKey { role: Role::Snapshot, key: k.online[0].public_key().clone() },
            Edit::RemoveKey { role: Role::Targets, key_id: k.online[0].key_id().0 },
            Edit::AddKey { role: Role::Targets, key: k.online[1].public_key().clone() },
        ],
    )
    .expect("edit");
    assert!(shared.keys.contains_key(&k.online[0].key_id()));

    let err = apply_edits(
        &root,
        &[
            Edit::RemoveKey { role: Role::Root, key_id: k.root[0].key_id().0 },
            Edit::RemoveKey { role: Role::Root, key_id: k.root[1].key_id().0 },
        ],
    )
    .expect_err("threshold 2 with one key left");
    assert!(matches!(err, CeremonyError::BadThreshold { role: Role::Root, threshold: 2, keys: 1 }), "{err}");

    let err = apply_edits(&root, &[Edit::AddKey { role: Role::Timestamp, key: k.root[0].public_key().clone() }])
        .expect_err("root key online");
    assert!(matches!(err, CeremonyError::RootKeyOnline { .. }), "{err}");
    let err = apply_edits(&root, &[Edit::AddKey { role: Role::Root, key: k.root[0].public_key().clone() }])
        .expect_err("listed");
    assert!(matches!(err, CeremonyError::AlreadyListed { .. }), "{err}");
    let err = apply_edits(&root, &[Edit::RemoveKey { role: Role::Root, key_id: k.online[0].key_id().0 }])
        .expect_err("not a root key");
    assert!(matches!(err, CeremonyError::NoSuchKey { role: Role::Root, .. }), "{err}");
    let err =
        apply_edits(&root, &[Edit::RemoveKey { role: Role::Root, key_id: String::new() }]).expect_err("empty prefix");
    assert!(matches!(err, CeremonyError::NoSuchKey { .. }), "{err}");
}

#[test]
fn key_id_prefixes_must_be_unique() {
    let k = keys();
    let mut root = v1(&k);
    let entry = root.roles.get_mut("targets").expect("targets");
    entry.keyids = vec![KeyId("abc1".into()), KeyId("abc2".into()), KeyId("def".into())];
    assert_eq!(resolve_key_id(&root, Role::Targets, "ABC2").ok(), Some(KeyId("abc2".into())));
    assert_eq!(resolve_key_id(&root, Role::Targets, "d").ok(), Some(KeyId("def".into())));
    let err = resolve_key_id(&root, Role::Targets, "abc").expect_err("ambiguous");
    assert!(matches!(err, CeremonyError::AmbiguousKey { .. }), "{err}");
    assert!(err.to_string().contains("abc1, abc2"), "{err}");
}

#[test]
fn rotating_an_online_key() {
    let k = keys();
    let v1 = v1(&k);
    let new = k.root[3].public_key().clone();
    let rot = rotate_online_key(&v1, Role::Timestamp, &new, None, in_a_year()).expect("rotate");
    assert_eq!(rot.root.version, 2);
    assert_eq!(rot.root.roles["timestamp"].keyids, vec![new.key_id()]);
    assert_eq!(rot.removed, vec![k.online[2].key_id()]);
    assert!(!rot.root.keys.contains_key(&k.online[2].key_id()));
    assert_eq!(rot.root.roles["root"], v1.roles["root"]);
    assert_eq!(rot.threshold_lowered, None);

    let err = rotate_online_key(&v1, Role::Timestamp, k.online[2].public_key(), None, in_a_year())
        .expect_err("already listed");
    assert!(matches!(err, CeremonyError::AlreadyListed { .. }), "{err}");
    let err = rotate_online_key(&v1, Role::Timestamp, k.root[0].public_key(), None, in_a_year()).expect_err("root key");
    assert!(matches!(err, CeremonyError::RootKeyOnline { .. }), "{err}");
    let err = rotate_online_key(&v1, Role::Root, &new, None, in_a_year()).expect_err("root");
    assert!(matches!(err, CeremonyError::NotOnlineRole { .. }), "{err}");
    let err = rotate_online_key(&v1, Role::Timestamp, &new, Some("zz"), in_a_year()).expect_err("old");
    assert!(matches!(err, CeremonyError::NoSuchKey { .. }), "{err}");

    // Two targets keys with threshold 2: replacing one keeps 2; replacing both lowers it to 1.
    let two = apply_edits(
        &v1,
        &[
            Edit::AddKey { role: Role::Targets, key: k.online[1].public_key().clone() },
            Edit::SetThreshold { role: Role::Targets, threshold: 2 },
        ],
    )
    .expect("two targets keys");
    let one = rotate_online_key(&two, Role::Targets, &new, Some(&k.online[0].key_id().0[..8]), in_a_year())
        .expect("rotate one");
    assert_eq!(one.root.roles["targets"].keyids, vec![k.online[1].key_id(), new.key_id()]);
    assert_eq!((one.root.roles["targets"].threshold, one.threshold_lowered), (2, None));
    let all = rotate_online_key(&two, Role::Targets, &new, None, in_a_year()).expect("rotate all");
    assert_eq!((all.root.roles["targets"].threshold, all.threshold_lowered), (1, Some((2, 1))));
}

#[test]
fn expiries_are_between_a_day_and_ten_years() {
    assert_eq!(expiry_in_days(now(), 1).ok(), Some(tufmirror_core::time::in_days(now(), 1)));
    assert!(expiry_in_days(now(), MAX_EXPIRY_DAYS).is_ok());
    for days in [0, -1, MAX_EXPIRY_DAYS + 1] {
        let err = expiry_in_days(now(), days).expect_err("out of range");
        assert_eq!(err.to_string(), format!("an expiry of {days} days is outside 1..=3650"));
    }
}

#[test]
fn auditor_keys_are_declared_kept_through_edits_and_never_shared() {
    use tufmirror_core::audit_rules::Auditors;
    let k = keys();
    let root = v1(&k);
    let auditor = k.root[3].public_key().clone();
    let with = apply_edits(&next_version(&root, in_a_year()), &[Edit::AddAuditorKey(auditor.clone())]).expect("add");
    let declared = Auditors::of(&with).expect("usable").expect("declared");
    assert_eq!((declared.keyids, declared.threshold), (vec![auditor.key_id()], 1));
    assert!(with.keys.contains_key(&auditor.key_id()), "the key is defined in root's keys");
    // An unrelated edit keeps the auditor key (it is used, by the extension).
    let edited = apply_edits(&with, &[Edit::SetThreshold { role: Role::Root, threshold: 3 }]).expect("edit");
    assert!(edited.keys.contains_key(&auditor.key_id()));
    let err = apply_edits(&with, &[Edit::SetAuditorThreshold(2)]).expect_err("one auditor key");
    assert!(matches!(err, CeremonyError::AuditorDeclaration(AttestationError::BadAuditors { .. })), "{err}");
    let err = apply_edits(&with, &[Edit::AddAuditorKey(k.online[2].public_key().clone())]).expect_err("online key");
    assert!(matches!(&err, CeremonyError::BadAuditors { reason } if reason.contains("timestamp key")), "{err}");
    let without = apply_edits(&with, &[Edit::RemoveAuditorKey(auditor.key_id().0[..12].to_owned())]).expect("remove");
    assert_eq!(Auditors::of(&without).expect("usable"), None, "the declaration goes with its last key");
    assert!(!without.keys.contains_key(&auditor.key_id()));
}
