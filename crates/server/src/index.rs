//! `GET /index/<path>`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::sync::{Arc, RwLock};
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{MerkleTree, PathProof};

/// The response header that carries a file's Merkle proof (base64 of its canonical JSON).
pub const PROOF_HEADER: &str = "tuf-merkle-proof";

/// The repository directory and the tree of the snapshot last served.
#[derive(Debug)]
pub struct RepoState {
    dir: std::path::PathBuf,
    tree: RwLock<Option<(u64, Arc<MerkleTree>)>>,
}

/// Why a request could not be answered; the cause is logged, the client gets a short message.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("no snapshot has been published yet")]
    NothingPublished,
    #[error("repository damaged: {0}")]
    Damaged(String),
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        match self {
            ServeError::NothingPublished => {
                (StatusCode::SERVICE_UNAVAILABLE, "no snapshot published yet\n").into_response()
            }
            ServeError::Damaged(reason) => {
                tracing::error!(%reason, "cannot serve index");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
            }
        }
    }
}

impl RepoState {
    pub fn new(dir: std::path::PathBuf) -> Self {
        RepoState { dir, tree: RwLock::new(None) }
    }

    fn current_version(&self) -> Result<u64, ServeError> {
        let target = std::fs::read_link(self.dir.join("current")).map_err(|_| ServeError::NothingPublished)?;
        target
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ServeError::Damaged(format!("current points at {}", target.display())))
    }

    async fn tree(&self, version: u64) -> Result<Arc<MerkleTree>, ServeError> {
        if let Ok(guard) = self.tree.read()
            && let Some((v, tree)) = guard.as_ref()
            && *v == version
        {
            return Ok(tree.clone());
        }
        let path = self.dir.join("snapshots").join(version.to_string()).join("leaves.json");
        let tree = tokio::task::spawn_blocking(move || -> Result<MerkleTree, String> {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let list: LeafList = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            MerkleTree::build(list.leaves).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ServeError::Damaged(e.to_string()))?
        .map_err(ServeError::Damaged)?;
        let tree = Arc::new(tree);
        if let Ok(mut guard) = self.tree.write() {
            *guard = Some((version, tree.clone()));
        }
        Ok(tree)
    }
}

pub(crate) fn proof_header(canonical_json: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_str(&base64::engine::general_purpose::STANDARD.encode(canonical_json)).ok()
}

pub(crate) async fn get_index(
    State(state): State<Arc<RepoState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let version = state.current_version().map_err(IntoResponse::into_response)?;
    let file = |path: &str| {
        crate::files::read_beneath_async(
            state.dir.clone(),
            format!("snapshots/{version}/index/{path}"),
            crate::files::Links::Inside,
        )
    };
    if path == "config.json" || path.ends_with(".config.json") && !path.contains('/') {
        return match file(&path).await {
            Ok(bytes) => Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response()),
            Err(_) => Err(StatusCode::NOT_FOUND.into_response()),
        };
    }
    if tufmirror_index::crate_of_path(&path).is_err() {
        return Err((StatusCode::NOT_FOUND, "not an index path\n").into_response());
    }
    let tree = state.tree(version).await.map_err(IntoResponse::into_response)?;
    match tree.prove(&path, version) {
        PathProof::Included(proof) => {
            let etag = format!("\"{}\"", proof.leaf_contents.sha256);
            let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                let bytes =
                    file(&path).await.map_err(|e| ServeError::Damaged(format!("{path}: {e}")).into_response())?;
                ([(header::CONTENT_TYPE, "text/plain")], bytes).into_response()
            };
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            if let Some(v) = proof_header(&proof.to_canonical_json()) {
                h.insert(PROOF_HEADER, v);
            }
            Ok(response)
        }
        PathProof::Absent(absent) => {
            let mut response = (StatusCode::NOT_FOUND, "crate not found\n").into_response();
            if let Some(v) = proof_header(&absent.to_canonical_json()) {
                response.headers_mut().insert(PROOF_HEADER, v);
            }
            Err(response)
        }
    }
}
