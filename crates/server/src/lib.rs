//! Serves a repository written by `tufmirror publish` (docs/POUF.md 2.1, 2.2).
//!
//! Index files are answered from the snapshot that `current` points at when the request arrives,
//! together with their inclusion proof in the `TUF-Merkle-Proof` header; a missing crate is a
//! plain 404 carrying a non-inclusion proof. File and proof come from the same snapshot, so one
//! cargo request is one request. Proofs are computed from the snapshot's tree, kept in memory
//! and rebuilt from `leaves.json` when the snapshot changes. Everything else (`tuf/`,
//! `snapshots/`, `history/`, and the auditor's `audit/`) is served as static files.

pub mod daemon;
mod index;

use axum::Router;
use axum::routing::get;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeDir;

pub use index::{PROOF_HEADER, RepoState};

/// The router over the repository at `dir`.
pub fn app(dir: PathBuf) -> Router {
    let state = Arc::new(RepoState::new(dir.clone()));
    let mut router = Router::new().route("/index/{*path}", get(index::get_index)).with_state(state);
    // `audit/`: attestations an auditor writes beside the repository (docs/audit.md).
    for sub in ["tuf", "snapshots", "history", "audit"] {
        router = router.nest_service(&format!("/{sub}"), ServeDir::new(dir.join(sub)));
    }
    router.layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
