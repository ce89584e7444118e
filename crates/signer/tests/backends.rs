//! One suite, every backend: the same checks run against `file:`, `pkcs11:` (SoftHSM2), `exec:`
//! (an OpenSSL script), `vault:` (`common::vault_server`) and `awskms:` (ministack), each with an
//! Ed25519 and an ECDSA P-256 key. All are real programs except `vault:`'s, an in-test stand-in
//! for Vault's transit engine: no Vault server can be installed here.
//!
//! Each test below prepares one backend's counterpart and describes it in a [`Backend`] fixture:
//! the URIs of its keys and of the failures it must report. It then runs itself again as a child
//! (`common::child`) with the environment the backend reads (`SOFTHSM2_CONF`, the AWS files), and
//! the child runs [`suite`] over the fixture. The checks:
//!
//! For every key:
//! 1. **sign**: `open_signer`, then `sign_metadata` over root metadata that lists the key and
//!    over timestamp metadata;
//! 2. **tufmirror-core** verifies both (`RoleVerifier` through `parse_verified`);
//! 3. **python-tuf** verifies both (`tests/python/verify_signature.py`, `Metadata.verify_delegate`),
//!    and rejects the timestamp with one signature digit changed, which shows the check can fail;
//! 4. **a message over 4096 bytes** (targets metadata) signs, unless the backend has a limit for
//!    that key (AWS KMS signs at most 4096 raw bytes with Ed25519): then the error is
//!    `MessageTooLarge` naming the size and the limit, found before the backend is asked (ministack
//!    would sign it);
//! 5. the signer's `Debug` output shows none of the backend's secrets.
//!
//! For every backend, each failure in its table gives the expected variant, quickly (under 10
//! seconds: nothing waits for a 30-second timeout), with an error text that names what the table
//! says and shows no secret:
//!
//! | backend | wrong credential | missing key | backend down |
//! |---|---|---|---|
//! | `file:` | a key file others may read: `InsecurePermissions` (a file key has no credential; this is its closest analogue) | `Io(NotFound)` | (nothing to be down) |
//! | `pkcs11:` | a wrong PIN: `CredentialsRefused` | `KeyNotFound` | the module missing: `BackendFailed` |
//! | `exec:` | the program refuses: `ProgramFailed` (protocol 1 has no credential or not-found answer of its own) | `ProgramFailed` | the program missing: `ProgramStart` |
//! | `vault:` | a wrong token: `CredentialsRefused` | `KeyNotFound` | nothing listening: `Unreachable` |
//! | `awskms:` | a wrong secret key: `CredentialsRefused` | `KeyNotFound` | nothing listening: `Unreachable` |
//!
//! `awskms:` adds an unknown access key and a user who may not sign (`CredentialsRefused`) and a
//! profile without credentials (`NoCredentials`).
#![cfg(all(unix, feature = "exec", feature = "vault", feature = "pkcs11", feature = "awskms"))]

mod common;

use common::child::{child_dir, mark, run_child_async};
use common::ministack::Ministack;
use common::softhsm::{self, Hsm};
use common::vault_server::{self, FakeVault, Kind};
use common::{chain, closed_port, encode, python, tuf, variant, write_private};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tufmirror_core::{Root, Targets, Timestamp};
use tufmirror_signer::{Signer, SignerError, open_signer, sign_metadata};

/// How long a failure may take to be reported.
const QUICKLY: Duration = Duration::from_secs(10);
/// The fixture file in the child's directory.
const FIXTURE: &str = "backend.json";

