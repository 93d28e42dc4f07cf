//! Bad input, generated: random bytes, truncated JSON, wrong signatures and headers at the
//! webhook intake; mangled stock feeds, oversized level lists and wrong bearer tokens at the
//! inventory API; and random TOML at the config loader. Nothing panics, a client's mistake is
//! never a 5xx, and nothing is stored for a refused request.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use reqwest::header::HeaderValue;
use serde_json::{Value, json};
use xconnector::config::Registry;
use xconnector::config::{Secret, parse};
use xconnector::http::{AppState, router};
use xconnector::intake::{self, ApiStats, Intake};
use xconnector::webhooks::{MAX_BODY, WebhookIntake};
use xconnector_actors::flows::inventory::feed::{CHUNK_LEVELS, Chunk, FLOW, KIND_LEVELS};
use xconnector_actors::flows::inventory::inbound::StockFeed;
use xconnector_actors::inbound::{Served, json};
use xconnector_actors::item::ItemId;
use xconnector_actors::signature::shopify_signature;
use xconnector_actors::{Engine, EngineConfig};

const SECRET: &str = "fuzz-secret";
const SHOP: &str = "demo.myshopify.com";
/// `[server] api_tokens`: two, as during a rotation.
const TOKENS: [&str; 2] = ["fuzz-token-one", "fuzz-token-two"];
/// `[flows.inventory] max_levels`: above one chunk, so that a valid feed can take two items.
const MAX_LEVELS: usize = 1200;

