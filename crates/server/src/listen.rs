//! The one serving loop of the daemon, `tufmirror proxy` and `tufmirror serve-static`: hyper's
//! HTTP/1.1 and HTTP/2 (auto-detected) over a router, with the limits that keep slow or idle
//! clients from taking the server down.
//!
//! - **Header timeout.** A new connection must deliver a whole request head within
//!   `header_timeout`; on HTTP/1.1, so must each later request once the server waits for it.
//!   Bytes trickling in do not extend it.
//! - **Idle timeout.** A connection with no request in progress (its response body included) is
//!   closed after `idle_timeout` (`header_timeout` before its first request). This also covers the
//!   wait for the first bytes, when HTTP/1 and HTTP/2 are told apart, and idle HTTP/2 connections.
//! - **Connection cap.** At most `max_connections` connections at once, and never so many that
//!   the file limit could run out for the files and upstream sockets that requests need: the cap
//!   is lowered to three quarters of the file limit (at least 64 descriptors kept back). When the
//!   cap is reached, the connection that has been idle longest (no request in progress: a slow
//!   client still sending its head, or one that sends nothing) is closed to make room; the
//!   legitimate client behind 1,000 slow ones from the same address is served at once, not after
//!   their timeouts. Only when every connection is busy does the loop stop accepting, and the
//!   kernel's backlog holds new ones until a connection ends.
//! - **Accept errors** (`EMFILE` included) are logged and retried after a pause; they never end
//!   the loop.
//! - **Graceful shutdown.** When `shutdown` completes, the listener closes, idle connections are
//!   closed, and requests in progress finish before [`serve`] returns.
//!
//! At start the soft file limit is raised to the hard one (as Go's runtime does): a unit's
//! `LimitNOFILE=` then takes effect whatever the soft default is.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The serving loop's limits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// How long a client may take to send a request's headers (`server.header_timeout`).
    pub header_timeout: Duration,
    /// How long a connection may stay idle between requests (`server.idle_timeout`).
    pub idle_timeout: Duration,
    /// The most connections at once (`server.max_connections`, lowered to fit the file limit).
    pub max_connections: usize,
}

impl Default for ServeOptions {
    /// 15 s for a request head (nginx allows 60 s; cargo sends its head at once), 60 s idle (about
    /// what cargo keeps a connection for between two batches of requests), 10,000 connections.
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// Pause after an accept error that is not about one connection (`EMFILE`, `ENFILE`, `ENOMEM`).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// [`serve_with`] the default options (`tufmirror proxy`, `tufmirror serve-static`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, ServeOptions::default(), shutdown).await
}

/// Serves `router` on `listener` with `options` until `shutdown` completes, then closes the
/// listener and idle connections and waits for requests in progress.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connection_cap(options.max_connections, raise_file_limit());
    let connections = Arc::new(Connections::default());
    let stop = CancellationToken::new();
    tokio::pin!(shutdown);
    'accept: loop {
        let mut warned = false;
        while connections.len() >= cap {
            let freed = connections.freed.notified();
            if !connections.evict_longest_idle() && !warned {
                tracing::warn!(connections = cap, "every connection is busy: not accepting until one ends");
                warned = true;
            }
            tokio::select! {
                () = freed => {}
                () = tokio::time::sleep(ACCEPT_PAUSE) => {}
                () = &mut shutdown => break 'accept,
            }
        }
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed; retrying");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break 'accept,
        };
        let _ = stream.set_nodelay(true);
        let (slot, activity, evict) = connections.add();
        tokio::spawn(connection(stream, router.clone(), options, activity, evict, stop.clone(), slot));
    }
    drop(listener);
    stop.cancel();
    loop {
        let freed = connections.freed.notified();
        if connections.len() == 0 {
            return Ok(());
        }
        freed.await;
    }
}

/// The most connections served at once under the file limit `file_limit` (`None`: unlimited).
fn connection_cap(max_connections: usize, file_limit: Option<u64>) -> usize {
    let cap = match file_limit {
        Some(limit) => {
            let room = limit.saturating_sub((limit / 4).max(64)).max(1);
            max_connections.min(usize::try_from(room).unwrap_or(usize::MAX))
        }
        None => max_connections,
    };
    let cap = cap.max(1);
    if cap < max_connections {
        tracing::info!(cap, file_limit, "the file limit allows this many connections at once");
    }
    cap
}

