//! `tufmirror root sign`: one key holder adds their signature to a proposal.

use super::print::print_progress;
use anyhow::Context as _;
use std::path::PathBuf;
use time::OffsetDateTime;
use tufmirror_repo::ceremony;
use tufmirror_repo::durable::IfExists;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The proposal; the signature is added to it (a key that signed before is replaced).
    proposal: PathBuf,
    /// The root key to sign with (a key URI: file:, pkcs11:, exec:, vault:, ...).
    #[arg(long, value_name = "URI")]
    key: String,
    /// The root chain directory; needed from version 2 on, to know the previous root's keys.
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let mut proposal = ceremony::read_proposal(&args.proposal)?;
    let version = proposal.signed.version;
    let newest = match &args.roots {
        Some(dir) => super::newest_root(dir)?,
        None if version > 1 => anyhow::bail!(
            "{} is root version {version}: give --roots DIR (the root chain up to version {}) so that the \
             previous root's keys are known",
            args.proposal.display(),
            version - 1
        ),
        None => None,
    };
    let previous = newest.as_ref().map(|r| &r.signed);
    let added = super::super::runtime()?.block_on(async {
        let signer = tufmirror_signer::open_signer(&args.key, &std::env::current_dir()?)
            .await
            .with_context(|| format!("opening the key {}", args.key))?;
        let added = ceremony::sign_proposal(&mut proposal, previous, signer.as_ref(), OffsetDateTime::now_utc())
            .await
            .with_context(|| format!("refusing to sign {} with {}", args.proposal.display(), args.key))?;
        anyhow::Ok(added)
    })?;
    ceremony::write_proposal(&args.proposal, &proposal, IfExists::Replace)?;
    let counts = match (added.new_root, added.previous_root) {
        (true, true) => format!("a root key of both version {version} and version {}", version - 1),
        (true, false) => format!("a root key of version {version}"),
        _ => format!(
            "a root key of the previous root, version {}, only: it counts toward that root's threshold",
            version - 1
        ),
    };
    println!(
        "{} root version {version} with key {} ({counts}); saved in {}",
        if added.replaced { "re-signed" } else { "signed" },
        added.key_id,
        args.proposal.display()
    );
    let st = ceremony::status(&proposal, previous, OffsetDateTime::now_utc())?;
    print_progress(&st);
    Ok(())
}
