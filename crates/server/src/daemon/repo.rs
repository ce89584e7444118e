//! The TUF repository as docs/POUF.md 2.1 lays it out. Versioned files are answered only for
//! versions that are committed, so a file written by a publish that crashed is never served.

use super::index::{config_response, served_response};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tufmirror_core::merkle::PathProof;
use tufmirror_mirror::Mirror;

const RETAINED_HEADER: &str = "tuf-snapshot-retained-until";

fn json(bytes: Vec<u8>, immutable: bool) -> Response {
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, cache)], bytes).into_response()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// `N.kind.json` -> (N, kind), N in canonical decimal.
fn versioned(file: &str) -> Option<(u64, &str)> {
    let (n, rest) = file.split_once('.')?;
    Some((crate::canonical_version(n)?, rest.strip_suffix(".json")?))
}

async fn read(path: std::path::PathBuf) -> Response {
    match tokio::fs::read(&path).await {
        Ok(bytes) => json(bytes, true),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "committed metadata is missing");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(super) async fn tuf(State(mirror): State<Arc<Mirror>>, Path(file): Path<String>) -> Response {
    let current = mirror.publisher().current();
    match file.as_str() {
        "timestamp.json" => return json(current.timestamp_json.clone(), false),
        "root.json" => {
            return mirror.publisher().keys().roots.last().map_or_else(not_found, |r| json(r.bytes.clone(), false));
        }
        _ => {}
    }
    match versioned(&file) {
        Some((n, "root")) => mirror
            .publisher()
            .keys()
            .roots
            .get((n as usize).wrapping_sub(1))
            .map_or_else(not_found, |r| json(r.bytes.clone(), true)),
        Some((n, "snapshot" | "targets")) if n >= 1 && n <= current.version() => read(mirror.dir().tuf(&file)).await,
        _ => not_found(),
    }
}

pub(super) async fn history(State(mirror): State<Arc<Mirror>>, Path(file): Path<String>) -> Response {
    let current = mirror.publisher().current();
    match versioned(&file) {
        Some((n, "diff")) if n >= 1 && n <= current.version() => read(mirror.dir().history(&file)).await,
        Some((n, "timestamp")) if n >= 1 && n <= current.record.timestamp_version => {
            read(mirror.dir().history(&file)).await
        }
        _ => not_found(),
    }
}

fn with_retention(mut response: Response, until: time::OffsetDateTime) -> Response {
    if let Ok(v) = HeaderValue::from_str(&tufmirror_core::time::format(until)) {
        response.headers_mut().insert(RETAINED_HEADER, v);
    }
    response
}

fn gone(version: u64) -> Response {
    (StatusCode::NOT_FOUND, format!("snapshot {version} is not retained (or does not exist)\n")).into_response()
}

pub(super) async fn leaves(State(mirror): State<Arc<Mirror>>, Path(version): Path<String>) -> Response {
    let Some(version) = crate::canonical_version(&version) else { return not_found() };
    let Some((published, until)) = mirror.retention().retained_snapshot(version) else { return gone(version) };
    match mirror.storage().blobs.get(&published.record.leaves) {
        Ok(bytes) => with_retention(json(bytes, true), until),
        Err(e) => {
            tracing::error!(version, error = %e, "leaf list unreadable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `/snapshots/N/index/<path>`: snapshot N exactly as signed (cargo can be pointed at
/// `sparse+URL/snapshots/N/index/` to resolve as of N).
pub(super) async fn snapshot_index(
    State(mirror): State<Arc<Mirror>>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(version) = crate::canonical_version(&version) else { return not_found() };
    let Some((published, until)) = mirror.retention().retained_snapshot(version) else { return gone(version) };
    if let Some(response) = config_response(&mirror, &headers, &path) {
        return with_retention(response, until);
    }
    let response = match published.tree.prove(&path, version) {
        PathProof::Included(proof) => match mirror.storage().blobs.get(&proof.leaf_contents.sha256) {
            Ok(bytes) => served_response(&headers, &tufmirror_mirror::cache::ServedFile::new(&proof, bytes, 0)),
            Err(e) => {
                tracing::error!(version, path, error = %e, "index file unreadable");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        PathProof::Absent(_) => (StatusCode::NOT_FOUND, "crate not found\n").into_response(),
    };
    with_retention(response, until)
}

/// `/snapshots/N/proofs/<path>`: the inclusion proof alone (for hosts that cannot send headers).
pub(super) async fn snapshot_proof(
    State(mirror): State<Arc<Mirror>>,
    Path((version, path)): Path<(String, String)>,
) -> Response {
    let Some(version) = crate::canonical_version(&version) else { return not_found() };
    let Some((published, until)) = mirror.retention().retained_snapshot(version) else { return gone(version) };
    match published.tree.prove(&path, version) {
        PathProof::Included(proof) => with_retention(json(proof.to_canonical_json(), true), until),
        PathProof::Absent(_) => not_found(),
    }
}

/// `/audit/<path>`: what the auditor wrote into `DATA/audit/`, regular files only and no links
/// (see `crate::files`).
pub(super) async fn audit(State(mirror): State<Arc<Mirror>>, Path(path): Path<String>) -> Response {
    crate::files::serve_beneath(mirror.dir().root.clone(), format!("audit/{path}"), crate::files::Links::Never).await
}
