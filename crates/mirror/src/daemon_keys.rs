//! The daemon's keys at start-up: development keys on first start (loudly), the root chain
//! copied into the served `tuf/`, and the start-up check that every online role can sign with
//! keys that root lists for it, before anything is signed; also that check as a report of
//! everything it finds, for `tufmirror root publish` to warn with.

use crate::config::KeysConfig;
use crate::datadir::DataDir;
use std::collections::BTreeMap;
use std::path::Path;
use time::OffsetDateTime;
use tracing::{info, warn};
use tufmirror_core::KeyId;
use tufmirror_core::metadata::{Role, Root};
use tufmirror_repo::ceremony::OnlineKeyMismatch;
use tufmirror_repo::durable::{IfExists, write_durably};
use tufmirror_repo::keys::{self, OnlineKeyError, RoleSigners, RootFile};
use tufmirror_signer::{SignerError, open_signer};

/// The keys the daemon signs with and the root chain it serves.
#[derive(Debug)]
pub struct DaemonKeys {
    /// Each online role's opened signers, checked against the newest root.
    pub signers: RoleSigners,
    /// The root chain, `1.root.json` first; never empty.
    pub roots: Vec<RootFile>,
}

impl DaemonKeys {
    /// The version of the newest root: what everything signed now is bound to
    /// (`x-tufmirror-root-version`, docs/POUF.md 1.9).
    pub fn root_version(&self) -> u64 {
        // The chain is never empty once loaded (1.root.json at least); 1 is what an unbound
        // document counts as.
        self.roots.last().map_or(1, |r| r.root.signed.version)
    }
}

/// Why the daemon refuses to start with these keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupKeyError {
    /// The root chain cannot be read, or the newest root has expired.
    #[error(transparent)]
    Key(#[from] OnlineKeyError),
    /// A configured online key cannot be opened, or root does not accept it for its role.
    #[error("`{key}` in {origin}")]
    Configured {
        /// The configuration key of the role (`keys.timestamp`, ...), or `keys` when no role is
        /// to blame.
        key: &'static str,
        /// Where the configuration came from (the file, or the embedded default).
        origin: String,
        /// What is wrong with the key.
        #[source]
        source: Box<OnlineKeyError>,
    },
    /// `tuf/` serves a root version whose bytes differ from the same version in `keys.root_dir`.
    #[error("{path} holds root version {version} with other bytes than {root_dir}: a published root never changes")]
    RootChanged {
        /// The served root file, `DATA_DIR/tuf/N.root.json`.
        path: String,
        /// The root version that differs.
        version: u64,
        /// `keys.root_dir`.
        root_dir: String,
    },
    /// `tuf/` serves more root versions than `keys.root_dir` holds.
    #[error("the served root chain has {served} versions but {root_dir} only {offered}: restore the missing roots")]
    RootsMissing {
        /// Root versions in `DATA_DIR/tuf/`.
        served: usize,
        /// Root versions in `keys.root_dir`.
        offered: usize,
        /// `keys.root_dir`.
        root_dir: String,
    },
    /// Copying a root version into `tuf/` failed.
    #[error("writing {path}")]
    Write {
        /// The root file being written, `DATA_DIR/tuf/N.root.json`.
        path: String,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
}

/// Loads (or, when allowed and there is no root yet, creates) the keys, verifies the root chain,
/// publishes new root versions into `tuf/`, and runs the start-up check.
pub async fn load(
    config: &KeysConfig,
    base: &Path,
    origin: &str,
    dir: &DataDir,
) -> Result<DaemonKeys, StartupKeyError> {
    let root_dir = &config.root_dir;
    if config.generate_development_keys && !root_dir.join("1.root.json").exists() {
        let expires = tufmirror_core::time::in_days(OffsetDateTime::now_utc(), Role::Root.default_expiry_days());
        keys::generate_development_keys(root_dir, tufmirror_signer::KeyAlgorithm::Ed25519, expires).await?;
        // Once: a warning repeated in the log reads as three events.
        warn!(
            dir = %root_dir.display(),
            "DEVELOPMENT KEYS CREATED: the root key is on this disk, next to the online keys. \
             Never use these keys for a production mirror: hold a root ceremony instead \
             (docs/key-management.md) and set keys.generate_development_keys = false."
        );
    }
    let offered = keys::verify_root_chain(None, keys::read_root_files(root_dir)?)?;
    let latest = offered.last().cloned().ok_or_else(|| OnlineKeyError::NoRoot { dir: root_dir.clone() })?;
    let signers = signers_for(config, base, origin, &latest.root.signed).await?;
    publish_roots(&offered, dir, root_dir)?;
    info!(
        root_version = latest.root.signed.version,
        "keys checked: every online role signs with a key that root lists"
    );
    Ok(DaemonKeys { signers, roots: offered })
}

/// Opens the configured online keys and runs the start-up check against `root`: not expired,
/// every role reaches its threshold, every key is one that `root` lists for its role and none is
/// a root key. Errors name the configuration key and file.
pub async fn signers_for(
    config: &KeysConfig,
    base: &Path,
    origin: &str,
    root: &Root,
) -> Result<RoleSigners, StartupKeyError> {
    if root.expires <= OffsetDateTime::now_utc() {
        return Err(OnlineKeyError::RootExpired {
            version: root.version,
            expires: tufmirror_core::time::format(root.expires),
        }
        .into());
    }
    let configured = |key: &'static str, source: OnlineKeyError| StartupKeyError::Configured {
        key,
        origin: origin.to_owned(),
        source: Box::new(source),
    };
    let mut signers = RoleSigners::new();
    for (role, key, uris) in config.online_roles() {
        let mut opened = Vec::new();
        for uri in uris {
            let signer = open_signer(uri, base)
                .await
                .map_err(|source| configured(key, OnlineKeyError::Signer { role, source }))?;
            opened.push(signer);
        }
        signers.insert(role, opened);
    }
    keys::check_signers(root, &signers).map_err(|e| {
        let key = match &e {
            OnlineKeyError::NotListed { role, .. }
            | OnlineKeyError::RootKeyOnline { role, .. }
            | OnlineKeyError::BelowThreshold { role, .. } => {
                config.online_roles().into_iter().find(|(r, _, _)| r == role).map_or("keys", |(_, key, _)| key)
            }
            _ => "keys",
        };
        configured(key, e)
    })?;
    Ok(signers)
}

