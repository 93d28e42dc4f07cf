//! Checks that need more than one value's type: formats, ranges, cross-references.
//!
//! Runs on the typed `Config` after deserialization. Each issue names the key path
//! it is about; `load.rs` finds the line from the parsed tree.

use std::collections::BTreeSet;
use std::time::Duration;

use super::duration;
use super::path::KeyPath;
use super::secret::Secret;
use super::types::{Config, EndpointConfig, FileFormat, HttpEndpoint, ShopifyConfig};
use xconnector_actors::rules::ADDRESS_FIELDS;

/// Longest path a Unix socket can be bound to (sun_path is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;
const CONCURRENCY: std::ops::RangeInclusive<u32> = 1..=1024;

pub(crate) struct Issue {
    /// The key the message is about.
    pub(crate) path: KeyPath,
    /// Where to point for the line, in order of preference, when `path` is not the
    /// best place (an array element; the other key of a pair when this one is unset).
    /// The first one present in the file wins.
    pub(crate) at: Vec<KeyPath>,
    pub(crate) message: String,
}

struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, path: KeyPath, message: impl Into<String>) {
        self.0.push(Issue {
            path,
            at: Vec::new(),
            message: message.into(),
        });
    }

    fn push_at(&mut self, path: KeyPath, at: Vec<KeyPath>, message: impl Into<String>) {
        self.0.push(Issue {
            path,
            at,
            message: message.into(),
        });
    }
}