/// Raises the soft limit on open files to the hard limit; returns the limit in effect.
fn raise_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return limit.maximum;
        }
    }
    limit.current
}

/// Errors that concern only the connection being accepted: the next accept may well succeed.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// What the serving loop knows about one connection.
#[derive(Debug, Clone, Copy)]
struct Activity {
    /// Requests whose response (body included) is not finished yet.
    in_flight: usize,
    /// Requests begun on this connection.
    requests: u64,
    /// When `in_flight` last became 0 (or the connection was accepted).
    idle_since: Instant,
}

#[derive(Debug)]
struct Slot {
    activity: watch::Receiver<Activity>,
    evict: Arc<Notify>,
    evicted: bool,
}

/// The open connections, for the cap and for choosing which to close.
#[derive(Debug, Default)]
struct Connections {
    slots: Mutex<HashMap<u64, Slot>>,
    next: AtomicU64,
    /// Signalled each time a connection ends.
    freed: Notify,
}

/// Removes its connection from [`Connections`] when the connection's task ends.
struct SlotGuard {
    connections: Arc<Connections>,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.connections.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
        self.connections.freed.notify_one();
    }
}

impl Connections {
    fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn add(self: &Arc<Self>) -> (SlotGuard, Arc<watch::Sender<Activity>>, Arc<Notify>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(Activity { in_flight: 0, requests: 0, idle_since: Instant::now() });
        let evict = Arc::new(Notify::new());
        let slot = Slot { activity: rx, evict: evict.clone(), evicted: false };
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).insert(id, slot);
        (SlotGuard { connections: self.clone(), id }, Arc::new(tx), evict)
    }

    /// Asks the connection idle longest to close; `false` when every connection is busy.
    fn evict_longest_idle(&self) -> bool {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = slots
            .values_mut()
            .filter(|slot| !slot.evicted)
            .filter_map(|slot| {
                let activity = *slot.activity.borrow();
                (activity.in_flight == 0).then_some((activity.idle_since, slot))
            })
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((_, slot)) => {
                slot.evicted = true;
                slot.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Counts one request from its start until its response body is finished or dropped.
struct InFlight(Arc<watch::Sender<Activity>>);

impl InFlight {
    fn begin(activity: &Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|a| {
            a.in_flight += 1;
            a.requests += 1;
        });
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

/// A response body that keeps its request counted as in progress until it is sent.
struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Completes once the connection has had no request in progress for too long: `header_timeout`
/// before its first request, `idle_timeout` after.
async fn idle(mut activity: watch::Receiver<Activity>, options: ServeOptions) {
    loop {
        let now = *activity.borrow_and_update();
        if now.in_flight > 0 {
            if activity.changed().await.is_err() {
                return std::future::pending().await;
            }
            continue;
        }
        let limit = if now.requests == 0 { options.header_timeout } else { options.idle_timeout };
        tokio::select! {
            () = tokio::time::sleep_until(now.idle_since + limit) => return,
            changed = activity.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    router: Router,
    options: ServeOptions,
    activity: Arc<watch::Sender<Activity>>,
    evict: Arc<Notify>,
    stop: CancellationToken,
    _slot: SlotGuard,
) {
    let watchdog = activity.subscribe();
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = InFlight::begin(&activity);
            let router = router.clone();
            async move {
                let response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| axum::body::Body::new(Tracked { body, _in_flight: in_flight })))
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(options.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let idle = idle(watchdog, options);
    tokio::pin!(idle);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = stop.cancelled(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            () = evict.notified() => {
                if activity.borrow().in_flight == 0 {
                    tracing::debug!("closing an idle connection to make room for a new one");
                    return;
                }
            }
            () = &mut idle => {
                tracing::debug!("closing a connection idle for too long");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_under_the_file_limit() {
        assert_eq!(connection_cap(10_000, Some(1024)), 768);
        assert_eq!(connection_cap(10_000, Some(100)), 36);
        assert_eq!(connection_cap(10_000, Some(10)), 1);
        assert_eq!(connection_cap(500, Some(65_536)), 500);
        assert_eq!(connection_cap(10_000, None), 10_000);
    }
}
