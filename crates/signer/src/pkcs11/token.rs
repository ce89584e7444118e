//! The blocking PKCS#11 side: load the module, find the token, log in, find the key and its public
//! half, sign. Everything here runs on tokio's blocking pool.

use super::key_format::{Algorithm, curve, decode_point, from_spki};
use super::uri::{Pin, PinSource, Pkcs11Uri};
use crate::SignerError;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use tufmirror_core::PublicKey;
use zeroize::Zeroizing;

/// The environment variable naming the module when the URI has no `module-path`.
pub const MODULE_ENV: &str = "TUFMIRROR_PKCS11_MODULE";

/// What connecting to the key needs, kept so that a lost session can be reopened.
pub(super) struct Target {
    pub uri: Pkcs11Uri,
    pub module: PathBuf,
    pin: Option<Pin>,
}

impl Target {
    /// Finds the module and reads the PIN.
    pub(super) fn resolve(uri: Pkcs11Uri) -> Result<Self, SignerError> {
        let module = match (&uri.module_path, std::env::var_os(MODULE_ENV)) {
            (Some(path), _) => path.clone(),
            (None, Some(path)) if !path.is_empty() => PathBuf::from(path),
            (None, _) => {
                return Err(SignerError::BadUri {
                    uri: uri.uri.clone(),
                    reason: format!("no module-path=/path/to/module.so, and {MODULE_ENV} is not set"),
                });
            }
        };
        let no_pin = |reason: String| SignerError::NoCredentials {
            backend: format!("PKCS#11 {}", uri.describe_token()),
            credential: "user PIN".to_owned(),
            reason,
        };
        let pin = match &uri.pin {
            PinSource::None => None,
            PinSource::Value(pin) => Some(pin.clone()),
            PinSource::File(path) => Some(read_pin_file(path).map_err(|problem| no_pin(problem.to_string()))?),
            PinSource::Env(var) => {
                let value = std::env::var_os(var).ok_or_else(|| no_pin(format!("pin-env: {var} is not set")))?;
                Some(Pin::new(value.into_encoded_bytes()))
            }
        };
        Ok(Target { uri, module, pin })
    }
}

/// Why a PIN file (`pin-source=`) may not be used.
#[derive(Debug, thiserror::Error)]
enum PinFileProblem {
    #[error("cannot read the PIN file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the PIN file {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`", path.display(), path.display())]
    OpenToOthers { path: PathBuf, mode: u32 },
}

fn read_pin_file(path: &Path) -> Result<Pin, PinFileProblem> {
    let io = |source| PinFileProblem::Unreadable { path: path.to_owned(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(PinFileProblem::OpenToOthers { path: path.to_owned(), mode });
        }
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(Pin::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec()))
}

/// How messages name a token.
fn backend(token: &str) -> String {
    format!("PKCS#11 token {token:?}")
}

/// A PKCS#11 call on `backend` failed while doing `what`.
fn ck(backend: String, what: impl Into<String>) -> impl FnOnce(CkError) -> SignerError {
    let what = what.into();
    move |e| SignerError::BackendFailed { backend, reason: format!("{what}: {e}") }
}

/// Modules are initialized once per process and never finalized: PKCS#11 allows one
/// `C_Initialize` per module per process, and keys on one token share it.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module(path: &Path) -> Result<Pkcs11, SignerError> {
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, context)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(context.clone());
    }
    let fail = |reason: String| SignerError::BackendFailed {
        backend: format!("the PKCS#11 module {}", path.display()),
        reason: format!("cannot load it: {reason}"),
    };
    if !path.is_absolute() {
        return Err(fail("the path is not absolute".to_owned()));
    }
    std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    let context = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    modules.push((path.to_owned(), context.clone()));
    Ok(context)
}

/// A logged-in session with the key found.
pub(super) struct Connection {
    session: Session,
    key: ObjectHandle,
    algorithm: Algorithm,
    pub public: PublicKey,
    pub token: String,
}

/// Why a signature failed: a lost session is worth one reconnection, anything else is not.
pub(super) enum SignFailure {
    SessionLost,
    Failed(SignerError),
}

pub(super) fn connect(target: &Target) -> Result<Connection, SignerError> {
    let uri = &target.uri;
    let context = module(&target.module)?;
    let (slot, token) = find_token(&context, uri, &target.module)?;
    let session = context.open_ro_session(slot).map_err(ck(backend(&token), "cannot open a session"))?;
    login(&context, &session, slot, target.pin.as_ref(), &token)?;
    let key = find_private_key(&session, uri, &token)?;
    let (algorithm, public) = public_key(&session, key, &token, &uri.describe_key())?;
    Ok(Connection { session, key, algorithm, public, token })
}

