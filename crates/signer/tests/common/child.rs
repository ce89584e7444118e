//! Running this test binary again as a child process, with an environment of its own.
//!
//! Tests cannot change their own environment (the workspace forbids `unsafe`, and with it
//! `std::env::set_var`), yet SoftHSM2 reads `SOFTHSM2_CONF` when its module is initialized (once
//! per process) and the AWS SDK reads `AWS_CONFIG_FILE` and its other variables. A test therefore
//! prepares its counterparts, then runs itself again (`TEST --exact`) with [`CHILD_DIR`] and the
//! variables it needs; in the child, [`child_dir`] is set and the test does the in-process part.
//! The child leaves a mark, so that a misspelt test name, which would run nothing and succeed, is
//! caught.
//!
//! Every child starts without the developer's `AWS_*` variables, with the shared AWS files pointed
//! at nothing and instance metadata disabled, so that no real AWS account is ever used.

use super::{Run, run};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The variable that tells a child where its fixture is.
pub(crate) const CHILD_DIR: &str = "TUFMIRROR_SIGNER_TEST_DIR";
/// Generous: a child runs a whole suite on a busy machine, but must not hang the run.
const CHILD_TIMEOUT: Duration = Duration::from_secs(300);

/// In a child, the directory the parent prepared.
pub(crate) fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR).map(PathBuf::from)
}

/// Records that the child ran `test`'s body.
pub(crate) fn mark(dir: &Path, test: &str) {
    std::fs::write(dir.join(format!("{test}.ran")), "").expect("mark");
}

/// For synchronous tests: in a child, runs `body` on a runtime of its own, marks it and returns
/// true; in the parent, returns false.
pub(crate) fn in_child<F: Future<Output = ()>>(test: &str, body: impl FnOnce(PathBuf) -> F) -> bool {
    let Some(dir) = child_dir() else {
        return false;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(body(dir.clone()));
    mark(&dir, test);
    true
}

/// Runs `test` of this binary as a child with `dir` and `env`, and fails unless it passed.
pub(crate) fn run_child(test: &str, dir: &Path, env: &[(String, String)]) -> Run {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env_remove("SOFTHSM2_CONF")
        .env_remove("TUFMIRROR_PKCS11_MODULE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-aws-credentials"))
        .env(CHILD_DIR, dir);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let out = run(&mut command, CHILD_TIMEOUT);
    assert_eq!(out.code, Some(0), "child {test} failed:\n{}", out.describe());
    let mark = dir.join(format!("{test}.ran"));
    assert!(mark.exists(), "child {test} did not run its body:\n{}", out.describe());
    std::fs::remove_file(mark).expect("remove mark");
    out
}

/// [`run_child`] on the blocking pool, so that servers on this test's runtime keep answering the
/// child.
pub(crate) async fn run_child_async(test: &'static str, dir: PathBuf, env: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || run_child(test, &dir, &env)).await.expect("join the child")
}
