use std::path::PathBuf;
use std::time::Duration;
use tufmirror_core::KeyId;

/// Why a key could not be opened or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    #[error("key URI {uri:?} is not valid: {reason}")]
    BadUri { uri: String, reason: String },
    #[error("key URI scheme {scheme:?} is not supported by this build (known: {known})")]
    UnknownScheme { scheme: String, known: &'static str },
    #[error("cannot read key file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("key file {path} is not a PKCS#8 PEM Ed25519 or ECDSA P-256 private key")]
    BadKeyFile { path: PathBuf },
    #[error("key {key_id} produced a signature that does not verify: {reason}")]
    BadSignature { key_id: KeyId, reason: String },
    // Remote and external backends. `backend` names the program or server ("the signing program
    // /usr/local/bin/kms-sign", "Vault at https://vault.example:8200"); secrets never appear.
    /// An external signing program could not be started (missing, not executable).
    #[error("cannot start the signing program {program}")]
    ProgramStart {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An external signing program exited unsuccessfully; `stderr` is its (truncated) error output.
    #[error("the signing program {program} failed ({operation}): {status}; stderr: {stderr:?}")]
    ProgramFailed { program: PathBuf, operation: &'static str, status: String, stderr: String },
    /// The backend could not be reached: connection refused, name not resolved, TLS failure.
    #[error("{backend} is unreachable")]
    Unreachable {
        backend: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The backend did not answer in time (a program is killed when this happens).
    #[error("{backend} did not answer within {after:?}")]
    Timeout { backend: String, after: Duration },
    /// No credential to present (an unset variable, an unreadable token file).
    #[error("no {credential} for {backend}: {reason}")]
    NoCredentials { backend: String, credential: String, reason: String },
    /// The backend refused the credential (HTTP 401/403, a wrong PIN).
    #[error("{backend} refused the {credential}: {reason}")]
    CredentialsRefused { backend: String, credential: String, reason: String },
    /// The backend does not have the key (or the key version) named.
    #[error("{backend} has no key {key}")]
    KeyNotFound { backend: String, key: String },
    /// A file of CA certificates to trust for a backend's TLS is unusable.
    #[error("the CA file {path} is not usable: {reason}")]
    CaFile { path: PathBuf, reason: String },
    /// The message is longer than the key can sign (AWS KMS signs at most 4096 bytes of raw message
    /// with an Ed25519 key); found before the backend is asked.
    #[error("{backend} cannot sign a message of {size} bytes with key {key}: the limit is {limit} bytes")]
    MessageTooLarge { backend: String, key: String, size: usize, limit: usize },
    /// The backend answered, but with an error of its own (HTTP 5xx, an unexpected status).
    #[error("{backend} failed: {reason}")]
    BackendFailed { backend: String, reason: String },
    /// The backend answered with something that is not what the protocol says: garbage, a key of
    /// an unsupported type, a signature that is not one.
    #[error("{backend} answered with something unusable: {reason}")]
    BadResponse { backend: String, reason: String },
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}
