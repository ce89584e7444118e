//! TUF metadata signed by a backend, and the two verifiers it must satisfy: tufmirror-core
//! (`RoleVerifier` through `parse_verified`) and python-tuf (`tests/python/verify_signature.py`).

use serde_json::{Value, json};
use std::path::Path;
use tufmirror_core::metadata::{Metadata, Role, Signed};
use tufmirror_core::verify::{RoleVerifier, parse_verified};
use tufmirror_core::{PublicKey, Root, Targets, Timestamp};

/// Root metadata that lists `key` for every top-level role, threshold 1.
pub(crate) fn root(key: &PublicKey) -> Root {
    let id = key.key_id().0;
    let role = json!({"keyids": [id], "threshold": 1});
    let mut keys = serde_json::Map::new();
    keys.insert(id.clone(), serde_json::to_value(key.to_key_object()).expect("key object"));
    serde_json::from_value(json!({
        "_type": "root",
        "spec_version": "1.0.31",
        "version": 1,
        "expires": "2030-01-01T00:00:00Z",
        "consistent_snapshot": true,
        "keys": Value::Object(keys),
        "roles": {"root": role, "targets": role, "snapshot": role, "timestamp": role},
    }))
    .expect("root metadata")
}

pub(crate) fn timestamp() -> Timestamp {
    serde_json::from_value(json!({
        "_type": "timestamp",
        "spec_version": "1.0.31",
        "version": 7,
        "expires": "2030-01-01T00:00:00Z",
        "meta": {"snapshot.json": {"version": 7}},
    }))
    .expect("timestamp metadata")
}

/// Targets metadata whose canonical form is longer than `at_least` bytes.
pub(crate) fn targets(at_least: usize) -> Targets {
    let mut targets = serde_json::Map::new();
    let mut size = 0;
    let mut i = 0;
    while size <= at_least {
        let name = format!("3/s/serde{i}");
        let hash = format!("{i:064x}");
        size += name.len() + hash.len() + 40;
        targets.insert(name, json!({"length": 1000 + i, "hashes": {"sha256": hash}}));
        i += 1;
    }
    serde_json::from_value(json!({
        "_type": "targets",
        "spec_version": "1.0.31",
        "version": 3,
        "expires": "2030-01-01T00:00:00Z",
        "targets": Value::Object(targets),
    }))
    .expect("targets metadata")
}

/// Writes `signed` as it is served, and returns the bytes.
pub(crate) fn write<T: Metadata>(path: &Path, signed: &Signed<T>) -> Vec<u8> {
    let bytes = signed.to_bytes().expect("serialize");
    std::fs::write(path, &bytes).expect("write metadata");
    bytes
}

/// tufmirror-core's verdict on `bytes` as `T` metadata under `root`.
pub(crate) fn core_verifies<T: Metadata>(root: &Root, bytes: &[u8]) -> Result<(), String> {
    let verifier = RoleVerifier::from_root(root, T::ROLE).map_err(|e| e.to_string())?;
    parse_verified::<T>(bytes, &verifier).map(|_| ()).map_err(|e| e.to_string())
}

/// `bytes` (served metadata) with the first signature's last hex digit changed.
pub(crate) fn corrupt_signature(bytes: &[u8]) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(bytes).expect("metadata JSON");
    let sig = value["signatures"][0]["sig"].as_str().expect("a signature").to_owned();
    let (head, last) = sig.split_at(sig.len() - 1);
    let flipped = if last == "0" { "1" } else { "0" };
    value["signatures"][0]["sig"] = Value::String(format!("{head}{flipped}"));
    serde_json::to_vec(&value).expect("JSON")
}

pub(crate) fn role_name<T: Metadata>() -> &'static str {
    let role: Role = T::ROLE;
    role.name()
}
