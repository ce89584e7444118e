//! `tufmirror serve-static --dir OUT --listen ADDR`

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A repository written by `tufmirror publish`.
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    super::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let addr = listener.local_addr()?;
        // The first line of stdout is the address, so that scripts can start on port 0.
        println!("listening on {addr}");
        tracing::info!(%addr, dir = %args.dir.display(), "cargo: sparse+http://{addr}/index/");
        tufmirror_server::serve(listener, tufmirror_server::app(args.dir), super::shutdown_signal()).await?;
        Ok(())
    })
}