fn find_token(context: &Pkcs11, uri: &Pkcs11Uri, module: &Path) -> Result<(Slot, String), SignerError> {
    let module = format!("the PKCS#11 module {}", module.display());
    let slots = context.get_slots_with_token().map_err(ck(module.clone(), "cannot list the slots"))?;
    let (mut present, mut found) = (Vec::new(), Vec::new());
    for slot in slots {
        let info = context.get_token_info(slot).map_err(ck(module.clone(), format!("token in slot {}", slot.id())))?;
        if !info.token_initialized() {
            continue;
        }
        present.push(format!("{:?}", info.label()));
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if is(&uri.token, info.label())
            && is(&uri.serial, info.serial_number())
            && is(&uri.manufacturer, info.manufacturer_id())
            && is(&uri.model, info.model())
            && uri.slot_id.is_none_or(|id| id == slot.id())
        {
            found.push((slot, info.label().to_owned()));
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(SignerError::KeyNotFound {
            backend: module,
            key: format!(
                "{} on {} (no such token; tokens present: {})",
                uri.describe_key(),
                uri.describe_token(),
                if present.is_empty() { "none".to_owned() } else { present.join(", ") }
            ),
        }),
        n => Err(SignerError::BadUri {
            uri: uri.uri.clone(),
            reason: format!("{n} tokens match {}; add serial=", uri.describe_token()),
        }),
    }
}

fn login(context: &Pkcs11, session: &Session, slot: Slot, pin: Option<&Pin>, token: &str) -> Result<(), SignerError> {
    let info = context.get_token_info(slot).map_err(ck(backend(token), "cannot read its flags"))?;
    let refused = |reason: &str| SignerError::CredentialsRefused {
        backend: backend(token),
        credential: "user PIN".to_owned(),
        reason: reason.to_owned(),
    };
    let result = match pin {
        Some(pin) => session.login_with_raw(UserType::User, &RawAuthPin::from(Box::new(pin.expose().to_vec()))),
        None if info.protected_authentication_path() => session.login(UserType::User, None),
        None if info.login_required() => {
            return Err(SignerError::NoCredentials {
                backend: backend(token),
                credential: "user PIN".to_owned(),
                reason: "the token needs one: add pin-source=, pin-env= or pin-value= to the key URI".to_owned(),
            });
        }
        None => return Ok(()),
    };
    match result {
        // Login state is per token and process: another key on this token logged in already.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            Err(refused("CKR_PIN_INCORRECT: wrong PIN (tokens lock the PIN after a few wrong tries)"))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(refused("CKR_PIN_LOCKED: the PIN is locked")),
        Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(refused("CKR_PIN_EXPIRED: the PIN must be changed")),
        Err(e) => Err(ck(backend(token), "cannot log in")(e)),
    }
}

fn find_private_key(session: &Session, uri: &Pkcs11Uri, token: &str) -> Result<ObjectHandle, SignerError> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    template.extend(uri.object.as_ref().map(|o| Attribute::Label(o.as_bytes().to_vec())));
    template.extend(uri.id.clone().map(Attribute::Id));
    let keys = session.find_objects(&template).map_err(ck(backend(token), "cannot search for keys"))?;
    match keys.as_slice() {
        [key] => Ok(*key),
        [] => Err(SignerError::KeyNotFound { backend: backend(token), key: uri.describe_key() }),
        _ => Err(SignerError::BadUri {
            uri: uri.uri.clone(),
            reason: format!("{} private keys on token {token:?} match {}; add id=", keys.len(), uri.describe_key()),
        }),
    }
}

