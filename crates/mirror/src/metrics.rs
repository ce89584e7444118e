//! Prometheus metrics, every name prefixed `tufmirror_`. Counters are bumped where things
//! happen; gauges that depend on the clock are computed when `/metrics` is scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of `tufmirror_http_requests`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's name (a fixed set, never the request path).
    pub route: &'static str,
    /// The HTTP status answered.
    pub status: u16,
}

/// The `result` label of counters by outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// The outcome (`fetched`, `cached`, `upstream_error`, ...).
    pub result: &'static str,
}

/// The `reason` label of `tufmirror_on_demand_shed`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Why the request was shed.
    pub reason: &'static str,
}

/// Every metric the daemon exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `tufmirror_http_requests`: HTTP requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Index file checks against upstream, by what they found.
    pub upstream_checks: Family<ResultLabels, Counter>,
    /// Failed upstream requests (after retries).
    pub upstream_errors: Counter,
    /// `.crate` downloads by how they were answered.
    pub crate_downloads: Family<ResultLabels, Counter>,
    /// Upstream files held back for an operator.
    pub quarantined_files: Gauge,
    /// Index files in the current snapshot.
    pub index_files: Gauge,
    /// Version of the current snapshot.
    pub snapshot_version: Gauge,
    /// Snapshots published by this process.
    pub snapshots_published: Counter,
    /// Seconds since the current snapshot was published.
    pub snapshot_age_seconds: Gauge,
    /// Seconds until the current timestamp expires.
    pub timestamp_expires_in_seconds: Gauge,
    /// The newest root: its version and the seconds until it expires (a root only a ceremony can
    /// renew: alert weeks ahead).
    pub root_version: Gauge,
    /// See `root_version`.
    pub root_expires_in_seconds: Gauge,
    /// Seconds since the last complete refresh of every mirrored file (-1 before the first).
    pub sync_lag_seconds: Gauge,
    /// Batches of on-demand checks started.
    pub on_demand_batches: Counter,
    /// Requests for crates the mirror lacks answered 503 without asking upstream, by why.
    pub on_demand_shed: Family<ReasonLabels, Counter>,
    /// On-demand checks dropped because every request waiting for them had gone.
    pub on_demand_abandoned: Counter,
}

impl Metrics {
    /// A registry exporting `self`; keep both.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("tufmirror");
        r.register("http_requests", "HTTP requests by route and status", self.requests.clone());
        r.register("upstream_checks", "Index file checks against upstream, by result", self.upstream_checks.clone());
        r.register("upstream_errors", "Upstream requests that failed after retries", self.upstream_errors.clone());
        r.register("crate_downloads", "Crate downloads by how they were answered", self.crate_downloads.clone());
        r.register("quarantined_files", "Upstream files held back for an operator", self.quarantined_files.clone());
        r.register("index_files", "Index files in the current snapshot", self.index_files.clone());
        r.register("snapshot_version", "Version of the current snapshot", self.snapshot_version.clone());
        r.register("snapshots_published", "Snapshots published by this process", self.snapshots_published.clone());
        r.register("snapshot_age_seconds", "Age of the current snapshot", self.snapshot_age_seconds.clone());
        r.register(
            "timestamp_expires_in_seconds",
            "Seconds until the current timestamp expires",
            self.timestamp_expires_in_seconds.clone(),
        );
        r.register("root_version", "Version of the newest root", self.root_version.clone());
        r.register(
            "root_expires_in_seconds",
            "Seconds until the newest root expires (renew it in a ceremony)",
            self.root_expires_in_seconds.clone(),
        );
        r.register("sync_lag_seconds", "Seconds since the last complete refresh", self.sync_lag_seconds.clone());
        r.register("on_demand_batches", "Batches of on-demand fetches", self.on_demand_batches.clone());
        r.register(
            "on_demand_shed",
            "Requests for crates the mirror lacks answered 503 without asking upstream, by reason",
            self.on_demand_shed.clone(),
        );
        r.register(
            "on_demand_abandoned",
            "On-demand checks dropped because every waiting request had gone",
            self.on_demand_abandoned.clone(),
        );
        r
    }

    /// Counts one index file check against upstream with its `result`.
    pub fn count_check(&self, result: &'static str) {
        self.upstream_checks.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts one request shed with 503, for `reason`.
    pub fn count_shed(&self, reason: &'static str) {
        self.on_demand_shed.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts one `.crate` download answered with `result`.
    pub fn count_download(&self, result: &'static str) {
        self.crate_downloads.get_or_create(&ResultLabels { result }).inc();
    }
}
