//! On-demand fetching. A request for a crate the mirror lacks (or whose file is due for
//! revalidation) waits while its crate is checked; requests that arrive together are checked
//! together and published as one snapshot, because cargo asks for hundreds of files in a burst
//! and one signature per file would be slow and would flood history.
//!
//! Names the mirror lacks are chosen by whoever sends the request, so what they may cost is
//! bounded (issue 12, hole 5):
//! - at most `mirror.max_new_crate_requests` requests for such names wait at once; more are
//!   answered 503 at once (cargo retries it), so a flood cannot queue minutes of upstream work
//!   ahead of a real request, and a request that is admitted waits for a bounded queue;
//! - each such name costs at most `REQUESTS_PER_NAME` (3) upstream requests (retries included)
//!   per `revalidate_after`, whether upstream answered 404 or failed; a 404 is then answered from
//!   memory, a spent budget with a 503;
//! - while upstream asks for a pause (429, `Retry-After`) no index request is sent: requests that
//!   need upstream get a 503 with the time left;
//! - a check whose requests have all gone (client disconnected, request timed out) is dropped
//!   before it costs upstream anything more, so a flood's work ends with the flood.
//!
//! Never a 404 for a name that was not checked: shedding is always a 503.

use crate::changes::Changes;
use crate::checker::{CheckResult, Checker, CrateCheck};
use crate::clock::Clock;
use crate::error::CheckError;
use crate::metrics::Metrics;
use crate::publisher::Publisher;
use crate::storage::Storage;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, error, info_span};
use tufmirror_index::{CrateName, IndexLine};
use tufmirror_upstream::Allowance;

/// How long a batch keeps collecting after its first request. Short: over HTTP/1.1 cargo keeps at
/// most two requests in flight per host, so only HTTP/2 (behind TLS) brings real bursts, and those
/// arrive within a few milliseconds.
const WINDOW: Duration = Duration::from_millis(10);
/// Batches in flight at once.
const CONCURRENT_BATCHES: usize = 4;
/// The most crates checked in one batch.
const MAX_BATCH: usize = 512;
/// Upstream requests (retries included) that one name the mirror lacks may cost per
/// `revalidate_after`.
pub(crate) const REQUESTS_PER_NAME: u32 = 3;
/// Names whose upstream cost is remembered. Past this, records older than `revalidate_after` are
/// dropped, and if that is not enough, all: memory stays bounded, and what a flood gains by
/// resetting the records is still limited by `max_new_crate_requests`.
const NAMES_REMEMBERED: usize = 100_000;
/// What a request shed because the queue is full is told to wait.
const QUEUE_FULL_RETRY: Duration = Duration::from_secs(1);

/// One request waiting for its crate's check.
#[derive(Debug)]
struct Waiter {
    name: CrateName,
    reply: oneshot::Sender<CheckResult>,
    /// Held while a request for a crate the mirror lacks waits (`max_new_crate_requests`).
    _admitted: Option<OwnedSemaphorePermit>,
}

/// What upstream cost and said for one name the mirror lacks. Times are readings of the
/// clock's monotonic side.
#[derive(Debug, Clone, Copy)]
struct NameRecord {
    /// Start of the current `revalidate_after` window.
    since: Duration,
    /// Upstream requests spent (or reserved by a running check) in the window.
    requests: u32,
    /// When upstream last answered 404 for it.
    not_found_at: Option<Duration>,
}

/// The queue of waiting requests and what recent checks of names the mirror lacks cost and found.
///
/// Contract: [`OnDemand::check`] is safe to call from any number of requests at once; the
/// batches run in a task started by [`OnDemand::start`], a few side by side, and publish one at
/// a time through the publisher. A waiter dropped early (its request gone) is simply not
/// answered. On shutdown the queue stops taking batches and waiters get
/// [`CheckError::ShuttingDown`]. Nothing here is durable: a restart forgets names and budgets,
/// which may cost upstream a few more requests, never a wrong answer.
#[derive(Debug)]
pub struct OnDemand {
    queue: mpsc::Sender<Waiter>,
    /// Taken by [`OnDemand::start`].
    receiver: Mutex<Option<mpsc::Receiver<Waiter>>>,
    /// The batches' task, once started.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    names: Mutex<HashMap<String, NameRecord>>,
    /// Permits for requests of crates the mirror lacks (`max_new_crate_requests`).
    new_requests: Arc<Semaphore>,
    checker: Arc<Checker>,
    publisher: Arc<Publisher>,
    storage: Arc<Storage>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// `mirror.revalidate_after`: the window of the per-name budget and of remembered 404s.
    revalidate_after: Duration,
    /// `mirror.prefetch_dependencies`.
    prefetch_dependencies: bool,
    shutdown: CancellationToken,
}

