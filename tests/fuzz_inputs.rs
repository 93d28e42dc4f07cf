//! Bad input, generated: random bytes, truncated JSON, wrong signatures and headers at the
//! webhook intake, and random TOML at the config loader. Nothing panics, a client's mistake is
//! never a 5xx, and nothing is stored for a refused request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use xconnector::config::{Secret, parse};
use xconnector::http::{AppState, router};
use xconnector::webhooks::{MAX_BODY, TOPICS, WebhookIntake};
use xconnector_actors::signature::shopify_signature;
use xconnector_actors::{Engine, EngineConfig};

const SECRET: &str = "fuzz-secret";
const SHOP: &str = "demo.myshopify.com";

struct Intake {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    engine: Arc<Engine>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn intake() -> Intake {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (engine, addr) = rt.block_on(async {
        let (engine, _fatal) = Engine::start(EngineConfig::new(dir.path(), Vec::new()))
            .await
            .unwrap();
        let engine = Arc::new(engine);
        let flows: Vec<String> = ["orders", "customers", "products"]
            .map(String::from)
            .to_vec();
        let webhooks = Arc::new(WebhookIntake::new(
            vec![Secret::new(SECRET)],
            Some(SHOP.into()),
            &flows,
            engine.store().clone(),
        ));
        let app = router(AppState {
            engine: engine.clone(),
            ready: Arc::new(AtomicBool::new(true)),
            webhooks,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (engine, addr)
    });
    Intake {
        rt,
        addr,
        engine,
        http: xconnector_actors::http_client::builder().build().unwrap(),
        _dir: dir,
    }
}

impl Intake {
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
            proptest::sample::select(TOPICS.iter().map(|(t, _)| t.to_string()).collect::<Vec<_>>()),
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
        thread_local!(static INTAKE: Intake = intake());
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
