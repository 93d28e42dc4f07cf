//! End-to-end tests of `parse`: every message must name the key path and the line.

use std::time::Duration;
use xconnector_actors::flows::exceptions::ExceptionsModule;
use xconnector_actors::flows::inventory::InventoryModule;
use xconnector_actors::flows::log::LogModule;
use xconnector_actors::flows::orders::OrdersModule;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

/// Parse with `env`, expecting failure; return the full report, one error per line.
fn errors_with(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    match parse(text, "config.toml", env) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => {
            assert!(!errors.is_empty());
            errors.to_string()
        }
    }
}

fn errors(text: &str) -> String {
    errors_with(text, &no_env)
}

fn ok(text: &str) -> Config {
    match parse(text, "config.toml", &no_env) {
        Ok(config) => config,
        Err(errors) => panic!("unexpected errors:\n{errors}"),
    }
}

const SHIPPED: &str = include_str!("../../config.toml");
const FULL: &str = include_str!("../../tests/fixtures/config/valid/full.toml");
const MANY: &str = include_str!("../../tests/fixtures/config/invalid/many.toml");

#[test]
fn shipped_config_parses_with_an_empty_environment() {
    let config = ok(SHIPPED);
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.server.api_tokens.len(), 1);
    assert_eq!(config.server.api_tokens[0].expose(), "demo-token");
    assert_eq!(config.store.dir.to_str(), Some("data"));
    assert_eq!(config.control.socket.to_str(), Some("data/xconnector.sock"));
    // The demo: [shopify] points at the in-process simulator, with its token and secret.
    let shopify = config.shopify.as_ref().expect("shipped [shopify]");
    assert_eq!(shopify.shop_domain, "demo.myshopify.com");
    assert_eq!(shopify.access_token.expose(), "sim-token");
    assert_eq!(shopify.webhook_secrets.len(), 1);
    assert_eq!(shopify.webhook_secrets[0].expose(), "sim-webhook-secret");
    assert_eq!(shopify.effective_base_url(), "http://127.0.0.1:8081");
    assert_eq!(
        shopify.access_token.expose(),
        config.simulator.access_token.expose()
    );
    assert_eq!(
        shopify.webhook_secrets[0].expose(),
        config.simulator.webhook_secret.expose()
    );
    // The demo's endpoints are the simulated back office.
    assert_eq!(
        config.endpoints.keys().collect::<Vec<_>>(),
        [
            "bi",
            "crm",
            "erp",
            "finance",
            "pim",
            "purchasing",
            "risk",
            "support",
            "wms"
        ]
    );
    let orders = config.flows.get::<OrdersModule>().expect("flows.orders");
    assert_eq!(orders.config.targets, ["erp", "wms"]);
    assert!(config.flows.enabled::<ExceptionsModule>().is_some());
    let log = config
        .flows
        .get::<LogModule>()
        .expect("flows.log is configured");
    assert!(!log.common.enabled);
    assert!(config.simulator.enabled && config.simulator.back_office);
}

#[test]
fn shipped_config_commented_sections_are_valid_when_uncommented() {
    // Uncomment every "# key = value" / "# [section]" line: the examples must stay valid.
    let uncommented: String = SHIPPED
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with('[')
                    || rest
                        .split_once(" = ")
                        .is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.contains("\n[shopify]\n") && uncommented.contains("\n[endpoints.wms]\n"));
    let env = |name: &str| Some(format!("value-of-{name}"));
    if let Err(errors) = parse(&uncommented, "config.toml", &env) {
        panic!("uncommented shipped config:\n{errors}");
    }
}

#[test]
fn empty_file_gives_all_defaults() {
    let config = ok("");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert!(config.server.api_tokens.is_empty());
    assert_eq!(config.store.lease, Duration::from_secs(30));
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.daemon.shutdown_grace, Duration::from_secs(10));
    assert_eq!(config.daemon.max_restarts, 5);
    assert_eq!(config.daemon.restart_window, Duration::from_secs(60));
    assert_eq!(config.daemon.restart_backoff, Duration::from_millis(250));
    assert_eq!(config.daemon.restart_backoff_max, Duration::from_secs(10));
    assert!(config.daemon.watchdog);
    assert!(
        config.shopify.is_none()
            && config.flows.get::<LogModule>().is_none()
            && !config.simulator.enabled
    );
}

