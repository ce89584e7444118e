//! `tufmirror sync [--config FILE]`: one refresh and publish, then exit (cron, or filling a mirror
//! before it is carried into an air-gapped network). When a daemon owns the data folder, it is
//! asked to refresh instead.

use super::daemon_access::{ConfigArg, admin_request, open_mirror};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal as _;
use tufmirror_mirror::OpenError;
use tufmirror_mirror::refresh::{LogProgress, Progress};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

/// A progress bar on a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, by: u64, message: &str) {
        self.0.set_message(message.to_owned());
        self.0.inc(by);
    }
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    super::runtime()?.block_on(async {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let mirror = match open_mirror(config.clone(), shutdown.clone()).await {
            Ok(m) => m,
            Err(e) if matches!(e.downcast_ref::<OpenError>(), Some(OpenError::Locked { .. })) => {
                admin_request(&config, reqwest::Method::POST, "sync", None).await?;
                println!("a running daemon owns {}; it was asked to refresh now", config.storage.data_dir.display());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!("interrupted: publishing what was checked so far");
                stop.cancel();
            }
        });
        let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Box::new(Bar(bar))
        } else {
            Box::new(LogProgress::default())
        };
        let report = mirror.refresh().sync_all(progress.as_ref()).await?;
        shutdown.cancel();
        println!(
            "snapshot {}: {} index files; checked {} crates ({} failed, {} not found upstream); {} .crate files fetched ({} failed)",
            report.snapshot_version,
            report.files,
            report.checked,
            report.failed,
            report.not_found,
            report.crates_fetched,
            report.crates_failed
        );
        if report.failed > 0 || report.crates_failed > 0 {
            anyhow::bail!("{} crates and {} .crate files could not be refreshed", report.failed, report.crates_failed);
        }
        Ok(())
    })
}
