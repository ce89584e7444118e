//! A small Vault-transit-compatible server on loopback: real Ed25519 and P-256 keys with versions,
//! a token check, and switches that make it misbehave (the `vault:` tests and the shared backend
//! suite talk to it).
//!
//! It is a stand-in written from Vault's transit API documentation, not Vault: no Vault server can
//! be installed where tufmirror is tested, so `vault:` has never talked to a real one. What Vault
//! does that this does not (policies, leases, its exact error bodies) is untested.

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
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tufmirror_core::PublicKey;

pub(crate) const TOKEN: &str = "hvs.test-token-0123456789";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
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

pub(crate) struct Key {
    kind: Kind,
    /// Version n is `versions[n - 1]`.
    versions: Vec<Secret>,
}

/// How the server misbehaves, if it does.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Quirk {
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
pub(crate) struct Seen {
    pub method: Method,
    pub path: String,
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub request_header: Option<String>,
    pub body: Option<Value>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub token: String,
    /// By `mount/name`.
    pub keys: BTreeMap<String, Key>,
    pub quirk: Quirk,
    pub seen: Vec<Seen>,
}

#[derive(Clone, Default)]
pub(crate) struct FakeVault(Arc<Mutex<Inner>>);

impl FakeVault {
    pub(crate) fn new() -> Self {
        let vault = FakeVault::default();
        vault.lock().token = TOKEN.to_owned();
        vault
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().expect("lock")
    }

    pub(crate) fn add_key(&self, path: &str, kind: Kind) -> PublicKey {
        let secret = Secret::generate(kind);
        let public = secret.public();
        self.lock().keys.insert(path.to_owned(), Key { kind, versions: vec![secret] });
        public
    }

    /// Adds a version, as `vault write -f transit/keys/NAME/rotate` does.
    pub(crate) fn rotate(&self, path: &str) -> PublicKey {
        let mut inner = self.lock();
        let key = inner.keys.get_mut(path).expect("key");
        let secret = Secret::generate(key.kind);
        let public = secret.public();
        key.versions.push(secret);
        public
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Serves on 127.0.0.1 over plain HTTP; returns `HOST:PORT`.
    pub(crate) async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        addr.to_string()
    }

    pub(crate) fn router(&self) -> Router {
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
pub(crate) fn token_file(token: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    super::write_private(&path, &format!("{token}\n"));
    (dir, path)
}