/// One backend as the suite sees it.
#[derive(Debug, Serialize, Deserialize)]
struct Backend {
    name: String,
    /// What relative paths in the URIs are relative to.
    base: PathBuf,
    keys: Vec<KeyCase>,
    failures: Vec<Failure>,
    /// Strings (PINs, tokens, secret keys) that no `Debug` output or error text may contain.
    secrets: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyCase {
    /// The TUF scheme the key must have.
    scheme: String,
    uri: String,
    /// The longest message the backend signs with this key, if it has a limit.
    limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Failure {
    /// `wrong credential`, `missing key`, `backend down`, …
    what: String,
    uri: String,
    /// [`variant`] of the error.
    variant: String,
    /// What the error text (with its causes) must contain.
    mentions: Vec<String>,
}

impl Failure {
    fn new(what: &str, uri: String, variant: &str, mentions: &[&str]) -> Self {
        Failure {
            what: what.to_owned(),
            uri,
            variant: variant.to_owned(),
            mentions: mentions.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

/// In a child, runs the suite over the fixture the parent wrote and returns true.
async fn in_child(test: &str) -> bool {
    let Some(dir) = child_dir() else {
        return false;
    };
    let json = std::fs::read(dir.join(FIXTURE)).expect("read the fixture");
    let backend: Backend = serde_json::from_slice(&json).expect("the fixture");
    suite(&backend, &dir).await;
    mark(&dir, test);
    true
}

/// Writes the fixture and runs `test` as a child with `env`.
async fn run(test: &'static str, dir: &Path, backend: &Backend, env: Vec<(String, String)>) {
    // Found here first, so that a missing venv is the test's own failure message.
    python::python();
    std::fs::write(dir.join(FIXTURE), serde_json::to_vec_pretty(backend).expect("JSON")).expect("write fixture");
    let out = run_child_async(test, dir.to_owned(), env).await;
    // The child's own report, for `--nocapture` runs.
    println!("{}", out.stdout);
}

/// The checks (module documentation), in a child.
async fn suite(backend: &Backend, dir: &Path) {
    let name = &backend.name;
    assert!(!backend.keys.is_empty(), "{name}: no keys");
    for (i, key) in backend.keys.iter().enumerate() {
        let what = format!("{name} {} key {}", key.scheme, key.uri);
        let start = Instant::now();

        // 1. Sign real metadata.
        let signer = open_signer(&key.uri, &backend.base).await.unwrap_or_else(|e| panic!("{what}: {}", chain(&e)));
        let public = signer.public_key().clone();
        assert_eq!(public.scheme(), key.scheme, "{what}");
        let root = tuf::root(&public);
        let signers: [&dyn Signer; 1] = [signer.as_ref()];
        let signed_root =
            sign_metadata(root.clone(), &signers).await.unwrap_or_else(|e| panic!("{what}: {}", chain(&e)));
        let signed_timestamp =
            sign_metadata(tuf::timestamp(), &signers).await.unwrap_or_else(|e| panic!("{what}: {}", chain(&e)));
        assert_eq!(signed_timestamp.signatures.len(), 1, "{what}");
        assert_eq!(signed_timestamp.signatures[0].keyid, signer.key_id(), "{what}");

        let case = dir.join(format!("key{i}"));
        std::fs::create_dir_all(&case).expect("case dir");
        let root_path = case.join("root.json");
        let timestamp_path = case.join("timestamp.json");
        let root_bytes = tuf::write(&root_path, &signed_root);
        let timestamp_bytes = tuf::write(&timestamp_path, &signed_timestamp);

        // 2. tufmirror-core verifies.
        tuf::core_verifies::<Root>(&root, &root_bytes).unwrap_or_else(|e| panic!("{what}: core: root: {e}"));
        tuf::core_verifies::<Timestamp>(&root, &timestamp_bytes)
            .unwrap_or_else(|e| panic!("{what}: core: timestamp: {e}"));
        let corrupted = tuf::corrupt_signature(&timestamp_bytes);
        let refused = tuf::core_verifies::<Timestamp>(&root, &corrupted);
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("has 0 valid signature(s)")),
            "{what}: core must refuse a corrupted signature for it: {refused:?}"
        );

        // 3. python-tuf verifies, and can refuse.
        python::verify_signature(&root_path, "root", &root_path).ok();
        python::verify_signature(&root_path, "timestamp", &timestamp_path).ok();
        let corrupted_path = case.join("timestamp-corrupted.json");
        std::fs::write(&corrupted_path, &corrupted).expect("write");
        let refused = python::verify_signature(&root_path, "timestamp", &corrupted_path);
        assert_eq!(
            refused.code,
            Some(1),
            "{what}: python-tuf did not reject a corrupted signature:\n{}",
            refused.describe()
        );

        // 4. A message over 4096 bytes.
        let targets = tuf::targets(4200);
        let size = tufmirror_core::metadata::Signed::unsigned(targets.clone()).signed_bytes().expect("bytes").len();
        match (sign_metadata::<Targets>(targets, &signers).await, key.limit) {
            (Ok(signed), None) => {
                let bytes = signed.to_bytes().expect("bytes");
                tuf::core_verifies::<Targets>(&root, &bytes).unwrap_or_else(|e| panic!("{what}: core: targets: {e}"));
            }
            (Err(e), Some(limit)) => {
                assert!(matches!(e, SignerError::MessageTooLarge { .. }), "{what}: {e:?}");
                let text = chain(&e);
                assert!(text.contains(&limit.to_string()) && text.contains(&size.to_string()), "{what}: {text}");
            }
            (Ok(_), Some(limit)) => panic!("{what}: signed {size} bytes, over its limit of {limit}"),
            (Err(e), None) => panic!("{what}: {size} bytes: {}", chain(&e)),
        }

        // 5. No secret in Debug output.
        let debug = format!("{signer:?}");
        for secret in &backend.secrets {
            assert!(!debug.contains(secret.as_str()), "{what}: Debug shows a secret: {debug}");
        }
        println!("{what}: signed, verified by tufmirror-core and python-tuf in {:?}", start.elapsed());
    }

    for failure in &backend.failures {
        let what = format!("{name}, {}: {}", failure.what, failure.uri);
        let start = Instant::now();
        // Open, and sign if it opens: some refusals come only with the first signature.
        let err = match open_signer(&failure.uri, &backend.base).await {
            Err(e) => e,
            Ok(signer) => signer.sign(b"{\"signed\":{}}").await.err().unwrap_or_else(|| panic!("{what}: signed")),
        };
        let elapsed = start.elapsed();
        let text = chain(&err);
        assert_eq!(variant(&err), failure.variant, "{what}: {text}\n{err:?}");
        assert!(elapsed < QUICKLY, "{what}: took {elapsed:?}");
        for mention in &failure.mentions {
            assert!(text.contains(mention.as_str()), "{what}: {text:?} does not mention {mention:?}");
        }
        for secret in &backend.secrets {
            let debug = format!("{err:?}");
            assert!(
                !text.contains(secret.as_str()) && !debug.contains(secret.as_str()),
                "{what}: shows a secret: {debug}"
            );
        }
        println!("{what}: {} in {elapsed:?}: {text}", failure.variant);
    }
}

#[tokio::test]
async fn file_keys() {
    const TEST: &str = "file_keys";
    if in_child(TEST).await {
        return;
    }
    use tufmirror_signer::{KeyAlgorithm, generate_key_file};
    let dir = tempfile::tempdir().expect("tempdir");
    generate_key_file(&dir.path().join("ed.pem"), KeyAlgorithm::Ed25519).expect("ed25519 key");
    generate_key_file(&dir.path().join("p256.pem"), KeyAlgorithm::EcdsaP256).expect("p256 key");
    let open = dir.path().join("open.pem");
    generate_key_file(&open, KeyAlgorithm::Ed25519).expect("key");
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    let backend = Backend {
        name: "file:".to_owned(),
        base: dir.path().to_owned(),
        keys: vec![
            KeyCase { scheme: "ed25519".to_owned(), uri: "file:ed.pem".to_owned(), limit: None },
            KeyCase { scheme: "ecdsa-sha2-nistp256".to_owned(), uri: "p256.pem".to_owned(), limit: None },
        ],
        failures: vec![
            Failure::new("wrong credential", "file:open.pem".to_owned(), "InsecurePermissions", &["chmod 600"]),
            Failure::new("missing key", "file:missing.pem".to_owned(), "Io(NotFound)", &["missing.pem"]),
        ],
        secrets: vec!["PRIVATE KEY".to_owned()],
    };
    run(TEST, dir.path(), &backend, Vec::new()).await;
}

#[tokio::test]
async fn pkcs11_keys() {
    const TEST: &str = "pkcs11_keys";
    if in_child(TEST).await {
        return;
    }
    let hsm = Hsm::init();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.keypair("EC:prime256v1", "p256", "02");
    let pin = format!("pin-env={}", softhsm::PIN_ENV);
    const WRONG_PIN_ENV: &str = "TUFMIRROR_TEST_WRONG_PIN";
    const WRONG_PIN: &str = "999999";
    let backend = Backend {
        name: "pkcs11:".to_owned(),
        base: hsm.dir().to_owned(),
        keys: vec![
            KeyCase { scheme: "ed25519".to_owned(), uri: hsm.uri("object=ed", &pin), limit: None },
            KeyCase { scheme: "ecdsa-sha2-nistp256".to_owned(), uri: hsm.uri("id=%02", &pin), limit: None },
        ],
        failures: vec![
            Failure::new(
                "wrong credential",
                hsm.uri("object=ed", &format!("pin-env={WRONG_PIN_ENV}")),
                "CredentialsRefused",
                &["CKR_PIN_INCORRECT", softhsm::TOKEN],
            ),
            Failure::new("missing key", hsm.uri("object=nope", &pin), "KeyNotFound", &["\"nope\"", softhsm::TOKEN]),
            Failure::new(
                "backend down",
                softhsm::uri(Path::new("/nonexistent/libnope.so"), "object=ed", &pin),
                "BackendFailed",
                &["/nonexistent/libnope.so"],
            ),
        ],
        secrets: vec![softhsm::PIN.to_owned(), WRONG_PIN.to_owned()],
    };
    let mut env = hsm.env();
    env.push((WRONG_PIN_ENV.to_owned(), WRONG_PIN.to_owned()));
    run(TEST, hsm.dir(), &backend, env).await;
}

/// A signing program around openssl: `$1` is `ed25519` or `p256`, `$2` the key file.
const OPENSSL_SIGNER: &str = include_str!("common/openssl-signer.sh");

#[tokio::test]
async fn exec_keys() {
    const TEST: &str = "exec_keys";
    if in_child(TEST).await {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output();
        let out = out.expect("these tests need the openssl command line tool (tests/run-all.sh installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "p256.pem"]);
    std::fs::write(dir.path().join("signer.sh"), OPENSSL_SIGNER).expect("script");
    std::fs::write(dir.path().join("refuses.sh"), "echo 'kms: AccessDenied for key tuf-timestamp' >&2\nexit 1\n")
        .expect("script");
    let script = encode(&dir.path().join("signer.sh").display().to_string());
    let uri = |kind: &str, key: &str| format!("exec:/bin/sh?arg={script}&arg={kind}&arg={key}");
    let refuses = encode(&dir.path().join("refuses.sh").display().to_string());
    let missing = dir.path().join("bin/no-such-signer").display().to_string();
    let backend = Backend {
        name: "exec:".to_owned(),
        base: dir.path().to_owned(),
        keys: vec![
            KeyCase { scheme: "ed25519".to_owned(), uri: uri("ed25519", "ed.pem"), limit: None },
            KeyCase { scheme: "ecdsa-sha2-nistp256".to_owned(), uri: uri("p256", "p256.pem"), limit: None },
        ],
        failures: vec![
            Failure::new(
                "wrong credential",
                format!("exec:/bin/sh?arg={refuses}"),
                "ProgramFailed",
                &["AccessDenied for key tuf-timestamp", "public-key"],
            ),
            Failure::new("missing key", uri("ed25519", "missing.pem"), "ProgramFailed", &["missing.pem"]),
            Failure::new("backend down", "exec:bin/no-such-signer".to_owned(), "ProgramStart", &[&missing]),
        ],
        secrets: vec!["PRIVATE KEY".to_owned()],
    };
    run(TEST, dir.path(), &backend, Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_keys() {
    const TEST: &str = "vault_keys";
    if in_child(TEST).await {
        return;
    }
    let vault = FakeVault::new();
    vault.add_key("transit/ed", Kind::Ed25519);
    vault.add_key("team/transit/p256", Kind::EcdsaP256);
    let addr = vault.serve().await;
    let (dir, _) = vault_server::token_file(vault_server::TOKEN);
    const WRONG_TOKEN: &str = "hvs.wrong-secret-token";
    write_private(&dir.path().join("wrong-token"), WRONG_TOKEN);
    let uri = |addr: &str, key: &str, token: &str| format!("vault://{addr}/{key}?tls=false&token-file={token}");
    let down = format!("127.0.0.1:{}", closed_port());
    let backend = Backend {
        name: "vault:".to_owned(),
        base: dir.path().to_owned(),
        keys: vec![
            KeyCase { scheme: "ed25519".to_owned(), uri: uri(&addr, "transit/ed", "token"), limit: None },
            KeyCase {
                scheme: "ecdsa-sha2-nistp256".to_owned(),
                uri: uri(&addr, "team/transit/p256", "token"),
                limit: None,
            },
        ],
        failures: vec![
            Failure::new(
                "wrong credential",
                uri(&addr, "transit/ed", "wrong-token"),
                "CredentialsRefused",
                &["HTTP 403: permission denied", "wrong-token"],
            ),
            Failure::new("missing key", uri(&addr, "transit/nope", "token"), "KeyNotFound", &["transit/nope"]),
            Failure::new(
                "backend down",
                uri(&down, "transit/ed", "token"),
                "Unreachable",
                &[&format!("Vault at http://{down} is unreachable")],
            ),
        ],
        secrets: vec![vault_server::TOKEN.to_owned(), WRONG_TOKEN.to_owned()],
    };
    run(TEST, dir.path(), &backend, Vec::new()).await;
}

#[tokio::test]
async fn awskms_keys() {
    const TEST: &str = "awskms_keys";
    if in_child(TEST).await {
        return;
    }
    let kms = tokio::task::spawn_blocking(Ministack::start).await.expect("start ministack");
    let down = format!("http://127.0.0.1:{}", closed_port());
    let backend = Backend {
        name: "awskms:".to_owned(),
        base: kms.dir().to_owned(),
        keys: vec![
            KeyCase {
                scheme: "ed25519".to_owned(),
                uri: kms.uri("alias/tufmirror-ed25519", "signer", ""),
                limit: Some(tufmirror_signer::awskms::MAX_RAW_MESSAGE),
            },
            KeyCase {
                scheme: "ecdsa-sha2-nistp256".to_owned(),
                uri: kms.uri(&kms.key_arn("p256"), "signer", ""),
                limit: None,
            },
        ],
        failures: vec![
            Failure::new(
                "wrong credential",
                kms.uri("alias/tufmirror-ed25519", "wrong-secret", ""),
                "CredentialsRefused",
                &["InvalidSignatureException", "profile wrong-secret", &kms.endpoint],
            ),
            Failure::new(
                "unknown access key",
                kms.uri(&kms.key_id("p256"), "unknown-key", ""),
                "CredentialsRefused",
                &["UnrecognizedClientException"],
            ),
            Failure::new(
                "not allowed to sign",
                kms.uri(&kms.key_id("p256"), "reader", ""),
                "CredentialsRefused",
                &["AccessDeniedException", "kms:Sign"],
            ),
            Failure::new(
                "no credentials",
                kms.uri(&kms.key_id("p256"), "no-credentials", ""),
                "NoCredentials",
                &["profile no-credentials"],
            ),
            Failure::new("missing key", kms.uri("alias/nope", "signer", ""), "KeyNotFound", &["alias/nope"]),
            Failure::new(
                "backend down",
                format!("awskms:alias/tufmirror-ed25519?endpoint={down}&profile=signer"),
                "Unreachable",
                &[&format!("AWS KMS in {} at {down} is unreachable", common::ministack::REGION)],
            ),
        ],
        secrets: kms.secrets(),
    };
    run(TEST, kms.dir(), &backend, kms.env()).await;
}
