//! `xconnector bench intake-flood`: what an unauthenticated client can make the daemon hold.
//! Many connections each post an unsigned 5 MiB `orders/create` webhook and hold it open
//! with its last byte unsent (over HTTP/1.1, then as streams of one HTTP/2 connection), while
//! signed webhooks keep coming as Shopify would send them. It prints the daemon's resident
//! memory idle, at its highest during the flood and after the flood is released, how the
//! unsigned requests were answered, and how many signed ones were accepted. With `--check` it
//! fails when the flood raised the memory by more than `--budget-mib`, when the memory did
//! not come back down after the release, or when a signed webhook was not accepted.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use xconnector_actors::signature::shopify_signature;

use crate::bench_rig::{Rig, SECRET, SHOP, Template, post_webhook, rss_kib, watch_rss, workdir};

/// What `xconnector bench intake-flood` was asked for.
pub struct Flood {
    pub connections: usize,
    pub body_mib: f64,
    pub streams: usize,
    pub signed: u64,
    pub budget_mib: f64,
    pub settle: Duration,
    pub check: bool,
    pub dir: Option<PathBuf>,
    pub keep: bool,
}

/// How one unsigned request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its whole body but the last byte was taken in, then the status the daemon answered once
    /// the last byte came (0: the connection was closed instead).
    Held(u16),
    /// The daemon answered, or closed, before it had the body: the status, or 0.
    Answered(u16),
    /// Neither, when the wait ended.
    Stalled,
}

/// One phase's figures.
struct Figures {
    peak_mib: f64,
    after_mib: f64,
    fates: Vec<Fate>,
    signed_first: u64,
    signed_accepted: u64,
}

pub async fn flood(args: Flood) -> anyhow::Result<()> {
    let (dir, keep) = (args.dir.clone(), args.keep);
    workdir("flood", dir.as_deref(), keep, |base| async move {
        let rig = Rig::start(&base, "", None).await?;
        let result = run(&rig, &args).await;
        rig.stop(result.is_err()).await;
        result
    })
    .await
}

async fn run(rig: &Rig, args: &Flood) -> anyhow::Result<()> {
    let template = Template::from_fixture()?;
    let url = format!("http://{}/webhooks/shopify", rig.daemon.addr);
    let client = xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    // Warm: the daemon has served webhooks and delivered orders before it is measured idle.
    let mut next = 0u64;
    for _ in 0..100 {
        next += 1;
        let body = template.render(next);
        let sig = shopify_signature(SECRET, &body);
        if !post_webhook(&client, &url, next, body, sig).await {
            bail!("the daemon refused signed webhooks before the flood");
        }
    }
    until(Duration::from_secs(60), || {
        rig.delivered.load(Ordering::Relaxed) >= next
    })
    .await
    .context("the warm-up orders were not delivered")?;
    tokio::time::sleep(crate::memory::TRIM_EVERY + Duration::from_secs(1)).await;
    let idle = mib(rss_kib(rig.daemon.pid).unwrap_or(0));
    let body_len = (args.body_mib * 1024.0 * 1024.0) as usize;
    println!(
        "intake flood: unsigned {:.1} MiB orders/create webhooks held open with their last byte unsent; {} signed ones sent during each flood",
        args.body_mib, args.signed
    );
    println!(
        "daemon (pid {}) idle: {idle:.1} MiB resident",
        rig.daemon.pid
    );

    let mut failures = Vec::new();
    for (name, h2) in [
        (format!("{} HTTP/1.1 connections", args.connections), false),
        (
            format!("{} streams on one HTTP/2 connection", args.streams),
            true,
        ),
    ] {
        let f = phase(rig, args, &template, &client, &mut next, body_len, idle, h2).await?;
        report(&name, idle, &f, args);
        if f.peak_mib - idle > args.budget_mib {
            failures.push(format!(
                "{name}: the flood raised the memory by {:.0} MiB (budget {:.0})",
                f.peak_mib - idle,
                args.budget_mib
            ));
        }
        if f.after_mib - idle > settled_bound(args) {
            failures.push(format!(
                "{name}: {:.0} MiB above idle after the release (at most {:.0})",
                f.after_mib - idle,
                settled_bound(args)
            ));
        }
        if f.signed_accepted < args.signed {
            failures.push(format!(
                "{name}: {} of {} signed webhooks accepted",
                f.signed_accepted, args.signed
            ));
        }
    }
    if failures.is_empty() {
        println!("targets met");
        Ok(())
    } else if args.check {
        bail!("targets missed:\n  {}", failures.join("\n  "))
    } else {
        println!("targets missed:\n  {}", failures.join("\n  "));
        Ok(())
    }
}

/// Memory the daemon may keep above idle once a released flood has settled.
fn settled_bound(args: &Flood) -> f64 {
    args.budget_mib / 4.0
}

