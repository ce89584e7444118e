//! Unit tests of the ceremony rules, with fresh file keys: four root keys and one per online role.

mod files;
mod proposal;
mod signatures;

use super::*;
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_signer::{FileSigner, KeyAlgorithm, Signer as _, generate_key_file};

fn now() -> OffsetDateTime {
    tufmirror_core::time::parse("2030-01-01T00:00:00Z").expect("time")
}

fn in_a_year() -> OffsetDateTime {
    tufmirror_core::time::in_days(now(), 365)
}

/// `n` fresh file keys (Ed25519, and every third one ECDSA P-256).
fn signers(dir: &Path, prefix: &str, n: usize) -> Vec<FileSigner> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("{prefix}{i}.pem"));
            let alg = if i % 3 == 2 { KeyAlgorithm::EcdsaP256 } else { KeyAlgorithm::Ed25519 };
            generate_key_file(&path, alg).expect("generate");
            FileSigner::open(&path).expect("open")
        })
        .collect()
}

fn spec(keys: &[&FileSigner], threshold: u64) -> RoleSpec {
    RoleSpec { keys: keys.iter().map(|k| k.public_key().clone()).collect(), threshold }
}

struct Keys {
    _dir: tempfile::TempDir,
    root: Vec<FileSigner>,
    online: Vec<FileSigner>,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = signers(dir.path(), "root", 4);
    let online = signers(dir.path(), "online", 3);
    Keys { _dir: dir, root, online }
}

/// Root v1: root keys 0..3 with threshold 2, one key per online role.
fn v1(k: &Keys) -> Root {
    let roles = BTreeMap::from([
        (Role::Root, spec(&[&k.root[0], &k.root[1], &k.root[2]], 2)),
        (Role::Targets, spec(&[&k.online[0]], 1)),
        (Role::Snapshot, spec(&[&k.online[1]], 1)),
        (Role::Timestamp, spec(&[&k.online[2]], 1)),
    ]);
    initial_root(&roles, in_a_year()).expect("valid v1")
}

fn sign(proposal: &mut Signed<Root>, previous: Option<&Root>, key: &FileSigner) -> Result<Added, CeremonyError> {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(sign_proposal(proposal, previous, key, now()))
}