#[test]
fn full_fixture_sets_every_key() {
    let env = |name: &str| match name {
        "SHOPIFY_WEBHOOK_SECRET_OLD" => None,
        other => Some(format!("<{other}>")),
    };
    let config = match parse(FULL, "full.toml", &env) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    };
    let shopify = config.shopify.as_ref().expect("shopify");
    assert_eq!(shopify.api_version, "2026-07");
    assert_eq!(shopify.access_token.expose(), "<SHOPIFY_ACCESS_TOKEN>");
    assert_eq!(shopify.webhook_secrets[1].expose(), "x");
    assert_eq!(shopify.effective_base_url(), "http://127.0.0.1:8081");
    assert_eq!(shopify.plan.as_deref(), Some("plus"));
    match &config.endpoints["erp"] {
        EndpointConfig::Http(http) => {
            assert_eq!(http.headers["Authorization"], "Bearer <ERP_TOKEN>");
            assert_eq!(http.timeout, Duration::from_secs(15));
            assert_eq!(
                http.signing_secret.as_ref().map(Secret::expose),
                Some("<ERP_SIGNING_SECRET>")
            );
        }
        other => panic!("{other:?}"),
    }
    match &config.endpoints["erp"] {
        EndpointConfig::Http(http) => {
            assert_eq!(
                (http.concurrency, http.max_attempts, http.max_age),
                (4, 12, Duration::from_secs(6 * 3600))
            );
            assert_eq!(
                (
                    http.breaker_threshold,
                    http.breaker_cooldown,
                    http.breaker_cooldown_max
                ),
                (3, Duration::from_secs(2), Duration::from_secs(30))
            );
        }
        other => panic!("{other:?}"),
    }
    match &config.endpoints["wms"] {
        EndpointConfig::File(file) => {
            assert_eq!(file.format, FileFormat::Csv);
            assert_eq!(file.columns, ["idempotency_key", "name", "totals.total"]);
            assert_eq!(file.rotate_bytes, 1 << 20);
            assert_eq!(
                (file.max_attempts, file.max_age),
                (3, Duration::from_secs(3600))
            );
        }
        other => panic!("{other:?}"),
    }
    let ex = &config
        .flows
        .get::<ExceptionsModule>()
        .expect("exceptions")
        .config;
    assert_eq!(ex.address.allowed_countries, ["US", "CA"]);
    assert!(ex.address.forbid_po_box);
    assert_eq!(
        ex.payment.authorization_grace,
        Duration::from_secs(3 * 86400)
    );
    assert_eq!(ex.fraud.max_risk, "MEDIUM");
    assert!(!ex.stock.enabled);
    let log = config.flows.get::<LogModule>().expect("log");
    assert_eq!(
        log.common.lease.unwrap_or(config.store.lease),
        Duration::from_secs(45)
    );
    assert_eq!(log.config.work_time, Duration::from_millis(1500));
    let orders = &config.flows.get::<OrdersModule>().expect("orders").config;
    assert_eq!(orders.targets, ["erp", "wms"]);
    assert_eq!(orders.reconcile_every, Duration::from_secs(5400));
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn debug_output_of_a_config_never_contains_secrets() {
    let env = |name: &str| Some(format!("TOPSECRET-{name}"));
    let config = match parse(FULL, "full.toml", &env) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    };
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains("TOPSECRET"), "{debug}");
    assert!(!debug.contains("second-token"), "{debug}");
    assert!(debug.contains("Authorization"), "header names stay visible");
}

#[test]
fn unknown_top_level_section() {
    assert_eq!(
        errors("[server]\nlisten = \"127.0.0.1:1\"\n\n[sever]\nlisten = \"x\"\n"),
        "config.toml:4: sever: unknown section; expected one of server, store, control, log, daemon, \
         shopify, endpoints, flows, simulator"
    );
}

#[test]
fn unknown_nested_key() {
    assert_eq!(
        errors("[server]\n\nlisen = \"127.0.0.1:8080\"\n"),
        "config.toml:3: server.lisen: unknown key; expected one of listen, api_tokens, header_timeout, body_timeout, max_connections, body_memory_mib"
    );
}