#[allow(clippy::too_many_arguments)]
async fn phase(
    rig: &Rig,
    args: &Flood,
    template: &Template,
    client: &reqwest::Client,
    next: &mut u64,
    body_len: usize,
    idle: f64,
    h2: bool,
) -> anyhow::Result<Figures> {
    let peak = Arc::new(AtomicU64::new(0));
    let watch = tokio::spawn(watch_rss(rig.daemon.pid, peak.clone()));
    let (release, released) = watch::channel(false);
    let settled = Arc::new(AtomicU64::new(0));
    let addr = rig.daemon.addr;
    let unsigned: tokio::task::JoinHandle<Vec<Fate>> = if h2 {
        let (settled, released) = (settled.clone(), released.clone());
        let streams = args.streams;
        tokio::spawn(async move { h2_flood(addr, streams, body_len, settled, released).await })
    } else {
        let tasks: Vec<_> = (0..args.connections)
            .map(|_| {
                let (settled, released) = (settled.clone(), released.clone());
                tokio::spawn(async move { h1_unsigned(addr, body_len, settled, released).await })
            })
            .collect();
        tokio::spawn(async move {
            let mut fates = Vec::with_capacity(tasks.len());
            for t in tasks {
                fates.push(t.await.unwrap_or(Fate::Stalled));
            }
            fates
        })
    };
    // Shopify's traffic goes on meanwhile: a signed delivery every 100 ms, retried as Shopify
    // retries while refused.
    let url = format!("http://{addr}/webhooks/shopify");
    let mut signed = tokio::task::JoinSet::new();
    for _ in 0..args.signed {
        *next += 1;
        let n = *next;
        let body = template.render(n);
        let sig = shopify_signature(SECRET, &body);
        let (client, url) = (client.clone(), url.clone());
        signed.spawn(async move {
            let first = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-shopify-topic", "orders/create")
                .header("x-shopify-shop-domain", SHOP)
                .header("x-shopify-webhook-id", format!("flood-{n}"))
                .header("x-shopify-hmac-sha256", &sig)
                .body(body.clone())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            let accepted = first || post_webhook(&client, &url, n, body, sig).await;
            (first, accepted)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut signed_first, mut signed_accepted) = (0, 0);
    while let Some(done) = signed.join_next().await {
        let (first, accepted) = done.unwrap_or((false, false));
        signed_first += u64::from(first);
        signed_accepted += u64::from(accepted);
    }
    // Every unsigned request has its body in, or was answered, before the release.
    let expected = if h2 { args.streams } else { args.connections } as u64;
    // (Streams an HTTP/2 server has not opened yet never settle: wait until nothing moves.)
    until_quiet(&settled, expected).await;
    let _ = release.send(true);
    let fates = unsigned.await.unwrap_or_default();
    let peak_mib = mib(peak.load(Ordering::Relaxed));
    watch.abort();
    // After: the memory once the allocator had time to give back what the flood took.
    let deadline = Instant::now() + args.settle;
    let mut after_mib = mib(rss_kib(rig.daemon.pid).unwrap_or(0));
    while after_mib - idle > settled_bound(args) / 2.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after_mib = mib(rss_kib(rig.daemon.pid).unwrap_or(0));
    }
    Ok(Figures {
        peak_mib,
        after_mib,
        fates,
        signed_first,
        signed_accepted,
    })
}

fn report(name: &str, idle: f64, f: &Figures, args: &Flood) {
    let count = |p: &dyn Fn(&Fate) -> bool| f.fates.iter().filter(|x| p(x)).count();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for fate in &f.fates {
        let key = match fate {
            Fate::Held(0) => "held, then closed".to_string(),
            Fate::Held(s) => format!("held, then {s}"),
            Fate::Answered(0) => "closed early".to_string(),
            Fate::Answered(s) => format!("{s} early"),
            Fate::Stalled => "stalled".to_string(),
        };
        *answers.entry(key).or_default() += 1;
    }
    let held = count(&|x| matches!(x, Fate::Held(_)));
    println!("{name}:");
    println!(
        "  rss peak {:.1} MiB ({:+.1} over idle; budget {:.0}), {:.1} MiB after the release ({:+.1})",
        f.peak_mib,
        f.peak_mib - idle,
        args.budget_mib,
        f.after_mib,
        f.after_mib - idle
    );
    println!(
        "  unsigned: {held} held with their body in; {}",
        answers
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  signed during the flood: {} of {} accepted ({} at the first try)",
        f.signed_accepted, args.signed, f.signed_first
    );
}

/// An unsigned webhook over its own HTTP/1.1 connection, held with its last byte unsent until
/// `released`.
async fn h1_unsigned(
    addr: std::net::SocketAddr,
    body_len: usize,
    settled: Arc<AtomicU64>,
    mut released: watch::Receiver<bool>,
) -> Fate {
    let settle = || settled.fetch_add(1, Ordering::Relaxed);
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        settle();
        return Fate::Answered(0);
    };
    let head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         x-shopify-topic: orders/create\r\nx-shopify-shop-domain: {SHOP}\r\n\
         x-shopify-hmac-sha256: {}\r\ncontent-length: {body_len}\r\n\r\n",
        forged_signature()
    );
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    let mut ok = tcp.write_all(head.as_bytes()).await.is_ok();
    while ok && sent + 1 < body_len {
        let n = chunk.len().min(body_len - 1 - sent);
        ok = tcp.write_all(&chunk[..n]).await.is_ok();
        sent += n;
    }
    settle();
    if !ok {
        return Fate::Answered(status_of(&mut tcp).await);
    }
    // Taken in, or answered already with the rest unread: the answer tells which.
    let mut answer = [0u8; 12];
    tokio::select! {
        () = async { drop(released.wait_for(|r| *r).await) } => {}
        got = tcp.peek(&mut answer) => {
            if got.is_ok() {
                return Fate::Answered(status_of(&mut tcp).await);
            }
        }
    }
    if tcp.write_all(b" ").await.is_err() {
        return Fate::Held(0);
    }
    Fate::Held(status_of(&mut tcp).await)
}

