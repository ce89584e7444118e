//! `GET /index/<path>`.

use crate::answers;
use crate::error::{BoxError, NotServed, StaticError};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, RwLock};
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{MerkleTree, PathProof};
use tufmirror_core::wire;

/// The repository directory and the tree of the snapshot last served.
#[derive(Debug)]
pub struct RepoState {
    dir: std::path::PathBuf,
    tree: RwLock<Option<(u64, Arc<MerkleTree>)>>,
}

impl RepoState {
    /// The state of `serve-static` over the published repository in `dir`.
    pub fn new(dir: std::path::PathBuf) -> Self {
        RepoState { dir, tree: RwLock::new(None) }
    }

    fn current_version(&self) -> Result<u64, StaticError> {
        let target = std::fs::read_link(self.dir.join("current")).map_err(|_| StaticError::NothingPublished)?;
        target
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StaticError::BadCurrent { target: target.display().to_string() })
    }

    async fn tree(&self, version: u64) -> Result<Arc<MerkleTree>, StaticError> {
        if let Ok(guard) = self.tree.read()
            && let Some((v, tree)) = guard.as_ref()
            && *v == version
        {
            return Ok(tree.clone());
        }
        let path = self.dir.join("snapshots").join(version.to_string()).join("leaves.json");
        let what = path.display().to_string();
        let damaged = |source: BoxError| StaticError::Damaged { what: what.clone(), source };
        let tree = tokio::task::spawn_blocking(move || -> Result<MerkleTree, BoxError> {
            let bytes = std::fs::read(&path)?;
            let list: LeafList = serde_json::from_slice(&bytes)?;
            Ok(MerkleTree::build(list.leaves)?)
        })
        .await
        .map_err(|e| damaged(e.into()))?
        .map_err(damaged)?;
        let tree = Arc::new(tree);
        if let Ok(mut guard) = self.tree.write() {
            *guard = Some((version, tree.clone()));
        }
        Ok(tree)
    }
}

pub(crate) async fn get_index(
    State(state): State<Arc<RepoState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, StaticError> {
    let version = state.current_version()?;
    let file = |path: &str| {
        let (dir, rel) = (state.dir.clone(), format!("snapshots/{version}/index/{path}"));
        async move {
            crate::files::read_beneath_async(dir, rel.clone(), crate::files::Links::Inside)
                .await
                .map_err(|source| StaticError::File(NotServed { path: rel, source }))
        }
    };
    if path == "config.json" || path.ends_with(".config.json") && !path.contains('/') {
        let bytes = file(&path).await?;
        return Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response());
    }
    if tufmirror_index::crate_of_path(&path).is_err() {
        return Err(StaticError::NotAnIndexPath);
    }
    let tree = state.tree(version).await?;
    match tree.prove(&path, version) {
        PathProof::Included(proof) => {
            let etag = wire::etag_of(&proof.leaf_contents.sha256);
            let body = if answers::not_modified(&headers, &etag) {
                None
            } else {
                // The tree lists the file, so failing to read it is damage, not a 404.
                let bytes =
                    file(&path).await.map_err(|e| StaticError::Damaged { what: path.clone(), source: e.into() })?;
                Some(bytes.into())
            };
            let proof = wire::encode_proof(&proof.to_canonical_json());
            Ok(answers::file("text/plain", body, &etag, Some(&proof)))
        }
        PathProof::Absent(absent) => Ok(answers::proven_absent(Some(&absent))),
    }
}
