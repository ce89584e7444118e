//! `tufmirror serve [--config FILE]`: the mirror daemon. Without a config it runs the embedded
//! default: a mirror of crates.io on 127.0.0.1:8080, data in ./tufmirror-data.

use super::daemon_access::{ConfigArg, Signals, open_mirror};
use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    super::runtime()?.block_on(async {
        let listen = config.server.listen;
        let public_url = config.server.public_url.clone();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let mirror = open_mirror(config, shutdown.clone()).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        // Before `listening on`: see `Signals`.
        let signals = Signals::install()?;
        // The first line of stdout is the address, so that scripts can start on port 0.
        println!("listening on {addr}");
        tracing::info!(%addr, "cargo: [source.crates-io] replace-with, registry = \"sparse+{public_url}/index/\"");
        tokio::spawn(signals.run(mirror.clone()));
        let clock = tokio::spawn(mirror.maintenance().clone().run());
        let app = tufmirror_server::daemon::app(mirror.clone());
        let stop = shutdown.clone();
        let options = tufmirror_server::ServeOptions {
            header_timeout: mirror.config().server.header_timeout,
            idle_timeout: mirror.config().server.idle_timeout,
            max_connections: mirror.config().server.max_connections,
        };
        tufmirror_server::serve_with(listener, app, options, async move { stop.cancelled().await }).await?;
        shutdown.cancel();
        let _ = clock.await;
        tracing::info!("stopped");
        Ok(())
    })
}
