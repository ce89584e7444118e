//! The subcommands.

mod audit_cmd;
mod daemon_access;
mod keys_cmd;
mod proxy_cmd;
mod publish_cmd;
mod quarantine_cmd;
mod root;
mod serve;
mod serve_static;
mod setup_cmd;
mod sync_cmd;
mod tuf_client;
mod verify_cmd;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "tufmirror", version, about = "A crates.io mirror with TUF-signed TAP-16 Merkle snapshots")]
pub(crate) struct Cli {
    /// Log as JSON lines (for log collectors) instead of human-readable text.
    #[arg(long, global = true, env = "TUFMIRROR_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the mirror daemon: sync from upstream, publish signed snapshots, serve cargo.
    Serve(serve::Args),
    /// Refresh everything once, publish, and exit (cron, air-gapped transfer).
    Sync(sync_cmd::Args),
    /// List, accept or reject upstream files held back because they rewrite signed history.
    Quarantine(quarantine_cmd::Args),
    /// Validate a sparse-index directory and publish it as the next signed snapshot.
    Publish(publish_cmd::Args),
    /// Manage role keys.
    #[command(subcommand)]
    Keys(keys_cmd::Command),
    /// Root ceremonies: propose, edit, sign (offline, t-of-n) and publish root versions.
    #[command(subcommand)]
    Root(root::Command),
    /// Serve a published repository directory over HTTP (index files carry their proofs).
    ServeStatic(serve_static::Args),
    /// A plain TUF client: the TUF conformance suite's client interface (CLIENT-CLI.md).
    TufClient(tuf_client::Args),
    /// Check every tree the mirror signed against the one before; attest what passes.
    Audit(audit_cmd::Args),
    /// Verify a mirror as a TAP-16 client: metadata, config.json, and index files by proof.
    Verify(verify_cmd::Args),
    /// A local proxy for cargo that passes on only index files whose proofs verify.
    Proxy(proxy_cmd::Args),
    /// Point cargo at the verifying proxy: trusted root, cargo config, optional systemd unit.
    Setup(setup_cmd::Args),
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Sync(args) => sync_cmd::run(args),
        Command::Quarantine(args) => quarantine_cmd::run(args),
        Command::Publish(args) => publish_cmd::run(args),
        Command::Keys(cmd) => keys_cmd::run(cmd),
        Command::Root(cmd) => root::run(cmd),
        Command::ServeStatic(args) => serve_static::run(args),
        Command::TufClient(args) => tuf_client::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Proxy(args) => proxy_cmd::run(args),
        Command::Setup(args) => setup_cmd::run(args),
    }
}

/// An error that ends the process with this exit code and no further message (the subcommand
/// has said what it had to): `tufmirror audit` exits 1 for findings and 2 when it could not audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExitStatus(pub u8);

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for ExitStatus {}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub(crate) fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A runtime for the async parts (signing, serving).
/// Completes on SIGINT or SIGTERM (what systemd sends to stop a unit): the shutdown of the commands
/// that only serve (`serve-static`, `proxy`, `audit --follow`); the daemon has its own (`daemon.rs`,
/// which also reloads on SIGHUP).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        Err(_) => ctrl_c.await.unwrap_or(()),
    }
    tracing::info!("shutting down");
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
