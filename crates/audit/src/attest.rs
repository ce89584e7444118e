//! Attestations: signing them (the auditor) and finding and checking them (clients that require
//! an audit). The format and the rule are `tufmirror_core::audit_rules::attestation`'s; where they live
//! is docs/audit.md's "Publication": `audit/N.json` (N the snapshot) and `audit/latest.json`
//! under a base URL, by default the mirror's own.

use crate::AuditError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tufmirror_client::{FetchError, Fetcher};
use tufmirror_core::audit_rules::{Attestation, AttestationError, Attested, SignedAttestation, check_attestations};
use tufmirror_core::metadata::{Root, Signature, Timestamp};
use tufmirror_durable::{IfExists, write_durably};
use tufmirror_signer::{Signer, SignerError};

pub use tufmirror_client::attestations::{ATTESTATION_LIMIT, attestation_name};

/// Signs attestations with one auditor key and writes them to a folder that is served.
#[derive(Debug)]
pub struct Attestor {
    signer: Box<dyn Signer>,
    out: PathBuf,
}

impl Attestor {
    /// An attestor that signs with `signer` and writes into the folder `out`.
    pub fn new(signer: Box<dyn Signer>, out: PathBuf) -> Self {
        Attestor { signer, out }
    }

    /// The folder attestations are written to (`tufmirror audit --out`, default `STATE/audit`).
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The key ID of the signing key, as it appears in `signatures`.
    pub fn key_id(&self) -> tufmirror_core::KeyId {
        self.signer.key_id()
    }

    /// Signs `attestation` and writes it durably as `OUT/N.json`, then `OUT/latest.json`.
    pub async fn attest(&self, attestation: Attestation) -> Result<PathBuf, AuditError> {
        let bytes = attestation.signed_bytes();
        let sig = self.signer.sign(&bytes).await.map_err(AuditError::Sign)?;
        let key_id = self.signer.key_id();
        self.signer.public_key().verify(&bytes, &sig).map_err(|e| {
            AuditError::Sign(SignerError::BadSignature { key_id: key_id.clone(), reason: e.to_string() })
        })?;
        let signature = Signature { keyid: key_id, sig: hex::encode(sig), unknown: BTreeMap::new() };
        let snapshot = attestation.snapshot_version;
        let file = SignedAttestation { signed: attestation, signatures: vec![signature] }.to_bytes();
        std::fs::create_dir_all(&self.out).map_err(|source| AuditError::Write { path: self.out.clone(), source })?;
        let path = self.out.join(attestation_name(snapshot));
        for target in [&path, &self.out.join("latest.json")] {
            write_durably(target, &file, IfExists::Replace)
                .map_err(|source| AuditError::Write { path: target.clone(), source })?;
        }
        Ok(path)
    }
}

/// Why a client does not take a snapshot as audited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequireAuditError {
    /// An audit URL could not be fetched (other than a missing attestation, which is skipped).
    #[error("fetching {url}")]
    Fetch {
        /// The attestation URL.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
    /// The trusted timestamp names no snapshot version, so there is nothing to look up.
    #[error("the timestamp names no snapshot")]
    NoSnapshot,
    /// No attestation found for the snapshot satisfies the root's
    /// `x-tufmirror-auditors` (none found, no auditors declared, too few valid signatures).
    #[error("snapshot {snapshot} is not audited")]
    NotAudited {
        /// The snapshot version that was to be audited.
        snapshot: u64,
        /// Why the attestations found do not count.
        #[source]
        source: AttestationError,
    },
}

/// The attestations of snapshot `n` found under each of `audit_urls` (`N.json`); a URL that has
/// none is skipped.
pub async fn fetch_attestations(
    fetcher: &dyn Fetcher,
    audit_urls: &[String],
    n: u64,
) -> Result<Vec<Vec<u8>>, RequireAuditError> {
    tufmirror_client::attestations::fetch_attestations(fetcher, audit_urls, n)
        .await
        .map_err(|(url, source)| RequireAuditError::Fetch { url, source })
}

/// `--require-audit`: the client's verified `root` and `timestamp` are accepted only if the
/// auditors root declares attested the timestamp's snapshot (see
/// `tufmirror_core::audit_rules::check_attestations`), from attestations found under `audit_urls`
/// (by default the mirror's `audit/`).
pub async fn require_audit(
    fetcher: &dyn Fetcher,
    audit_urls: &[String],
    root: &Root,
    timestamp: &Timestamp,
) -> Result<Attested, RequireAuditError> {
    let snapshot = timestamp.snapshot_version().ok_or(RequireAuditError::NoSnapshot)?;
    let found = fetch_attestations(fetcher, audit_urls, snapshot).await?;
    let refs: Vec<&[u8]> = found.iter().map(Vec::as_slice).collect();
    check_attestations(root, timestamp, &refs).map_err(|source| RequireAuditError::NotAudited { snapshot, source })
}