/// `endpoint_names` are the `[endpoints.NAME]` tables present in the file, valid or
/// not, so that a broken endpoint does not also make every reference to it "unknown".
pub(crate) fn validate(config: &Config, endpoint_names: &BTreeSet<String>) -> Vec<Issue> {
    let mut issues = Issues(Vec::new());
    let root = KeyPath::root();

    let server = root.key("server");
    non_empty_secrets(
        &mut issues,
        &server.key("api_tokens"),
        &config.server.api_tokens,
    );

    let store = root.key("store");
    if config.store.dir.as_os_str().is_empty() {
        issues.push(store.key("dir"), "must not be empty");
    }
    positive(&mut issues, store.key("lease"), config.store.lease);

    let socket = root.key("control").key("socket");
    let socket_len = config.control.socket.as_os_str().len();
    if socket_len == 0 {
        issues.push(socket, "must not be empty");
    } else if socket_len > MAX_SOCKET_PATH {
        issues.push(
            socket,
            format!("path is {socket_len} bytes; Unix socket paths can be at most {MAX_SOCKET_PATH} bytes"),
        );
    }

    let daemon = root.key("daemon");
    positive(
        &mut issues,
        daemon.key("restart_window"),
        config.daemon.restart_window,
    );
    if config.daemon.restart_backoff_max < config.daemon.restart_backoff {
        let max = daemon.key("restart_backoff_max");
        issues.push_at(
            max.clone(),
            vec![max, daemon.key("restart_backoff")],
            format!(
                "must be at least daemon.restart_backoff ({})",
                duration::format(config.daemon.restart_backoff)
            ),
        );
    }

    if let Some(shopify) = &config.shopify {
        check_shopify(&mut issues, &root.key("shopify"), shopify);
    }

    let endpoints = root.key("endpoints");
    for (name, endpoint) in &config.endpoints {
        let path = endpoints.key(name);
        if !is_name(name) {
            issues.push(
                path.clone(),
                format!(
                    "invalid endpoint name {name:?}: use lowercase letters, digits, \"_\" and \"-\""
                ),
            );
        }
        match endpoint {
            EndpointConfig::Http(http) => {
                check_http_endpoint(&mut issues, &path, http);
                concurrency(&mut issues, path.key("concurrency"), http.concurrency);
                max_attempts(&mut issues, path.key("max_attempts"), http.max_attempts);
                positive(&mut issues, path.key("max_age"), http.max_age);
                if http.breaker_threshold == 0 {
                    issues.push(path.key("breaker_threshold"), "must be at least 1");
                }
                positive(
                    &mut issues,
                    path.key("breaker_cooldown"),
                    http.breaker_cooldown,
                );
                if http.breaker_cooldown_max < http.breaker_cooldown {
                    issues.push(
                        path.key("breaker_cooldown_max"),
                        format!(
                            "must not be shorter than breaker_cooldown ({:?})",
                            http.breaker_cooldown
                        ),
                    );
                }
            }
            EndpointConfig::File(file) => {
                if file.dir.as_os_str().is_empty() {
                    issues.push(path.key("dir"), "must not be empty");
                }
                if file.format == FileFormat::Csv && file.columns.is_empty() {
                    issues.push(
                        path.key("columns"),
                        "a CSV endpoint needs its columns, e.g. [\"idempotency_key\", \"name\", \"totals.total\"]",
                    );
                }
                for (i, c) in file.columns.iter().enumerate() {
                    if c.trim().is_empty() {
                        issues.push(path.key("columns").index(i), "must not be empty");
                    }
                }
                if file.rotate_bytes < 1024 {
                    issues.push(
                        path.key("rotate_bytes"),
                        format!("must be at least 1024, not {}", file.rotate_bytes),
                    );
                }
                max_attempts(&mut issues, path.key("max_attempts"), file.max_attempts);
                positive(&mut issues, path.key("max_age"), file.max_age);
            }
        }
    }

    let flows = root.key("flows");
    if let Some(log) = &config.flows.log {
        let path = flows.key("log");
        concurrency(&mut issues, path.key("concurrency"), log.concurrency);
        max_attempts(&mut issues, path.key("max_attempts"), log.max_attempts);
        if let Some(lease) = log.lease {
            positive(&mut issues, path.key("lease"), lease);
        }
    }
    if let Some(orders) = &config.flows.orders {
        let path = flows.key("orders");
        if orders.enabled && config.shopify.is_none() {
            issues.push(
                path.clone(),
                "the orders flow needs a [shopify] section (or set enabled = false)",
            );
        }
        concurrency(&mut issues, path.key("concurrency"), orders.concurrency);
        max_attempts(&mut issues, path.key("max_attempts"), orders.max_attempts);
        positive(
            &mut issues,
            path.key("reconcile_every"),
            orders.reconcile_every,
        );
        let targets = path.key("targets");
        let mut seen = BTreeSet::new();
        for (i, target) in orders.targets.iter().enumerate() {
            let at = vec![targets.index(i)];
            if endpoint_ref(&mut issues, &targets, at.clone(), target, endpoint_names)
                && !seen.insert(target)
            {
                issues.push_at(
                    targets.clone(),
                    at,
                    format!("endpoint {target:?} is listed twice"),
                );
            }
        }
    }
    if let Some(ex) = &config.flows.exceptions {
        let path = flows.key("exceptions");
        let orders_on = config.flows.orders.as_ref().is_some_and(|o| o.enabled);
        if ex.enabled && !orders_on {
            issues.push(
                path.clone(),
                "the exceptions flow checks the orders of [flows.orders], which is not enabled",
            );
        }
        concurrency(&mut issues, path.key("concurrency"), ex.concurrency);
        max_attempts(&mut issues, path.key("max_attempts"), ex.max_attempts);
        for (rule, route_to) in [
            ("address", &ex.address.route_to),
            ("payment", &ex.payment.route_to),
            ("fraud", &ex.fraud.route_to),
            ("stock", &ex.stock.route_to),
        ] {
            if let Some(name) = route_to {
                let key = path.key(rule).key("route_to");
                endpoint_ref(&mut issues, &key, Vec::new(), name, endpoint_names);
            }
        }
        let address = path.key("address");
        for (i, field) in ex.address.required.iter().enumerate() {
            if !ADDRESS_FIELDS.contains(&field.as_str()) {
                issues.push_at(
                    address.key("required"),
                    vec![address.key("required").index(i)],
                    format!(
                        "unknown address field {field:?}; expected one of {}",
                        ADDRESS_FIELDS.join(", ")
                    ),
                );
            }
        }
        for (i, c) in ex.address.allowed_countries.iter().enumerate() {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                issues.push_at(
                    address.key("allowed_countries"),
                    vec![address.key("allowed_countries").index(i)],
                    format!("{c:?} is not a two-letter country code (ISO 3166-1 alpha-2)"),
                );
            }
        }
        let payment = path.key("payment");
        for (i, status) in ex.payment.hold.iter().enumerate() {
            if !FINANCIAL_STATUSES.contains(&status.to_ascii_uppercase().as_str()) {
                issues.push_at(
                    payment.key("hold"),
                    vec![payment.key("hold").index(i)],
                    format!(
                        "unknown financial status {status:?}; expected one of {}",
                        FINANCIAL_STATUSES.join(", ")
                    ),
                );
            }
        }
        if xconnector_actors::rules::RiskLevel::parse(&ex.fraud.max_risk).is_none()
            || ex.fraud.max_risk.eq_ignore_ascii_case("none")
        {
            issues.push(
                path.key("fraud").key("max_risk"),
                format!(
                    "{:?} is not a risk level; expected LOW, MEDIUM or HIGH",
                    ex.fraud.max_risk
                ),
            );
        }
    }

    if let Some(inventory) = &config.flows.inventory {
        let path = flows.key("inventory");
        if inventory.enabled && config.shopify.is_none() {
            issues.push(
                path.clone(),
                "the inventory flow needs a [shopify] section (or set enabled = false)",
            );
        }
        concurrency(&mut issues, path.key("concurrency"), inventory.concurrency);
        max_attempts(
            &mut issues,
            path.key("max_attempts"),
            inventory.max_attempts,
        );
        positive(&mut issues, path.key("lease"), inventory.lease);
        positive(&mut issues, path.key("watch_every"), inventory.watch_every);
        for (key, value, max) in [
            ("batch_size", inventory.batch_size, 250),
            ("lookup_batch", inventory.lookup_batch, 50),
            ("max_levels", inventory.max_levels, 100_000),
        ] {
            if !(1..=max).contains(&value) {
                issues.push(path.key(key), format!("must be 1 to {max}, not {value}"));
            }
        }
        if inventory.reason.trim().is_empty() {
            issues.push(path.key("reason"), "must not be empty");
        }
        if inventory
            .watch_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            issues.push(
                path.key("watch_dir"),
                "must not be empty (leave it out to watch nothing)",
            );
        }
        for (name, id) in &inventory.locations {
            if name.trim().is_empty() || *id == 0 {
                issues.push(
                    path.key("locations"),
                    format!("{name:?} = {id}: a location needs a name and a Shopify location id (the number at the end of its gid://shopify/Location/…)"),
                );
            }
        }
    }

    let sim = root.key("simulator");
    let s = &config.simulator;
    for (key, share) in [
        ("duplicate_share", s.duplicate_share),
        ("reorder_share", s.reorder_share),
    ] {
        fraction(&mut issues, sim.key(key), share);
    }
    fraction(
        &mut issues,
        sim.key("traffic").key("bad_share"),
        s.traffic.bad_share,
    );
    let faults = sim.key("faults");
    for (key, share) in [
        ("error_5xx", s.faults.error_5xx),
        ("error_429", s.faults.error_429),
        ("drop_connection", s.faults.drop_connection),
    ] {
        fraction(&mut issues, faults.key(key), share);
    }
    let traffic = sim.key("traffic");
    for (key, rate) in [
        ("orders_per_second", s.traffic.orders_per_second),
        (
            "stock_changes_per_second",
            s.traffic.stock_changes_per_second,
        ),
    ] {
        if !(0.0..=10_000.0).contains(&rate) {
            issues.push(
                traffic.key(key),
                format!("must be between 0 and 10000, not {rate}"),
            );
        }
    }
    for (key, v) in [
        ("bucket_size", s.bucket_size),
        ("restore_rate", s.restore_rate),
    ] {
        if !(v > 0.0 && v.is_finite()) {
            issues.push(sim.key(key), format!("must be greater than 0, not {v}"));
        }
    }
    if !s.webhook_url.is_empty() && !is_http_url(&s.webhook_url) {
        issues.push(
            sim.key("webhook_url"),
            "must start with http:// or https://",
        );
    }

    issues.0
}

