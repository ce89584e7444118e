//! ministack, a local AWS emulator, as the AWS KMS counterpart of the `awskms:` tests: started as
//! a child process on a free loopback port with `AUTH=true` (SigV4 signatures and IAM policies are
//! checked, as by AWS), given keys and users by `tests/python/ministack_kms.py`, killed when the
//! fixture is dropped. Nothing here talks to anything but loopback.
//!
//! Profiles in the fixture's AWS files ([`Ministack::env`] points the SDK at them):
//!
//! | profile | credentials | region |
//! |---|---|---|
//! | `signer` | an IAM user allowed `kms:GetPublicKey` and `kms:Sign` | [`REGION`] |
//! | `reader` | an IAM user allowed `kms:GetPublicKey` only | [`REGION`] |
//! | `wrong-secret` | `signer`'s access key id with another secret | [`REGION`] |
//! | `unknown-key` | an access key id nobody has | [`REGION`] |
//! | `no-credentials` | none | [`REGION`] |
//! | `no-region` | `signer`'s | none |

use super::python::{self, command, python};
use super::{Run, closed_port, run};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The region the keys live in.
pub(crate) const REGION: &str = "eu-west-3";
/// The secret of the `wrong-secret` profile.
pub(crate) const WRONG_SECRET: &str = "not-the-secret-0a1b2c3d4e5f60718293a4b5";
const STARTUP: Duration = Duration::from_secs(60);

/// A running ministack with keys and users (module documentation: the profiles). It derefs to
/// its [`Kms`] description.
pub(crate) struct Ministack {
    child: Child,
    dir: TempDir,
    kms: Kms,
}

/// What a test needs to know of a running ministack; a child reads it with [`Kms::load`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Kms {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// What `ministack_kms.py setup` printed: `keys.NAME.{id,arn}`, `users.NAME.{…}`.
    pub setup: Value,
    /// The fixture's directory, with the AWS files.
    pub dir: PathBuf,
}

const FIXTURE: &str = "ministack.json";

impl Ministack {
    /// Starts ministack, waits until it answers, and creates the keys, users and AWS files.
    pub(crate) fn start() -> Ministack {
        python::require("ministack", "ministack, the AWS emulator (tests/python/requirements.txt)");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = closed_port();
        let log = std::fs::File::create(dir.path().join("ministack.log")).expect("log file");
        let mut command = Command::new(python());
        command.args(["-m", "ministack"]);
        for (name, _) in std::env::vars_os() {
            // Its root credentials are whatever AWS_ACCESS_KEY_ID says: never the developer's.
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            .env("AUTH", "true")
            .env("SERVICES", "kms,iam")
            .env("MINISTACK_REGION", REGION)
            .env("LOG_LEVEL", "WARNING")
            .env("PERSIST_STATE", "0")
            .env("TMPDIR", dir.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start ministack ({command:?}): {e}"));
        let kms = Kms { endpoint: format!("http://127.0.0.1:{port}"), setup: Value::Null, dir: dir.path().to_owned() };
        let mut ministack = Ministack { child, dir, kms };
        ministack.wait_until_listening(port);
        let out = ministack.kms.script(&["setup"]).ok();
        ministack.kms.setup = serde_json::from_str(&out).unwrap_or_else(|e| panic!("setup printed {out:?}: {e}"));
        ministack.kms.write_aws_files();
        let json = serde_json::to_vec_pretty(&ministack.kms).expect("JSON");
        std::fs::write(ministack.dir.path().join(FIXTURE), json).expect("write the fixture");
        ministack
    }

    fn wait_until_listening(&mut self, port: u16) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for ministack") {
                panic!("ministack exited ({status}) before it listened:\n{}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            assert!(start.elapsed() < STARTUP, "ministack did not listen within {STARTUP:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ministack.log")).unwrap_or_default()
    }
}

impl std::ops::Deref for Ministack {
    type Target = Kms;

    fn deref(&self) -> &Kms {
        &self.kms
    }
}

impl Kms {
    /// In a child: the description its parent's [`Ministack::start`] wrote into `dir`.
    pub(crate) fn load(dir: &Path) -> Kms {
        let json = std::fs::read(dir.join(FIXTURE)).expect("read the ministack fixture");
        serde_json::from_slice(&json).expect("the ministack fixture")
    }

    /// Runs `ministack_kms.py ENDPOINT REGION ARGS...`.
    pub(crate) fn script(&self, args: &[&str]) -> Run {
        run(command("ministack_kms.py").arg(&self.endpoint).arg(REGION).args(args), Duration::from_secs(60))
    }

    /// The id of key `name` (`ed25519`, `p256`, `p384`, `rsa`, `aes`).
    pub(crate) fn key_id(&self, name: &str) -> String {
        self.setup["keys"][name]["id"].as_str().unwrap_or_else(|| panic!("no key {name}")).to_owned()
    }

    pub(crate) fn key_arn(&self, name: &str) -> String {
        self.setup["keys"][name]["arn"].as_str().unwrap_or_else(|| panic!("no key {name}")).to_owned()
    }

    fn user(&self, name: &str, field: &str) -> String {
        self.setup["users"][name][field].as_str().unwrap_or_else(|| panic!("no user {name}")).to_owned()
    }

    /// The secret access keys of the users, which no output may show.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = ["signer", "reader"].iter().map(|u| self.user(u, "secret_access_key")).collect();
        secrets.push(WRONG_SECRET.to_owned());
        secrets
    }

    fn write_aws_files(&self) {
        let (signer_id, signer_secret) =
            (self.user("signer", "access_key_id"), self.user("signer", "secret_access_key"));
        let (reader_id, reader_secret) =
            (self.user("reader", "access_key_id"), self.user("reader", "secret_access_key"));
        let mut config = String::new();
        for profile in ["signer", "reader", "wrong-secret", "unknown-key", "no-credentials"] {
            let _ = writeln!(config, "[profile {profile}]\nregion = {REGION}\n");
        }
        config.push_str("[profile no-region]\n");
        let mut credentials = String::new();
        for (profile, id, secret) in [
            ("signer", signer_id.as_str(), signer_secret.as_str()),
            ("reader", &reader_id, &reader_secret),
            ("wrong-secret", &signer_id, WRONG_SECRET),
            ("unknown-key", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ("no-region", &signer_id, &signer_secret),
        ] {
            let _ = writeln!(credentials, "[{profile}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
        }
        std::fs::write(self.config_file(), config).expect("AWS config");
        super::write_private(&self.credentials_file(), &credentials);
    }

    fn config_file(&self) -> PathBuf {
        self.dir.join("aws-config")
    }

    fn credentials_file(&self) -> PathBuf {
        self.dir.join("aws-credentials")
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The variables that point the AWS SDK at this fixture's files (for a child).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_CONFIG_FILE".to_owned(), self.config_file().display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE".to_owned(), self.credentials_file().display().to_string()),
        ]
    }

    /// `awskms:KEY?endpoint=…&profile=PROFILE` plus `extra` parameters.
    pub(crate) fn uri(&self, key: &str, profile: &str, extra: &str) -> String {
        format!("awskms:{key}?endpoint={}&profile={profile}{extra}", self.endpoint)
    }
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
