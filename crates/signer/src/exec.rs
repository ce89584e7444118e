//! `exec:` keys: an external signing program, so that any KMS, HSM or signing service can be
//! plugged in without changing tufmirror.
//!
//! # URI
//!
//! ```text
//! exec:PROGRAM[?arg=ARG&arg=ARG&timeout=SECONDS]
//! ```
//!
//! - `PROGRAM` is a path, percent-decoded. A relative path is resolved against the directory of
//!   the configuration that names it (`base`), never searched in `PATH`. `exec:///usr/bin/x` is
//!   the same as `exec:/usr/bin/x`.
//! - `arg` (repeatable, in order) are the program's own arguments, percent-decoded (`%26` is `&`,
//!   `%3D` is `=`, `%20` a space; `+` is a plus). **Arguments are visible to every user of the
//!   host (`ps`)**: name keys there, never pass secrets; a program takes its credentials from its
//!   environment (inherited from tufmirror) or from files it reads.
//! - `timeout`: seconds (decimal, `0.5` allowed) each invocation may take; default 30.
//!
//! Example: `exec:/usr/local/bin/tuf-kms-sign?arg=--key&arg=projects%2Fp%2Fkeys%2Ftimestamp`.
//!
//! # Protocol (version 1)
//!
//! The program is run as `PROGRAM ARG... OPERATION` (the operation is always the **last**
//! argument, as cargo appends its own arguments to a credential provider's), with tufmirror's
//! environment plus `TUFMIRROR_SIGNER_PROTOCOL=1`, in a process group of its own, in the
//! directory `base` (so that relative paths among its arguments mean what relative paths in the
//! URI mean).
//!
//! | operation | stdin | stdout on success |
//! |---|---|---|
//! | `public-key` | empty | the public key as PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`), as `openssl pkey -pubout` and KMS tools print it |
//! | `sign` | the message: the exact bytes to sign, then end of file | the signature, **raw bytes** and nothing else |
//!
//! - `public-key` runs once, when the signer is opened; the key type follows from the PEM:
//!   Ed25519 means TUF scheme `ed25519`, EC P-256 means `ecdsa-sha2-nistp256`. Other key types
//!   are refused.
//! - `sign` runs once per signature. The message is the canonical JSON of a TUF `signed` object.
//!   The signature is what the TUF scheme defines: Ed25519, the 64-byte RFC 8032 signature of the
//!   message (`openssl pkeyutl -sign -rawin`); ECDSA P-256, the DER `Ecdsa-Sig-Value` over the
//!   SHA-256 of the message (`openssl dgst -sha256 -sign`). No trailing newline, no encoding.
//! - Exit status 0 means success. Anything else is an error that carries the first 4 KiB of the
//!   program's stderr (stderr is otherwise ignored: use it for diagnostics, never for secrets).
//! - stdout is limited to 64 KiB; a program that prints more is killed.
//! - A program that has not exited after `timeout` is killed with its whole process group
//!   (`SIGKILL`), and the call fails.
//! - Every signature is verified against the public key that `public-key` announced before it is
//!   used: a program that signs with another key is refused.
//! - The program may run several times at once (one per signature being made).
//!
//! A minimal program for an Ed25519 key in a PEM file (what the tests use):
//!
//! ```sh
//! #!/bin/sh
//! set -eu
//! key=$1                                    # from ?arg=KEYFILE
//! case $2 in
//! public-key) exec openssl pkey -in "$key" -pubout ;;
//! sign) tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
//!       cat >"$tmp"; openssl pkeyutl -sign -rawin -inkey "$key" -in "$tmp" ;;
//! *) echo "unknown operation $2" >&2; exit 2 ;;
//! esac
//! ```

use crate::uri::params::{self, bad};
use crate::{Signer, SignerError};
use async_trait::async_trait;
use ed25519_dalek::pkcs8::DecodePublicKey;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tufmirror_core::PublicKey;
use tufmirror_core::key::KeyError;

/// The protocol version, passed as `TUFMIRROR_SIGNER_PROTOCOL`.
pub const PROTOCOL_VERSION: &str = "1";
/// How long an invocation may take unless the URI says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a program may print on stdout.
pub const MAX_STDOUT: usize = 64 * 1024;
/// How much of a failed program's stderr an error keeps.
pub const MAX_STDERR: usize = 4 * 1024;

