//! The HTTP listener, with the limits a port open to anyone needs: a connection that sends its
//! headers byte by byte, or nothing, or idles between requests is closed after
//! `[server] header_timeout`; at most `[server] max_connections` are served at once (more are
//! closed as they come, so they cannot hold file descriptors the daemon needs); and running
//! out of file descriptors makes the accept loop wait, not spin. A request body that is not
//! all there within `[server] body_timeout` fails with [`BodyTimeout`], which the intakes
//! answer with 408.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{debug, info, warn};

/// How long the accept loop waits after a failed accept (out of file descriptors, mostly).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// How long open connections get to finish their requests at shutdown.
const DRAIN: Duration = Duration::from_secs(5);
/// Streams one HTTP/2 connection may carry at once.
const H2_STREAMS: u32 = 32;

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
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_STREAMS)
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let app = with_body_timeout(app, limits.body_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut failing = false;
    let mut shed = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            shed += 1;
            if shed.is_power_of_two() {
                warn!(
                    max = limits.max_connections,
                    closed = shed,
                    "connection limit reached; new connections are closed"
                );
            }
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            // A connection that sends nothing never reaches hyper's header timeout (telling
            // HTTP/1 from HTTP/2 waits for the first bytes): it gets the same time to start.
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return, // closed, or broken, before a request
                Err(_) => {
                    debug!("connection sent nothing within the header timeout; closed");
                    return;
                }
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("http connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}