/// What an [`OnDemand`] queue is built from.
#[derive(Debug)]
pub struct OnDemandParts {
    /// Checks crates.
    pub checker: Arc<Checker>,
    /// Publishes each batch.
    pub publisher: Arc<Publisher>,
    /// The stores (the blob guard).
    pub storage: Arc<Storage>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// `mirror.max_new_crate_requests`.
    pub max_new_requests: usize,
    /// `mirror.revalidate_after`.
    pub revalidate_after: Duration,
    /// `mirror.prefetch_dependencies`.
    pub prefetch_dependencies: bool,
    /// Cancelled when the mirror shuts down.
    pub shutdown: CancellationToken,
}

impl OnDemand {
    /// A queue over `parts`; batches run once [`OnDemand::start`] is called.
    pub fn new(parts: OnDemandParts) -> OnDemand {
        let (queue, rx) = mpsc::channel(4096);
        let new_requests = Arc::new(Semaphore::new(parts.max_new_requests.clamp(1, Semaphore::MAX_PERMITS)));
        OnDemand {
            queue,
            receiver: Mutex::new(Some(rx)),
            task: Mutex::new(None),
            names: Mutex::new(HashMap::new()),
            new_requests,
            checker: parts.checker,
            publisher: parts.publisher,
            storage: parts.storage,
            metrics: parts.metrics,
            clock: parts.clock,
            revalidate_after: parts.revalidate_after,
            prefetch_dependencies: parts.prefetch_dependencies,
            shutdown: parts.shutdown,
        }
    }

    /// Starts running batches (once; later calls do nothing).
    pub fn start(self: &Arc<Self>) {
        let receiver = self.receiver.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(receiver) = receiver {
            let task = tokio::spawn(run_batches(self.clone(), receiver));
            *self.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        }
    }

    /// Waits until the batches' task has ended (it ends on shutdown), so that nothing of this
    /// queue holds the stores any more.
    pub async fn stopped(&self) {
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// How long ago (by the clock's monotonic side) `then` was.
    fn since(&self, then: Duration) -> Duration {
        self.clock.monotonic().saturating_sub(then)
    }

    /// Checks `name` in the next batch and waits until that batch is published. `has_file`: the
    /// current snapshot has its file (a revalidation). A request for a crate the mirror lacks may
    /// be answered [`CheckError::NotAsked`] at once instead (see the module documentation).
    pub async fn check(&self, name: CrateName, has_file: bool) -> CheckResult {
        let admitted = if has_file {
            None
        } else {
            if let Some(left) = self.name_budget_spent(&name) {
                return self.shed("name_budget", left);
            }
            if let Some(left) = self.checker.upstream().paused_for() {
                return self.shed("upstream_paused", left);
            }
            match self.new_requests.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => return self.shed("queue_full", QUEUE_FULL_RETRY),
            }
        };
        let (reply, rx) = oneshot::channel();
        let shutting_down = || CheckResult::Failed(Arc::new(CheckError::ShuttingDown));
        if self.queue.send(Waiter { name, reply, _admitted: admitted }).await.is_err() {
            return shutting_down();
        }
        rx.await.unwrap_or_else(|_| shutting_down())
    }

