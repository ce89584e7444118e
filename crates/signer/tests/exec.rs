//! `exec:` against real signing programs: shell scripts around `openssl` (Ed25519 with
//! `pkeyutl -rawin`, P-256 with `dgst -sha256 -sign`), and scripts that fail, hang, print garbage
//! or sign with the wrong key.
//!
//! Scripts run as `/bin/sh SCRIPT ARG... OPERATION` (the script is the URI's first `arg`), which
//! also avoids executing a file this multi-threaded process has just written (`ETXTBSY`).
//!
//! Signing metadata, verification by tufmirror-core and python-tuf, a failing program, a missing
//! key and a missing program are checked for every backend alike in `backends.rs`.
#![cfg(all(unix, feature = "exec"))]

use ed25519_dalek::pkcs8::DecodePrivateKey;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tufmirror_core::PublicKey;
use tufmirror_signer::{Signer, SignerError, open_signer};

/// A signing program around openssl: `$1` is `ed25519` or `p256`, `$2` the key file.
const OPENSSL_SIGNER: &str = include_str!("common/openssl-signer.sh");

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let ok = Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false);
        assert!(ok, "these tests need the openssl command line tool");
        let fixture = Fixture { dir: tempfile::tempdir().expect("tempdir") };
        fixture.openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
        fixture.openssl(&["genpkey", "-algorithm", "ed25519", "-out", "other.pem"]);
        fixture.openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem"]);
        fixture
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl").args(args).current_dir(self.dir.path()).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `script` and returns `exec:/bin/sh?arg=SCRIPT&arg=ARGS...` plus `extra` parameters.
    fn uri(&self, name: &str, script: &str, args: &[&str], extra: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, script).expect("write script");
        let mut uri = format!("exec:/bin/sh?arg={}", encode(&path.display().to_string()));
        for arg in args {
            uri.push_str(&format!("&arg={}", encode(arg)));
        }
        uri + extra
    }

    fn openssl_uri(&self, kind: &str, key: &str) -> String {
        let key = self.path(key).display().to_string();
        self.uri("openssl-signer.sh", OPENSSL_SIGNER, &[kind, &key], "")
    }

    /// The public key of a PEM private key, read with Rust's own parsers.
    fn expected_public(&self, key: &str) -> PublicKey {
        let pem = std::fs::read_to_string(self.path(key)).expect("read key");
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem) {
            return PublicKey::Ed25519(k.verifying_key());
        }
        let k = p256::SecretKey::from_pkcs8_pem(&pem).expect("P-256 key");
        PublicKey::EcdsaP256(p256::ecdsa::VerifyingKey::from(k.public_key()))
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Shell that signs stdin with the Ed25519 key `$key` (`pkeyutl -rawin` needs a regular file).
fn ed_sign(key: &str) -> String {
    format!("tmp=$(mktemp); cat >\"$tmp\"; openssl pkeyutl -sign -rawin -inkey {key} -in \"$tmp\"; rm -f \"$tmp\"")
}

/// A script that announces the key in `$1` and signs as `sign_body` says.
fn announcing_ed(sign_body: &str) -> String {
    format!(
        "eval \"op=\\${{$#}}\"\nif [ \"$op\" = public-key ]; then exec openssl pkey -in \"$1\" -pubout; fi\n{sign_body}\n"
    )
}

