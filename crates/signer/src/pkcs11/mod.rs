//! `pkcs11:` keys: private keys in an HSM or smart card (YubiHSM, cloud HSMs, SoftHSM2) reached
//! through its PKCS#11 module, named by an RFC 7512 URI.
//!
//! ```text
//! pkcs11-uri = "pkcs11:" path-attr *(";" path-attr) [ "?" query-attr *("&" query-attr) ]
//! path-attr  = "token=" label        ; the token label (CK_TOKEN_INFO.label)
//!            / "object=" label       ; the key label (CKA_LABEL)
//!            / "id=" bytes           ; the key id (CKA_ID), usually every byte %-encoded: id=%01%a2
//!            / "type=private"        ; the only type a signing key can have
//!            / "serial=" / "manufacturer=" / "model=" text / "slot-id=" 1*DIGIT
//!                                    ; further token attributes that must match
//! query-attr = "module-path=" path   ; absolute path of the PKCS#11 module (.so); without it,
//!                                    ; the environment variable TUFMIRROR_PKCS11_MODULE
//!            / "pin-source=" file    ; read the user PIN from the first line of a file:
//!                                    ; file:/abs, /abs or a path relative to the configuration;
//!                                    ; refused if group or others can read it
//!            / "pin-env=" NAME       ; tufmirror extension: the user PIN from an environment variable
//!            / "pin-value=" pin      ; the PIN in the URI itself: discouraged (it ends up in
//!                                    ; configuration files and shell history)
//! ```
//!
//! For example `pkcs11:token=tuf;object=timestamp;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=HSM_PIN`.
//!
//! Values are percent-decoded as RFC 7512 says: in the path every character but letters, digits,
//! `-._~:[]@!$'()*+,=&` is written `%XX` (so `;` is `%3B`, a space `%20`), in the query also `&`;
//! `token`, `object` and the other text attributes must be UTF-8 after decoding. A key needs a
//! token (`token`, `serial` or `slot-id`), and `object` and/or `id` (both must match when both are
//! given). An attribute may appear once; at most one of the PIN attributes. Attributes that
//! tufmirror does not use (`library-*`, `slot-*` descriptions, `module-name`, vendor `x-…`) are
//! ignored, as RFC 7512 allows. Without a PIN attribute tufmirror logs in only if the token has a
//! PIN pad (a protected authentication path), and refuses a token that needs a PIN.
//!
//! Keys are Ed25519 (`CKM_EDDSA`; `CKA_EC_PARAMS` the OID 1.3.101.112 or the name `edwards25519`)
//! or ECDSA P-256 (`CKM_ECDSA` over a SHA-256 digest computed here; the token's r||s becomes DER).
//! The public key comes from the public key object with the same `CKA_ID` (or label, for a key
//! without id), else from the private key's `CKA_PUBLIC_KEY_INFO`. Opening a key signs a test
//! message, so that a public key object that belongs to another key is found at start-up; every
//! signature is verified before it is returned.
//!
//! PKCS#11 calls block: they run on tokio's blocking pool, one at a time per key (a session is not
//! thread-safe). A module is loaded and initialized once per process. If the session is lost (the
//! HSM restarted, a network HSM reconnected), the next signature opens a new one and logs in again
//! (which is why the PIN stays in memory, zeroized when the signer is dropped), and refuses a key
//! whose public key changed.

mod key_format;
mod token;
mod uri;

pub use token::MODULE_ENV;
pub use uri::{Pin, PinSource, Pkcs11Uri};

use crate::{Signer, SignerError};
use async_trait::async_trait;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use token::{Connection, SignFailure, Target};
use tufmirror_core::PublicKey;

/// A private key in a PKCS#11 token.
pub struct Pkcs11Signer {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    token: String,
    public: PublicKey,
    connection: Mutex<Option<Connection>>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.inner.target.module)
            .field("token", &self.inner.token)
            .field("key", &self.inner.target.uri.describe_key())
            .field("key_id", &self.inner.public.key_id())
            .finish_non_exhaustive()
    }
}

const SELF_TEST: &[u8] = b"tufmirror: pkcs11 key self-test";

impl Pkcs11Signer {
    /// Loads the module, logs in, finds the key and its public key, and signs a test message.
    pub async fn open(uri: &Pkcs11Uri) -> Result<Self, SignerError> {
        let uri = uri.clone();
        blocking(move || {
            let target = Target::resolve(uri)?;
            let connection = token::connect(&target)?;
            connection.sign(SELF_TEST).map_err(|failure| failure.into_error(&connection.token))?;
            let (token, public) = (connection.token.clone(), connection.public.clone());
            let inner = Inner { target, token, public, connection: Mutex::new(Some(connection)) };
            Ok(Pkcs11Signer { inner: Arc::new(inner) })
        })
        .await
    }
}

impl Inner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = connection.as_ref() {
            match open.sign(message) {
                Ok(signature) => return Ok(signature),
                Err(SignFailure::Failed(e)) => return Err(e),
                Err(SignFailure::SessionLost) => *connection = None,
            }
        }
        let reopened = token::connect(&self.target)?;
        if reopened.public != self.public {
            return Err(SignerError::BadResponse {
                backend: format!("PKCS#11 token {:?}", reopened.token),
                reason: format!(
                    "after reconnecting, {} is no longer the key {} that was opened",
                    self.target.uri.describe_key(),
                    self.public.key_id()
                ),
            });
        }
        let token = reopened.token.clone();
        connection.insert(reopened).sign(message).map_err(|failure| failure.into_error(&token))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SignerError> + Send + 'static,
) -> Result<T, SignerError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SignerError::Other(Box::new(e)))?
}

#[async_trait]
impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.inner.public
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let (inner, message) = (Arc::clone(&self.inner), message.to_vec());
        blocking(move || inner.sign(&message)).await
    }
}
