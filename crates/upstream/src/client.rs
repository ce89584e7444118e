//! The client: one reqwest client (HTTP/2 where the server offers it, connections pooled), a
//! semaphore bounding requests in flight, the retry loop around each fetch, and a pause shared by
//! every index fetch when upstream asks for one (429, or `Retry-After` on a failure).

use crate::answer::{CrateFetch, IndexFetch, Validator};
use crate::body::read_limited;
use crate::config::{ProxySetting, UpstreamConfig, redact};
use crate::error::UpstreamError;
use crate::hosts::{DownloadHosts, GuardedResolver};
use crate::retry::{backoff, parse_retry_after};
use reqwest::header::{ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;
use tracing::Instrument;
use tufmirror_index::CrateName;

/// A client for one upstream registry. Cheap to clone; clones share connections and the
/// concurrency limit.
#[derive(Clone)]
pub struct UpstreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// For `.crate` files only: redirects and resolved addresses checked against
    /// `config.download_hosts`.
    downloads: reqwest::Client,
    config: UpstreamConfig,
    permits: Semaphore,
    /// No index request is sent before this instant: upstream answered 429, or a failure with
    /// `Retry-After`. Shared by every index fetch, because a rate limit is upstream's answer to all
    /// of our requests, not to one path; `.crate` downloads (often another host) ignore it.
    paused_until: Mutex<Option<Instant>>,
}

/// What one index fetch may cost upstream, and what it does while upstream's pause lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests it may send, first attempt and retries together (at least 1 is sent); never more
    /// than `retries + 1`.
    pub requests: u32,
    /// While a pause lasts: give up at once with [`UpstreamError::Paused`] (someone is waiting for
    /// the answer), or wait until the pause ends (background work).
    pub fail_when_paused: bool,
}

/// The outcome of a fetch and how many requests it sent upstream.
#[derive(Debug)]
pub struct Spent<T> {
    /// The fetch's outcome.
    pub result: Result<T, UpstreamError>,
    /// The number of HTTP requests sent for it (0 when nothing was sent; more than 1 with retries).
    pub requests: u32,
}

/// One thing to fetch and the rules for it.
struct Target<'a> {
    http: &'a reqwest::Client,
    url: &'a Url,
    /// `url` redacted, for logs and errors.
    shown: String,
    limit: u64,
    timeout: Duration,
    validator: Option<&'a Validator>,
    /// Obeys and sets the shared pause (index files and `config.json`).
    pausable: bool,
}

/// A successful attempt, before it is shaped into [`IndexFetch`] or [`CrateFetch`].
enum Answer {
    Body { bytes: Vec<u8>, etag: Option<String>, last_modified: Option<String> },
    NotModified,
    NotFound { status: u16 },
}

/// A failed attempt, with the wait upstream asked for, if it did.
struct Failure {
    error: UpstreamError,
    retry_after: Option<Duration>,
    /// Whether a request was sent (false: the pause began while this attempt waited for a permit).
    sent: bool,
}

impl From<UpstreamError> for Failure {
    fn from(error: UpstreamError) -> Self {
        Failure { error, retry_after: None, sent: true }
    }
}

impl UpstreamClient {
    /// Builds the client. Reads the OS certificate store (or `SSL_CERT_FILE`/`SSL_CERT_DIR`),
    /// `extra_ca_file` and, unless a proxy is configured, the proxy environment variables: now,
    /// not per request.
    pub fn new(mut config: UpstreamConfig) -> Result<Self, UpstreamError> {
        let invalid = |reason: String| UpstreamError::Config { reason };
        if !matches!(config.index_url.scheme(), "http" | "https") {
            return Err(invalid(format!("index_url {} is not http(s)", redact(&config.index_url))));
        }
        if !config.index_url.path().ends_with('/') {
            let path = format!("{}/", config.index_url.path());
            config.index_url.set_path(&path);
        }
        if config.max_concurrency == 0 || config.max_concurrency > Semaphore::MAX_PERMITS {
            return Err(invalid(format!("max_concurrency must be 1 to {}", Semaphore::MAX_PERMITS)));
        }
        let http = build(&config, redirect_policy(None), None)?;
        let resolver = GuardedResolver::new(&config.download_hosts, proxy_hosts(&config.proxy));
        let downloads = build(&config, redirect_policy(Some(config.download_hosts.clone())), Some(resolver))?;
        let permits = Semaphore::new(config.max_concurrency);
        Ok(UpstreamClient {
            inner: Arc::new(Inner { http, downloads, config, permits, paused_until: Mutex::new(None) }),
        })
    }

