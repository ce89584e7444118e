//! `tufmirror verify --mirror URL --root FILE [--state DIR] [--all] [--jobs N] [CRATE ...]`
//!
//! Checks a mirror the way a TAP-16 client does (`tufmirror_client::MirrorClient`): refreshes the
//! TUF metadata, checks `config.json` against its target, then each named crate's index file
//! against the signed Merkle root (present with an inclusion proof, or absent with a
//! non-inclusion proof), or with `--all` every file of the current snapshot against its leaf list
//! and proof. Stops at the first failure, naming the file and the reason; prints a summary
//! otherwise.

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use tufmirror_client::{IndexFile, MirrorClient, MirrorConfig};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    mirror: MirrorArgs,
    /// Verify every index file of the current snapshot.
    #[arg(long)]
    all: bool,
    /// Requests in flight at once for --all.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    #[command(flatten)]
    audit: AuditArgs,
    /// Crates whose index files to verify (present or proven absent).
    crates: Vec<String>,
}

/// The mirror and the trust in it, shared by `verify`, `proxy` and `setup`.
#[derive(Debug, clap::Args)]
pub(super) struct MirrorArgs {
    /// The mirror's base URL (it serves `index/` and `tuf/`).
    #[arg(long)]
    pub mirror: String,
    /// The root to trust, obtained out of band (used while the state folder holds none).
    #[arg(long)]
    pub root: PathBuf,
    /// Folder of the trusted metadata, kept between runs so that the mirror cannot roll back what
    /// an earlier run saw [default: $XDG_STATE_HOME/tufmirror/<verify or proxy>/<hash of the URL>].
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// `--require-audit`, shared by `verify` and `proxy`.
#[derive(Debug, clap::Args)]
pub(super) struct AuditArgs {
    /// Accept a snapshot only once the auditors that root declares (docs/audit.md) have attested
    /// it: a stolen timestamp key alone can then neither roll back nor hide a crate.
    #[arg(long)]
    require_audit: bool,
    /// Where attestations are published (`N.json`) [default: the mirror's `audit/`]; repeatable.
    #[arg(long, value_name = "URL", requires = "require_audit")]
    audit_url: Vec<String>,
}

impl AuditArgs {
    fn config(&self) -> MirrorConfig {
        MirrorConfig { require_audit: self.require_audit.then(|| self.audit_url.clone()), ..MirrorConfig::default() }
    }
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let paths = args
        .crates
        .iter()
        .map(|name| Ok((name, tufmirror_index::CrateName::new(name)?.index_path())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = Arc::new(open_client(&args.mirror, "verify", &args.audit)?);
    super::runtime()?.block_on(async {
        let view = client.refresh().await?;
        client.config_json().await?;
        println!(
            "{}: snapshot {} (timestamp version {}, {} index files, Merkle root {}); config.json verified",
            client.base_url(),
            view.snapshot_version,
            view.timestamp_version,
            view.tree_size,
            view.merkle_root
        );
        let mut verified = 0;
        for (name, path) in &paths {
            match client.index_file(path, None).await? {
                IndexFile::Present { bytes, leaf, snapshot } => println!(
                    "{name}: {path} verified in snapshot {snapshot} ({} bytes, sha256 {})",
                    bytes.len(),
                    leaf.sha256
                ),
                IndexFile::NotModified { snapshot, .. } => println!("{name}: {path} verified in snapshot {snapshot}"),
                IndexFile::Absent { snapshot } => {
                    println!("{name}: {path} is not in snapshot {snapshot} (non-inclusion proof verified)")
                }
            }
            verified += 1;
        }
        if args.all {
            let jobs = usize::try_from(args.jobs).unwrap_or(16);
            let report = client.verify_snapshot(jobs).await?;
            println!(
                "verified all {} index files of snapshot {} ({} bytes) against leaves.json and their proofs",
                report.files, report.snapshot, report.bytes
            );
            verified += report.files;
        }
        let snapshot = client.view().map_or(view.snapshot_version, |v| v.snapshot_version);
        println!("ok: snapshot {snapshot}, config.json and {verified} index file answers verified");
        Ok(())
    })
}

/// A client for `mirror` whose state folder is `state` or the per-user default for `tool`;
/// `root` is trusted if the folder holds no root yet.
pub(super) fn open_client(args: &MirrorArgs, tool: &str, audit: &AuditArgs) -> anyhow::Result<MirrorClient> {
    let (mirror, root) = (args.mirror.as_str(), args.root.as_path());
    let state = match args.state.as_deref() {
        Some(dir) => dir.to_owned(),
        None => tufmirror_client::dirs::mirror_state_dir(tool, mirror)
            .context("no state folder: set --state, XDG_STATE_HOME or HOME")?,
    };
    let root_bytes = std::fs::read(root).with_context(|| format!("cannot read the root {}", root.display()))?;
    if MirrorClient::bootstrap(&state, &root_bytes)? {
        tracing::info!(state = %state.display(), root = %root.display(), "trusting the given root");
    } else {
        tracing::debug!(state = %state.display(), "using the trusted root of the state folder");
    }
    Ok(MirrorClient::new(mirror, &state, audit.config())?)
}
