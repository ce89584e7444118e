//! Attestations: an auditor's signed statement that it checked a mirror's history up to a
//! snapshot, the auditor keys that root declares, and the check a client runs before it trusts a
//! snapshot (`--require-audit`). The formats are in docs/audit.md.
//!
//! Root declares auditors in an extension that stock TUF clients keep as an unrecognised field:
//!
//! ```json
//! "x-tufmirror-auditors": {"keyids": ["<key id>", ...], "threshold": 1}
//! ```
//!
//! inside root's `signed`, with the key objects in root's `keys` like every other role's. An
//! attestation is an envelope like TUF metadata's, signed over the canonical JSON of `signed`:
//!
//! ```json
//! {"signed": {"_type": "x-tufmirror-audit", "snapshot_version": 7, "merkle_root": "...",
//!             "merkle_tree_size": 191, "timestamp_version": 9},
//!  "signatures": [{"keyid": "...", "sig": "..."}]}
//! ```
//!
//! It says: "every timestamp up to version `timestamp_version` and every snapshot up to
//! `snapshot_version` passed the audit, and snapshot `snapshot_version` has this root and size".
//! A client accepts its verified timestamp when the timestamp names that snapshot, root and size
//! and its version is at most `timestamp_version`: a timestamp signed after the audit (a rollback
//! to an older, once attested, snapshot among them) is not covered until an auditor checks it.

use crate::key::KeyId;
use crate::metadata::{Root, Signature, Timestamp};
use crate::verify::{CheckSignature, usable_keys};
use crate::{Sha256Hash, cjson};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// The field of root's `signed` that declares the auditor keys.
pub const AUDITORS_FIELD: &str = "x-tufmirror-auditors";
/// The `_type` of an attestation.
pub const ATTESTATION_TYPE: &str = "x-tufmirror-audit";

/// The auditor keys root declares, and how many of them must attest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auditors {
    /// `keyids`: the auditor keys (each also in root's `keys`).
    pub keyids: Vec<KeyId>,
    /// `threshold`: how many distinct auditor keys must sign an attestation (1 to the number of keys).
    pub threshold: u64,
}

impl Auditors {
    /// The auditors `root` declares, `None` when it declares none.
    pub fn of(root: &Root) -> Result<Option<Auditors>, AttestationError> {
        let Some(value) = root.unknown.get(AUDITORS_FIELD) else { return Ok(None) };
        let auditors: Auditors = serde_json::from_value(value.clone())
            .map_err(|e| AttestationError::BadAuditors { root_version: root.version, reason: e.to_string() })?;
        let distinct: BTreeSet<&KeyId> = auditors.keyids.iter().collect();
        if auditors.threshold == 0 || auditors.threshold > distinct.len() as u64 {
            return Err(AttestationError::BadAuditors {
                root_version: root.version,
                reason: format!("threshold {} with {} distinct key(s)", auditors.threshold, distinct.len()),
            });
        }
        if let Some(missing) = auditors.keyids.iter().find(|id| !root.keys.contains_key(*id)) {
            return Err(AttestationError::BadAuditors {
                root_version: root.version,
                reason: format!("key {missing} is not defined in root's keys"),
            });
        }
        Ok(Some(auditors))
    }

    /// Writes (`Some`) or removes (`None`) the declaration in `root`. The key objects are the
    /// caller's to add to `root.keys`.
    pub fn set(root: &mut Root, auditors: Option<&Auditors>) {
        match auditors.and_then(|a| serde_json::to_value(a).ok()) {
            Some(value) => {
                root.unknown.insert(AUDITORS_FIELD.to_owned(), value);
            }
            None => {
                root.unknown.remove(AUDITORS_FIELD);
            }
        }
    }
}

/// What an auditor signs. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// `_type`: always `x-tufmirror-audit`.
    #[serde(rename = "_type")]
    pub kind: String,
    /// `snapshot_version`: the snapshot the auditor checked.
    pub snapshot_version: u64,
    /// `merkle_root`: that snapshot's Merkle root, as the auditor recomputed it.
    pub merkle_root: Sha256Hash,
    /// `merkle_tree_size`: that snapshot's number of leaves.
    pub merkle_tree_size: u64,
    /// `timestamp_version`: the highest timestamp version the auditor had checked when signing.
    pub timestamp_version: u64,
}

impl Attestation {
    /// An attestation of `_type` `x-tufmirror-audit` with these fields.
    pub fn new(snapshot_version: u64, merkle_root: Sha256Hash, merkle_tree_size: u64, timestamp_version: u64) -> Self {
        Attestation {
            kind: ATTESTATION_TYPE.to_owned(),
            snapshot_version,
            merkle_root,
            merkle_tree_size,
            timestamp_version,
        }
    }

    /// The canonical JSON that signatures cover.
    pub fn signed_bytes(&self) -> Vec<u8> {
        // Numbers and strings only: the encoder cannot fail on it.
        cjson::to_vec(self).unwrap_or_default()
    }

    /// Whether this attestation covers the verified `timestamp`: same snapshot, root and size,
    /// and a timestamp version the auditor had already checked.
    pub fn covers(&self, timestamp: &Timestamp) -> Result<(), AttestationError> {
        let mismatch = |reason: String| Err(AttestationError::NotCovered { reason });
        let snapshot = timestamp.snapshot_version();
        if snapshot != Some(self.snapshot_version) {
            return mismatch(format!(
                "it attests snapshot {}, the timestamp names snapshot {}",
                self.snapshot_version,
                snapshot.map_or_else(|| "none".to_owned(), |s| s.to_string())
            ));
        }
        if timestamp.merkle_root != Some(self.merkle_root) || timestamp.merkle_tree_size != Some(self.merkle_tree_size)
        {
            return mismatch(format!(
                "it attests root {} (size {}) for snapshot {}, the timestamp signs another root or size",
                self.merkle_root, self.merkle_tree_size, self.snapshot_version
            ));
        }
        if timestamp.version > self.timestamp_version {
            return mismatch(format!(
                "it covers timestamps up to version {}, the timestamp is version {}: not audited yet",
                self.timestamp_version, timestamp.version
            ));
        }
        Ok(())
    }
}

