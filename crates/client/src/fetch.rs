//! Getting bytes from a URL with a size limit: the [`Fetcher`] trait, and [`HttpFetcher`] over
//! reqwest (rustls with the operating system's roots).
//!
//! The trait is small so that tests (and other transports) can stand in for HTTP. The limit is
//! part of the call because TUF clients must never read more than a file's known or maximum
//! length: an attacker who controls the network can otherwise fill the disk or memory with an
//! endless response (specification 5.2, "endless data attack").

use async_trait::async_trait;
use std::fmt;
use std::time::Duration;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// 404, or 403 (what S3-style stores answer for a missing key): the file does not exist.
    /// The root update loop stops at this; everywhere else it is a failure.
    #[error("not found (HTTP {status})")]
    NotFound {
        /// 404 or 403.
        status: u16,
    },
    /// A status that is neither a success (2xx) nor 404/403.
    #[error("HTTP status {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The body (or its announced length) exceeds the limit; nothing beyond it was read.
    #[error("longer than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Connecting, or waiting for the next read, took longer than [`HttpConfig`] allows.
    #[error("timed out")]
    Timeout,
    /// Connection, TLS, protocol or transport-specific failures.
    #[error("transfer failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Fetches whole files of at most `max_length` bytes.
#[async_trait]
pub trait Fetcher: fmt::Debug + Send + Sync {
    /// GETs `url`. Must fail with [`FetchError::TooLarge`] as soon as more than `max_length`
    /// bytes arrive, without reading further.
    async fn fetch(&self, url: &str, max_length: u64) -> Result<Vec<u8>, FetchError>;
}

/// The response header in which a tufmirror server sends an index file's Merkle proof
/// (docs/POUF.md 2.2); defined in [`tufmirror_core::wire`].
pub use tufmirror_core::wire::PROOF_HEADER;

/// One answer to a GET of an index file: what a TAP-16 client needs from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `ETag` header, as sent; `None`: there was none.
    pub etag: Option<String>,
    /// The `TUF-Merkle-Proof` header, as sent.
    pub proof: Option<String>,
    /// The body (empty for a 304).
    pub body: Vec<u8>,
}

/// A GET that returns the status and the headers a TAP-16 client checks, for index files (a
/// 304 or a 404 carries a proof too, so these answers are not errors here). A supertrait of
/// [`Fetcher`] so that one value serves both the TUF metadata and the index.
#[async_trait]
pub trait IndexFetcher: Fetcher {
    /// GETs `url`, sending `If-None-Match` when given. Reads at most `max_length` bytes of any
    /// body ([`FetchError::TooLarge`] beyond); transport failures are errors, statuses are not.
    async fn get_index(
        &self,
        url: &str,
        if_none_match: Option<&str>,
        max_length: u64,
    ) -> Result<HttpAnswer, FetchError>;
}

/// Settings of [`HttpFetcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time allowed to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response: a server that stalls is dropped. (A server
    /// that drips bytes slowly is bounded by the size limit of each file instead.)
    pub read_timeout: Duration,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            user_agent: concat!("tufmirror-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// [`Fetcher`] over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A fetcher with `config`'s timeouts and user agent; fails only if the HTTP client cannot be
    /// built (TLS back end).
    pub fn new(config: &HttpConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| FetchError::Other(Box::new(e)))?;
        Ok(HttpFetcher { client })
    }
}

fn transfer_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() { FetchError::Timeout } else { FetchError::Other(Box::new(e)) }
}

#[async_trait]
impl Fetcher for HttpFetcher {
    async fn fetch(&self, url: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        let response = self.client.get(url).send().await.map_err(transfer_error)?;
        let status = response.status().as_u16();
        if status == 404 || status == 403 {
            return Err(FetchError::NotFound { status });
        }
        if !response.status().is_success() {
            return Err(FetchError::Status { status });
        }
        read_limited(response, max_length).await
    }
}

/// The body of `response`, refused as soon as it exceeds `max_length` (announced or streamed).
async fn read_limited(mut response: reqwest::Response, max_length: u64) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > max_length) {
        return Err(FetchError::TooLarge { limit: max_length });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transfer_error)? {
        if body.len() as u64 + chunk.len() as u64 > max_length {
            return Err(FetchError::TooLarge { limit: max_length });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[async_trait]
impl IndexFetcher for HttpFetcher {
    async fn get_index(
        &self,
        url: &str,
        if_none_match: Option<&str>,
        max_length: u64,
    ) -> Result<HttpAnswer, FetchError> {
        let mut request = self.client.get(url);
        if let Some(etag) = if_none_match {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(transfer_error)?;
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (etag, proof) = (header(reqwest::header::ETAG.as_str()), header(PROOF_HEADER));
        let status = response.status().as_u16();
        let body = read_limited(response, max_length).await?;
        Ok(HttpAnswer { status, etag, proof, body })
    }
}
