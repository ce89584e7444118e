//! `serve-static`'s router ([`tufmirror_server::app`]) over a repository published in-process
//! from the fixture index, asked with `oneshot`: no process, no socket. What a client relies on:
//! index files with their ETag and proof, 304, proven 404s, and nothing from outside the tree.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tower::ServiceExt as _;
use tufmirror_core::merkle::{InclusionProof, NonInclusionProof};
use tufmirror_core::metadata::Timestamp;
use tufmirror_core::{Sha256Hash, wire};

fn fixture_index() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/crates-io-sample/index")
}

/// Development keys and one snapshot of the fixture index, as `tufmirror publish` writes them:
/// made once and shared by the tests (a publish is most of their time), which only read it.
fn published() -> &'static Path {
    static REPO: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &REPO
        .get_or_init(|| {
            // On a thread of its own: the caller's runtime cannot block on another.
            std::thread::spawn(|| {
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(publish())
            })
            .join()
            .expect("publish thread")
        })
        .1
}

async fn publish() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = tmp.path().join("keys");
    let now = time::OffsetDateTime::now_utc();
    let expires = now + time::Duration::days(365);
    tufmirror_repo::keys::generate_development_keys(&keys, tufmirror_signer::KeyAlgorithm::Ed25519, expires)
        .await
        .expect("keys");
    let out = tmp.path().join("out");
    let options = tufmirror_repo::publish::PublishOptions {
        index_dir: fixture_index(),
        keys_dir: keys,
        out_dir: out.clone(),
        dl: None,
        keep: 2,
        expiries: Default::default(),
        static_proofs: false,
        now,
    };
    tufmirror_repo::publish::publish(&options).await.expect("publish");
    // A secret next to the repository, and a link to it inside the tree (which must not serve it).
    std::fs::write(tmp.path().join("secret"), b"secret").expect("write");
    std::os::unix::fs::symlink("../../secret", out.join("tuf/escape.json")).expect("link");
    (tmp, out)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii header"))
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

async fn get(out: &Path, uri: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(etag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let response = tufmirror_server::app(out.to_owned())
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body").to_vec();
    Answer { status: parts.status, headers: parts.headers, body }
}

fn timestamp(out: &Path) -> Timestamp {
    let bytes = std::fs::read(out.join("tuf/timestamp.json")).expect("timestamp");
    tufmirror_core::verify::parse_unverified::<Timestamp>(&bytes).expect("timestamp").0.signed
}

#[tokio::test]
async fn index_files_carry_etag_and_proof_and_a_matching_etag_is_304() {
    let out = published();
    let ts = timestamp(out);
    let (root, size) = (ts.merkle_root.expect("root"), ts.merkle_tree_size.expect("size"));

    let file = get(out, "/index/3/l/log", None).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, std::fs::read(fixture_index().join("3/l/log")).expect("fixture"));
    assert_eq!(file.header(header::CONTENT_TYPE), Some("text/plain"));
    let etag = wire::etag_of(&Sha256Hash::of(&file.body));
    assert_eq!(file.header(header::ETAG), Some(etag.as_str()));
    let proof: InclusionProof = wire::decode_proof(file.header(wire::PROOF_HEADER).expect("proof")).expect("decodes");
    proof.verify_file("3/l/log", &file.body, &root, size, 1).expect("the proof verifies");

    let again = get(out, "/index/3/l/log", Some(&etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header(header::ETAG), Some(etag.as_str()));
    assert_eq!(again.header(wire::PROOF_HEADER), file.header(wire::PROOF_HEADER), "a 304 carries the proof");

    // Any other validator is a full answer: an older copy, a weak tag, `*`.
    let older = wire::etag_of(&Sha256Hash::of(b"an older file\n"));
    for other in [older.as_str(), &format!("W/{etag}"), "*"] {
        assert_eq!(get(out, "/index/3/l/log", Some(other)).await.status, StatusCode::OK, "{other}");
    }

    let config = get(out, "/index/config.json", None).await;
    assert_eq!((config.status, config.header(header::CONTENT_TYPE)), (StatusCode::OK, Some("application/json")));
}

#[tokio::test]
async fn a_missing_crate_is_a_plain_404_with_its_non_inclusion_proof() {
    let out = published();
    let ts = timestamp(out);
    let (root, size) = (ts.merkle_root.expect("root"), ts.merkle_tree_size.expect("size"));
    for absent in ["no/ne/nonexistent", "1/z", "zz/zz/zzzzz"] {
        let answer = get(out, &format!("/index/{absent}"), None).await;
        assert_eq!((answer.status, answer.text()), (StatusCode::NOT_FOUND, "crate not found\n"), "{absent}");
        let proof: NonInclusionProof =
            wire::decode_proof(answer.header(wire::PROOF_HEADER).expect("proof")).expect("decodes");
        proof.verify(absent, &root, size, 1).unwrap_or_else(|e| panic!("{absent}: {e}"));
        assert!(answer.header(header::ETAG).is_none(), "{absent}");
    }
}

#[tokio::test]
async fn bad_paths_and_paths_out_of_the_tree_are_404s_that_say_nothing() {
    let out = published();
    for bad in ["/index/NotAPath", "/index/3/l/lo", "/index/3/x/log/more", "/index/3/l/%2E%2E"] {
        let answer = get(out, bad, None).await;
        assert_eq!((answer.status, answer.text()), (StatusCode::NOT_FOUND, "not an index path\n"), "{bad}");
        assert!(answer.header(wire::PROOF_HEADER).is_none(), "{bad}");
    }

    // `tuf/escape.json` links to a file next to the repository (see `publish`).
    for escape in [
        "/tuf/escape.json",
        "/tuf/..%2F..%2Fsecret",
        "/tuf/%2E%2E/%2E%2E/secret",
        "/snapshots/1/..%2F..%2F..%2Fsecret",
        "/tuf/",
        "/history/nothing.json",
        "/tuf/2.root.json",
    ] {
        let answer = get(out, escape, None).await;
        assert_eq!((answer.status, answer.text()), (StatusCode::NOT_FOUND, ""), "{escape}");
    }
    // The links a publish writes (inside the tree) are followed.
    let ts = get(out, "/tuf/timestamp.json", None).await;
    assert_eq!((ts.status, ts.header(header::CONTENT_TYPE)), (StatusCode::OK, Some("application/json")));
}

#[tokio::test]
async fn nothing_published_is_503_not_404() {
    let empty = tempfile::tempdir().expect("tempdir");
    let answer = get(empty.path(), "/index/3/l/log", None).await;
    assert_eq!((answer.status, answer.text()), (StatusCode::SERVICE_UNAVAILABLE, "no snapshot published yet\n"));
}
