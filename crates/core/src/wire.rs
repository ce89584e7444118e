//! What a tufmirror server and its clients agree on over HTTP, beyond the files themselves
//! (docs/POUF.md 2.2): the names of our response headers, how a proof travels in a header, the
//! ETag of an index file and when a conditional request is answered 304.
//!
//! Every side reads these from here: the daemon and `serve-static` (tufmirror-server), the
//! response cache (tufmirror-mirror), the verifying client and the proxy (tufmirror-client,
//! tufmirror-proxy). A second spelling of any of them elsewhere is a bug: the two would drift
//! apart and a client would stop finding the proof it needs.

use crate::Sha256Hash;
use base64::Engine as _;
use serde::de::DeserializeOwned;

/// The response header that carries an index file's TAP-16 proof: the inclusion proof with a
/// 200 or a 304, the non-inclusion proof with the 404 of a missing crate. Its value is
/// [`encode_proof`] of the proof's canonical JSON. Lower case, as HTTP/2 sends header names
/// (HTTP/1.1 compares them case-insensitively, so `TUF-Merkle-Proof` is the same header).
pub const PROOF_HEADER: &str = "tuf-merkle-proof";

/// The response header on `/snapshots/N/...` that says until when snapshot N stays readable
/// (RFC 3339 UTC, as TUF writes `expires`).
pub const RETAINED_HEADER: &str = "tuf-snapshot-retained-until";

/// The [`PROOF_HEADER`] value of a proof: standard base64 with padding of its canonical JSON
/// (base64 because header values are visible ASCII, and JSON has quotes and may have UTF-8).
pub fn encode_proof(canonical_json: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(canonical_json)
}

/// Why a [`PROOF_HEADER`] value is not a proof of the expected kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofHeaderError {
    /// Not base64: the decoder's error.
    #[error("not base64: {0}")]
    NotBase64(#[source] base64::DecodeError),
    /// Valid base64, but not the JSON of the proof asked for: serde's error.
    #[error("{0}")]
    NotAProof(#[source] serde_json::Error),
}

/// The proof in a [`PROOF_HEADER`] value (surrounding white space ignored). Decoding says
/// nothing about whether the proof holds: that is the proof's own `verify`.
pub fn decode_proof<T: DeserializeOwned>(value: &str) -> Result<T, ProofHeaderError> {
    let json = base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(ProofHeaderError::NotBase64)?;
    serde_json::from_slice(&json).map_err(ProofHeaderError::NotAProof)
}

/// The ETag of an index file (and of `config.json`): its SHA-256 in lower-case hex, in quotes
/// (a strong validator). The hash is the one its Merkle leaf names, so a client that holds the
/// proof knows the ETag without asking.
pub fn etag_of(sha256: &Sha256Hash) -> String {
    format!("\"{sha256}\"")
}

/// Whether a request's `If-None-Match` value means "I already hold the file whose ETag is
/// `etag`", and is to be answered 304.
///
/// The rule is an exact match of the one ETag (white space around it ignored), not RFC 9110's
/// full comparison (lists, `*`, weak `W/` tags). Cargo sends back exactly the one ETag it was
/// given, so it loses nothing; and a verifying client ties a 304 to the single copy it holds
/// (the proof must vouch for exactly the ETag it sent), which a list or `*` would loosen into
/// "one of these" or "anything". Server and client both decide with this function, so they
/// cannot disagree about what a 304 means.
pub fn not_modified(if_none_match: &str, etag: &str) -> bool {
    if_none_match.trim() == etag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_travel_as_base64_of_their_json() {
        let value = encode_proof(br#"{"a":1}"#);
        assert_eq!(value, "eyJhIjoxfQ==");
        assert_eq!(
            decode_proof::<serde_json::Value>(&format!(" {value}\t")).expect("decodes"),
            serde_json::json!({"a": 1})
        );
        assert!(matches!(decode_proof::<serde_json::Value>("%%%"), Err(ProofHeaderError::NotBase64(_))));
        let not_json = encode_proof(b"{");
        assert!(matches!(decode_proof::<serde_json::Value>(&not_json), Err(ProofHeaderError::NotAProof(_))));
        assert!(matches!(decode_proof::<u64>(&value), Err(ProofHeaderError::NotAProof(_))), "wrong kind");
    }

    #[test]
    fn the_etag_is_the_quoted_hash_and_only_it_is_not_modified() {
        let sha = Sha256Hash::of(b"serde\n");
        let etag = etag_of(&sha);
        assert_eq!(etag, format!("\"{}\"", sha.to_hex()));
        assert!(not_modified(&etag, &etag));
        assert!(not_modified(&format!(" {etag} "), &etag));
        let other = etag_of(&Sha256Hash::of(b"old\n"));
        for no in [
            other.clone(),
            sha.to_hex(),
            format!("W/{etag}"),
            "*".to_owned(),
            format!("{other}, {etag}"),
            etag.to_uppercase(),
            String::new(),
        ] {
            assert!(!not_modified(&no, &etag), "{no:?}");
        }
    }
}
