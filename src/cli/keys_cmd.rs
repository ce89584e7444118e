//! `tufmirror keys generate --out DIR`: development keys and the root v1 that `publish` starts from.
//! `tufmirror keys rotate --role ROLE --new KEY ...`: the proposal of a root that replaces an
//! online role's key (a root ceremony then signs and publishes it: see `root/`).
//! `tufmirror keys public --key URI`: a key's id and public half, to hand to a ceremony.

use anyhow::Context as _;
use std::path::PathBuf;
use tufmirror_core::metadata::Role;
use tufmirror_signer::KeyAlgorithm;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Generate one key per role (PKCS#8 PEM, mode 0600) and a root v1 signed by the root key.
    /// For development: production root keys are generated offline and sign in ceremonies.
    Generate(GenerateArgs),
    /// Propose the next root version with an online role's key(s) replaced by a new key. Root key
    /// holders then sign it (`tufmirror root sign`) and it is published (`tufmirror root publish`).
    Rotate(RotateArgs),
    /// Print a key's TUF key id and scheme (stderr) and its public key as PEM (stdout): what a
    /// root key holder hands over for `tufmirror root init` or `root edit --add-key`.
    Public(PublicArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct PublicArgs {
    /// The key: a key URI (file:, pkcs11:, awskms:, vault:, exec:) or a PEM public key file.
    #[arg(long, value_name = "KEY")]
    key: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    /// The online role whose key is replaced.
    #[arg(long, value_enum)]
    role: OnlineRole,
    /// The new key: a key URI (file:, pkcs11:, exec:, vault:, ...) or a PEM public key file.
    #[arg(long, value_name = "KEY")]
    new: String,
    /// Replace only the key whose id starts with this (default: every key of the role).
    #[arg(long, value_name = "KEYID")]
    old: Option<String>,
    /// The root chain directory (1.root.json, 2.root.json, ...).
    #[arg(long, value_name = "DIR", required_unless_present = "config")]
    roots: Option<PathBuf>,
    /// Take the root chain directory from this configuration's keys.root_dir.
    #[arg(long, value_name = "FILE", env = "TUFMIRROR_CONFIG")]
    config: Option<PathBuf>,
    /// The proposal file to create (never overwritten).
    #[arg(long, value_name = "PROPOSAL")]
    out: PathBuf,
    /// Days until the new root version expires.
    #[arg(long, value_name = "DAYS", default_value_t = Role::Root.default_expiry_days())]
    root_expiry_days: i64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnlineRole {
    Timestamp,
    Snapshot,
    Targets,
}

impl From<OnlineRole> for Role {
    fn from(role: OnlineRole) -> Role {
        match role {
            OnlineRole::Timestamp => Role::Timestamp,
            OnlineRole::Snapshot => Role::Snapshot,
            OnlineRole::Targets => Role::Targets,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// Directory to create (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Ed25519)]
    algorithm: Algorithm,
    /// Days until root v1 expires.
    #[arg(long, default_value_t = Role::Root.default_expiry_days())]
    root_expiry_days: i64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Algorithm {
    Ed25519,
    EcdsaP256,
}

pub(super) fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Generate(args) => generate(args),
        Command::Rotate(args) => rotate(args),
        Command::Public(args) => public(args),
    }
}

fn public(args: PublicArgs) -> anyhow::Result<()> {
    let given = super::runtime()?.block_on(super::root::given_key(&args.key)).with_context(|| args.key.clone())?;
    eprintln!("key id {} ({})", given.key.key_id(), given.key.scheme());
    print!("{}", given.key.to_spki_pem());
    Ok(())
}

fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let role = Role::from(args.role);
    // The configuration is read only for its keys.root_dir.
    let config = if args.roots.is_some() { None } else { super::root::load_config(args.config.as_deref())? };
    let roots = super::root::roots_dir(args.roots.as_deref(), config.as_ref())?;
    if args.out.exists() {
        anyhow::bail!("{} exists; choose another --out (a proposal is never overwritten)", args.out.display());
    }
    let newest = super::root::newest_root(&roots)?
        .with_context(|| format!("{} holds no root (1.root.json)", roots.display()))?;
    let expires = super::root::expires_in(args.root_expiry_days)?;
    let given = super::runtime()?
        .block_on(super::root::given_key(&args.new))
        .with_context(|| format!("the new {role} key {}", args.new))?;
    let new_key = given.key;
    let rotation =
        tufmirror_repo::ceremony::rotate_online_key(&newest.signed, role, &new_key, args.old.as_deref(), expires)
            .with_context(|| format!("refusing to rotate the {role} key"))?;
    let proposal = tufmirror_core::metadata::Signed::unsigned(rotation.root);
    tufmirror_repo::ceremony::write_proposal(&args.out, &proposal, tufmirror_repo::durable::IfExists::Refuse)?;
    let root = &proposal.signed;
    println!(
        "wrote the proposal of root version {} (following version {}) to {}",
        root.version,
        newest.signed.version,
        args.out.display()
    );
    for id in &rotation.removed {
        println!("  {role}: removes key {id}");
    }
    println!("  {role}: adds key {} ({})", rotation.added, new_key.scheme());
    if let Some((before, after)) = rotation.threshold_lowered {
        println!("  {role}: threshold lowered from {before} to {after}, the role's number of keys");
    }
    let entry = root.roles.get(role.name());
    println!(
        "  {role}: threshold {} of {} key(s); every other role is unchanged; expires {}",
        entry.map_or(0, |e| e.threshold),
        entry.map_or(0, |e| e.keyids.len()),
        tufmirror_core::time::format(root.expires)
    );
    let uri = if given.public_only {
        format!("<the URI of the key whose public key is {}>", args.new)
    } else {
        format!("{:?}", config_uri(&args.new))
    };
    let config_step = format!(
        "set keys.{role} = {uri} in the daemon's configuration: a running daemon checks its configured keys \
         against the new root when it is handed it and refuses the root otherwise; until the new root is \
         published it keeps signing with the old {role} key"
    );
    super::root::print_next_signers(&args.out, root, Some(&newest.signed), Some(&roots), Some(&config_step));
    Ok(())
}

/// The URI to put in the configuration for a key given on the command line: a relative `file:`
/// path made absolute (in the configuration it would be relative to the configuration's folder).
fn config_uri(spec: &str) -> String {
    let (scheme, rest) = match spec.split_once(':') {
        Some(("file", rest)) => ("file:", rest.strip_prefix("//").unwrap_or(rest)),
        Some(_) => return spec.to_owned(),
        None => ("file:", spec),
    };
    let path = std::path::Path::new(rest);
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    format!("{scheme}{}", absolute.display())
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        anyhow::bail!("{} is not empty; refusing to overwrite keys", args.out.display());
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let algorithm = match args.algorithm {
        Algorithm::Ed25519 => KeyAlgorithm::Ed25519,
        Algorithm::EcdsaP256 => KeyAlgorithm::EcdsaP256,
    };
    let expires = tufmirror_core::time::in_days(time::OffsetDateTime::now_utc(), args.root_expiry_days);
    let keys =
        super::runtime()?.block_on(tufmirror_repo::keys::generate_development_keys(&args.out, algorithm, expires))?;
    let path = args.out.join("1.root.json");
    for (role, key) in &keys {
        println!("{:<9} {}", role.name(), key.key_id());
    }
    println!("wrote 4 keys and {} (expires {})", path.display(), tufmirror_core::time::format(expires));
    Ok(())
}
