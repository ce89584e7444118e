//! `tufmirror`: a crates.io sparse-index mirror that publishes TUF-signed, TAP-16 Merkle snapshots.
//! `main` parses arguments, sets up logging and maps the result to an exit code; each subcommand
//! lives in its own module under `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.log_json);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<cli::ExitStatus>() {
            Some(status) => ExitCode::from(status.0),
            None => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
