//! `xconnector run`: start the engine and the HTTP listener, tell systemd, and stop cleanly on
//! SIGTERM or SIGINT (drain in-flight work up to the grace period, persist, exit 0).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::{error, info, warn};
use xconnector_actors::Engine;
use xconnector_actors::flows::customers::CustomersModule;
use xconnector_actors::flows::fulfillments::FulfillmentsModule;
use xconnector_actors::flows::inventory::InventoryModule;
use xconnector_actors::flows::products::ProductsModule;
use xconnector_actors::flows::returns::ReturnsModule;

use crate::cli::{LogFormatArg, RunArgs, SimArgs};
use crate::config::{self, Config, LogFormat};
use crate::control::api::ControlState;
use crate::demo::{self, RunningSim};
use crate::http::{self, AppState};
use crate::intake::Intake;
use crate::sim::pump::Targets;
use crate::{control, logging, systemd, wiring};
use xconnector_actors::flows::reporting::backfill::Backfill;
use xconnector_actors::flows::reporting::live::Reporting;

/// How often `STATUS=` is refreshed when systemd's watchdog does not ask for more.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// `not_terminal`: the standard stream (`stdout`, `stdin`) that is not a terminal, when that
/// and not `--headless` is why this runs without the TUI.
pub async fn run(args: RunArgs, not_terminal: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut config = match config::load(&args.config) {
        Ok(c) => apply_overrides(c, &args),
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let format = match args.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.log.format,
    };
    let recent_logs = logging::init(&config.log.level, format)?;
    if let Some(stream) = not_terminal {
        let socket = std::path::absolute(&config.control.socket)
            .unwrap_or_else(|_| config.control.socket.clone());
        info!(
            "running headless: {stream} is not a terminal; for the terminal UI, run it without \
             the pipe or redirection, or attach from another terminal with `xconnector tui \
             --socket {}`",
            socket.display()
        );
    }
    keep_private(&config.store.dir);
    // Before anything starts: a SIGTERM during start-up (systemd stopping a slow start, a test
    // stopping a daemon it just started) is then a clean shutdown once up, not death by the
    // signal's default action.
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;

    // Bound before the engine starts, so a second daemon fails before touching anything.
    let socket = config.control.socket.clone();
    let control = control::server::bind(&socket)
        .await
        .map_err(|e| anyhow::anyhow!("control.socket: {e}"))?;
    // Bound before the simulator starts, so its webhooks can name this daemon's real address
    // (served once the engine is up; deliveries meanwhile wait or are retried).
    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("server.listen: cannot listen on {}", config.server.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    let simulator = if config.simulator.enabled {
        let own = Targets::Fixed(format!("http://{}/webhooks/shopify", reachable(addr)));
        let targets = demo::targets(&config.simulator, own);
        // The shop's counters live with the daemon's store, which remembers the last run.
        let (data_dir, listen) = (Some(config.store.dir.as_path()), config.simulator.listen);
        let running = demo::start(&config.simulator, data_dir, listen, targets)
            .await
            .context("cannot start the simulator")?;
        follow_simulator(&mut config, &running);
        Some(running)
    } else {
        None
    };
    // Before the engine: the scheduled reports' flow keeps time by this same clock.
    let reporting = config
        .flows
        .enabled::<xconnector_actors::flows::reporting::module::ReportingModule>()
        .map(|section| Arc::new(Reporting::new(section.config.clone())));
    let (engine, mut fatal) = Engine::start(wiring::engine_config_with(&config, reporting.clone()))
        .await
        .context("cannot start the engine")?;
    let engine = Arc::new(engine);
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_http, http_stopped) = watch::channel(false);
    let webhooks = Arc::new(wiring::webhook_intake(&config, engine.store().clone()));
    let topics = webhooks.subscribed_topics();
    let tokens = config
        .server
        .api_tokens
        .iter()
        .map(|t| t.expose().to_string())
        .collect();
    let intake = Arc::new(Intake::new(
        tokens,
        engine.store().clone(),
        ready.clone(),
        config.flows.inbound(),
    ));
    intake.watch_drops(&stop_http.subscribe());
    // Reports count in the shop's days: learn its time zone (and keep up with DST).
    let shop_time = match (&reporting, engine.shopify()) {
        (Some(r), Some(shopify)) => Some(tokio::spawn(r.clone().keep_time(shopify.clone()))),
        _ => None,
    };
    let backfill = report_backfill(&config, &engine, &reporting);
    let app = http::router(AppState {
        engine: engine.clone(),
        ready: ready.clone(),
        webhooks,
        intake,
        reporting: reporting.clone(),
    });
    let limits = crate::serve::Limits::from(&config.server);
    let server = tokio::spawn(crate::serve::serve(listener, app, limits, http_stopped));
    info!(%addr, "http listening");
    let trimming = tokio::spawn(crate::memory::trim_periodically());
    // Repeated refusals (bad signatures, bad tokens) are said as one count a minute.
    let refusal_counts = tokio::spawn(async {
        let mut every = tokio::time::interval(crate::refusals::EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            crate::refusals::flush();
        }
    });
    // The demo's simulated warehouse sends stock feeds to this daemon's inventory API.
    let warehouse = match (
        &simulator,
        config.flows.enabled::<InventoryModule>(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), Some(_), Some(token)) => Some(tokio::spawn(crate::sim::warehouse::run(
            running.sim.shop(),
            crate::sim::warehouse::WarehouseSpec {
                url: format!("http://{}/api/v1/inventory", reachable(addr)),
                token: token.expose().to_string(),
                every: Duration::from_secs(2),
                snapshot_every: 15,
                seed: config.simulator.seed,
            },
        ))),
        _ => None,
    };
    // … and its simulated CRM sends customer attribute updates to the customers API.
    let crm = match (
        &simulator,
        config.flows.enabled::<CustomersModule>(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), Some(_), Some(token)) => Some(tokio::spawn(crate::sim::crm::run(
            running.sim.shop(),
            crate::sim::crm::CrmSpec {
                api_url: format!("http://{}", reachable(addr)),
                token: token.expose().to_string(),
                every: Duration::from_secs(3),
                batch: 5,
                seed: config.simulator.seed,
            },
        ))),
        _ => None,
    };
    // … and its simulated ERP sends unit costs, for the inventory report's gross margin.
    let erp_costs = match (
        &simulator,
        reporting.is_some(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), true, Some(token)) => Some(tokio::spawn(crate::sim::erp_costs::run(
            running.sim.shop(),
            crate::sim::erp_costs::CostsSpec {
                url: format!("http://{}/api/v1/costs", reachable(addr)),
                token: token.expose().to_string(),
                every: Duration::from_secs(60),
                seed: config.simulator.seed,
            },
        ))),
        _ => None,
    };
    // … and its simulated PIM publishes a catalogue to the products API, then edits prices.
    let pim = match (
        &simulator,
        config.flows.enabled::<ProductsModule>(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), Some(_), Some(token)) => Some(tokio::spawn(crate::sim::pim::run(
            running.sim.shop(),
            crate::sim::pim::PimSpec {
                api_url: format!("http://{}", reachable(addr)),
                token: token.expose().to_string(),
                every: Duration::from_secs(5),
                catalogue: 40,
                max_variants: 6,
                edits: 2,
                seed: config.simulator.seed,
            },
        ))),
        _ => None,
    };

    // … and its simulated WMS ships the orders it received, then reports their deliveries.
    let shipper = match (
        &simulator,
        config.flows.enabled::<FulfillmentsModule>(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), Some(_), Some(token)) => running.back_office.clone().map(|office| {
            let mut spec = crate::sim::shipper::ShipperSpec::new(
                &format!("http://{}", reachable(addr)),
                token.expose(),
            );
            spec.seed = config.simulator.seed;
            tokio::spawn(crate::sim::shipper::run(office, spec))
        }),
        _ => None,
    };

    // … and its customers send back a share of what was delivered.
    let customer_returns = match (&simulator, config.flows.enabled::<ReturnsModule>()) {
        (Some(running), Some(_)) => Some(crate::sim::customer_returns::spawn(
            running.sim.shop(),
            crate::sim::customer_returns::ReturnsSpec {
                seed: config.simulator.seed,
                ..Default::default()
            },
        )),
        _ => None,
    };
    // … and its WMS receives the approved returns' parcels and says what came back.
    let return_receiver = match (
        &simulator,
        config.flows.enabled::<ReturnsModule>(),
        config.server.api_tokens.first(),
    ) {
        (Some(running), Some(_), Some(token)) => {
            let mut spec = crate::sim::return_receiver::ReceiverSpec::new(
                &format!("http://{}", reachable(addr)),
                token.expose(),
            );
            spec.seed = config.simulator.seed;
            Some(tokio::spawn(crate::sim::return_receiver::run(
                running.sim.shop(),
                spec,
            )))
        }
        _ => None,
    };

    let control_app = control::api::router(ControlState {
        engine: engine.clone(),
        ready: ready.clone(),
        logs: recent_logs,
        reporting,
        backfill,
    });
    let mut control_stopped = stop_http.subscribe();
    let control_server = tokio::spawn(control::server::serve(
        control,
        socket.clone(),
        control_app,
        async move {
            let _ = control_stopped.wait_for(|stop| *stop).await;
        },
    ));
    info!(socket = %socket.display(), "control socket listening");

    ready.store(true, Ordering::SeqCst);
    let summary = engine
        .snapshot()
        .await
        .map(|s| s.summary())
        .unwrap_or_default();
    systemd::ready(&format!("ready; {summary}"));
    info!(store = %config.store.dir.display(), flows = ?engine.flows().await.unwrap_or_default(), "xconnector ready");
    manage_subscriptions(&config, &engine, topics);
    let keepalive = tokio::spawn(keep_systemd_informed(
        engine.clone(),
        config.daemon.watchdog,
    ));

    let gave_up = tokio::select! {
        _ = sigterm.recv() => { info!("SIGTERM: shutting down"); None }
        _ = sigint.recv() => { info!("SIGINT: shutting down"); None }
        reason = fatal.wait() => { error!(%reason, "shutting down after a fatal error"); Some(reason) }
    };

    ready.store(false, Ordering::SeqCst);
    keepalive.abort();
    systemd::stopping();
    let grace = config.daemon.shutdown_grace;
    match engine.shutdown(grace).await {
        Ok(report) if report.drained => info!("all in-flight work finished"),
        Ok(report) => warn!(
            released = report.released,
            ?grace,
            "grace period over; unfinished items are retried on the next start"
        ),
        Err(e) => {
            error!(error = %e, "shutdown incomplete; unacknowledged work is retried on the next start")
        }
    }
    for task in [
        crm,
        pim,
        shipper,
        customer_returns,
        return_receiver,
        erp_costs,
    ]
    .into_iter()
    .flatten()
    {
        task.abort();
    }
    if let Some(warehouse) = warehouse {
        warehouse.abort();
    }
    refusal_counts.abort();
    trimming.abort();
    if let Some(task) = shop_time {
        task.abort();
    }
    crate::refusals::flush();
    if let Some(running) = simulator {
        running.shutdown().await;
    }
    let _ = stop_http.send(true);
    if tokio::time::timeout(Duration::from_secs(5), control_server)
        .await
        .is_err()
    {
        warn!("control socket did not close in time");
    }
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!(error = %e, "http server ended with an error"),
        _ => warn!("http server did not stop in time"),
    }
    info!("stopped");
    Ok(match gave_up {
        None => ExitCode::SUCCESS,
        Some(reason) => {
            eprintln!("xconnector: {reason}");
            ExitCode::from(1)
        }
    })
}