    fn shed(&self, reason: &'static str, retry_after: Duration) -> CheckResult {
        self.metrics.count_shed(reason);
        CheckResult::not_asked(retry_after)
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, NameRecord>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether upstream was recently found not to have `name`.
    pub fn recently_missing(&self, name: &CrateName) -> bool {
        let window = self.revalidate_after;
        self.names().get(&name.lowercase()).and_then(|r| r.not_found_at).is_some_and(|t| self.since(t) < window)
    }

    /// The time left in `name`'s window if its upstream requests are spent.
    fn name_budget_spent(&self, name: &CrateName) -> Option<Duration> {
        let window = self.revalidate_after;
        let names = self.names();
        let record = names.get(&name.lowercase())?;
        let left = window.checked_sub(self.since(record.since)).filter(|left| !left.is_zero())?;
        (record.requests >= REQUESTS_PER_NAME).then_some(left)
    }

    /// Reserves what is left of `name`'s upstream requests in its window: `Err` with the time
    /// left in the window when nothing is.
    fn reserve_requests(&self, name: &CrateName) -> Result<u32, Duration> {
        let window = self.revalidate_after;
        let now = self.clock.monotonic();
        let mut names = self.names();
        if names.len() >= NAMES_REMEMBERED {
            let recent = |t: Duration| now.saturating_sub(t) < window;
            names.retain(|_, r| recent(r.since) || r.not_found_at.is_some_and(recent));
            if names.len() >= NAMES_REMEMBERED {
                names.clear();
            }
        }
        let record =
            names.entry(name.lowercase()).or_insert(NameRecord { since: now, requests: 0, not_found_at: None });
        if now.saturating_sub(record.since) >= window {
            record.since = now;
            record.requests = 0;
        }
        let granted = REQUESTS_PER_NAME.saturating_sub(record.requests);
        if granted == 0 {
            return Err(window.saturating_sub(now.saturating_sub(record.since)).max(Duration::from_secs(1)));
        }
        record.requests += granted;
        Ok(granted)
    }

    /// Settles a reservation of `granted` requests of which `sent` were used.
    fn settle_requests(&self, name: &CrateName, granted: u32, sent: u32) {
        if let Some(record) = self.names().get_mut(&name.lowercase()) {
            record.requests = record.requests.saturating_sub(granted.saturating_sub(sent));
        }
    }

    /// Remembers what a check found: a 404 is answered from memory for `revalidate_after`; a
    /// crate that is now present needs no record.
    fn remember(&self, name: &CrateName, result: &CheckResult) {
        let mut names = self.names();
        match result {
            CheckResult::NotFound => {
                let now = self.clock.monotonic();
                names
                    .entry(name.lowercase())
                    .or_insert(NameRecord { since: now, requests: 0, not_found_at: None })
                    .not_found_at = Some(now);
            }
            CheckResult::Present => {
                names.remove(&name.lowercase());
            }
            CheckResult::Failed(_) => {}
        }
    }

    /// Checks `name` as an on-demand request needs it: never waiting out upstream's pause, and,
    /// for a crate the mirror lacks (`absent`), within what is left of the name's requests.
    async fn check_wanted(&self, name: CrateName, absent: bool) -> CrateCheck {
        let mut allowance = Allowance { requests: u32::MAX, fail_when_paused: true };
        if !absent {
            return self.checker.check_within(name, allowance).await.0;
        }
        allowance.requests = match self.reserve_requests(&name) {
            Ok(granted) => granted,
            Err(left) => {
                self.metrics.count_shed("name_budget");
                return CrateCheck::not_asked(name, left);
            }
        };
        // A check given up half-way (its requests gone) keeps its reservation: counted as spent.
        let (check, sent) = self.checker.check_within(name, allowance).await;
        self.settle_requests(&check.name, allowance.requests, sent);
        check
    }
}

/// Completes when every waiter has gone (its request was dropped).
async fn all_gone(waiters: &mut [Waiter]) {
    for w in waiters {
        w.reply.closed().await;
    }
}

/// Drains the queue: one batch at a time, each published as (at most) one snapshot.
async fn run_batches(on_demand: Arc<OnDemand>, mut queue: mpsc::Receiver<Waiter>) {
    let running = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
    loop {
        let first = tokio::select! {
            w = queue.recv() => match w { Some(w) => w, None => return },
            () = on_demand.shutdown.cancelled() => return,
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + WINDOW;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(w)) => batch.push(w),
                _ => break,
            }
        }
        let mut by_name: BTreeMap<String, (CrateName, Vec<Waiter>)> = BTreeMap::new();
        for w in batch {
            by_name.entry(w.name.lowercase()).or_insert_with(|| (w.name.clone(), Vec::new())).1.push(w);
        }
        // Batches run side by side (a few at a time): one upstream path that hangs for its
        // retries must not hold every other request behind it. Publishing stays one at a time.
        let Ok(permit) = running.clone().acquire_owned().await else { return };
        let on_demand = on_demand.clone();
        tokio::spawn(async move {
            let span = info_span!("on_demand_batch", crates = by_name.len());
            run_batch(&on_demand, by_name.into_values().collect()).instrument(span).await;
            drop(permit);
        });
    }
}

