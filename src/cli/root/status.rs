//! `tufmirror root status`: what a proposal says and who has signed it, as text or JSON.

use super::print::{print_progress, print_roles, print_signatures};
use std::path::PathBuf;
use time::OffsetDateTime;
use tufmirror_repo::ceremony;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    proposal: PathBuf,
    /// The root chain directory; from version 2 on, to count the previous root's signatures.
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let proposal = ceremony::read_proposal(&args.proposal)?;
    let newest = args.roots.as_deref().map(super::newest_root).transpose()?.flatten();
    let st = ceremony::status_against_chain(&proposal, newest.as_ref().map(|r| &r.signed), OffsetDateTime::now_utc())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    println!("proposal {}: root version {}", args.proposal.display(), st.version);
    let expiry = if st.expired { "EXPIRED" } else { "not expired" };
    println!("expires {} ({expiry}); consistent_snapshot {}", st.expires, st.consistent_snapshot);
    print_roles(&proposal.signed);
    println!("signatures (each one checked):");
    print_signatures("its own root keys", &st.new_root);
    match (&st.previous_root, st.previous_version) {
        (Some(prev), _) => print_signatures("the previous root's root keys", prev),
        (None, Some(v)) => println!(
            "  root keys of version {v} (the previous root): unknown; give --roots DIR to count their signatures"
        ),
        (None, None) => {}
    }
    for s in &st.ignored_signatures {
        println!("  ignored: a signature by {}: {}", s.keyid, s.reason);
    }
    for p in &st.problems {
        println!("problem: {p}");
    }
    print_progress(&st);
    Ok(())
}