    /// The configuration in use (`index_url` ends with `/`).
    pub fn config(&self) -> &UpstreamConfig {
        &self.inner.config
    }

    /// The index file of `name`, conditional on `previous` if given; waits out upstream's pause.
    pub async fn fetch_index_file(
        &self,
        name: &CrateName,
        previous: Option<&Validator>,
    ) -> Result<IndexFetch, UpstreamError> {
        self.fetch_index_file_within(name, previous, self.full_allowance()).await.result
    }

    /// The index file of `name` within `allowance`, and the requests it cost.
    pub async fn fetch_index_file_within(
        &self,
        name: &CrateName,
        previous: Option<&Validator>,
        allowance: Allowance,
    ) -> Spent<IndexFetch> {
        match self.index_url(&name.index_path()) {
            Ok(url) => self.fetch_index_url(&url, previous, allowance).await,
            Err(e) => Spent { result: Err(e), requests: 0 },
        }
    }

    /// The registry's `config.json`, conditional on `previous` if given; waits out upstream's pause.
    pub async fn fetch_config_json(&self, previous: Option<&Validator>) -> Result<IndexFetch, UpstreamError> {
        let url = self.index_url("config.json")?;
        self.fetch_index_url(&url, previous, self.full_allowance()).await.result
    }

    /// Every attempt the configuration allows, waiting out pauses.
    fn full_allowance(&self) -> Allowance {
        Allowance { requests: self.inner.config.retries.saturating_add(1), fail_when_paused: false }
    }