/// An address others can connect to: a wildcard listen (`0.0.0.0`, `::`) is reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// With the simulator in-process, `[shopify] base_url` follows the simulator's real address
/// when it is unset or names the simulator's configured `listen` (`http://127.0.0.1:8081`, or
/// `http://127.0.0.1:0` for "any free port"). Any other base_url is left alone.
pub fn follow_simulator(config: &mut Config, running: &RunningSim) {
    let configured = format!("http://{}", config.simulator.listen);
    if let Some(shopify) = config.shopify.as_mut() {
        let follows = match &shopify.base_url {
            None => true,
            Some(url) => url.trim_end_matches('/') == configured,
        };
        if follows {
            let url = running.sim.base_url();
            info!(base_url = %url, "shopify.base_url follows the in-process simulator");
            shopify.base_url = Some(url);
        }
    }
}

/// `xconnector sim`: the simulated shop on its own until SIGTERM or SIGINT.
pub async fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let mut config = match config::load(&args.config) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let _logs = logging::init(&config.log.level, config.log.format)?;
    if let Some(url) = args.webhook_url {
        config.simulator.webhook_url = url;
    }
    let listen = args.listen.unwrap_or(config.simulator.listen);
    let targets = demo::targets(&config.simulator, Targets::Subscriptions);
    // On its own, for curl: it keeps nothing, and a restart starts the shop over.
    let running = demo::start(&config.simulator, None, listen, targets).await?;
    let addr = reachable(running.sim.addr());
    // The well-known demo token is shown; any other token is a secret and is not logged.
    let token = if config.simulator.access_token.expose() == "sim-token" {
        "sim-token"
    } else {
        "<simulator.access_token>"
    };
    info!(
        graphql = %running.sim.graphql_url(),
        "simulator ready; try: curl -s -X POST http://{addr}/admin/api/{}/graphql.json -H 'X-Shopify-Access-Token: {token}' -d '{{\"query\":\"{{ shop {{ name }} }}\"}}'",
        crate::shopify_schema::VERSION
    );
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::select! {
        _ = sigterm.recv() => info!("SIGTERM: shutting down"),
        _ = sigint.recv() => info!("SIGINT: shutting down"),
    }
    running.shutdown().await;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// `--listen`, `--data-dir` and `--socket` win over the file. A socket inside the configured
