//! Key URIs: the one place where a string becomes a signer.
//!
//! Grammar (more schemes arrive with their backends):
//!
//! ```text
//! signer-uri = "file:" path        ; PKCS#8 PEM private key; relative paths are relative to
//!                                  ; the configuration that names them
//!            / "exec:" program [ "?" exec-param *( "&" exec-param ) ]
//!                                  ; an external signing program (crate::exec: the protocol)
//!            / "vault://" host [ ":" port ] "/" mount "/" key [ "?" vault-param *( "&" vault-param ) ]
//!                                  ; a Vault/OpenBao transit key (crate::vault)
//!            / "pkcs11:" pk11-path [ "?" pk11-query ]
//!                                  ; an HSM key, RFC 7512 (crate::pkcs11: every attribute)
//!            / "awskms:" kms-key [ "?" kms-param *( "&" kms-param ) ]
//!                                  ; an AWS KMS asymmetric key (crate::awskms)
//! program     = path               ; percent-decoded; relative to the configuration's directory
//! exec-param  = "arg=" value       ; repeatable: the program's arguments, in order (never secrets)
//!             / "timeout=" seconds ; per invocation, default 30
//! port        = 1*DIGIT            ; default 8200
//! mount       = segment *( "/" segment )  ; the transit engine's mount path, e.g. transit
//! key         = segment            ; the transit key's name
//! vault-param = "tls=" ( "true" / "false" )  ; default true (https); false: plain http
//!             / "token-env=" name  ; default VAULT_TOKEN
//!             / "token-file=" path ; instead of token-env; relative to the configuration's directory
//!             / "namespace=" value / "key-version=" 1*DIGIT / "timeout=" seconds
//!             / "ca-file=" path    ; extra trusted CA certificates (PEM)
//! seconds     = a decimal number of seconds, more than 0 and at most 3600
//! pk11-path   = pk11-attr *( ";" pk11-attr )  ; token=, object=, id=, type=private, serial=, ...
//! pk11-query  = pk11-attr *( "&" pk11-attr )  ; module-path=, pin-source=, pin-env=, pin-value=
//! kms-key     = key-id             ; 1234abcd-12ab-34cd-56ef-1234567890ab, mrk-...
//!             / "arn:" partition ":kms:" region ":" account ":key/" key-id
//!             / "arn:" partition ":kms:" region ":" account ":alias/" alias-name
//!             / "alias/" alias-name
//! kms-param   = "region=" region   ; default: the ARN's region, else the AWS SDK's region chain
//!                                  ; (AWS_REGION, the profile's region); must agree with an ARN
//!             / "endpoint=" url    ; https://HOST[:PORT]; http:// only for a loopback host
//!             / "profile=" name    ; the shared config/credentials profile (default: AWS_PROFILE)
//!             / "timeout=" seconds ; per request, retries included, default 30
//! ```
//!
//! `pkcs11:` URIs follow RFC 7512 instead: `%XX` decoding (`id` may decode to any bytes),
//! attributes tufmirror does not use are ignored, and `pin-value` (discouraged) may carry a PIN.
//!
//! In `exec:`, `vault:` and `awskms:` URIs, paths, segments, keys and parameter values are
//! percent-decoded (`%XX`; `+` is a plus), each parameter other than `arg` may appear once, and an
//! unknown parameter is an error. Tokens, PINs and passwords never appear in a URI; AWS credentials
//! come from the AWS SDK's standard chain (environment, profile, web identity, instance metadata).
//!
//! A bare path (no scheme) is read as `file:`, which keeps `--keys DIR` layouts simple. Windows
//! drive letters are not a concern: tufmirror targets Unix hosts.

use crate::{FileSigner, Signer, SignerError};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[cfg(any(feature = "exec", feature = "vault", feature = "awskms"))]
pub(crate) mod params;

/// The schemes this build knows.
const SCHEMES: &[&str] = &[
    "file:",
    #[cfg(feature = "exec")]
    "exec:",
    #[cfg(feature = "vault")]
    "vault:",
    #[cfg(feature = "pkcs11")]
    "pkcs11:",
    #[cfg(feature = "awskms")]
    "awskms:",
];

fn known() -> &'static str {
    static KNOWN: OnceLock<String> = OnceLock::new();
    KNOWN.get_or_init(|| SCHEMES.join(" "))
}