/// A parsed `exec:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUri {
    /// Absolute, or relative to the working directory if `base` was.
    pub program: PathBuf,
    /// The `arg=` parameters in order: the arguments before the operation.
    pub args: Vec<String>,
    /// `timeout=`: how long each invocation may take before the program is killed (default 30 s).
    pub timeout: Duration,
    /// `base`: where the program runs.
    pub dir: PathBuf,
}

impl ExecUri {
    /// Parses what follows `exec:` in `uri`.
    pub(crate) fn parse(uri: &str, rest: &str, base: &Path) -> Result<Self, SignerError> {
        let (path, query) = params::split_query(uri, rest)?;
        let path = params::percent_decode(uri, path.strip_prefix("//").unwrap_or(path))?;
        if path.is_empty() {
            return Err(bad(uri, "no program path".to_owned()));
        }
        let (mut args, mut timeout) = (Vec::new(), None);
        for (name, value) in query {
            match name.as_str() {
                "arg" => args.push(value),
                "timeout" => params::once(uri, "timeout", &mut timeout, params::parse_timeout(uri, &value)?)?,
                other => return Err(bad(uri, format!("unknown parameter {other:?} (known: arg, timeout)"))),
            }
        }
        Ok(ExecUri {
            program: base.join(path),
            args,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
            dir: base.to_owned(),
        })
    }
}

/// A key held by an external program (module documentation: the protocol).
pub struct ExecSigner {
    uri: ExecUri,
    public: PublicKey,
}

impl fmt::Debug for ExecSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecSigner")
            .field("program", &self.uri.program)
            .field("args", &self.uri.args)
            .field("timeout", &self.uri.timeout)
            .field("key_id", &self.public.key_id())
            .finish()
    }
}

impl ExecSigner {
    /// Runs `PROGRAM ARG... public-key` and reads the key it prints.
    pub async fn open(uri: ExecUri) -> Result<Self, SignerError> {
        let out = run(&uri, "public-key", None).await?;
        let public = parse_public_key(&out).map_err(|reason| SignerError::BadResponse {
            backend: backend(&uri.program, "public-key"),
            reason: format!("{reason}; it printed {}", snippet(&out)),
        })?;
        Ok(ExecSigner { uri, public })
    }
}

#[async_trait]
impl Signer for ExecSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let sig = run(&self.uri, "sign", Some(message)).await?;
        match self.public.verify(message, &sig) {
            Ok(()) => Ok(sig),
            Err(KeyError::BadSignature { .. }) => Err(SignerError::BadSignature {
                key_id: self.key_id(),
                reason: format!(
                    "{} signed with a key other than the one it announced",
                    backend(&self.uri.program, "sign")
                ),
            }),
            Err(e) => Err(SignerError::BadResponse {
                backend: backend(&self.uri.program, "sign"),
                reason: format!("{} bytes that are not a signature of this key: {e}", sig.len()),
            }),
        }
    }
}

fn backend(program: &Path, operation: &str) -> String {
    format!("the signing program {} ({operation})", program.display())
}

/// Why the output of `public-key` is not a public key tufmirror can use.
#[derive(Debug, thiserror::Error)]
enum BadPublicKey {
    #[error("the public key is not text (expected PEM)")]
    NotText,
    #[error("the public key is not a PEM SubjectPublicKeyInfo (-----BEGIN PUBLIC KEY-----)")]
    NotPem,
    #[error("the public key is neither Ed25519 nor ECDSA P-256")]
    UnknownAlgorithm,
}

fn parse_public_key(out: &[u8]) -> Result<PublicKey, BadPublicKey> {
    let pem = std::str::from_utf8(out).map_err(|_| BadPublicKey::NotText)?;
    let pem = pem.trim();
    if !pem.starts_with("-----BEGIN PUBLIC KEY-----") {
        return Err(BadPublicKey::NotPem);
    }
    if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
        return Ok(PublicKey::Ed25519(k));
    }
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
        return Ok(PublicKey::EcdsaP256(k));
    }
    Err(BadPublicKey::UnknownAlgorithm)
}

/// The start of an output, for an error message (public keys and garbage only, never signatures
/// of anything secret: stdout of `sign` is a signature).
fn snippet(out: &[u8]) -> String {
    if out.is_empty() {
        return "nothing".to_owned();
    }
    let text = String::from_utf8_lossy(&out[..out.len().min(80)]);
    format!("{} bytes starting {text:?}", out.len())
}

