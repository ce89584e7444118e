//! The TUF repository as docs/POUF.md 2.1 lays it out. Versioned files are answered only for
//! versions that are committed, so a file written by a publish that crashed is never served.

use super::cargo_routes::{config_response, served_response};
use crate::answers;
use crate::error::{DaemonError, NotServed};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tufmirror_core::merkle::PathProof;
use tufmirror_core::wire::RETAINED_HEADER;
use tufmirror_mirror::Mirror;

fn json(bytes: Vec<u8>, immutable: bool) -> Response {
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, cache)], bytes).into_response()
}

/// `N.kind.json` -> (N, kind), N in canonical decimal.
fn versioned(file: &str) -> Option<(u64, &str)> {
    let (n, rest) = file.split_once('.')?;
    Some((crate::canonical_version(n)?, rest.strip_suffix(".json")?))
}

/// A committed metadata file: it must be there.
async fn read(path: std::path::PathBuf) -> Result<Response, DaemonError> {
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(json(bytes, true)),
        Err(e) => Err(DaemonError::internal(format!("committed metadata is missing: {}", path.display()), e)),
    }
}

pub(super) async fn tuf(State(mirror): State<Arc<Mirror>>, Path(file): Path<String>) -> Result<Response, DaemonError> {
    let current = mirror.publisher().current();
    let keys = mirror.publisher().keys();
    match file.as_str() {
        "timestamp.json" => return Ok(json(current.timestamp_json.clone(), false)),
        "root.json" => return keys.roots.last().map(|r| json(r.bytes.clone(), false)).ok_or(DaemonError::NotFound),
        _ => {}
    }
    match versioned(&file) {
        Some((n, "root")) => keys
            .roots
            .get((n as usize).wrapping_sub(1))
            .map(|r| json(r.bytes.clone(), true))
            .ok_or(DaemonError::NotFound),
        Some((n, "snapshot" | "targets")) if n >= 1 && n <= current.version() => read(mirror.dir().tuf(&file)).await,
        _ => Err(DaemonError::NotFound),
    }
}

pub(super) async fn history(
    State(mirror): State<Arc<Mirror>>,
    Path(file): Path<String>,
) -> Result<Response, DaemonError> {
    let current = mirror.publisher().current();
    match versioned(&file) {
        Some((n, "diff")) if n >= 1 && n <= current.version() => read(mirror.dir().history(&file)).await,
        Some((n, "timestamp")) if n >= 1 && n <= current.record.timestamp_version => {
            read(mirror.dir().history(&file)).await
        }
        _ => Err(DaemonError::NotFound),
    }
}

/// Snapshot `version` if it is retained, and until when: the one gate of every
/// `/snapshots/N/...` route.
fn retained(
    mirror: &Mirror,
    version: &str,
) -> Result<(Arc<tufmirror_mirror::published::Published>, u64, time::OffsetDateTime), DaemonError> {
    let version = crate::canonical_version(version).ok_or(DaemonError::NotFound)?;
    let (published, until) =
        mirror.retention().retained_snapshot(version).ok_or(DaemonError::NotRetained { version })?;
    Ok((published, version, until))
}

fn with_retention(mut response: Response, until: time::OffsetDateTime) -> Response {
    if let Ok(v) = HeaderValue::from_str(&tufmirror_core::time::format(until)) {
        response.headers_mut().insert(RETAINED_HEADER, v);
    }
    response
}

pub(super) async fn leaves(
    State(mirror): State<Arc<Mirror>>,
    Path(version): Path<String>,
) -> Result<Response, DaemonError> {
    let (published, version, until) = retained(&mirror, &version)?;
    let bytes = mirror
        .storage()
        .blobs
        .get(&published.record.leaves)
        .map_err(|e| DaemonError::internal(format!("leaf list of snapshot {version} unreadable"), e))?;
    Ok(with_retention(json(bytes, true), until))
}

/// `/snapshots/N/index/<path>`: snapshot N exactly as signed (cargo can be pointed at
/// `sparse+URL/snapshots/N/index/` to resolve as of N).
pub(super) async fn snapshot_index(
    State(mirror): State<Arc<Mirror>>,
    Path((version, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, DaemonError> {
    let (published, version, until) = retained(&mirror, &version)?;
    if let Some(response) = config_response(&mirror, &headers, &path) {
        return Ok(with_retention(response, until));
    }
    let response = match published.tree.prove(&path, version) {
        PathProof::Included(proof) => {
            let bytes =
                mirror.storage().blobs.get(&proof.leaf_contents.sha256).map_err(|e| {
                    DaemonError::internal(format!("index file {path} of snapshot {version} unreadable"), e)
                })?;
            served_response(&headers, &tufmirror_mirror::cache::ServedFile::new(&proof, bytes, 0))
        }
        PathProof::Absent(_) => answers::proven_absent(None),
    };
    Ok(with_retention(response, until))
}

/// `/snapshots/N/proofs/<path>`: the inclusion proof alone (for hosts that cannot send headers).
pub(super) async fn snapshot_proof(
    State(mirror): State<Arc<Mirror>>,
    Path((version, path)): Path<(String, String)>,
) -> Result<Response, DaemonError> {
    let (published, version, until) = retained(&mirror, &version)?;
    match published.tree.prove(&path, version) {
        PathProof::Included(proof) => Ok(with_retention(json(proof.to_canonical_json(), true), until)),
        PathProof::Absent(_) => Err(DaemonError::NotFound),
    }
}

/// `/audit/<path>`: what the auditor wrote into `DATA/audit/`, regular files only and no links
/// (see `crate::files`).
pub(super) async fn audit(
    State(mirror): State<Arc<Mirror>>,
    Path(path): Path<String>,
) -> Result<Response, DaemonError> {
    let rel = format!("audit/{path}");
    crate::files::serve_beneath(mirror.dir().root.clone(), rel.clone(), crate::files::Links::Never)
        .await
        .map_err(|source| DaemonError::File(NotServed { path: rel, source }))
}
