//! Real PKCS#11 tokens: SoftHSM2 with a configuration and a token directory of its own, keys made
//! with OpenSC's `pkcs11-tool` (both installed by tests/run-all.sh). SoftHSM2 reads
//! `SOFTHSM2_CONF` when its module is initialized, once per process: the signer runs in a child
//! ([`super::child`]) with [`Hsm::env`].

use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub const TOKEN: &str = "tuf test";
pub const TOKEN_IN_URI: &str = "tuf%20test";
pub const PIN: &str = "246810";
const SO_PIN: &str = "13579111";
/// The variable that [`Hsm::env`] puts the user PIN in (`pin-env=` in URIs).
pub const PIN_ENV: &str = "TUFMIRROR_TEST_HSM_PIN";

/// The SoftHSM2 module, or a failure that says how to install it.
pub fn module() -> PathBuf {
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

/// A SoftHSM2 configuration with one fresh token labelled [`TOKEN`], in a temporary directory.
pub struct Hsm {
    dir: TempDir,
    pub module: PathBuf,
}

impl Hsm {
    pub fn init() -> Self {
        let module = module();
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

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// What a process needs in its environment to use the token: the configuration and the PIN
    /// in [`PIN_ENV`].
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SOFTHSM2_CONF".to_owned(), self.conf().display().to_string()), (PIN_ENV.to_owned(), PIN.to_owned())]
    }

    fn run(&self, command: &mut Command) {
        let out = command.env("SOFTHSM2_CONF", self.conf()).output().expect("run a SoftHSM2 tool");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{command:?} failed: {}\n{stdout}\n{stderr}", out.status);
    }

    /// Generates a key pair: `EC:edwards25519` or `EC:prime256v1`, `id` in hex.
    pub fn keypair(&self, key_type: &str, label: &str, id: &str) {
        let mut command = Command::new("pkcs11-tool");
        command.arg("--module").arg(&self.module).args(["--token-label", TOKEN, "--login", "--pin", PIN]);
        self.run(command.args(["--keypairgen", "--key-type", key_type, "--label", label, "--id", id]));
    }

    /// Writes the PIN into `name` in the token's directory, with `mode`.
    pub fn write_pin_file(&self, name: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{PIN}\n")).expect("pin file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// `pkcs11:token=tuf%20test;KEY;type=private?module-path=…[&QUERY]`.
    pub fn uri(&self, key: &str, query: &str) -> String {
        uri(&self.module, key, query)
    }
}

/// A URI for the key `key` (path attributes) of the test token through `module`.
pub fn uri(module: &Path, key: &str, query: &str) -> String {
    let query = if query.is_empty() { String::new() } else { format!("&{query}") };
    format!("pkcs11:token={TOKEN_IN_URI};{key};type=private?module-path={}{query}", module.display())
}
