//! `awskms:` against ministack's KMS (`common::ministack`): what is particular to AWS KMS. Signing,
//! verification by tufmirror-core and python-tuf, the 4096-byte limit of Ed25519 keys, refused and
//! missing credentials, a missing key and an unreachable endpoint are checked for every backend
//! alike in `backends.rs`.
//!
//! The AWS SDK takes credentials and region from its environment, which a test cannot set for
//! itself: each test starts ministack, then runs itself again as a child (`common::child`) with the
//! fixture's AWS files in its environment; the child does the in-process part.
#![cfg(feature = "awskms")]

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::chain;
use common::child::{child_dir, mark, run_child_async};
use common::ministack::{Kms, Ministack, REGION};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tufmirror_signer::awskms::AwsKmsSigner;
use tufmirror_signer::{Signer, SignerError, SignerUri, open_signer};

async fn open_err(uri: &str) -> SignerError {
    match open_signer(uri, Path::new("/")).await {
        Ok(signer) => panic!("{uri} opened as {signer:?}"),
        Err(e) => e,
    }
}

/// Starts ministack and runs `test` as a child with its AWS files and `env`.
async fn with_ministack(test: &'static str, env: Vec<(String, String)>) -> Ministack {
    let kms = tokio::task::spawn_blocking(Ministack::start).await.expect("start ministack");
    let mut all = kms.env();
    all.extend(env);
    run_child_async(test, kms.dir().to_owned(), all).await;
    kms
}

/// In a child, runs `body` with the parent's ministack and returns true.
async fn in_child<F: Future<Output = ()>>(test: &str, body: impl FnOnce(Kms) -> F) -> bool {
    let Some(dir) = child_dir() else {
        return false;
    };
    body(Kms::load(&dir)).await;
    mark(&dir, test);
    true
}

#[tokio::test]
async fn only_signing_keys_of_the_two_tuf_key_types_are_accepted() {
    const TEST: &str = "only_signing_keys_of_the_two_tuf_key_types_are_accepted";
    if in_child(TEST, |kms| async move {
        for (key, why) in [
            ("p384", "key spec ECC_NIST_P384; tufmirror signs with ECC_NIST_EDWARDS25519 or ECC_NIST_P256 keys"),
            ("rsa", "key spec RSA_2048"),
            // Real KMS (and ministack) refuses GetPublicKey for a symmetric key.
            ("aes", "cannot sign: UnsupportedOperationException"),
            ("rsa-encrypt", "key usage ENCRYPT_DECRYPT; tufmirror signs with SIGN_VERIFY keys"),
        ] {
            let err = open_err(&kms.uri(&kms.key_id(key), "signer", "")).await;
            assert!(matches!(err, SignerError::BadResponse { .. }), "{key}: {err:?}");
            assert!(chain(&err).contains(why), "{key}: {}", chain(&err));
        }
    })
    .await
    {
        return;
    }
    with_ministack(TEST, Vec::new()).await;
}

#[tokio::test]
async fn an_alias_is_pinned_to_the_key_it_named_when_opened() {
    const TEST: &str = "an_alias_is_pinned_to_the_key_it_named_when_opened";
    if in_child(TEST, |kms| async move {
        let uri = kms.uri("alias/tufmirror-ed25519", "signer", "");
        let signer = Arc::new(pinned(&uri).await);
        assert_eq!(signer.key_arn(), kms.key_arn("ed25519"));
        let ed25519 = signer.public_key().clone();
        assert_eq!(ed25519.scheme(), "ed25519");

        // The alias now names the P-256 key: the signer keeps signing with the Ed25519 key.
        kms.script(&["update-alias", "alias/tufmirror-ed25519", &kms.key_id("p256")]).ok();
        let tasks: Vec<_> = (0..8u8)
            .map(|i| {
                let signer = Arc::clone(&signer);
                tokio::spawn(async move { (i, signer.sign(&[b'm', i]).await) })
            })
            .collect();
        for task in tasks {
            let (i, sig) = task.await.expect("task");
            ed25519.verify(&[b'm', i], &sig.expect("sign after the alias moved")).expect("the pinned key signed");
        }
        // Opened again, the alias names the P-256 key.
        let reopened = open_signer(&uri, Path::new("/")).await.expect("open again");
        assert_eq!(reopened.public_key().scheme(), "ecdsa-sha2-nistp256");
        let debug = format!("{signer:?}");
        assert!(debug.contains(&kms.key_arn("ed25519")) && debug.contains("alias/tufmirror-ed25519"), "{debug}");
        for secret in kms.secrets() {
            assert!(!debug.contains(&secret), "{debug}");
        }
    })
    .await
    {
        return;
    }
    with_ministack(TEST, Vec::new()).await;
}

