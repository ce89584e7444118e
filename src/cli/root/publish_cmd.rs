//! `tufmirror root publish`: a fully signed proposal becomes the next `N.root.json`, or is handed
//! to the running daemon, which adopts it together with the online keys it lists.

use super::print::print_online_keys;
use anyhow::Context as _;
use std::path::PathBuf;
use time::OffsetDateTime;
use tufmirror_mirror::datadir::{DataDir, DataDirOwner};
use tufmirror_repo::ceremony;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    proposal: PathBuf,
    /// The root chain directory to add N.root.json to (default: keys.root_dir of --config).
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
    /// The daemon's configuration: a running daemon is handed the new root; otherwise its online
    /// keys are checked against the new root.
    #[arg(long, value_name = "FILE", env = "TUFMIRROR_CONFIG")]
    config: Option<PathBuf>,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config(args.config.as_deref())?;
    let roots = super::roots_dir(args.roots.as_deref(), config.as_ref())?;
    if let (Some(config), Some(dir)) = (&config, &args.roots)
        && std::fs::canonicalize(dir).ok() != std::fs::canonicalize(&config.keys.root_dir).ok()
    {
        eprintln!(
            "warning: --roots {} is not keys.root_dir ({}) of {}: the daemon reads its roots from keys.root_dir",
            dir.display(),
            config.keys.root_dir.display(),
            config.origin
        );
    }
    let newest = super::newest_root(&roots)?;
    let proposal = ceremony::read_proposal(&args.proposal)?;
    let bytes = ceremony::to_bytes(&proposal)?;
    let now = OffsetDateTime::now_utc();
    let verified = ceremony::check_publishable(&bytes, newest.as_ref().map(|r| &r.signed), now)
        .with_context(|| format!("refusing to publish {}", args.proposal.display()))?;
    let root = &verified.signed;
    let version = root.version;

    let mut _lock = None;
    if let Some(config) = &config {
        let data = DataDir::new(&config.storage.data_dir);
        match data.owner().with_context(|| format!("cannot lock {}", data.lock_file().display()))? {
            DataDirOwner::Daemon => {
                println!("a running daemon owns {}: handing it root version {version}", data.root.display());
                let answer = super::super::runtime()?
                    .block_on(super::super::daemon_access::admin_request(
                        config,
                        reqwest::Method::POST,
                        "root",
                        Some(bytes),
                    ))
                    .with_context(|| {
                        format!("the running daemon did not take root version {version}; nothing was written")
                    })?;
                println!("the daemon answered: {answer}");
                return Ok(());
            }
            // Held until the root is written, so that no daemon starts halfway.
            DataDirOwner::Nobody(lock) => _lock = lock,
        }
    }
    let path = ceremony::write_new_root(&roots, version, &bytes)?;
    println!(
        "published root version {version} as {} (expires {})",
        path.display(),
        tufmirror_core::time::format(root.expires)
    );
    match &config {
        Some(config) => {
            let report = super::super::runtime()?.block_on(tufmirror_mirror::daemon_keys::check_online_keys(
                &config.keys,
                &config.base_dir,
                root,
            ));
            print_online_keys(&report, &config.origin, root);
        }
        None => println!(
            "a daemon whose keys.root_dir is {} adopts it when it next starts (give --config FILE to hand it to a \
             running daemon now and to check its online keys); `tufmirror publish --keys {}` serves it from its next run",
            roots.display(),
            roots.display()
        ),
    }
    Ok(())
}
