//! `vault:` against a small Vault-transit-compatible server on loopback: real Ed25519 and P-256
//! keys with versions, a token check, and switches that make it misbehave. TLS with a throw-away
//! CA; the token from the environment in a child process (tests cannot set variables).
#![cfg(feature = "vault")]

use tufmirror_testkit::tls;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tufmirror_core::PublicKey;
use tufmirror_signer::vault::VaultSigner;
use tufmirror_signer::{Signer, SignerError, open_signer};

const TOKEN: &str = "hvs.test-token-0123456789";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ed25519,
    EcdsaP256,
    Aes,
}

enum Secret {
    Ed(ed25519_dalek::SigningKey),
    Ec(p256::ecdsa::SigningKey),
}

impl Secret {
    fn generate(kind: Kind) -> Self {
        let mut rng = rand_core::OsRng;
        match kind {
            Kind::Ed25519 | Kind::Aes => Secret::Ed(ed25519_dalek::SigningKey::generate(&mut rng)),
            Kind::EcdsaP256 => Secret::Ec(p256::ecdsa::SigningKey::random(&mut rng)),
        }
    }

    fn public(&self) -> PublicKey {
        match self {
            Secret::Ed(k) => PublicKey::Ed25519(k.verifying_key()),
            Secret::Ec(k) => PublicKey::EcdsaP256(*k.verifying_key()),
        }
    }