struct Harness {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    engine: Arc<Engine>,
    intake: Arc<Intake>,
    http: reqwest::Client,
    /// The same over HTTP/2 (prior knowledge, as a proxy in front of the daemon may speak).
    h2: reqwest::Client,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn intake() -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (engine, inventory, addr) = rt.block_on(async {
        let (engine, _fatal) = Engine::start(EngineConfig::new(dir.path(), Vec::new()))
            .await
            .unwrap();
        let engine = Arc::new(engine);
        let flows = Registry::standard().defaults(&["orders"]);
        let webhooks = Arc::new(WebhookIntake::new(
            vec![Secret::new(SECRET)],
            Some(SHOP.into()),
            &flows,
            engine.store().clone(),
        ));
        let ready = Arc::new(AtomicBool::new(true));
        let inventory = Arc::new(Intake::new(
            TOKENS.map(String::from).to_vec(),
            engine.store().clone(),
            ready.clone(),
            vec![Arc::new(Served::<StockFeed>::new(MAX_LEVELS, None))],
        ));
        // As `xconnector run` assembles it.
        let app = router(AppState {
            engine: engine.clone(),
            ready,
            webhooks,
            intake: inventory.clone(),
            reporting: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The daemon's own listener, limits and all.
        let limits = xconnector::serve::Limits {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(60),
            max_connections: 1024,
        };
        tokio::spawn(xconnector::serve::serve(listener, app, limits, stopped));
        (engine, inventory, addr)
    });
    Harness {
        rt,
        addr,
        engine,
        intake: inventory,
        http: xconnector_actors::http_client::builder().build().unwrap(),
        h2: reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap(),
        _stop: stop,
        _dir: dir,
    }
}

impl Harness {
    fn stats(&self) -> &ApiStats {
        &self
            .intake
            .endpoint("inventory")
            .expect("inventory is served")
            .stats
    }

    fn stored(&self) -> u64 {
        self.rt
            .block_on(self.engine.store().stats())
            .unwrap()
            .enqueued
    }

    fn post(&self, headers: &[(String, String)], body: Vec<u8>) -> u16 {
        self.rt.block_on(async {
            let mut req = self
                .http
                .post(format!("http://{}/webhooks/shopify", self.addr));
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            req.body(body).send().await.unwrap().status().as_u16()
        })
    }

    /// Posts to the inventory API; the status and the body of the answer.
    fn post_inventory(&self, headers: &[(String, Vec<u8>)], body: Vec<u8>) -> (u16, Vec<u8>) {
        self.post_inventory_over(&self.http, headers, body)
    }

    fn post_inventory_over(
        &self,
        client: &reqwest::Client,
        headers: &[(String, Vec<u8>)],
        body: Vec<u8>,
    ) -> (u16, Vec<u8>) {
        self.rt.block_on(async {
            let mut req = client.post(format!("http://{}/api/v1/inventory", self.addr));
            for (k, v) in headers {
                req = req.header(k.as_str(), HeaderValue::from_bytes(v).unwrap());
            }
            let response = req.body(body).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap().to_vec())
        })
    }

    /// The stored chunk of an item the inventory API answered with.
    fn chunk(&self, id: u64) -> Chunk {
        let (item, payload) = self
            .rt
            .block_on(self.engine.store().get(ItemId(id)))
            .unwrap()
            .unwrap_or_else(|| panic!("item {id} named in a 202 is not stored"));
        assert_eq!(
            (item.flow.as_str(), item.kind.as_str()),
            (FLOW, KIND_LEVELS)
        );
        Chunk::decode(&payload).unwrap()
    }
}

#[derive(Debug, Clone)]
enum Signature {
    Right,
    Wrong,
    Missing,
    Garbage(String),
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let order = br##"{"id": 450789469, "name": "#1001", "updated_at": "2026-11-20T10:00:00Z", "line_items": [{"id": 1, "quantity": 2, "price": "1.00"}]}"##;
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        // Truncated and mangled JSON.
        (0..order.len()).prop_map(move |n| order[..n].to_vec()),
        (0..order.len(), any::<u8>()).prop_map(move |(i, b)| {
            let mut v = order.to_vec();
            v[i] = b;
            v
        }),
        Just(order.to_vec()),
        "[\\[\\]{}\":,0-9a-z ]{0,64}".prop_map(String::into_bytes),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_webhook_intake_never_panics_nor_blames_itself_for_bad_input(
        body in body(),
        topic in prop_oneof![
            proptest::sample::select(Registry::standard().topics().iter().map(|(t, _)| t.to_string()).collect::<Vec<_>>()),
            header_value(),
        ],
        signature in prop_oneof![
            Just(Signature::Right),
            Just(Signature::Wrong),
            Just(Signature::Missing),
            header_value().prop_map(Signature::Garbage),
        ],
        content_type in prop_oneof![Just("application/json".to_string()), header_value()],
        shop in prop_oneof![Just(SHOP.to_string()), header_value()],
        extra in proptest::collection::vec(("x-[a-z-]{1,12}", header_value()), 0..3),
    ) {
        thread_local!(static INTAKE: Harness = intake());
        INTAKE.with(|h| {
            let mut headers = vec![
                ("x-shopify-topic".to_string(), topic.clone()),
                ("content-type".to_string(), content_type.clone()),
                ("x-shopify-shop-domain".to_string(), shop.clone()),
            ];
            let signed = match &signature {
                Signature::Right => Some(shopify_signature(SECRET, &body)),
                Signature::Wrong => Some(shopify_signature("not-the-secret", &body)),
                Signature::Missing => None,
                Signature::Garbage(g) => Some(g.clone()),
            };
            if let Some(sig) = signed {
                headers.push(("x-shopify-hmac-sha256".to_string(), sig));
            }
            headers.extend(extra.iter().cloned());
            let before = h.stored();
            let status = h.post(&headers, body.clone());
            let after = h.stored();
            prop_assert!(
                [200, 400, 401].contains(&status),
                "{status} for topic {topic:?}, signature {signature:?}"
            );
            if status != 200 {
                prop_assert_eq!(before, after, "a refused delivery stored something");
            }
            if !matches!(signature, Signature::Right) {
                prop_assert_eq!(status, 401);
            }
            Ok(())
        })?;
    }

