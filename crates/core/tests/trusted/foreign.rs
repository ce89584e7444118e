//! A repository written by python-tuf (tests/data/python-tuf/generate.py): RSA-PSS, RSA-PKCS#1
//! v1.5, ECDSA and Ed25519 keys, a root rotation, a delegation and succinct hash bins.

use tufmirror_core::time;
use tufmirror_core::trusted::{DelegationWalk, Origin, TimestampUpdate, TrustError, TrustedSet};

fn file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/python-tuf").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_python_tuf_repository_verifies_end_to_end() {
    let now = time::parse("2030-01-01T00:00:00Z").expect("time");
    let mut set = TrustedSet::new(&file("1.root.json"), now).expect("root v1, signed with RSA-PSS");
    set.update_root(&file("2.root.json")).expect("root v2");
    assert!(set.fast_forward_reset(), "v2 rotates the timestamp key");
    set.check_final_root().expect("current");
    assert_eq!(set.update_timestamp(&file("timestamp.json")), Ok(TimestampUpdate::Updated));
    set.update_snapshot(&file("1.snapshot.json"), Origin::Repository).expect("ECDSA snapshot");
    set.update_targets(&file("1.targets.json")).expect("Ed25519 targets");

    let mut found = None;
    let mut walk = DelegationWalk::new("project/a.txt", 32);
    let mut loaded = Vec::new();
    while let Some((role, delegator)) = walk.next_role() {
        let targets = match set.delegated_targets(&role, &delegator).expect("verifies") {
            Some(t) => t.clone(),
            None => {
                set.update_delegated_targets(&file(&format!("1.{role}.json")), &role, &delegator).expect(&role).clone()
            }
        };
        loaded.push(role.clone());
        if let Some(f) = walk.visit(&role, &targets) {
            found = Some(f);
            break;
        }
    }
    let found = found.expect("project/a.txt is in its bin");
    assert!(found.verify(b"a\n").is_ok());
    assert_eq!(loaded.len(), 3, "targets, project, one bin: {loaded:?}");

    // Root v1's timestamp key (RSA-PKCS#1 v1.5) did not sign this timestamp: root v2's key did.
    let mut old_root_only = TrustedSet::new(&file("1.root.json"), now).expect("root v1");
    assert!(matches!(old_root_only.update_timestamp(&file("timestamp.json")), Err(TrustError::Threshold { .. })));
    // And after 2100 everything has expired.
    let later = time::parse("2100-01-01T00:00:00Z").expect("time");
    let set = TrustedSet::new(&file("2.root.json"), later).expect("an expired root still loads");
    assert!(matches!(set.check_final_root(), Err(TrustError::Expired { .. })));
}
