//! `tufmirror root edit`: change a proposal, or start the proposal of the next root version.

use super::print::{print_next_signers, print_roles};
use anyhow::Context as _;
use std::path::PathBuf;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_repo::ceremony::{self, Edit};
use tufmirror_repo::durable::IfExists;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The proposal to edit; if it does not exist, it is created as the next version of the
    /// newest root in --roots.
    proposal: PathBuf,
    /// The root chain directory (1.root.json, 2.root.json, ...).
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
    /// List a key for a role: ROLE=KEY, KEY a key URI or a PEM public key file. Repeatable.
    #[arg(long = "add-key", value_name = "ROLE=KEY", value_parser = role_value)]
    add: Vec<(Role, String)>,
    /// Remove a role's key: ROLE=KEYID, KEYID a unique prefix of the key id. Repeatable.
    #[arg(long = "remove-key", value_name = "ROLE=KEYID", value_parser = role_value)]
    remove: Vec<(Role, String)>,
    /// Set a role's threshold: ROLE=N. Repeatable.
    #[arg(long = "set-threshold", value_name = "ROLE=N", value_parser = role_threshold)]
    thresholds: Vec<(Role, u64)>,
    /// Declare an auditor key (docs/audit.md): a key URI or a PEM public key file. Repeatable.
    #[arg(long = "add-auditor-key", value_name = "KEY")]
    add_auditors: Vec<String>,
    /// Remove an auditor key: a unique prefix of its key id. Repeatable.
    #[arg(long = "remove-auditor-key", value_name = "KEYID")]
    remove_auditors: Vec<String>,
    /// Attestations of distinct auditors a client that requires an audit needs.
    #[arg(long, value_name = "N")]
    set_auditor_threshold: Option<u64>,
    /// Expire this many days from now (a new proposal: 365 unless given).
    #[arg(long, value_name = "DAYS")]
    set_expiry_days: Option<i64>,
}

fn role_value(s: &str) -> Result<(Role, String), String> {
    let (role, value) = s.split_once('=').ok_or_else(|| format!("expected ROLE=VALUE, got {s:?}"))?;
    if value.is_empty() {
        return Err(format!("{s:?} has nothing after `=`"));
    }
    Ok((role.parse::<Role>().map_err(|e| e.to_string())?, value.to_owned()))
}

fn role_threshold(s: &str) -> Result<(Role, u64), String> {
    let (role, n) = role_value(s)?;
    Ok((role, n.parse().map_err(|_| format!("threshold {n:?} is not a whole number"))?))
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let newest = args.roots.as_deref().map(super::newest_root).transpose()?.flatten();
    let newest = newest.as_ref().map(|r| &r.signed);
    let (base, existing) = if args.proposal.exists() {
        let proposal = ceremony::read_proposal(&args.proposal)?;
        if args.roots.is_some() {
            ceremony::check_follows(&proposal.signed, newest)?;
        }
        (proposal.signed.clone(), Some(proposal))
    } else {
        let dir = args.roots.as_ref().with_context(|| {
            format!(
                "{} does not exist: give --roots DIR to start the next version from the newest root",
                args.proposal.display()
            )
        })?;
        let newest = newest.with_context(|| format!("{} holds no root (1.root.json)", dir.display()))?;
        let expires = super::expires_in(args.set_expiry_days.unwrap_or(Role::Root.default_expiry_days()))?;
        (ceremony::next_version(newest, expires), None)
    };
    let root = ceremony::apply_edits(&base, &edits(&args, existing.is_some())?).context("refusing this edit")?;
    let version = root.version;
    match existing {
        Some(old) if old.signed == root => {
            println!("nothing changed in {}; its {} signature(s) stay", args.proposal.display(), old.signatures.len());
            return Ok(());
        }
        Some(old) => {
            if !old.signatures.is_empty() {
                eprintln!(
                    "note: the signed content of root version {version} changed, so the {} signature(s) collected so far \
                     were dropped ({}); every holder must sign again",
                    old.signatures.len(),
                    old.signatures.iter().map(|s| s.keyid.short()).collect::<Vec<_>>().join(", ")
                );
            }
            write(&args.proposal, &root, IfExists::Replace)?;
            println!("updated the proposal of root version {version} in {}", args.proposal.display());
        }
        None => {
            write(&args.proposal, &root, IfExists::Refuse)?;
            println!(
                "wrote the proposal of root version {version} (following version {}) to {}",
                version - 1,
                args.proposal.display()
            );
        }
    }
    println!("expires {}", tufmirror_core::time::format(root.expires));
    print_roles(&root);
    let previous = ceremony::previous_root(&root, newest);
    print_next_signers(&args.proposal, &root, previous, args.roots.as_deref(), None);
    Ok(())
}

/// The edits the arguments ask for: removals, additions, thresholds, and (for an existing
/// proposal; a new one already has it) the expiry.
fn edits(args: &Args, existing: bool) -> anyhow::Result<Vec<Edit>> {
    let mut edits: Vec<Edit> =
        args.remove.iter().map(|(role, key_id)| Edit::RemoveKey { role: *role, key_id: key_id.clone() }).collect();
    let added = super::public_keys(args.add.iter().map(|(role, spec)| (*role, spec.as_str())))?;
    edits.extend(added.into_iter().map(|(role, key)| Edit::AddKey { role, key }));
    edits.extend(
        args.thresholds.iter().map(|(role, threshold)| Edit::SetThreshold { role: *role, threshold: *threshold }),
    );
    edits.extend(args.remove_auditors.iter().map(|id| Edit::RemoveAuditorKey(id.clone())));
    edits.extend(super::auditor_keys(&args.add_auditors)?.into_iter().map(Edit::AddAuditorKey));
    edits.extend(args.set_auditor_threshold.map(Edit::SetAuditorThreshold));
    if let (Some(days), true) = (args.set_expiry_days, existing) {
        edits.push(Edit::SetExpires(super::expires_in(days)?));
    }
    Ok(edits)
}

/// Writes `root` as a proposal with no signatures: any change drops them.
fn write(path: &std::path::Path, root: &Root, if_exists: IfExists) -> anyhow::Result<()> {
    Ok(ceremony::write_proposal(path, &Signed::unsigned(root.clone()), if_exists)?)
}
