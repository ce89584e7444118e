//! [`MirrorClient`]: the TAP-16 client of a tufmirror mirror (docs/POUF.md 1.4 - 1.7, 2.1, 2.2).
//!
//! The TUF metadata (`<base>/tuf/`) is kept current by an [`Updater`]; every answer about an index
//! file (`<base>/index/<path>`) is then checked against the verified timestamp's `merkle_root`,
//! `merkle_tree_size` and snapshot version before anything of it is used:
//!
//! - **200** with a `TUF-Merkle-Proof` header: the inclusion proof verifies, its leaf is the path
//!   asked for, and the body has the leaf's length and SHA-256;
//! - **304** with a proof: the request carried `If-None-Match`, and the proof's leaf has exactly
//!   that ETag (`"<sha256>"`), so the caller's copy is the file of the signed snapshot;
//! - **404** with a non-inclusion proof: the path is absent from the signed snapshot. A 404 without
//!   a proof is not believed: it could hide a crate;
//! - a proof for a **newer** snapshot than the trusted one makes the client refresh first (once
//!   for any number of concurrent answers: refreshes are single-flight) and then check it; a
//!   proof for an **older** snapshot is refused (rollback, or files of different snapshots mixed);
//! - a path verified present in snapshot M and later proven absent in N > M must have a **removal
//!   record** (docs/POUF.md 1.6) for a snapshot in (M, N]: the targets role signs those, so a
//!   mirror that holds only the online timestamp and snapshot keys cannot make a crate vanish.
//!   `mirror/removals.rs` says exactly what is fetched and checked.
//!
//! A plain static host sends no proof headers. Then one more request fetches the proof from the
//! static layout (`snapshots/N/proofs/<path>` for the trusted N, plus `snapshots/N/index/<path>`
//! when the host has moved on since N), and a 404 is checked against `snapshots/N/leaves.json`
//! (fetched and checked against the signed root once per snapshot).
//!
//! Before each check the trusted metadata must be unexpired: the client refreshes when it has
//! expired, and tries to (at most once per [`MirrorConfig::min_refresh_interval`]) when it expires
//! within [`MirrorConfig::expiry_margin`].
//!
//! `config.json` is fetched by its consistent-snapshot name `index/<sha256>.config.json` and must
//! match the `config.json` target of the trusted targets metadata (length and every hash).

mod check;
mod error;
mod fallback;
mod removals;
mod view;

pub use check::etag_of;
pub use error::{LeafListProblem, MirrorError, RefreshError, Refusal, RemovalMetadataProblem, one_line};
pub use view::TrustedView;

use crate::store::MetadataDir;
use crate::updater::with_slash;
use crate::{ClientError, FetchError, Fetcher, HttpConfig, HttpFetcher, IndexFetcher, Updater, UpdaterConfig};
use check::{Position, check_absent, check_file, check_not_modified, decode_header, position};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tufmirror_core::binding::Floor;
use tufmirror_core::merkle::{InclusionProof, Leaf, NonInclusionProof};
use tufmirror_core::metadata::Timestamp;
use view::TreePin;

/// Limits and timing of a [`MirrorClient`].
#[derive(Debug, Clone)]
pub struct MirrorConfig {
    /// Timeouts and user agent of the HTTP client.
    pub http: HttpConfig,
    /// Limits of the TUF client workflow (metadata sizes, root rotations, delegations).
    pub updater: UpdaterConfig,
    /// The largest index file accepted (crates.io's largest are a few MiB).
    pub max_index_length: u64,
    /// The largest static proof file accepted (a proof of 64 levels is about 6 KiB).
    pub max_proof_length: u64,
    /// The largest `leaves.json` accepted (crates.io's is tens of MiB).
    pub max_leaves_length: u64,
    /// Refresh ahead of expiry when the trusted metadata expires within this margin.
    pub expiry_margin: Duration,
    /// At most one refresh ahead of expiry per this interval (a refresh for a newer snapshot or
    /// after expiry is never delayed).
    pub min_refresh_interval: Duration,
    /// How many snapshots back a removal record is searched for.
    pub max_removal_search: u64,
    /// `--require-audit`: accept a snapshot only if the auditors that root declares
    /// (`x-tufmirror-auditors`) attested it, with attestations looked for under these URLs (empty:
    /// the mirror's `audit/`). `None`: no audit is required.
    pub require_audit: Option<Vec<String>>,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        MirrorConfig {
            http: HttpConfig::default(),
            updater: UpdaterConfig::default(),
            max_index_length: 32 << 20,
            max_proof_length: 64 << 10,
            max_leaves_length: 512 << 20,
            require_audit: None,
            expiry_margin: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            max_removal_search: 1024,
        }
    }
}

