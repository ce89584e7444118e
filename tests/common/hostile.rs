//! A hostile mirror: a loopback HTTP server that serves a good repository and lies about part of
//! it, so that tests can show that clients (the client library, `tufmirror verify`,
//! `tufmirror proxy`, and cargo through the proxy) refuse each lie.
//!
//! It is made of small pieces that compose:
//!
//! - an **origin** gives the good answers: a repository folder written by `tufmirror publish`,
//!   served by `tufmirror_server::app` exactly as `tufmirror serve-static` serves it
//!   ([`HostileMirror::serve_dir`]), or another server, such as a running daemon, whose answers
//!   are forwarded ([`HostileMirror::forward`]);
//! - [`Rules`] say, per request path, which [`Action`]s change the answer: ask the origin for
//!   another path, replace or alter the body, set or remove a header, change the status, or
//!   stream a body that never ends. One axum middleware in front of the origin applies them, and
//!   the rules can be swapped while the server runs ([`HostileMirror::set`]);
//! - an [`Attack`] is one attack of the threat list as the rules it needs. The rules are built
//!   from the repository and the keys that made it ([`Repo`]: the test owns the keys, so it can
//!   re-sign metadata) by the helpers that follow it. Every attack also has a *control*
//!   ([`Attack::control`]): the same construction done honestly (metadata re-signed by the right
//!   keys, with a future expiry, and so on), so a test shows that its client accepts the control
//!   and refuses only the attack.
//!
//! [`Proxy`] runs the `tufmirror proxy` under test in front of a mirror.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::FutureExt as _;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tufmirror_core::binding::RootBound as _;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{MerkleTree, PathProof};
use tufmirror_core::metadata::{MetaFile, Metadata, RemovalRecord, Role, RoleKeys, Root, Signed, Snapshot};
use tufmirror_core::metadata::{Targets, Timestamp};
use tufmirror_core::verify::parse_unverified;
use tufmirror_signer::{FileSigner, KeyAlgorithm, Signer, generate_key_file, sign_metadata};

/// The response header that carries a Merkle proof (docs/POUF.md 2.2).
pub(crate) const PROOF_HEADER: &str = "tuf-merkle-proof";

// ---------------------------------------------------------------------------------------------
// Rules and actions
// ---------------------------------------------------------------------------------------------

/// A function from the origin's body to the body served.
pub(crate) type BodyFn = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// One change to the answer for a path. The actions of a path apply in their order: first
/// [`Action::ServeFrom`] (which changes the request), then the answer is changed; [`Action::Endless`]
/// and [`Action::Oversized`] replace the answer without asking the origin.
#[derive(Clone)]
pub(crate) enum Action {
    /// Ask the origin for this path (with its leading `/`) instead.
    ServeFrom(String),
    /// Answer with this status.
    Status(u16),
    /// Answer with these bytes (every header of the origin's answer is kept but `Content-Length`).
    Body(Vec<u8>),
    /// Answer with this function of the origin's body.
    MapBody(BodyFn),
    /// Set (or add) a header.
    SetHeader(String, String),
    /// Remove a header.
    RemoveHeader(String),
    /// `200` with a body that never ends (chunked, no length).
    Endless,
    /// `200` with `Content-Length: n` and `n` bytes.
    Oversized(u64),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::ServeFrom(p) => write!(f, "ServeFrom({p})"),
            Action::Status(s) => write!(f, "Status({s})"),
            Action::Body(b) => write!(f, "Body({} bytes)", b.len()),
            Action::MapBody(_) => f.write_str("MapBody(..)"),
            Action::SetHeader(n, v) => write!(f, "SetHeader({n}: {} bytes)", v.len()),
            Action::RemoveHeader(n) => write!(f, "RemoveHeader({n})"),
            Action::Endless => f.write_str("Endless"),
            Action::Oversized(n) => write!(f, "Oversized({n})"),
        }
    }
}

/// Actions by request path (with its leading `/`, without a query).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules(BTreeMap<String, Vec<Action>>);

impl Rules {
    pub(crate) fn new() -> Self {
        Rules::default()
    }

