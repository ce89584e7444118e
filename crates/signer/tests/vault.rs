//! `vault:` against a small Vault-transit-compatible server on loopback (`common::vault_server`, an
//! in-test stand-in: no Vault server can be installed here):
//! what is particular to Vault (requests, namespaces, pinned key versions, token files, redirects,
//! TLS). Signing, verification by tufmirror-core and python-tuf, a wrong token, a missing key and
//! an unreachable server are checked for every backend alike in `backends.rs`.
#![cfg(feature = "vault")]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::vault_server::{FakeVault, Kind, Quirk, TOKEN, token_file};
use common::write_private;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tufmirror_signer::vault::VaultSigner;
use tufmirror_signer::{Signer, SignerError, open_signer};
use tufmirror_testkit::tls;

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
async fn a_missing_key_version_is_named() {
    let vault = FakeVault::new();
    vault.add_key("transit/k", Kind::Ed25519);
    let addr = vault.serve().await;
    let (dir, _) = token_file(TOKEN);
    let err = open_signer(&format!("vault://{addr}/transit/k?tls=false&token-file=token&key-version=5"), dir.path())
        .await
        .expect_err("no such version");
    assert!(
        matches!(&err, SignerError::KeyNotFound { key, .. } if key == "transit/k version 5 (latest: 1)"),
        "{err:?}"
    );
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
