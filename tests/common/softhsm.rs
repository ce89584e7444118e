//! A real PKCS#11 token for end-to-end tests: SoftHSM2 with its own configuration and token
//! directory in a temporary folder, keys made with OpenSC's `pkcs11-tool`. Processes that use it
//! (the daemon, `tufmirror keys rotate`) get [`SoftHsm::env`] in their environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable that carries the user PIN to tufmirror (`pin-env=` in the key URI).
pub const PIN_ENV: &str = "TUFMIRROR_TEST_HSM_PIN";
const PIN: &str = "246810";
const SO_PIN: &str = "13579111";

/// A SoftHSM2 token in `dir`.
pub struct SoftHsm {
    dir: PathBuf,
    module: PathBuf,
    label: String,
}

/// The SoftHSM2 module, or a panic that says how to install it (tests/run-all.sh does).
pub fn module() -> PathBuf {
    let install = "SoftHSM2 and OpenSC are needed: run tests/run-all.sh (it installs them), or \
                   `apt-get install softhsm2 opensc`";
    for tool in ["softhsm2-util", "pkcs11-tool"] {
        assert!(Command::new(tool).arg("--help").output().is_ok(), "{tool} is not installed. {install}");
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

impl SoftHsm {
    /// Initializes a token labelled `label` in `dir` (created).
    pub fn new(dir: &Path, label: &str) -> SoftHsm {
        let module = module();
        std::fs::create_dir_all(dir.join("tokens")).expect("token dir");
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        );
        std::fs::write(dir.join("softhsm2.conf"), conf).expect("softhsm2.conf");
        let hsm = SoftHsm { dir: dir.to_owned(), module, label: label.to_owned() };
        hsm.run(
            Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", label, "--pin", PIN])
                .args(["--so-pin", SO_PIN]),
        );
        hsm
    }

    /// What a process needs in its environment to use the token.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SOFTHSM2_CONF".to_owned(), self.dir.join("softhsm2.conf").display().to_string()),
            (PIN_ENV.to_owned(), PIN.to_owned()),
        ]
    }

    fn run(&self, command: &mut Command) {
        let out = command.envs(self.env()).output().expect("run a SoftHSM2 tool");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{command:?} failed: {}\n{stdout}\n{stderr}", out.status);
    }

    /// Generates a key pair (`EC:edwards25519` or `EC:prime256v1`) on the token and returns the
    /// key URI that names its private key.
    pub fn keypair(&self, key_type: &str, label: &str, id_hex: &str) -> String {
        let mut command = Command::new("pkcs11-tool");
        command.arg("--module").arg(&self.module).args(["--token-label", &self.label, "--login", "--pin", PIN]);
        self.run(command.args(["--keypairgen", "--key-type", key_type, "--label", label, "--id", id_hex]));
        format!(
            "pkcs11:token={};object={label};type=private?module-path={}&pin-env={PIN_ENV}",
            self.label.replace(' ', "%20"),
            self.module.display()
        )
    }
}
