//! `tufmirror root init|edit|sign|status|publish`: root ceremonies for offline keys with t-of-n
//! thresholds. The proposal is a standard TUF root metadata file that travels from key holder to
//! key holder; each signs it on their own machine. The rules are in `tufmirror_repo::ceremony`.

use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_core::{KeyId, PublicKey};
use tufmirror_mirror::Config;
use tufmirror_repo::ceremony::{self, DataDirOwner, Edit, RoleSpec, RootSignatures, Status};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Propose root version 1 (consistent_snapshot on) from the key holders' public keys.
    Init(InitArgs),
    /// Edit a proposal, or start the proposal of the next version from the newest root in --roots.
    /// Any change drops the signatures collected so far: the signed content changed.
    Edit(EditArgs),
    /// Sign a proposal with one root key (of the proposal, or of the root it follows).
    Sign(SignArgs),
    /// Show what a proposal says and which root keys have signed it (every signature is checked).
    Status(StatusArgs),
    /// Publish a fully signed proposal as the next N.root.json (or hand it to the running daemon).
    Publish(PublishArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
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
    /// Days until root version 1 expires.
    #[arg(long, value_name = "DAYS", default_value_t = Role::Root.default_expiry_days())]
    root_expiry_days: i64,
}

#[derive(Debug, clap::Args)]
pub struct EditArgs {
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
    /// Expire this many days from now (a new proposal: 365 unless given).
    #[arg(long, value_name = "DAYS")]
    set_expiry_days: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The proposal; the signature is added to it (a key that signed before is replaced).
    proposal: PathBuf,
    /// The root key to sign with (a key URI: file:, pkcs11:, exec:, vault:, ...).
    #[arg(long, value_name = "URI")]
    key: String,
    /// The root chain directory; needed from version 2 on, to know the previous root's keys.
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    proposal: PathBuf,
    /// The root chain directory; from version 2 on, to count the previous root's signatures.
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    proposal: PathBuf,
    /// The root chain directory to add N.root.json to (default: keys.root_dir of --config).
    #[arg(long, value_name = "DIR")]
    roots: Option<PathBuf>,
    /// The daemon's configuration: a running daemon is handed the new root; otherwise its online
    /// keys are checked against the new root.
    #[arg(long, value_name = "FILE", env = "TUFMIRROR_CONFIG")]
    config: Option<PathBuf>,
}

fn role_value(s: &str) -> Result<(Role, String), String> {
    let (role, value) = s.split_once('=').ok_or_else(|| format!("expected ROLE=VALUE, got {s:?}"))?;
    if value.is_empty() {
        return Err(format!("{s:?} has nothing after `=`"));
    }
    Ok((role.parse()?, value.to_owned()))
}

fn role_threshold(s: &str) -> Result<(Role, u64), String> {
    let (role, n) = role_value(s)?;
    Ok((role, n.parse().map_err(|_| format!("threshold {n:?} is not a whole number"))?))
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Init(args) => init(args),
        Command::Edit(args) => edit(args),
        Command::Sign(args) => sign(args),
        Command::Status(args) => status(args),
        Command::Publish(args) => publish(args),
    }
}

/// A key as a holder hands it over.
#[derive(Debug)]
pub(super) struct GivenKey {
    pub key: PublicKey,
    /// Given as a PEM public key file, not as the URI of a key that can sign.
    pub public_only: bool,
}

/// The public half of a key given as a key URI (`file:`, `pkcs11:`, `exec:`, `vault:`, ...) or as
/// a PEM public key file (`-----BEGIN PUBLIC KEY-----`), so that holders can hand over public
/// keys only. Relative paths are relative to the working directory.
pub(super) async fn given_key(spec: &str) -> anyhow::Result<GivenKey> {
    let path = spec.strip_prefix("file:").map(|p| p.strip_prefix("//").unwrap_or(p)).unwrap_or(spec);
    if let Some(key) = ceremony::read_public_key_file(Path::new(path))? {
        return Ok(GivenKey { key, public_only: true });
    }
    let signer = tufmirror_signer::open_signer(spec, &std::env::current_dir()?)
        .await
        .with_context(|| format!("cannot use the key {spec} (a key URI or a PEM public key file)"))?;
    Ok(GivenKey { key: signer.public_key().clone(), public_only: false })
}

async fn public_key(spec: &str) -> anyhow::Result<PublicKey> {
    Ok(given_key(spec).await?.key)
}

pub(super) fn expires_in(days: i64) -> anyhow::Result<OffsetDateTime> {
    if !(1..=3650).contains(&days) {
        anyhow::bail!("an expiry of {days} days is outside 1..=3650");
    }
    Ok(tufmirror_core::time::in_days(OffsetDateTime::now_utc(), days))
}