async fn pinned(uri: &str) -> AwsKmsSigner {
    match SignerUri::parse(uri, Path::new("/")).expect("valid URI") {
        SignerUri::AwsKms(uri) => AwsKmsSigner::open(*uri).await.expect("open"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_region_comes_from_the_uri_the_arn_or_the_profile() {
    const TEST: &str = "the_region_comes_from_the_uri_the_arn_or_the_profile";
    if in_child(TEST, |kms| async move {
        let id = kms.key_id("p256");
        // From the profile (signer's profile says REGION), from region=, from the ARN.
        for uri in [
            kms.uri(&id, "signer", ""),
            kms.uri(&id, "no-region", &format!("&region={REGION}")),
            kms.uri(&kms.key_arn("p256"), "no-region", ""),
        ] {
            let signer = open_signer(&uri, Path::new("/")).await.unwrap_or_else(|e| panic!("{uri}: {}", chain(&e)));
            let sig = signer.sign(b"message").await.expect("sign");
            signer.public_key().verify(b"message", &sig).expect("verifies");
        }
        // KMS keys are regional: region= wins over the profile, and the key is not in us-east-1.
        let err = open_err(&kms.uri(&id, "signer", "&region=us-east-1")).await;
        assert!(matches!(&err, SignerError::KeyNotFound { backend, .. } if backend.contains("us-east-1")), "{err:?}");
        // No region anywhere.
        let err = open_err(&kms.uri(&id, "no-region", "")).await;
        assert!(matches!(err, SignerError::BadUri { .. }), "{err:?}");
        assert!(chain(&err).contains("no AWS region"), "{}", chain(&err));
    })
    .await
    {
        return;
    }
    with_ministack(TEST, Vec::new()).await;
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_times_out() {
    const TEST: &str = "an_endpoint_that_does_not_answer_times_out";
    if in_child(TEST, |kms| async move {
        // Connections are accepted (by the kernel's backlog) and never answered.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = silent.local_addr().expect("address");
        let uri = format!("awskms:{}?endpoint=http://{addr}&profile=signer&timeout=0.5", kms.key_id("p256"));
        let start = Instant::now();
        let err = open_err(&uri).await;
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        assert!(matches!(&err, SignerError::Timeout { after, .. } if *after == Duration::from_millis(500)), "{err:?}");
        drop(silent);
    })
    .await
    {
        return;
    }
    with_ministack(TEST, Vec::new()).await;
}

/// Runs in a child whose only trusted CA (`SSL_CERT_FILE`, as the operating system's store) is
/// the one `TUFMIRROR_TEST_CA` names; `TUFMIRROR_TEST_FRONT` is the HTTPS front of ministack.
#[tokio::test]
async fn https_trusts_the_operating_system_store() {
    const TEST: &str = "https_trusts_the_operating_system_store";
    if in_child(TEST, |kms| async move {
        let front = std::env::var("TUFMIRROR_TEST_FRONT").expect("front");
        let uri = format!("awskms:{}?endpoint={front}&profile=signer", kms.key_arn("p256"));
        match std::env::var("TUFMIRROR_TEST_CA").expect("which CA").as_str() {
            "front" => {
                let signer = open_signer(&uri, Path::new("/")).await.unwrap_or_else(|e| panic!("{}", chain(&e)));
                let sig = signer.sign(b"over https").await.expect("sign over https");
                signer.public_key().verify(b"over https", &sig).expect("verifies");
            }
            _ => {
                let err = open_err(&uri).await;
                assert!(matches!(err, SignerError::Unreachable { .. }), "{err:?}");
                let text = chain(&err);
                assert!(text.contains(&front) && text.contains("invalid peer certificate"), "{text}");
            }
        }
    })
    .await
    {
        return;
    }
    let kms = tokio::task::spawn_blocking(Ministack::start).await.expect("start ministack");
    let upstream: SocketAddr = kms.endpoint.trim_start_matches("http://").parse().expect("address");
    let pki = tufmirror_testkit::tls::test_pki();
    let router = axum::Router::new().fallback(forward).with_state(upstream);
    let (front, _) = tufmirror_testkit::tls::serve_tls(router, &pki).await;
    let front = front.trim_end_matches('/').to_owned();
    let dir = kms.dir().to_owned();
    std::fs::write(dir.join("front-ca.pem"), &pki.ca_pem).expect("CA");
    std::fs::write(dir.join("other-ca.pem"), tufmirror_testkit::tls::test_pki().ca_pem).expect("CA");
    std::fs::create_dir_all(dir.join("no-certs")).expect("dir");
    for ca in ["front", "other"] {
        let mut env = kms.env();
        env.extend([
            ("SSL_CERT_FILE".to_owned(), dir.join(format!("{ca}-ca.pem")).display().to_string()),
            ("SSL_CERT_DIR".to_owned(), dir.join("no-certs").display().to_string()),
            ("TUFMIRROR_TEST_CA".to_owned(), ca.to_owned()),
            ("TUFMIRROR_TEST_FRONT".to_owned(), front.clone()),
        ]);
        run_child_async(TEST, dir.clone(), env).await;
    }
}

/// The HTTPS front: forwards each request to ministack over plain HTTP/1.1, unchanged (the
/// `host` header included, which the SigV4 signature covers).
async fn forward(State(upstream): State<SocketAddr>, request: Request) -> Response {
    match forward_inner(upstream, request).await {
        Ok(response) => response,
        Err(e) => (StatusCode::BAD_GATEWAY, e).into_response(),
    }
}

async fn forward_inner(upstream: SocketAddr, request: Request) -> Result<Response, String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.map_err(|e| e.to_string())?;
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!("{} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n", parts.method);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "connection" | "content-length" | "transfer-encoding") {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().map_err(|e| e.to_string())?));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut tcp = tokio::net::TcpStream::connect(upstream).await.map_err(|e| e.to_string())?;
    tcp.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    tcp.write_all(&body).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;

    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse::<u16>().ok()).ok_or("status")?;
    let mut response = Response::builder().status(status);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            body = dechunk(&body)?;
        } else if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding" | "keep-alive") {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(body)).map_err(|e| e.to_string())
}

fn dechunk(mut chunked: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = chunked.windows(2).position(|w| w == b"\r\n").ok_or("chunk size")?;
        let size_text = String::from_utf8_lossy(&chunked[..end]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).map_err(|e| e.to_string())?;
        chunked = &chunked[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(chunked.get(..size).ok_or("short chunk")?);
        chunked = chunked.get(size + 2..).ok_or("chunk end")?;
    }
}
