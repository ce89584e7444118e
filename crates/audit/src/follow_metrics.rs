//! Prometheus metrics of an auditor run as a service, every name prefixed `tufmirror_audit_`.
//! What to alert on: `open_findings > 0`, `runs_total{result="error"}` rising, and
//! `time() - tufmirror_audit_last_success_unixtime` or `lag_timestamps` growing.

use crate::AuditError;
use crate::report::Report;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The `result` label of `tufmirror_audit_runs`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok`, `findings`, `incomplete` or `error`.
    pub result: &'static str,
}

/// The `kind` label of `tufmirror_audit_findings`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The finding's kind in snake case (`version_removed`, ...).
    pub kind: &'static str,
}

/// Every metric the auditor exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Runs by outcome: `ok`, `findings`, `incomplete` (contents not served), `error`.
    pub runs: Family<ResultLabels, Counter>,
    /// Findings by kind (`version_removed`, `checksum_changed`, ...), as they are found.
    pub findings: Family<KindLabels, Counter>,
    /// Findings in the state not yet acknowledged: nothing is attested while any are open.
    pub open_findings: Gauge,
    /// The last snapshot version audited (0: none).
    pub audited_snapshot: Gauge,
    /// The last timestamp version audited (0: none).
    pub audited_timestamp: Gauge,
    /// The mirror's current timestamp version, and how far the audit is behind it.
    pub mirror_timestamp: Gauge,
    /// Timestamp versions the mirror signed that are not audited yet.
    pub lag_timestamps: Gauge,
    /// The snapshot version of the last attestation written (0: none).
    pub attested_snapshot: Gauge,
    /// Index files whose versions were checked, over all runs.
    pub files_checked: Counter,
    /// Index files whose bytes the mirror did not serve yet (still owed).
    pub files_owed: Gauge,
    /// Unix time of the last run that completed without error.
    pub last_success_unixtime: Gauge,
    /// Duration of the last run, in seconds.
    pub last_run_seconds: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// A registry exporting `self`; keep both.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("tufmirror_audit");
        r.register("runs", "Audit runs by result", self.runs.clone());
        r.register("findings", "Findings by kind, as found", self.findings.clone());
        r.register(
            "open_findings",
            "Findings not acknowledged: nothing is attested while any are open",
            self.open_findings.clone(),
        );
        r.register("audited_snapshot", "The last snapshot audited", self.audited_snapshot.clone());
        r.register("audited_timestamp", "The last timestamp version audited", self.audited_timestamp.clone());
        r.register("mirror_timestamp", "The mirror's current timestamp version", self.mirror_timestamp.clone());
        r.register(
            "lag_timestamps",
            "Timestamp versions signed by the mirror and not audited yet",
            self.lag_timestamps.clone(),
        );
        r.register("attested_snapshot", "The last snapshot attested", self.attested_snapshot.clone());
        r.register("files_checked", "Index files whose versions were checked", self.files_checked.clone());
        r.register("files_owed", "Index files whose bytes the mirror did not serve yet", self.files_owed.clone());
        r.register(
            "last_success_unixtime",
            "Unix time of the last run that completed without error",
            self.last_success_unixtime.clone(),
        );
        r.register("last_run_seconds", "Duration of the last run", self.last_run_seconds.clone());
        r
    }

    /// Starts the gauges from what the state says (a service that restarts reports where the
    /// audit stands before its first run ends).
    pub fn start_from(&self, progress: &crate::state_folder::Progress) {
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.audited_snapshot, progress.snapshot_version);
        gauge(&self.audited_timestamp, progress.timestamp_version);
        if let Some((snapshot, _)) = progress.attested {
            gauge(&self.attested_snapshot, snapshot);
        }
    }

    /// Records one run's outcome.
    pub fn observe(&self, outcome: &Result<Report, AuditError>, now_unix: i64) {
        let report = match outcome {
            Ok(report) => report,
            Err(_) => {
                self.runs.get_or_create(&ResultLabels { result: "error" }).inc();
                return;
            }
        };
        let result = match report.exit_code() {
            crate::report::EXIT_OK => "ok",
            crate::report::EXIT_FINDINGS => "findings",
            _ => "incomplete",
        };
        self.runs.get_or_create(&ResultLabels { result }).inc();
        for finding in &report.findings {
            self.findings.get_or_create(&KindLabels { kind: finding.kind() }).inc();
        }
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.open_findings, report.open_findings);
        gauge(&self.audited_snapshot, report.to.snapshot);
        gauge(&self.audited_timestamp, report.to.timestamp);
        gauge(&self.mirror_timestamp, report.mirror_at.timestamp);
        gauge(&self.lag_timestamps, report.mirror_at.timestamp.saturating_sub(report.to.timestamp));
        gauge(&self.files_owed, report.files_unavailable);
        if let Some(a) = &report.attested {
            gauge(&self.attested_snapshot, a.snapshot);
        }
        self.files_checked.inc_by(report.files_checked);
        self.last_success_unixtime.set(now_unix);
        self.last_run_seconds.set(report.seconds);
    }
}
