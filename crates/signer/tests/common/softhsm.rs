//! Real PKCS#11 tokens: SoftHSM2 with a configuration and a token directory of its own, keys made
//! with OpenSC's `pkcs11-tool` (both installed by tests/run-all.sh). SoftHSM2 reads
//! `SOFTHSM2_CONF` when its module is initialized, once per process: the signer runs in a child
//! ([`super::child`]) with [`Hsm::env`].

use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tufmirror_testkit::softhsm::SoftHsm;

pub(crate) const TOKEN: &str = "tuf test";
pub(crate) const TOKEN_IN_URI: &str = "tuf%20test";

#[allow(unused_imports)] // not every test binary uses each
pub(crate) use tufmirror_testkit::softhsm::{PIN, PIN_ENV, module};

/// A fresh token labelled [`TOKEN`] in a temporary directory.
pub(crate) struct Hsm {
    _dir: TempDir,
    token: SoftHsm,
    pub module: PathBuf,
}

impl Hsm {
    pub(crate) fn init() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = SoftHsm::new(dir.path(), TOKEN);
        let module = token.module.clone();
        Hsm { _dir: dir, token, module }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.token.dir()
    }

    pub(crate) fn conf(&self) -> PathBuf {
        self.token.conf()
    }

    /// What a process needs in its environment to use the token: the configuration and the PIN
    /// in [`PIN_ENV`].
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.token.env()
    }

    /// Generates a key pair: `EC:edwards25519` or `EC:prime256v1`, `id` in hex.
    pub(crate) fn keypair(&self, key_type: &str, label: &str, id: &str) {
        self.token.keypair(key_type, label, id);
    }

    /// Writes the PIN into `name` in the token's directory, with `mode`.
    pub(crate) fn write_pin_file(&self, name: &str, mode: u32) {
        self.token.write_pin_file(name, mode);
    }

    /// `pkcs11:token=tuf%20test;KEY;type=private?module-path=…[&QUERY]`.
    pub(crate) fn uri(&self, key: &str, query: &str) -> String {
        self.token.uri(key, query)
    }
}

/// A URI for the key `key` (path attributes) of the test token through `module`.
pub(crate) fn uri(module: &Path, key: &str, query: &str) -> String {
    tufmirror_testkit::softhsm::uri(TOKEN, module, key, query)
}
