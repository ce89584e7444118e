//! Finding auditors' attestations (docs/audit.md, "Publication"): `N.json` for snapshot N under
//! each audit URL, by default the mirror's own `audit/`. Checking them is the core's rule
//! (`tufmirror_core::audit_rules::check_attestations`); this module only fetches.

use crate::{FetchError, Fetcher};

/// The largest attestation a client reads.
pub const ATTESTATION_LIMIT: u64 = 64 * 1024;

/// The name of snapshot `n`'s attestation in an attestation folder or under an audit URL.
pub fn attestation_name(n: u64) -> String {
    format!("{n}.json")
}

/// The attestations of snapshot `n` found under each of `audit_urls`; a URL that has none (404)
/// is skipped. An error names the URL that failed.
pub async fn fetch_attestations(
    fetcher: &dyn Fetcher,
    audit_urls: &[String],
    n: u64,
) -> Result<Vec<Vec<u8>>, (String, FetchError)> {
    let mut found = Vec::new();
    for base in audit_urls {
        let slash = if base.ends_with('/') { "" } else { "/" };
        let url = format!("{base}{slash}{}", attestation_name(n));
        match fetcher.fetch(&url, ATTESTATION_LIMIT).await {
            Ok(bytes) => found.push(bytes),
            Err(FetchError::NotFound { .. }) => {}
            Err(e) => return Err((url, e)),
        }
    }
    Ok(found)
}