/// Shares are probabilities.
fn fraction(issues: &mut Issues, path: KeyPath, v: f64) {
    if !(0.0..=1.0).contains(&v) {
        issues.push(path, format!("must be between 0 and 1, not {v}"));
    }
}

fn check_shopify(issues: &mut Issues, path: &KeyPath, shopify: &ShopifyConfig) {
    if let Some(address) = &shopify.webhook_address
        && !is_http_url(address)
    {
        issues.push(
            path.key("webhook_address"),
            "must start with http:// or https://",
        );
    }
    if !is_shop_domain(&shopify.shop_domain) {
        issues.push(
            path.key("shop_domain"),
            format!(
                "invalid shop domain {:?}: expected NAME.myshopify.com, NAME made of a-z, 0-9 and \"-\"",
                shopify.shop_domain
            ),
        );
    }
    if !is_api_version(&shopify.api_version) {
        issues.push(
            path.key("api_version"),
            format!(
                "invalid API version {:?}: expected YYYY-MM with month 01, 04, 07 or 10 (e.g. \"2026-10\")",
                shopify.api_version
            ),
        );
    }
    if shopify.access_token.is_empty() {
        issues.push(path.key("access_token"), "must not be empty");
    }
    non_empty_secrets(
        issues,
        &path.key("webhook_secrets"),
        &shopify.webhook_secrets,
    );
    if let Some(url) = &shopify.base_url {
        http_url(issues, path.key("base_url"), url);
    }
}

fn check_http_endpoint(issues: &mut Issues, path: &KeyPath, http: &HttpEndpoint) {
    http_url(issues, path.key("url"), &http.url);
    positive(issues, path.key("timeout"), http.timeout);
    if http.signing_secret.as_ref().is_some_and(Secret::is_empty) {
        issues.push(path.key("signing_secret"), "must not be empty");
    }
    let headers = path.key("headers");
    for (name, value) in &http.headers {
        let header = headers.key(name);
        if !is_header_name(name) {
            issues.push(header.clone(), format!("invalid header name {name:?}"));
        }
        // Never echo the value: header values are where credentials go.
        if value.chars().any(|c| c.is_control() && c != '\t') {
            issues.push(
                header,
                "header value must not contain control characters (newlines, NUL)",
            );
        }
    }
}

