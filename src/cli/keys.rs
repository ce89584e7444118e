//! `tufmirror keys generate --out DIR`: development keys and the root v1 that `publish` starts from.

use anyhow::Context as _;
use std::path::PathBuf;
use tufmirror_core::metadata::Role;
use tufmirror_signer::KeyAlgorithm;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Generate one key per role (PKCS#8 PEM, mode 0600) and a root v1 signed by the root key.
    /// For development: production root keys are generated offline and sign in ceremonies.
    Generate(GenerateArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
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

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Generate(args) => generate(args),
    }
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
