//! The customers flow both ways, end to end: the real daemon binary, the simulated shop sending
//! its customers webhooks (duplicated and reordered, as Shopify may), the simulated back office
//! counting what each target receives, and the shop itself as the judge of the inbound writes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::rig::{
    API_TOKEN, Rig, RigOptions, daemon_config, free_port, quiescent, start_daemon, until,
};
use serde_json::{Value, json};
use xconnector::sim::shop::{CustomerSpec, Id};

const CUSTOMERS: &str = r#"
[flows.customers]
targets = ["crm", "finance"]
reconcile_every = "1h"
linger = "20ms"
"#;

/// Customer id → the `updated_at` of each version `endpoint` received, in arrival order. A
/// delivery repeated with the same idempotency key (sent again after a crash cut off its
/// answer) is one delivery: the receiver keeps the first.
fn versions(rig: &Rig, endpoint: &str) -> BTreeMap<u64, Vec<String>> {
    let mut out: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for r in rig.office.received(endpoint) {
        if r.body["schema"] != "xconnector.customer.v1" || !keys.insert(r.idempotency_key.clone()) {
            continue;
        }
        let id = r.body["legacy_id"].as_u64().unwrap_or(0);
        let at = r.body["updated_at"]
            .as_str()
            .unwrap_or("deleted")
            .to_string();
        out.entry(id).or_default().push(at);
    }
    out
}

/// Waits until every customer of `want` is at the CRM and finance as [`check_versions`] asks,
/// failing with what is still wrong.
async fn settled(rig: &Rig, want: &BTreeMap<u64, String>) {
    let deadline = std::time::Instant::now() + common::DEADLINE * 3;
    loop {
        let wrong =
            check_versions(rig, "crm", want).and_then(|()| check_versions(rig, "finance", want));
        match wrong {
            Ok(()) => return,
            Err(e) if std::time::Instant::now() > deadline => panic!("{e}"),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

fn shop_updated_at(rig: &Rig, ids: &[Id]) -> BTreeMap<u64, String> {
    rig.sim.shop().with(|shop| {
        ids.iter()
            .filter_map(|id| shop.customers.get(id))
            .map(|c| (c.id, c.updated_at.to_rfc3339()))
            .collect()
    })
}

/// Every customer's newest version is at `endpoint`, no version arrived twice, and none
/// arrived after a newer one.
fn check_versions(rig: &Rig, endpoint: &str, want: &BTreeMap<u64, String>) -> Result<(), String> {
    let got = versions(rig, endpoint);
    for (id, newest) in want {
        let Some(seen) = got.get(id) else {
            return Err(format!("{endpoint}: customer {id} never arrived"));
        };
        let parsed: Vec<i64> = seen
            .iter()
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).map_or(0, |t| t.timestamp_millis()))
            .collect();
        if parsed.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "{endpoint}: customer {id} got versions {seen:?}: a repeat or an older after a newer"
            ));
        }
        if seen.last() != Some(newest) {
            return Err(format!(
                "{endpoint}: customer {id}: newest {newest}, last received {:?}",
                seen.last()
            ));
        }
    }
    Ok(())
}

/// Customer mutations the shop executed.
fn customer_writes(rig: &Rig) -> u64 {
    let stats = rig.sim.stats();
    [
        "tagsAdd",
        "tagsRemove",
        "metafieldsSet",
        "customerUpdate",
        "customerReplaceTaxExemptions",
        "customerEmailMarketingConsentUpdate",
        "customerSet",
    ]
    .iter()
    .map(|f| stats.root_fields.get(*f).copied().unwrap_or(0))
    .sum()
}