/// Checks that `name` is a defined endpoint; true if it is.
fn endpoint_ref(
    issues: &mut Issues,
    path: &KeyPath,
    at: Vec<KeyPath>,
    name: &str,
    endpoint_names: &BTreeSet<String>,
) -> bool {
    if endpoint_names.contains(name) {
        return true;
    }
    let known = if endpoint_names.is_empty() {
        "no endpoints are defined".to_owned()
    } else {
        let names: Vec<&str> = endpoint_names.iter().map(String::as_str).collect();
        format!("defined endpoints: {}", names.join(", "))
    };
    issues.push_at(
        path.clone(),
        at,
        format!("unknown endpoint {name:?} ({known})"),
    );
    false
}

/// Shopify's `OrderDisplayFinancialStatus` values.
const FINANCIAL_STATUSES: [&str; 8] = [
    "PENDING",
    "AUTHORIZED",
    "PARTIALLY_PAID",
    "PAID",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
    "VOIDED",
    "EXPIRED",
];

fn non_empty_secrets(issues: &mut Issues, path: &KeyPath, secrets: &[Secret]) {
    for (i, secret) in secrets.iter().enumerate() {
        if secret.is_empty() {
            issues.push(path.index(i), "must not be empty");
        }
    }
}

fn positive(issues: &mut Issues, path: KeyPath, value: Duration) {
    if value.is_zero() {
        issues.push(path, "must be greater than 0s");
    }
}

fn concurrency(issues: &mut Issues, path: KeyPath, value: u32) {
    if !CONCURRENCY.contains(&value) {
        issues.push(
            path,
            format!(
                "{value} is out of range; expected {} to {}",
                CONCURRENCY.start(),
                CONCURRENCY.end()
            ),
        );
    }
}

fn max_attempts(issues: &mut Issues, path: KeyPath, value: u32) {
    if value == 0 {
        issues.push(path, "must be at least 1");
    }
}

fn http_url(issues: &mut Issues, path: KeyPath, url: &str) {
    if !is_http_url(url) {
        issues.push(
            path,
            format!("invalid URL {url:?}: expected http://HOST[:PORT][/PATH] or https://…"),
        );
    }
}

/// `[a-z0-9_-]+`: endpoint names appear in metrics labels, file names and CLI args.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn is_shop_domain(domain: &str) -> bool {
    domain.strip_suffix(".myshopify.com").is_some_and(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// Shopify releases API versions quarterly: YYYY-01, -04, -07, -10.
fn is_api_version(version: &str) -> bool {
    let b = version.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && matches!(&b[5..], b"01" | b"04" | b"07" | b"10")
}

/// A scheme we can speak, a non-empty host, and nothing that would need escaping.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|rest| {
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        host_end > 0 && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains() {
        assert!(is_shop_domain("demo.myshopify.com"));
        assert!(is_shop_domain("my-shop-2.myshopify.com"));
        for bad in [
            "",
            ".myshopify.com",
            "Demo.myshopify.com",
            "demo.shopify.com",
            "a.b.myshopify.com",
            "demo",
        ] {
            assert!(!is_shop_domain(bad), "{bad:?}");
        }
    }

    #[test]
    fn api_versions() {
        for good in ["2026-10", "2025-01", "2025-04", "2025-07"] {
            assert!(is_api_version(good), "{good:?}");
        }
        for bad in [
            "2026-11",
            "2026-1",
            "26-10",
            "2026/10",
            "unstable",
            "２０２６-10",
            "",
        ] {
            assert!(!is_api_version(bad), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        for good in [
            "http://127.0.0.1:9100/orders",
            "https://erp.example.com",
            "http://h?x=1",
        ] {
            assert!(is_http_url(good), "{good:?}");
        }
        for bad in [
            "",
            "ftp://x",
            "http://",
            "https:///path",
            "http://a b",
            "127.0.0.1:9100",
            "HTTP//x",
        ] {
            assert!(!is_http_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_and_headers() {
        assert!(is_name("erp") && is_name("wms_2") && is_name("a-b"));
        assert!(!is_name("") && !is_name("ERP") && !is_name("a.b") && !is_name("a b"));
        assert!(is_header_name("X-Api-Key") && is_header_name("authorization"));
        assert!(!is_header_name("") && !is_header_name("X Api") && !is_header_name("X:Y"));
    }
}
