//! Real PKCS#11 tokens for tests: SoftHSM2 with a configuration and a token folder of its own,
//! key pairs made with OpenSC's `pkcs11-tool` (both installed by `tests/run-all.sh`). SoftHSM2
//! reads `SOFTHSM2_CONF` when its module is initialized, once per process: whatever uses a token
//! (a child process, the daemon) gets [`SoftHsm::env`] in its environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The user PIN of every test token.
pub const PIN: &str = "246810";
const SO_PIN: &str = "13579111";
/// The variable that [`SoftHsm::env`] puts the user PIN in (`pin-env=` in key URIs).
pub const PIN_ENV: &str = "TUFMIRROR_TEST_HSM_PIN";

/// The SoftHSM2 module, or a panic that says how to install it.
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

/// A SoftHSM2 token in a folder of its own.
#[derive(Debug)]
pub struct SoftHsm {
    dir: PathBuf,
    pub module: PathBuf,
    label: String,
}

impl SoftHsm {
    /// Initializes a token labelled `label` in `dir` (created).
    pub fn new(dir: &Path, label: &str) -> SoftHsm {
        let module = module();
        std::fs::create_dir_all(dir.join("tokens")).expect("token folder");
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

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.join("softhsm2.conf")
    }

    /// What a process needs in its environment to use the token: the configuration, and the PIN
    /// in [`PIN_ENV`].
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SOFTHSM2_CONF".to_owned(), self.conf().display().to_string()), (PIN_ENV.to_owned(), PIN.to_owned())]
    }

    fn run(&self, command: &mut Command) {
        let out = command.env("SOFTHSM2_CONF", self.conf()).output().expect("run a SoftHSM2 tool");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{command:?} failed: {}\n{stdout}\n{stderr}", out.status);
    }

    /// Generates a key pair (`EC:edwards25519` or `EC:prime256v1`, `id` in hex) and returns the
    /// URI of its private key, with the PIN from [`PIN_ENV`].
    pub fn keypair(&self, key_type: &str, label: &str, id: &str) -> String {
        let mut command = Command::new("pkcs11-tool");
        command.arg("--module").arg(&self.module).args(["--token-label", &self.label, "--login", "--pin", PIN]);
        self.run(command.args(["--keypairgen", "--key-type", key_type, "--label", label, "--id", id]));
        self.uri(&format!("object={label}"), &format!("pin-env={PIN_ENV}"))
    }

    /// Writes the PIN into `name` in the token's folder, with `mode`.
    pub fn write_pin_file(&self, name: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join(name);
        std::fs::write(&path, format!("{PIN}\n")).expect("pin file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// `pkcs11:token=LABEL;KEY;type=private?module-path=…[&QUERY]` (`KEY`: path attributes).
    pub fn uri(&self, key: &str, query: &str) -> String {
        uri(&self.label, &self.module, key, query)
    }
}

/// The URI of the key `key` (path attributes) on the token `label` through `module`.
pub fn uri(label: &str, module: &Path, key: &str, query: &str) -> String {
    let query = if query.is_empty() { String::new() } else { format!("&{query}") };
    let label = label.replace('%', "%25").replace(' ', "%20");
    format!("pkcs11:token={label};{key};type=private?module-path={}{query}", module.display())
}