    /// Adds `action` for `path`.
    pub(crate) fn on(mut self, path: impl Into<String>, action: Action) -> Self {
        self.0.entry(path.into()).or_default().push(action);
        self
    }

    /// Serves `bytes` as a `200` JSON file at `path`, whether or not the origin has it.
    pub(crate) fn file(self, path: &str, bytes: Vec<u8>) -> Self {
        self.on(path, Action::Status(200))
            .on(path, Action::Body(bytes))
            .on(path, Action::SetHeader("content-type".into(), "application/json".into()))
            .on(path, Action::RemoveHeader("etag".into()))
            .on(path, Action::RemoveHeader("last-modified".into()))
    }

    /// Both sets of rules (actions of a path shared by both: `self`'s first).
    pub(crate) fn and(mut self, other: Rules) -> Self {
        for (path, actions) in other.0 {
            self.0.entry(path).or_default().extend(actions);
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// What the hostile mirror observed.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Bytes sent by [`Action::Endless`] and [`Action::Oversized`] bodies.
    pub streamed: AtomicU64,
    /// Such bodies still being sent: the count drops when a client hangs up.
    pub open_streams: AtomicUsize,
    /// Every request path, in order.
    pub requests: Mutex<Vec<String>>,
}

impl Stats {
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn streamed(&self) -> u64 {
        self.streamed.load(Ordering::SeqCst)
    }

    pub(crate) fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Default)]
struct Shared {
    rules: RwLock<Rules>,
    stats: Arc<Stats>,
}

/// The middleware: looks up the request path's actions and applies them around the origin.
async fn rewrite(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    shared.stats.requests.lock().unwrap_or_else(PoisonError::into_inner).push(path.clone());
    let actions = shared.rules.read().unwrap_or_else(PoisonError::into_inner).0.get(&path).cloned().unwrap_or_default();
    if actions.is_empty() {
        return next.run(request).await;
    }
    for action in &actions {
        match action {
            Action::Endless => return streamed(shared.stats.clone(), None),
            Action::Oversized(n) => return streamed(shared.stats.clone(), Some(*n)),
            Action::ServeFrom(other) => match other.parse::<Uri>() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, format!("bad rule: {other}: {e}\n")).into_response();
                }
            },
            _ => {}
        }
    }
    let (mut parts, body) = next.run(request).await.into_parts();
    let mut bytes = axum::body::to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
    for action in &actions {
        match action {
            Action::Status(s) => parts.status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Action::Body(b) => bytes = b.clone(),
            Action::MapBody(f) => bytes = f(&bytes),
            Action::SetHeader(name, value) => match (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value))
            {
                (Ok(n), Ok(v)) => {
                    parts.headers.insert(n, v);
                }
                _ => return (StatusCode::INTERNAL_SERVER_ERROR, format!("bad rule: header {name}\n")).into_response(),
            },
            Action::RemoveHeader(name) => {
                parts.headers.remove(name.as_str());
            }
            Action::ServeFrom(_) | Action::Endless | Action::Oversized(_) => {}
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// A `200` whose body is `limit` bytes (with that `Content-Length`), or endless without one.
fn streamed(stats: Arc<Stats>, limit: Option<u64>) -> Response {
    /// Counts the body as open until hyper drops it (the end, or the client hung up).
    struct Open(Arc<Stats>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.open_streams.fetch_sub(1, Ordering::SeqCst);
        }
    }
    stats.open_streams.fetch_add(1, Ordering::SeqCst);
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let body = futures_util::stream::unfold((Open(stats), 0u64), move |(open, sent)| {
        let chunk = chunk.clone();
        async move {
            let n = match limit {
                Some(limit) if sent >= limit => return None,
                Some(limit) => (limit - sent).min(chunk.len() as u64) as usize,
                None => chunk.len(),
            };
            open.0.streamed.fetch_add(n as u64, Ordering::SeqCst);
            Some((Ok::<_, std::convert::Infallible>(chunk.slice(..n)), (open, sent + n as u64)))
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(n) = limit {
        response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    response
}

/// Forwards every request (GET, with its `If-None-Match`) to `base` and answers with the status,
/// headers and body that came back.
fn forwarder(base: &str) -> Router {
    let base = base.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    Router::new().fallback(move |request: Request| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let target = format!("{base}{}", request.uri().path_and_query().map_or("/", |p| p.as_str()));
            let mut upstream = client.get(&target);
            if let Some(v) = request.headers().get(header::IF_NONE_MATCH) {
                upstream = upstream.header(header::IF_NONE_MATCH, v.clone());
            }
            let answer = match upstream.send().await {
                Ok(answer) => answer,
                Err(e) => return (StatusCode::BAD_GATEWAY, format!("{target}: {e}\n")).into_response(),
            };
            let status = answer.status();
            let mut headers = answer.headers().clone();
            for hop in [header::TRANSFER_ENCODING, header::CONNECTION, header::CONTENT_LENGTH] {
                headers.remove(hop);
            }
            let body = match answer.bytes().await {
                Ok(body) => body,
                Err(e) => return (StatusCode::BAD_GATEWAY, format!("{target}: {e}\n")).into_response(),
            };
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
    })
}

/// The hostile server on `127.0.0.1:0`, with its own runtime; stopped on drop.
#[derive(Debug)]
pub(crate) struct HostileMirror {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HostileMirror {
    /// Serves the repository folder `dir` (as `tufmirror serve-static` does), honestly until
    /// rules are set.
    pub(crate) fn serve_dir(dir: &Path) -> Self {
        Self::start(tufmirror_server::app(dir.to_owned()))
    }

    /// Forwards to the server at `base_url` (a daemon), honestly until rules are set.
    pub(crate) fn forward(base_url: &str) -> Self {
        Self::start(forwarder(base_url))
    }

    fn start(origin: Router) -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let shared = Arc::new(Shared::default());
        // The origin is the fallback of an outer router, so that a rewritten request is routed
        // by the origin afresh.
        let app =
            Router::new().fallback_service(origin).layer(axum::middleware::from_fn_with_state(shared.clone(), rewrite));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("address");
        runtime.spawn(async move { axum::serve(listener, app).await });
        HostileMirror { runtime: Some(runtime), addr, shared }
    }

    /// `http://127.0.0.1:PORT` (no trailing `/`).
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the rules (an empty set: serve honestly).
    pub(crate) fn set(&self, rules: Rules) {
        *self.shared.rules.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    pub(crate) fn honest(&self) {
        self.set(Rules::new());
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.shared.stats
    }
}

impl Drop for HostileMirror {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The repository and its keys
// ---------------------------------------------------------------------------------------------

/// A repository written by `tufmirror publish`, the key folder that made it (from
/// `tufmirror keys generate`) and a folder for keys that root does not list.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub out: PathBuf,
    pub keys: PathBuf,
    pub extra_keys: PathBuf,
}

impl Repo {
    pub(crate) fn new(out: &Path, keys: &Path, extra_keys: &Path) -> Self {
        Repo { out: out.to_owned(), keys: keys.to_owned(), extra_keys: extra_keys.to_owned() }
    }

    pub(crate) fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.out.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", self.out.join(rel).display()))
    }

    /// A metadata file of the repository, parsed without checking signatures.
    pub(crate) fn metadata<T: Metadata>(&self, rel: &str) -> Signed<T> {
        parse_unverified::<T>(&self.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")).0
    }

    pub(crate) fn timestamp(&self) -> Signed<Timestamp> {
        self.metadata("tuf/timestamp.json")
    }

    /// The current snapshot version (what the current timestamp names).
    pub(crate) fn current(&self) -> u64 {
        self.timestamp().signed.snapshot_version().expect("snapshot version")
    }

    /// The root version `version` (`tuf/N.root.json`).
    pub(crate) fn root(&self, version: u64) -> Signed<Root> {
        self.metadata(&format!("tuf/{version}.root.json"))
    }

    /// The Merkle tree of snapshot `n`, from its leaf list.
    pub(crate) fn tree(&self, n: u64) -> MerkleTree {
        let list: LeafList = serde_json::from_slice(&self.read(&format!("snapshots/{n}/leaves.json"))).expect("leaves");
        MerkleTree::build(list.leaves).expect("tree")
    }

    /// Index file `path` as snapshot `n` holds it.
    pub(crate) fn index_file(&self, n: u64, path: &str) -> Vec<u8> {
        self.read(&format!("snapshots/{n}/index/{path}"))
    }

    /// The `TUF-Merkle-Proof` header value of `path` (inclusion or non-inclusion) in snapshot `n`.
    pub(crate) fn proof_header(&self, n: u64, path: &str) -> String {
        let json = match self.tree(n).prove(path, n) {
            PathProof::Included(p) => p.to_canonical_json(),
            PathProof::Absent(p) => p.to_canonical_json(),
        };
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// The key of `role` that the repository was published with (`keys/ROLE.pem`).
    pub(crate) fn signer(&self, role: Role) -> FileSigner {
        FileSigner::open(&self.keys.join(format!("{}.pem", role.name()))).expect("role key")
    }

    /// A key that no root lists, made on first use (`extra_keys/NAME.pem`).
    pub(crate) fn extra_signer(&self, name: &str) -> FileSigner {
        let path = self.extra_keys.join(format!("{name}.pem"));
        if !path.exists() {
            std::fs::create_dir_all(&self.extra_keys).expect("extra keys folder");
            generate_key_file(&path, KeyAlgorithm::Ed25519).expect("generate key");
        }
        FileSigner::open(&path).expect("extra key")
    }
}

/// `metadata` signed by `signers`, as the bytes a server would serve. (File keys sign without
/// waiting, so this works with or without a runtime.)
pub(crate) fn sign<T: Metadata>(metadata: T, signers: &[&FileSigner]) -> Vec<u8> {
    let signers: Vec<&dyn Signer> = signers.iter().map(|s| *s as &dyn Signer).collect();
    let signed = sign_metadata(metadata, &signers).now_or_never().expect("file keys sign at once").expect("sign");
    signed.to_bytes().expect("serialize")
}

/// `bytes` with one bit of the byte in the middle flipped: same length, other content.
pub(crate) fn altered(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(b) = out.get_mut(bytes.len() / 2) {
        *b ^= 0x01;
    }
    out
}

/// The current timestamp, version + 1, re-signed by `signers` after `edit`: what an attacker who
/// holds (or a control that uses) some keys serves next.
pub(crate) fn next_timestamp(
    repo: &Repo,
    signers: &[&FileSigner],
    edit: impl FnOnce(&mut Timestamp),
) -> (u64, Vec<u8>) {
    let mut timestamp = repo.timestamp().signed;
    timestamp.version += 1;
    timestamp.expires = tufmirror_core::time::in_days(OffsetDateTime::now_utc(), 1);
    edit(&mut timestamp);
    (timestamp.version, sign(timestamp, signers))
}

/// Rules that serve a timestamp as the current one, and under its version in `history/`.
pub(crate) fn serve_timestamp((version, bytes): (u64, Vec<u8>)) -> Rules {
    Rules::new().file("/tuf/timestamp.json", bytes.clone()).file(&format!("/history/{version}.timestamp.json"), bytes)
}

/// Root version 2 made from version 1 by `edit`, signed by `signers`, served as `tuf/2.root.json`
/// and `tuf/root.json`.
fn serve_root_2(repo: &Repo, signers: &[&FileSigner], edit: impl FnOnce(&mut Root)) -> Rules {
    let mut root = repo.root(1).signed;
    root.version = 2;
    edit(&mut root);
    let bytes = sign(root, signers);
    Rules::new().file("/tuf/2.root.json", bytes.clone()).file("/tuf/root.json", bytes)
}

/// The current snapshot's targets and snapshot metadata re-signed (same versions, same keys) and
/// a next timestamp signed by `timestamp_signers`, all bound to root 2 (POUF 1.9): what an honest
/// mirror serves once it adopted a root 2, since current metadata must name the trusted root.
fn bound_to_root_2(repo: &Repo, timestamp_signers: &[&FileSigner]) -> Rules {
    let n = repo.current();
    let mut snapshot = repo.metadata::<Snapshot>(&format!("tuf/{n}.snapshot.json")).signed;
    let targets_version = snapshot.targets_version().expect("targets version");
    let mut targets = repo.metadata::<Targets>(&format!("tuf/{targets_version}.targets.json")).signed;
    targets.bind_to_root(2);
    let targets_bytes = sign(targets, &[&repo.signer(Role::Targets)]);
    snapshot.meta.insert("targets.json".into(), MetaFile::pinning(targets_version, &targets_bytes));
    snapshot.bind_to_root(2);
    let snapshot_bytes = sign(snapshot, &[&repo.signer(Role::Snapshot)]);
    let timestamp = next_timestamp(repo, timestamp_signers, |t| {
        t.meta.insert("snapshot.json".into(), MetaFile::pinning(n, &snapshot_bytes));
        t.bind_to_root(2);
    });
    Rules::new()
        .file(&format!("/tuf/{targets_version}.targets.json"), targets_bytes)
        .file(&format!("/tuf/{n}.snapshot.json"), snapshot_bytes)
        .and(serve_timestamp(timestamp))
}

/// Lists `signer` in `root` for `role` (replacing the role's keys if `replace`).
pub(crate) fn list_key(root: &mut Root, role: Role, signer: &FileSigner, replace: bool) {
    let id = signer.key_id();
    root.keys.insert(id.clone(), signer.public_key().to_key_object());
    let entry = root.roles.entry(role.name().to_owned()).or_insert_with(|| RoleKeys {
        keyids: Vec::new(),
        threshold: 1,
        unknown: BTreeMap::new(),
    });
    if replace {
        entry.keyids.clear();
    }
    entry.keyids.push(id);
}

// ---------------------------------------------------------------------------------------------
// Attacks
// ---------------------------------------------------------------------------------------------

/// The attacks of the threat list. Paths are sparse-index paths (`se/rd/serde`), versions are
/// snapshot or timestamp versions of the [`Repo`].
#[derive(Debug, Clone)]
pub(crate) enum Attack {
    /// a. An index file with changed bytes; its proof header is kept.
    AlteredFile { path: String },
    /// b. The file `path` with the proof header of the file `other`.
    ProofForOtherPath { path: String, other: String },
    /// c. Mix-and-match: snapshot `old`'s file and its valid proof in snapshot `old`, while the
    /// metadata says the current snapshot.
    MixAndMatch { path: String, old: u64 },
    /// d. Rollback of the timestamp: `history/OLD.timestamp.json` served as the current one.
    TimestampRollback { old: u64 },
    /// d. Rollback of the snapshot: a new timestamp (version + 1, the real timestamp key) that
    /// names the older snapshot `old` (with its Merkle root).
    SnapshotRollback { old: u64 },
    /// e. Freeze: the timestamp re-signed (version + 1, real key) with `expires` in the past.
    ExpiredTimestamp,
    /// f. The timestamp (version + 1) signed by a key that root does not list.
    UnlistedKey,
    /// f. Root version 2 (signed by the real root key) makes the timestamp threshold 2 of two
    /// keys; the timestamp (version + 1) carries one signature.
    BelowThreshold,
    /// g. Root version 2 replaces the root key and is signed only by the new key.
    RootSignedByNewKeyOnly,
    /// h. The body of `path` never ends.
    Endless { path: String },
    /// h. The body of `path` is `length` bytes (declared in `Content-Length`).
    Oversized { path: String, length: u64 },
    /// i. `path` is answered `404` without a proof.
    HiddenWithoutProof { path: String },
    /// i. `path` is answered `404` with the (valid) non-inclusion proof of another absent path.
    HiddenWithOtherProof { path: String, other_absent: String },
    /// The timestamp (version + 1, the real timestamp key) bound to root `binding`, or without
    /// `x-tufmirror-root-version` for `None`, instead of the root it is verified with
    /// (docs/POUF.md 1.9). The control keeps the binding.
    TimestampBinding { binding: Option<u64> },
    /// h. `path` (absent) is answered `404` without a proof, as a plain static host answers, and
    /// the current snapshot's `leaves.json` that checks it never ends. The control: the same
    /// `404` and the honest leaf list (a verified absence).
    EndlessLeafList { path: String },
    /// j. The current targets metadata with a removal record for `path`, signed by a key that root
    /// does not list; snapshot and timestamp re-signed to match by the real keys.
    RemovalSignedByUnlistedKey { path: String },
    /// j. What the holder of the online snapshot and timestamp keys can do without the targets
    /// key: a new snapshot (N + 1) whose tree lacks `path`, signed by the real snapshot and
    /// timestamp keys, `path` answered `404` with its valid non-inclusion proof, and no removal
    /// record (targets unchanged). The control adds targets version + 1 with the record, signed
    /// by the targets key. Only a client that saw `path` present can tell.
    RemovedWithoutRecord { path: String },
}

impl Attack {
    /// The rules that mount the attack on `repo`.
    pub(crate) fn rules(&self, repo: &Repo) -> Rules {
        self.build(repo, false)
    }

    /// The control: the same construction done honestly (no rules where the attack only lies,
    /// honestly re-signed metadata where the attack re-signs). A correct client accepts it.
    pub(crate) fn control(&self, repo: &Repo) -> Rules {
        self.build(repo, true)
    }

    fn build(&self, repo: &Repo, honest: bool) -> Rules {
        let index = |path: &str| format!("/index/{path}");
        let timestamp_key = || repo.signer(Role::Timestamp);
        match self {
            Attack::AlteredFile { path } => {
                if honest {
                    return Rules::new();
                }
                Rules::new().on(index(path), Action::MapBody(Arc::new(altered)))
            }
            Attack::ProofForOtherPath { path, other } => {
                if honest {
                    return Rules::new();
                }
                Rules::new()
                    .on(index(path), Action::SetHeader(PROOF_HEADER.into(), repo.proof_header(repo.current(), other)))
            }
            Attack::MixAndMatch { path, old } => {
                if honest {
                    return Rules::new();
                }
                Rules::new()
                    .on(index(path), Action::ServeFrom(format!("/snapshots/{old}/index/{path}")))
                    .on(index(path), Action::SetHeader(PROOF_HEADER.into(), repo.proof_header(*old, path)))
            }
            Attack::TimestampRollback { old } => {
                if honest {
                    return Rules::new();
                }
                Rules::new().on("/tuf/timestamp.json", Action::ServeFrom(format!("/history/{old}.timestamp.json")))
            }
            Attack::SnapshotRollback { old } => {
                let key = timestamp_key();
                serve_timestamp(next_timestamp(repo, &[&key], |t| {
                    if !honest {
                        let snapshot = repo.read(&format!("tuf/{old}.snapshot.json"));
                        let tree = repo.tree(*old);
                        t.meta.insert("snapshot.json".into(), MetaFile::pinning(*old, &snapshot));
                        t.merkle_root = Some(tree.root());
                        t.merkle_tree_size = Some(tree.len() as u64);
                    }
                }))
            }
            Attack::ExpiredTimestamp => {
                let key = timestamp_key();
                serve_timestamp(next_timestamp(repo, &[&key], |t| {
                    if !honest {
                        t.expires = OffsetDateTime::now_utc() - time::Duration::days(1);
                    }
                }))
            }
            Attack::UnlistedKey => {
                let key = if honest { timestamp_key() } else { repo.extra_signer("unlisted") };
                serve_timestamp(next_timestamp(repo, &[&key], |_| {}))
            }
            Attack::BelowThreshold => {
                let (first, second) = (timestamp_key(), repo.extra_signer("timestamp-2"));
                let root = serve_root_2(repo, &[&repo.signer(Role::Root)], |root| {
                    list_key(root, Role::Timestamp, &second, false);
                    root.roles.get_mut("timestamp").expect("timestamp role").threshold = 2;
                });
                let signers: Vec<&FileSigner> = if honest { vec![&first, &second] } else { vec![&first] };
                root.and(bound_to_root_2(repo, &signers))
            }
            Attack::RootSignedByNewKeyOnly => {
                let (old, new) = (repo.signer(Role::Root), repo.extra_signer("new-root"));
                let signers: Vec<&FileSigner> = if honest { vec![&old, &new] } else { vec![&new] };
                serve_root_2(repo, &signers, |root| list_key(root, Role::Root, &new, true))
                    .and(bound_to_root_2(repo, &[&timestamp_key()]))
            }
            Attack::Endless { path } => {
                if honest {
                    return Rules::new();
                }
                Rules::new().on(path_url(path), Action::Endless)
            }
            Attack::Oversized { path, length } => {
                if honest {
                    return Rules::new();
                }
                Rules::new().on(path_url(path), Action::Oversized(*length))
            }
            Attack::HiddenWithoutProof { path } => {
                if honest {
                    return Rules::new();
                }
                hidden(&index(path), None)
            }
            Attack::TimestampBinding { binding } => {
                let key = timestamp_key();
                serve_timestamp(next_timestamp(repo, &[&key], |t| {
                    if honest {
                        return;
                    }
                    match binding {
                        Some(v) => t.bind_to_root(*v),
                        None => {
                            t.unknown.remove(tufmirror_core::binding::ROOT_VERSION_FIELD);
                        }
                    }
                }))
            }
            Attack::EndlessLeafList { path } => {
                let rules = hidden(&index(path), None);
                if honest {
                    return rules;
                }
                rules.on(format!("/snapshots/{}/leaves.json", repo.current()), Action::Endless)
            }
            Attack::HiddenWithOtherProof { path, other_absent } => {
                if honest {
                    return Rules::new();
                }
                hidden(&index(path), Some(repo.proof_header(repo.current(), other_absent)))
            }
            Attack::RemovalSignedByUnlistedKey { path } => removal_signed_by_unlisted_key(repo, path, honest),
            Attack::RemovedWithoutRecord { path } => removed_without_record(repo, path, honest),
        }
    }
}

/// `/index/PATH` for an index path, the path itself for one that starts with `/` (`/tuf/...`).
fn path_url(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/index/{path}") }
}

/// A `404` at `url` with `proof` (or none) as its proof header.
pub(crate) fn hidden(url: &str, proof: Option<String>) -> Rules {
    let rules = Rules::new()
        .on(url, Action::Status(404))
        .on(url, Action::Body(b"crate not found\n".to_vec()))
        .on(url, Action::RemoveHeader("etag".into()))
        .on(url, Action::RemoveHeader(PROOF_HEADER.into()));
    match proof {
        Some(proof) => rules.on(url, Action::SetHeader(PROOF_HEADER.into(), proof)),
        None => rules,
    }
}

/// Attack j: targets N with a removal record for `path` (kept at version N), signed by an
/// unlisted key (or, for the control, by the targets key); snapshot N re-signed by the snapshot
/// key to pin those bytes; the timestamp (version + 1) by the timestamp key to pin the snapshot.
fn removal_signed_by_unlisted_key(repo: &Repo, path: &str, honest: bool) -> Rules {
    let n = repo.current();
    let mut snapshot = repo.metadata::<Snapshot>(&format!("tuf/{n}.snapshot.json")).signed;
    let targets_version = snapshot.targets_version().expect("targets version");
    let mut targets = repo.metadata::<Targets>(&format!("tuf/{targets_version}.targets.json")).signed;
    if !targets.removals.iter().any(|r| r.path == path) {
        targets.removals.push(RemovalRecord {
            path: path.to_owned(),
            snapshot_version: n,
            reason: "absent from the published input".into(),
        });
        targets.removals.sort();
    }
    let targets_key = if honest { repo.signer(Role::Targets) } else { repo.extra_signer("unlisted-targets") };
    let targets_bytes = sign(targets, &[&targets_key]);
    snapshot.meta.insert("targets.json".into(), MetaFile::pinning(targets_version, &targets_bytes));
    let snapshot_bytes = sign(snapshot, &[&repo.signer(Role::Snapshot)]);
    let timestamp = next_timestamp(repo, &[&repo.signer(Role::Timestamp)], |t| {
        t.meta.insert("snapshot.json".into(), MetaFile::pinning(n, &snapshot_bytes));
    });
    Rules::new()
        .file(&format!("/tuf/{targets_version}.targets.json"), targets_bytes)
        .file(&format!("/tuf/{n}.snapshot.json"), snapshot_bytes)
        .and(serve_timestamp(timestamp))
}

/// Attack j without the targets key: snapshot N + 1 without `path` (see
/// [`Attack::RemovedWithoutRecord`]).
fn removed_without_record(repo: &Repo, path: &str, honest: bool) -> Rules {
    let n = repo.current();
    let next = n + 1;
    let leaves = repo.tree(n).leaves().iter().filter(|l| l.path != path).cloned().collect();
    let tree = MerkleTree::build(leaves).expect("tree");
    let mut snapshot = repo.metadata::<Snapshot>(&format!("tuf/{n}.snapshot.json")).signed;
    snapshot.version = next;
    snapshot.expires = tufmirror_core::time::in_days(OffsetDateTime::now_utc(), 7);
    let mut rules = Rules::new();
    if honest {
        let t = snapshot.targets_version().expect("targets version");
        let mut targets = repo.metadata::<Targets>(&format!("tuf/{t}.targets.json")).signed;
        targets.version = t + 1;
        targets.removals =
            vec![RemovalRecord { path: path.to_owned(), snapshot_version: next, reason: "taken down".into() }];
        let bytes = sign(targets, &[&repo.signer(Role::Targets)]);
        snapshot.meta.insert("targets.json".into(), MetaFile::pinning(t + 1, &bytes));
        rules = rules.file(&format!("/tuf/{}.targets.json", t + 1), bytes);
    }
    let snapshot_bytes = sign(snapshot, &[&repo.signer(Role::Snapshot)]);
    let timestamp = next_timestamp(repo, &[&repo.signer(Role::Timestamp)], |t| {
        t.meta.insert("snapshot.json".into(), MetaFile::pinning(next, &snapshot_bytes));
        t.merkle_root = Some(tree.root());
        t.merkle_tree_size = Some(tree.len() as u64);
    });
    let absent = match tree.prove(path, next) {
        PathProof::Absent(p) => base64::engine::general_purpose::STANDARD.encode(p.to_canonical_json()),
        PathProof::Included(_) => unreachable!("{path} was removed from the tree"),
    };
    rules
        .file(&format!("/tuf/{next}.snapshot.json"), snapshot_bytes)
        .and(serve_timestamp(timestamp))
        .and(hidden(&format!("/index/{path}"), Some(absent)))
}

// ---------------------------------------------------------------------------------------------
// The proxy under test
// ---------------------------------------------------------------------------------------------

/// `tufmirror proxy --mirror URL --root FILE --listen 127.0.0.1:PORT [--state DIR]`, killed on
/// drop.
#[derive(Debug)]
pub(crate) struct Proxy {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Proxy {
    /// Starts the proxy and waits until it answers `GET /healthz` (any status). Panics, showing
    /// its output, if it exits first or does not answer within 30 s.
    pub(crate) fn start(mirror: &str, root: &Path, state: Option<&Path>, log: &Path) -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listen = addr.to_string();
        let mut args = vec!["proxy", "--mirror", mirror, "--root", root.to_str().expect("utf-8"), "--listen", &listen];
        if let Some(state) = state {
            args.extend(["--state", state.to_str().expect("utf-8")]);
        }
        let output = std::fs::File::create(log).expect("proxy log");
        let mut command = super::daemon::tufmirror_command(log.parent().expect("log folder"), &args);
        command
            .env("RUST_LOG", std::env::var("TUFMIRROR_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("log"))
            .stderr(output);
        let child = command.spawn().expect("spawn tufmirror proxy");
        let mut proxy = Proxy { child: Some(child), addr, log: log.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Any HTTP answer will do: the proxy is listening.
                let health = super::http_get(addr, "/healthz", &[]);
                eprintln!("tufmirror proxy on {addr}: /healthz {}", health.status);
                return proxy;
            }
            if let Some(status) = proxy.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("`tufmirror {}` exited ({status}) before it listened:\n{}", args.join(" "), proxy.output());
            }
            assert!(
                Instant::now() < deadline,
                "tufmirror proxy did not listen on {addr} within 30 s:\n{}",
                proxy.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the proxy printed so far (stdout and stderr).
    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}
