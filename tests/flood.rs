//! Hostile load on the daemon's upstream (issue 12, hole 5, and the removal grace): a flood of
//! made-up crate names against a slow upstream, upstream's 429 with `Retry-After`, the upstream
//! requests one missing name may cost, and a removal that waits for 404s spanning
//! `removal_grace`. The real binary against the fake upstream on loopback.

mod common;

use common::HttpResponse;
use common::daemon::{Daemon, DaemonConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tufmirror_testkit::Rng;
use tufmirror_testkit::registry::{index_path, make_crate};
use tufmirror_testkit::upstream::{FakeUpstream, Fault};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn index(daemon: &Daemon, path: &str) -> HttpResponse {
    daemon.get(&format!("/index/{path}"))
}

/// The value of one series in `/metrics` (0 when it was never set).
fn metric(daemon: &Daemon, series: &str) -> f64 {
    let text = String::from_utf8(daemon.get("/metrics").body).expect("metrics are UTF-8");
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().expect("a metric value"))
}

/// `count` made-up, valid crate names that upstream does not have.
fn random_names(count: usize, seed: u64) -> Vec<String> {
    (0..count as u64).map(|i| format!("flood-{:016x}", Rng::for_item(seed, i).next_u64())).collect()
}

/// A status and its `Retry-After`, or `None` if the connection failed or closed without an answer.
type Answer = Option<(u16, Option<String>)>;

/// One GET over its own HTTP/1.1 connection: the status and `Retry-After`, or `None` if the
/// connection failed or closed without an answer.
async fn get(addr: SocketAddr, path: &str) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    read_answer(&mut stream).await
}

async fn read_answer(stream: &mut tokio::net::TcpStream) -> Answer {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let head = String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n")?]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let retry_after = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| v.trim().to_owned());
    Some((status, retry_after))
}

/// Starts one connection per name, each sending one request for the name's index file and
/// waiting for its answer; `sent` counts the requests written.
fn flood(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    names: &[String],
    sent: &Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<Answer>> {
    names
        .iter()
        .map(|name| {
            let path = format!("/index/{}", index_path(name));
            let sent = sent.clone();
            rt.spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
                let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                stream.write_all(request.as_bytes()).await.ok()?;
                sent.fetch_add(1, Ordering::SeqCst);
                read_answer(&mut stream).await
            })
        })
        .collect()
}