/// A verified answer about one index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexFile {
    /// The file, proven to be leaf `leaf` of snapshot `snapshot`.
    Present {
        /// The file's bytes, as served.
        bytes: Vec<u8>,
        /// The leaf the proof vouches for (path, length, SHA-256).
        leaf: Leaf,
        /// The snapshot whose `merkle_root` the proof leads to.
        snapshot: u64,
    },
    /// The caller's copy (the ETag it sent) is leaf `leaf` of snapshot `snapshot`.
    NotModified {
        /// The leaf the proof vouches for.
        leaf: Leaf,
        /// The snapshot whose `merkle_root` the proof leads to.
        snapshot: u64,
    },
    /// The path is proven absent from snapshot `snapshot`.
    Absent {
        /// The snapshot whose `merkle_root` the absence proof leads to.
        snapshot: u64,
    },
}

impl IndexFile {
    /// The ETag of a present file (`"<sha256>"`, what tufmirror servers send).
    pub fn etag(&self) -> Option<String> {
        match self {
            IndexFile::Present { leaf, .. } | IndexFile::NotModified { leaf, .. } => Some(etag_of(leaf)),
            IndexFile::Absent { .. } => None,
        }
    }

    /// The snapshot whose signed tree vouches for the answer.
    pub fn snapshot(&self) -> u64 {
        match self {
            IndexFile::Present { snapshot, .. }
            | IndexFile::NotModified { snapshot, .. }
            | IndexFile::Absent { snapshot } => *snapshot,
        }
    }
}

/// What [`MirrorClient::verify_snapshot`] checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotReport {
    /// The snapshot version checked.
    pub snapshot: u64,
    /// Index files fetched and checked against its leaves.
    pub files: u64,
    /// Their total length, in bytes.
    pub bytes: u64,
}

/// The refresh state shared by all requests: the trusted view and the outcome of the last
/// refresh, numbered so that concurrent requests wait for one refresh instead of starting many.
#[derive(Debug, Default)]
struct Shared {
    view: Option<Arc<TrustedView>>,
    /// Counts completed refresh attempts.
    generation: u64,
    /// The error of the last attempt, if it failed.
    last_error: Option<Arc<RefreshError>>,
    last_attempt: Option<Instant>,
    /// The tree last trusted for a snapshot (see [`TreePin`]).
    pin: Option<TreePin>,
}

impl Shared {
    fn outcome(&self) -> Result<Arc<TrustedView>, Arc<RefreshError>> {
        match (&self.last_error, &self.view) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(view)) => Ok(view.clone()),
            (None, None) => Err(Arc::new(RefreshError::Incomplete)),
        }
    }
}

/// A verified answer and the view it was checked against.
type Done = (IndexFile, Arc<TrustedView>);

/// Why a check stopped before an answer was verified.
enum Interrupt {
    /// The mirror has moved on to a newer signed snapshot since the request was sent: ask again
    /// against this view; `Refusal` is the reason if asking again is not possible.
    Again(Arc<TrustedView>, Refusal),
    Fail(MirrorError),
}

impl From<MirrorError> for Interrupt {
    fn from(e: MirrorError) -> Self {
        Interrupt::Fail(e)
    }
}

