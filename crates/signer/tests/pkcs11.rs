//! The `pkcs11:` backend against real SoftHSM2 tokens (installed by tests/run-all.sh).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialized, and a module is initialized once
//! per process, while the workspace forbids `unsafe` (so no `set_var`). Each test therefore makes
//! a fresh token in a temporary directory with `softhsm2-util` and `pkcs11-tool`, then runs itself
//! again as a child process (this test binary, `--exact <test>`) with `SOFTHSM2_CONF` and whatever
//! else it needs in the child's environment; the child does the in-process part.
#![cfg(feature = "pkcs11")]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tempfile::TempDir;
use tufmirror_signer::{Signer, SignerError, open_signer};

const CHILD_DIR: &str = "TUFMIRROR_PKCS11_TEST_DIR";
const MODULE_ENV: &str = "TUFMIRROR_PKCS11_MODULE";
const TOKEN: &str = "tuf test";
const TOKEN_IN_URI: &str = "tuf%20test";
const PIN: &str = "246810";
const SO_PIN: &str = "13579111";

fn softhsm() -> PathBuf {
    let install = "SoftHSM2 and OpenSC are needed by the pkcs11 tests: run tests/run-all.sh (it installs \
                   them), or `apt-get install softhsm2 opensc`";
    for tool in ["softhsm2-util", "pkcs11-tool"] {
        let found = Command::new(tool).arg("--help").output().is_ok();
        assert!(found, "{tool} is not installed. {install}");
    }
    let candidates = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
    ];
    let found = candidates.iter().map(PathBuf::from).find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("libsofthsm2.so is not installed (looked in {candidates:?}). {install}"))
}

/// A SoftHSM2 configuration with one fresh token, in a temporary directory.
struct Hsm {
    dir: TempDir,
    module: PathBuf,
}

impl Hsm {
    fn new() -> Self {
        let module = softhsm();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("tokens")).expect("tokens dir");
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        );
        std::fs::write(dir.path().join("softhsm2.conf"), conf).expect("conf");
        let hsm = Hsm { dir, module };
        hsm.run(
            Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN])
                .args(["--so-pin", SO_PIN]),
        );
        hsm
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    fn run(&self, command: &mut Command) {
        let out = command.env("SOFTHSM2_CONF", self.conf()).output().expect("run a SoftHSM2 tool");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{command:?} failed: {}\n{stdout}\n{stderr}", out.status);
    }

    /// Generates a key pair: `EC:edwards25519` or `EC:prime256v1`, `id` in hex.
    fn keypair(&self, key_type: &str, label: &str, id: &str) {
        let mut command = Command::new("pkcs11-tool");
        command.arg("--module").arg(&self.module).args(["--token-label", TOKEN, "--login", "--pin", PIN]);
        self.run(command.args(["--keypairgen", "--key-type", key_type, "--label", label, "--id", id]));
    }

    fn write_pin_file(&self, name: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{PIN}\n")).expect("pin file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// Runs `test` of this binary as a child with this token, and `env` added to its environment.
    fn run_child(&self, test: &str, env: &[(&str, &str)]) {
        let exe = std::env::current_exe().expect("test binary");
        let mut command = Command::new(exe);
        command.args([test, "--exact", "--nocapture", "--test-threads=1"]);
        command.env(CHILD_DIR, self.dir.path()).env("SOFTHSM2_CONF", self.conf()).env_remove(MODULE_ENV);
        command.envs(env.iter().copied());
        let out = command.output().expect("run the child test");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "child {test} failed: {}\n{stdout}\n{stderr}", out.status);
        // A misspelt test name would run nothing and succeed: the child leaves a mark.
        let mark = self.dir.path().join(format!("{test}.ran"));
        assert!(mark.exists(), "child {test} did not run its body:\n{stdout}\n{stderr}");
        std::fs::remove_file(mark).expect("remove mark");
    }
}

/// In the child, runs `body` with the token's directory and marks that it ran.
fn in_child<F: Future<Output = ()>>(test: &str, body: impl FnOnce(PathBuf) -> F) -> bool {
    let Some(dir) = std::env::var_os(CHILD_DIR).map(PathBuf::from) else {
        return false;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(body(dir.clone()));
    std::fs::write(dir.join(format!("{test}.ran")), "").expect("mark");
    true
}

fn uri(key: &str, query: &str) -> String {
    let query = if query.is_empty() { String::new() } else { format!("&{query}") };
    format!("pkcs11:token={TOKEN_IN_URI};{key};type=private?module-path={}{query}", softhsm().display())
}

async fn open_err(uri: &str, base: &Path) -> SignerError {
    match open_signer(uri, base).await {
        Ok(signer) => panic!("{uri} opened as {signer:?}"),
        Err(e) => e,
    }
}

/// The message with its causes, as the CLI prints it.
fn chain(e: &SignerError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
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
                assert!(public.verify(b"another message", &sig).is_err());
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
    let hsm = Hsm::new();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.keypair("EC:prime256v1", "p256", "02");
    hsm.run_child(TEST, &[]);
    // A new process, a new session, a new login: still the same keys.
    hsm.run_child(TEST, &[]);
}

#[test]
fn a_wrong_pin_is_refused_as_a_wrong_pin() {
    const TEST: &str = "a_wrong_pin_is_refused_as_a_wrong_pin";
    if in_child(TEST, |dir| async move {
        let e = open_err(&uri("object=ed", "pin-value=999999"), &dir).await;
        let text = chain(&e);
        assert!(matches!(e, SignerError::CredentialsRefused { .. }), "{e:?}");
        assert!(text.contains(TOKEN) && text.contains("CKR_PIN_INCORRECT"), "{text}");
        assert!(!text.contains("999999") && !format!("{e:?}").contains("999999"), "{text}");
    }) {
        return;
    }
    let hsm = Hsm::new();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.run_child(TEST, &[]);
}

#[test]
fn a_missing_object_or_token_is_named() {
    const TEST: &str = "a_missing_object_or_token_is_named";
    if in_child(TEST, |dir| async move {
        let e = open_err(&uri("object=nope", &format!("pin-value={PIN}")), &dir).await;
        let text = chain(&e);
        assert!(matches!(e, SignerError::KeyNotFound { .. }), "{e:?}");
        assert!(text.contains("\"nope\"") && text.contains(TOKEN), "{text}");

        let e = open_err(&uri("id=%09", &format!("pin-value={PIN}")), &dir).await;
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
    let hsm = Hsm::new();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.run_child(TEST, &[]);
}

#[tokio::test]
async fn a_missing_module_is_named() {
    // No module is loaded here, so this runs in the test process itself.
    let uri = "pkcs11:token=t;object=k?module-path=/nonexistent/libnope.so&pin-value=1";
    let e = open_err(uri, Path::new("/")).await;
    let text = chain(&e);
    assert!(text.contains("/nonexistent/libnope.so") && !text.contains("pin-value=1"), "{text}");
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
    let hsm = Hsm::new();
    hsm.keypair("EC:edwards25519", "ed", "01");
    hsm.run_child(TEST, &[]);
    let module = softhsm();
    hsm.run_child(TEST, &[(MODULE_ENV, module.to_str().expect("utf-8 path"))]);
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
    let hsm = Hsm::new();
    hsm.keypair("EC:prime256v1", "p256", "02");
    hsm.write_pin_file("pin", 0o600);
    hsm.write_pin_file("open-pin", 0o644);
    hsm.run_child(TEST, &[("TEST_HSM_PIN", PIN)]);
}
