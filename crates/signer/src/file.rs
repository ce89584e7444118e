//! `file:` keys: PKCS#8 PEM private keys on disk, for development and small deployments.
//!
//! A key file readable by group or others is refused, as ssh refuses one. Key material is zeroized
//! when dropped, and `Debug` shows only the key id.

use crate::{Signer, SignerError};
use async_trait::async_trait;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use p256::pkcs8::LineEnding;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use tufmirror_core::PublicKey;
use zeroize::Zeroizing;

/// The algorithms `file:` keys support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (TUF scheme `ed25519`).
    Ed25519,
    /// ECDSA on P-256 with SHA-256 (TUF scheme `ecdsa-sha2-nistp256`).
    EcdsaP256,
}

enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    EcdsaP256(p256::ecdsa::SigningKey),
}

/// A private key read from a PKCS#8 PEM file.
pub struct FileSigner {
    path: PathBuf,
    secret: Secret,
    public: PublicKey,
}

impl fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSigner")
            .field("path", &self.path)
            .field("key_id", &self.public.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl FileSigner {
    /// Opens a key file, refusing it if others can read it.
    pub fn open(path: &Path) -> Result<Self, SignerError> {
        check_private(path)?;
        let pem = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| SignerError::Io { path: path.to_owned(), source })?,
        );
        Self::from_pem(path, &pem)
    }

    fn from_pem(path: &Path, pem: &str) -> Result<Self, SignerError> {
        let (secret, public) = if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            let public = PublicKey::Ed25519(k.verifying_key());
            (Secret::Ed25519(k), public)
        } else if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            let public = PublicKey::EcdsaP256(*k.verifying_key());
            (Secret::EcdsaP256(k), public)
        } else {
            return Err(SignerError::BadKeyFile { path: path.to_owned() });
        };
        Ok(FileSigner { path: path.to_owned(), secret, public })
    }
}

#[async_trait]
impl Signer for FileSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(match &self.secret {
            Secret::Ed25519(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
            Secret::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), SignerError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| SignerError::Io { path: path.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SignerError::InsecurePermissions { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), SignerError> {
    Ok(())
}

/// Generates a new private key into `path` (which must not exist), mode 0600, and returns its
/// public key.
pub fn generate_key_file(path: &Path, algorithm: KeyAlgorithm) -> Result<PublicKey, SignerError> {
    let io = |source| SignerError::Io { path: path.to_owned(), source };
    let other = |e: String| SignerError::Other(e.into());
    let mut rng = rand_core::OsRng;
    let (pem, public) = match algorithm {
        KeyAlgorithm::Ed25519 => {
            let k = ed25519_dalek::SigningKey::generate(&mut rng);
            // PKCS#8 version 1, without the optional public key: OpenSSL 3.0 (still the
            // operating system's OpenSSL in many places) cannot read version 2 Ed25519 keys, and
            // operators sign with these files through `openssl pkeyutl` (`exec:`) too.
            let bytes = ed25519_dalek::pkcs8::KeypairBytes { secret_key: k.to_bytes(), public_key: None };
            let pem = bytes.to_pkcs8_pem(LineEnding::LF).map_err(|e| other(e.to_string()))?;
            (pem, PublicKey::Ed25519(k.verifying_key()))
        }
        KeyAlgorithm::EcdsaP256 => {
            let k = p256::ecdsa::SigningKey::random(&mut rng);
            let pem = p256::SecretKey::from(&k).to_pkcs8_pem(LineEnding::LF).map_err(|e| other(e.to_string()))?;
            (pem, PublicKey::EcdsaP256(*k.verifying_key()))
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn generated_keys_sign_and_verify_and_redact() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, alg) in [("ed", KeyAlgorithm::Ed25519), ("ec", KeyAlgorithm::EcdsaP256)] {
            let path = dir.path().join(name);
            let public = generate_key_file(&path, alg).expect("generate");
            let signer = FileSigner::open(&path).expect("open");
            assert_eq!(signer.public_key(), &public);
            let sig = signer.sign(b"msg").await.expect("sign");
            assert!(public.verify(b"msg", &sig).is_ok());
            assert!(public.verify(b"other", &sig).is_err());
            assert!(!format!("{signer:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn ed25519_key_files_are_pkcs8_version_1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ed");
        generate_key_file(&path, KeyAlgorithm::Ed25519).expect("generate");
        let pem = std::fs::read_to_string(&path).expect("read");
        let (label, der) = ed25519_dalek::pkcs8::Document::from_pem(&pem).expect("PEM");
        assert_eq!(label, "PRIVATE KEY");
        // SEQUENCE { INTEGER 0, AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (32) } }
        let v1_prefix =
            [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        assert_eq!(der.as_bytes().len(), 48);
        assert_eq!(der.as_bytes()[..16], v1_prefix);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_world_readable_and_garbage_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        generate_key_file(&path, KeyAlgorithm::Ed25519).expect("generate");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(FileSigner::open(&path), Err(SignerError::InsecurePermissions { mode: 0o644, .. })));
        std::fs::write(&path, "not a key").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(matches!(FileSigner::open(&path), Err(SignerError::BadKeyFile { .. })));
        assert!(matches!(FileSigner::open(&dir.path().join("missing")), Err(SignerError::Io { .. })));
    }
}