    /// As Vault shows it: base64 of the raw key for ed25519, PEM for ecdsa-p256.
    fn public_text(&self) -> String {
        match self {
            Secret::Ed(k) => BASE64.encode(k.verifying_key().as_bytes()),
            Secret::Ec(k) => k.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM"),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Secret::Ed(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
            Secret::Ec(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

struct Key {
    kind: Kind,
    /// Version n is `versions[n - 1]`.
    versions: Vec<Secret>,
}

/// How the server misbehaves, if it does.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Quirk {
    #[default]
    None,
    /// Signs with the latest version whatever `key_version` says, and says so in the prefix.
    IgnoresKeyVersion,
    /// Signs with the latest version but labels the signature with the version asked for.
    LiesAboutVersion,
    /// Answers every request with HTTP 500.
    Fails,
    /// Redirects every request elsewhere.
    Redirects(u16),
    /// Takes this many milliseconds to answer.
    Slow(u64),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    token: Option<String>,
    namespace: Option<String>,
    request_header: Option<String>,
    body: Option<Value>,
}

#[derive(Default)]
struct Inner {
    token: String,
    /// By `mount/name`.
    keys: BTreeMap<String, Key>,
    quirk: Quirk,
    seen: Vec<Seen>,
}

#[derive(Clone, Default)]
struct FakeVault(Arc<Mutex<Inner>>);

impl FakeVault {
    fn new() -> Self {
        let vault = FakeVault::default();
        vault.lock().token = TOKEN.to_owned();
        vault
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().expect("lock")
    }

    fn add_key(&self, path: &str, kind: Kind) -> PublicKey {
        let secret = Secret::generate(kind);
        let public = secret.public();
        self.lock().keys.insert(path.to_owned(), Key { kind, versions: vec![secret] });
        public
    }

    /// Adds a version, as `vault write -f transit/keys/NAME/rotate` does.
    fn rotate(&self, path: &str) -> PublicKey {
        let mut inner = self.lock();
        let key = inner.keys.get_mut(path).expect("key");
        let secret = Secret::generate(key.kind);
        let public = secret.public();
        key.versions.push(secret);
        public
    }

    fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Serves on 127.0.0.1 over plain HTTP; returns `HOST:PORT`.
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr.to_string()
    }

    fn router(&self) -> Router {
        Router::new().fallback(handle).with_state(self.clone())
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn errors(status: StatusCode, messages: &[&str]) -> Response {
    answer(status, json!({ "errors": messages }))
}

/// `/v1/MOUNT.../keys/NAME` (GET) and `/v1/MOUNT.../sign/NAME` (POST), as Vault's transit engine.
async fn handle(State(vault): State<FakeVault>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body_json = serde_json::from_slice::<Value>(&body).ok();
    let quirk = {
        let mut inner = vault.lock();
        inner.seen.push(Seen {
            method: method.clone(),
            path: uri.path().to_owned(),
            token: header("x-vault-token"),
            namespace: header("x-vault-namespace"),
            request_header: header("x-vault-request"),
            body: body_json.clone(),
        });
        inner.quirk
    };
    match quirk {
        Quirk::Slow(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Quirk::Fails => return errors(StatusCode::INTERNAL_SERVER_ERROR, &["internal error", "storage is sealed"]),
        Quirk::Redirects(port) => {
            return (StatusCode::TEMPORARY_REDIRECT, [("location", format!("http://127.0.0.1:{port}{}", uri.path()))])
                .into_response();
        }
        _ => {}
    }
    let inner = vault.lock();
    if header("x-vault-token").as_deref() != Some(inner.token.as_str()) {
        return errors(StatusCode::FORBIDDEN, &["permission denied"]);
    }
    let Some(rest) = uri.path().strip_prefix("/v1/") else {
        return errors(StatusCode::NOT_FOUND, &[]);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() < 3 {
        return errors(StatusCode::NOT_FOUND, &[]);
    }
    let (mount, operation, name) = (parts[..parts.len() - 2].join("/"), parts[parts.len() - 2], parts[parts.len() - 1]);
    let Some(key) = inner.keys.get(&format!("{mount}/{name}")) else {
        return match operation {
            "sign" => errors(StatusCode::BAD_REQUEST, &["signing key not found"]),
            _ => errors(StatusCode::NOT_FOUND, &[]),
        };
    };
    let latest = key.versions.len();
    match (method, operation) {
        (Method::GET, "keys") => {
            let kind = match key.kind {
                Kind::Ed25519 => "ed25519",
                Kind::EcdsaP256 => "ecdsa-p256",
                Kind::Aes => "aes256-gcm96",
            };
            let keys: serde_json::Map<String, Value> = key
                .versions
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let entry = match key.kind {
                        Kind::Aes => json!(1_700_000_000 + i),
                        _ => json!({"creation_time": "2025-01-01T00:00:00Z", "name": kind, "public_key": s.public_text()}),
                    };
                    ((i + 1).to_string(), entry)
                })
                .collect();
            answer(
                StatusCode::OK,
                json!({"request_id": "r", "data": {
                    "name": name, "type": kind, "latest_version": latest, "keys": keys, "derived": false,
                    "min_decryption_version": 1, "min_encryption_version": 0, "supports_signing": key.kind != Kind::Aes,
                }}),
            )
        }
        (Method::POST, "sign") => {
            let Some(body) = body_json else { return errors(StatusCode::BAD_REQUEST, &["invalid JSON"]) };
            let Some(input) = body["input"].as_str().and_then(|i| BASE64.decode(i).ok()) else {
                return errors(StatusCode::BAD_REQUEST, &["missing input"]);
            };
            if key.kind == Kind::EcdsaP256
                && (body["hash_algorithm"] != "sha2-256" || body["marshaling_algorithm"] != "asn1")
            {
                return errors(StatusCode::BAD_REQUEST, &["this test server signs sha2-256/asn1 only"]);
            }
            let asked = body["key_version"].as_u64().map_or(latest, |v| v as usize);
            if asked == 0 || asked > latest {
                return errors(StatusCode::BAD_REQUEST, &["invalid key version"]);
            }
            let (used, label) = match quirk {
                Quirk::IgnoresKeyVersion => (latest, latest),
                Quirk::LiesAboutVersion => (latest, asked),
                _ => (asked, asked),
            };
            let sig = key.versions[used - 1].sign(&input);
            answer(
                StatusCode::OK,
                json!({"data": {"signature": format!("vault:v{label}:{}", BASE64.encode(sig)), "key_version": label}}),
            )
        }
        _ => errors(StatusCode::METHOD_NOT_ALLOWED, &["unsupported operation"]),
    }
}

/// A directory with the token in a file of mode 0600.
fn token_file(token: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    write_private(&path, &format!("{token}\n"));
    (dir, path)
}

fn write_private(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write");
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
}

#[tokio::test]
async fn ed25519_and_ecdsa_p256_keys_sign_and_verify() {
    let vault = FakeVault::new();
    let ed = vault.add_key("transit/timestamp", Kind::Ed25519);
    let ec = vault.add_key("team-a/transit/targets", Kind::EcdsaP256);
    let addr = vault.serve().await;
    let (dir, _) = token_file(TOKEN);
    let base = dir.path();

    let uri = format!("vault://{addr}/transit/timestamp?tls=false&token-file=token");
    let signer = open_signer(&uri, base).await.expect("open ed25519");
    assert_eq!(signer.public_key(), &ed);
    assert_eq!(signer.key_id(), ed.key_id());
    let message = br#"{"_type":"timestamp","version":1}"#;
    let sig = signer.sign(message).await.expect("sign");
    ed.verify(message, &sig).expect("verifies with tufmirror-core");

    let uri = format!("vault://{addr}/team-a/transit/targets?tls=false&token-file=token&namespace=ns1%2Fteam-a");
    let signer = open_signer(&uri, base).await.expect("open ecdsa-p256");
    assert_eq!(signer.public_key(), &ec);
    assert_eq!(signer.public_key().scheme(), "ecdsa-sha2-nistp256");
    let sig = signer.sign(message).await.expect("sign");
    ec.verify(message, &sig).expect("verifies with tufmirror-core");

    let seen = vault.seen();
    let paths: Vec<_> = seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            ("GET", "/v1/transit/keys/timestamp"),
            ("POST", "/v1/transit/sign/timestamp"),
            ("GET", "/v1/team-a/transit/keys/targets"),
            ("POST", "/v1/team-a/transit/sign/targets")
        ]
    );
    assert!(seen.iter().all(|s| s.token.as_deref() == Some(TOKEN) && s.request_header.as_deref() == Some("true")));
    assert_eq!(seen[1].namespace, None);
    assert_eq!(seen[3].namespace.as_deref(), Some("ns1/team-a"));
    // Ed25519 signs the message itself; ECDSA asks for SHA-256 and DER. Both pin version 1.
    let input = BASE64.encode(message);
    assert_eq!(seen[1].body, Some(json!({"input": input, "key_version": 1})));
    assert_eq!(
        seen[3].body,
        Some(json!({"input": input, "key_version": 1, "hash_algorithm": "sha2-256", "marshaling_algorithm": "asn1"}))
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_clearly_and_never_shown() {
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    let addr = vault.serve().await;
    let (dir, _) = token_file("hvs.wrong-secret-token");
    let err = open_signer(&format!("vault://{addr}/transit/k?tls=false&token-file=token"), dir.path())
        .await
        .expect_err("wrong token");
    assert!(matches!(err, SignerError::CredentialsRefused { .. }), "{err:?}");
    let text = err.to_string();
    let file = dir.path().join("token");
    assert_eq!(
        text,
        format!("Vault at http://{addr} refused the token in {}: HTTP 403: permission denied", file.display())
    );
    assert!(!text.contains("wrong-secret") && !format!("{err:?}").contains("wrong-secret"), "{text}");
}

#[tokio::test]
async fn a_missing_key_or_version_is_named() {
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    let addr = vault.serve().await;
    let (dir, _) = token_file(TOKEN);
    let err = open_signer(&format!("vault://{addr}/transit/nope?tls=false&token-file=token"), dir.path())
        .await
        .expect_err("no such key");
    assert!(matches!(&err, SignerError::KeyNotFound { key, .. } if key.starts_with("transit/nope")), "{err:?}");
    assert!(err.to_string().contains("has no key transit/nope"), "{err}");

    let err = open_signer(&format!("vault://{addr}/transit/k?tls=false&token-file=token&key-version=5"), dir.path())
        .await
        .expect_err("no such version");
    assert!(
        matches!(&err, SignerError::KeyNotFound { key, .. } if key == "transit/k version 5 (latest: 1)"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_vault_is_a_clear_error() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let (dir, _) = token_file(TOKEN);
    let err = open_signer(&format!("vault://{addr}/transit/k?tls=false&token-file=token"), dir.path())
        .await
        .expect_err("connection refused");
    assert!(matches!(err, SignerError::Unreachable { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("Vault at http://{addr} is unreachable"));
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn the_key_version_is_pinned() {
    let vault = FakeVault::new();
    let v1 = vault.add_key("transit/k", Kind::EcdsaP256);
    let addr = vault.serve().await;
    let (dir, _) = token_file(TOKEN);
    let uri = format!("vault://{addr}/transit/k?tls=false&token-file=token");
    let signer = VaultSigner::open(parse(&uri, dir.path())).await.expect("open");
    assert_eq!((signer.version(), signer.public_key()), (1, &v1));

    // Rotated in Vault after opening: signatures still come from version 1.
    let v2 = vault.rotate("transit/k");
    assert_ne!(v1, v2);
    let sig = signer.sign(b"message").await.expect("sign");
    v1.verify(b"message", &sig).expect("version 1 signed");
    assert_eq!(vault.seen().last().and_then(|s| s.body.clone()).map(|b| b["key_version"].clone()), Some(json!(1)));

    // Opened again: the latest version, or the one the URI names.
    let latest = open_signer(&uri, dir.path()).await.expect("open latest");
    assert_eq!(latest.public_key(), &v2);
    let pinned = open_signer(&format!("{uri}&key-version=1"), dir.path()).await.expect("open version 1");
    assert_eq!(pinned.public_key(), &v1);

    // A Vault that ignores key_version is caught by the prefix; one that lies, by verification.
    vault.lock().quirk = Quirk::IgnoresKeyVersion;
    let err = signer.sign(b"message").await.expect_err("version 2 used");
    assert!(matches!(err, SignerError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("signed with version 2 of transit/k, not the pinned version 1"), "{err}");
    vault.lock().quirk = Quirk::LiesAboutVersion;
    let err = signer.sign(b"message").await.expect_err("version 2 used, labelled 1");
    assert!(matches!(&err, SignerError::BadSignature { key_id, .. } if *key_id == v1.key_id()), "{err:?}");
}

fn parse(uri: &str, base: &Path) -> tufmirror_signer::vault::VaultUri {
    match tufmirror_signer::SignerUri::parse(uri, base).expect("valid URI") {
        tufmirror_signer::SignerUri::Vault(v) => *v,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn token_files_are_reread_and_must_be_private() {
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    let addr = vault.serve().await;
    let (dir, path) = token_file(TOKEN);
    let uri = format!("vault://{addr}/transit/k?tls=false&token-file=token");
    let signer = open_signer(&uri, dir.path()).await.expect("open");

    // Vault Agent renews the token: the next request uses the new one.
    vault.lock().token = "hvs.renewed".to_owned();
    write_private(&path, "hvs.renewed\n");
    signer.sign(b"message").await.expect("sign with the renewed token");
    assert_eq!(vault.seen().last().and_then(|s| s.token.clone()).as_deref(), Some("hvs.renewed"));
    assert!(!format!("{signer:?}").contains("hvs."), "{signer:?}");

    #[cfg(unix)]
    {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
        let err = signer.sign(b"message").await.expect_err("world-readable");
        assert!(matches!(err, SignerError::NoCredentials { .. }), "{err:?}");
        assert!(err.to_string().contains("mode 644"), "{err}");
        // Group-readable is what Vault Agent writes: accepted.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).expect("chmod");
        signer.sign(b"message").await.expect("group-readable token file");
    }

    write_private(&path, "\n");
    assert!(matches!(signer.sign(b"message").await, Err(SignerError::NoCredentials { .. })));
    std::fs::remove_file(&path).expect("remove");
    let err = signer.sign(b"message").await.expect_err("missing token file");
    assert!(matches!(err, SignerError::NoCredentials { .. }) && err.to_string().contains("token in "), "{err:?}");

    let err =
        open_signer(&format!("vault://{addr}/transit/k?tls=false&token-env=TUFMIRROR_TEST_UNSET_7F3A"), dir.path())
            .await
            .expect_err("unset variable");
    assert!(matches!(err, SignerError::NoCredentials { .. }), "{err:?}");
    assert!(err.to_string().contains("the environment variable TUFMIRROR_TEST_UNSET_7F3A is not set"), "{err}");
}

/// Runs in a child process (this test binary again) with the variables the parent sets.
#[tokio::test]
async fn the_token_comes_from_the_environment() {
    if let Ok(uri) = std::env::var("TUFMIRROR_TEST_VAULT_URI") {
        let signer = open_signer(&uri, Path::new("/")).await.expect("open in child");
        let sig = signer.sign(b"from the child").await.expect("sign in child");
        signer.public_key().verify(b"from the child", &sig).expect("verifies");
        assert!(!format!("{signer:?}").contains(TOKEN));
        return;
    }
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    let addr = vault.serve().await;
    for (variable, uri) in [
        ("VAULT_TOKEN", format!("vault://{addr}/transit/k?tls=false")),
        ("MY_TOKEN", format!("vault://{addr}/transit/k?tls=false&token-env=MY_TOKEN")),
    ] {
        let exe = std::env::current_exe().expect("test binary");
        let mut child = std::process::Command::new(exe);
        child
            .args(["--exact", "the_token_comes_from_the_environment", "--nocapture"])
            .env_remove("VAULT_TOKEN")
            .env(variable, TOKEN)
            .env("TUFMIRROR_TEST_VAULT_URI", &uri);
        // On the blocking pool: this runtime's thread must keep serving the child's requests.
        let out = tokio::task::spawn_blocking(move || child.output()).await.expect("join").expect("run child");
        let output = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && output.contains("1 passed"), "child with {variable}: {output}");
    }
    let seen = vault.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| s.token.as_deref() == Some(TOKEN)));
}

#[tokio::test]
async fn server_errors_redirects_and_slowness_are_reported() {
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    vault.add_key("transit/aes", Kind::Aes);
    let addr = vault.serve().await;
    let (dir, _) = token_file(TOKEN);
    let uri = format!("vault://{addr}/transit/k?tls=false&token-file=token&timeout=0.3");
    let signer = open_signer(&uri, dir.path()).await.expect("open");

    let err = open_signer(&format!("vault://{addr}/transit/aes?tls=false&token-file=token"), dir.path())
        .await
        .expect_err("not a signing key");
    assert!(matches!(err, SignerError::BadResponse { .. }) && err.to_string().contains("aes256-gcm96"), "{err:?}");

    vault.lock().quirk = Quirk::Fails;
    let err = signer.sign(b"message").await.expect_err("500");
    assert!(matches!(err, SignerError::BackendFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("HTTP 500: internal error; storage is sealed"), "{err}");

    // A redirect is not followed: the token would go along to the other server.
    let elsewhere = FakeVault::new();
    let other = elsewhere.serve().await;
    let port = other.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    vault.lock().quirk = Quirk::Redirects(port);
    let err = signer.sign(b"message").await.expect_err("redirect");
    assert!(matches!(err, SignerError::BackendFailed { .. }) && err.to_string().contains("HTTP 307"), "{err:?}");
    assert!(err.to_string().contains(&format!("http://{other}/v1/transit/sign/k")), "{err}");
    assert!(elsewhere.seen().is_empty(), "the redirect target was contacted");

    vault.lock().quirk = Quirk::Slow(3000);
    let start = std::time::Instant::now();
    let err = signer.sign(b"message").await.expect_err("slow");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert!(matches!(&err, SignerError::Timeout { after, .. } if *after == Duration::from_millis(300)), "{err:?}");
}

#[tokio::test]
async fn https_is_the_default_and_trusts_the_ca_file() {
    let vault = FakeVault::new();
    let key = vault.add_key("transit/k", Kind::Ed25519);
    let pki = tls::test_pki();
    let (url, _) = tls::serve_tls(vault.router(), &pki).await;
    let addr = url.trim_start_matches("https://").trim_end_matches('/').to_owned();
    let (dir, _) = token_file(TOKEN);
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).expect("write CA");

    let signer = open_signer(&format!("vault://{addr}/transit/k?token-file=token&ca-file=ca.pem"), dir.path())
        .await
        .expect("open over https");
    assert_eq!(signer.public_key(), &key);
    let sig = signer.sign(b"message").await.expect("sign over https");
    key.verify(b"message", &sig).expect("verifies");

    // Without the CA: the certificate is not trusted, and no request (no token) got through.
    let before = vault.seen().len();
    let err = open_signer(&format!("vault://{addr}/transit/k?token-file=token"), dir.path())
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(err, SignerError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("Vault at https://{addr}")), "{err}");
    assert_eq!(vault.seen().len(), before);

    // https (the default) against a plain-HTTP Vault does not fall back to http.
    let plain = vault.serve().await;
    let err = open_signer(&format!("vault://{plain}/transit/k?token-file=token"), dir.path())
        .await
        .expect_err("TLS to a plain server");
    assert!(matches!(err, SignerError::Unreachable { .. }), "{err:?}");

    let err = open_signer(&format!("vault://{addr}/transit/k?token-file=token&ca-file=missing.pem"), dir.path())
        .await
        .expect_err("missing CA file");
    assert!(matches!(&err, SignerError::CaFile { path, .. } if path.ends_with("missing.pem")), "{err:?}");
}