    #[test]
    fn the_config_loader_reports_any_text_without_panicking(
        lines in proptest::collection::vec(
            prop_oneof![
                "\\[[a-z.]{0,20}\\]",
                "[a-z_]{1,12} = [\"0-9a-z${}:.\\[\\], -]{0,30}",
                "[ -~]{0,40}",
            ],
            0..12,
        )
    ) {
        let text = lines.join("\n");
        match parse(&text, "fuzz.toml", &|_| None) {
            Ok(_) => {}
            Err(errors) => {
                let report = errors.to_string();
                prop_assert!(!report.is_empty());
                for line in report.lines() {
                    prop_assert!(line.starts_with("fuzz.toml"), "{line}");
                }
            }
        }
    }
}

#[test]
fn an_oversized_body_is_refused_and_not_stored() {
    let h = intake();
    let body = vec![b' '; MAX_BODY + 1];
    let headers = vec![
        ("x-shopify-topic".to_string(), "orders/create".to_string()),
        ("x-shopify-shop-domain".to_string(), SHOP.to_string()),
        (
            "x-shopify-hmac-sha256".to_string(),
            shopify_signature(SECRET, &body),
        ),
    ];
    assert_eq!(h.post(&headers, body), 413);
    assert_eq!(h.stored(), 0);
}

// The inventory API.

/// One level as generated, with what the API must store for it.
#[derive(Debug, Clone)]
struct GenLevel {
    sku: String,
    location: String,
    available: i64,
    /// The `as_of` sent (RFC 3339, any offset) and its milliseconds; `None` sends none or null.
    as_of: Option<(String, i64)>,
    null_as_of: bool,
}

impl GenLevel {
    fn json(&self) -> Value {
        let mut v =
            json!({"sku": self.sku, "location": self.location, "available": self.available});
        match &self.as_of {
            Some((text, _)) => v["as_of"] = json!(text),
            None if self.null_as_of => v["as_of"] = Value::Null,
            None => {}
        }
        v
    }
}

/// A feed that is valid but for, perhaps, having more than `max_levels` levels.
#[derive(Debug, Clone)]
struct GenFeed {
    source: String,
    mode: Option<&'static str>,
    levels: Vec<GenLevel>,
    /// `levels` before `source`: the parser must keep levels before it knows whose they are.
    levels_first: bool,
}

impl GenFeed {
    fn bytes(&self) -> Vec<u8> {
        let levels: Vec<Value> = self.levels.iter().map(GenLevel::json).collect();
        let mut fields = vec![
            format!("\"source\":{}", json!(self.source)),
            format!("\"levels\":{}", Value::Array(levels)),
        ];
        if let Some(mode) = self.mode {
            fields.insert(1, format!("\"mode\":\"{mode}\""));
        }
        if self.levels_first {
            fields.reverse();
        }
        format!("{{{}}}", fields.join(",")).into_bytes()
    }
}

fn as_of() -> impl Strategy<Value = (String, i64)> {
    // 1970 to 2100, at any offset within a day, with or without milliseconds.
    (0i64..4_102_444_800_000, -1439i32..1440, any::<bool>()).prop_map(|(ms, minutes, frac)| {
        let ms = if frac { ms } else { ms - ms % 1000 };
        let offset = chrono::FixedOffset::east_opt(minutes * 60).unwrap();
        let at = chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .with_timezone(&offset);
        (at.to_rfc3339(), ms)
    })
}

/// Any valid level: non-blank names (of any script), quantities across the whole range.
fn level() -> impl Strategy<Value = GenLevel> {
    (
        "[A-Za-z0-9]\\PC{0,12}",
        "[A-Za-z]\\PC{0,10}",
        prop_oneof![
            0i64..100,
            Just(0),
            Just(1_000_000_000),
            0i64..=1_000_000_000
        ],
        proptest::option::of(as_of()),
        any::<bool>(),
    )
        .prop_map(|(sku, location, available, as_of, null_as_of)| GenLevel {
            sku,
            location,
            available,
            as_of,
            null_as_of,
        })
}

/// `n` plain levels, for the long lists (generating each would only slow the run down).
fn many_levels(n: usize, seed: u64) -> Vec<GenLevel> {
    (0..n)
        .map(|i| GenLevel {
            sku: format!("SKU-{seed}-{i}"),
            location: ["Main", "Back room"][i % 2].into(),
            available: ((seed as i64).wrapping_mul(i as i64 + 1)).rem_euclid(1_000_000_001),
            as_of: (i % 3 == 0).then(|| ("2026-11-27T10:00:00Z".into(), 1_795_773_600_000)),
            null_as_of: i % 3 == 1,
        })
        .collect()
}

fn feed() -> impl Strategy<Value = GenFeed> {
    let levels = prop_oneof![
        6 => proptest::collection::vec(level(), 0..8),
        // Around one chunk, around max_levels, and well past it.
        1 => (CHUNK_LEVELS - 5..=CHUNK_LEVELS + 5, any::<u64>()).prop_map(|(n, s)| many_levels(n, s)),
        1 => (MAX_LEVELS - 3..=MAX_LEVELS + 3, any::<u64>()).prop_map(|(n, s)| many_levels(n, s)),
        1 => (MAX_LEVELS + 1..=4 * MAX_LEVELS, any::<u64>()).prop_map(|(n, s)| many_levels(n, s)),
    ];
    (
        "[a-z][a-z0-9:./-]{0,20}",
        proptest::option::of(proptest::sample::select(vec!["delta", "snapshot"])),
        levels,
        any::<bool>(),
    )
        .prop_map(|(source, mode, levels, levels_first)| GenFeed {
            source,
            mode,
            levels,
            levels_first,
        })
}

/// JSON of roughly a feed's shape with anything in its fields: wrong types, unknown fields,
/// missing parts, negative and fractional quantities, bad times.
fn odd_feed() -> impl Strategy<Value = Vec<u8>> {
    let scalar = || {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,12}".prop_map(Value::String),
            Just(json!("2026-11-27T10:00:00Z")),
            Just(json!("")),
            Just(json!([])),
            Just(json!({})),
        ]
    };
    let level_field =
        proptest::sample::select(vec!["sku", "location", "available", "as_of", "bin"]);
    let level = prop_oneof![
        3 => proptest::collection::btree_map(level_field, scalar(), 0..6).prop_map(|m| {
            Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        }),
        1 => scalar(),
    ];
    let top_field = proptest::sample::select(vec!["source", "mode", "levels", "shop"]);
    let top_value = prop_oneof![
        scalar(),
        Just(json!("wms")),
        Just(json!("delta")),
        proptest::collection::vec(level, 0..6).prop_map(Value::Array),
    ];
    proptest::collection::btree_map(top_field, top_value, 0..5).prop_map(|m: BTreeMap<_, _>| {
        let object: serde_json::Map<String, Value> =
            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        serde_json::to_vec(&object).unwrap()
    })
}

