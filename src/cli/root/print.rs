//! What the root subcommands print about a proposal: its roles, its signatures, what it still
//! needs, who signs next, and whether the daemon's online keys match a new root.

use std::path::Path;
use tufmirror_core::metadata::{Role, Root};
use tufmirror_mirror::daemon_keys::OnlineKeyReport;
use tufmirror_repo::ceremony::{RootSignatures, Status};

/// Says whether the configured online keys match `root` (on stdout), or warns (on stderr) about
/// every one the daemon's start-up check would refuse.
pub(super) fn print_online_keys(report: &OnlineKeyReport, origin: &str, root: &Root) {
    if report.all_match() {
        println!("the online keys of {origin} match root version {}", root.version);
        return;
    }
    eprintln!(
        "warning: the daemon will refuse to start with {origin} until keys.* match root version {}:",
        root.version
    );
    if let Err(e) = &report.check {
        eprintln!("warning:   {e}");
    }
    for key in &report.configured {
        if let Err(e) = &key.opened {
            eprintln!(
                "warning:   {} = {:?} cannot be opened: {}",
                key.config_key,
                key.uri,
                tufmirror_mirror::error_chain(e)
            );
        }
    }
    for m in &report.mismatches {
        let key = format!("keys.{}", m.role);
        for configured in report.configured.iter().filter(|k| k.role == m.role) {
            let id = configured.opened.as_ref().map_or("(not opened)".to_owned(), ToString::to_string);
            eprintln!("warning:   {key} = {:?} is key {id}", configured.uri);
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

pub(super) fn print_roles(root: &Root) {
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
    if let Ok(Some(auditors)) = tufmirror_core::audit_rules::Auditors::of(root) {
        println!(
            "  auditors  threshold {} of {} key(s) (x-tufmirror-auditors):",
            auditors.threshold,
            auditors.keyids.len()
        );
        for id in &auditors.keyids {
            let scheme = root.keys.get(id).map_or("undefined", |k| k.scheme.as_str());
            println!("    {id} ({scheme})");
        }
    }
}

pub(super) fn print_signatures(whose: &str, s: &RootSignatures) {
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

pub(super) fn print_progress(st: &Status) {
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
pub(in crate::cli) fn print_next_signers(
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
