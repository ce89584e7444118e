//! Running Python checks (python-tuf, the independent POUF verifier) from tests; the interpreter
//! is the test venv's (`tufmirror_testkit::python`), and tests fail without it.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
pub(crate) use tufmirror_testkit::process::Run;
pub(crate) use tufmirror_testkit::python::{interpreter as python, script};

/// No step of these tests should come near this; a hung child must not hang the test run.
const CHILD_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `program ARGS` (stdin empty, no proxy, no bytecode files) to its end.
pub(crate) fn run<I, S>(program: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).env("PYTHONDONTWRITEBYTECODE", "1");
    tufmirror_testkit::python::without_proxies(&mut command);
    tufmirror_testkit::process::run(&mut command, CHILD_TIMEOUT)
}

/// `tests/python/pouf_verify.py ARGS`, the independent POUF verifier.
pub(crate) fn pouf_verify<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    python_script("pouf_verify.py", args)
}

/// `tests/python/tuf_interop.py ARGS`, python-tuf's `Updater` against a repository.
pub(crate) fn tuf_interop<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    python_script("tuf_interop.py", args)
}

fn python_script<I, S>(name: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = vec![script(name).into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    run(python(), all)
}
