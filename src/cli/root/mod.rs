//! `tufmirror root init|edit|sign|status|publish`: root ceremonies for offline keys with t-of-n
//! thresholds. The proposal is a standard TUF root metadata file that travels from key holder to
//! key holder; each signs it on their own machine. The rules are in `tufmirror_repo::ceremony`;
//! each subcommand here reads its arguments, calls them, and says what happened ([`print`]).

mod edit;
mod init;
mod print;
mod publish_cmd;
mod sign_cmd;
mod status;

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tufmirror_core::PublicKey;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_mirror::Config;
use tufmirror_repo::ceremony::{self, GivenKey};

pub(super) use print::print_next_signers;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Propose root version 1 (consistent_snapshot on) from the key holders' public keys.
    Init(init::Args),
    /// Edit a proposal, or start the proposal of the next version from the newest root in --roots.
    /// Any change drops the signatures collected so far: the signed content changed.
    Edit(edit::Args),
    /// Sign a proposal with one root key (of the proposal, or of the root it follows).
    Sign(sign_cmd::Args),
    /// Show what a proposal says and which root keys have signed it (every signature is checked).
    Status(status::Args),
    /// Publish a fully signed proposal as the next N.root.json (or hand it to the running daemon).
    Publish(publish_cmd::Args),
}

pub(super) fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Init(args) => init::run(args),
        Command::Edit(args) => edit::run(args),
        Command::Sign(args) => sign_cmd::run(args),
        Command::Status(args) => status::run(args),
        Command::Publish(args) => publish_cmd::run(args),
    }
}

/// A key given on the command line (a key URI or a PEM public key file; see
/// [`ceremony::given_key`]), relative paths being relative to the working directory.
pub(super) async fn given_key(spec: &str) -> anyhow::Result<GivenKey> {
    Ok(ceremony::given_key(spec, &std::env::current_dir()?).await?)
}

/// The public keys of `(role, key)` pairs given on the command line; an error names the key.
fn public_keys<'a>(given: impl IntoIterator<Item = (Role, &'a str)>) -> anyhow::Result<Vec<(Role, PublicKey)>> {
    super::runtime()?.block_on(async {
        let mut keys = Vec::new();
        for (role, spec) in given {
            keys.push((role, given_key(spec).await.with_context(|| format!("{role} key {spec}"))?.key));
        }
        anyhow::Ok(keys)
    })
}

/// The public keys of auditor keys given on the command line; an error names the key.
fn auditor_keys(given: &[String]) -> anyhow::Result<Vec<PublicKey>> {
    super::runtime()?.block_on(async {
        let mut keys = Vec::new();
        for spec in given {
            keys.push(given_key(spec).await.with_context(|| format!("auditor key {spec}"))?.key);
        }
        anyhow::Ok(keys)
    })
}

/// `days` days from now, for a root's expiry.
pub(super) fn expires_in(days: i64) -> anyhow::Result<OffsetDateTime> {
    Ok(ceremony::expiry_in_days(OffsetDateTime::now_utc(), days)?)
}

/// The newest verified root in `dir`, if any.
pub(super) fn newest_root(dir: &Path) -> anyhow::Result<Option<Signed<Root>>> {
    let newest = ceremony::newest_root(dir).with_context(|| format!("reading the root chain in {}", dir.display()))?;
    Ok(newest.map(|r| r.root))
}

/// The daemon's configuration given with `--config`, if any.
pub(super) fn load_config(path: Option<&Path>) -> anyhow::Result<Option<Config>> {
    Ok(path.map(|path| Config::load(Some(path), |var| std::env::var(var).ok())).transpose()?)
}

/// The root chain directory: `--roots`, or else `keys.root_dir` of `--config`.
pub(super) fn roots_dir(roots: Option<&Path>, config: Option<&Config>) -> anyhow::Result<PathBuf> {
    match (roots, config) {
        (Some(dir), _) => Ok(dir.to_owned()),
        (None, Some(config)) => Ok(config.keys.root_dir.clone()),
        (None, None) => anyhow::bail!("give --roots DIR (the root chain directory) or --config FILE"),
    }
}