/// One configured online key URI and what opening it gave.
#[derive(Debug)]
pub struct ConfiguredKey {
    /// The online role the key is configured for.
    pub role: Role,
    /// The configuration key: `keys.timestamp`, ...
    pub config_key: &'static str,
    /// The key URI as configured (see `tufmirror-signer`).
    pub uri: String,
    /// The key's id, or why it could not be opened.
    pub opened: Result<KeyId, SignerError>,
}

/// What the start-up check ([`signers_for`]) would find wrong with the configured online keys
/// under a root, all of it rather than the first problem: `tufmirror root publish` warns with it
/// before a daemon refuses to start.
#[derive(Debug)]
pub struct OnlineKeyReport {
    /// Every configured URI, in configuration order.
    pub configured: Vec<ConfiguredKey>,
    /// The start-up check of the keys that could be opened.
    pub check: Result<(), OnlineKeyError>,
    /// The roles whose configured keys root does not accept, with why.
    pub mismatches: Vec<OnlineKeyMismatch>,
}

impl OnlineKeyReport {
    /// Every key opened, and the daemon would start with them under the root.
    pub fn all_match(&self) -> bool {
        self.check.is_ok() && self.mismatches.is_empty() && self.configured.iter().all(|k| k.opened.is_ok())
    }
}

/// Opens every configured online key (going on past the ones that fail) and checks them against
/// `root` as the start-up check would. Unlike [`signers_for`], it does not check root's expiry.
pub async fn check_online_keys(config: &KeysConfig, base: &Path, root: &Root) -> OnlineKeyReport {
    let mut signers = RoleSigners::new();
    let mut ids: BTreeMap<Role, Vec<KeyId>> = BTreeMap::new();
    let mut configured = Vec::new();
    for (role, config_key, uris) in config.online_roles() {
        for uri in uris {
            let opened = open_signer(uri, base).await.map(|signer| {
                let id = signer.key_id();
                ids.entry(role).or_default().push(id.clone());
                signers.entry(role).or_default().push(signer);
                id
            });
            configured.push(ConfiguredKey { role, config_key, uri: uri.clone(), opened });
        }
    }
    OnlineKeyReport {
        configured,
        check: keys::check_signers(root, &signers),
        mismatches: tufmirror_repo::ceremony::online_key_mismatches(root, &ids),
    }
}

/// Copies root versions that `tuf/` lacks, refusing a chain that disagrees with what was served.
fn publish_roots(offered: &[RootFile], dir: &DataDir, root_dir: &Path) -> Result<(), StartupKeyError> {
    let served = keys::read_root_files(&dir.root.join("tuf"))?;
    if served.len() > offered.len() {
        return Err(StartupKeyError::RootsMissing {
            served: served.len(),
            offered: offered.len(),
            root_dir: root_dir.display().to_string(),
        });
    }
    for (i, root) in offered.iter().enumerate() {
        let version = root.root.signed.version;
        let path = dir.tuf(&format!("{version}.root.json"));
        match served.get(i) {
            Some((_, bytes)) if *bytes == root.bytes => {}
            Some(_) => {
                return Err(StartupKeyError::RootChanged {
                    path: path.display().to_string(),
                    version,
                    root_dir: root_dir.display().to_string(),
                });
            }
            None => {
                write_durably(&path, &root.bytes, IfExists::Replace)
                    .map_err(|source| StartupKeyError::Write { path: path.display().to_string(), source })?;
                info!(version, "root published");
            }
        }
    }
    Ok(())
}