/// The status of the answer on `tcp`, or 0 if there is none.
async fn status_of(tcp: &mut TcpStream) -> u16 {
    let mut buf = [0u8; 12];
    let mut got = 0;
    while got < buf.len() {
        match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf[got..])).await {
            Ok(Ok(n)) if n > 0 => got += n,
            _ => break,
        }
    }
    std::str::from_utf8(&buf[..got])
        .ok()
        .and_then(|line| line.get(9..12))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `streams` unsigned webhooks as streams of one HTTP/2 connection, each held with its last
/// byte unsent until `released`.
async fn h2_flood(
    addr: std::net::SocketAddr,
    streams: usize,
    body_len: usize,
    settled: Arc<AtomicU64>,
    released: watch::Receiver<bool>,
) -> Vec<Fate> {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let settle_all = |n: usize| settled.fetch_add(n as u64, Ordering::Relaxed);
    let Ok(tcp) = TcpStream::connect(addr).await else {
        settle_all(streams);
        return vec![Fate::Answered(0); streams];
    };
    let Ok((sender, conn)) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, std::io::Error>>>>(TokioIo::new(tcp))
        .await
    else {
        settle_all(streams);
        return vec![Fate::Answered(0); streams];
    };
    tokio::spawn(conn);
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let mut sender = sender.clone();
            let (settled, mut released) = (settled.clone(), released.clone());
            tokio::spawn(async move {
                let (tx, rx) =
                    tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(1);
                let body = StreamBody::new(
                    Box::pin(tokio_stream_of(rx)) as futures::stream::BoxStream<'static, _>
                );
                let request = hyper::Request::post("/webhooks/shopify")
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .header("x-shopify-topic", "orders/create")
                    .header("x-shopify-shop-domain", SHOP)
                    .header("x-shopify-hmac-sha256", forged_signature())
                    .header("content-length", body_len.to_string())
                    .body(body);
                let Ok(request) = request else {
                    settled.fetch_add(1, Ordering::Relaxed);
                    return Fate::Answered(0);
                };
                let response = tokio::spawn(async move {
                    let _ = sender.ready().await;
                    sender
                        .send_request(request)
                        .await
                        .map(|r| r.status().as_u16())
                });
                let chunk = Bytes::from(vec![b' '; 16 * 1024]);
                let mut sent = 0;
                let mut ok = true;
                while ok && sent + 1 < body_len {
                    let n = chunk.len().min(body_len - 1 - sent);
                    ok = tx.send(Ok(Frame::data(chunk.slice(..n)))).await.is_ok();
                    sent += n;
                }
                settled.fetch_add(1, Ordering::Relaxed);
                if !ok || response.is_finished() {
                    return Fate::Answered(response.await.ok().and_then(Result::ok).unwrap_or(0));
                }
                drop(released.wait_for(|r| *r).await);
                let _ = tx.send(Ok(Frame::data(Bytes::from_static(b" ")))).await;
                drop(tx);
                let status = tokio::time::timeout(Duration::from_secs(10), response)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .and_then(Result::ok)
                    .unwrap_or(0);
                Fate::Held(status)
            })
        })
        .collect();
    let mut fates = Vec::with_capacity(streams);
    for t in tasks {
        fates.push(t.await.unwrap_or(Fate::Stalled));
    }
    fates
}

/// The receiving end of `rx` as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A well-formed signature made with a secret the daemon does not have.
fn forged_signature() -> String {
    shopify_signature("not-the-secret", b"flood")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Waits until `count` reaches `expected` or has not moved for 5 s.
async fn until_quiet(count: &AtomicU64, expected: u64) {
    let mut last = (count.load(Ordering::Relaxed), Instant::now());
    loop {
        let now = count.load(Ordering::Relaxed);
        if now >= expected || last.1.elapsed() > Duration::from_secs(5) {
            return;
        }
        if now != last.0 {
            last = (now, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `done` every 50 ms until it holds or `limit` passed.
async fn until(limit: Duration, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            bail!("gave up after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
