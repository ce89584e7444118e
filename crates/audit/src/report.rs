//! What one audit run says, for people (`Display`) and machines (`--json`, the serde form), and
//! the exit code a scheduler alerts on.

use serde::Serialize;
use std::fmt;
use tufmirror_core::audit_rules::Finding;

/// A position in the mirror's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The snapshot version (0: none).
    pub snapshot: u64,
    /// The timestamp version (0: none).
    pub timestamp: u64,
}

/// An attestation the run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attested {
    /// The snapshot version attested.
    pub snapshot: u64,
    /// The timestamp version that named it.
    pub timestamp: u64,
    /// The attestation file written (`OUT/N.json`).
    pub file: String,
}

/// The outcome of one run. See docs/audit.md, "Reports".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The mirror's base URL.
    pub mirror: String,
    /// Where the audit stood before this run, and where it stands now.
    pub from: Position,
    /// Where the audit stands after this run.
    pub to: Position,
    /// The mirror's current timestamp version and the snapshot it names.
    pub mirror_at: Position,
    /// Snapshots whose trees were recomputed and checked in this run.
    pub snapshots_checked: u64,
    /// Timestamp versions checked in this run.
    pub timestamps_checked: u64,
    /// Index files whose versions were compared with what was last verified (or first recorded).
    pub files_checked: u64,
    /// Index files whose bytes the mirror did not serve when needed, still owed.
    pub files_unavailable: u64,
    /// Everything found wrong in this run, in the order found.
    pub findings: Vec<Finding>,
    /// Findings in the state not yet acknowledged (this run's included): while there are any, the
    /// auditor attests nothing.
    pub open_findings: u64,
    /// Why the run stopped short of the mirror's current snapshot, if it did.
    pub incomplete: Option<String>,
    /// The attestation written by this run; `None`: none was (findings open, nothing new, or no key).
    pub attested: Option<Attested>,
    /// Wall-clock duration of the run, in seconds.
    pub seconds: f64,
}

/// Exit code: nothing wrong, and everything up to the mirror's current timestamp checked.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings (in this run, or still open from an earlier one).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: the audit could not be done or completed (network, bad input, contents not served).
pub const EXIT_INCOMPLETE: u8 = 2;

impl Report {
    /// The exit code for this report: `EXIT_FINDINGS` over `EXIT_INCOMPLETE` over `EXIT_OK`.
    pub fn exit_code(&self) -> u8 {
        if !self.findings.is_empty() || self.open_findings > 0 {
            EXIT_FINDINGS
        } else if self.incomplete.is_some() {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "audited {}: snapshot {} -> {} (timestamp {} -> {}; the mirror is at snapshot {}, timestamp {})",
            self.mirror,
            self.from.snapshot,
            self.to.snapshot,
            self.from.timestamp,
            self.to.timestamp,
            self.mirror_at.snapshot,
            self.mirror_at.timestamp
        )?;
        writeln!(
            f,
            "checked {} snapshot(s), {} timestamp(s), {} index file(s){} in {:.2} s",
            self.snapshots_checked,
            self.timestamps_checked,
            self.files_checked,
            if self.files_unavailable > 0 {
                format!(" ({} not served, still owed)", self.files_unavailable)
            } else {
                String::new()
            },
            self.seconds
        )?;
        for finding in &self.findings {
            writeln!(f, "FINDING [{}] snapshot {}: {finding}", finding.kind(), finding.snapshot())?;
        }
        let earlier = self.open_findings.saturating_sub(self.findings.len() as u64);
        if earlier > 0 {
            writeln!(
                f,
                "{earlier} finding(s) of earlier runs are still open (tufmirror audit --list-findings; \
                 --acknowledge once resolved)"
            )?;
        }
        if let Some(reason) = &self.incomplete {
            writeln!(f, "INCOMPLETE: {reason}")?;
        }
        match &self.attested {
            Some(a) => writeln!(f, "attested snapshot {} (timestamp {}): {}", a.snapshot, a.timestamp, a.file),
            None if self.open_findings > 0 || !self.findings.is_empty() => {
                writeln!(f, "not attesting: history has findings")
            }
            None => Ok(()),
        }
    }
}