/// Runs one operation and returns its stdout, or the error that describes what went wrong.
async fn run(uri: &ExecUri, operation: &'static str, input: Option<&[u8]>) -> Result<Vec<u8>, SignerError> {
    // Absolute before `current_dir`: a relative program path would otherwise be looked up
    // relative to one directory or the other, depending on the platform.
    let program = std::path::absolute(&uri.program).unwrap_or_else(|_| uri.program.clone());
    let mut command = Command::new(program);
    command
        .args(&uri.args)
        .arg(operation)
        .env("TUFMIRROR_SIGNER_PROTOCOL", PROTOCOL_VERSION)
        .current_dir(&uri.dir)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child =
        command.spawn().map_err(|source| SignerError::ProgramStart { program: uri.program.clone(), source })?;
    let pid = child.id();
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());

    let exchange = async {
        let write = async {
            if let (Some(mut stdin), Some(message)) = (stdin, input) {
                match stdin.write_all(message).await {
                    // A program that exits without reading its message: its exit status and
                    // output decide.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other?,
                }
            }
            Ok::<_, std::io::Error>(())
        };
        let (_, out, err) = tokio::try_join!(write, read_limited(stdout, MAX_STDOUT), read_stderr(stderr))?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    let outcome = tokio::time::timeout(uri.timeout, exchange).await;
    let failed = |reason: String| SignerError::BadResponse { backend: backend(&uri.program, operation), reason };
    let (status, out, err) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            kill(pid, &mut child).await;
            return Err(match e.kind() {
                std::io::ErrorKind::FileTooLarge => failed(format!("it printed more than {MAX_STDOUT} bytes")),
                _ => failed(format!("talking to it failed: {e}")),
            });
        }
        Err(_) => {
            kill(pid, &mut child).await;
            return Err(SignerError::Timeout { backend: backend(&uri.program, operation), after: uri.timeout });
        }
    };
    if !status.success() {
        return Err(SignerError::ProgramFailed {
            program: uri.program.clone(),
            operation,
            status: describe(status),
            stderr: err,
        });
    }
    if out.is_empty() {
        return Err(failed("it exited successfully but printed nothing".to_owned()));
    }
    Ok(out)
}

/// Kills the program's process group (so that what a script started dies with it), then the
/// program itself, and reaps it.
async fn kill(pid: Option<u32>, child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).and_then(rustix::process::Pid::from_raw) {
        // The group may already be gone; nothing to do then.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
    let _ = child.kill().await;
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// Reads everything, failing with `FileTooLarge` past `limit` bytes.
async fn read_limited(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(pipe) = pipe {
        pipe.take(limit as u64 + 1).read_to_end(&mut out).await?;
    }
    if out.len() > limit {
        return Err(std::io::ErrorKind::FileTooLarge.into());
    }
    Ok(out)
}

/// Reads stderr to its end (so that a chatty program never blocks on a full pipe), keeping the
/// first [`MAX_STDERR`] bytes as text.
async fn read_stderr(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<String> {
    let mut kept = Vec::new();
    let mut truncated = false;
    if let Some(mut pipe) = pipe {
        let mut buf = [0u8; 8192];
        loop {
            // A read error on stderr only loses diagnostics.
            let n = pipe.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            let room = MAX_STDERR - kept.len();
            kept.extend_from_slice(&buf[..n.min(room)]);
            truncated |= n > room;
        }
    }
    let mut text = String::from_utf8_lossy(&kept).trim_end().to_owned();
    if truncated {
        text.push_str(" [truncated]");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exec_uris() {
        let base = Path::new("/etc/tufmirror");
        let parse = |uri: &str| ExecUri::parse(uri, uri.strip_prefix("exec:").unwrap_or(uri), base);
        let uri = parse("exec:bin/kms%20sign?arg=--key&arg=a%2Fb%26c%3Dd+e&timeout=2.5").expect("valid");
        assert_eq!(uri.program, Path::new("/etc/tufmirror/bin/kms sign"));
        assert_eq!(uri.args, ["--key", "a/b&c=d+e"]);
        assert_eq!((uri.timeout, uri.dir.as_path()), (Duration::from_millis(2500), base));
        let uri = parse("exec:///usr/bin/sign").expect("valid");
        assert_eq!(
            (uri.program.as_path(), uri.args.len(), uri.timeout),
            (Path::new("/usr/bin/sign"), 0, DEFAULT_TIMEOUT)
        );
        for bad_uri in ["exec:", "exec:?arg=x", "exec:/p?timeout=0", "exec:/p?timeout=1&timeout=2", "exec:/p?args=x"] {
            assert!(matches!(parse(bad_uri), Err(SignerError::BadUri { .. })), "{bad_uri}");
        }
    }
}