    /// How long upstream's pause still lasts (`None`: no pause).
    pub fn paused_for(&self) -> Option<Duration> {
        let until = (*self.inner.paused_until.lock().unwrap_or_else(PoisonError::into_inner))?;
        until.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())
    }

    /// Extends the pause to at least `wait` from now.
    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.inner.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// A `.crate` file, from the URL `config.json`'s `dl` template gives
    /// (`tufmirror_index::RegistryConfig::download_url`). Limited by `max_crate_bytes` and
    /// `crate_timeout`.
    /// The URL must pass `download_hosts` (checked here, on every redirect and on every address
    /// connected to): otherwise [`UpstreamError::DownloadRefused`].
    pub async fn fetch_crate(&self, url: &Url) -> Result<CrateFetch, UpstreamError> {
        let config = &self.inner.config;
        config
            .download_hosts
            .check(url)
            .map_err(|refused| UpstreamError::DownloadRefused { url: redact(url), reason: refused.0 })?;
        let target = Target {
            http: &self.inner.downloads,
            url,
            shown: redact(url),
            limit: config.max_crate_bytes,
            timeout: config.crate_timeout,
            validator: None,
            pausable: false,
        };
        let allowance = Allowance { requests: config.retries.saturating_add(1), fail_when_paused: false };
        match self.fetch(target, "crate", allowance).await.result? {
            Answer::Body { bytes, .. } => Ok(CrateFetch::Fetched { bytes }),
            Answer::NotFound { status } => Ok(CrateFetch::NotFound { status }),
            // Only possible after sending a validator, and none was sent.
            Answer::NotModified => Err(UpstreamError::Status { url: redact(url), status: 304 }),
        }
    }

    fn index_url(&self, path: &str) -> Result<Url, UpstreamError> {
        let base = &self.inner.config.index_url;
        base.join(path).map_err(|e| UpstreamError::Config { reason: format!("{path} under {}: {e}", redact(base)) })
    }

    async fn fetch_index_url(
        &self,
        url: &Url,
        previous: Option<&Validator>,
        allowance: Allowance,
    ) -> Spent<IndexFetch> {
        let config = &self.inner.config;
        let target = Target {
            http: &self.inner.http,
            url,
            shown: redact(url),
            limit: config.max_index_file_bytes,
            timeout: config.timeout,
            validator: previous,
            pausable: true,
        };
        let Spent { result, requests } = self.fetch(target, "index", allowance).await;
        let result = result.map(|answer| match answer {
            Answer::Body { bytes, etag, last_modified } => IndexFetch::Fetched { bytes, etag, last_modified },
            Answer::NotModified => IndexFetch::NotModified,
            Answer::NotFound { status } => IndexFetch::NotFound { status },
        });
        Spent { result, requests }
    }

    /// Attempts until success, a permanent failure, or the allowance is spent. A pausable target
    /// waits out (or, per the allowance, fails on) upstream's pause before each attempt; a 429, or
    /// a failure with `Retry-After`, starts a pause for every pausable fetch.
    async fn fetch(&self, target: Target<'_>, kind: &'static str, allowance: Allowance) -> Spent<Answer> {
        let span = tracing::info_span!("upstream_fetch", url = %target.shown, kind);
        async {
            let config = &self.inner.config;
            let attempts = config.retries.saturating_add(1).min(allowance.requests).max(1);
            let mut sent = 0;
            let done = |result, sent| Spent { result, requests: sent };
            loop {
                if target.pausable
                    && let Some(left) = self.paused_for()
                {
                    if allowance.fail_when_paused {
                        return done(Err(UpstreamError::Paused { url: target.shown.clone(), left }), sent);
                    }
                    tracing::debug!(wait_ms = left.as_millis() as u64, "upstream asked for a pause; waiting");
                    tokio::time::sleep(left).await;
                    continue;
                }
                let failure = match self.attempt(&target, sent + 1).await {
                    Ok(answer) => return done(Ok(answer), sent + 1),
                    Err(failure) => failure,
                };
                if !failure.sent {
                    continue;
                }
                sent += 1;
                let rate_limited = matches!(failure.error, UpstreamError::Status { status: 429, .. });
                let pause = match failure.retry_after {
                    Some(asked) => Some(asked.min(config.retry_after_max)),
                    None if rate_limited => Some(backoff(sent, config.backoff_initial, config.backoff_max)),
                    None => None,
                };
                if target.pausable && let Some(wait) = pause {
                    tracing::warn!(wait_ms = wait.as_millis() as u64, error = %failure.error, "upstream asked for a pause");
                    self.pause(wait);
                }
                if !failure.error.is_transient() {
                    return done(Err(failure.error), sent);
                }
                if sent >= attempts {
                    if sent == 1 {
                        return done(Err(failure.error), sent);
                    }
                    let last = Box::new(failure.error);
                    let error = UpstreamError::RetriesExhausted { url: target.shown.clone(), attempts: sent, last };
                    return done(Err(error), sent);
                }
                if target.pausable && pause.is_some() {
                    // The top of the loop waits for (or gives up on) the pause just set.
                    continue;
                }
                let delay = pause.unwrap_or_else(|| backoff(sent, config.backoff_initial, config.backoff_max));
                tracing::warn!(attempt = sent, delay_ms = delay.as_millis() as u64, error = %failure.error, "retrying");
                tokio::time::sleep(delay).await;
            }
        }
        .instrument(span)
        .await
    }

    /// One request, holding a concurrency permit until its body is read (not while waiting to
    /// retry, so that backing off does not starve other fetches).
    async fn attempt(&self, target: &Target<'_>, attempt: u32) -> Result<Answer, Failure> {
        // The semaphore is never closed, so acquiring only waits; the permit lives in the Result.
        let _permit = self.inner.permits.acquire().await;
        // A pause may have begun while this attempt waited for its permit.
        if target.pausable
            && let Some(left) = self.paused_for()
        {
            let error = UpstreamError::Paused { url: target.shown.clone(), left };
            return Err(Failure { error, retry_after: None, sent: false });
        }
        let mut request = target.http.get(target.url.clone()).timeout(target.timeout);
        request = match target.validator {
            Some(Validator::ETag(etag)) => request.header(IF_NONE_MATCH, etag),
            Some(Validator::LastModified(date)) => request.header(IF_MODIFIED_SINCE, date),
            None => request,
        };
        let response = request.send().await.map_err(|e| UpstreamError::from_reqwest(&target.shown, e))?;
        let status = response.status();
        tracing::debug!(attempt, status = status.as_u16(), version = ?response.version(), "response");
        match status {
            StatusCode::OK => {
                let etag = header_text(response.headers(), ETAG);
                let last_modified = header_text(response.headers(), LAST_MODIFIED);
                let bytes = read_limited(response, &target.shown, target.limit).await?;
                tracing::debug!(attempt, status = 200, bytes = bytes.len(), "fetched");
                Ok(Answer::Body { bytes, etag, last_modified })
            }
            StatusCode::NOT_MODIFIED if target.validator.is_some() => Ok(Answer::NotModified),
            StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS => {
                tracing::debug!(attempt, status = status.as_u16(), "not found upstream");
                Ok(Answer::NotFound { status: status.as_u16() })
            }
            _ => {
                let retry_after = header_text(response.headers(), RETRY_AFTER)
                    .and_then(|value| parse_retry_after(&value, SystemTime::now()));
                let error = UpstreamError::Status { url: target.shown.clone(), status: status.as_u16() };
                Err(Failure { error, retry_after, sent: true })
            }
        }
    }
}

