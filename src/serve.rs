//! The HTTP listener, with the limits a port open to anyone needs: a connection that sends its
//! headers byte by byte, or nothing, or idles between requests is closed after
//! `[server] header_timeout`; at most `[server] max_connections` are served at once (past it
//! the connection idle the longest is closed to make room, or the new one when every
//! connection is busy, so sockets cannot hold the file descriptors the daemon needs); HTTP/2
//! flow-control windows and the HTTP/1 read buffer are small, so that a connection cannot make
//! the daemon buffer much of what it sends before it is read; and running
//! out of file descriptors makes the accept loop wait, not spin. A request body that is not
//! all there within `[server] body_timeout` fails with [`BodyTimeout`], which the intakes
//! answer with 408.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::{debug, info, warn};

/// How long the accept loop waits after a failed accept (out of file descriptors, mostly).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// How long open connections get to finish their requests at shutdown.
const DRAIN: Duration = Duration::from_secs(5);
/// Streams one HTTP/2 connection may carry at once.
const H2_STREAMS: u32 = 32;
/// What an HTTP/2 client may send before the daemon reads it, per connection and per stream:
/// what a connection can make the daemon buffer while its handler waits (hyper's defaults, 1
/// MiB each, let 1,024 connections park a gigabyte).
const H2_CONNECTION_WINDOW: u32 = 128 * 1024;
const H2_STREAM_WINDOW: u32 = 64 * 1024;
/// An HTTP/1 connection's read buffer at most (hyper's default is about 400 KiB): the largest
/// request head accepted, and what a connection sending one slowly can make the daemon hold.
const H1_BUFFER: usize = 64 * 1024;
/// How long a new connection waits for the room an idle one is closed to make.
const SHED_WAIT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl From<&crate::config::ServerConfig> for Limits {
    fn from(server: &crate::config::ServerConfig) -> Limits {
        Limits {
            header_timeout: server.header_timeout,
            body_timeout: server.body_timeout,
            max_connections: server.max_connections as usize,
        }
    }
}

/// A request body still not read in full when `[server] body_timeout` passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(Duration);

/// True when `e`, or an error it was caused by, is an `E`.
pub fn caused_by<E: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<E>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A body that fails with [`BodyTimeout`] once its time is up.
struct TimedBody {
    inner: Body,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout(self.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// `app` with every request body bounded in time.
fn with_body_timeout(app: Router, limit: Duration) -> Router {
    app.layer(axum::middleware::map_request(
        move |req: axum::extract::Request| async move {
            req.map(|inner| {
                Body::new(TimedBody {
                    inner,
                    limit,
                    deadline: Box::pin(tokio::time::sleep(limit)),
                })
            })
        },
    ))
}

/// Serves `app` on `listener` until `stop` turns true, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(H1_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_STREAMS)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let app = with_body_timeout(app, limits.body_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Open {
        next: AtomicU64::new(0),
        started: Instant::now(),
        conns: Mutex::default(),
    });
    let mut failing = false;
    let mut refused = 0u64;
    let mut shed = 0u64;
    let mut stopping = stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = async { drop(stopping.wait_for(|stop| *stop).await) } => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => {
                if std::mem::take(&mut failing) {
                    info!("accepting connections again");
                }
                tcp
            }
            Err(e) => {
                // EMFILE/ENFILE: the connections being served free descriptors as they end.
                if !std::mem::replace(&mut failing, true) {
                    warn!(error = %e, "cannot accept connections; waiting for file descriptors");
                }
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            // Full: the connection idle the longest makes room, if there is one.
            Err(_) if open.close_idlest() => {
                shed += 1;
                if shed.is_power_of_two() {
                    info!(
                        max = limits.max_connections,
                        closed = shed,
                        "connection limit reached; the connections idle the longest are closed"
                    );
                }
                tokio::time::timeout(SHED_WAIT, permits.clone().acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            Err(_) => None,
        };
        let Some(permit) = permit else {
            refused += 1;
            if refused.is_power_of_two() {
                warn!(
                    max = limits.max_connections,
                    closed = refused,
                    "connection limit reached with every connection busy; new connections are closed"
                );
            }
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let conn = open.add();
        let service = {
            let (app, conn) = (TowerToHyperService::new(app.clone()), conn.clone());
            hyper::service::service_fn(move |req| {
                let busy = conn.busy();
                let call = app.call(req);
                async move {
                    let answer = call.await;
                    drop(busy);
                    answer
                }
            })
        };
        let builder = builder.clone();
        let (open, mut stop) = (open.clone(), stop.clone());
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _gone = Gone(&open, conn.id);
            // A connection that sends nothing never reaches hyper's header timeout (telling
            // HTTP/1 from HTTP/2 waits for the first bytes): it gets the same time to start.
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout(header_timeout, tcp.peek(&mut first)) => match peeked {
                    Ok(Ok(n)) if n > 0 => {}
                    Ok(_) => return, // closed, or broken, before a request
                    Err(_) => {
                        debug!("connection sent nothing within the header timeout; closed");
                        return;
                    }
                },
                () = conn.close.notified() => return,
                () = async { drop(stop.wait_for(|stop| *stop).await) } => return,
            }
            let served = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned();
            let mut served = std::pin::pin!(served);
            let mut closing = false;
            loop {
                tokio::select! {
                    ended = served.as_mut() => {
                        if let Err(e) = ended {
                            debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    // Idle (shed to make room) or shutting down: the request being served,
                    // if any, finishes first.
                    () = conn.close.notified(), if !closing => {
                        closing = true;
                        served.as_mut().graceful_shutdown();
                    }
                    () = async { drop(stop.wait_for(|stop| *stop).await) }, if !closing => {
                        closing = true;
                        served.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a permit until it ends: all of them back means all ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all))
        .await
        .is_err()
    {
        warn!("http connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}

/// The connections being served, to find the one idle the longest when the server is full.
struct Open {
    next: AtomicU64,
    /// Time base for [`Conn::idle_since`].
    started: Instant,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

struct Conn {
    id: u64,
    /// Requests being served (their handlers running).
    requests: AtomicUsize,
    /// Microseconds after [`Open::started`] when the last request ended (or the connection
    /// came, before its first).
    idle_since: AtomicU64,
    close: Notify,
    closing: AtomicBool,
    open: std::sync::Weak<Open>,
}

impl Open {
    fn now(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    fn add(self: &Arc<Self>) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            requests: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
            close: Notify::new(),
            closing: AtomicBool::new(false),
            open: Arc::downgrade(self),
        });
        self.lock().insert(conn.id, conn.clone());
        conn
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks the connection idle the longest to close; false when every one is busy.
    fn close_idlest(&self) -> bool {
        let conns = self.lock();
        let idlest = conns
            .values()
            .filter(|c| {
                c.requests.load(Ordering::Acquire) == 0 && !c.closing.load(Ordering::Acquire)
            })
            // The older connection first among those idle since the same moment.
            .min_by_key(|c| (c.idle_since.load(Ordering::Relaxed), c.id));
        let Some(conn) = idlest else {
            return false;
        };
        conn.closing.store(true, Ordering::Release);
        conn.close.notify_one();
        true
    }
}

impl Conn {
    /// Marks a request being served until the guard is dropped.
    fn busy(self: &Arc<Self>) -> Busy {
        self.requests.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }
}

struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(open) = self.0.open.upgrade() {
            self.0.idle_since.store(open.now(), Ordering::Relaxed);
        }
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes a connection off [`Open`] when its task ends, however it ends.
struct Gone<'a>(&'a Open, u64);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}
