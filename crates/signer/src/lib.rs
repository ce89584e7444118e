//! Signing keys behind one small trait, so that the rest of tufmirror never knows whether a key
//! lives in a file, an HSM or a KMS.
//!
//! A [`Signer`] knows its public key (and so its TUF key id) and signs bytes; nothing else. The
//! bytes it is handed are always the canonical JSON of a `signed` object. Backends are chosen by
//! URI ([`uri`]), parsed in one place.

#![warn(missing_docs)]

#[cfg(feature = "awskms")]
pub mod awskms;
mod error;
#[cfg(feature = "exec")]
pub mod exec;
pub mod file;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod uri;
#[cfg(feature = "vault")]
pub mod vault;

pub use error::SignerError;
pub use file::{FileSigner, KeyAlgorithm, generate_key_file};
pub use uri::{SignerUri, open_signer};

use async_trait::async_trait;
use std::fmt::Debug;
use tufmirror_core::metadata::{Metadata, Signed};
use tufmirror_core::{KeyId, PublicKey};

/// A key that can sign TUF metadata.
#[async_trait]
pub trait Signer: Debug + Send + Sync {
    /// The public half, as root metadata lists it.
    fn public_key(&self) -> &PublicKey;

    /// The TUF key id of [`Self::public_key`].
    fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    /// Signs `message` with the key's TUF scheme (`ed25519`: raw 64 bytes; `ecdsa-sha2-nistp256`:
    /// DER over SHA-256).
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Signs `metadata` with every signer, over its canonical bytes computed once.
pub async fn sign_metadata<T: Metadata>(metadata: T, signers: &[&dyn Signer]) -> Result<Signed<T>, SignerError> {
    let mut signed = Signed::unsigned(metadata);
    let bytes = signed.signed_bytes().map_err(|e| SignerError::Other(Box::new(e)))?;
    for signer in signers {
        let sig = signer.sign(&bytes).await?;
        signer
            .public_key()
            .verify(&bytes, &sig)
            .map_err(|e| SignerError::BadSignature { key_id: signer.key_id(), reason: e.to_string() })?;
        signed.add_signature(signer.key_id(), &sig);
    }
    Ok(signed)
}
