//! The `pkcs11:` backend against real SoftHSM2 tokens (`common::softhsm`): what is particular to
//! PKCS#11 (one session shared by concurrent signatures, a key found by label or id, missing ids
//! and tokens, where the module and the PIN come from). Signing, verification by tufmirror-core and
//! python-tuf, a wrong PIN, a missing object and a missing module are checked for every backend
//! alike in `backends.rs`.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, so each test makes a fresh token, then runs
//! itself again as a child (`common::child`) with the token's configuration; the child does the
//! in-process part.
#![cfg(feature = "pkcs11")]

mod common;

use common::child::{in_child, run_child};
use common::softhsm::{Hsm, PIN, TOKEN, TOKEN_IN_URI};
use common::{chain, softhsm};
use std::path::Path;
use std::sync::Arc;
use tufmirror_signer::{Signer, SignerError, open_signer};

const MODULE_ENV: &str = "TUFMIRROR_PKCS11_MODULE";

fn uri(key: &str, query: &str) -> String {
    softhsm::uri(&softhsm::module(), key, query)
}

async fn open_err(uri: &str, base: &Path) -> SignerError {
    match open_signer(uri, base).await {
        Ok(signer) => panic!("{uri} opened as {signer:?}"),
        Err(e) => e,
    }
}

/// Runs `test` as a child with the token's configuration (but not its PIN variable) and `env`.
fn run_with_token(hsm: &Hsm, test: &str, env: &[(&str, &str)]) {
    let mut all = vec![("SOFTHSM2_CONF".to_owned(), hsm.conf().display().to_string())];
    all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    run_child(test, hsm.dir(), &all);
}

#[test]
fn ed25519_and_p256_keys_sign_and_verify_with_stable_key_ids() {
    const TEST: &str = "ed25519_and_p256_keys_sign_and_verify_with_stable_key_ids";
    if in_child(TEST, |dir| async move {
        for (key, scheme) in [("object=ed;id=%01", "ed25519"), ("object=p256;id=%02", "ecdsa-sha2-nistp256")] {
            let signer: Arc<dyn Signer> =
                open_signer(&uri(key, &format!("pin-value={PIN}")), &dir).await.expect(key).into();
            let public = signer.public_key();
            assert_eq!(public.scheme(), scheme);
            assert!(!format!("{signer:?}").contains(PIN), "{signer:?}");
            for message in [&b"{\"signed\":1}"[..], b"", &[0xff; 5000]] {
                let sig = signer.sign(message).await.expect("sign");
                public.verify(message, &sig).expect("verifies");
                let other = public.verify(b"another message", &sig);
                assert!(matches!(other, Err(tufmirror_core::key::KeyError::BadSignature { .. })), "{other:?}");
            }
            // Concurrent signatures share one session, one at a time.
            let tasks: Vec<_> = (0..8u8)
                .map(|i| {
                    let signer = Arc::clone(&signer);
                    tokio::spawn(async move { (i, signer.sign(&[i]).await) })
                })
                .collect();
            for task in tasks {
                let (i, sig) = task.await.expect("task");
                public.verify(&[i], &sig.expect("concurrent sign")).expect("verifies");
            }
            // The same key opened again, by label alone, by id alone: the same key id.
            let label = key.split(';').next().expect("label");
            let id = key.split(';').nth(1).expect("id");
            for other in [key, label, id] {
                let again = open_signer(&uri(other, &format!("pin-value={PIN}")), &dir).await.expect(other);
                assert_eq!(again.key_id(), signer.key_id(), "{other}");
            }
        }
    }) {
        return;
    }
    let hsm = Hsm::init();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.keypair("EC:prime256v1", "p256", "02");
    run_with_token(&hsm, TEST, &[]);
    // A new process, a new session, a new login: still the same keys.
    run_with_token(&hsm, TEST, &[]);
}

#[test]
fn a_missing_id_or_token_is_named() {
    const TEST: &str = "a_missing_id_or_token_is_named";
    if in_child(TEST, |dir| async move {
        let e = open_err(&uri("id=%09", &format!("pin-value={PIN}")), &dir).await;
        assert!(matches!(e, SignerError::KeyNotFound { .. }), "{e:?}");
        assert!(chain(&e).contains("id %09"), "{}", chain(&e));

        let missing_token = uri("object=ed", &format!("pin-value={PIN}")).replace(TOKEN_IN_URI, "other%20token");
        let e = open_err(&missing_token, &dir).await;
        let text = chain(&e);
        assert!(matches!(e, SignerError::KeyNotFound { .. }), "{e:?}");
        assert!(
            text.contains("token \"other token\"")
                && text.ends_with(&format!("(no such token; tokens present: \"{TOKEN}\")")),
            "{text}"
        );
    }) {
        return;
    }
    let hsm = Hsm::init();
    hsm.keypair("EC:edwards25519", "ed", "01");
    run_with_token(&hsm, TEST, &[]);
}

#[test]
fn the_module_comes_from_the_environment_or_is_asked_for() {
    const TEST: &str = "the_module_comes_from_the_environment_or_is_asked_for";
    if in_child(TEST, |dir| async move {
        let uri = format!("pkcs11:token={TOKEN_IN_URI};object=ed?pin-value={PIN}");
        if std::env::var_os(MODULE_ENV).is_some() {
            open_signer(&uri, &dir).await.expect("module from the environment");
        } else {
            let e = open_err(&uri, &dir).await;
            assert!(matches!(e, SignerError::BadUri { .. }), "{e:?}");
            let text = chain(&e);
            assert!(text.contains("module-path") && text.contains(MODULE_ENV) && !text.contains(PIN), "{text}");
        }
    }) {
        return;
    }
    let hsm = Hsm::init();
    hsm.keypair("EC:edwards25519", "ed", "01");
    run_with_token(&hsm, TEST, &[]);
    let module = softhsm::module();
    run_with_token(&hsm, TEST, &[(MODULE_ENV, module.to_str().expect("utf-8 path"))]);
}

#[test]
fn the_pin_comes_from_a_file_or_the_environment() {
    const TEST: &str = "the_pin_comes_from_a_file_or_the_environment";
    if in_child(TEST, |dir| async move {
        let absolute = format!("pin-source=file:{}", dir.join("pin").display());
        for query in [absolute.as_str(), "pin-source=pin", "pin-env=TEST_HSM_PIN"] {
            let signer = open_signer(&uri("object=p256", query), &dir).await.expect(query);
            let sig = signer.sign(b"m").await.expect("sign");
            signer.public_key().verify(b"m", &sig).expect("verifies");
        }
        for (query, why) in [
            ("pin-env=TEST_HSM_UNSET", "TEST_HSM_UNSET is not set"),
            ("pin-source=open-pin", "chmod 600"),
            ("pin-source=absent", "cannot read the PIN file"),
            ("", "needs one"),
        ] {
            let e = open_err(&uri("object=p256", query), &dir).await;
            assert!(matches!(e, SignerError::NoCredentials { .. }), "{query}: {e:?}");
            assert!(chain(&e).contains(why), "{query}: {}", chain(&e));
        }
    }) {
        return;
    }
    let hsm = Hsm::init();
    hsm.keypair("EC:prime256v1", "p256", "02");
    hsm.write_pin_file("pin", 0o600);
    hsm.write_pin_file("open-pin", 0o644);
    run_with_token(&hsm, TEST, &[("TEST_HSM_PIN", PIN)]);
}