/// Checks the requested crates (each dropped as soon as nobody waits for it), publishes what
/// changed, and answers the waiters.
async fn run_batch(on_demand: &Arc<OnDemand>, requested: Vec<(CrateName, Vec<Waiter>)>) {
    on_demand.metrics.on_demand_batches.inc();
    let _guard = on_demand.storage.blob_guard.read().await;
    let current = on_demand.publisher.current();
    let mut tasks = tokio::task::JoinSet::new();
    for (name, mut waiters) in requested {
        let absent = current.tree.position(&crate_path(&name.lowercase())).is_err();
        let on_demand = on_demand.clone();
        tasks.spawn(async move {
            let check = tokio::select! {
                check = on_demand.check_wanted(name, absent) => Some(check),
                () = all_gone(&mut waiters) => None,
            };
            if check.is_none() {
                on_demand.metrics.on_demand_abandoned.inc();
            }
            (absent, waiters, check)
        });
    }
    let mut changes = Changes::default();
    let mut answers: Vec<(CheckResult, Vec<Waiter>)> = Vec::new();
    let mut checked = BTreeSet::new();
    let mut next = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((absent, waiters, Some(check))) = joined else { continue };
        on_demand.remember(&check.name, &check.result);
        if on_demand.prefetch_dependencies && matches!(check.result, CheckResult::Present) && absent {
            next.extend(newest_dependencies(&on_demand.checker.lines_after(&check)));
        }
        checked.insert(check.name.lowercase());
        answers.push((check.result, waiters));
        changes.merge(check.changes);
    }
    // What cargo will ask for next: the dependencies of the newest version of each crate that was
    // just fetched. Checked in the same batch, they cost no extra snapshot and no extra round trip.
    let ahead: Vec<CrateName> = next
        .into_iter()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .filter(|n| !checked.contains(n) && current.tree.position(&crate_path(n)).is_err())
        .filter_map(|n| CrateName::new(&n).ok())
        .filter(|n| on_demand.checker.allows(n.as_str()) && !on_demand.recently_missing(n))
        .take(MAX_BATCH)
        .collect();
    for check in check_all(on_demand, ahead).await {
        on_demand.remember(&check.name, &check.result);
        changes.merge(check.changes);
    }
    if let Err(e) = on_demand.publisher.apply(changes, false).await {
        error!(error = %crate::error_chain(&e), "publishing an on-demand batch failed; the last snapshot stays served");
        let failed = Arc::new(CheckError::Publish(Arc::new(e)));
        for (_, waiters) in &mut answers {
            for w in waiters.drain(..) {
                let _ = w.reply.send(CheckResult::Failed(failed.clone()));
            }
        }
        return;
    }
    for (result, waiters) in answers {
        for w in waiters {
            let _ = w.reply.send(result.clone());
        }
    }
}

/// Checks crates nobody is waiting for (dependencies fetched ahead): each is a crate the mirror
/// lacks, within its name's requests.
async fn check_all(on_demand: &Arc<OnDemand>, names: Vec<CrateName>) -> Vec<CrateCheck> {
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let on_demand = on_demand.clone();
        tasks.spawn(async move { on_demand.check_wanted(name, true).await });
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