/// An attestation with its signatures, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAttestation {
    /// `signed`: the attestation; signatures cover its canonical JSON.
    pub signed: Attestation,
    /// `signatures`: one entry per auditor key that signed.
    pub signatures: Vec<Signature>,
}

impl SignedAttestation {
    /// The published bytes: compact JSON with sorted keys, like metadata files.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_value(self).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default()
    }
}

/// A timestamp that auditors vouch for: by whom, and up to which timestamp version they checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// The snapshot version attested.
    pub snapshot_version: u64,
    /// The highest `timestamp_version` among the attestations that cover it.
    pub timestamp_version: u64,
    /// The auditor keys whose valid signatures cover it, each once.
    pub keyids: Vec<KeyId>,
}

/// Why a timestamp is not (yet) audited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The trusted root has no `x-tufmirror-auditors`.
    #[error("root version {root_version} declares no auditors ({AUDITORS_FIELD}): nothing can attest")]
    NoAuditors {
        /// The trusted root's version.
        root_version: u64,
    },
    /// The root's `x-tufmirror-auditors` is malformed, its threshold unreachable, or a key undefined.
    #[error("root version {root_version}'s {AUDITORS_FIELD} is not usable: {reason}")]
    BadAuditors {
        /// The root's version.
        root_version: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// The mirror has no attestation for the snapshot.
    #[error("no attestation for snapshot {snapshot_version}")]
    NoAttestation {
        /// The snapshot version asked for.
        snapshot_version: u64,
    },
    /// The attestation file does not parse or is not of `_type` `x-tufmirror-audit`.
    #[error("not an attestation: {reason}")]
    Malformed {
        /// What is wrong, in words.
        reason: String,
    },
    /// The attestation names another snapshot, root or size, or an older timestamp version.
    #[error("the attestation does not cover this timestamp: {reason}")]
    NotCovered {
        /// What differs, in words.
        reason: String,
    },
    /// Too few distinct auditor keys of root signed a covering attestation.
    #[error("{valid} auditor key(s) of root attest this snapshot, root requires {threshold}")]
    Threshold {
        /// The number of distinct auditor keys whose signature verified.
        valid: u64,
        /// The auditors' threshold in root.
        threshold: u64,
    },
}

#[derive(Deserialize)]
struct RawEnvelope {
    signed: Value,
    signatures: Vec<Signature>,
}

/// Parses an attestation and returns it with the canonical bytes of its `signed` as received.
pub fn parse_attestation(bytes: &[u8]) -> Result<(Attestation, Vec<u8>, Vec<Signature>), AttestationError> {
    let malformed = |reason: String| AttestationError::Malformed { reason };
    let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let signed_bytes = cjson::to_vec_value(&raw.signed).map_err(|e| malformed(e.to_string()))?;
    let attestation: Attestation = serde_json::from_value(raw.signed).map_err(|e| malformed(e.to_string()))?;
    if attestation.kind != ATTESTATION_TYPE {
        return Err(malformed(format!("_type is {:?}, expected {ATTESTATION_TYPE:?}", attestation.kind)));
    }
    Ok((attestation, signed_bytes, raw.signatures))
}

/// Says whether the auditors that `root` (the client's verified, newest root) declares vouch for
/// `timestamp` (the client's verified timestamp), given the attestations found for its snapshot
/// (several when auditors publish separately; signatures of distinct auditor keys are pooled over
/// every attestation that covers the timestamp). `Ok` names the keys; `Err` says why not.
pub fn check_attestations(
    root: &Root,
    timestamp: &Timestamp,
    attestations: &[&[u8]],
) -> Result<Attested, AttestationError> {
    let auditors = Auditors::of(root)?.ok_or(AttestationError::NoAuditors { root_version: root.version })?;
    let snapshot_version = timestamp.snapshot_version().unwrap_or(0);
    let keys = usable_keys(&root.keys, &auditors.keyids);
    let mut good: BTreeSet<KeyId> = BTreeSet::new();
    let mut attested_through = 0;
    let mut first_error = None;
    for bytes in attestations {
        let checked = parse_attestation(bytes).and_then(|(a, signed_bytes, signatures)| {
            a.covers(timestamp)?;
            Ok((a, signed_bytes, signatures))
        });
        let (attestation, signed_bytes, signatures) = match checked {
            Ok(parts) => parts,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let mut signed_here = false;
        for s in &signatures {
            let Some(key) = keys.get(&s.keyid) else { continue };
            if hex::decode(&s.sig).is_ok_and(|sig| key.check(&signed_bytes, &sig)) {
                good.insert(s.keyid.clone());
                signed_here = true;
            }
        }
        if signed_here {
            attested_through = attested_through.max(attestation.timestamp_version);
        }
    }
    if good.is_empty()
        && let Some(e) = first_error
    {
        return Err(e);
    }
    if attestations.is_empty() {
        return Err(AttestationError::NoAttestation { snapshot_version });
    }
    let valid = good.len() as u64;
    if valid < auditors.threshold {
        return Err(AttestationError::Threshold { valid, threshold: auditors.threshold });
    }
    Ok(Attested { snapshot_version, timestamp_version: attested_through, keyids: good.into_iter().collect() })
}

#[cfg(test)]
mod tests;