/// What is sent, and what the sender knows about it.
#[derive(Clone)]
enum FeedBody {
    Valid(GenFeed),
    /// A valid feed cut short: never JSON.
    Truncated(Vec<u8>),
    /// Anything else; only the parser can say whether it is a feed.
    Other(Vec<u8>),
}

/// Short enough to read in a failure, even for a list of thousands of levels.
impl std::fmt::Debug for FeedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            FeedBody::Valid(feed) if feed.levels.len() > 3 => write!(
                f,
                "Valid({:?}, {:?}, {} levels from {:?}, levels_first: {})",
                feed.source,
                feed.mode,
                feed.levels.len(),
                feed.levels[0],
                feed.levels_first
            ),
            FeedBody::Valid(feed) => write!(f, "Valid({feed:?})"),
            FeedBody::Truncated(b) | FeedBody::Other(b) => {
                let kind = if matches!(self, FeedBody::Truncated(_)) {
                    "Truncated"
                } else {
                    "Other"
                };
                let text = String::from_utf8_lossy(&b[..b.len().min(400)]);
                write!(f, "{kind}({} bytes: {text:?})", b.len())
            }
        }
    }
}

impl FeedBody {
    fn bytes(&self) -> Vec<u8> {
        match self {
            FeedBody::Valid(feed) => feed.bytes(),
            FeedBody::Truncated(b) | FeedBody::Other(b) => b.clone(),
        }
    }
}

fn feed_body() -> impl Strategy<Value = FeedBody> {
    prop_oneof![
        3 => feed().prop_map(FeedBody::Valid),
        2 => (feed(), any::<proptest::sample::Index>()).prop_map(|(f, cut)| {
            let bytes = f.bytes();
            FeedBody::Truncated(bytes[..cut.index(bytes.len())].to_vec())
        }),
        2 => (feed(), proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4))
            .prop_map(|(f, flips)| {
                let mut bytes = f.bytes();
                for (at, b) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
                FeedBody::Other(bytes)
            }),
        2 => odd_feed().prop_map(FeedBody::Other),
        1 => proptest::collection::vec(any::<u8>(), 0..2048).prop_map(FeedBody::Other),
        1 => "[\\[\\]{}\":,0-9a-z ]{0,64}".prop_map(|s| FeedBody::Other(s.into_bytes())),
    ]
}

/// Header bytes a client may send: printable ASCII, tabs and obs-text (not UTF-8).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
        0..40,
    )
    // A value may not start or end with white space.
    .prop_map(|v| {
        let trimmed = v.trim_ascii();
        trimmed.to_vec()
    })
}

