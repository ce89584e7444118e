//! Helpers shared by the signer's integration tests: the counterparts each backend talks to
//! (SoftHSM2 tokens, a Vault-transit-compatible server, ministack's AWS KMS), running this test
//! binary again as a child with another environment, and the TUF metadata checks (tufmirror-core
//! and python-tuf) that every backend's signatures must pass.
//!
//! Missing tools (SoftHSM2, OpenSC, OpenSSL, the Python venv) fail the tests with a message that
//! says how to install them, as everywhere in tufmirror: a check that is silently skipped is a
//! check nobody runs. `tests/run-all.sh` installs all of them.
#![allow(dead_code)]

pub mod child;
pub mod ministack;
pub mod python;
pub mod softhsm;
pub mod tuf;
pub mod vault_server;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tufmirror_signer::SignerError;

/// The workspace root (where `tests/python` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a finished process said.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "{}\nexit status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts exit status 0 and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self.stdout
    }
}

/// Runs `command` to its end, or kills it after `timeout` and fails the test: a hung child must
/// not hang the test run. Both pipes are drained in threads so that a chatty child cannot block.
pub fn run(command: &mut Command, timeout: Duration) -> Run {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait().unwrap_or_else(|e| panic!("waiting for {what}: {e}")) {
            Some(status) => break status,
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Run { code: status.code(), stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default(), what }
}

/// The error with its causes, as the CLI prints it.
pub fn chain(e: &SignerError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The variant's name (`KeyNotFound`), and the I/O error kind for `Io` (`Io(NotFound)`): what the
/// shared suite expects of each failure.
pub fn variant(e: &SignerError) -> String {
    if let SignerError::Io { source, .. } = e {
        return format!("Io({:?})", source.kind());
    }
    let debug = format!("{e:?}");
    debug.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
}

/// A loopback port where nothing listens (one that was free a moment ago).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("address").port()
}

/// Percent-encodes everything but unreserved characters and `/`, for paths inside key URIs.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Writes `contents` to `path` with mode 0600.
pub fn write_private(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write");
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
}
