//! Key URIs: the one place where a string becomes a signer.
//!
//! Grammar (more schemes arrive with their backends):
//!
//! ```text
//! signer-uri = "file:" path        ; PKCS#8 PEM private key; relative paths are relative to
//!                                  ; the configuration that names them
//! ```
//!
//! A bare path (no scheme) is read as `file:`, which keeps `--keys DIR` layouts simple. Windows
//! drive letters are not a concern: tufmirror targets Unix hosts.

use crate::{FileSigner, Signer, SignerError};
use std::path::{Path, PathBuf};

const KNOWN: &str = "file:";

/// A parsed key URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerUri {
    File(PathBuf),
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
            other => Err(SignerError::UnknownScheme { scheme: other.to_owned(), known: KNOWN }),
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
