//! The Python side of the tests: python-tuf (and ministack) from the venv that
//! `tests/python/setup-venv.sh` builds.
//!
//! The interpreter comes from `TUFMIRROR_PYTHON` (`tests/run-all.sh` sets it), else
//! `$TUFMIRROR_VENV/bin/python`, else `target/tufmirror-venv/bin/python`. Without a Python that can
//! import python-tuf the tests fail, saying how to build it: interoperability that is silently
//! skipped is interoperability nobody checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const SETUP: &str = "run tests/run-all.sh, or `export TUFMIRROR_PYTHON=$(tests/python/setup-venv.sh)` before \
                     `cargo test` (setup-venv.sh installs tests/python/requirements.txt)";

/// The workspace's root folder (where `tests/python` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/python/NAME`.
pub fn script(name: &str) -> PathBuf {
    workspace_root().join("tests/python").join(name)
}

/// The interpreter of the test venv, able to import python-tuf.
pub fn interpreter() -> &'static Path {
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
            imports(&candidate, "tuf.ngclient"),
            "{} ({what}) cannot import python-tuf: {SETUP}",
            candidate.display()
        );
        candidate
    })
}

/// Fails the test unless the interpreter can import `module` (`needed` says what it is).
pub fn require(module: &str, needed: &str) {
    let python = interpreter();
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

/// `python tests/python/SCRIPT` with the environment every test run gets: no bytecode files
/// written into the repository, and never a proxy (everything is on loopback).
pub fn command(script_name: &str) -> Command {
    let mut command = Command::new(interpreter());
    command.arg(script(script_name));
    without_proxies(&mut command).env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Removes proxy settings from `command`'s environment and exempts loopback.
pub fn without_proxies(command: &mut Command) -> &mut Command {
    command.env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost");
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(var);
    }
    command
}
