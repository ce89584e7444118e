//! `tufmirror root init`: the proposal of root version 1.

use super::print::{print_next_signers, print_roles};
use anyhow::Context as _;
use std::path::PathBuf;
use tufmirror_core::metadata::{Role, Signed};
use tufmirror_repo::ceremony::{self, RoleSpec};
use tufmirror_repo::durable::IfExists;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The proposal file to create (never overwritten).
    #[arg(long, value_name = "PROPOSAL")]
    out: PathBuf,
    /// A root key: a key URI (file:, pkcs11:, exec:, vault:, ...) or a PEM public key file.
    /// Repeat once per key.
    #[arg(long = "root-key", value_name = "KEY", required = true)]
    root_keys: Vec<String>,
    /// A targets key (repeatable), as --root-key.
    #[arg(long = "targets-key", value_name = "KEY", required = true)]
    targets_keys: Vec<String>,
    /// A snapshot key (repeatable), as --root-key.
    #[arg(long = "snapshot-key", value_name = "KEY", required = true)]
    snapshot_keys: Vec<String>,
    /// A timestamp key (repeatable), as --root-key.
    #[arg(long = "timestamp-key", value_name = "KEY", required = true)]
    timestamp_keys: Vec<String>,
    /// Signatures of root keys needed for a root version (1 to the number of root keys).
    #[arg(long, value_name = "N", default_value_t = 1)]
    root_threshold: u64,
    #[arg(long, value_name = "N", default_value_t = 1)]
    targets_threshold: u64,
    #[arg(long, value_name = "N", default_value_t = 1)]
    snapshot_threshold: u64,
    #[arg(long, value_name = "N", default_value_t = 1)]
    timestamp_threshold: u64,
    /// An auditor key (docs/audit.md), declared in x-tufmirror-auditors; repeatable, as --root-key.
    #[arg(long = "auditor-key", value_name = "KEY")]
    auditor_keys: Vec<String>,
    /// Attestations of distinct auditors a client that requires an audit needs.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "auditor_keys")]
    auditor_threshold: u64,
    /// Days until root version 1 expires.
    #[arg(long, value_name = "DAYS", default_value_t = Role::Root.default_expiry_days())]
    root_expiry_days: i64,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    if args.out.exists() {
        anyhow::bail!("{} exists; edit it with `tufmirror root edit`, or choose another --out", args.out.display());
    }
    let expires = super::expires_in(args.root_expiry_days)?;
    let given = [
        (Role::Root, &args.root_keys, args.root_threshold),
        (Role::Targets, &args.targets_keys, args.targets_threshold),
        (Role::Snapshot, &args.snapshot_keys, args.snapshot_threshold),
        (Role::Timestamp, &args.timestamp_keys, args.timestamp_threshold),
    ];
    let keys = super::public_keys(given.iter().flat_map(|(role, specs, _)| specs.iter().map(|s| (*role, s.as_str()))))?;
    let roles = given
        .iter()
        .map(|(role, _, threshold)| {
            let keys = keys.iter().filter(|(r, _)| r == role).map(|(_, key)| key.clone()).collect();
            (*role, RoleSpec { keys, threshold: *threshold })
        })
        .collect();
    let root = ceremony::initial_root(&roles, expires).context("refusing this root")?;
    let mut edits: Vec<ceremony::Edit> =
        super::auditor_keys(&args.auditor_keys)?.into_iter().map(ceremony::Edit::AddAuditorKey).collect();
    if !edits.is_empty() {
        edits.push(ceremony::Edit::SetAuditorThreshold(args.auditor_threshold));
    }
    let root = ceremony::apply_edits(&root, &edits).context("refusing these auditors")?;
    let proposal = Signed::unsigned(root);
    ceremony::write_proposal(&args.out, &proposal, IfExists::Refuse)?;
    println!("wrote the proposal of root version 1 to {}", args.out.display());
    println!("expires {}", tufmirror_core::time::format(proposal.signed.expires));
    print_roles(&proposal.signed);
    print_next_signers(&args.out, &proposal.signed, None, None, None);
    Ok(())
}