/// The newest verified root in `dir`, if any.
pub(super) fn newest_root(dir: &Path) -> anyhow::Result<Option<Signed<Root>>> {
    let newest = ceremony::newest_root(dir).with_context(|| format!("reading the root chain in {}", dir.display()))?;
    Ok(newest.map(|r| r.root))
}

fn init(args: InitArgs) -> anyhow::Result<()> {
    if args.out.exists() {
        anyhow::bail!("{} exists; edit it with `tufmirror root edit`, or choose another --out", args.out.display());
    }
    let expires = expires_in(args.root_expiry_days)?;
    let roles = super::runtime()?.block_on(async {
        let mut roles = BTreeMap::new();
        for (role, specs, threshold) in [
            (Role::Root, &args.root_keys, args.root_threshold),
            (Role::Targets, &args.targets_keys, args.targets_threshold),
            (Role::Snapshot, &args.snapshot_keys, args.snapshot_threshold),
            (Role::Timestamp, &args.timestamp_keys, args.timestamp_threshold),
        ] {
            let mut keys = Vec::new();
            for spec in specs {
                keys.push(public_key(spec).await.with_context(|| format!("{role} key {spec}"))?);
            }
            roles.insert(role, RoleSpec { keys, threshold });
        }
        anyhow::Ok(roles)
    })?;
    let root = ceremony::initial_root(&roles, expires).context("refusing this root")?;
    let proposal = Signed::unsigned(root);
    ceremony::write_proposal(&args.out, &proposal, false)?;
    println!("wrote the proposal of root version 1 to {}", args.out.display());
    println!("expires {}", tufmirror_core::time::format(proposal.signed.expires));
    print_roles(&proposal.signed);
    print_next_signers(&args.out, &proposal.signed, None, None, None);
    Ok(())
}

fn edit(args: EditArgs) -> anyhow::Result<()> {
    let newest = args.roots.as_deref().map(newest_root).transpose()?.flatten();
    let (base, existing) = if args.proposal.exists() {
        let proposal = ceremony::read_proposal(&args.proposal)?;
        if args.roots.is_some() {
            ceremony::check_follows(&proposal.signed, newest.as_ref().map(|r| &r.signed))?;
        }
        (proposal.signed.clone(), Some(proposal))
    } else {
        let dir = args.roots.as_ref().with_context(|| {
            format!(
                "{} does not exist: give --roots DIR to start the next version from the newest root",
                args.proposal.display()
            )
        })?;
        let newest = newest.as_ref().with_context(|| format!("{} holds no root (1.root.json)", dir.display()))?;
        let expires = expires_in(args.set_expiry_days.unwrap_or(Role::Root.default_expiry_days()))?;
        (ceremony::next_version(&newest.signed, expires), None)
    };
    let mut edits = Vec::new();
    for (role, key_id) in &args.remove {
        edits.push(Edit::RemoveKey { role: *role, key_id: key_id.clone() });
    }
    let added = super::runtime()?.block_on(async {
        let mut added = Vec::new();
        for (role, spec) in &args.add {
            added.push((*role, public_key(spec).await.with_context(|| format!("{role} key {spec}"))?));
        }
        anyhow::Ok(added)
    })?;
    for (role, key) in added {
        edits.push(Edit::AddKey { role, key });
    }
    for (role, threshold) in &args.thresholds {
        edits.push(Edit::SetThreshold { role: *role, threshold: *threshold });
    }
    if let (Some(days), Some(_)) = (args.set_expiry_days, &existing) {
        edits.push(Edit::SetExpires(expires_in(days)?));
    }
    let root = ceremony::apply_edits(&base, &edits).context("refusing this edit")?;
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
            ceremony::write_proposal(&args.proposal, &Signed::unsigned(root.clone()), true)?;
            println!("updated the proposal of root version {version} in {}", args.proposal.display());
        }
        None => {
            ceremony::write_proposal(&args.proposal, &Signed::unsigned(root.clone()), false)?;
            println!(
                "wrote the proposal of root version {version} (following version {}) to {}",
                version - 1,
                args.proposal.display()
            );
        }
    }
    println!("expires {}", tufmirror_core::time::format(root.expires));
    print_roles(&root);
    let previous = newest.as_ref().map(|r| &r.signed).filter(|p| p.version + 1 == version);
    print_next_signers(&args.proposal, &root, previous, args.roots.as_deref(), None);
    Ok(())
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let mut proposal = ceremony::read_proposal(&args.proposal)?;
    let version = proposal.signed.version;
    let newest = match &args.roots {
        Some(dir) => newest_root(dir)?,
        None if version > 1 => anyhow::bail!(
            "{} is root version {version}: give --roots DIR (the root chain up to version {}) so that the \
             previous root's keys are known",
            args.proposal.display(),
            version - 1
        ),
        None => None,
    };
    let previous = newest.as_ref().map(|r| &r.signed);
    let added = super::runtime()?.block_on(async {
        let signer = tufmirror_signer::open_signer(&args.key, &std::env::current_dir()?)
            .await
            .with_context(|| format!("opening the key {}", args.key))?;
        let added = ceremony::sign_proposal(&mut proposal, previous, signer.as_ref(), OffsetDateTime::now_utc())
            .await
            .with_context(|| format!("refusing to sign {} with {}", args.proposal.display(), args.key))?;
        anyhow::Ok(added)
    })?;
    ceremony::write_proposal(&args.proposal, &proposal, true)?;
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

