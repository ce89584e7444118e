//! The daemon's router ([`tufmirror_server::daemon::app`]) over a [`Mirror`] opened in-process
//! (a temporary data folder, the testkit's fake upstream on loopback), asked with `oneshot`: no
//! process, no listener of our own. One mirror, synced once, answers every case below.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt as _;
use tufmirror_core::merkle::{InclusionProof, NonInclusionProof};
use tufmirror_core::metadata::Timestamp;
use tufmirror_core::{Sha256Hash, wire};
use tufmirror_mirror::{Config, Mirror};
use tufmirror_testkit::upstream::FakeUpstream;

fn fixture_index() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/crates-io-sample/index")
}

/// A mirror of `log` (and what it depends on) from `upstream`, nothing fetched on demand.
async fn mirror(dir: &Path, upstream: &FakeUpstream) -> Arc<Mirror> {
    let text = format!(
        r#"[storage]
data_dir = "{data}"
[upstream]
index_url = "{url}"
timeout = "3s"
retries = 0
[mirror]
on_demand = false
seeds = ["log"]
[keys]
root_dir = "{data}/keys"
targets = "file:{data}/keys/targets.pem"
snapshot = "file:{data}/keys/snapshot.pem"
timestamp = "file:{data}/keys/timestamp.pem"
"#,
        data = dir.join("data").display(),
        url = upstream.url(),
    );
    let path = dir.join("tufmirror.toml");
    std::fs::write(&path, text).expect("write config");
    let config = Config::load(Some(&path), |_| None).expect("config");
    let mirror = Mirror::open(config, Default::default()).await.expect("open");
    mirror.refresh().sync_all(&tufmirror_mirror::refresh::LogProgress::default()).await.expect("sync");
    mirror
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

async fn ask(mirror: &Arc<Mirror>, request: axum::http::request::Builder) -> Answer {
    let response = tufmirror_server::daemon::app(mirror.clone())
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body").to_vec();
    Answer { status: parts.status, headers: parts.headers, body }
}

async fn get(mirror: &Arc<Mirror>, uri: &str) -> Answer {
    ask(mirror, Request::get(uri)).await
}

#[tokio::test]
async fn the_daemon_router_answers_cargo_operators_and_admins() {
    let upstream = FakeUpstream::start().await.expect("fake upstream");
    upstream.load_index_dir(&fixture_index()).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let mirror = mirror(dir.path(), &upstream).await;
    let current = mirror.publisher().current();
    let ts =
        tufmirror_core::verify::parse_unverified::<Timestamp>(&current.timestamp_json).expect("timestamp").0.signed;
    let (root, size, version) = (ts.merkle_root.expect("root"), ts.merkle_tree_size.expect("size"), current.version());

    // An index file: its bytes, ETag and proof; then 304 for the same ETag, with the proof.
    let file = get(&mirror, "/index/3/l/log").await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, std::fs::read(fixture_index().join("3/l/log")).expect("fixture"));
    let etag = wire::etag_of(&Sha256Hash::of(&file.body));
    assert_eq!(file.header(header::ETAG), Some(etag.as_str()));
    let proof: InclusionProof = wire::decode_proof(file.header(wire::PROOF_HEADER).expect("proof")).expect("decodes");
    proof.verify_file("3/l/log", &file.body, &root, size, version).expect("the proof verifies");
    let again = ask(&mirror, Request::get("/index/3/l/log").header(header::IF_NONE_MATCH, &etag)).await;
    assert_eq!((again.status, again.body.len()), (StatusCode::NOT_MODIFIED, 0));
    assert_eq!(again.header(wire::PROOF_HEADER), file.header(wire::PROOF_HEADER));
    assert_eq!(again.header(header::ETAG), Some(etag.as_str()));

    // A crate the snapshot does not hold: a plain 404 with the proof of its absence.
    let missing = get(&mirror, "/index/no/ne/nonexistent").await;
    assert_eq!((missing.status, missing.text()), (StatusCode::NOT_FOUND, "crate not found\n"));
    let absent: NonInclusionProof =
        wire::decode_proof(missing.header(wire::PROOF_HEADER).expect("proof")).expect("decodes");
    absent.verify("no/ne/nonexistent", &root, size, version).expect("absence proven");

    let bad = get(&mirror, "/index/NotAPath").await;
    assert_eq!((bad.status, bad.text()), (StatusCode::NOT_FOUND, "not an index path\n"));
    assert!(bad.header(wire::PROOF_HEADER).is_none());
    let download = get(&mirror, "/crates/nonexistent/1.0.0/download").await;
    assert_eq!((download.status, download.text()), (StatusCode::NOT_FOUND, "nonexistent 1.0.0 is not in the mirror\n"));

    // Config: by both names, with an ETag that answers 304.
    let config = get(&mirror, "/index/config.json").await;
    assert_eq!(config.status, StatusCode::OK);
    let config_etag = wire::etag_of(&Sha256Hash::of(&config.body));
    assert_eq!(config.header(header::ETAG), Some(config_etag.as_str()));
    let named = get(&mirror, &format!("/index/{}.config.json", Sha256Hash::of(&config.body))).await;
    assert_eq!((named.status, &named.body), (StatusCode::OK, &config.body));
    let again = ask(&mirror, Request::get("/index/config.json").header(header::IF_NONE_MATCH, &config_etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(get(&mirror, "/index/0000.config.json").await.status, StatusCode::NOT_FOUND);

    // Retained snapshots carry their retention; others are named in the 404.
    let leaves = get(&mirror, &format!("/snapshots/{version}/leaves.json")).await;
    assert_eq!(leaves.status, StatusCode::OK);
    assert!(leaves.header(wire::RETAINED_HEADER).is_some());
    let gone = get(&mirror, "/snapshots/999/leaves.json").await;
    assert_eq!(
        (gone.status, gone.text()),
        (StatusCode::NOT_FOUND, "snapshot 999 is not retained (or does not exist)\n")
    );
    assert_eq!(get(&mirror, "/snapshots/01/leaves.json").await.status, StatusCode::NOT_FOUND);
    let old_absent = get(&mirror, &format!("/snapshots/{version}/index/no/ne/nonexistent")).await;
    assert_eq!((old_absent.status, old_absent.text()), (StatusCode::NOT_FOUND, "crate not found\n"));
    assert!(old_absent.header(wire::RETAINED_HEADER).is_some());

    // Operators.
    let health = get(&mirror, "/healthz").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok\n"));
    let ready = get(&mirror, "/readyz").await;
    assert_eq!((ready.status, ready.text()), (StatusCode::OK, format!("ready: snapshot {version}\n").as_str()));
    assert_eq!(get(&mirror, "/tuf/timestamp.json").await.status, StatusCode::OK);
    let nothing = get(&mirror, "/tuf/9.snapshot.json").await;
    assert_eq!((nothing.status, nothing.text()), (StatusCode::NOT_FOUND, ""));
    assert_eq!(get(&mirror, "/audit/..%2Fadmin.token").await.status, StatusCode::NOT_FOUND);

    // Admins: the token, and nothing else, opens /admin/.
    for authorization in [None, Some("Bearer wrong"), Some(mirror.admin_token())] {
        let mut request = Request::get("/admin/quarantine");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let refused = ask(&mirror, request).await;
        assert_eq!((refused.status, refused.text()), (StatusCode::UNAUTHORIZED, "missing or wrong admin token\n"));
    }
    let token = format!("Bearer {}", mirror.admin_token().trim());
    let list = ask(&mirror, Request::get("/admin/quarantine").header(header::AUTHORIZATION, &token)).await;
    assert_eq!((list.status, list.text()), (StatusCode::OK, "[]"));
    let not_held =
        ask(&mirror, Request::post("/admin/quarantine/reject?path=3/l/log").header(header::AUTHORIZATION, &token))
            .await;
    assert_eq!((not_held.status, not_held.text()), (StatusCode::NOT_FOUND, "3/l/log is not in quarantine\n"));
    mirror.close().await;
}
