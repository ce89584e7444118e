//! Serves a repository written by `tufmirror publish` (docs/POUF.md 2.1, 2.2).
//!
//! Index files are answered from the snapshot that `current` points at when the request arrives,
//! together with their inclusion proof in the `TUF-Merkle-Proof` header; a missing crate is a
//! plain 404 carrying a non-inclusion proof. File and proof come from the same snapshot, so one
//! cargo request is one request. Proofs are computed from the snapshot's tree, kept in memory
//! and rebuilt from `leaves.json` when the snapshot changes. Everything else (`tuf/`,
//! `snapshots/`, `history/`, and the auditor's `audit/`) is served as static files, from inside
//! the repository only (see [`files`]).
//!
//! Requests that cannot be answered become responses in one place per front end, under one
//! policy ([`error`]); the headers, ETags and proof encoding are `tufmirror_core::wire`'s.
#![warn(missing_docs)]

mod answers;
pub mod daemon;
pub mod error;
pub mod files;
pub mod listen;
mod static_index;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use files::Links;
use std::path::PathBuf;
use std::sync::Arc;

pub use listen::{ServeOptions, serve, serve_with};
pub use static_index::RepoState;

/// The router over the repository at `dir`.
pub fn app(dir: PathBuf) -> Router {
    let state = Arc::new(RepoState::new(dir.clone()));
    let mut router = Router::new().route("/index/{*path}", get(static_index::get_index)).with_state(state);
    // `audit/`: attestations an auditor writes beside the repository (docs/audit.md). Links are
    // followed only while they stay inside the repository (`current`, `index` and
    // `tuf/timestamp.json` are links).
    for sub in ["tuf", "snapshots", "history", "audit"] {
        let root = dir.clone();
        router = router.route(
            &format!("/{sub}/{{*path}}"),
            get(move |Path(path): Path<String>| async move {
                let rel = format!("{sub}/{path}");
                files::serve_beneath(root, rel.clone(), Links::Inside)
                    .await
                    .map_err(|source| error::StaticError::File(error::NotServed { path: rel, source }))
            }),
        );
    }
    router.layer(tower_http::trace::TraceLayer::new_for_http())
}

/// A version number from a request path: canonical decimal only (`1`, `42`; not `01`, `+1`,
/// ` 1` or `1_0`), so that each version has exactly one URL and `01.root.json` is not root 1
/// under another name. Version 0 is accepted here; routes decide what it means.
pub fn canonical_version(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::canonical_version;

    #[test]
    fn versions_in_paths_are_canonical_decimal() {
        for (text, want) in [("0", Some(0)), ("1", Some(1)), ("42", Some(42)), ("18446744073709551615", Some(u64::MAX))]
        {
            assert_eq!(canonical_version(text), want, "{text}");
        }
        for text in ["", "01", "00", "+1", "-1", " 1", "1 ", "1_0", "0x1", "1e3", "18446744073709551616", "\u{661}"] {
            assert_eq!(canonical_version(text), None, "{text:?}");
        }
    }
}
