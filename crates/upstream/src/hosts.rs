//! Where `.crate` files may be fetched from.
//!
//! The download URL comes from upstream's `config.json` (`dl`), so a hostile or compromised
//! upstream chooses it: without a limit it could make the mirror fetch any URL its network
//! reaches (a cloud metadata endpoint, an admin interface on loopback) and serve or describe the
//! answer. [`DownloadHosts`] is the limit: `http`/`https` only, hosts from a list, and never a
//! loopback, link-local or private address unless the operator listed the host. Each redirect is
//! checked again, and a host name's addresses are checked when the connection is made (by the
//! resolver of the download client, [`GuardedResolver`]), so a name that resolves to 127.0.0.1,
//! or is re-pointed there after a first check, gets no connection.
//!
//! Through a proxy, the proxy resolves the names: the addresses are then the proxy's business.

use reqwest::Url;
use std::net::{IpAddr, SocketAddr};

/// The hosts `.crate` downloads may reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadHosts {
    /// Lowercase host names and IP literals (without brackets).
    hosts: Vec<String>,
    /// The hosts allowed to be (or resolve to) loopback, link-local or private addresses.
    internal: Vec<String>,
}

/// A download the policy refuses; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// An entry of `upstream.download_hosts` that is not a host name or IP address: the entry as
/// written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a host name or IP address (no scheme, port or path)")]
pub struct InvalidHost(pub String);

/// A host as compared: lowercase, no brackets around IPv6, no final dot.
fn normalize(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

impl DownloadHosts {
    /// Exactly `hosts`, as an operator lists them (`upstream.download_hosts`): host names or IP
    /// addresses, without scheme or port. Listed hosts may be internal addresses.
    pub fn listed(hosts: &[String]) -> Result<DownloadHosts, InvalidHost> {
        let mut out = Vec::new();
        for host in hosts {
            let name = normalize(host);
            let valid = name.parse::<IpAddr>().is_ok()
                || !name.is_empty()
                    && name.split('.').all(|label| {
                        !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
            if !valid {
                return Err(InvalidHost(host.clone()));
            }
            out.push(name);
        }
        Ok(DownloadHosts { internal: out.clone(), hosts: out })
    }

    /// The default for the index at `index_url`: its host, and `static.crates.io` when the index
    /// is `index.crates.io` (crates.io's `dl`). Public addresses only.
    pub fn default_for(index_url: &Url) -> DownloadHosts {
        let mut hosts: Vec<String> = index_url.host_str().map(normalize).into_iter().collect();
        if hosts.iter().any(|h| h == "index.crates.io") {
            hosts.push("static.crates.io".to_owned());
        }
        DownloadHosts { hosts, internal: Vec::new() }
    }

    /// The hosts allowed.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether `host` may be (or resolve to) an internal address.
    pub fn may_be_internal(&self, host: &str) -> bool {
        self.internal.contains(&normalize(host))
    }

    /// Checks what can be checked without DNS: the scheme, the host, and an IP-literal host's
    /// address.
    pub fn check(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!("downloads are http(s) only, not {}:", url.scheme())));
        }
        let Some(host) = url.host_str().map(normalize) else {
            return Err(Refused("a download URL without a host".to_owned()));
        };
        if !self.hosts.contains(&host) {
            return Err(Refused(format!(
                "{host} is not a download host (upstream.download_hosts allows {})",
                self.hosts.join(", ")
            )));
        }
        if let Ok(ip) = host.parse::<IpAddr>()
            && !is_public(ip)
            && !self.may_be_internal(&host)
        {
            return Err(Refused(internal_message(&host)));
        }
        Ok(())
    }
}

fn internal_message(host: &str) -> String {
    format!(
        "{host} is a loopback, link-local or private address; downloads go there only if \
         upstream.download_hosts lists it"
    )
}

/// Whether `ip` is an address on the public internet, as far as a download is concerned: not
/// loopback, unspecified, private (RFC 1918, unique local), shared (100.64/10), link-local
/// (cloud metadata lives at 169.254.169.254), multicast or broadcast.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0)
        }
    }
}

/// The download client's resolver: internal addresses only for hosts allowed to have them (the
/// listed download hosts, and the proxies, which the operator chose).
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) internal: Vec<String>,
}

impl GuardedResolver {
    pub(crate) fn new(hosts: &DownloadHosts, proxies: impl IntoIterator<Item = String>) -> Self {
        let mut internal = hosts.internal.clone();
        internal.extend(proxies.into_iter().map(|h| normalize(&h)));
        GuardedResolver { internal }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = normalize(name.as_str());
        let internal_ok = self.internal.contains(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|addr| internal_ok || is_public(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused(internal_message(&host))) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn the_default_is_the_index_host_and_crates_io_static() {
        let crates_io = DownloadHosts::default_for(&url("https://index.crates.io/"));
        assert_eq!(crates_io.hosts(), ["index.crates.io", "static.crates.io"]);
        crates_io.check(&url("https://static.crates.io/crates/serde/serde-1.0.0.crate")).expect("static");
        crates_io.check(&url("https://STATIC.crates.io./crates/x")).expect("case and final dot");
        for (bad, why) in [
            ("https://evil.example/x", "not a download host"),
            ("file:///etc/passwd", "http(s) only"),
            ("ftp://static.crates.io/x", "http(s) only"),
            ("http://169.254.169.254/latest/meta-data/", "not a download host"),
        ] {
            let e = crates_io.check(&url(bad)).expect_err(bad);
            assert!(e.0.contains(why), "{bad}: {e}");
        }
        // The index's own host is allowed, but not as an internal address unless listed.
        let local = DownloadHosts::default_for(&url("http://127.0.0.1:8000/"));
        let e = local.check(&url("http://127.0.0.1:8000/crates/x")).expect_err("loopback");
        assert!(e.0.contains("loopback, link-local or private"), "{e}");
    }

    #[test]
    fn listed_hosts_may_be_internal() {
        let listed =
            DownloadHosts::listed(&["127.0.0.1".into(), "[::1]".into(), "Mirror.Internal".into()]).expect("valid");
        listed.check(&url("http://127.0.0.1:9/crates/x")).expect("listed loopback");
        listed.check(&url("http://[::1]:9/crates/x")).expect("listed v6 loopback");
        assert!(listed.may_be_internal("mirror.internal"));
        let e = listed.check(&url("http://127.0.0.2/x")).expect_err("not listed");
        assert!(e.0.contains("not a download host"), "{e}");
        for bad in ["https://static.crates.io", "host:80", "a/b", ""] {
            assert_eq!(DownloadHosts::listed(&[bad.to_owned()]), Err(InvalidHost(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["151.101.1.137", "8.8.8.8", "2a04:4e42::137"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
