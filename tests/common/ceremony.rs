//! Helpers for root-ceremony tests: key holders with their own key files, and the binary run
//! without an inherited `TUFMIRROR_CONFIG`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tufmirror_core::metadata::{Root, Signed};
use tufmirror_core::{KeyId, PublicKey};

/// Runs `tufmirror ARGS` with no configuration from the environment.
pub(crate) fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    super::output(
        Command::new(super::bin())
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("TUFMIRROR_CONFIG")
            .env("NO_PROXY", "127.0.0.1,localhost"),
    )
}

fn describe(args: &[&OsStr], out: &Output) -> String {
    format!(
        "tufmirror {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `tufmirror ARGS`, fails the test unless it succeeds, and returns (stdout, stderr).
pub(crate) fn ok<S: AsRef<OsStr>>(args: &[S]) -> (String, String) {
    let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    let out = run(&args);
    assert!(out.status.success(), "expected success:\n{}", describe(&args, &out));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `tufmirror ARGS`, fails the test if it succeeds, and returns stderr.
pub(crate) fn refused<S: AsRef<OsStr>>(args: &[S]) -> String {
    let args: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    let out = run(&args);
    assert!(!out.status.success(), "expected a refusal:\n{}", describe(&args, &out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One key holder: a private key file (mode 0600) and the PEM public key they hand over.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub key: PathBuf,
    pub public: PathBuf,
    pub id: KeyId,
}

impl Holder {
    pub(crate) fn new(dir: &Path, name: &str) -> Holder {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let key = dir.join("key.pem");
        let public_key: PublicKey =
            tufmirror_signer::generate_key_file(&key, tufmirror_signer::KeyAlgorithm::Ed25519).expect("generate");
        // What a holder hands over: `tufmirror keys public` of their key.
        let (pem, about) = ok(&["keys", "public", "--key", &format!("file:{}", key.display())]);
        assert_eq!(pem, public_key.to_spki_pem());
        assert!(about.contains(&public_key.key_id().to_string()), "keys public names the key id: {about}");
        let public = dir.join("public.pem");
        std::fs::write(&public, pem).expect("write public key");
        Holder { key, public, id: public_key.key_id() }
    }

    /// `file:PATH`, the URI of the private key.
    pub(crate) fn uri(&self) -> String {
        format!("file:{}", self.key.display())
    }
}

pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The proposal or root file at `path`, parsed (signatures unchecked).
pub(crate) fn read_root(path: &Path) -> Signed<Root> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    tufmirror_core::verify::parse_unverified::<Root>(&bytes).expect("root metadata").0
}

/// `root status --json`.
pub(crate) fn status_json(proposal: &Path, roots: Option<&Path>) -> serde_json::Value {
    let mut args = vec!["root", "status", "--json", s(proposal)];
    if let Some(dir) = roots {
        args.extend(["--roots", s(dir)]);
    }
    serde_json::from_str(&ok(&args).0).expect("status JSON")
}