fn status(args: StatusArgs) -> anyhow::Result<()> {
    let proposal = ceremony::read_proposal(&args.proposal)?;
    let newest = args.roots.as_deref().map(newest_root).transpose()?.flatten();
    // The newest root's signatures count only if it is the root this proposal follows.
    let previous = newest.as_ref().map(|r| &r.signed).filter(|p| p.version + 1 == proposal.signed.version);
    let mut st = ceremony::status(&proposal, previous, OffsetDateTime::now_utc())?;
    if let Some(newest) = newest.as_ref().map(|r| &r.signed)
        && let Err(e) = ceremony::check_follows(&proposal.signed, Some(newest))
    {
        st.problems.push(e.to_string());
        st.ready_to_publish = false;
    }
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

fn publish(args: PublishArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Some(Config::load(Some(path), |var| std::env::var(var).ok())?),
        None => None,
    };
    let roots = match (&args.roots, &config) {
        (Some(dir), _) => dir.clone(),
        (None, Some(config)) => config.keys.root_dir.clone(),
        (None, None) => anyhow::bail!("give --roots DIR (the root chain directory) or --config FILE"),
    };
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
    let newest = newest_root(&roots)?;
    let proposal = ceremony::read_proposal(&args.proposal)?;
    let bytes = ceremony::to_bytes(&proposal)?;
    let now = OffsetDateTime::now_utc();
    let verified = ceremony::check_publishable(&bytes, newest.as_ref().map(|r| &r.signed), now)
        .with_context(|| format!("refusing to publish {}", args.proposal.display()))?;
    let root = &verified.signed;
    let version = root.version;

    let mut _lock = None;
    if let Some(config) = &config {
        match ceremony::data_dir_owner(&config.storage.data_dir)? {
            DataDirOwner::Daemon => {
                println!(
                    "a running daemon owns {}: handing it root version {version}",
                    config.storage.data_dir.display()
                );
                let answer = super::runtime()?
                    .block_on(super::daemon::admin_request(config, reqwest::Method::POST, "root", Some(bytes)))
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
    if let Some(config) = &config {
        super::runtime()?.block_on(warn_about_online_keys(config, root));
    }
    if config.is_none() {
        println!(
            "a daemon whose keys.root_dir is {} adopts it when it next starts (give --config FILE to hand it to a \
             running daemon now and to check its online keys); `tufmirror publish --keys {}` serves it from its next run",
            roots.display(),
            roots.display()
        );
    }
    Ok(())
}

/// Opens the configuration's online keys and warns (on stderr) about every one the daemon's
/// start-up check would refuse under `root`.
async fn warn_about_online_keys(config: &Config, root: &Root) {
    let mut signers = tufmirror_repo::keys::RoleSigners::new();
    let mut configured: BTreeMap<Role, Vec<KeyId>> = BTreeMap::new();
    let mut uris: BTreeMap<Role, Vec<(String, Option<KeyId>)>> = BTreeMap::new();
    let mut lines = Vec::new();
    for (role, key, role_uris) in config.keys.online_roles() {
        for uri in role_uris {
            match tufmirror_signer::open_signer(uri, &config.base_dir).await {
                Ok(signer) => {
                    configured.entry(role).or_default().push(signer.key_id());
                    uris.entry(role).or_default().push((uri.clone(), Some(signer.key_id())));
                    signers.entry(role).or_default().push(signer);
                }
                Err(e) => {
                    lines.push(format!("{key} = {uri:?} cannot be opened: {}", tufmirror_mirror::error_chain(&e)));
                    uris.entry(role).or_default().push((uri.clone(), None));
                }
            }
        }
    }
    let verdict = tufmirror_repo::keys::check_signers(root, &signers);
    let mismatches = ceremony::online_key_mismatches(root, &configured);
    if verdict.is_ok() && mismatches.is_empty() && lines.is_empty() {
        println!("the online keys of {} match root version {}", config.origin, root.version);
        return;
    }
    eprintln!(
        "warning: the daemon will refuse to start with {} until keys.* match root version {}:",
        config.origin, root.version
    );
    if let Err(e) = &verdict {
        eprintln!("warning:   {e}");
    }
    for line in &lines {
        eprintln!("warning:   {line}");
    }
    for m in &mismatches {
        let key = format!("keys.{}", m.role);
        for (uri, id) in uris.get(&m.role).map(Vec::as_slice).unwrap_or_default() {
            let id = id.as_ref().map_or("(not opened)".to_owned(), ToString::to_string);
            eprintln!("warning:   {key} = {uri:?} is key {id}");
        }
        for id in &m.root_keys {
            eprintln!("warning:   {key}: {id} is a root key of root version {}; root keys stay offline", root.version);
        }
        let listed = m.listed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        eprintln!(
            "warning:   root version {} lists for {} (threshold {}): {listed}; {} of the configured keys are listed",
            root.version, m.role, m.threshold, m.usable
        );
        eprintln!(
            "warning:   set {key} to the URI(s) of the key(s) root version {} lists for {}",
            root.version, m.role
        );
    }
}

fn print_roles(root: &Root) {
    for role in Role::ALL {
        let Some(entry) = root.roles.get(role.name()) else {
            continue;
        };
        println!("  {:<9} threshold {} of {} key(s):", role.name(), entry.threshold, entry.keyids.len());
        for id in &entry.keyids {
            let scheme = root.keys.get(id).map_or("undefined", |k| k.scheme.as_str());
            println!("    {id} ({scheme})");
        }
    }
}

fn print_signatures(whose: &str, s: &RootSignatures) {
    println!(
        "  root keys of version {} ({whose}): {} of {} required signatures{}",
        s.root_version,
        s.signed.len(),
        s.threshold,
        if s.missing == 0 { ", threshold met".to_owned() } else { format!(", {} more needed", s.missing) }
    );
    for id in &s.signed {
        println!("    signed:     {id}");
    }
    for id in &s.not_signed {
        println!("    not signed: {id}");
    }
}

fn print_progress(st: &Status) {
    if st.ready_to_publish {
        println!("READY: root version {} meets every threshold; publish it with `tufmirror root publish`", st.version);
        return;
    }
    let mut needed = Vec::new();
    if st.new_root.missing > 0 {
        needed.push(format!("{} more of the root keys of version {}", st.new_root.missing, st.version));
    }
    match (&st.previous_root, st.previous_version) {
        (Some(p), _) if p.missing > 0 => {
            needed.push(format!("{} more of the root keys of version {}", p.missing, p.root_version));
        }
        (None, Some(v)) => needed.push(format!("unknown: the root keys of version {v} (give --roots DIR)")),
        _ => {}
    }
    if st.expired {
        needed.push("a new expiry (the proposal expired)".to_owned());
    }
    if !st.problems.is_empty() {
        needed.push(format!("{} problem(s) fixed", st.problems.len()));
    }
    println!("NOT READY: root version {} needs {}", st.version, needed.join("; "));
}

/// Who must sign next, and how; `config_step` is what to change in the daemon's configuration
/// before publishing, if anything.
pub(super) fn print_next_signers(
    path: &Path,
    root: &Root,
    previous: Option<&Root>,
    roots: Option<&Path>,
    config_step: Option<&str>,
) {
    let roots_arg = roots.map(|d| format!(" --roots {}", d.display())).unwrap_or_default();
    println!("next steps:");
    println!(
        "  1. each root key holder checks the proposal (`tufmirror root status {}{roots_arg}`) and signs it on their own machine:",
        path.display()
    );
    println!("       tufmirror root sign {}{roots_arg} --key <their root key URI>", path.display());
    let root_keys = |r: &Root| r.roles.get("root").map(|e| (e.threshold, e.keyids.clone())).unwrap_or_default();
    let (threshold, keyids) = root_keys(root);
    let same = previous.is_some_and(|p| root_keys(p) == (threshold, keyids.clone()));
    let also = if same {
        format!(" (the same as version {}'s: each signature counts for both)", root.version - 1)
    } else {
        String::new()
    };
    println!(
        "     needed: {threshold} signature(s) of the {} root key(s) of version {}{also}:",
        keyids.len(),
        root.version
    );
    for id in &keyids {
        println!("       {id}");
    }
    match previous {
        Some(p) if !same => {
            let (threshold, keyids) = root_keys(p);
            println!("     and {threshold} signature(s) of the {} root key(s) of version {}:", keyids.len(), p.version);
            for id in &keyids {
                println!("       {id}");
            }
        }
        None if root.version > 1 => println!(
            "     and a threshold of the root keys of version {} (give --roots DIR to list them)",
            root.version - 1
        ),
        _ => {}
    }
    let mut step = 2;
    if let Some(config_step) = config_step {
        println!("  {step}. {config_step}");
        step += 1;
    }
    println!(
        "  {step}. tufmirror root publish {}{roots_arg} [--config FILE]   (with --config, a running daemon is handed the new root)",
        path.display()
    );
}
