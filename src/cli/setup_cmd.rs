//! `tufmirror setup --mirror URL --root FILE [--listen ADDR] [--name NAME] [--cargo-home DIR]
//! [--state DIR] [--install-service [--enable]]`
//!
//! Points cargo at the verifying proxy (`tufmirror_proxy::setup`): stores the root under
//! `$XDG_CONFIG_HOME/tufmirror/NAME/root.json`, edits `$CARGO_HOME/config.toml` (backup kept),
//! and with `--install-service` writes the systemd user unit; `--enable` also runs
//! `systemctl --user daemon-reload` and `systemctl --user enable --now tufmirror-proxy.service`.
//! Running it again with the same arguments changes nothing.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use tufmirror_proxy::setup::{Change, FileChange, ServicePlan, SetupPlan, service};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The mirror, the root (copied into the configuration folder) and the proxy's state folder.
    #[command(flatten)]
    mirror: super::verify_cmd::MirrorArgs,
    /// Where the proxy listens.
    #[arg(long, default_value = tufmirror_proxy::setup::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The configuration folder's name under $XDG_CONFIG_HOME/tufmirror [default: the mirror's
    /// host and port].
    #[arg(long)]
    name: Option<String>,
    /// Cargo's home folder [default: $CARGO_HOME, else ~/.cargo].
    #[arg(long)]
    cargo_home: Option<PathBuf>,
    /// Write the systemd user unit tufmirror-proxy.service.
    #[arg(long)]
    install_service: bool,
    /// Also enable and start the unit with systemctl --user.
    #[arg(long, requires = "install_service")]
    enable: bool,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let name = args.name.unwrap_or_else(|| tufmirror_proxy::setup::default_name(&args.mirror.mirror));
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        bail!("--name {name:?} must be a plain folder name");
    }
    let config_home = tufmirror_client::dirs::config_home().context("set XDG_CONFIG_HOME or HOME")?;
    let cargo_home = match args.cargo_home.or_else(|| std::env::var_os("CARGO_HOME").map(PathBuf::from)) {
        Some(dir) => dir,
        None => PathBuf::from(std::env::var_os("HOME").context("set --cargo-home, CARGO_HOME or HOME")?).join(".cargo"),
    };
    let state_dir = match args.mirror.state {
        Some(dir) => dir,
        None => tufmirror_client::dirs::mirror_state_dir("proxy", &args.mirror.mirror)
            .context("set --state, XDG_STATE_HOME or HOME")?,
    };
    let service = if args.install_service {
        let exe = std::env::current_exe().context("cannot find the tufmirror executable")?;
        Some(ServicePlan { unit_dir: config_home.join("systemd/user"), exe })
    } else {
        None
    };
    let plan = SetupPlan {
        root: std::fs::read(&args.mirror.root)
            .with_context(|| format!("cannot read the root {}", args.mirror.root.display()))?,
        mirror_url: args.mirror.mirror,
        config_dir: config_home.join("tufmirror").join(&name),
        listen: args.listen,
        cargo_home,
        state_dir,
        service,
    };
    let report = tufmirror_proxy::setup::apply(&plan, time::OffsetDateTime::now_utc())?;
    print_change("trusted root", &report.root);
    print_change("cargo configuration", &report.cargo_config);
    if let Some(ignored) = &report.ignored_cargo_config {
        println!(
            "note: cargo reads {} and ignores {} while both exist: merge them into one",
            report.cargo_config.path.display(),
            ignored.display()
        );
    }
    println!("cargo reads crates.io from {}", tufmirror_proxy::setup::registry_url(plan.listen));
    let Some(unit) = &report.unit else {
        println!("start the proxy: tufmirror {}", report.proxy_args.join(" "));
        return Ok(());
    };
    print_change("systemd user unit", unit);
    let commands: [&[&str]; 2] = [&["--user", "daemon-reload"], &["--user", "enable", "--now", service::UNIT_NAME]];
    if !args.enable {
        println!(
            "enable and start it: systemctl --user daemon-reload && systemctl --user enable --now {}",
            service::UNIT_NAME
        );
        return Ok(());
    }
    for command in commands {
        let status = std::process::Command::new("systemctl")
            .args(command)
            .status()
            .with_context(|| format!("cannot run systemctl {}", command.join(" ")))?;
        if !status.success() {
            bail!("systemctl {} failed ({status})", command.join(" "));
        }
    }
    println!("enabled and started {}", service::UNIT_NAME);
    Ok(())
}

fn print_change(what: &str, file: &FileChange) {
    let path = file.path.display();
    match &file.change {
        Change::Created => println!("{what}: wrote {path}"),
        Change::Unchanged => println!("{what}: {path} already set up"),
        Change::Replaced { backup } => println!("{what}: updated {path} (previous copy: {})", backup.display()),
    }
}