#[test]
fn the_space_the_store_keeps_is_set_in_mib_and_resumes_above_the_refusal() {
    let config = parse(
        "[store]\nmin_free_mib = 4\nresume_free_mib = 64\n",
        "c.toml",
        &no_env,
    )
    .unwrap();
    let disk = config.store.pruning().disk;
    assert_eq!(
        (disk.min_free, disk.resume_free),
        (Some(4 << 20), Some(64 << 20))
    );
    assert_eq!(
        errors("[store]\nmin_free_mib = 8\nresume_free_mib = 8\n"),
        "config.toml:3: store.resume_free_mib: must be more than min_free_mib (8), not 8"
    );
    let unset = parse("", "c.toml", &no_env).unwrap().store.pruning().disk;
    assert_eq!((unset.min_free, unset.resume_free), (None, None));
}

#[test]
fn unknown_flow_name() {
    assert_eq!(
        errors("[flows.log]\n\n[flows.invoices]\nenabled = true\n"),
        "config.toml:3: flows.invoices: unknown flow; expected one of log, orders, exceptions, inventory, customers, products, fulfillments, returns, reporting"
    );
}

#[test]
fn the_service_level_of_reports_is_whole_hours() {
    assert_eq!(
        errors("[flows.log]\n\n[flows.reporting]\nship_within = \"90m\"\n"),
        "config.toml:4: flows.reporting.ship_within: must be a whole number of hours, at least 1h (\"48h\", \"3d\")"
    );
    assert_eq!(
        errors("[flows.log]\n\n[flows.reporting]\nship_within = \"soon\"\n")
            .lines()
            .count(),
        1
    );
}

#[test]
fn the_go_live_backfill_is_days_a_day_or_off() {
    assert_eq!(
        errors("[flows.log]\n\n[flows.reporting]\nbackfill = \"ninety\"\n"),
        "config.toml:4: flows.reporting.backfill: \"ninety\" is neither days back (\"90d\"), a day (\"2026-09-01\") nor \"off\""
    );
    assert_eq!(
        errors("[flows.log]\n\n[flows.reporting]\nbackfill = \"xd\"\n"),
        "config.toml:4: flows.reporting.backfill: \"xd\" is not a number of days (\"90d\")"
    );
}

#[test]
fn unknown_endpoint_kind() {
    assert_eq!(
        errors("[endpoints.erp]\nkind = \"ftp\"\nurl = \"ftp://x\"\n"),
        "config.toml:2: endpoints.erp.kind: unknown kind \"ftp\"; expected one of http, file"
    );
    assert_eq!(
        errors("[endpoints.erp]\nurl = \"http://x\"\n"),
        "config.toml:1: endpoints.erp.kind: missing required key; kind must be one of http, file"
    );
    assert_eq!(
        errors("[endpoints.erp]\nkind = \"file\"\ndir = \"out\"\nurl = \"http://x\"\n"),
        "config.toml:4: endpoints.erp.url: unknown key; expected one of dir, format, columns, rotate_bytes, mode, max_attempts, max_age"
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        errors("[log]\nlevel = 5\n"),
        "config.toml:2: log.level: expected a string, found an integer"
    );
    assert_eq!(
        errors("[simulator]\nenabled = \"yes\"\n"),
        "config.toml:2: simulator.enabled: expected a boolean (true or false), found a string"
    );
    assert_eq!(
        errors("[server]\napi_tokens = [\n  \"a\",\n  2,\n]\n"),
        "config.toml:4: server.api_tokens[1]: expected a string, found an integer"
    );
    assert_eq!(
        errors("server = 5\n"),
        "config.toml:1: server: expected a table, found an integer"
    );
    assert_eq!(
        errors("[daemon]\nmax_restarts = -1\n"),
        "config.toml:2: daemon.max_restarts: -1 is out of range; expected an integer from 0 to 4294967295"
    );
    assert_eq!(
        errors("[log]\nformat = \"xml\"\n"),
        "config.toml:2: log.format: unknown value \"xml\"; expected one of text, json"
    );
    assert_eq!(
        errors("[store]\nlease = 30\n"),
        "config.toml:2: store.lease: expected a duration string such as \"30s\", found an integer (the unit is required)"
    );
}