/// How many times one file is asked for when the mirror keeps moving on to newer snapshots
/// while its answers are checked (a daemon publishes a snapshot per batch of on-demand fetches,
/// so under load the snapshot an answer names can be superseded by the time the client has
/// refreshed for it). Normally one request suffices; the bound keeps a hostile mirror from
/// holding a request forever.
const ATTEMPTS: usize = 4;

/// The TAP-16 client of one mirror; see the module documentation. Share it (`Arc`) between
/// requests: it holds one HTTP client (connections are kept alive) and one trusted state.
#[derive(Debug)]
pub struct MirrorClient {
    /// The mirror's base URL, ending in `/`.
    base: String,
    transport: Arc<dyn IndexFetcher>,
    config: MirrorConfig,
    dir: MetadataDir,
    /// Held for the whole of a refresh: the single flight.
    updater: tokio::sync::Mutex<Updater>,
    shared: Mutex<Shared>,
    /// The newest snapshot in which each path was verified present, with the root it was
    /// accepted under (for removal checks).
    seen: Mutex<HashMap<String, Floor>>,
    /// Removal records of older snapshots, fetched and verified.
    removals: Mutex<BTreeMap<u64, removals::VerifiedRemovals>>,
    /// The verdict on the leaf list of one snapshot (static hosts' 404s): its verified tree, or
    /// why it was refused.
    leaves: tokio::sync::Mutex<Option<(u64, fallback::LeafVerdict)>>,
    /// The last verified `config.json`.
    config_json: Mutex<Option<Arc<[u8]>>>,
}

impl MirrorClient {
    /// Stores `root` as the trusted root in `state_dir` unless the folder already holds one (which
    /// may be newer: refreshes follow root rotations and store each new root). Returns whether
    /// `root` was stored.
    pub fn bootstrap(state_dir: &Path, root: &[u8]) -> Result<bool, ClientError> {
        if MetadataDir::new(state_dir).read("root")?.is_some() {
            return Ok(false);
        }
        Updater::init(state_dir, root)?;
        Ok(true)
    }

    /// A client for the mirror at `base_url` (holding `index/` and `tuf/`), trusting the metadata
    /// in `state_dir` (see [`Self::bootstrap`]). Makes no request.
    pub fn new(base_url: &str, state_dir: &Path, config: MirrorConfig) -> Result<Self, ClientError> {
        let http = HttpFetcher::new(&config.http).map_err(ClientError::Http)?;
        Self::with_transport(base_url, state_dir, Arc::new(http), config)
    }

    /// [`Self::new`] over another transport (tests put tampering transports here).
    pub fn with_transport(
        base_url: &str,
        state_dir: &Path,
        transport: Arc<dyn IndexFetcher>,
        config: MirrorConfig,
    ) -> Result<Self, ClientError> {
        let base = with_slash(base_url);
        let fetcher: Arc<dyn Fetcher> = transport.clone();
        let updater = Updater::new(state_dir, &format!("{base}tuf/"), fetcher, config.updater.clone())?;
        let dir = MetadataDir::new(state_dir);
        // The stored timestamp was verified when it was stored: it pins its snapshot's tree.
        let pin = dir
            .read("timestamp")
            .ok()
            .flatten()
            .and_then(|bytes| tufmirror_core::verify::parse_unverified::<Timestamp>(&bytes).ok())
            .and_then(|(ts, _)| TreePin::of(&ts.signed));
        Ok(MirrorClient {
            base,
            transport,
            config,
            dir,
            updater: tokio::sync::Mutex::new(updater),
            shared: Mutex::new(Shared { pin, ..Shared::default() }),
            seen: Mutex::new(HashMap::new()),
            removals: Mutex::new(BTreeMap::new()),
            leaves: tokio::sync::Mutex::new(None),
            config_json: Mutex::new(None),
        })
    }

    /// The mirror's base URL (ends in `/`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The trusted view of the last successful refresh, if any (no I/O).
    pub fn view(&self) -> Option<Arc<TrustedView>> {
        self.shared().view.clone()
    }

