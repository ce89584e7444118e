//! The subcommands.

mod daemon;
mod keys;
mod publish;
mod quarantine;
mod root;
mod serve;
mod serve_static;
mod sync;
mod tuf_client;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "tufmirror", version, about = "A crates.io mirror with TUF-signed TAP-16 Merkle snapshots")]
pub struct Cli {
    /// Log as JSON lines (for log collectors) instead of human-readable text.
    #[arg(long, global = true, env = "TUFMIRROR_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mirror daemon: sync from upstream, publish signed snapshots, serve cargo.
    Serve(serve::Args),
    /// Refresh everything once, publish, and exit (cron, air-gapped transfer).
    Sync(sync::Args),
    /// List, accept or reject upstream files held back because they rewrite signed history.
    Quarantine(quarantine::Args),
    /// Validate a sparse-index directory and publish it as the next signed snapshot.
    Publish(publish::Args),
    /// Manage role keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Root ceremonies: propose, edit, sign (offline, t-of-n) and publish root versions.
    #[command(subcommand)]
    Root(root::Command),
    /// Serve a published repository directory over HTTP (index files carry their proofs).
    ServeStatic(serve_static::Args),
    /// A plain TUF client: the TUF conformance suite's client interface (CLIENT-CLI.md).
    TufClient(tuf_client::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Quarantine(args) => quarantine::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Root(cmd) => root::run(cmd),
        Command::ServeStatic(args) => serve_static::run(args),
        Command::TufClient(args) => tuf_client::run(args),
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing(json: bool) {
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
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
