use std::path::PathBuf;
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
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}
