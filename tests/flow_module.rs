//! A flow written only through the registry: this file and a `[flows.shop_changes]` section,
//! no edit anywhere else. It proves the plug-in point end to end: the section is read with
//! line-numbered errors (shared keys and its own), its checks run, its webhook topic is routed
//! to it, the engine runs it under the one framework, and it delivers to a real endpoint.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Deserialize;
use xconnector::config::{Registry, parse_with};
use xconnector::http::{AppState, router};
use xconnector::wiring;
use xconnector_actors::Engine;
use xconnector_actors::config::{KeyPath, Problems};
use xconnector_actors::flows::module::{BuildCx, CheckCx, FlowModule, Section, Topic};
use xconnector_actors::flows::{Flow, FlowContext, FlowSpec, Outcome};
use xconnector_actors::item::{Claimed, ItemState};
use xconnector_actors::signature::shopify_signature;
use xconnector_actors::store::ItemFilter;

use common::rig::until;

/// `shop/update` webhooks, each delivered to one endpoint with a label.
struct ShopChanges;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ShopChangesConfig {
    /// The `[endpoints.NAME]` every change goes to.
    target: String,
    /// Put into every delivered record.
    label: String,
}

impl FlowModule for ShopChanges {
    const NAME: &'static str = "shop_changes";
    const ABOUT: &'static str = "shop settings changes to an audit endpoint";
    const EVENTS: &'static [&'static str] = &["delivered"];
    type Config = ShopChangesConfig;

    fn topics() -> &'static [Topic] {
        const TOPICS: &[Topic] = &[Topic::new("shop/update")];
        TOPICS
    }

    fn check(section: &Section<ShopChangesConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let target = KeyPath::root().key("target");
        problems.endpoint_ref(&target, Vec::new(), &section.config.target, cx.endpoints);
    }

    fn build(section: &Section<ShopChangesConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        Some(FlowSpec::new(
            Self::NAME,
            cx.settings(&section.common),
            Deliver(section.config.clone()),
        ))
    }
}

struct Deliver(ShopChangesConfig);

impl Flow for Deliver {
    async fn process(&self, item: &Claimed, ctx: &FlowContext) -> Outcome {
        let Ok(shop) = serde_json::from_slice::<serde_json::Value>(&item.payload) else {
            return Outcome::Exception {
                reason: "not JSON".into(),
            };
        };
        let record = serde_json::json!({ "label": self.0.label, "shop": shop["name"] });
        let body = serde_json::to_vec(&record).unwrap_or_default();
        let outcome = ctx
            .endpoints
            .deliver(&self.0.target, &item.item.id.to_string(), body)
            .await;
        if outcome == Outcome::Done {
            ctx.events.count("delivered", 1);
        }
        outcome
    }
}

fn registry() -> Registry {
    Registry::standard().with::<ShopChanges>()
}

const SHOPIFY: &str = r#"
[shopify]
shop_domain = "demo.myshopify.com"
access_token = "t"
webhook_secrets = ["s"]
base_url = "http://127.0.0.1:9"
"#;

#[test]
fn its_section_is_read_and_checked_like_any_other() {
    let text = format!(
        "{SHOPIFY}\n[flows.shop_changes]\ntarget = \"audit\"\ncolour = 1\nconcurrency = 0\n"
    );
    let report = parse_with(&registry(), &text, "config.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        report.contains(
            "config.toml:9: flows.shop_changes.target: unknown endpoint \"audit\" (no endpoints are defined)"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "config.toml:10: flows.shop_changes.colour: unknown key; expected one of enabled, concurrency, lease, max_attempts, target, label"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "config.toml:11: flows.shop_changes.concurrency: 0 is out of range; expected 1 to 1024"
        ),
        "{report}"
    );
    // Without the module, the section is an unknown flow.
    let report = xconnector::config::parse(&text, "config.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        report.contains("config.toml:8: flows.shop_changes: unknown flow; expected one of log, orders, exceptions, inventory"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_webhooks_are_routed_to_it_and_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit");
    let text = format!(
        "{SHOPIFY}\n[store]\ndir = {store:?}\n\n[endpoints.audit]\nkind = \"file\"\ndir = {out:?}\n\n\
         [flows.shop_changes]\ntarget = \"audit\"\nlabel = \"settings\"\n",
        store = dir.path().join("data"),
    );
    let config = parse_with(&registry(), &text, "config.toml", &|_| None).unwrap();
    let (engine, _fatal) = Engine::start(wiring::engine_config(&config)).await.unwrap();
    let engine = Arc::new(engine);
    assert!(
        engine
            .flows()
            .await
            .unwrap()
            .contains(&"shop_changes".to_string())
    );
    let webhooks = Arc::new(wiring::webhook_intake(&config, engine.store().clone()));
    let app = router(AppState::new(
        engine.clone(),
        Arc::new(AtomicBool::new(true)),
        webhooks,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let body = br#"{"id": 1, "name": "Demo Shop"}"#;
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let resp = http
        .post(format!("http://{addr}/webhooks/shopify"))
        .header("x-shopify-topic", "shop/update")
        .header("x-shopify-shop-domain", "demo.myshopify.com")
        .header("x-shopify-webhook-id", "w-1")
        .header("x-shopify-hmac-sha256", shopify_signature("s", body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok\n");

    let store = engine.store().clone();
    let item = until("the change to be processed", || {
        let store = store.clone();
        async move {
            let items = store
                .list(ItemFilter::default(), None, usize::MAX)
                .await
                .ok()?;
            items
                .into_iter()
                .find(|i| i.flow == "shop_changes" && i.state == ItemState::Done)
        }
    })
    .await;
    assert_eq!(item.kind, "shop/update");
    let written: String = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    let line: serde_json::Value = serde_json::from_str(written.trim()).unwrap();
    assert_eq!(line["label"], "settings");
    assert_eq!(line["shop"], "Demo Shop");
    // Its own counter, on /metrics beside everyone else's.
    until("its event to be counted", || {
        let http = http.clone();
        async move {
            let text = http
                .get(format!("http://{addr}/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains(
                "xconnector_flow_events_total{flow=\"shop_changes\",event=\"delivered\"} 1\n",
            )
            .then_some(())
        }
    })
    .await;
}
