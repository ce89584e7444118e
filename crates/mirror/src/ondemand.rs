//! On-demand fetching. A request for a crate the mirror lacks (or whose file is due for
//! revalidation) waits while its crate is checked; requests that arrive together are checked
//! together and published as one snapshot, because cargo asks for hundreds of files in a burst
//! and one signature per file would be slow and would flood history.

use crate::check::CheckResult;
use crate::mirror::Mirror;
use crate::publisher::Changes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument as _, error, info_span};
use tufmirror_index::{CrateName, IndexLine};

/// How long a batch keeps collecting after its first request. Short: over HTTP/1.1 cargo keeps at
/// most two requests in flight per host, so only HTTP/2 (behind TLS) brings real bursts, and those
/// arrive within a few milliseconds.
const WINDOW: Duration = Duration::from_millis(10);
/// Batches in flight at once.
const CONCURRENT_BATCHES: usize = 4;
/// The most crates checked in one batch.
const MAX_BATCH: usize = 512;

#[derive(Debug)]
pub(crate) struct Waiter {
    name: CrateName,
    reply: oneshot::Sender<CheckResult>,
}

/// The queue of waiting requests and what recent checks found missing.
#[derive(Debug)]
pub(crate) struct OnDemand {
    queue: mpsc::Sender<Waiter>,
    /// Crates upstream recently did not have: asked again only after `revalidate_after`.
    missing: Mutex<HashMap<String, Instant>>,
}

impl OnDemand {
    pub(crate) fn new() -> (OnDemand, mpsc::Receiver<Waiter>) {
        let (queue, rx) = mpsc::channel(4096);
        (OnDemand { queue, missing: Mutex::new(HashMap::new()) }, rx)
    }
}

impl Mirror {
    /// Checks `name` in the next batch and waits until that batch is published.
    pub async fn check_on_demand(&self, name: CrateName) -> CheckResult {
        let (reply, rx) = oneshot::channel();
        if self.ondemand.queue.send(Waiter { name, reply }).await.is_err() {
            return CheckResult::Failed("the mirror is shutting down".to_owned());
        }
        rx.await.unwrap_or_else(|_| CheckResult::Failed("the mirror is shutting down".to_owned()))
    }

    /// Whether upstream was recently found not to have `name`.
    pub fn recently_missing(&self, name: &CrateName) -> bool {
        let missing = self.ondemand.missing.lock().unwrap_or_else(|p| p.into_inner());
        missing.get(&name.lowercase()).is_some_and(|t| t.elapsed() < self.config.mirror.revalidate_after)
    }

    fn remember_missing(&self, name: &CrateName, missing: bool) {
        let mut map = self.ondemand.missing.lock().unwrap_or_else(|p| p.into_inner());
        if missing {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(name.lowercase(), Instant::now());
        } else {
            map.remove(&name.lowercase());
        }
    }
}

/// Drains the queue: one batch at a time, each published as (at most) one snapshot.
pub(crate) async fn run_batches(mirror: Arc<Mirror>, mut queue: mpsc::Receiver<Waiter>) {
    let running = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_BATCHES));
    loop {
        let first = tokio::select! {
            w = queue.recv() => match w { Some(w) => w, None => return },
            () = mirror.shutdown.cancelled() => return,
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + WINDOW;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(w)) => batch.push(w),
                _ => break,
            }
        }
        let mut by_name: BTreeMap<String, (CrateName, Vec<oneshot::Sender<CheckResult>>)> = BTreeMap::new();
        for w in batch {
            by_name.entry(w.name.lowercase()).or_insert_with(|| (w.name.clone(), Vec::new())).1.push(w.reply);
        }
        // Batches run side by side (a few at a time): one upstream path that hangs for its
        // retries must not hold every other request behind it. Publishing stays one at a time.
        let Ok(permit) = running.clone().acquire_owned().await else { return };
        let mirror = mirror.clone();
        tokio::spawn(async move {
            let span = info_span!("on_demand_batch", crates = by_name.len());
            let names = by_name.values().map(|(n, _)| n.clone()).collect();
            let results = run_batch(&mirror, names).instrument(span).await;
            for (key, (_, waiters)) in by_name {
                let result = results.get(&key).cloned().unwrap_or(CheckResult::Failed("not checked".to_owned()));
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
            drop(permit);
        });
    }
}

async fn run_batch(mirror: &Arc<Mirror>, names: Vec<CrateName>) -> BTreeMap<String, CheckResult> {
    mirror.metrics.on_demand_batches.inc();
    let _guard = mirror.blob_guard.read().await;
    let current = mirror.publisher.current();
    let missing_before: BTreeSet<String> =
        names.iter().map(CrateName::lowercase).filter(|n| current.tree.position(&crate_path(n)).is_err()).collect();
    let mut changes = Changes::default();
    let mut results = BTreeMap::new();
    let mut next = Vec::new();
    for check in check_all(mirror, names).await {
        mirror.remember_missing(&check.name, check.result == CheckResult::NotFound);
        if mirror.config.mirror.prefetch_dependencies
            && check.result == CheckResult::Present
            && missing_before.contains(&check.name.lowercase())
        {
            next.extend(newest_dependencies(&mirror.lines_after(&check)));
        }
        results.insert(check.name.lowercase(), check.result);
        changes.merge(check.changes);
    }
    // What cargo will ask for next: the dependencies of the newest version of each crate that was
    // just fetched. Checked in the same batch, they cost no extra snapshot and no extra round trip.
    let ahead: Vec<CrateName> = next
        .into_iter()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .filter(|n| !results.contains_key(n) && current.tree.position(&crate_path(n)).is_err())
        .filter_map(|n| CrateName::new(&n).ok())
        .filter(|n| mirror.filter.allows(n.as_str()) && !mirror.recently_missing(n))
        .take(MAX_BATCH)
        .collect();
    for check in check_all(mirror, ahead).await {
        mirror.remember_missing(&check.name, check.result == CheckResult::NotFound);
        changes.merge(check.changes);
    }
    if let Err(e) = mirror.commit(changes, false).await {
        error!(error = %crate::error_chain(&e), "publishing an on-demand batch failed; the last snapshot stays served");
        let reason = format!("publishing failed: {e}");
        return results.into_keys().map(|k| (k, CheckResult::Failed(reason.clone()))).collect();
    }
    results
}

async fn check_all(mirror: &Arc<Mirror>, names: Vec<CrateName>) -> Vec<crate::check::CrateCheck> {
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let mirror = mirror.clone();
        tasks.spawn(async move { mirror.check_crate(name).await });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(check) = joined {
            out.push(check);
        }
    }
    out
}

fn crate_path(lowercase_name: &str) -> String {
    tufmirror_index::index_path(lowercase_name)
}

/// The registry dependencies (normal and build, not optional) of the newest version that is not
/// yanked: what cargo resolves first.
fn newest_dependencies(lines: &[IndexLine]) -> Vec<String> {
    let newest = lines
        .iter()
        .filter(|l| !l.yanked)
        .filter_map(|l| semver::Version::parse(&l.vers).ok().map(|v| (v, l)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, l)| l);
    newest
        .map(|l| {
            l.deps
                .iter()
                .filter(|d| d.registry.is_none() && !d.optional && d.kind.as_deref() != Some("dev"))
                .map(|d| d.crate_name().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}
