//! `/admin/`: quarantine decisions, an immediate refresh, and adopting a new root, for
//! `tufmirror quarantine`, `tufmirror sync` and `tufmirror root publish` against a running daemon. Every request needs
//! `Authorization: Bearer <token>`, the token in the data folder's `admin.token` (mode 0600):
//! whoever can read the data folder may administer the mirror, nobody else.

use crate::error::DaemonError;
use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use tufmirror_core::Sha256Hash;
use tufmirror_mirror::Mirror;

pub(super) async fn require_token(
    State(mirror): State<Arc<Mirror>>,
    request: Request,
    next: Next,
) -> Result<Response, DaemonError> {
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !token_matches(offered, mirror.admin_token()) {
        return Err(DaemonError::Unauthorized);
    }
    Ok(next.run(request).await)
}

/// Whether `offered` is the admin token. A missing header, and an empty token on either side,
/// never match (the mirror refuses to start with an empty one; this is the second lock). The
/// bytes compared are digests, XOR-folded, so the time taken says nothing about how much of the
/// token was right.
fn token_matches(offered: Option<&str>, token: &str) -> bool {
    let Some(offered) = offered else { return false };
    if offered.is_empty() || token.trim().is_empty() {
        return false;
    }
    let (a, b) = (Sha256Hash::of(offered.as_bytes()), Sha256Hash::of(token.as_bytes()));
    a.0.iter().zip(b.0.iter()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[derive(Debug, Deserialize)]
pub(super) struct PathQuery {
    path: String,
}

pub(super) async fn list(State(mirror): State<Arc<Mirror>>) -> Result<Response, DaemonError> {
    Ok(Json(mirror.quarantine().list()?).into_response())
}

pub(super) async fn accept(
    State(mirror): State<Arc<Mirror>>,
    Query(q): Query<PathQuery>,
) -> Result<Response, DaemonError> {
    let version = mirror.quarantine().accept(&q.path).await?;
    Ok(Json(serde_json::json!({ "accepted": q.path, "snapshot_version": version })).into_response())
}

pub(super) async fn reject(
    State(mirror): State<Arc<Mirror>>,
    Query(q): Query<PathQuery>,
) -> Result<Response, DaemonError> {
    mirror.quarantine().reject(&q.path).await?;
    Ok(Json(serde_json::json!({ "rejected": q.path })).into_response())
}

pub(super) async fn sync(State(mirror): State<Arc<Mirror>>) -> Response {
    mirror.maintenance().sync_now();
    (StatusCode::ACCEPTED, "refresh started\n").into_response()
}

/// `POST /admin/root` with the new root's bytes: verified, checked against the configured online
/// keys, stored, and published with every online role re-signed (see `tufmirror_mirror::rotation`).
/// A refused root is a 409 whose body says why; nothing changed.
pub(super) async fn root(State(mirror): State<Arc<Mirror>>, body: axum::body::Bytes) -> Result<Response, DaemonError> {
    let adopted = mirror.rotation().publish_root(body.to_vec()).await?;
    Ok(Json(serde_json::json!({
        "root_version": adopted.root_version,
        "snapshot_version": adopted.snapshot_version,
        "timestamp_version": adopted.timestamp_version,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn only_the_token_itself_matches() {
        let token = "3f".repeat(32);
        assert!(token_matches(Some(&token), &token));
        assert!(!token_matches(None, &token), "no header");
        assert!(!token_matches(Some(""), &token));
        assert!(!token_matches(Some(&token[..63]), &token));
        // An empty token (never loaded: the mirror refuses to start) matches nothing, not even
        // a request without a header or with an empty bearer token.
        for empty in ["", "  \n"] {
            assert!(!token_matches(None, empty));
            assert!(!token_matches(Some(""), empty));
            assert!(!token_matches(Some(empty), empty));
        }
    }
}