#[tokio::test]
async fn ed25519_and_p256_keys_sign_and_verify() {
    let f = Fixture::new();
    // Canonical JSON is ASCII, but a signer must not care: every byte value, and more than a pipe
    // holds, so that writing the message and reading the signature must overlap. (Not the empty
    // message: `openssl pkeyutl` cannot sign it, and canonical JSON is never empty.)
    let mut big = (0..=255u8).cycle().take(1 << 20).collect::<Vec<u8>>();
    big.extend_from_slice(b"\n\n");
    for (kind, key, scheme) in [("ed25519", "ed.pem", "ed25519"), ("p256", "ec.pem", "ecdsa-sha2-nistp256")] {
        let signer = open_signer(&f.openssl_uri(kind, key), f.dir.path()).await.expect("open");
        let expected = f.expected_public(key);
        assert_eq!(signer.public_key(), &expected);
        assert_eq!(signer.public_key().scheme(), scheme);
        assert_eq!(signer.key_id(), expected.key_id());
        for message in [&b"{\"signed\":{}}"[..], &big] {
            let sig = signer.sign(message).await.expect("sign");
            expected.verify(message, &sig).expect("verifies with tufmirror-core");
            let other = expected.verify(b"another message", &sig);
            assert!(matches!(other, Err(tufmirror_core::key::KeyError::BadSignature { .. })), "{other:?}");
        }
        let debug = format!("{signer:?}");
        assert!(debug.contains("ExecSigner") && debug.contains(&signer.key_id().0), "{debug}");

        // Signatures may be asked for concurrently: one program per signature.
        let signer: Arc<dyn Signer> = Arc::from(signer);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let signer = signer.clone();
                tokio::spawn(async move {
                    let message = format!("message {i}").into_bytes();
                    let sig = signer.sign(&message).await.expect("sign");
                    signer.public_key().verify(&message, &sig).expect("verifies");
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    }
}

#[tokio::test]
async fn arguments_environment_and_relative_program_paths() {
    let f = Fixture::new();
    // A relative program path is resolved against `base`: a link to /bin/sh next to the config.
    std::os::unix::fs::symlink("/bin/sh", f.path("shell")).expect("symlink");
    let argv = f.path("argv");
    let script = format!(
        "printf '%s|' \"$@\" \"$TUFMIRROR_SIGNER_PROTOCOL\" >>'{}'\n{}",
        argv.display(),
        announcing_ed(&ed_sign("\"$1\""))
    );
    std::fs::write(f.path("record.sh"), script).expect("write script");
    let key = f.path("ed.pem").display().to_string();
    let uri = format!("exec:shell?arg=record.sh&arg={}&arg=a%20b%26c%3Dd+e&timeout=20", encode(&key));
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    assert_eq!(signer.public_key(), &f.expected_public("ed.pem"));
    let recorded = std::fs::read_to_string(&argv).expect("argv");
    assert_eq!(recorded, format!("{key}|a b&c=d+e|public-key|1|"));

    // A relative `base` (the configuration named by a relative path) works the same way.
    let parent = f.dir.path().parent().expect("parent");
    let relative = f.dir.path().strip_prefix(parent).expect("relative");
    let mut child = Command::new(std::env::current_exe().expect("test binary"));
    child.args(["--exact", "relative_base_in_child", "--nocapture"]).current_dir(parent);
    child.env("TUFMIRROR_TEST_EXEC", format!("{}\n{uri}", relative.display()));
    let out = tokio::task::spawn_blocking(move || child.output()).await.expect("join").expect("run child");
    let output = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && output.contains("1 passed"), "{output}");
}

/// Run by the test above in a child process whose working directory is the fixture's parent.
#[tokio::test]
async fn relative_base_in_child() {
    let Ok(setup) = std::env::var("TUFMIRROR_TEST_EXEC") else { return };
    let (base, uri) = setup.split_once('\n').expect("base and URI");
    let signer = open_signer(uri, Path::new(base)).await.expect("open with a relative base");
    let sig = signer.sign(b"message").await.expect("sign");
    signer.public_key().verify(b"message", &sig).expect("verifies");
}

#[tokio::test]
async fn a_failing_program_is_an_error_with_its_stderr() {
    let f = Fixture::new();
    let sign = "echo 'kms: permission denied for key projects/p/keys/k' >&2; exit 3";
    let uri = f.uri("fail.sh", &announcing_ed(sign), &[&f.path("ed.pem").display().to_string()], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(b"message").await.expect_err("exit 3");
    match &err {
        SignerError::ProgramFailed { program, operation, status, stderr } => {
            assert_eq!(
                (program.as_path(), *operation, status.as_str()),
                (Path::new("/bin/sh"), "sign", "exit status 3")
            );
            assert_eq!(stderr, "kms: permission denied for key projects/p/keys/k");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("permission denied for key"), "{err}");

    // At open, and with more stderr than an error keeps.
    let uri = f.uri("fail-open.sh", "head -c 100000 /dev/zero | tr '\\0' x >&2; exit 1", &[], "");
    let err = open_signer(&uri, f.dir.path()).await.expect_err("exit 1");
    match &err {
        SignerError::ProgramFailed { operation: "public-key", stderr, .. } => {
            assert!(stderr.len() < 4200 && stderr.starts_with("xxxx") && stderr.ends_with("[truncated]"), "{stderr}");
        }
        other => panic!("{other:?}"),
    }

    // Killed by a signal.
    let uri = f.uri("killed.sh", "kill -9 $$", &[], "");
    let err = open_signer(&uri, f.dir.path()).await.expect_err("killed");
    assert!(matches!(&err, SignerError::ProgramFailed { status, .. } if status == "killed by signal 9"), "{err:?}");
}

#[tokio::test]
async fn a_hanging_program_is_killed_with_what_it_started() {
    let f = Fixture::new();
    let pid_file = f.path("sleep.pid");
    let sign = format!("sleep 60 & echo $! >'{}'; wait", pid_file.display());
    let uri = f.uri("hang.sh", &announcing_ed(&sign), &[&f.path("ed.pem").display().to_string()], "&timeout=0.5");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let start = Instant::now();
    let err = signer.sign(b"message").await.expect_err("hangs");
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    assert!(
        matches!(&err, SignerError::Timeout { after, backend } if *after == Duration::from_millis(500) && backend.contains("(sign)")),
        "{err:?}"
    );
    assert!(err.to_string().contains("did not answer within 500ms"), "{err}");
    // The `sleep` the script started died with it (the whole process group was killed).
    let pid = std::fs::read_to_string(&pid_file).expect("pid").trim().to_owned();
    let stat = format!("/proc/{pid}/stat");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Gone, or a zombie waiting for a reaper that does not reap.
        let alive =
            std::fs::read_to_string(&stat).is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| !r.starts_with(" Z")));
        if !alive {
            break;
        }
        assert!(Instant::now() < deadline, "the script's child {pid} survived the timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // At open, too.
    let uri = f.uri("hang-open.sh", "exec sleep 60", &[], "&timeout=0.2");
    let err = open_signer(&uri, f.dir.path()).await.expect_err("hangs");
    assert!(matches!(&err, SignerError::Timeout { backend, .. } if backend.contains("(public-key)")), "{err:?}");
}

#[tokio::test]
async fn garbage_is_a_clear_error() {
    let f = Fixture::new();
    let ed = f.path("ed.pem").display().to_string();

    let uri = f.uri("garbage-key.sh", "echo 'hello, I am a key'", &[], "");
    let err = open_signer(&uri, f.dir.path()).await.expect_err("garbage key");
    assert!(matches!(err, SignerError::BadResponse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("PEM") && text.contains("hello, I am a key") && text.contains("(public-key)"), "{text}");

    f.openssl(&["genpkey", "-algorithm", "x25519", "-out", "x25519.pem"]);
    let x25519 = f.path("x25519.pem").display().to_string();
    let uri = f.uri("x25519.sh", "openssl pkey -in \"$1\" -pubout", &[&x25519], "");
    let err = open_signer(&uri, f.dir.path()).await.expect_err("X25519");
    assert!(err.to_string().contains("neither Ed25519 nor ECDSA P-256"), "{err}");

    let uri = f.uri("garbage-sig.sh", &announcing_ed("echo 'not a signature'"), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(b"message").await.expect_err("garbage signature");
    assert!(matches!(err, SignerError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("16 bytes that are not a signature"), "{err}");

    // A hex signature (the protocol says raw bytes) is garbage too.
    let hex = format!("{{ {}; }} | od -An -tx1 | tr -d ' \\n'", ed_sign("\"$1\""));
    let uri = f.uri("hex-sig.sh", &announcing_ed(&hex), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    assert!(matches!(signer.sign(b"message").await, Err(SignerError::BadResponse { .. })));

    let uri = f.uri("silent.sh", &announcing_ed("exit 0"), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(b"message").await.expect_err("nothing printed");
    assert!(err.to_string().contains("printed nothing"), "{err}");

    let uri = f.uri("flood.sh", &announcing_ed("exec head -c 10000000 /dev/zero"), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(b"message").await.expect_err("flood");
    assert!(err.to_string().contains("more than 65536 bytes"), "{err}");
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let f = Fixture::new();
    let ed = f.path("ed.pem").display().to_string();
    let other = f.path("other.pem").display().to_string();
    // Announces ed.pem, signs with other.pem.
    let sign = ed_sign(&format!("'{other}'"));
    let uri = f.uri("wrong-key.sh", &announcing_ed(&sign), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(b"message").await.expect_err("wrong key");
    assert!(matches!(&err, SignerError::BadSignature { key_id, .. } if *key_id == signer.key_id()), "{err:?}");

    // A program that never reads its (large) message and signs something else.
    let ignore = "printf other >\"$1.msg\"; exec openssl pkeyutl -sign -rawin -inkey \"$1\" -in \"$1.msg\"";
    let uri = f.uri("ignores-stdin.sh", &announcing_ed(ignore), &[&ed], "");
    let signer = open_signer(&uri, f.dir.path()).await.expect("open");
    let err = signer.sign(&vec![b'x'; 1 << 20]).await.expect_err("signed something else");
    assert!(matches!(err, SignerError::BadSignature { .. }), "{err:?}");
}
