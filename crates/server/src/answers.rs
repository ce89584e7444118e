//! The answers to index requests that both front ends send (docs/POUF.md 2.2): a file with its
//! ETag and proof (200, or 304 to a matching `If-None-Match`), and a crate proven absent (404
//! with its non-inclusion proof). These are answers, not errors (see [`crate::error`]); the wire
//! facts they carry are [`tufmirror_core::wire`]'s.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tufmirror_core::merkle::NonInclusionProof;
use tufmirror_core::wire;

/// Whether the request's `If-None-Match` asks for a 304 on the file whose ETag is `etag`
/// ([`wire::not_modified`]).
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| wire::not_modified(v, etag))
}

/// A file: 200 with `body`, or 304 when `body` is `None` (decide with [`not_modified`] first, so
/// that a 304 costs no read). Both carry the ETag and, for an index file, the proof header
/// (`proof` as [`wire::encode_proof`] made it).
pub(crate) fn file(content_type: &'static str, body: Option<Bytes>, etag: &str, proof: Option<&str>) -> Response {
    let mut response = match body {
        Some(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        None => StatusCode::NOT_MODIFIED.into_response(),
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = proof.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert(wire::PROOF_HEADER, v);
    }
    response
}

/// A crate that the snapshot proves absent: a plain 404 "crate not found", which cargo reads as
/// "no such crate", carrying the non-inclusion proof when there is one to send.
pub(crate) fn proven_absent(proof: Option<&NonInclusionProof>) -> Response {
    let mut response = (StatusCode::NOT_FOUND, "crate not found\n").into_response();
    if let Some(v) = proof.and_then(|p| HeaderValue::from_str(&wire::encode_proof(&p.to_canonical_json())).ok()) {
        response.headers_mut().insert(wire::PROOF_HEADER, v);
    }
    response
}
