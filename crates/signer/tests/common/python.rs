//! The Python side of the signer tests: python-tuf as an independent verifier, and ministack as
//! the AWS KMS counterpart.
//!
//! The interpreter comes from `TUFMIRROR_PYTHON` (the venv that `tests/python/setup-venv.sh`
//! builds; `tests/run-all.sh` sets it), else `$TUFMIRROR_VENV/bin/python`, else
//! `target/tufmirror-venv/bin/python`, as for the workspace's end-to-end tests. Without it the
//! tests fail, with the command that builds it.

use super::{Run, run, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);
const SETUP: &str = "run tests/run-all.sh, or `TUFMIRROR_PYTHON=$(tests/python/setup-venv.sh) cargo test -p \
                     tufmirror-signer` (setup-venv.sh installs tests/python/requirements.txt)";

pub fn script(name: &str) -> PathBuf {
    workspace_root().join("tests/python").join(name)
}

/// The interpreter of the test venv, able to import python-tuf.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let (candidate, what) = match std::env::var_os("TUFMIRROR_PYTHON") {
            // An explicit choice is never second-guessed by a fallback.
            Some(p) if !p.is_empty() => (PathBuf::from(p), "TUFMIRROR_PYTHON"),
            _ => {
                let venv = std::env::var_os("TUFMIRROR_VENV")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("target/tufmirror-venv"));
                let venv = if venv.is_absolute() { venv } else { workspace_root().join(venv) };
                (venv.join("bin/python"), "the test venv")
            }
        };
        assert!(
            imports(&candidate, "tuf.api.metadata"),
            "{} ({what}) cannot import python-tuf: {SETUP}",
            candidate.display()
        );
        candidate
    })
}

/// Fails the test unless the interpreter can import `module` (`needed` says what it is).
pub fn require(module: &str, needed: &str) {
    let python = python();
    assert!(imports(python, module), "{} cannot import {needed}: {SETUP}", python.display());
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python command with the environment every test run of it gets: no bytecode files written
/// into the repository, and never a proxy (everything is on loopback).
pub fn command(script_name: &str) -> Command {
    let mut command = Command::new(python());
    command.arg(script(script_name));
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(var);
    }
    command
}

/// `verify_signature.py ROOT ROLE METADATA`: python-tuf's `Metadata.verify_delegate`.
pub fn verify_signature(root: &Path, role: &str, metadata: &Path) -> Run {
    run(command("verify_signature.py").arg(root).arg(role).arg(metadata), TIMEOUT)
}