fn wait_until_sent(sent: &AtomicUsize, count: usize) -> Duration {
    let start = Instant::now();
    while sent.load(Ordering::SeqCst) < count {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "only {} of {count} requests sent",
            sent.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// The issue's scenario: 2,000 concurrent requests for random absent names, an upstream that
/// answers in 0.5 s, and a request for a real new crate 6 s in, which is answered 200 within
/// 15 s. No absent name costs upstream more than 3 requests, no name is answered 404 without
/// upstream having been asked, and once a flood's clients have gone upstream hears nothing more.
///
/// The flood is 2,000 HTTP/1.1 connections from this process, each with one request, all written
/// within about a second: from the daemon's side 2,000 requests in flight at once, as 2,000 cargo
/// processes (or one attacker) would send them. HTTP/2 streams would be cheaper for the attacker
/// but reach the same on-demand queue.
#[test]
fn a_flood_of_made_up_names_does_not_starve_a_real_crate() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    upstream.set_delay(Duration::from_millis(500));
    let real = make_crate("real-new-crate", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&real, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));

    let names = random_names(2000, 1);
    let sent = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let flood_tasks = flood(&rt, daemon.addr, &names, &sent);
    let took = wait_until_sent(&sent, names.len());
    eprintln!("2000 flood requests written in {took:?}");

    std::thread::sleep(Duration::from_secs(6).saturating_sub(start.elapsed()));
    let asked = Instant::now();
    let answer = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(15), get(daemon.addr, &format!("/index/{}", index_path(&real.name))))
            .await
    });
    let waited = asked.elapsed();
    eprintln!("the real crate, asked 6 s into the flood, was answered after {waited:?}: {answer:?}");
    let answer = answer.unwrap_or_else(|_| panic!("the real crate got no answer within 15 s"));
    assert_eq!(answer.map(|a| a.0), Some(200), "the real crate is served during the flood");

    let answers: Vec<_> = rt.block_on(async {
        let mut out = Vec::new();
        for task in flood_tasks {
            out.push(tokio::time::timeout(Duration::from_secs(30), task).await.expect("flood answer").expect("task"));
        }
        out
    });
    let mut statuses = BTreeMap::<u16, usize>::new();
    for (name, answer) in names.iter().zip(&answers) {
        let path = index_path(name);
        let hits = upstream.hits(&path);
        assert!(hits <= 3, "{name}: upstream asked {hits} times");
        let (status, retry_after) = answer.clone().unwrap_or_else(|| panic!("{name}: no answer"));
        *statuses.entry(status).or_default() += 1;
        match status {
            404 => assert!(hits >= 1, "{name}: a 404 without asking upstream"),
            503 => assert!(
                retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
                "{name}: 503 without Retry-After"
            ),
            other => panic!("{name}: answered {other}"),
        }
    }
    eprintln!("flood answers by status: {statuses:?}; upstream requests: {}", upstream.total_hits());
    assert!(metric(&daemon, r#"tufmirror_on_demand_shed_total{reason="queue_full"}"#) > 0.0);

    // A second flood whose clients leave 1 s after sending: its queued checks are dropped and
    // upstream stops hearing from the mirror (requests already sent finish within the 0.5 s delay).
    let names = random_names(2000, 2);
    let sent = Arc::new(AtomicUsize::new(0));
    let flood_tasks = flood(&rt, daemon.addr, &names, &sent);
    wait_until_sent(&sent, names.len());
    std::thread::sleep(Duration::from_secs(1));
    for task in &flood_tasks {
        task.abort();
    }
    rt.block_on(async {
        for task in flood_tasks {
            let _ = task.await;
        }
    });
    let gone = upstream.total_hits();
    std::thread::sleep(Duration::from_millis(1500));
    let settled = upstream.total_hits();
    std::thread::sleep(Duration::from_secs(2));
    let later = upstream.total_hits();
    eprintln!("upstream requests: {gone} when the clients left, {settled} 1.5 s later, {later} 3.5 s later");
    assert_eq!(later, settled, "upstream keeps being asked after the flood's clients left");
    assert!(metric(&daemon, "tufmirror_on_demand_abandoned_total") > 0.0, "checks were dropped");
    for name in &names {
        assert!(upstream.hits(&index_path(name)) <= 3, "{name}");
    }
}

/// A 429 with `Retry-After` pauses every index request: while it lasts, upstream hears nothing,
/// requests that need upstream get a 503 with the time left, and a file the mirror has is served
/// as it is; afterwards upstream is asked again.
#[test]
fn a_429_with_retry_after_pauses_every_upstream_request() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let have = make_crate("have-it", "1.0.0", &[], "pub fn f() {}");
    let later = make_crate("later-crate", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&have, false);
    upstream.publish(&later, false);
    let limited = index_path("rate-limited");
    upstream.set_fault(&limited, Fault::RetryAfter(429, 3));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"1s\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    let have_path = index_path(&have.name);
    assert_eq!(index(&daemon, &have_path).status, 200);
    std::thread::sleep(Duration::from_millis(1200));

    let limited_answer = index(&daemon, &limited);
    let paused_at = Instant::now();
    assert_eq!(limited_answer.status, 503, "{:?}", String::from_utf8_lossy(&limited_answer.body));
    let retry_after: u64 = limited_answer.headers["retry-after"].parse().expect("seconds");
    assert!((1..=3).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(upstream.hits(&limited), 1, "no retry while upstream asks for a pause");

    let before = upstream.total_hits();
    let later_path = index_path(&later.name);
    let during = index(&daemon, &later_path);
    assert_eq!(during.status, 503, "a crate the mirror lacks waits for the pause");
    assert!(during.headers.contains_key("retry-after"));
    let stale = index(&daemon, &have_path);
    assert_eq!(stale.status, 200, "a file the mirror has is served during the pause");
    assert_eq!(stale.body, format!("{}\n", have.index_line(false)).into_bytes());
    assert_eq!(index(&daemon, &index_path("never-heard-of")).status, 503, "never a 404 for an unchecked name");
    assert!(paused_at.elapsed() < Duration::from_secs(2), "the pause lasts 3 s; the asserts above ran within it");
    assert_eq!(upstream.total_hits(), before, "upstream heard nothing during the pause");
    assert_eq!(upstream.hits(&later_path), 0);
    assert!(metric(&daemon, r#"tufmirror_on_demand_shed_total{reason="upstream_paused"}"#) >= 2.0);

    std::thread::sleep(Duration::from_secs(3).saturating_sub(paused_at.elapsed()) + Duration::from_millis(300));
    assert_eq!(index(&daemon, &later_path).status, 200, "upstream is asked again after the pause");
    assert_eq!(upstream.hits(&later_path), 1);
}

/// A name upstream fails for costs at most 3 upstream requests per `revalidate_after`, retries
/// included; then it is answered 503 without asking. A 404 is remembered as before.
#[test]
fn a_failing_name_costs_at_most_three_upstream_requests() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let failing = index_path("always-failing");
    upstream.set_fault(&failing, Fault::Status(500));
    let dir = tempfile::tempdir().expect("tempdir");
    // The test configuration has `retries = 1`: two requests per check.
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    let statuses: Vec<u16> = (0..5).map(|_| index(&daemon, &failing).status).collect();
    assert_eq!(statuses, [502, 502, 503, 503, 503], "upstream failed twice, then the name's requests are spent");
    assert_eq!(upstream.hits(&failing), 3, "3 upstream requests per name per revalidate_after");
    assert_eq!(metric(&daemon, r#"tufmirror_on_demand_shed_total{reason="name_budget"}"#), 3.0);

    let missing = index_path("not-there");
    assert_eq!(index(&daemon, &missing).status, 404);
    assert_eq!(index(&daemon, &missing).status, 404);
    assert_eq!(upstream.hits(&missing), 1, "a 404 is remembered");
}