    /// Refreshes the TUF metadata now (one refresh however many callers ask at once).
    pub async fn refresh(&self) -> Result<Arc<TrustedView>, MirrorError> {
        let generation = self.shared().generation;
        self.refresh_from(generation).await.map_err(|source| MirrorError::Refresh { path: "tuf/".into(), source })
    }

    /// The trusted view to check answers against: refreshed first if there is none yet or it
    /// expires soon (see the module documentation).
    pub async fn trusted(&self) -> Result<Arc<TrustedView>, MirrorError> {
        self.current("tuf/").await
    }

    /// `config.json`, checked against its signed target.
    pub async fn config_json(&self) -> Result<Vec<u8>, MirrorError> {
        const PATH: &str = "config.json";
        let mut view = self.current(PATH).await?;
        let mut url = format!("{}index/config.json", self.base);
        for _ in 0..ATTEMPTS {
            let cached = self.config_json_cache().clone();
            if let Some(bytes) = cached
                && view.config.verify(&bytes).is_ok()
            {
                return Ok(bytes.to_vec());
            }
            let refused = |view: &TrustedView, reason| MirrorError::Refused {
                path: PATH.into(),
                snapshot: view.snapshot_version,
                reason,
            };
            let sha = view.config.hashes.get("sha256").ok_or_else(|| refused(&view, Refusal::NoConfigHash))?;
            url = format!("{}index/{sha}.config.json", self.base);
            match self.fetch_optional(PATH, &url, view.config.length).await? {
                Some(bytes) => {
                    view.config.verify(&bytes).map_err(|e| refused(&view, Refusal::Config(e)))?;
                    *self.config_json_cache() = Some(bytes.clone().into());
                    return Ok(bytes);
                }
                // The mirror serves another configuration now: a newer targets must sign it.
                None => match self.newer_than(&view, PATH).await? {
                    Some(newer) => view = newer,
                    None => break,
                },
            }
        }
        Err(MirrorError::Status { path: PATH.into(), url, status: 404 })
    }

    /// Asks the mirror for the index file at `path` (a sparse-index path, docs/POUF.md 1.7) and
    /// verifies the answer; `if_none_match` is the ETag of the caller's copy, if it has one. A
    /// 200 whose file has that ETag is returned as [`IndexFile::NotModified`].
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn index_file(&self, path: &str, if_none_match: Option<&str>) -> Result<IndexFile, MirrorError> {
        tufmirror_index::crate_of_path(path)
            .map_err(|source| MirrorError::NotAnIndexPath { path: path.to_owned(), source })?;
        let mut view = self.current(path).await?;
        let url = format!("{}index/{path}", self.base);
        for attempt in 1..=ATTEMPTS {
            let answer = self
                .transport
                .get_index(&url, if_none_match, self.config.max_index_length)
                .await
                .map_err(|source| MirrorError::Fetch { path: path.to_owned(), url: url.clone(), source })?;
            match self.judge(path, &url, if_none_match, answer, &view).await {
                Ok((file, checked)) => {
                    self.remember(path, &file, &checked).await?;
                    return Ok(match file {
                        IndexFile::Present { leaf, snapshot, .. }
                            if if_none_match
                                .is_some_and(|sent| tufmirror_core::wire::not_modified(sent, &etag_of(&leaf))) =>
                        {
                            IndexFile::NotModified { leaf, snapshot }
                        }
                        file => file,
                    });
                }
                Err(Interrupt::Again(newer, reason)) => {
                    if attempt == ATTEMPTS {
                        return Err(self.refused(path, &newer, reason));
                    }
                    tracing::debug!(path, snapshot = newer.snapshot_version, "the mirror moved on; asking again");
                    view = newer;
                }
                Err(Interrupt::Fail(e)) => return Err(e),
            }
        }
        Err(self.refused(path, &view, Refusal::SnapshotGone { snapshot: view.snapshot_version }))
    }