async fn post(port: u16, token: Option<&str>, body: &Value) -> (u16, Value) {
    let http = xconnector_actors::http_client::builder().build().unwrap();
    let mut req = http
        .post(format!("http://127.0.0.1:{port}/api/v1/customers"))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customers_reach_every_target_once_per_version_and_crm_updates_land_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut options = RigOptions::webhooks_to(format!("http://127.0.0.1:{port}/webhooks/shopify"));
    options.duplicate_share = 0.1;
    options.reorder_share = 0.1;
    let rig = Rig::start(options).await;
    let config = daemon_config(dir.path(), port, &rig, "1h", CUSTOMERS);
    let _daemon = start_daemon(&config);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    // 500 customers created, 250 of them edited, one in ten twice.
    let ids: Vec<Id> = rig.sim.shop().with(|shop| {
        (0..500)
            .map(|i| {
                shop.create_customer(CustomerSpec {
                    email: Some(format!("c{i}@example.com")),
                    first_name: Some(format!("First{i}")),
                    last_name: Some("Tester".into()),
                    tags: vec!["staff-pick".into()],
                    ..CustomerSpec::default()
                })
            })
            .collect()
    });
    rig.sim.shop().with(|shop| {
        for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
            shop.update_customer(*id, |c| c.note = Some(format!("edited {n}")))
                .unwrap();
            if n % 10 == 0 {
                shop.update_customer(*id, |c| c.phone = Some(format!("+1555{n:07}")))
                    .unwrap();
            }
        }
    });
    let want = shop_updated_at(&rig, &ids);
    settled(&rig, &want).await;
    quiescent(&rig, &config).await;
    check_versions(&rig, "crm", &want).unwrap();
    check_versions(&rig, "finance", &want).unwrap();

    // 300 updates from the CRM, keyed by email, one per customer.
    let before_crm = rig.office.received("crm").len();
    let before_finance = versions(&rig, "finance");
    let updated: Vec<Id> = ids[..300].to_vec();
    let statuses = ["active", "on-hold", "churned"];
    let entries: Vec<Value> = updated
        .iter()
        .enumerate()
        .map(|(i, _)| {
            json!({
                "ref": {"email": format!("c{i}@example.com")},
                "tags_add": ["crm-synced"],
                "account_status": statuses[i % 3],
                "segment": if i % 2 == 0 { "retail" } else { "wholesale" },
                "tax_exempt": i % 5 == 0,
                "tax_exemptions": if i % 5 == 0 { json!(["CA_STATUS_CARD_EXEMPTION"]) } else { json!([]) },
                "metafields": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field", "value": format!("tier-{}", i % 4)}],
                "external_id": format!("C-{i}"),
            })
        })
        .collect();
    for chunk in entries.chunks(100) {
        let (status, answer) = post(
            port,
            Some(API_TOKEN),
            &json!({"source": "crm", "customers": chunk}),
        )
        .await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["accepted"], 100);
    }
    until("the CRM's updates in the shop", || async {
        let done = rig.sim.shop().with(|shop| {
            updated.iter().all(|id| {
                // The tags go first and the metafields last: wait for both.
                shop.customers.get(id).is_some_and(|c| {
                    c.tags.iter().any(|t| t == "crm-synced")
                        && c.metafields
                            .contains_key(&("crm".to_string(), "tier".to_string()))
                })
            })
        });
        done.then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    rig.sim.shop().with(|shop| {
        for (i, id) in updated.iter().enumerate() {
            let c = &shop.customers[id];
            let tags: BTreeSet<&str> = c.tags.iter().map(String::as_str).collect();
            let segment = if i % 2 == 0 {
                "segment:retail"
            } else {
                "segment:wholesale"
            };
            let status = format!("status:{}", statuses[i % 3]);
            let expected: BTreeSet<&str> =
                ["staff-pick", "crm-synced", segment, status.as_str()].into();
            assert_eq!(
                tags, expected,
                "customer {id}: others' tags kept, one status and one segment"
            );
            assert_eq!(c.tax_exempt, i % 5 == 0, "customer {id}");
            let exemptions: Vec<&str> = c.tax_exemptions.iter().map(String::as_str).collect();
            let want: &[&str] = if i % 5 == 0 {
                &["CA_STATUS_CARD_EXEMPTION"]
            } else {
                &[]
            };
            assert_eq!(exemptions, want, "customer {id}");
            let tier = c
                .metafields
                .get(&("crm".to_string(), "tier".to_string()))
                .map(|m| m.value.clone());
            assert_eq!(tier, Some(format!("tier-{}", i % 4)), "customer {id}");
            let external = c
                .metafields
                .get(&("xconnector".to_string(), "crm".to_string()))
                .map(|m| m.value.clone());
            assert_eq!(external, Some(format!("C-{i}")), "customer {id}");
        }
    });
    // The round trip: nothing back to the CRM, which made the change; finance (subscribed to
    // every field) hears of each customer's change exactly once. The writes' webhooks may not
    // have left the shop yet when the writes are seen there: wait for finance to hear of each.
    until("finance told of every CRM update", || async {
        let now = versions(&rig, "finance");
        updated
            .iter()
            .all(|id| now.get(id).map_or(0, Vec::len) > before_finance.get(id).map_or(0, Vec::len))
            .then_some(())
    })
    .await;
    quiescent(&rig, &config).await;
    assert_eq!(
        rig.office.received("crm").len(),
        before_crm,
        "echoes went back to the CRM"
    );
    let after_finance = versions(&rig, "finance");
    for id in &updated {
        let new = after_finance[id].len() - before_finance.get(id).map_or(0, Vec::len);
        assert_eq!(
            new, 1,
            "finance got {new} versions of customer {id} after the CRM's update"
        );
    }
    let metrics = common::get(addr, "/metrics").1;
    let echo = common::metric(
        &metrics,
        "xconnector_flow_events_total{flow=\"customers\",event=\"echo\"}",
    );
    assert!(echo.unwrap_or(0.0) >= 300.0, "echo count {echo:?}");

    // The mapping is queryable, and the same update again writes nothing.
    let (code, body) = common::request(
        addr,
        "GET",
        "/api/v1/customers/crm/C-7",
        &[("authorization", format!("Bearer {API_TOKEN}"))],
        b"",
    );
    assert_eq!(code, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        found["shopify_id"],
        format!("gid://shopify/Customer/{}", updated[7])
    );
    assert_eq!(found["customer"]["external_ids"]["crm"], "C-7");
    // The item of an entry says, in its history, which customer it was and what was written.
    let mut after = String::from("0");
    let entry = loop {
        let page = common::cli_json(
            &[
                "items",
                "list",
                "--json",
                "--flow",
                "customers",
                "--limit",
                "500",
                "--after",
                &after,
                "--config",
            ],
            &config,
        );
        let found = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| {
                i["kind"] == "customers/update_request" && i["key"] == "crm: email c7@example.com"
            })
            .cloned();
        if let Some(found) = found {
            break found;
        }
        after = page["next"]
            .as_u64()
            .expect("the item of c7's update")
            .to_string();
    };
    let id = entry["id"].to_string();
    let shown =
        common::cli_json(&["items", "show", &id, "--json", "--config"], &config).to_string();
    let mapped = format!(
        "customer gid://shopify/Customer/{} (crm id C-7): wrote tags added",
        updated[7]
    );
    assert!(shown.contains(&mapped), "{mapped} not in {shown}");
    let (code, _) = common::request(
        addr,
        "GET",
        "/api/v1/customers/crm/nobody",
        &[("authorization", format!("Bearer {API_TOKEN}"))],
        b"",
    );
    assert_eq!(code, 404);
    let writes_before = customer_writes(&rig);
    let (status, _) = post(
        port,
        Some(API_TOKEN),
        &json!({"source": "crm", "customers": entries[..50]}),
    )
    .await;
    assert_eq!(status, 202);
    quiescent(&rig, &config).await;
    assert_eq!(
        customer_writes(&rig),
        writes_before,
        "an update that changes nothing writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_names_every_bad_entry_and_wants_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let rig = Rig::start(RigOptions {
        webhook_url: None,
        ..RigOptions::webhooks_to(String::new())
    })
    .await;
    let config = daemon_config(dir.path(), port, &rig, "1h", CUSTOMERS);
    let _daemon = start_daemon(&config);
    let good =
        json!({"source": "crm", "customers": [{"ref": {"email": "a@b.c"}, "tags_add": ["x"]}]});
    let (status, _) = post(port, None, &good).await;
    assert_eq!(status, 401);
    let (status, _) = post(port, Some("wrong"), &good).await;
    assert_eq!(status, 401);
    let bad = json!({"source": "crm", "customers": [
        {"ref": {"email": "a@b.c"}, "tags_add": ["x"]},
        {"ref": {"email": "a@b.c"}, "tax_exemptions": ["NOT_AN_EXEMPTION"]},
        {"ref": {"shopify_id": "7"}, "note": "x"},
        {"tags_add": ["y"]},
    ]});
    let (status, answer) = post(port, Some(API_TOKEN), &bad).await;
    assert_eq!(status, 400, "{answer}");
    let text = answer.to_string();
    for needle in [
        "customers[1].tax_exemptions[0]",
        "customers[2].ref.shopify_id",
        "customers[3].ref: missing",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(!text.contains("customers[0]"), "{text}");
    // Nothing of the refused request was stored.
    let status = common::status_json(&config);
    assert_eq!(
        status["totals"]["pending"].as_u64().unwrap_or(0),
        0,
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconciliation_finds_customers_whose_webhooks_never_came_and_a_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A shop that sends no webhooks at all: only the poll can find its customers.
    let rig = Rig::start(RigOptions {
        webhook_url: None,
        ..RigOptions::webhooks_to(String::new())
    })
    .await;
    let extra = CUSTOMERS.replace(
        "reconcile_every = \"1h\"",
        "reconcile_every = \"1s\"\nreconcile_overlap = \"5s\"",
    );
    let config = daemon_config(dir.path(), port, &rig, "1h", &extra);
    let mut daemon = start_daemon(&config);
    let create = |rig: &Rig, from: usize, to: usize| -> Vec<Id> {
        rig.sim.shop().with(|shop| {
            (from..to)
                .map(|i| {
                    shop.create_customer(CustomerSpec {
                        email: Some(format!("r{i}@example.com")),
                        ..CustomerSpec::default()
                    })
                })
                .collect()
        })
    };
    let mut ids = create(&rig, 0, 60);
    until("the first customers polled", || async {
        (versions(&rig, "crm").len() >= 20).then_some(())
    })
    .await;
    // Killed mid-run, restarted on the same store: what was not yet delivered still is,
    // and what was is not sent again.
    daemon.signal("KILL");
    daemon.wait_exit();
    ids.extend(create(&rig, 60, 120));
    let _daemon = start_daemon(&config);
    let want = shop_updated_at(&rig, &ids);
    settled(&rig, &want).await;
    check_versions(&rig, "crm", &want).unwrap();
    check_versions(&rig, "finance", &want).unwrap();
}
