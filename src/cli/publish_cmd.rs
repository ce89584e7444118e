//! `tufmirror publish --index DIR --keys DIR --out DIR`

use std::path::PathBuf;
use tufmirror_repo::sign::Expiries;
use tufmirror_repo::{PublishOptions, publish};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Sparse-index files laid out as cargo expects (1/, 2/, 3/a/, ab/cd/), optionally config.json.
    #[arg(long)]
    index: PathBuf,
    /// Key directory: targets.pem, snapshot.pem, timestamp.pem and the root chain N.root.json.
    #[arg(long)]
    keys: PathBuf,
    /// Output repository; created if missing, updated to the next snapshot if it exists.
    #[arg(long)]
    out: PathBuf,
    /// Write config.json with this download URL instead of the input's (or crates.io's).
    #[arg(long)]
    dl: Option<String>,
    /// Snapshot trees kept readable under snapshots/.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    keep: u64,
    /// Skip the static proof files (a tufmirror server computes proofs itself).
    #[arg(long)]
    no_static_proofs: bool,
    /// Days until targets metadata expires.
    #[arg(long, default_value_t = Expiries::default().targets)]
    targets_expiry_days: i64,
    /// Days until snapshot metadata expires.
    #[arg(long, default_value_t = Expiries::default().snapshot)]
    snapshot_expiry_days: i64,
    /// Days until the timestamp expires: publish again before then.
    #[arg(long, default_value_t = Expiries::default().timestamp)]
    timestamp_expiry_days: i64,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let opts = PublishOptions {
        index_dir: args.index,
        keys_dir: args.keys,
        out_dir: args.out,
        dl: args.dl,
        keep: args.keep,
        static_proofs: !args.no_static_proofs,
        expiries: Expiries {
            targets: args.targets_expiry_days,
            snapshot: args.snapshot_expiry_days,
            timestamp: args.timestamp_expiry_days,
        },
        now: time::OffsetDateTime::now_utc(),
    };
    let report = super::runtime()?.block_on(publish(&opts))?;
    println!(
        "published snapshot {} (timestamp {}): {} files, merkle root {}, {} added, {} changed, {} removed",
        report.snapshot_version,
        report.timestamp_version,
        report.tree_size,
        report.merkle_root,
        report.added,
        report.changed,
        report.removed
    );
    Ok(())
}