    /// Verifies every index file of the trusted snapshot N: `snapshots/N/leaves.json` against the
    /// signed root, then each file from `snapshots/N/index/<path>` against its leaf and its proof
    /// (the header, or `snapshots/N/proofs/<path>`), `concurrency` requests at a time. Stops at
    /// the first failure.
    pub async fn verify_snapshot(self: &Arc<Self>, concurrency: usize) -> Result<SnapshotReport, MirrorError> {
        let view = self.current("snapshots/").await?;
        let tree = match self.leaves(&view, "leaves.json").await? {
            Some(tree) => tree,
            None => {
                let reason = Refusal::SnapshotGone { snapshot: view.snapshot_version };
                return Err(self.refused("leaves.json", &view, reason));
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        let mut leaves = tree.leaves().iter();
        let mut report = SnapshotReport { snapshot: view.snapshot_version, files: 0, bytes: 0 };
        loop {
            while tasks.len() < concurrency.max(1) {
                let Some(leaf) = leaves.next() else { break };
                let (client, view, leaf) = (self.clone(), view.clone(), leaf.clone());
                tasks.spawn(async move { client.snapshot_file(&view, &leaf).await });
            }
            match tasks.join_next().await {
                None => return Ok(report),
                Some(Ok(Ok(length))) => {
                    report.files += 1;
                    report.bytes += length;
                }
                Some(Ok(Err(e))) => return Err(e),
                Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            }
        }
    }

    /// Checks one answer; see the module documentation.
    async fn judge(
        &self,
        path: &str,
        url: &str,
        if_none_match: Option<&str>,
        answer: crate::HttpAnswer,
        view: &Arc<TrustedView>,
    ) -> Result<Done, Interrupt> {
        match answer.status {
            200 => {
                let Some(header) = &answer.proof else {
                    return self.static_file(path, answer.body, view).await;
                };
                let proof: InclusionProof = decode_header(header).map_err(|r| self.refused(path, view, r))?;
                let view = self.view_for(path, proof.snapshot_version, view).await?;
                check_file(path, &answer.body, &proof, &view).map_err(|r| self.refused(path, &view, r))?;
                let file = IndexFile::Present {
                    bytes: answer.body,
                    leaf: proof.leaf_contents,
                    snapshot: view.snapshot_version,
                };
                Ok((file, view))
            }
            304 => {
                let header = answer.proof.as_deref().ok_or_else(|| self.refused(path, view, Refusal::NoProof))?;
                let proof: InclusionProof = decode_header(header).map_err(|r| self.refused(path, view, r))?;
                let view = self.view_for(path, proof.snapshot_version, view).await?;
                check_not_modified(path, if_none_match, &proof, &view).map_err(|r| self.refused(path, &view, r))?;
                Ok((IndexFile::NotModified { leaf: proof.leaf_contents, snapshot: view.snapshot_version }, view))
            }
            // 403 is what S3-style static hosts answer for a missing key.
            status @ (404 | 403 | 410) => {
                let Some(header) = &answer.proof else {
                    return self.static_absent(path, status, view).await;
                };
                let proof: NonInclusionProof = decode_header(header).map_err(|r| self.refused(path, view, r))?;
                let view = self.view_for(path, proof.snapshot_version, view).await?;
                check_absent(path, &proof, &view).map_err(|r| self.refused(path, &view, r))?;
                Ok((IndexFile::Absent { snapshot: view.snapshot_version }, view))
            }
            status => Err(MirrorError::Status { path: path.to_owned(), url: url.to_owned(), status }.into()),
        }
    }

    /// The view to check a proof for `snapshot` against: the trusted one, or a newer one after a
    /// refresh. Older snapshots are refused.
    async fn view_for(
        &self,
        path: &str,
        snapshot: u64,
        view: &Arc<TrustedView>,
    ) -> Result<Arc<TrustedView>, Interrupt> {
        match position(snapshot, view).map_err(|r| self.refused(path, view, r))? {
            Position::Trusted => Ok(view.clone()),
            Position::Newer => {
                let newer = self.reach(snapshot, path).await?;
                match newer.snapshot_version.cmp(&snapshot) {
                    std::cmp::Ordering::Equal => Ok(newer),
                    std::cmp::Ordering::Greater => {
                        let reason = Refusal::OlderSnapshot { proof: snapshot, trusted: newer.snapshot_version };
                        Err(Interrupt::Again(newer, reason))
                    }
                    std::cmp::Ordering::Less => {
                        let reason = Refusal::UnsignedSnapshot { proof: snapshot, signed: newer.snapshot_version };
                        Err(self.refused(path, &newer, reason).into())
                    }
                }
            }
        }
    }

    /// Records what a verified answer says about `path`, after checking that a file which
    /// disappeared has a removal record.
    async fn remember(&self, path: &str, file: &IndexFile, view: &TrustedView) -> Result<(), MirrorError> {
        match file {
            IndexFile::Present { snapshot, .. } | IndexFile::NotModified { snapshot, .. } => {
                let here = Floor { snapshot: *snapshot, root: view.root_version };
                let mut seen = self.seen();
                let newest = seen.entry(path.to_owned()).or_insert(here);
                if here.snapshot > newest.snapshot {
                    *newest = here;
                }
            }
            IndexFile::Absent { snapshot } => {
                let present = self.seen().get(path).copied();
                if let Some(present) = present.filter(|p| p.snapshot < *snapshot) {
                    self.require_removal(path, present, *snapshot, view).await?;
                }
                let mut seen = self.seen();
                if seen.get(path).is_some_and(|p| p.snapshot <= *snapshot) {
                    seen.remove(path);
                }
            }
        }
        Ok(())
    }

    /// The trusted view, refreshed as the module documentation says.
    async fn current(&self, path: &str) -> Result<Arc<TrustedView>, MirrorError> {
        let (view, generation, last_attempt) = {
            let shared = self.shared();
            (shared.view.clone(), shared.generation, shared.last_attempt)
        };
        let refresh_error = |source| MirrorError::Refresh { path: path.to_owned(), source };
        let Some(view) = view else {
            return self.refresh_from(generation).await.map_err(refresh_error);
        };
        let now = OffsetDateTime::now_utc();
        if view.expires > now + self.config.expiry_margin {
            return Ok(view);
        }
        if view.expires > now {
            if last_attempt.is_some_and(|t| t.elapsed() < self.config.min_refresh_interval) {
                return Ok(view);
            }
            return Ok(match self.refresh_from(generation).await {
                Ok(newer) => newer,
                Err(e) => {
                    tracing::warn!(error = %one_line(&*e), expires = %view.expires, "refresh before expiry failed");
                    view
                }
            });
        }
        self.refresh_from(generation).await.map_err(|source| MirrorError::Expired {
            path: path.to_owned(),
            expires: tufmirror_core::time::format(view.expires),
            source,
        })
    }

    /// A view of at least `snapshot`, refreshing if the trusted one is older; the result may
    /// still be older if the mirror's signed timestamp is.
    async fn reach(&self, snapshot: u64, path: &str) -> Result<Arc<TrustedView>, MirrorError> {
        let (view, generation) = {
            let shared = self.shared();
            (shared.view.clone(), shared.generation)
        };
        if let Some(view) = view.filter(|v| v.snapshot_version >= snapshot) {
            return Ok(view);
        }
        self.refresh_from(generation).await.map_err(|source| MirrorError::Refresh { path: path.to_owned(), source })
    }

    /// A view newer than `view`, if the mirror signs one now.
    async fn newer_than(&self, view: &TrustedView, path: &str) -> Result<Option<Arc<TrustedView>>, MirrorError> {
        let newer = self.reach(view.snapshot_version + 1, path).await?;
        Ok(Some(newer).filter(|n| n.snapshot_version > view.snapshot_version))
    }

    /// With [`MirrorConfig::require_audit`], refuses a refreshed snapshot that the auditors root
    /// declares have not attested (the view stays the previous, attested one).
    async fn check_audited(&self, updater: &Updater) -> Result<(), RefreshError> {
        let Some(urls) = &self.config.require_audit else { return Ok(()) };
        let urls = if urls.is_empty() { vec![format!("{}audit/", self.base)] } else { urls.clone() };
        let timestamp = updater.timestamp().ok_or(RefreshError::Incomplete)?;
        let snapshot = timestamp.snapshot_version().unwrap_or(0);
        let fetcher: &dyn Fetcher = &*self.transport;
        let found = crate::attestations::fetch_attestations(fetcher, &urls, snapshot)
            .await
            .map_err(|(url, source)| RefreshError::AttestationFetch { url, source })?;
        let found: Vec<&[u8]> = found.iter().map(Vec::as_slice).collect();
        tufmirror_core::audit_rules::check_attestations(updater.trusted().root(), timestamp, &found)
            .map(drop)
            .map_err(|source| RefreshError::NotAudited { snapshot, source })
    }

    /// Refreshes unless another refresh completed since `seen_generation` (then its outcome is
    /// this one's): the single flight.
    async fn refresh_from(&self, seen_generation: u64) -> Result<Arc<TrustedView>, Arc<RefreshError>> {
        let mut updater = self.updater.lock().await;
        let pin = {
            let shared = self.shared();
            if shared.generation != seen_generation {
                return shared.outcome();
            }
            shared.pin
        };
        let stored_timestamp = self.dir.read("timestamp").ok().flatten();
        let result = match updater.refresh().await {
            Ok(()) => match TrustedView::of(&updater, pin.as_ref()) {
                Ok(view) => self.check_audited(&updater).await.map(|()| view),
                Err(e) => Err(e),
            },
            Err(e) => Err(RefreshError::from(e)),
        };
        if let (Err(RefreshError::TreeChanged { .. }), Some(bytes)) = (&result, &stored_timestamp) {
            // The updater stored the timestamp that swaps the tree: put the trusted one back, so
            // that the next run refuses it again instead of starting from it.
            if let Err(e) = self.dir.write("timestamp", bytes) {
                tracing::warn!(error = %one_line(&e), "cannot restore the trusted timestamp");
            }
        }
        let mut shared = self.shared();
        shared.generation += 1;
        shared.last_attempt = Some(Instant::now());
        match result {
            Ok(view) => {
                tracing::info!(
                    snapshot = view.snapshot_version,
                    timestamp = view.timestamp_version,
                    tree_size = view.tree_size,
                    "mirror metadata refreshed"
                );
                shared.pin = Some(view.pin());
                shared.view = Some(Arc::new(view));
                shared.last_error = None;
            }
            Err(e) => {
                tracing::warn!(error = %one_line(&e), "mirror metadata refresh failed");
                shared.last_error = Some(Arc::new(e));
            }
        }
        shared.outcome()
    }

    /// GETs `url`; `None` if the mirror says it does not exist.
    async fn fetch_optional(&self, path: &str, url: &str, max_length: u64) -> Result<Option<Vec<u8>>, MirrorError> {
        match self.transport.fetch(url, max_length).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(FetchError::NotFound { .. }) => Ok(None),
            Err(source) => Err(MirrorError::Fetch { path: path.to_owned(), url: url.to_owned(), source }),
        }
    }

    fn refused(&self, path: &str, view: &TrustedView, reason: Refusal) -> MirrorError {
        MirrorError::Refused { path: path.to_owned(), snapshot: view.snapshot_version, reason }
    }

    // The locks below guard plain data and are never held across an await; a panic while one
    // is held cannot leave that data half-written, so a poisoned lock is still usable.
    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seen(&self) -> MutexGuard<'_, HashMap<String, Floor>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn removal_cache(&self) -> MutexGuard<'_, BTreeMap<u64, removals::VerifiedRemovals>> {
        self.removals.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn config_json_cache(&self) -> MutexGuard<'_, Option<Arc<[u8]>>> {
        self.config_json.lock().unwrap_or_else(|e| e.into_inner())
    }
}