/// store directory moves with `--data-dir`, so that daemons started side by side with different
/// data directories do not fight over one socket.
pub fn apply_overrides(mut config: Config, args: &RunArgs) -> Config {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        if args.socket.is_none()
            && let Ok(rest) = config.control.socket.strip_prefix(&config.store.dir)
        {
            config.control.socket = dir.join(rest);
        }
        config.store.dir = dir.clone();
    }
    if let Some(socket) = &args.socket {
        config.control.socket = socket.clone();
    }
    config
}

/// Subscribes this daemon to the topics its flows need, in the background (Shopify may be
/// slow or down at start; the daemon serves meanwhile). Retried a few times, then left to the
/// next start with a warning.
/// `topics` are those the webhook intake routes to an enabled flow.
fn manage_subscriptions(config: &Config, engine: &Arc<Engine>, topics: Vec<&'static str>) {
    let Some(shopify_config) = config.shopify.as_ref().filter(|s| s.manage_webhooks) else {
        return;
    };
    let Some(address) = shopify_config.webhook_address.clone() else {
        info!("shopify.webhook_address is not set: webhook subscriptions are not managed");
        return;
    };
    let Some(shopify) = engine.shopify().cloned() else {
        return;
    };
    if topics.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let backoff =
            xconnector_actors::retry::Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        for attempt in 1..=5 {
            match crate::webhooks::ensure_subscriptions(&shopify, &topics, &address).await {
                Ok((created, present)) => {
                    info!(created, present, %address, "webhook subscriptions in place");
                    return;
                }
                Err(e) => {
                    warn!(error = %e, attempt, "cannot check webhook subscriptions; retrying");
                    tokio::time::sleep(backoff.delay(attempt)).await;
                }
            }
        }
        warn!(%address, "webhook subscriptions not verified; reconciliation polls still catch missed orders");
    });
}

