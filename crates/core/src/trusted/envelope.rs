//! Reading one metadata file: the envelope, the canonical bytes its signatures cover, and the
//! threshold check against whoever delegates the role.

use super::TrustError;
use crate::cjson;
use crate::delegation::Authority;
use crate::metadata::{Metadata, Role, Root, Signature};
use crate::time;
use crate::verify::{count_valid_signatures, usable_keys};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use time::DateTime;

/// A parsed file whose signatures are not checked yet.
#[derive(Debug, Clone)]
pub(super) struct Envelope<T> {
    pub signed: T,
    /// The canonical JSON of `signed` exactly as received (unknown fields included).
    pub signed_bytes: Vec<u8>,
    pub signatures: Vec<Signature>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    signed: Value,
    signatures: Vec<Signature>,
}

/// Parses `bytes` as metadata of `role` (a role name: delegated roles are `Targets`). Refuses a
/// wrong `_type`, a `spec_version` other than 1.x, version 0 and signatures that repeat a key id:
/// the specification requires key ids to be unique among signatures, and python-tuf refuses such
/// metadata outright rather than counting the key once.
pub(super) fn parse<T: Metadata>(role: &str, bytes: &[u8]) -> Result<Envelope<T>, TrustError> {
    let malformed = |reason: String| TrustError::malformed(role, reason);
    let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let found = raw.signed.get("_type").and_then(Value::as_str).unwrap_or("(none)");
    if found != T::ROLE.name() {
        return Err(TrustError::WrongType { expected: T::ROLE.name().to_owned(), found: found.to_owned() });
    }
    let signed_bytes = cjson::to_vec_value(&raw.signed).map_err(|e| malformed(e.to_string()))?;
    let signed: T = serde_json::from_value(raw.signed).map_err(|e| malformed(e.to_string()))?;
    let spec = signed.spec_version();
    let parts: Vec<&str> = spec.split('.').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(malformed(format!("spec_version {spec:?} is not a version number")));
    }
    if parts[0] != "1" {
        return Err(malformed(format!("unsupported spec_version {spec:?} (this client speaks 1.x)")));
    }
    if signed.version() == 0 {
        return Err(malformed("version 0 (versions start at 1)".into()));
    }
    let mut seen = BTreeSet::new();
    for s in &raw.signatures {
        if !seen.insert(&s.keyid) {
            return Err(TrustError::DuplicateSignature { role: role.to_owned(), keyid: s.keyid.clone() });
        }
    }
    Ok(Envelope { signed, signed_bytes, signatures: raw.signatures })
}

/// Checks that a threshold of `authority`'s keys signed `signed_bytes`.
pub(super) fn check_signatures(
    role: &str,
    delegator: &str,
    authority: Authority<'_>,
    signed_bytes: &[u8],
    signatures: &[Signature],
) -> Result<(), TrustError> {
    let keys = usable_keys(authority.keys, authority.keyids);
    let valid = count_valid_signatures(&keys, signed_bytes, signatures);
    if authority.threshold == 0 || valid < authority.threshold {
        return Err(TrustError::Threshold {
            role: role.to_owned(),
            delegator: delegator.to_owned(),
            valid,
            threshold: authority.threshold,
        });
    }
    Ok(())
}

/// Who signs a top-level role according to `root`.
pub(super) fn root_authority(root: &Root, role: Role) -> Result<Authority<'_>, TrustError> {
    let entry = root.roles.get(role.name()).ok_or_else(|| TrustError::NotDelegated {
        role: role.name().to_owned(),
        delegator: Role::Root.name().to_owned(),
    })?;
    Ok(Authority { keys: &root.keys, keyids: &entry.keyids, threshold: entry.threshold })
}

/// A root must define the four top-level roles, each with a threshold of at least 1 (python-tuf
/// refuses other roots at parse time; so does this client, before trusting one).
pub(super) fn check_root_shape(root: &Root) -> Result<(), TrustError> {
    for role in Role::ALL {
        match root.roles.get(role.name()) {
            None => return Err(TrustError::malformed("root", format!("no {role} role"))),
            Some(r) if r.threshold == 0 => return Err(TrustError::malformed("root", format!("{role} threshold is 0"))),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Refuses metadata whose `expires` is at or before `now`.
pub(super) fn check_expiry<T: Metadata>(role: &str, meta: &T, now: DateTime) -> Result<(), TrustError> {
    if meta.expires() <= now {
        return Err(TrustError::Expired { role: role.to_owned(), expires: time::format(meta.expires()) });
    }
    Ok(())
}

/// Every `meta` entry must have a version of at least 1 and, if it lists hashes, at least one.
pub(super) fn check_meta(
    role: &str,
    meta: &std::collections::BTreeMap<String, crate::metadata::MetaFile>,
) -> Result<(), TrustError> {
    for (file, info) in meta {
        if info.version == 0 {
            return Err(TrustError::malformed(role, format!("meta {file:?} has version 0")));
        }
        if info.hashes.as_ref().is_some_and(|h| h.is_empty()) {
            return Err(TrustError::malformed(role, format!("meta {file:?} lists an empty hashes object")));
        }
    }
    Ok(())
}
