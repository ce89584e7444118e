//! Why a fetch failed, sorted by what the caller can do about it: transient failures are retried
//! (and, when every retry failed too, end as [`UpstreamError::RetriesExhausted`]); everything else
//! is returned at once.
//!
//! A file that upstream does not have is not an error: it is [`crate::IndexFetch::NotFound`].
//! URLs in errors have their userinfo redacted, and reqwest's own errors (the sources) are stored
//! without their URL, so credentials never show and the URL is not repeated by every cause.

use std::path::PathBuf;

/// Why the client could not be built or a file could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    #[error("invalid upstream client configuration: {reason}")]
    Config { reason: String },
    #[error("the CA bundle {path} is not usable")]
    BadCaBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the proxy {proxy} is not usable")]
    BadProxy {
        /// Redacted: credentials in the proxy URL are replaced by `***`.
        proxy: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "TLS with {url} failed (trusted: the operating system's store or SSL_CERT_FILE, plus extra_ca_file if set)"
    )]
    Tls {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} timed out")]
    Timeout {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the request for {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A `.crate` URL (or a redirect, or the addresses of its host) that the download policy
    /// refuses (`crate::DownloadHosts`). Not retried.
    #[error("refusing to download {url}: {reason}")]
    DownloadRefused { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is larger than the limit of {limit} bytes{}", declared_note(.declared))]
    TooLarge { url: String, limit: u64, declared: Option<u64> },
    #[error("{url} ended after {received} bytes{}", expected_note(.expected))]
    Truncated {
        url: String,
        received: u64,
        /// The Content-Length, when upstream sent one.
        expected: Option<u64>,
        #[source]
        source: Option<reqwest::Error>,
    },
    /// Nothing was sent: upstream asked for a pause (429, or `Retry-After`) that lasts `left` more,
    /// and the caller chose not to wait ([`crate::Allowance::fail_when_paused`]).
    #[error("{url} not requested: upstream asked for a pause, {}s left", .left.as_secs_f64().ceil())]
    Paused { url: String, left: std::time::Duration },
    /// Only after at least one retry: with `retries = 0` the first failure is returned as is.
    #[error("{url}: gave up after {attempts} attempts")]
    RetriesExhausted {
        url: String,
        attempts: u32,
        #[source]
        last: Box<UpstreamError>,
    },
}

fn declared_note(declared: &Option<u64>) -> String {
    declared.map(|n| format!(" (Content-Length: {n})")).unwrap_or_default()
}

fn expected_note(expected: &Option<u64>) -> String {
    expected.map(|n| format!(" of {n}")).unwrap_or_default()
}

impl UpstreamError {
    /// Whether trying again later may succeed: connection failures, timeouts, truncated bodies,
    /// 5xx, 429 and upstream's pause. A TLS failure, an oversized file or any other 4xx will not change by retrying.
    pub fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Connect { .. }
            | UpstreamError::Timeout { .. }
            | UpstreamError::Truncated { .. }
            | UpstreamError::Paused { .. } => true,
            UpstreamError::Request { source, .. } => !source.is_builder() && !source.is_redirect(),
            UpstreamError::Status { status, .. } => *status == 429 || (500..600).contains(status),
            _ => false,
        }
    }

    /// The failure of the last attempt: the error inside [`UpstreamError::RetriesExhausted`], or
    /// this error itself.
    pub fn last_attempt(&self) -> &UpstreamError {
        match self {
            UpstreamError::RetriesExhausted { last, .. } => last,
            other => other,
        }
    }

    /// How much longer upstream's pause lasts, if this fetch gave up because of it.
    pub fn paused_for(&self) -> Option<std::time::Duration> {
        match self.last_attempt() {
            UpstreamError::Paused { left, .. } => Some(*left),
            _ => None,
        }
    }

    /// Sorts a reqwest error from sending a request or reading its body.
    pub(crate) fn from_reqwest(url: &str, source: reqwest::Error) -> Self {
        let url = url.to_owned();
        let source = source.without_url();
        if let Some(refused) = refusal(&source) {
            UpstreamError::DownloadRefused { url, reason: refused.0.clone() }
        } else if source.is_timeout() {
            UpstreamError::Timeout { url, source }
        } else if is_tls(&source) {
            UpstreamError::Tls { url, source }
        } else if source.is_connect() {
            UpstreamError::Connect { url, source }
        } else {
            UpstreamError::Request { url, source }
        }
    }
}

/// The download policy's refusal, if that is somewhere in the chain (from the resolver or the
/// redirect policy of the download client).
fn refusal(error: &reqwest::Error) -> Option<&crate::hosts::Refused> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(refused) = e.downcast_ref::<crate::hosts::Refused>() {
            return Some(refused);
        }
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// Whether a rustls error is somewhere in the chain. It arrives wrapped in `io::Error`s (two, from
/// hyper-rustls), whose `source()` skips the error they wrap, so those are opened by hand.
fn is_tls(error: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}
