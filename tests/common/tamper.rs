//! A transport for `MirrorClient` that sits between the client and a real mirror: it counts the
//! URLs asked for and can rewrite any answer (status, headers, body) before the client sees it.
//! Tests of the client and of the proxy build their hostile answers with it, in process.

use async_trait::async_trait;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tufmirror_client::{
    FetchError, Fetcher, HttpAnswer, HttpConfig, HttpFetcher, IndexFetcher, MirrorClient, MirrorConfig,
};

/// A client of the mirror at `url` that trusts `out`'s first root, with its state in `state`, whose
/// answers pass through `tamper`.
pub(crate) fn tampered_client(
    url: &str,
    out: &Path,
    state: &Path,
    tamper: &Arc<Tamper>,
    config: MirrorConfig,
) -> Arc<MirrorClient> {
    let root = std::fs::read(out.join("tuf/1.root.json")).expect("1.root.json");
    MirrorClient::bootstrap(state, &root).expect("bootstrap");
    Arc::new(MirrorClient::with_transport(url, state, tamper.clone(), config).expect("client"))
}

type Rule = Box<dyn Fn(&str, &mut HttpAnswer) + Send + Sync>;

/// See the module documentation.
pub(crate) struct Tamper {
    inner: HttpFetcher,
    rule: Mutex<Option<Rule>>,
    requests: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tamper").finish_non_exhaustive()
    }
}

impl Tamper {
    pub(crate) fn new() -> Arc<Tamper> {
        let inner = HttpFetcher::new(&HttpConfig::default()).expect("http client");
        Arc::new(Tamper { inner, rule: Mutex::new(None), requests: Mutex::new(Vec::new()) })
    }

    /// Rewrites every answer from now on with `rule(url, answer)`.
    pub(crate) fn set(&self, rule: impl Fn(&str, &mut HttpAnswer) + Send + Sync + 'static) {
        *self.rule.lock().expect("rule") = Some(Box::new(rule));
    }

    /// Honest again.
    pub(crate) fn clear(&self) {
        *self.rule.lock().expect("rule") = None;
    }

    /// How many requests so far went to a URL ending with `suffix`.
    pub(crate) fn hits(&self, suffix: &str) -> usize {
        self.requests.lock().expect("requests").iter().filter(|u| u.ends_with(suffix)).count()
    }

    pub(crate) fn reset_hits(&self) {
        self.requests.lock().expect("requests").clear();
    }

    async fn answer(&self, url: &str, if_none_match: Option<&str>, max: u64) -> Result<HttpAnswer, FetchError> {
        self.requests.lock().expect("requests").push(url.to_owned());
        let mut answer = self.inner.get_index(url, if_none_match, max).await?;
        if let Some(rule) = self.rule.lock().expect("rule").as_ref() {
            rule(url, &mut answer);
        }
        Ok(answer)
    }
}

#[async_trait]
impl Fetcher for Tamper {
    async fn fetch(&self, url: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        let answer = self.answer(url, None, max_length).await?;
        match answer.status {
            200 => Ok(answer.body),
            status @ (403 | 404) => Err(FetchError::NotFound { status }),
            status => Err(FetchError::Status { status }),
        }
    }
}

#[async_trait]
impl IndexFetcher for Tamper {
    async fn get_index(
        &self,
        url: &str,
        if_none_match: Option<&str>,
        max_length: u64,
    ) -> Result<HttpAnswer, FetchError> {
        self.answer(url, if_none_match, max_length).await
    }
}

/// A server for a folder with no headers of its own (a plain static host): `GET /<path>` is the
/// file at `<dir>/<path>` (symbolic links followed) or a bare 404. Runs on `rt` until dropped.
pub(crate) struct PlainHost {
    pub addr: std::net::SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl PlainHost {
    pub(crate) fn start(rt: &tokio::runtime::Runtime, dir: &Path) -> PlainHost {
        use axum::extract::{Path, State};
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        async fn file(State(dir): State<std::path::PathBuf>, Path(path): Path<String>) -> axum::response::Response {
            if path.split('/').any(|part| part == "..") {
                return StatusCode::NOT_FOUND.into_response();
            }
            match tokio::fs::read(dir.join(&path)).await {
                Ok(bytes) => bytes.into_response(),
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let app = axum::Router::new().route("/{*path}", axum::routing::get(file)).with_state(dir.to_owned());
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        PlainHost { addr, _shutdown: tx }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}
