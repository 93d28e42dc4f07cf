//! Checks that need more than one value's type: formats, ranges, cross-references.
//!
//! Runs on the typed `Config` after deserialization. Each issue names the key path
//! it is about; `load.rs` finds the line from the parsed tree.

use super::duration;
use super::secret::Secret;
use super::types::{Config, EndpointConfig, FileFormat, HttpEndpoint, ShopifyConfig};
use xconnector_actors::config::KeyPath;
use xconnector_actors::config::{Problem, Problems};

/// Longest path a Unix socket can be bound to (sun_path is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The flows' sections are checked by their modules (`Flows::check`).
pub(crate) fn validate(config: &Config) -> Vec<Problem> {
    let mut issues = Problems::new();
    let root = KeyPath::root();

    let server = root.key("server");
    non_empty_secrets(
        &mut issues,
        &server.key("api_tokens"),
        &config.server.api_tokens,
    );
    issues.positive(server.key("header_timeout"), config.server.header_timeout);
    issues.positive(server.key("body_timeout"), config.server.body_timeout);
    // Below 8 MiB the large bodies' share could not hold one 5 MiB body.
    if !(8..=4096).contains(&config.server.body_memory_mib) {
        issues.push(
            server.key("body_memory_mib"),
            format!(
                "must be 8 to 4096 (MiB), not {}",
                config.server.body_memory_mib
            ),
        );
    }
    if !(1..=65_536).contains(&config.server.max_connections) {
        issues.push(
            server.key("max_connections"),
            format!("must be 1 to 65536, not {}", config.server.max_connections),
        );
    }

    let store = root.key("store");
    if config.store.dir.as_os_str().is_empty() {
        issues.push(store.key("dir"), "must not be empty");
    }
    issues.positive(store.key("lease"), config.store.lease);
    issues.between_1_and(store.key("cache_mib"), config.store.cache_mib, 65_536);
    issues.between_1_and(
        store.key("write_buffer_mib"),
        config.store.write_buffer_mib,
        65_536,
    );
    if let (Some(min), Some(resume)) = (config.store.min_free_mib, config.store.resume_free_mib)
        && resume <= min
    {
        issues.push(
            store.key("resume_free_mib"),
            format!("must be more than min_free_mib ({min}), not {resume}"),
        );
    }
    if !(64..=65_536).contains(&config.store.journal_mib) {
        issues.push(
            store.key("journal_mib"),
            format!("must be 64 to 65536, not {}", config.store.journal_mib),
        );
    }
    let retention = store.key("retention");
    let r = &config.store.retention;
    issues.positive(retention.key("prune_every"), r.prune_every);
    issues.positive(retention.key("dedupe"), r.dedupe);
    issues.between_1_and(retention.key("prune_batch"), r.prune_batch, 1_000_000);

    let control = root.key("control");
    issues.between_1_and(control.key("bulk_batch"), config.control.bulk_batch, 10_000);
    let socket = control.key("socket");
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
    issues.positive(daemon.key("restart_window"), config.daemon.restart_window);
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
                issues.concurrency(path.key("concurrency"), http.concurrency);
                issues.max_attempts(path.key("max_attempts"), http.max_attempts);
                issues.positive(path.key("max_age"), http.max_age);
                if http.breaker_threshold == 0 {
                    issues.push(path.key("breaker_threshold"), "must be at least 1");
                }
                issues.positive(path.key("breaker_cooldown"), http.breaker_cooldown);
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
                match super::types::parse_mode(&file.mode) {
                    None => issues.push(
                        path.key("mode"),
                        format!(
                            "{:?} is not a file mode; expected octal digits such as \"0640\"",
                            file.mode
                        ),
                    ),
                    Some(m) if m & 0o600 != 0o600 => issues.push(
                        path.key("mode"),
                        format!(
                            "{:?} does not let the daemon read and write its own files; expected at least 0600",
                            file.mode
                        ),
                    ),
                    Some(_) => {}
                }
                if file.rotate_bytes < 1024 {
                    issues.push(
                        path.key("rotate_bytes"),
                        format!("must be at least 1024, not {}", file.rotate_bytes),
                    );
                }
                issues.max_attempts(path.key("max_attempts"), file.max_attempts);
                issues.positive(path.key("max_age"), file.max_age);
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
        ("media_fetch_failure", s.faults.media_fetch_failure),
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
        (
            "customer_changes_per_second",
            s.traffic.customer_changes_per_second,
        ),
        (
            "merchandising_edits_per_second",
            s.traffic.merchandising_edits_per_second,
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

    issues.into_vec()
}

/// Shares are probabilities.
fn fraction(issues: &mut Problems, path: KeyPath, v: f64) {
    if !(0.0..=1.0).contains(&v) {
        issues.push(path, format!("must be between 0 and 1, not {v}"));
    }
}

fn check_shopify(issues: &mut Problems, path: &KeyPath, shopify: &ShopifyConfig) {
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

fn check_http_endpoint(issues: &mut Problems, path: &KeyPath, http: &HttpEndpoint) {
    http_url(issues, path.key("url"), &http.url);
    issues.positive(path.key("timeout"), http.timeout);
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

fn non_empty_secrets(issues: &mut Problems, path: &KeyPath, secrets: &[Secret]) {
    for (i, secret) in secrets.iter().enumerate() {
        if secret.is_empty() {
            issues.push(path.index(i), "must not be empty");
        }
    }
}

fn http_url(issues: &mut Problems, path: KeyPath, url: &str) {
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
