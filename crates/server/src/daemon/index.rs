//! What cargo asks for: `/index/config.json`, `/index/<path>`, `/crates/<name>/<vers>/download`.

use crate::PROOF_HEADER;
use crate::index::proof_header;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tower::ServiceExt as _;
use tufmirror_core::Sha256Hash;
use tufmirror_mirror::downloads::DownloadError;
use tufmirror_mirror::{CheckError, IndexAnswer, Mirror};

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes())
}

/// A ready-made answer (or 304) from the mirror's response cache.
pub(super) fn served_response(headers: &HeaderMap, file: &tufmirror_mirror::cache::ServedFile) -> Response {
    let mut response = if not_modified(headers, &file.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/plain")], file.bytes.clone()).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.proof_header) {
        h.insert(PROOF_HEADER, v);
    }
    response
}

/// `config.json` (also under its consistent-snapshot name `<sha256>.config.json`).
pub(super) fn config_response(mirror: &Mirror, headers: &HeaderMap, name: &str) -> Option<Response> {
    let config = mirror.publisher().config_json();
    let sha = Sha256Hash::of(config);
    if name != "config.json" && name != format!("{sha}.config.json") {
        return None;
    }
    let etag = format!("\"{sha}\"");
    let mut response = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], config.to_vec()).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Some(response)
}

pub(super) async fn index(State(mirror): State<Arc<Mirror>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.ends_with("config.json") && !path.contains('/') {
        return config_response(&mirror, &headers, &path).unwrap_or_else(|| StatusCode::NOT_FOUND.into_response());
    }
    match mirror.lookup().index_file(&path).await {
        IndexAnswer::Found(file) => served_response(&headers, &file),
        IndexAnswer::Missing { proof, .. } => {
            let mut response = (StatusCode::NOT_FOUND, "crate not found\n").into_response();
            if let Some(v) = proof_header(&proof.to_canonical_json()) {
                response.headers_mut().insert(PROOF_HEADER, v);
            }
            response
        }
        IndexAnswer::NotAnIndexPath => (StatusCode::NOT_FOUND, "not an index path\n").into_response(),
        IndexAnswer::Failed(error) => match *error {
            CheckError::NotAsked { retry_after } => {
                // Whole seconds, at least 1: "Retry-After: 0" would invite a retry storm.
                let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
                let body = "the mirror is not asking upstream about this crate right now; retry later\n";
                (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, seconds.to_string())], body).into_response()
            }
            ref error => {
                (StatusCode::BAD_GATEWAY, format!("{}\n", tufmirror_mirror::error_chain(error))).into_response()
            }
        },
        IndexAnswer::Damaged(error) => {
            tracing::error!(error = %tufmirror_mirror::error_chain(&error), "cannot serve an index file");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

pub(super) async fn download(
    State(mirror): State<Arc<Mirror>>,
    Path((name, vers)): Path<(String, String)>,
    request: Request,
) -> Response {
    match mirror.downloads().crate_file(&name, &vers).await {
        Ok(path) => {
            let mut response = match tower_http::services::ServeFile::new(path).oneshot(request).await {
                Ok(r) => r.map(Body::new),
                Err(e) => match e {},
            };
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
            response
        }
        Err(e @ DownloadError::NotFound { .. }) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
        Err(e @ (DownloadError::Mismatch { .. } | DownloadError::Upstream { .. })) => {
            (StatusCode::BAD_GATEWAY, format!("{}\n", tufmirror_mirror::error_chain(&e))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %tufmirror_mirror::error_chain(&e), "crate download failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}