#[test]
fn missing_required_key() {
    assert_eq!(
        errors("[shopify]\nshop_domain = \"demo.myshopify.com\"\n"),
        "config.toml:1: shopify.access_token: missing required key"
    );
}

#[test]
fn unknown_endpoint_reference() {
    let text = "[shopify]\nshop_domain = \"demo.myshopify.com\"\naccess_token = \"t\"\n\n\
                [endpoints.erp]\nkind = \"http\"\nurl = \"http://127.0.0.1:9100\"\n\n\
                [endpoints.wms]\nkind = \"file\"\ndir = \"out\"\n\n\
                [flows.orders]\ntargets = [\"erpp\"]\n";
    assert_eq!(
        errors(text),
        "config.toml:14: flows.orders.targets: unknown endpoint \"erpp\" (defined endpoints: erp, wms)"
    );
    // A broken endpoint is still a known name: only its own error is reported.
    let text = "[shopify]\nshop_domain = \"demo.myshopify.com\"\naccess_token = \"t\"\n\
                [endpoints.erp]\nkind = \"http\"\n\
                [flows.orders]\ntargets = [\"erp\"]\n";
    assert_eq!(
        errors(text),
        "config.toml:4: endpoints.erp.url: missing required key"
    );
}

#[test]
fn orders_flow_needs_shopify() {
    assert_eq!(
        errors("[flows.orders]\n"),
        "config.toml:1: flows.orders: the orders flow needs a [shopify] section (or set enabled = false)"
    );
    ok("[flows.orders]\nenabled = false\n");
}

#[test]
fn missing_env_var() {
    let text = "[shopify]\nshop_domain = \"demo.myshopify.com\"\n\n\n\n\naccess_token = \"${SHOPIFY_ACCESS_TOKEN}\"\n";
    assert_eq!(
        errors(text),
        "config.toml:7: shopify.access_token: environment variable SHOPIFY_ACCESS_TOKEN is not set"
    );
    assert_eq!(
        errors("[server]\napi_tokens = [\"a\", \"${TOKEN_B}\"]\n"),
        "config.toml:2: server.api_tokens[1]: environment variable TOKEN_B is not set"
    );
    assert_eq!(
        errors(
            "[endpoints.erp]\nkind = \"http\"\nurl = \"http://x\"\nheaders = { Authorization = \"Bearer ${ERP}\" }\n"
        ),
        "config.toml:4: endpoints.erp.headers.Authorization: environment variable ERP is not set"
    );
}

#[test]
fn env_defaults_and_dollar_escapes() {
    let env = |name: &str| match name {
        "SET" => Some("from-env".to_owned()),
        "EMPTY" => Some(String::new()),
        "INJECT" => Some("x\"\n[simulator]\nenabled = true".to_owned()),
        _ => None,
    };
    let text = "[server]\napi_tokens = [\"${SET:-d}\", \"${UNSET:-dflt}\", \"${EMPTY:-e}\", \"pa$$word\", \"$${SET}\", \"${INJECT}\"]\n";
    let config = match parse(text, "config.toml", &env) {
        Ok(config) => config,
        Err(errors) => panic!("{errors}"),
    };
    let tokens: Vec<&str> = config
        .server
        .api_tokens
        .iter()
        .map(Secret::expose)
        .collect();
    assert_eq!(
        tokens,
        [
            "from-env",
            "dflt",
            "e",
            "pa$word",
            "${SET}",
            "x\"\n[simulator]\nenabled = true"
        ]
    );
    // The injected text stayed inside the string.
    assert!(!config.simulator.enabled);
    assert_eq!(
        errors_with("[log]\nlevel = \"$LEVEL\"\n", &env),
        "config.toml:2: log.level: \"$LEVEL\" is not substituted: write \"${LEVEL}\" for an environment \
         variable or \"$$LEVEL\" for a literal \"$\""
    );
}

#[test]
fn invalid_duration() {
    assert_eq!(
        errors("[store]\ndir = \"data\"\nlease = \"5x\"\n"),
        "config.toml:3: store.lease: invalid duration \"5x\": expected a number followed by ms, s, m, h or d"
    );
    assert_eq!(
        errors("[flows.log]\nlease = \"0s\"\n"),
        "config.toml:2: flows.log.lease: must be greater than 0s"
    );
}