fn authorization() -> impl Strategy<Value = Option<Vec<u8>>> {
    let token = proptest::sample::select(TOKENS.to_vec());
    prop_oneof![
        // The right token, from either end of a rotation.
        6 => token.clone().prop_map(|t| Some(format!("Bearer {t}").into_bytes())),
        2 => Just(None),
        // A token that is not one: made up, a prefix, one longer, one character off, empty.
        1 => "[ -~]{0,30}".prop_map(|t| Some(format!("Bearer {t}").into_bytes())),
        1 => (token.clone(), any::<proptest::sample::Index>(), any::<u8>()).prop_map(|(t, at, b)| {
            let mut t = t.as_bytes().to_vec();
            match b % 3 {
                0 => t.truncate(at.index(t.len())),
                1 => t.push(b'0' + b % 10),
                _ => {
                    let i = at.index(t.len());
                    t[i] = if t[i] == b'a' { b'b' } else { b'a' };
                }
            }
            Some([b"Bearer ".as_slice(), &t].concat())
        }),
        // The right token under another scheme, none, or Bearer in another case (accepted).
        1 => (token, proptest::sample::select(vec!["Basic ", "Token ", "", "Bearer", "Bearer:", "bearer ", "BEARER "]))
            .prop_map(|(t, scheme)| Some(format!("{scheme}{t}").into_bytes())),
        1 => header_bytes().prop_map(Some),
    ]
}

/// What the API promises: `Authorization: Bearer T` (the scheme in any case), T one of
/// `[server] api_tokens`.
fn carries_a_token(authorization: Option<&[u8]>) -> bool {
    authorization
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, t)| TOKENS.contains(&t.trim()))
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(Some(b"application/json".to_vec())),
        1 => Just(None),
        1 => proptest::sample::select(vec![
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin1",
            "text/csv",
        ])
        .prop_map(|t| Some(t.as_bytes().to_vec())),
        1 => header_bytes().prop_map(Some),
    ]
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        "x-[a-z-]{1,12}",
        proptest::sample::select(vec![
            "accept",
            "accept-encoding",
            "content-encoding",
            "content-language",
            "cookie",
            "user-agent",
            "x-forwarded-for",
            "www-authenticate",
            "proxy-authorization",
        ])
        .prop_map(String::from),
    ];
    proptest::collection::vec((name, header_bytes()), 0..4)
}

fn counts(stats: &ApiStats) -> [u64; 6] {
    [
        &stats.accepted,
        &stats.rejected_token,
        &stats.bad_request,
        &stats.too_large,
        &stats.unavailable,
        &stats.internal_error,
    ]
    .map(|n| n.load(Ordering::Relaxed))
}

/// Which of [`counts`] a status lands in.
fn counter_of(status: u16) -> usize {
    match status {
        202 => 0,
        401 => 1,
        400 => 2,
        413 => 3,
        503 => 4,
        _ => 5,
    }
}

