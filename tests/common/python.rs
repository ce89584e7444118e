//! Running Python checks (python-tuf, the independent POUF verifier) from tests.
//!
//! The interpreter comes from `TUFMIRROR_PYTHON` (the venv that `tests/python/setup-venv.sh`
//! builds; `tests/run-all.sh` sets it), else `$TUFMIRROR_VENV/bin/python`, else
//! `target/tufmirror-venv/bin/python`. Without a Python that can import `tuf` these tests fail:
//! interoperability that is silently skipped is interoperability nobody checks.

use super::repo_root;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// No step of these tests should come near this; a hung child must not hang the test run.
const CHILD_TIMEOUT: Duration = Duration::from_secs(180);

pub fn script(name: &str) -> PathBuf {
    repo_root().join("tests/python").join(name)
}

/// The interpreter of the test venv; fails the test (never skips it) when there is none.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates: Vec<(PathBuf, &str)> = match std::env::var_os("TUFMIRROR_PYTHON") {
            // An explicit choice is never second-guessed by a fallback.
            Some(p) if !p.is_empty() => vec![(PathBuf::from(p), "TUFMIRROR_PYTHON")],
            _ => {
                let venv = std::env::var_os("TUFMIRROR_VENV")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("target/tufmirror-venv"));
                let venv = if venv.is_absolute() { venv } else { repo_root().join(venv) };
                vec![(venv.join("bin/python"), "the test venv")]
            }
        };
        let mut tried = Vec::new();
        for (candidate, what) in candidates {
            let ok = Command::new(&candidate)
                .args(["-c", "import tuf.ngclient"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return candidate;
            }
            tried.push(format!("{} ({what})", candidate.display()));
        }
        panic!(
            "no Python with python-tuf for the interoperability tests (tried {}). Run tests/run-all.sh, \
             or `TUFMIRROR_PYTHON=$(tests/python/setup-venv.sh) cargo test --test python_interop`",
            tried.join(", ")
        );
    })
}

/// What a finished child process said.
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

    /// Asserts a verdict of "rejected" (exit status 1), as opposed to success or a crash.
    pub fn rejected(self) -> String {
        assert_eq!(self.code, Some(1), "expected a rejection (exit status 1):\n{}", self.describe());
        self.stdout
    }
}

pub fn run<I, S>(program: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let what =
        format!("{} {}", program.display(), args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    let mut child = Command::new(program)
        .args(&args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    // Drain both pipes in threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait().unwrap_or_else(|e| panic!("waiting for {what}: {e}")) {
            Some(status) => break status,
            None if start.elapsed() > CHILD_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {CHILD_TIMEOUT:?}");
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Run {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        what,
    }
}

pub fn pouf_verify<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = vec![script("pouf_verify.py").into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    run(python(), all)
}

pub fn tuf_interop<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = vec![script("tuf_interop.py").into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    run(python(), all)
}