#[test]
fn invalid_listen_address() {
    assert_eq!(
        errors("[server]\nlisten = \"localhost:8080\"\n"),
        "config.toml:2: server.listen: invalid socket address \"localhost:8080\": expected IP:PORT with a \
         literal IP address, such as \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\""
    );
}

#[test]
fn value_checks() {
    let text = "[shopify]\nshop_domain = \"Demo.myshopify.com\"\napi_version = \"2026-11\"\naccess_token = \"\"\n\
                base_url = \"ftp://x\"\n";
    assert_eq!(
        errors(text),
        "config.toml:2: shopify.shop_domain: invalid shop domain \"Demo.myshopify.com\": expected \
         NAME.myshopify.com, NAME made of a-z, 0-9 and \"-\"\n\
         config.toml:3: shopify.api_version: invalid API version \"2026-11\": expected YYYY-MM with month \
         01, 04, 07 or 10 (e.g. \"2026-10\")\n\
         config.toml:4: shopify.access_token: must not be empty\n\
         config.toml:5: shopify.base_url: invalid URL \"ftp://x\": expected http://HOST[:PORT][/PATH] or https://…"
    );
    assert_eq!(
        errors("[flows.log]\nconcurrency = 2000\nmax_attempts = 0\n"),
        "config.toml:2: flows.log.concurrency: 2000 is out of range; expected 1 to 1024\n\
         config.toml:3: flows.log.max_attempts: must be at least 1"
    );
    assert_eq!(
        errors(
            "[endpoints.erp]\nkind = \"http\"\nurl = \"http://x\"\nbreaker_threshold = 0\n\
             breaker_cooldown = \"30s\"\nbreaker_cooldown_max = \"10s\"\n"
        ),
        "config.toml:4: endpoints.erp.breaker_threshold: must be at least 1\n\
         config.toml:6: endpoints.erp.breaker_cooldown_max: must not be shorter than breaker_cooldown (30s)"
    );
    assert_eq!(
        errors("[endpoints.Bad]\nkind = \"file\"\ndir = \"x\"\n"),
        "config.toml:1: endpoints.Bad: invalid endpoint name \"Bad\": use lowercase letters, digits, \"_\" and \"-\""
    );
    assert_eq!(
        errors("[daemon]\nrestart_backoff = \"1m\"\n"),
        "config.toml:2: daemon.restart_backoff_max: must be at least daemon.restart_backoff (1m)"
    );
}

#[test]
fn several_errors_in_different_sections_are_all_reported() {
    let report = match parse(MANY, "many.toml", &no_env) {
        Ok(config) => panic!("{config:?}"),
        Err(errors) => errors.to_string(),
    };
    let expected = [
        "many.toml:3: server.listen: invalid socket address \"localhost:8080\": expected IP:PORT with a \
         literal IP address, such as \"127.0.0.1:8080\", \"0.0.0.0:8080\" or \"[::1]:8080\"",
        "many.toml:4: server.api_tokens[1]: expected a string, found an integer",
        "many.toml:7: store.lease: invalid duration \"30 seconds\": expected a number followed by ms, s, m, h or d",
        "many.toml:10: daemon.max_restarts: -1 is out of range; expected an integer from 0 to 4294967295",
        "many.toml:11: daemon.watchdog: expected a boolean (true or false), found a string",
        "many.toml:14: shopify.shop_domain: invalid shop domain \"demo.shopify.com\": expected \
         NAME.myshopify.com, NAME made of a-z, 0-9 and \"-\"",
        "many.toml:15: shopify.api_version: invalid API version \"2026-13\": expected YYYY-MM with month \
         01, 04, 07 or 10 (e.g. \"2026-10\")",
        "many.toml:16: shopify.access_token: environment variable SHOPIFY_ACCESS_TOKEN is not set",
        "many.toml:20: endpoints.erp.url: invalid URL \"ftp://erp.example.com\": expected \
         http://HOST[:PORT][/PATH] or https://…",
        "many.toml:21: endpoints.erp.retries: unknown key; expected one of url, headers, signing_secret, timeout, concurrency, max_attempts, max_age, breaker_threshold, breaker_cooldown, breaker_cooldown_max",
        "many.toml:24: endpoints.wms.kind: unknown kind \"ftp\"; expected one of http, file",
        "many.toml:27: flows.log.concurrency: 0 is out of range; expected 1 to 1024",
        "many.toml:30: flows.orders.targets: unknown endpoint \"erpp\" (defined endpoints: erp, wms)",
        "many.toml:32: flows.invoices: unknown flow; expected one of log, orders, exceptions, inventory, customers, products, fulfillments, returns, reporting",
    ];
    assert_eq!(report, expected.join("\n"));
}

