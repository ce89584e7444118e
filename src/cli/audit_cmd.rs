//! `tufmirror audit --mirror URL [--state DIR] [--root FILE] [--key URI] [--out DIR] [--json]
//! [--follow [--interval 5s] [--listen ADDR]] | --list-findings | --acknowledge`
//!
//! Checks every tree the mirror signed against the one before (docs/audit.md). Exit codes, for
//! schedulers: 0 nothing wrong and everything checked, 1 findings (new or still open), 2 the audit
//! could not be done or completed (network, bad input, contents not served).

use super::ExitStatus;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tufmirror_audit::{Attestor, AuditError, Auditor, AuditorConfig, EXIT_INCOMPLETE, Report};
use tufmirror_client::{HttpConfig, HttpFetcher};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The mirror's base URL (it serves tuf/, history/ and snapshots/).
    #[arg(long, value_name = "URL", required_unless_present_any = ["list_findings", "acknowledge"])]
    mirror: Option<String>,
    /// The state folder: what was audited, so the next run checks only what is new. Without it,
    /// all of history is audited in a temporary folder and forgotten.
    #[arg(long, value_name = "DIR", required_if_eq_any = [("follow", "true"), ("list_findings", "true"), ("acknowledge", "true")])]
    state: Option<PathBuf>,
    /// The root to trust when the state is new: the mirror's 1.root.json, obtained out of band,
    /// to audit all of history.
    #[arg(long, value_name = "FILE")]
    root: Option<PathBuf>,
    /// Sign an attestation of the last audited snapshot with this auditor key (a key URI:
    /// file:, pkcs11:, awskms:, vault:, exec:); root must declare it (x-tufmirror-auditors).
    #[arg(long, value_name = "URI")]
    key: Option<String>,
    /// Where attestations are written (N.json and latest.json): a folder served as <base>/audit/.
    /// Default: STATE/audit.
    #[arg(long, value_name = "DIR", requires = "key")]
    out: Option<PathBuf>,
    /// Print each report as one line of JSON.
    #[arg(long)]
    json: bool,
    /// Keep running: audit every --interval until SIGINT/SIGTERM.
    #[arg(long)]
    follow: bool,
    /// Time between runs with --follow (e.g. 500ms, 5s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    interval: Duration,
    /// With --follow: serve /metrics, /healthz and the attestations (/audit/) on this address.
    #[arg(long, value_name = "ADDR", requires = "follow")]
    listen: Option<SocketAddr>,
    /// Requests to the mirror in flight at a time.
    #[arg(long, value_name = "N", default_value_t = 8)]
    jobs: usize,
    /// Print every finding kept in the state and exit.
    #[arg(long, conflicts_with_all = ["acknowledge", "follow"])]
    list_findings: bool,
    /// Mark every open finding as resolved (after investigating it), so that attestations resume.
    #[arg(long, conflicts_with = "follow")]
    acknowledge: bool,
}

/// `500ms`, `5s`, `2m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("{s:?} has no unit (ms, s, m, h)"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} does not start with a number"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("unknown unit {unit:?} (ms, s, m, h)")),
    }
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    if args.list_findings || args.acknowledge {
        return findings(&args);
    }
    let temporary = args.state.is_none();
    if temporary && args.key.is_some() && args.out.is_none() {
        anyhow::bail!("--key without --state needs --out (attestations would go into a temporary folder)");
    }
    let state_dir = match &args.state {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("tufmirror-audit-{}", std::process::id())),
    };
    let result = audit(&args, &state_dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&state_dir);
    }
    result
}

fn audit(args: &Args, state_dir: &Path) -> anyhow::Result<()> {
    let mirror = args.mirror.clone().context("--mirror is required")?;
    let trusted_root = args.root.as_ref().map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())));
    let runtime = super::runtime()?;
    let attestor = match &args.key {
        Some(uri) => {
            let signer = runtime
                .block_on(tufmirror_signer::open_signer(uri, &std::env::current_dir()?))
                .with_context(|| format!("the auditor key {uri}"))?;
            let out = args.out.clone().unwrap_or_else(|| state_dir.join("audit"));
            Some(Attestor::new(signer, out))
        }
        None => None,
    };
    let config = AuditorConfig {
        mirror,
        state_dir: state_dir.to_owned(),
        trusted_root: trusted_root.transpose()?,
        jobs: args.jobs,
        attestor,
    };
    let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).map_err(tufmirror_client::ClientError::Http)?);
    let mut auditor = match Auditor::open(config, fetcher) {
        Ok(auditor) => auditor,
        Err(e) => return Err(could_not_audit(e)),
    };
    if args.follow {
        return runtime.block_on(follow(args, auditor));
    }
    match runtime.block_on(auditor.run_once()) {
        Ok(report) => {
            print_report(&report, args.json)?;
            match report.exit_code() {
                0 => Ok(()),
                code => Err(ExitStatus(code).into()),
            }
        }
        Err(e) => Err(could_not_audit(e)),
    }
}

/// Says why the audit could not be done, and exits 2.
fn could_not_audit(e: AuditError) -> anyhow::Error {
    eprintln!("error: could not audit: {}", tufmirror_core::error_chain(&e));
    ExitStatus(EXIT_INCOMPLETE).into()
}

/// Writes the report to stdout (an error, not a panic, when stdout is closed: the service goes
/// on auditing).
fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(report)?)?;
    } else {
        write!(out, "{report}")?;
    }
    out.flush()?;
    Ok(())
}

async fn follow(args: &Args, auditor: Auditor) -> anyhow::Result<()> {
    let listener = match args.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            // The first line of stdout is the address, so that scripts can start on port 0.
            println!("listening on {}", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    let json = args.json;
    tufmirror_audit::follow::follow(auditor, args.interval, listener, super::shutdown_signal(), |outcome| {
        match outcome {
            // Quiet runs (nothing new, nothing wrong) are only logged.
            Ok(report) if report.snapshots_checked + report.timestamps_checked == 0 && report.exit_code() == 0 => {
                tracing::debug!(snapshot = report.to.snapshot, "nothing new")
            }
            Ok(report) => {
                if let Err(e) = print_report(report, json) {
                    tracing::debug!(error = %e, "the report could not be printed");
                }
            }
            Err(e) => tracing::error!(error = %tufmirror_core::error_chain(e), "could not audit; retrying at the next interval"),
        }
    })
    .await?;
    Ok(())
}

fn findings(args: &Args) -> anyhow::Result<()> {
    let dir = args.state.as_ref().context("--state is required")?;
    let state =
        tufmirror_audit::state_folder::State::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let listed = if args.acknowledge {
        state.acknowledge_all()?
    } else {
        state.findings()?.into_iter().map(|(_, f)| f).collect()
    };
    for f in &listed {
        if args.json {
            println!("{}", serde_json::to_string(f)?);
        } else {
            let status = if f.acknowledged { "acknowledged" } else { "open" };
            println!("[{status}] snapshot {}: {}", f.finding.snapshot(), f.finding);
        }
    }
    if args.acknowledge {
        eprintln!("acknowledged {} finding(s); the next run attests again if nothing new is found", listed.len());
    }
    Ok(())
}
