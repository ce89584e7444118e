//! The Python side of the signer tests: python-tuf as an independent verifier, and ministack as
//! the AWS KMS counterpart (the venv: `tufmirror_testkit::python`).

use super::{Run, run};
use std::path::Path;
use std::time::Duration;
pub(crate) use tufmirror_testkit::python::{command, interpreter as python, require};

const TIMEOUT: Duration = Duration::from_secs(120);

/// `verify_signature.py ROOT ROLE METADATA`: python-tuf's `Metadata.verify_delegate`.
pub(crate) fn verify_signature(root: &Path, role: &str, metadata: &Path) -> Run {
    run(command("verify_signature.py").arg(root).arg(role).arg(metadata), TIMEOUT)
}