#[test]
fn toml_syntax_error_has_a_line() {
    let report = errors("[server]\nlisten = \"127.0.0.1:8080\"\napi_tokens = [\"a\" \"b\"]\n");
    assert!(
        report.starts_with("config.toml:3: missing comma between array elements"),
        "{report}"
    );
    let report = errors("[log]\n\nlevel = \"info\nformat = \"text\"\n");
    assert!(report.starts_with("config.toml:3: "), "{report}");
    let report = errors("[log]\nlevel = \"info\"\nlevel = \"debug\"\n");
    assert!(
        report.starts_with("config.toml:3: duplicate key"),
        "{report}"
    );
    let report = errors("a = 1\nb = = 2\n");
    assert!(report.starts_with("config.toml:2: "), "{report}");
}

#[test]
fn load_reports_io_and_encoding_problems() {
    let missing = std::path::Path::new("/nonexistent/xconnector/config.toml");
    let report = load(missing).unwrap_err().to_string();
    assert!(
        report.starts_with(
            "/nonexistent/xconnector/config.toml: cannot read the configuration file: "
        ),
        "{report}"
    );
}

#[test]
fn never_panics() {
    let deep_arrays = format!("a = {}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_tables = format!("server = {}{}", "{a = ".repeat(5000), "}".repeat(5000));
    let many_keys: String = (0..5000).map(|i| format!("k{i} = {i}\n")).collect();
    let nasty: Vec<String> = vec![
        "\u{0}\u{1}\u{7f}\u{feff}".into(),
        "\u{feff}[server]\nlisten = \"127.0.0.1:1\"\n".into(),
        "[[server]]\nlisten = \"x\"\n".into(),
        "[[endpoints]]\nkind = \"http\"\n".into(),
        "server = 5".into(),
        "flows = []".into(),
        "endpoints = \"x\"".into(),
        "[endpoints.x]\nkind = { a = 1 }\n".into(),
        "[endpoints.x]\nkind = \"http\"\nurl = 5\ntimeout = -3\nheaders = [1]\n".into(),
        "[daemon]\nmax_restarts = 99999999999999999999999999999999999999999\n".into(),
        "[daemon]\nmax_restarts = 0xffffffffffffffffffffffffffffffffff\n".into(),
        "[daemon]\nmax_restarts = -9223372036854775808\nrestart_window = 1e999\n".into(),
        "[store]\nlease = \"99999999999999999999d\"\n".into(),
        "[store]\nlease = 1979-05-27T07:32:00Z\ndir = 1979-05-27\n".into(),
        "[log]\nlevel = nan\nformat = inf\n".into(),
        "[server]\napi_tokens = [[[\"${\"]]]\n".into(),
        "[flows.log]\nlease = {}\nconcurrency = 1.5\n".into(),
        "[shopify]\naccess_token = [\"${X}\"]\n".into(),
        "[shopify]\nshop_domain = \"${X}\"\naccess_token = \"${Y\"\n".into(),
        "\"\\ud800\" = 1".into(),
        "x = '''".into(),
        "=".into(),
        "[".into(),
        "[a.b.c.d.e.f.g]\n[a]\nb = 1".into(),
        "ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ᛫ᚠᛁᚱᚪ᛫ᚷᛖᚻᚹᛦᛚᚳᚢᛗ".into(),
        String::from_utf8_lossy(&[0xff, 0xfe, b'[', 0x80, b']', b'\n', b'=', 0xc3]).into_owned(),
        deep_arrays,
        deep_tables,
        many_keys,
    ];
    for text in &nasty {
        let result = std::panic::catch_unwind(|| parse(text, "config.toml", &no_env));
        match result {
            Ok(Ok(_)) if text.starts_with('\u{feff}') => {}
            Ok(Ok(config)) => panic!("expected an error for {text:.60?}, got {config:?}"),
            Ok(Err(errors)) => assert!(!errors.is_empty(), "{text:.60?}"),
            Err(_) => panic!("panicked on {text:.60?}"),
        }
    }
    // Pseudo-random byte soup (deterministic): only "does not panic" matters here.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let len = (state % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                const ALPHABET: &[u8] = b"[]{}=\"'.,\n #$abcdz019-_:\\";
                ALPHABET[(state % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = std::panic::catch_unwind(|| {
            let _ = parse(&text, "config.toml", &no_env);
        });
        assert!(outcome.is_ok(), "panicked on {text:?}");
    }
}

#[test]
fn inventory_flow_keys_and_checks() {
    let shopify = r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "t"
webhook_secrets = ["s"]
"#;
    let config = ok(&format!(
        r#"{shopify}
[flows.inventory]
reason = "cycle_count_available"
batch_size = 100
linger = "50ms"
watch_dir = "drops"

[flows.inventory.locations]
"Main Warehouse" = 1001
"#
    ));
    let inv = config.flows.get::<InventoryModule>().unwrap();
    assert!(inv.common.enabled);
    let inv = inv.config.clone();
    assert_eq!(inv.reason, "cycle_count_available");
    assert_eq!(inv.batch_size, 100);
    assert_eq!(inv.linger, Duration::from_millis(50));
    assert_eq!(inv.max_levels, 100_000);
    assert_eq!(inv.watch_dir.unwrap().to_str(), Some("drops"));
    assert_eq!(inv.locations["Main Warehouse"], 1001);

    let report = errors(&format!(
        r#"{shopify}
[flows.inventory]
batch_size = 251
lookup_batch = 0
reason = " "
bogus = 1

[flows.inventory.locations]
"Main" = 0
"#
    ));
    assert!(report.contains("flows.inventory.bogus"), "{report}");
    let report = errors(&format!(
        r#"{shopify}
[flows.inventory]
batch_size = 251
lookup_batch = 0
reason = " "

[flows.inventory.locations]
"Main" = 0
"#
    ));
    for needle in [
        "flows.inventory.batch_size",
        "must be 1 to 250, not 251",
        "flows.inventory.lookup_batch",
        "flows.inventory.reason",
        "flows.inventory.locations",
    ] {
        assert!(report.contains(needle), "{needle} missing in:\n{report}");
    }
    let report = errors("[flows.inventory]\n");
    assert!(
        report.contains("the inventory flow needs a [shopify] section"),
        "{report}"
    );
}

#[test]
fn inventory_locations_take_a_gid_or_its_number() {
    let shopify = "[shopify]\nshop_domain = \"demo.myshopify.com\"\naccess_token = \"t\"\n";
    let config = ok(&format!(
        r#"{shopify}
[flows.inventory.locations]
"Main Warehouse" = "gid://shopify/Location/1001"
"Overflow" = 1002
"Store" = "1003"
"#
    ));
    let inv = &config.flows.get::<InventoryModule>().unwrap().config;
    assert_eq!(
        inv.locations
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [
            ("Main Warehouse", 1001),
            ("Overflow", 1002),
            ("Store", 1003)
        ]
    );

    // Lines 6 to 12, one bad value each; every one is named with its key and line.
    let report = errors(&format!(
        r#"{shopify}
[flows.inventory.locations]
"Main" = "gid://shopify/Order/7"
"Back" = "Location/8"
"Zero" = 0
"Minus" = -3
"Float" = 1.5
"Empty" = ""
"Fine" = "gid://shopify/Location/9"
"#
    ));
    let forms = r#"a Shopify location id: its GID ("gid://shopify/Location/1001") or the number at its end (1001 or "1001")"#;
    for needle in [
        format!(
            r#"config.toml:6: flows.inventory.locations.Main: "gid://shopify/Order/7" is not {forms}"#
        ),
        format!(r#"config.toml:7: flows.inventory.locations.Back: "Location/8" is not {forms}"#),
        format!("config.toml:8: flows.inventory.locations.Zero: 0 is not {forms}"),
        format!("config.toml:9: flows.inventory.locations.Minus: -3 is not {forms}"),
        format!("config.toml:10: flows.inventory.locations.Float: expected {forms}, found a float"),
        format!(r#"config.toml:11: flows.inventory.locations.Empty: "" is not {forms}"#),
    ] {
        assert!(report.contains(&needle), "{needle} missing in:\n{report}");
    }
    assert!(!report.contains("Fine"), "{report}");
}

#[test]
fn exception_rules_are_checked_with_their_lines() {
    let base = "[shopify]\nshop_domain = \"x.myshopify.com\"\naccess_token = \"t\"\n\n\
                [endpoints.erp]\nkind = \"http\"\nurl = \"http://erp\"\n\n\
                [flows.orders]\ntargets = [\"erp\"]\n\n";
    let text = format!(
        "{base}[flows.exceptions.address]\nroute_to = \"helpdesk\"\nrequired = [\"zip\", \"postcode\"]\n\
         allowed_countries = [\"USA\"]\n\n[flows.exceptions.payment]\nhold = [\"PENDING\", \"LATE\"]\n\n\
         [flows.exceptions.fraud]\nmax_risk = \"EXTREME\"\n"
    );
    assert_eq!(
        errors(&text),
        "config.toml:13: flows.exceptions.address.route_to: unknown endpoint \"helpdesk\" (defined endpoints: erp)\n\
         config.toml:14: flows.exceptions.address.required: unknown address field \"postcode\"; expected one of name, address1, city, zip, country_code, province_code, phone\n\
         config.toml:15: flows.exceptions.address.allowed_countries: \"USA\" is not a two-letter country code (ISO 3166-1 alpha-2)\n\
         config.toml:18: flows.exceptions.payment.hold: unknown financial status \"LATE\"; expected one of PENDING, AUTHORIZED, PARTIALLY_PAID, PAID, PARTIALLY_REFUNDED, REFUNDED, VOIDED, EXPIRED\n\
         config.toml:21: flows.exceptions.fraud.max_risk: \"EXTREME\" is not a risk level; expected LOW, MEDIUM or HIGH"
    );
    // Exceptions without the orders flow have nothing to check.
    assert_eq!(
        errors("[flows.exceptions]\n"),
        "config.toml:1: flows.exceptions: the exceptions flow checks the orders of [flows.orders], which is not enabled"
    );
    // A CSV file endpoint needs its columns.
    assert_eq!(
        errors("[endpoints.drop]\nkind = \"file\"\ndir = \"out\"\nformat = \"csv\"\n"),
        "config.toml:1: endpoints.drop.columns: a CSV endpoint needs its columns, e.g. [\"idempotency_key\", \"name\", \"totals.total\"]"
    );
    // A file endpoint's mode is octal, and leaves the daemon its own files.
    assert_eq!(
        errors("[endpoints.drop]\nkind = \"file\"\ndir = \"out\"\nmode = \"0999\"\n"),
        "config.toml:4: endpoints.drop.mode: \"0999\" is not a file mode; expected octal digits such as \"0640\""
    );
    assert_eq!(
        errors("[endpoints.drop]\nkind = \"file\"\ndir = \"out\"\nmode = \"0440\"\n"),
        "config.toml:4: endpoints.drop.mode: \"0440\" does not let the daemon read and write its own files; expected at least 0600"
    );
    assert_eq!(
        errors("[server]\nheader_timeout = \"0s\"\nmax_connections = 0\n"),
        "config.toml:2: server.header_timeout: must be greater than 0s\n\
         config.toml:3: server.max_connections: must be 1 to 65536, not 0"
    );
    assert_eq!(
        errors("[control]\nbulk_batch = 0\nbulk_pause = 5\n"),
        "config.toml:2: control.bulk_batch: must be 1 to 10000, not 0\n\
         config.toml:3: control.bulk_pause: expected a duration string such as \"5s\", found an integer (the unit is required)"
    );
    assert_eq!(
        errors("[control]\nbulk_batch = 20000\n"),
        "config.toml:2: control.bulk_batch: must be 1 to 10000, not 20000"
    );
    assert_eq!(crate::config::parse_mode("640"), Some(0o640));
    assert_eq!(crate::config::parse_mode("0o600"), Some(0o600));
    assert_eq!(crate::config::parse_mode(""), None);
}