fn public_key(
    session: &Session,
    key: ObjectHandle,
    token: &str,
    name: &str,
) -> Result<(Algorithm, PublicKey), SignerError> {
    let fail = |what: String| SignerError::BadResponse { backend: backend(token), reason: format!("{name}: {what}") };
    let read = |what: &str| ck(backend(token), format!("{name}: {what}"));
    let wanted = [AttributeType::KeyType, AttributeType::EcParams, AttributeType::Id, AttributeType::Label];
    let attributes = session.get_attributes(key, &wanted).map_err(read("attributes"))?;
    let (mut key_type, mut params, mut id, mut label) = (None, None, Vec::new(), Vec::new());
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::Id(i) => id = i,
            Attribute::Label(l) => label = l,
            _ => {}
        }
    }
    let unsupported = || {
        let key_type = key_type.map_or("unknown".to_owned(), |t| t.to_string());
        let params = params.as_deref().map_or("none".to_owned(), |p| p.iter().map(|b| format!("{b:02x}")).collect());
        fail(format!("key type {key_type} (EC params {params}) is neither Ed25519 nor ECDSA P-256"))
    };
    let algorithm = params.as_deref().and_then(curve).ok_or_else(unsupported)?;
    let expected_type = if algorithm == Algorithm::Ed25519 { KeyType::EC_EDWARDS } else { KeyType::EC };
    if key_type != Some(expected_type) {
        return Err(unsupported());
    }
    // The public key object with the same id (or, lacking one, the same label).
    let mut points: Vec<Vec<u8>> = Vec::new();
    if !id.is_empty() || !label.is_empty() {
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::KeyType(expected_type)];
        template.push(if id.is_empty() { Attribute::Label(label) } else { Attribute::Id(id) });
        for object in session.find_objects(&template).map_err(read("public key"))? {
            let found = session.get_attributes(object, &[AttributeType::EcParams, AttributeType::EcPoint]);
            let found = found.map_err(read("public key"))?;
            let same_curve = found.iter().any(|a| matches!(a, Attribute::EcParams(p) if Some(p) == params.as_ref()));
            for attribute in found {
                if let Attribute::EcPoint(point) = attribute
                    && same_curve
                    && !points.contains(&point)
                {
                    points.push(point);
                }
            }
        }
    }
    let public = match points.as_slice() {
        [point] => decode_point(algorithm, point).map_err(|e| fail(format!("bad CKA_EC_POINT: {e}")))?,
        [] => public_key_info(session, key, algorithm).ok_or_else(|| {
            fail("no public key object with the same id or label, and no CKA_PUBLIC_KEY_INFO on the private key".into())
        })?,
        _ => return Err(fail(format!("{} different public keys share its id or label", points.len()))),
    };
    Ok((algorithm, public))
}

/// PKCS#11 3.0 modules may expose the SubjectPublicKeyInfo on the private key itself.
fn public_key_info(session: &Session, key: ObjectHandle, algorithm: Algorithm) -> Option<PublicKey> {
    let attributes = session.get_attributes(key, &[AttributeType::PublicKeyInfo]).ok()?;
    let der = attributes.into_iter().find_map(|a| match a {
        Attribute::PublicKeyInfo(der) if !der.is_empty() => Some(der),
        _ => None,
    })?;
    from_spki(algorithm, &der)
}

impl SignFailure {
    pub(super) fn into_error(self, token: &str) -> SignerError {
        match self {
            SignFailure::Failed(e) => e,
            SignFailure::SessionLost => {
                SignerError::BackendFailed { backend: backend(token), reason: "the session was lost".to_owned() }
            }
        }
    }
}

impl Connection {
    /// Signs with the key's TUF scheme and checks the signature against the public key.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignFailure> {
        let digest;
        let (mechanism, data) = match self.algorithm {
            Algorithm::Ed25519 => (Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)), message),
            Algorithm::EcdsaP256 => {
                digest = Sha256::digest(message);
                (Mechanism::Ecdsa, &digest[..])
            }
        };
        let token = &self.token;
        let raw = self.session.sign(&mechanism, self.key, data).map_err(|e| match e {
            CkError::Pkcs11(
                RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid,
                _,
            ) => SignFailure::SessionLost,
            e => SignFailure::Failed(ck(backend(token), "cannot sign")(e)),
        })?;
        let malformed = |what: String| {
            let reason = format!("the token returned {} bytes: {what}", raw.len());
            SignFailure::Failed(SignerError::BadSignature { key_id: self.public.key_id(), reason })
        };
        let signature = match self.algorithm {
            Algorithm::Ed25519 if raw.len() == 64 => raw.clone(),
            Algorithm::Ed25519 => return Err(malformed("an Ed25519 signature has 64".into())),
            Algorithm::EcdsaP256 => p256::ecdsa::Signature::from_slice(&raw)
                .map_err(|e| malformed(format!("not an ECDSA P-256 r||s ({e})")))?
                .to_der()
                .as_bytes()
                .to_vec(),
        };
        self.public.verify(message, &signature).map_err(|e| {
            SignFailure::Failed(SignerError::BadSignature { key_id: self.public.key_id(), reason: e.to_string() })
        })?;
        Ok(signature)
    }
}