#[test]
fn the_inventory_api_never_panics_nor_blames_itself_for_bad_input() {
    let h = intake();
    let statuses = RefCell::new(BTreeMap::<u16, u64>::new());
    let cases = AtomicU64::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 200,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let result = runner.run(
        &(
            feed_body(),
            authorization(),
            content_type(),
            extra_headers(),
        ),
        |(body, auth, content_type, extra)| {
            cases.fetch_add(1, Ordering::Relaxed);
            let mut headers = extra.clone();
            if let Some(v) = &auth {
                headers.push(("authorization".into(), v.clone()));
            }
            if let Some(v) = &content_type {
                headers.push(("content-type".into(), v.clone()));
            }
            let bytes = body.bytes();
            let authorized = carries_a_token(auth.as_deref());
            let counted = counts(h.stats());
            let before = h.stored();
            let (status, answer) = h.post_inventory(&headers, bytes.clone());
            let after = h.stored();
            *statuses.borrow_mut().entry(status).or_default() += 1;
            let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            let what = || {
                let auth = auth.as_deref().map(String::from_utf8_lossy);
                format!("{status} {answer} for {body:?}, authorization {auth:?}")
            };

            prop_assert!([202, 400, 401].contains(&status), "{}", what());
            // Exactly one outcome counted, the one of the status.
            let mut expected = counted;
            expected[counter_of(status)] += 1;
            prop_assert_eq!(counts(h.stats()), expected, "{}", what());
            if status != 202 {
                prop_assert_eq!(before, after, "a refused feed stored something: {}", what());
            }
            if !authorized {
                prop_assert_eq!(status, 401, "{}", what());
                return Ok(());
            }
            let parsed = std::panic::catch_unwind(|| {
                json::parse::<StockFeed>(bytes.as_slice(), MAX_LEVELS, 0)
            })
            .map_err(|_| TestCaseError::fail(format!("the parser panicked on {body:?}")))?;
            let want = match &body {
                FeedBody::Valid(feed) if feed.levels.len() <= MAX_LEVELS => 202,
                FeedBody::Valid(_) | FeedBody::Truncated(_) => 400,
                FeedBody::Other(_) if parsed.is_ok() => 202,
                FeedBody::Other(_) => 400,
            };
            prop_assert_eq!(status, want, "{}", what());
            prop_assert_eq!(
                parsed.is_ok(),
                want == 202,
                "the HTTP intake and the parser disagree: {}",
                what()
            );
            if status == 400 {
                prop_assert!(
                    answer["error_count"].as_u64().is_some_and(|n| n > 0),
                    "{}",
                    what()
                );
            }
            if status != 202 {
                return Ok(());
            }
            // A 202: exactly the feed's levels, stored in chunks, each chunk one item.
            let feed = parsed.unwrap();
            let items: Vec<u64> = answer["items"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            prop_assert_eq!(
                answer["levels"].as_u64(),
                Some(feed.entries.len() as u64),
                "{}",
                what()
            );
            prop_assert_eq!(
                items.len(),
                feed.entries.len().div_ceil(CHUNK_LEVELS),
                "{}",
                what()
            );
            prop_assert_eq!(after - before, items.len() as u64, "{}", what());
            let stored: Vec<Chunk> = items.iter().map(|id| h.chunk(*id)).collect();
            for chunk in &stored {
                prop_assert_eq!(&chunk.source, &feed.source);
                prop_assert_eq!(chunk.mode, feed.head.mode);
                prop_assert!(chunk.levels.len() <= CHUNK_LEVELS);
            }
            let levels: Vec<_> = stored.into_iter().flat_map(|c| c.levels).collect();
            if let FeedBody::Valid(sent) = &body {
                prop_assert_eq!(levels.len(), sent.levels.len());
                for (got, sent) in levels.iter().zip(&sent.levels) {
                    prop_assert_eq!(&got.sku, &sent.sku);
                    prop_assert_eq!(&got.location, &sent.location);
                    prop_assert_eq!(got.available, sent.available);
                    if let Some((_, ms)) = &sent.as_of {
                        prop_assert_eq!(got.as_of, *ms, "{:?}", sent.as_of);
                    }
                }
            } else {
                let parsed = feed.entries;
                prop_assert_eq!(levels.len(), parsed.len());
                for (got, want) in levels.iter().zip(&parsed) {
                    prop_assert_eq!(
                        (&got.sku, &got.location, got.available),
                        (&want.sku, &want.location, want.available)
                    );
                }
            }
            Ok(())
        },
    );
    let statuses = statuses.into_inner();
    println!(
        "inventory API fuzz: {} cases tried; answers {statuses:?}",
        cases.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    // The generators reach every answer (a generator that stopped doing so would pass quietly).
    for status in [202, 400, 401] {
        assert!(
            statuses.contains_key(&status),
            "no {status} among {statuses:?}"
        );
    }
}

/// Over HTTP/1.1 and HTTP/2 alike the client gets the 413, not a reset connection or stream.
#[test]
fn an_oversized_feed_is_refused_and_not_stored() {
    let h = intake();
    // White space keeps the streaming parser reading until the limit is crossed.
    let mut body = b"{\"source\":\"wms\",\"levels\":[]".to_vec();
    body.resize(intake::MAX_BODY + 1, b' ');
    let auth = vec![(
        "authorization".to_string(),
        format!("Bearer {}", TOKENS[0]).into_bytes(),
    )];
    for client in [&h.http, &h.h2] {
        let (status, _) = h.post_inventory_over(client, &auth, body.clone());
        assert_eq!(status, 413);
    }
    assert_eq!(h.stored(), 0);
    assert_eq!(h.stats().too_large.load(Ordering::Relaxed), 2);
}

/// A refused request whose body the API did not need (no valid token; a feed broken at its
/// first byte) still gets its answer, not a reset connection: the rest of the body is read
/// and dropped before the socket closes.
#[test]
fn refusals_before_the_end_of_the_body_are_answered() {
    let intake = intake();
    let filler = vec![b' '; 768 << 10];
    let body = [br#"{"source":"w","levels":[]}"#.as_slice(), &filler].concat();
    for _ in 0..20 {
        let wrong = [("authorization".to_string(), b"Bearer nope".to_vec())];
        assert_eq!(intake.post_inventory(&wrong, body.clone()).0, 401);
        let right = [(
            "authorization".to_string(),
            format!("Bearer {}", TOKENS[0]).into_bytes(),
        )];
        let broken = [b"#".as_slice(), &vec![b' '; 4 << 20]].concat();
        assert_eq!(intake.post_inventory(&right, broken).0, 400);
    }
}
