use std::path::PathBuf;
use std::time::Duration;
use tufmirror_core::KeyId;

/// Why a key could not be opened or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key URI does not follow its scheme's grammar.
    #[error("key URI {uri:?} is not valid: {reason}")]
    BadUri {
        /// The URI as given.
        uri: String,
        /// What is wrong, in words.
        reason: String,
    },
    /// The URI's scheme is not one this build knows (a backend left out by cargo features, or a typo).
    #[error("key URI scheme {scheme:?} is not supported by this build (known: {known})")]
    UnknownScheme {
        /// The scheme given.
        scheme: String,
        /// The schemes this build knows, comma-separated.
        known: &'static str,
    },
    /// A key file cannot be read.
    #[error("cannot read key file {path}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// A key file is readable by group or others.
    #[error("key file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file that is not a PKCS#8 PEM private key of a supported type.
    #[error("key file {path} is not a PKCS#8 PEM Ed25519 or ECDSA P-256 private key")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
    },
    /// A signature that does not verify with the key's own public key (checked after every signing).
    #[error("key {key_id} produced a signature that does not verify: {reason}")]
    BadSignature {
        /// The key's id.
        key_id: KeyId,
        /// Why it does not verify, in words.
        reason: String,
    },
    // Remote and external backends. `backend` names the program or server ("the signing program
    // /usr/local/bin/kms-sign", "Vault at https://vault.example:8200"); secrets never appear.
    /// An external signing program could not be started (missing, not executable).
    #[error("cannot start the signing program {program}")]
    ProgramStart {
        /// The program's path.
        program: PathBuf,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// An external signing program exited unsuccessfully; `stderr` is its (truncated) error output.
    #[error("the signing program {program} failed ({operation}): {status}; stderr: {stderr:?}")]
    ProgramFailed {
        /// The program's path.
        program: PathBuf,
        /// What it was asked to do (`public-key` or `sign`).
        operation: &'static str,
        /// Its exit status, as text.
        status: String,
        /// Its error output, truncated.
        stderr: String,
    },
    /// The backend could not be reached: connection refused, name not resolved, TLS failure.
    #[error("{backend} is unreachable")]
    Unreachable {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// The connection's failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The backend did not answer in time (a program is killed when this happens).
    #[error("{backend} did not answer within {after:?}")]
    Timeout {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// The time allowed.
        after: Duration,
    },
    /// No credential to present (an unset variable, an unreadable token file).
    #[error("no {credential} for {backend}: {reason}")]
    NoCredentials {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// What credential is missing (\"token\", \"PIN\").
        credential: String,
        /// Why it is missing, in words.
        reason: String,
    },
    /// The backend refused the credential (HTTP 401/403, a wrong PIN).
    #[error("{backend} refused the {credential}: {reason}")]
    CredentialsRefused {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// What credential was refused.
        credential: String,
        /// The backend's answer, in words.
        reason: String,
    },
    /// The backend does not have the key (or the key version) named.
    #[error("{backend} has no key {key}")]
    KeyNotFound {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// The key (or key version) named.
        key: String,
    },
    /// A file of CA certificates to trust for a backend's TLS is unusable.
    #[error("the CA file {path} is not usable: {reason}")]
    CaFile {
        /// The CA file.
        path: PathBuf,
        /// Why it is not usable, in words.
        reason: String,
    },
    /// The message is longer than the key can sign (AWS KMS signs at most 4096 bytes of raw message
    /// with an Ed25519 key); found before the backend is asked.
    #[error("{backend} cannot sign a message of {size} bytes with key {key}: the limit is {limit} bytes")]
    MessageTooLarge {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// The key named.
        key: String,
        /// The message's length in bytes.
        size: usize,
        /// The longest message the key can sign, in bytes.
        limit: usize,
    },
    /// The backend answered, but with an error of its own (HTTP 5xx, an unexpected status).
    #[error("{backend} failed: {reason}")]
    BackendFailed {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// The backend's error, in words.
        reason: String,
    },
    /// The backend answered with something that is not what the protocol says: garbage, a key of
    /// an unsupported type, a signature that is not one.
    #[error("{backend} answered with something unusable: {reason}")]
    BadResponse {
        /// The backend, named for people ("Vault at https://..."; never a secret).
        backend: String,
        /// What is wrong with the answer, in words.
        reason: String,
    },
    /// Any other failure of a backend.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}
