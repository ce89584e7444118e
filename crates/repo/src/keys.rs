//! Role keys for publishing, and the start-up check that they are the keys root says they are.
//!
//! A key directory (what `tufmirror keys generate` writes) holds `targets.pem`, `snapshot.pem`,
//! `timestamp.pem` and the root chain `1.root.json`, `2.root.json`, …; `root.pem` may be there for
//! development, and is never used to sign anything but root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tufmirror_core::KeyId;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_core::verify::{self, RoleVerifier, VerifyError};
use tufmirror_signer::{Signer, SignerError, open_signer};

/// The signers of each online role.
pub type RoleSigners = BTreeMap<Role, Vec<Box<dyn Signer>>>;

/// A root version with the exact bytes it was signed and published as.
#[derive(Debug, Clone)]
pub struct RootFile {
    /// The file `N.root.json` as published: the bytes clients download and hash.
    pub bytes: Vec<u8>,
    /// Those bytes parsed: the `signed` root and its `signatures`.
    pub root: Signed<Root>,
}

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnlineKeyError {
    /// A key or root file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// An online role's key could not be opened or used.
    #[error("the {role} key")]
    Signer {
        /// The role whose key it is.
        role: Role,
        /// The signer's error.
        #[source]
        source: SignerError,
    },
    /// A root file of the chain does not verify (docs/POUF.md 1.2: each root against the one before).
    #[error("{path}")]
    Root {
        /// The root file `N.root.json`.
        path: PathBuf,
        /// Why it does not verify.
        #[source]
        source: VerifyError,
    },
    /// The keys directory has no root version 1.
    #[error("no 1.root.json in {dir}: run `tufmirror keys generate` or a root ceremony first")]
    NoRoot {
        /// The keys directory.
        dir: PathBuf,
    },
    /// A configured online key is not in the role's `keyids` in the newest root.
    #[error(
        "the {role} key {key_id} is not listed for the {role} role by root version {root_version} (root lists {listed})"
    )]
    NotListed {
        /// The online role.
        role: Role,
        /// The id of the configured key.
        key_id: KeyId,
        /// The newest root version, whose `roles` entry does not list the key.
        root_version: u64,
        /// The key ids that root lists for the role, comma-separated.
        listed: String,
    },
    /// A configured online key is also a root key (docs/POUF.md 1.2: root keys stay offline).
    #[error("the {role} key {key_id} is also a root key: root keys stay offline and sign only root")]
    RootKeyOnline {
        /// The online role.
        role: Role,
        /// The id of the key.
        key_id: KeyId,
    },
    /// Fewer keys are configured for an online role than its threshold in the newest root.
    #[error("the {role} role needs {threshold} signatures but {configured} key(s) are configured")]
    BelowThreshold {
        /// The online role.
        role: Role,
        /// The role's `threshold` in the newest root.
        threshold: u64,
        /// How many keys are configured.
        configured: usize,
    },
    /// The newest root's `expires` has passed.
    #[error("root version {version} expired at {expires}: sign and publish a new root first")]
    RootExpired {
        /// The newest root version.
        version: u64,
        /// Its `expires`, as written in the metadata.
        expires: String,
    },
}

/// Opens `ROLE.pem` in `dir` for every online role.
pub async fn open_online_signers(dir: &Path) -> Result<RoleSigners, OnlineKeyError> {
    let mut signers = RoleSigners::new();
    for role in Role::ONLINE {
        let signer = open_signer(&format!("file:{}.pem", role.name()), dir)
            .await
            .map_err(|source| OnlineKeyError::Signer { role, source })?;
        signers.insert(role, vec![signer]);
    }
    Ok(signers)
}