impl fmt::Debug for UpstreamClient {
    /// The (redacted) configuration only: reqwest's own Debug output lists proxies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// One reqwest client for `config`: the trust store, the proxy, `redirects`, and `resolver` (the
/// system's when `None`).
fn build(
    config: &UpstreamConfig,
    redirects: reqwest::redirect::Policy,
    resolver: Option<GuardedResolver>,
) -> Result<reqwest::Client, UpstreamError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(true)
        .connect_timeout(config.connect_timeout)
        .redirect(redirects)
        .user_agent(config.user_agent.clone());
    if let Some(resolver) = resolver {
        builder = builder.dns_resolver(Arc::new(resolver));
    }
    if let Some(path) = &config.extra_ca_file {
        for cert in load_ca_file(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder = match &config.proxy {
        ProxySetting::Environment => builder,
        ProxySetting::Url(url) => {
            let proxy = reqwest::Proxy::all(url.clone())
                .map_err(|source| UpstreamError::BadProxy { proxy: redact(url), source })?;
            builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_env()))
        }
        ProxySetting::Direct => builder.no_proxy(),
    };
    builder.build().map_err(|source| UpstreamError::Client { source })
}

/// The hosts of the proxies in use: the operator chose them, so they may be internal addresses.
fn proxy_hosts(setting: &ProxySetting) -> Vec<String> {
    let host = |raw: &str| {
        Url::parse(raw)
            .ok()
            .filter(|u| u.host_str().is_some())
            .or_else(|| Url::parse(&format!("http://{raw}")).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
    };
    match setting {
        ProxySetting::Url(url) => url.host_str().map(str::to_owned).into_iter().collect(),
        ProxySetting::Environment => {
            ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
                .iter()
                .filter_map(|var| std::env::var(var).ok())
                .filter_map(|raw| host(&raw))
                .collect()
        }
        ProxySetting::Direct => Vec::new(),
    }
}

/// Redirects are followed (up to 10), but never from https to http: until the mirror has signed
/// them, index files are only as trustworthy as the TLS connection they came over. For downloads
/// (`hosts` given), every hop must also be a download host.
fn redirect_policy(hosts: Option<DownloadHosts>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.url().scheme() == "http" && attempt.previous().iter().any(|url| url.scheme() == "https") {
            attempt.error("refusing a redirect from https to http")
        } else if let Some(refused) = hosts.as_ref().and_then(|h| h.check(attempt.url()).err()) {
            attempt.error(refused)
        } else if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

fn header_text(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Every certificate in the PEM file at `path`, each checked as a trust anchor now, so that a bad
/// file is reported as such rather than as a failure to build the client.
fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, UpstreamError> {
    let bad = |source: io::Error| UpstreamError::BadCaBundle { path: path.to_owned(), source };
    let invalid = |e: &dyn fmt::Display| bad(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
    let pem = std::fs::read(path).map_err(bad)?;
    let mut certs = Vec::new();
    for (n, der) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let unusable = |e: &dyn fmt::Display| invalid(&format!("certificate {} cannot be a trust anchor ({e})", n + 1));
        let der = der.map_err(|e| invalid(&e))?;
        rustls::RootCertStore::empty().add(der.clone()).map_err(|e| unusable(&e))?;
        certs.push(reqwest::Certificate::from_der(&der).map_err(|e| unusable(&e))?);
    }
    if certs.is_empty() {
        return Err(invalid(&"no PEM certificate (-----BEGIN CERTIFICATE-----) in the file"));
    }
    Ok(certs)
}
