//! Signing, status and the checks before publishing.

use super::*;
use crate::keys;
use std::path::PathBuf;

#[test]
fn signatures_accumulate_to_a_threshold() {
    let k = keys();
    let mut proposal = Signed::unsigned(v1(&k));
    let st = status(&proposal, None, now()).expect("status");
    assert_eq!((st.new_root.signed.len(), st.new_root.threshold, st.new_root.missing), (0, 2, 2));
    assert!(!st.ready_to_publish && st.previous_root.is_none() && st.problems.is_empty());

    let added = sign(&mut proposal, None, &k.root[0]).expect("sign");
    assert_eq!(added, Added { key_id: k.root[0].key_id(), new_root: true, previous_root: false, replaced: false });
    let again = sign(&mut proposal, None, &k.root[0]).expect("sign twice");
    assert!(again.replaced);
    assert_eq!(proposal.signatures.len(), 1, "signing twice replaces");
    let st = status(&proposal, None, now()).expect("status");
    assert_eq!((st.new_root.signed.clone(), st.new_root.missing), (vec![k.root[0].key_id()], 1));

    let bytes = to_bytes(&proposal).expect("bytes");
    let err = check_publishable(&bytes, None, now()).expect_err("1 of 2");
    assert!(
        matches!(&err, CeremonyError::NotEnoughSignatures { valid: 1, threshold: 2, whose: "the proposal itself", .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&k.root[1].key_id().0), "names who may still sign: {err}");

    for stranger in [&k.root[3], &k.online[0]] {
        let err = sign(&mut proposal, None, stranger).expect_err("not a root key");
        assert!(matches!(err, CeremonyError::NotARootKey { version: 1, previous: None, .. }), "{err}");
    }
    // A signature that does not verify counts for nothing.
    let mut forged = proposal.clone();
    forged.add_signature(k.root[1].key_id(), &[0; 64]);
    let st = status(&forged, None, now()).expect("status");
    assert_eq!(st.new_root.missing, 1);
    assert_eq!(st.ignored_signatures.len(), 1);

    sign(&mut proposal, None, &k.root[2]).expect("sign");
    let st = status(&proposal, None, now()).expect("status");
    assert!(st.ready_to_publish, "{st:?}");
    let bytes = to_bytes(&proposal).expect("bytes");
    let published = check_publishable(&bytes, None, now()).expect("publishable");
    assert_eq!(published.signed.version, 1);
    assert!(matches!(check_publishable(&bytes, None, in_a_year()), Err(CeremonyError::Expired { .. })));
    let chain = keys::verify_root_chain(None, vec![(PathBuf::from("1.root.json"), bytes)]).expect("chain");
    assert_eq!(chain.len(), 1);

    // After an edit, old signatures show as ignored and count for nothing.
    let edited =
        apply_edits(&proposal.signed, &[Edit::SetExpires(tufmirror_core::time::in_days(now(), 30))]).expect("edit");
    let stale = Signed { signed: edited, signatures: proposal.signatures.clone() };
    let st = status(&stale, None, now()).expect("status");
    assert_eq!(st.new_root.missing, 2);
    assert_eq!(st.ignored_signatures.len(), 2);
    assert!(st.ignored_signatures[0].reason.contains("does not verify"));
}

#[test]
fn a_new_root_needs_both_thresholds() {
    let k = keys();
    let mut first = Signed::unsigned(v1(&k));
    sign(&mut first, None, &k.root[0]).expect("sign");
    sign(&mut first, None, &k.root[1]).expect("sign");
    let v1_bytes = to_bytes(&first).expect("bytes");
    let v1 = &first.signed;

    // v2 replaces root key 2 by root key 3; threshold 2 of 3 stays.
    let v2 = apply_edits(
        &next_version(v1, in_a_year()),
        &[
            Edit::RemoveKey { role: Role::Root, key_id: k.root[2].key_id().0 },
            Edit::AddKey { role: Role::Root, key: k.root[3].public_key().clone() },
        ],
    )
    .expect("v2");
    let mut proposal = Signed::unsigned(v2);
    assert!(matches!(sign(&mut proposal, None, &k.root[0]), Err(CeremonyError::PreviousRootNeeded { version: 2 })));
    // The key being rotated out still signs the rotation, for the old root only.
    let added = sign(&mut proposal, Some(v1), &k.root[2]).expect("sign");
    assert!(added.previous_root && !added.new_root);
    let added = sign(&mut proposal, Some(v1), &k.root[3]).expect("sign");
    assert!(added.new_root && !added.previous_root);
    let st = status(&proposal, Some(v1), now()).expect("status");
    let prev = st.previous_root.as_ref().expect("previous");
    assert_eq!((prev.root_version, prev.signed.len(), prev.missing), (1, 1, 1));
    assert_eq!((st.new_root.signed.len(), st.new_root.missing), (1, 1));
    let err = check_publishable(&to_bytes(&proposal).expect("bytes"), Some(v1), now()).expect_err("old threshold");
    assert!(
        matches!(err, CeremonyError::NotEnoughSignatures { whose: "the previous root", root_version: 1, .. }),
        "{err}"
    );

    // Only new keys: the new threshold is met, the old one is not.
    let mut only_new = Signed::unsigned(proposal.signed.clone());
    sign(&mut only_new, Some(v1), &k.root[3]).expect("sign");
    let err = check_publishable(&to_bytes(&only_new).expect("bytes"), Some(v1), now()).expect_err("old");
    assert!(matches!(err, CeremonyError::NotEnoughSignatures { whose: "the previous root", .. }), "{err}");

    // The removed key plus a kept one: the old threshold is met (keys 2 and 0), the new one
    // is not (key 0 only).
    let mut removed_plus_kept = Signed::unsigned(proposal.signed.clone());
    sign(&mut removed_plus_kept, Some(v1), &k.root[2]).expect("sign");
    let added = sign(&mut removed_plus_kept, Some(v1), &k.root[0]).expect("sign");
    assert!(added.new_root && added.previous_root);
    let err = check_publishable(&to_bytes(&removed_plus_kept).expect("bytes"), Some(v1), now()).expect_err("own");
    assert!(
        matches!(err, CeremonyError::NotEnoughSignatures { whose: "the proposal itself", root_version: 2, .. }),
        "{err}"
    );

    sign(&mut proposal, Some(v1), &k.root[0]).expect("sign");
    let bytes = to_bytes(&proposal).expect("bytes");
    let published = check_publishable(&bytes, Some(v1), now()).expect("both thresholds");
    assert_eq!(published.signed.version, 2);
    let chain = keys::verify_root_chain(None, vec![("1".into(), v1_bytes), ("2".into(), bytes.clone())])
        .expect("the chain verifies");
    assert_eq!(chain.len(), 2);

    // Version rules.
    let err = check_publishable(&bytes, Some(&published.signed), now()).expect_err("same version");
    assert!(matches!(err, CeremonyError::NotNextVersion { found: 2, newest: 2 }), "{err}");
    assert!(matches!(check_publishable(&bytes, None, now()), Err(CeremonyError::PreviousRootNeeded { .. })));
}

#[test]
fn expired_proposals_are_not_signed() {
    let k = keys();
    let mut proposal = Signed::unsigned(v1(&k));
    proposal.signed.expires = now();
    let err = sign(&mut proposal, None, &k.root[0]).expect_err("expired");
    assert!(matches!(err, CeremonyError::Expired { version: 1, .. }), "{err}");
    assert!(proposal.signatures.is_empty());
    assert!(status(&proposal, None, now()).expect("status").expired);
}

#[test]
fn configured_online_keys_are_compared_with_the_root() {
    let k = keys();
    let v1 = v1(&k);
    let mut configured = BTreeMap::from([
        (Role::Targets, vec![k.online[0].key_id()]),
        (Role::Snapshot, vec![k.online[1].key_id()]),
        (Role::Timestamp, vec![k.online[2].key_id()]),
    ]);
    assert_eq!(online_key_mismatches(&v1, &configured), vec![]);
    let rot = rotate_online_key(&v1, Role::Timestamp, k.root[3].public_key(), None, in_a_year()).expect("rotate");
    let found = online_key_mismatches(&rot.root, &configured);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role, Role::Timestamp);
    assert_eq!(found[0].not_listed, vec![k.online[2].key_id()]);
    assert_eq!(found[0].listed, vec![k.root[3].key_id()]);
    configured.insert(Role::Targets, vec![k.root[0].key_id()]);
    configured.insert(Role::Timestamp, vec![k.root[3].key_id()]);
    let found = online_key_mismatches(&rot.root, &configured);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].role, found[0].root_keys.clone()), (Role::Targets, vec![k.root[0].key_id()]));
}