/// A parsed key URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerUri {
    /// `file:PATH`: a PKCS#8 PEM private key file.
    File(PathBuf),
    /// `exec:PROGRAM`: an external signing program.
    #[cfg(feature = "exec")]
    Exec(crate::exec::ExecUri),
    /// `vault://HOST/MOUNT/KEY`: a key of HashiCorp Vault's (or OpenBao's) transit engine.
    #[cfg(feature = "vault")]
    Vault(Box<crate::vault::VaultUri>),
    /// `pkcs11:`: a private key on a PKCS#11 token (an HSM, SoftHSM2, a smart card).
    #[cfg(feature = "pkcs11")]
    Pkcs11(Box<crate::pkcs11::Pkcs11Uri>),
    /// `awskms:KEY`: an AWS KMS asymmetric key.
    #[cfg(feature = "awskms")]
    AwsKms(Box<crate::awskms::AwsKmsUri>),
}

impl SignerUri {
    /// Parses `uri`, resolving relative file paths against `base`.
    pub fn parse(uri: &str, base: &Path) -> Result<Self, SignerError> {
        let (scheme, rest) = match uri.split_once(':') {
            Some((scheme, rest)) if is_scheme(scheme) => (scheme, rest),
            _ => ("file", uri),
        };
        match scheme {
            "file" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(SignerError::BadUri { uri: uri.to_owned(), reason: "empty path".to_owned() });
                }
                Ok(SignerUri::File(base.join(path)))
            }
            #[cfg(feature = "exec")]
            "exec" => Ok(SignerUri::Exec(crate::exec::ExecUri::parse(uri, rest, base)?)),
            #[cfg(feature = "vault")]
            "vault" => Ok(SignerUri::Vault(Box::new(crate::vault::VaultUri::parse(uri, rest, base)?))),
            #[cfg(feature = "pkcs11")]
            "pkcs11" => Ok(SignerUri::Pkcs11(Box::new(crate::pkcs11::Pkcs11Uri::parse(uri, base)?))),
            #[cfg(feature = "awskms")]
            "awskms" => Ok(SignerUri::AwsKms(Box::new(crate::awskms::AwsKmsUri::parse(uri, rest)?))),
            other => Err(SignerError::UnknownScheme { scheme: other.to_owned(), known: known() }),
        }
    }
}

fn is_scheme(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Opens the signer that `uri` names. Async because remote backends (KMS, Vault) fetch the public
/// key when a key is opened, so that a wrong key is found at start-up, not at the first signature.
pub async fn open_signer(uri: &str, base: &Path) -> Result<Box<dyn Signer>, SignerError> {
    match SignerUri::parse(uri, base)? {
        SignerUri::File(path) => Ok(Box::new(FileSigner::open(&path)?)),
        #[cfg(feature = "exec")]
        SignerUri::Exec(uri) => Ok(Box::new(crate::exec::ExecSigner::open(uri).await?)),
        #[cfg(feature = "vault")]
        SignerUri::Vault(uri) => Ok(Box::new(crate::vault::VaultSigner::open(*uri).await?)),
        #[cfg(feature = "pkcs11")]
        SignerUri::Pkcs11(uri) => Ok(Box::new(crate::pkcs11::Pkcs11Signer::open(&uri).await?)),
        #[cfg(feature = "awskms")]
        SignerUri::AwsKms(uri) => Ok(Box::new(crate::awskms::AwsKmsSigner::open(*uri).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_uris_and_bare_paths() {
        let base = Path::new("/etc/tufmirror");
        assert_eq!(
            SignerUri::parse("file:keys/t.pem", base).ok(),
            Some(SignerUri::File("/etc/tufmirror/keys/t.pem".into()))
        );
        assert_eq!(SignerUri::parse("file:///k.pem", base).ok(), Some(SignerUri::File("/k.pem".into())));
        assert_eq!(SignerUri::parse("t.pem", base).ok(), Some(SignerUri::File("/etc/tufmirror/t.pem".into())));
        assert!(matches!(SignerUri::parse("file:", base), Err(SignerError::BadUri { .. })));
        assert!(matches!(SignerUri::parse("gopher:x", base), Err(SignerError::UnknownScheme { .. })));
    }
}
