//! `tufmirror tuf-client --metadata-dir DIR [--metadata-url URL] init ROOT | refresh | download`
//!
//! The client-under-test interface of the TUF conformance suite (theupdateframework/
//! tuf-conformance, CLIENT-CLI.md): a thin shell over `tufmirror_client::Updater`, so the suite
//! measures the same client that tufmirror's own verification builds on. Options come before the
//! subcommand, as the suite passes them; the exit code is 0 on success and 1 on any failure.
//! Only metadata files are written to `--metadata-dir`; targets go to `--target-dir` under their
//! percent-encoded path, and a target already there with matching hashes is not downloaded again.
//! `tests/conformance/run.sh` runs the suite against it.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::sync::Arc;
use tufmirror_client::{HttpConfig, HttpFetcher, Updater, UpdaterConfig, encode_name};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Folder of the client's trusted metadata (root.json, timestamp.json, ...).
    #[arg(long)]
    metadata_dir: PathBuf,
    /// Base URL of the repository's metadata.
    #[arg(long)]
    metadata_url: Option<String>,
    /// Target path to download (repeatable: downloaded in order by one client).
    #[arg(long = "target-name")]
    target_names: Vec<String>,
    /// Folder to store downloaded targets in.
    #[arg(long)]
    target_dir: Option<PathBuf>,
    /// Base URL of the repository's targets.
    #[arg(long)]
    target_base_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Trust this root (it must be signed by its own root keys); makes no request.
    Init { trusted_root: PathBuf },
    /// Update the top-level metadata.
    Refresh,
    /// Refresh, then download each --target-name into --target-dir.
    Download,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Init { trusted_root } = &args.command {
        let bytes = std::fs::read(trusted_root).with_context(|| format!("cannot read {}", trusted_root.display()))?;
        Updater::init(&args.metadata_dir, &bytes)?;
        return Ok(());
    }
    let Some(metadata_url) = &args.metadata_url else {
        bail!("--metadata-url is required");
    };
    let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).map_err(tufmirror_client::ClientError::Http)?);
    let mut updater = Updater::new(&args.metadata_dir, metadata_url, fetcher, UpdaterConfig::default())?;
    super::runtime()?.block_on(async {
        if let Command::Refresh = args.command {
            updater.refresh().await?;
            return Ok(());
        }
        let (Some(target_dir), Some(target_base_url)) = (&args.target_dir, &args.target_base_url) else {
            bail!("download needs --target-dir and --target-base-url");
        };
        for name in &args.target_names {
            let info =
                updater.get_target_info(name).await?.with_context(|| format!("no trusted role lists {name:?}"))?;
            let dest = target_dir.join(encode_name(name));
            if updater.find_cached_target(&info, &dest) {
                tracing::info!(target = name, "already downloaded");
                continue;
            }
            updater.download_target(&info, target_base_url, &dest).await?;
            tracing::info!(target = name, path = %dest.display(), "downloaded");
        }
        Ok(())
    })
}
