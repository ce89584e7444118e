//! What `serve`, `sync` and `quarantine` share: loading the config, opening the mirror, signals,
//! and talking to a running daemon's `/admin/` routes.

use anyhow::Context as _;
use std::path::PathBuf;
use std::sync::Arc;
use tufmirror_mirror::{Config, Mirror};

#[derive(Debug, clap::Args)]
pub(super) struct ConfigArg {
    /// The configuration file (config/tufmirror.toml documents every key). Without it, the
    /// embedded default: a mirror of crates.io on 127.0.0.1:8080 with data in ./tufmirror-data.
    // `global`: also taken after a nested subcommand (`tufmirror quarantine list --config F`),
    // where people write it.
    #[arg(long, global = true, env = "TUFMIRROR_CONFIG")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    pub(super) fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref(), |var| std::env::var(var).ok())?)
    }
}

pub(super) async fn open_mirror(
    config: Config,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Arc<Mirror>> {
    Ok(Mirror::open(config, shutdown).await?)
}

/// The daemon's signal handlers: SIGINT/SIGTERM stop it (the sync included); SIGHUP starts a
/// refresh now. Installed before the daemon says it listens: a SIGHUP that arrives before its
/// handler exists ends the process (the default action), so a script that signals as soon as
/// it reads `listening on` must find the handler there.
pub(super) struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (within the runtime).
    pub(super) fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let context = "cannot install signal handlers";
        Ok(Signals {
            term: signal(SignalKind::terminate()).context(context)?,
            int: signal(SignalKind::interrupt()).context(context)?,
            hup: signal(SignalKind::hangup()).context(context)?,
        })
    }

    /// Acts on signals until SIGINT or SIGTERM, then shuts the mirror down.
    pub(super) async fn run(mut self, mirror: Arc<Mirror>) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP: refreshing now");
                    mirror.maintenance().sync_now();
                }
            }
        }
        tracing::info!("shutting down: finishing open requests, stopping the sync");
        mirror.shutdown().cancel();
    }
}

/// Sends an `/admin/` request (with `body`, if any) to the daemon that owns `config`'s data folder.
pub(super) async fn admin_request(
    config: &Config,
    method: reqwest::Method,
    route: &str,
    body: Option<Vec<u8>>,
) -> anyhow::Result<String> {
    let token_path = config.storage.data_dir.join("admin.token");
    let token = std::fs::read_to_string(&token_path).with_context(|| {
        format!("a daemon owns the data folder, and its admin token {} is unreadable", token_path.display())
    })?;
    let mut addr = config.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}/admin/{route}");
    let mut request = reqwest::Client::builder().no_proxy().build()?.request(method, &url).bearer_auth(token.trim());
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.with_context(|| format!("asking the running daemon at {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        anyhow::bail!("the daemon answered {status}: {}", body.trim());
    }
    Ok(body.trim().to_owned())
}
