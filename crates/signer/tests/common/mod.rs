//! Helpers shared by the signer's integration tests: the counterparts each backend talks to
//! (SoftHSM2 tokens, a Vault-transit-compatible stand-in written here, ministack's AWS KMS), running
//! this test binary again as a child with another environment, and the TUF metadata checks
//! (tufmirror-core and python-tuf) that every backend's signatures must pass.
//!
//! Missing tools (SoftHSM2, OpenSC, OpenSSL, the Python venv) fail the tests with a message that
//! says how to install them, as everywhere in tufmirror: a check that is silently skipped is a
//! check nobody runs. `tests/run-all.sh` installs all of them.
#![allow(dead_code)]

pub(crate) mod child;
pub(crate) mod ministack;
pub(crate) mod python;
pub(crate) mod softhsm;
pub(crate) mod tuf;
pub(crate) mod vault_server;

use std::path::Path;
use tufmirror_signer::SignerError;

pub(crate) use tufmirror_testkit::process::{Run, run};
#[allow(unused_imports)] // not every test binary uses each
pub(crate) use tufmirror_testkit::python::workspace_root;

/// The error with its causes, as the CLI prints it.
pub(crate) fn chain(e: &SignerError) -> String {
    tufmirror_core::error_chain(e)
}

/// The variant's name (`KeyNotFound`), and the I/O error kind for `Io` (`Io(NotFound)`): what the
/// shared suite expects of each failure.
pub(crate) fn variant(e: &SignerError) -> String {
    if let SignerError::Io { source, .. } = e {
        return format!("Io({:?})", source.kind());
    }
    let debug = format!("{e:?}");
    debug.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

/// A loopback port where nothing listens (one that was free a moment ago).
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("address").port()
}

/// Percent-encodes everything but unreserved characters and `/`, for paths inside key URIs.
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Writes `contents` to `path` with mode 0600.
pub(crate) fn write_private(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write");
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
}
