//! `tufmirror quarantine list|accept PATH|reject PATH`: decide about upstream files that would
//! rewrite signed history. Talks to the running daemon (`/admin/`), or opens the data folder
//! itself when no daemon runs.
//!
//! `list` prints a table when its output is a terminal, and JSON otherwise or with `--json`. JSON
//! for a pipe because that is what `list` printed before it had a table: scripts that read it
//! (`| jq`) keep working unchanged, and only a person at a terminal sees the new form. The JSON is
//! the same either way: a list of `{path, sha256, reason, detected_at, rejected}`.

use super::daemon_access::{ConfigArg, admin_request, open_mirror};
use serde_json::Value;
use std::io::IsTerminal as _;
use tufmirror_mirror::OpenError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Show quarantined files and why they were held: a table on a terminal, JSON otherwise.
    List {
        /// Print JSON even on a terminal (what a pipe gets anyway).
        #[arg(long)]
        json: bool,
    },
    /// Publish the quarantined file as the crate's file (its changed versions get the new cksum).
    Accept { path: String },
    /// Keep serving the last good file; ignore these upstream bytes from now on.
    Reject { path: String },
}

pub(super) fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let output = super::runtime()?.block_on(async {
        let (method, route) = match &args.action {
            Action::List { .. } => (reqwest::Method::GET, "quarantine".to_owned()),
            Action::Accept { path } => (reqwest::Method::POST, format!("quarantine/accept?path={path}")),
            Action::Reject { path } => (reqwest::Method::POST, format!("quarantine/reject?path={path}")),
        };
        let shutdown = tokio_util::sync::CancellationToken::new();
        match open_mirror(config.clone(), shutdown.clone()).await {
            Ok(mirror) => {
                let out = match &args.action {
                    Action::List { .. } => serde_json::to_string_pretty(&mirror.quarantine().list()?)?,
                    Action::Accept { path } => {
                        format!("accepted {path}: snapshot {}", mirror.quarantine().accept(path).await?)
                    }
                    Action::Reject { path } => {
                        mirror.quarantine().reject(path).await?;
                        format!("rejected {path}")
                    }
                };
                shutdown.cancel();
                Ok(out)
            }
            Err(e) if matches!(e.downcast_ref::<OpenError>(), Some(OpenError::Locked { .. })) => {
                admin_request(&config, method, &route, None).await
            }
            Err(e) => Err(e),
        }
    })?;
    match args.action {
        Action::List { json: false } if std::io::stdout().is_terminal() => {
            let list: Vec<Value> = serde_json::from_str(&output)
                .map_err(|e| anyhow::anyhow!("the quarantine list is not the JSON expected ({e}): {output}"))?;
            print!("{}", table(&list));
        }
        _ => println!("{output}"),
    }
    Ok(())
}

/// The list as a person reads it: one line per file (path, since when, held or rejected, the
/// start of its hash, why), widest column last, and what to do next.
fn table(list: &[Value]) -> String {
    if list.is_empty() {
        return "no files in quarantine\n".to_owned();
    }
    let text = |entry: &Value, key: &str| entry[key].as_str().unwrap_or("?").to_owned();
    let mut rows = vec![["PATH", "DETECTED (UTC)", "STATE", "SHA256", "REASON"].map(str::to_owned)];
    for entry in list {
        let detected = entry["detected_at"]
            .as_i64()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .map_or_else(|| "?".to_owned(), tufmirror_core::time::format);
        let state = if entry["rejected"].as_bool() == Some(true) { "rejected" } else { "held" };
        let sha256: String = text(entry, "sha256").chars().take(12).collect();
        // One line per file: a reason never breaks the table.
        let reason = text(entry, "reason").replace(['\n', '\r'], " ");
        rows.push([text(entry, "path"), detected, state.to_owned(), sha256, reason]);
    }
    let widths: Vec<usize> = (0..4).map(|i| rows.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        for (cell, width) in row.iter().zip(&widths) {
            out.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out.push_str("\n`held`: the last good file is served until `tufmirror quarantine accept PATH` or `reject PATH`.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::table;
    use serde_json::json;

    #[test]
    fn the_table_has_one_aligned_line_per_file() {
        let list = [
            json!({"path": "3/a/abc", "sha256": "00112233445566778899", "reason": "abc: version 1.0.0\nchanged",
                   "detected_at": 0, "rejected": false}),
            json!({"path": "ap/p-/app-lib", "sha256": "ffeeddccbbaa99887766", "reason": "app-lib: gone",
                   "detected_at": 86400, "rejected": true}),
        ];
        let out = table(&list);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("PATH           DETECTED (UTC)        STATE     SHA256        REASON"), "{out}");
        assert_eq!(lines[1], "3/a/abc        1970-01-01T00:00:00Z  held      001122334455  abc: version 1.0.0 changed");
        assert_eq!(lines[2], "ap/p-/app-lib  1970-01-02T00:00:00Z  rejected  ffeeddccbbaa  app-lib: gone");
        assert_eq!(table(&[]), "no files in quarantine\n");
    }
}
