//! What cargo asks for: `/index/config.json`, `/index/<path>`, `/crates/<name>/<vers>/download`.

use crate::answers;
use crate::error::DaemonError;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use std::sync::Arc;
use tower::ServiceExt as _;
use tufmirror_core::{Sha256Hash, wire};
use tufmirror_mirror::{CheckError, IndexAnswer, Mirror};

/// A ready-made answer (or 304) from the mirror's response cache.
pub(super) fn served_response(headers: &HeaderMap, file: &tufmirror_mirror::cache::ServedFile) -> Response {
    let body = (!answers::not_modified(headers, &file.etag)).then(|| file.bytes.clone());
    answers::file("text/plain", body, &file.etag, Some(&file.proof_header))
}

/// `config.json` (also under its consistent-snapshot name `<sha256>.config.json`); `None` for
/// any other name.
pub(super) fn config_response(mirror: &Mirror, headers: &HeaderMap, name: &str) -> Option<Response> {
    let config = mirror.publisher().config_json();
    let sha = Sha256Hash::of(config);
    if name != "config.json" && name != format!("{sha}.config.json") {
        return None;
    }
    let etag = wire::etag_of(&sha);
    let body = (!answers::not_modified(headers, &etag)).then(|| Bytes::copy_from_slice(config));
    Some(answers::file("application/json", body, &etag, None))
}

/// The engine's answer for an index file, as HTTP: the one place that reads [`IndexAnswer`].
fn index_answer(headers: &HeaderMap, answer: IndexAnswer) -> Result<Response, DaemonError> {
    match answer {
        IndexAnswer::Found(file) => Ok(served_response(headers, &file)),
        IndexAnswer::Missing { proof, .. } => Ok(answers::proven_absent(Some(&proof))),
        IndexAnswer::NotAnIndexPath => Err(DaemonError::NotAnIndexPath),
        IndexAnswer::Failed(error) => match *error {
            CheckError::NotAsked { retry_after } => Err(DaemonError::Busy { retry_after }),
            _ => Err(DaemonError::Upstream(error)),
        },
        IndexAnswer::Damaged(error) => Err(DaemonError::internal("cannot serve an index file", error)),
    }
}

pub(super) async fn index(
    State(mirror): State<Arc<Mirror>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, DaemonError> {
    if path.ends_with("config.json") && !path.contains('/') {
        return config_response(&mirror, &headers, &path).ok_or(DaemonError::NotFound);
    }
    index_answer(&headers, mirror.lookup().index_file(&path).await)
}

pub(super) async fn download(
    State(mirror): State<Arc<Mirror>>,
    Path((name, vers)): Path<(String, String)>,
    request: Request,
) -> Result<Response, DaemonError> {
    let path = mirror.downloads().crate_file(&name, &vers).await?;
    let mut response = match tower_http::services::ServeFile::new(path).oneshot(request).await {
        Ok(r) => r.map(Body::new),
        Err(e) => match e {},
    };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
    Ok(response)
}
