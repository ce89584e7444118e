//! A ceremony's files: proposals, the root chain directory (`1.root.json`, `2.root.json`, ...)
//! and the keys holders hand over (key URIs or PEM public key files).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use tufmirror_core::PublicKey;
use tufmirror_core::metadata::{Root, Signed};
use tufmirror_core::verify;

use super::CeremonyError;
use crate::durable::{IfExists, write_durably};
use crate::keys::{self, RootFile};

/// Reads a proposal (signatures are not checked: see [`status`](super::status)).
pub fn read_proposal(path: &Path) -> Result<Signed<Root>, CeremonyError> {
    let bytes =
        std::fs::read(path).map_err(|source| CeremonyError::Io { action: "read", path: path.into(), source })?;
    verify::parse_unverified::<Root>(&bytes)
        .map(|(proposal, _)| proposal)
        .map_err(|source| CeremonyError::NotRoot { path: path.into(), source })
}

/// The bytes a proposal is stored and published as (as the core writes every metadata file).
pub fn to_bytes(proposal: &Signed<Root>) -> Result<Vec<u8>, CeremonyError> {
    proposal.to_bytes().map_err(|source| CeremonyError::Canonical { version: proposal.signed.version, source })
}

/// Writes a proposal durably (see [`write_durably`]).
pub fn write_proposal(path: &Path, proposal: &Signed<Root>, if_exists: IfExists) -> Result<(), CeremonyError> {
    write_file(path, &to_bytes(proposal)?, if_exists)
}

/// The newest root of the verified chain `1.root.json`, `2.root.json`, ... in `dir` (`None` when
/// `dir` holds no root).
pub fn newest_root(dir: &Path) -> Result<Option<RootFile>, CeremonyError> {
    Ok(keys::verify_root_chain(None, keys::read_root_files(dir)?)?.pop())
}

/// Writes `bytes` as `dir/VERSION.root.json`, durably (temporary file, fsync, link into place,
/// fsync of the folder), never over an existing file.
pub fn write_new_root(dir: &Path, version: u64, bytes: &[u8]) -> Result<PathBuf, CeremonyError> {
    std::fs::create_dir_all(dir).map_err(|source| CeremonyError::Io { action: "create", path: dir.into(), source })?;
    let path = dir.join(format!("{version}.root.json"));
    write_file(&path, bytes, IfExists::Refuse)?;
    Ok(path)
}

fn write_file(path: &Path, bytes: &[u8], if_exists: IfExists) -> Result<(), CeremonyError> {
    write_durably(path, bytes, if_exists).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => CeremonyError::Exists { path: path.into() },
        _ => CeremonyError::Io { action: "write", path: path.into(), source },
    })
}

/// A key as a holder hands it over.
#[derive(Debug)]
pub struct GivenKey {
    /// The public key handed over.
    pub key: PublicKey,
    /// Given as a PEM public key file, not as the URI of a key that can sign.
    pub public_only: bool,
}

/// The public half of a key given as a key URI (`file:`, `pkcs11:`, `exec:`, `vault:`, ...) or as
/// a PEM public key file (`-----BEGIN PUBLIC KEY-----`), so that holders can hand over public
/// keys only. Relative paths are relative to `base`.
pub async fn given_key(spec: &str, base: &Path) -> Result<GivenKey, CeremonyError> {
    let path = spec.strip_prefix("file:").map(|p| p.strip_prefix("//").unwrap_or(p)).unwrap_or(spec);
    if let Some(key) = read_public_key_file(&base.join(path))? {
        return Ok(GivenKey { key, public_only: true });
    }
    let signer = tufmirror_signer::open_signer(spec, base)
        .await
        .map_err(|source| CeremonyError::OpenKey { spec: spec.to_owned(), source })?;
    Ok(GivenKey { key: signer.public_key().clone(), public_only: false })
}

/// Reads a PEM public key file (`-----BEGIN PUBLIC KEY-----`), or `None` if `path` is not one
/// (missing, or another kind of file: a private key is never read past its first line).
pub fn read_public_key_file(path: &Path) -> Result<Option<PublicKey>, CeremonyError> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let mut head = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    (&mut reader).take(64).read_to_end(&mut head).map_err(|source| CeremonyError::Io {
        action: "read",
        path: path.into(),
        source,
    })?;
    if !String::from_utf8_lossy(&head).trim_start().starts_with("-----BEGIN PUBLIC KEY-----") {
        return Ok(None);
    }
    let mut rest = Vec::new();
    reader.take(64 * 1024).read_to_end(&mut rest).map_err(|source| CeremonyError::Io {
        action: "read",
        path: path.into(),
        source,
    })?;
    head.extend(rest);
    PublicKey::from_spki_pem(&String::from_utf8_lossy(&head))
        .map(Some)
        .map_err(|source| CeremonyError::PublicKeyFile { path: path.into(), source })
}
