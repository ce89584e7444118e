//! What the client needs to know: where upstream is, how to reach it, how patient to be and how
//! much to accept. Debug output redacts credentials, so a config can be logged as a whole.

use crate::hosts::DownloadHosts;
use reqwest::Url;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How requests reach upstream.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProxySetting {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lowercase forms), read
    /// when the client is built.
    #[default]
    Environment,
    /// This proxy for every request except to hosts listed in `NO_PROXY`. The URL may carry
    /// credentials (`http://user:pass@proxy:3128`): they are sent as `Proxy-Authorization` and
    /// never shown.
    Url(Url),
    /// No proxy, whatever the environment says.
    Direct,
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::Environment => f.write_str("Environment"),
            ProxySetting::Url(url) => f.debug_tuple("Url").field(&redact(url)).finish(),
            ProxySetting::Direct => f.write_str("Direct"),
        }
    }
}

/// Everything [`crate::UpstreamClient::new`] needs. Start from [`UpstreamConfig::new`] (or
/// `default()`, which is crates.io) and change fields.
///
/// Certificates: the operating system's store is always trusted (through `rustls-native-certs`,
/// which reads `SSL_CERT_FILE` and `SSL_CERT_DIR` instead when either is set), plus the
/// certificates in `extra_ca_file`, for a TLS-intercepting proxy whose CA is not in that store.
#[derive(Clone)]
#[non_exhaustive]
pub struct UpstreamConfig {
    /// The sparse index, without cargo's `sparse+` prefix. A missing final `/` is added.
    pub index_url: Url,
    /// The HTTP(S) proxy to use: from the environment, none, or a given URL.
    pub proxy: ProxySetting,
    /// A PEM file with one or more CA certificates trusted besides the system's.
    pub extra_ca_file: Option<PathBuf>,
    /// Requests in flight at once, across all fetches of this client (and its clones).
    pub max_concurrency: usize,
    /// The longest wait for a TCP (and TLS) connection to be established.
    pub connect_timeout: Duration,
    /// Per attempt, from sending the request to the last byte of an index file or `config.json`.
    pub timeout: Duration,
    /// Per attempt for `.crate` files, which can be much larger than index files.
    pub crate_timeout: Duration,
    /// Retries after the first attempt, for transient failures only.
    pub retries: u32,
    /// The first backoff; it doubles per retry up to `backoff_max`, and each wait is drawn from
    /// the upper half of that (jitter, so that many clients do not retry in step).
    pub backoff_initial: Duration,
    /// The longest backoff between two attempts.
    pub backoff_max: Duration,
    /// The longest `Retry-After` obeyed; longer requests are shortened to this.
    pub retry_after_max: Duration,
    /// Index files and `config.json` larger than this are refused.
    pub max_index_file_bytes: u64,
    /// `.crate` files larger than this are refused.
    pub max_crate_bytes: u64,
    /// The `User-Agent` header of every request (crates.io asks for contact details in it).
    pub user_agent: String,
    /// Where `.crate` files may be fetched from (see [`DownloadHosts`]); by default the index's
    /// host, plus `static.crates.io` for `index.crates.io`.
    pub download_hosts: DownloadHosts,
}

impl UpstreamConfig {
    /// Defaults for the index at `index_url`.
    pub fn new(index_url: Url) -> Self {
        UpstreamConfig {
            proxy: ProxySetting::Environment,
            extra_ca_file: None,
            max_concurrency: 32,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            crate_timeout: Duration::from_secs(300),
            retries: 4,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            retry_after_max: Duration::from_secs(60),
            max_index_file_bytes: 32 << 20,
            max_crate_bytes: 64 << 20,
            user_agent: concat!("tufmirror/", env!("CARGO_PKG_VERSION")).to_owned(),
            download_hosts: DownloadHosts::default_for(&index_url),
            index_url,
        }
    }
}

impl Default for UpstreamConfig {
    /// crates.io's sparse index.
    fn default() -> Self {
        UpstreamConfig::new(Url::parse("https://index.crates.io/").expect("a valid constant URL"))
    }
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("index_url", &redact(&self.index_url))
            .field("proxy", &self.proxy)
            .field("extra_ca_file", &self.extra_ca_file)
            .field("max_concurrency", &self.max_concurrency)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("crate_timeout", &self.crate_timeout)
            .field("retries", &self.retries)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .field("retry_after_max", &self.retry_after_max)
            .field("max_index_file_bytes", &self.max_index_file_bytes)
            .field("max_crate_bytes", &self.max_crate_bytes)
            .field("user_agent", &self.user_agent)
            .field("download_hosts", &self.download_hosts)
            .finish()
    }
}

/// `url` as it may appear in logs and errors: any user name and password replaced by `***`.
pub fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Both only fail for URLs without a host, which cannot carry userinfo in the first place.
    let _ = shown.set_password(None);
    let _ = shown.set_username("***");
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        let url = Url::parse("http://alice:s3cret@proxy.example:3128/").expect("valid");
        assert_eq!(redact(&url), "http://***@proxy.example:3128/");
        let config = UpstreamConfig { proxy: ProxySetting::Url(url), ..UpstreamConfig::default() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("alice"), "{shown}");
        assert!(shown.contains("proxy.example:3128"), "{shown}");
        let plain = Url::parse("https://index.crates.io/").expect("valid");
        assert_eq!(redact(&plain), "https://index.crates.io/");
    }
}