/// Refreshes `STATUS=` and, when systemd's watchdog is on, pings it, but only after the engine
/// answered: a hung engine must let the watchdog fire.
async fn keep_systemd_informed(engine: Arc<Engine>, watchdog: bool) {
    let ping = watchdog.then(systemd::watchdog_interval).flatten();
    let mut tick = tokio::time::interval(ping.unwrap_or(STATUS_EVERY).min(STATUS_EVERY));
    loop {
        tick.tick().await;
        let Ok(snapshot) = engine.snapshot().await else {
            continue;
        };
        let summary = snapshot.summary();
        if ping.is_some() {
            systemd::watchdog(&summary);
        } else {
            systemd::status(&summary);
        }
    }
}

/// What the daemon creates (the store's journals, the control socket) holds customers' names,
/// emails and addresses: readable by its own user only, whoever started it and with whatever
/// umask. A data directory that already lets others in is said at start, not changed.
fn keep_private(data_dir: &std::path::Path) {
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(data_dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            warn!(
                dir = %data_dir.display(),
                mode = format!("{mode:04o}"),
                "the data directory is open to other users and holds customers' data; \
                 chmod 700 it (or 750 for a group of operators)"
            );
        }
    }
}

/// The report backfill, when reporting is on and Shopify configured: one that was running
/// when the daemon stopped goes on, and at go-live (no backfill ever recorded) one starts
/// since `[flows.reporting] backfill`, so the first report is not empty.
fn report_backfill(
    config: &Config,
    engine: &Engine,
    reporting: &Option<Arc<Reporting>>,
) -> Option<Arc<Backfill>> {
    use xconnector_actors::flows::module::FlowModule;
    use xconnector_actors::flows::orders::OrdersModule;
    use xconnector_actors::flows::reporting::module::ReportingModule;
    let (reporting, shopify) = (reporting.as_ref()?, engine.shopify()?);
    let section = config.flows.enabled::<ReportingModule>()?;
    let orders = config
        .flows
        .enabled::<OrdersModule>()
        .map(|_| OrdersModule::NAME.to_string());
    let backfill = Arc::new(Backfill::new(
        engine.store().clone(),
        shopify.clone(),
        Some(reporting.clone()),
        orders,
    ));
    // Checked with the config; a day that cannot be read here means none.
    let go_live = section
        .config
        .go_live_since(reporting.today())
        .unwrap_or(None);
    let starting = backfill.clone();
    tokio::spawn(async move {
        if let Err(e) = starting.resume(go_live).await {
            warn!(error = %e, "cannot start the report backfill");
        }
    });
    Some(backfill)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn data_dir_moves_a_socket_that_lived_in_the_store() {
        let config = config::parse("", "config.toml", &|_| None).unwrap();
        let args = RunArgs {
            data_dir: Some(PathBuf::from("/tmp/x1")),
            ..RunArgs::default()
        };
        let c = apply_overrides(config.clone(), &args);
        assert_eq!(c.store.dir, PathBuf::from("/tmp/x1"));
        assert_eq!(c.control.socket, PathBuf::from("/tmp/x1/xconnector.sock"));
        let args = RunArgs {
            data_dir: Some(PathBuf::from("/tmp/x1")),
            socket: Some(PathBuf::from("/run/xc.sock")),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..RunArgs::default()
        };
        let c = apply_overrides(config, &args);
        assert_eq!(c.control.socket, PathBuf::from("/run/xc.sock"));
        assert_eq!(c.server.listen.port(), 0);
    }
}
