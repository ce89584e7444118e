//! `tufmirror quarantine list|accept PATH|reject PATH`: decide about upstream files that would
//! rewrite signed history. Talks to the running daemon (`/admin/`), or opens the data folder
//! itself when no daemon runs.

use super::daemon::{ConfigArg, admin_request, open_mirror};
use tufmirror_mirror::OpenError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Show quarantined files and why they were held.
    List,
    /// Publish the quarantined file as the crate's file (its changed versions get the new cksum).
    Accept { path: String },
    /// Keep serving the last good file; ignore these upstream bytes from now on.
    Reject { path: String },
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    super::runtime()?.block_on(async {
        let (method, route) = match &args.action {
            Action::List => (reqwest::Method::GET, "quarantine".to_owned()),
            Action::Accept { path } => (reqwest::Method::POST, format!("quarantine/accept?path={path}")),
            Action::Reject { path } => (reqwest::Method::POST, format!("quarantine/reject?path={path}")),
        };
        let shutdown = tokio_util::sync::CancellationToken::new();
        let output = match open_mirror(config.clone(), shutdown.clone()).await {
            Ok(mirror) => {
                let out = match &args.action {
                    Action::List => serde_json::to_string_pretty(&mirror.quarantine_list()?)?,
                    Action::Accept { path } => {
                        format!("accepted {path}: snapshot {}", mirror.quarantine_accept(path).await?)
                    }
                    Action::Reject { path } => {
                        mirror.quarantine_reject(path).await?;
                        format!("rejected {path}")
                    }
                };
                shutdown.cancel();
                out
            }
            Err(e) if matches!(e.downcast_ref::<OpenError>(), Some(OpenError::Locked { .. })) => {
                admin_request(&config, method, &route, None).await?
            }
            Err(e) => return Err(e),
        };
        println!("{output}");
        Ok(())
    })
}