#[test]
fn the_newest_root_counts_only_for_its_next_version() {
    let k = keys();
    let mut first = Signed::unsigned(v1(&k));
    sign(&mut first, None, &k.root[0]).expect("sign");
    let v1 = &first.signed;
    let mut v2 = Signed::unsigned(next_version(v1, in_a_year()));
    sign(&mut v2, Some(v1), &k.root[0]).expect("sign");
    assert_eq!(previous_root(&v2.signed, Some(v1)).map(|r| r.version), Some(1));
    let st = status_against_chain(&v2, Some(v1), now()).expect("status");
    assert_eq!(st, status(&v2, Some(v1), now()).expect("status"), "the newest root is the previous one");
    assert_eq!(st.previous_root.as_ref().map(|p| p.signed.len()), Some(1));

    // Against a newer chain, v2 no longer follows: its status says so and is not ready.
    let v3 = next_version(&v2.signed, in_a_year());
    assert!(previous_root(&v2.signed, Some(&v3)).is_none());
    let st = status_against_chain(&v2, Some(&v3), now()).expect("status");
    assert!(st.previous_root.is_none() && !st.ready_to_publish);
    assert!(st.problems.iter().any(|p| p.contains("only version 4 can follow it")), "{st:?}");
    // Without a chain, only "the previous root was not given".
    let st = status_against_chain(&v2, None, now()).expect("status");
    assert_eq!(st, status(&v2, None, now()).expect("status"));
    assert!(st.problems.is_empty());
}
