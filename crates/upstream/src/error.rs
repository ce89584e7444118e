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
    /// The configuration cannot work, or a URL cannot be formed from it.
    #[error("invalid upstream client configuration: {reason}")]
    Config {
        /// What is wrong, in words.
        reason: String,
    },
    /// `extra_ca_file` cannot be read or holds no PEM certificate.
    #[error("the CA bundle {path} is not usable")]
    BadCaBundle {
        /// The file named by `extra_ca_file`.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: std::io::Error,
    },
    /// The proxy setting does not parse as a proxy URL.
    #[error("the proxy {proxy} is not usable")]
    BadProxy {
        /// Redacted: credentials in the proxy URL are replaced by `***`.
        proxy: String,
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// reqwest cannot build a client with this configuration.
    #[error("cannot build the HTTP client")]
    Client {
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// No connection to upstream (DNS, refused, unreachable). Transient: retried.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL requested, userinfo redacted.
        url: String,
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed (an untrusted certificate, a name mismatch). Not retried.
    #[error(
        "TLS with {url} failed (trusted: the operating system's store or SSL_CERT_FILE, plus extra_ca_file if set)"
    )]
    Tls {
        /// The URL requested, userinfo redacted.
        url: String,
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// The attempt took longer than its timeout. Transient: retried.
    #[error("{url} timed out")]
    Timeout {
        /// The URL requested, userinfo redacted.
        url: String,
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// Another failure of the request: retried, unless reqwest reports a build or redirect error.
    #[error("the request for {url} failed")]
    Request {
        /// The URL requested, userinfo redacted.
        url: String,
        /// reqwest's reason.
        #[source]
        source: reqwest::Error,
    },
    /// A `.crate` URL (or a redirect, or the addresses of its host) that the download policy
    /// refuses (`crate::DownloadHosts`). Not retried.
    #[error("refusing to download {url}: {reason}")]
    DownloadRefused {
        /// The URL refused, userinfo redacted.
        url: String,
        /// Why the policy refuses it, in words.
        reason: String,
    },
    /// An HTTP status that is neither success nor not-found; 429 and 5xx are retried, others not.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested, userinfo redacted.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body is larger than the limit for its kind of file. Not retried.
    #[error("{url} is larger than the limit of {limit} bytes{}", declared_note(.declared))]
    TooLarge {
        /// The URL requested, userinfo redacted.
        url: String,
        /// The limit in bytes.
        limit: u64,
        /// The Content-Length, when upstream sent one.
        declared: Option<u64>,
    },
    /// The body ended before its Content-Length, or the connection broke while reading it. Transient: retried.
    #[error("{url} ended after {received} bytes{}", expected_note(.expected))]
    Truncated {
        /// The URL requested, userinfo redacted.
        url: String,
        /// The number of bytes received.
        received: u64,
        /// The Content-Length, when upstream sent one.
        expected: Option<u64>,
        /// reqwest's reason, when the read failed (`None` when the body simply ended short).
        #[source]
        source: Option<reqwest::Error>,
    },
    /// Nothing was sent: upstream asked for a pause (429, or `Retry-After`) that lasts `left` more,
    /// and the caller chose not to wait ([`crate::Allowance::fail_when_paused`]).
    #[error("{url} not requested: upstream asked for a pause, {}s left", .left.as_secs_f64().ceil())]
    Paused {
        /// The URL not requested, userinfo redacted.
        url: String,
        /// How long the pause still lasts.
        left: std::time::Duration,
    },
    /// Only after at least one retry: with `retries = 0` the first failure is returned as is.
    #[error("{url}: gave up after {attempts} attempts")]
    RetriesExhausted {
        /// The URL requested, userinfo redacted.
        url: String,
        /// The number of attempts made (the first and every retry).
        attempts: u32,
        /// The last attempt's failure.
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
