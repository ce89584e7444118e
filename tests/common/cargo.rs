//! Running the real `cargo` in tests: from `PATH`, with its own `CARGO_HOME` and target folder,
//! nothing inherited from the `cargo test` that runs us (no `CARGO_*` variable, no proxy), and a
//! time limit after which it is killed and the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The longest one cargo command may take before the test gives up on it.
const CARGO_TIMEOUT: Duration = Duration::from_secs(180);

/// `cargo` from `PATH`; the test fails with a clear message without one.
pub(crate) fn cargo_program() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("cargo"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("these tests run the real `cargo`, and there is no `cargo` on PATH ({path:?})"))
}

/// Runs `cargo ARGS` in `dir` with `cargo_home`, `target` and `extra_env`, on loopback only.
pub(crate) fn run_cargo(
    dir: &Path,
    cargo_home: &Path,
    target: &Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(cargo_program());
    command.args(args).current_dir(dir);
    // Whatever the `cargo test` that runs us set (CARGO_TARGET_DIR, CARGO_NET_OFFLINE,
    // CARGO_MANIFEST_DIR...), and every proxy setting.
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if name_str.starts_with("CARGO") || name_str.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(&name);
        }
    }
    command
        .env("CARGO_HOME", cargo_home)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_REGISTRIES_CRATES_IO_PROTOCOL", "sparse")
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap_or_else(|e| panic!("cannot run cargo {args:?}: {e}"));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(CARGO_TIMEOUT) {
        Ok(output) => output.expect("wait for cargo"),
        Err(_) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("cargo {args:?} did not finish within {CARGO_TIMEOUT:?}");
        }
    }
}