/// Reads the contiguous chain `1.root.json`, `2.root.json`, … from `dir` (without verifying).
pub fn read_root_files(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, OnlineKeyError> {
    let mut chain = Vec::new();
    for version in 1.. {
        let path = dir.join(format!("{version}.root.json"));
        match std::fs::read(&path) {
            Ok(bytes) => chain.push((path, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(source) => return Err(OnlineKeyError::Io { path, source }),
        }
    }
    Ok(chain)
}

/// Verifies a root chain: the first entry against `trusted` (or, for a chain that starts at
/// version 1 with nothing trusted yet, against its own root keys), each next one against the one
/// before it. Returns the verified roots in order.
pub fn verify_root_chain(
    trusted: Option<&Root>,
    chain: Vec<(PathBuf, Vec<u8>)>,
) -> Result<Vec<RootFile>, OnlineKeyError> {
    let mut out: Vec<RootFile> = Vec::new();
    for (path, bytes) in chain {
        let previous = out.last().map(|r| &r.root.signed).or(trusted);
        let root = match previous {
            Some(prev) => verify::verify_root_update(prev, &bytes),
            None => verify::parse_unverified::<Root>(&bytes).and_then(|(root, signed_bytes)| {
                RoleVerifier::from_root(&root.signed, Role::Root)?.verify(&signed_bytes, &root.signatures)?;
                if root.signed.version != 1 {
                    return Err(VerifyError::UnexpectedVersion {
                        role: Role::Root,
                        expected: 1,
                        found: root.signed.version,
                    });
                }
                Ok(root)
            }),
        }
        .map_err(|source| OnlineKeyError::Root { path: path.clone(), source })?;
        out.push(RootFile { bytes, root });
    }
    Ok(out)
}

/// Whether giving `key_id` to `role` would put a root key online: the key is one that `root`
/// lists for the root role and `role` is another role. Root keys stay offline and sign only
/// root, so that a stolen online key can never rewrite the trust in all keys. The one statement
/// of the rule: the start-up check ([`check_signers`]) and the root ceremony
/// (`ceremony::problems`, `ceremony::rotate_online_key`) all ask it.
pub fn root_key_online(root: &Root, role: Role, key_id: &KeyId) -> bool {
    role != Role::Root && root.roles.get(Role::Root.name()).is_some_and(|r| r.keyids.contains(key_id))
}

/// The start-up check: every online role can reach its threshold with the configured signers,
/// each configured key is one that root lists for that role, and no root key is used online.
pub fn check_signers(root: &Root, signers: &RoleSigners) -> Result<(), OnlineKeyError> {
    for role in Role::ONLINE {
        let entry = root.roles.get(role.name());
        let listed = entry.map(|e| e.keyids.clone()).unwrap_or_default();
        let configured = signers.get(&role).map(Vec::as_slice).unwrap_or_default();
        for signer in configured {
            let key_id = signer.key_id();
            if root_key_online(root, role, &key_id) {
                return Err(OnlineKeyError::RootKeyOnline { role, key_id });
            }
            if !listed.contains(&key_id) {
                let listed = listed.iter().map(|k| k.short().to_owned()).collect::<Vec<_>>().join(", ");
                return Err(OnlineKeyError::NotListed { role, key_id, root_version: root.version, listed });
            }
        }
        let threshold = entry.map_or(1, |e| e.threshold);
        if (configured.len() as u64) < threshold {
            return Err(OnlineKeyError::BelowThreshold { role, threshold, configured: configured.len() });
        }
    }
    Ok(())
}

/// Creates one key per role in `dir` (PKCS#8 PEM, mode 0600) and root version 1 signed by the
/// root key: development keys, for `tufmirror keys generate` and the daemon's first start. `dir`
/// must not hold keys already; nothing is overwritten.
pub async fn generate_development_keys(
    dir: &Path,
    algorithm: tufmirror_signer::KeyAlgorithm,
    root_expires: time::OffsetDateTime,
) -> Result<BTreeMap<Role, tufmirror_core::PublicKey>, OnlineKeyError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| OnlineKeyError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut keys = BTreeMap::new();
    for role in Role::ALL {
        let path = dir.join(format!("{}.pem", role.name()));
        if path.exists() {
            return Err(OnlineKeyError::Io { path, source: std::io::ErrorKind::AlreadyExists.into() });
        }
        let key = tufmirror_signer::generate_key_file(&path, algorithm)
            .map_err(|source| OnlineKeyError::Signer { role, source })?;
        keys.insert(role, key);
    }
    let root = initial_root(&keys, root_expires);
    let signer = tufmirror_signer::FileSigner::open(&dir.join("root.pem"))
        .map_err(|source| OnlineKeyError::Signer { role: Role::Root, source })?;
    let signed = tufmirror_signer::sign_metadata(root, &[&signer])
        .await
        .map_err(|source| OnlineKeyError::Signer { role: Role::Root, source })?;
    let bytes = signed
        .to_bytes()
        .map_err(|e| OnlineKeyError::Signer { role: Role::Root, source: SignerError::Other(Box::new(e)) })?;
    let path = dir.join("1.root.json");
    std::fs::write(&path, bytes).map_err(io(&path))?;
    Ok(keys)
}

/// Root version 1 for one key per role, threshold 1, `consistent_snapshot` on: what
/// `tufmirror keys generate` proposes for development.
pub fn initial_root(keys: &BTreeMap<Role, tufmirror_core::PublicKey>, expires: time::OffsetDateTime) -> Root {
    let roles = keys
        .iter()
        .map(|(role, key)| (*role, crate::ceremony::RoleSpec { keys: vec![key.clone()], threshold: 1 }))
        .collect();
    crate::ceremony::unchecked_initial_root(&roles, expires)
}
