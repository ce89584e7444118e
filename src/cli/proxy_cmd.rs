//! `tufmirror proxy --mirror URL --root FILE [--listen ADDR] [--state DIR]`
//!
//! Runs the verifying proxy (`tufmirror_proxy::app`) for cargo's `sparse+http://ADDR/index/`
//! until SIGINT or SIGTERM. The first line on stdout is `listening on ADDR`, so that scripts can
//! start it on port 0. The metadata is refreshed once at start in the background: a proxy that
//! starts while the mirror is unreachable still starts, and refreshes on the first request.

use anyhow::Context;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    mirror: super::verify_cmd::MirrorArgs,
    /// Address to listen on; cargo uses `sparse+http://ADDR/index/`.
    #[arg(long, default_value = tufmirror_proxy::setup::DEFAULT_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    audit: super::verify_cmd::AuditArgs,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let client = Arc::new(super::verify_cmd::open_client(&args.mirror, "proxy", &args.audit)?);
    super::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on {addr}");
        std::io::stdout().flush()?;
        tracing::info!(%addr, mirror = client.base_url(), "cargo: sparse+http://{addr}/index/");
        let warm = client.clone();
        tokio::spawn(async move {
            if let Err(e) = warm.refresh().await {
                tracing::warn!(error = %tufmirror_client::mirror_client::one_line(&e), "first refresh failed");
            }
        });
        let app = tufmirror_proxy::app(client);
        tufmirror_server::serve(listener, app, super::shutdown_signal()).await?;
        Ok(())
    })
}
