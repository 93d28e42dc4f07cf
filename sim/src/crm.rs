//! The simulated CRM: the back-office side of customers. It knows the shop's customers by
//! email and sends batches of customer updates to the daemon's `POST /api/v1/customers`, as a
//! CRM would: tags to add and remove, an account status and segment, now and then a tax
//! exemption or a tier metafield, each customer under a stable external id `C-{id}`.
//!
//! The body is exactly:
//! ```json
//! {"source": "crm", "customers": [{"ref": {"email": "ada@example.com"},
//!   "tags_add": ["vip"], "tags_remove": ["prospect"], "account_status": "active",
//!   "segment": "wholesale", "tax_exempt": true,
//!   "tax_exemptions": ["CA_STATUS_CARD_EXEMPTION"], "note": "…",
//!   "metafields": [{"namespace": "crm", "key": "tier", "type": "single_line_text_field",
//!     "value": "gold"}],
//!   "external_id": "C-1", "create_if_missing": false}]}
//! ```
//! Every field but `ref` is optional; `ref` is one of `{"shopify_id": gid}`, `{"email": …}`,
//! `{"external": {"system": "crm", "id": "C-1"}}`.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::ShopHandle;
use super::gid::gid;
use super::shop::Shop;

/// How the CRM behaves.
#[derive(Clone, Debug)]
pub struct CrmSpec {
    /// The daemon's base URL (`http://HOST:PORT`); the CRM posts to `{api_url}/api/v1/customers`.
    pub api_url: String,
    /// A bearer token from the daemon's `[server] api_tokens`.
    pub token: String,
    /// Between two posts.
    pub every: Duration,
    /// Customers per post (at most).
    pub batch: usize,
    pub seed: u64,
}

pub const ACCOUNT_STATUSES: &[&str] = &["active", "on-hold", "churned"];
pub const SEGMENTS: &[&str] = &["retail", "wholesale", "vip"];
const TIERS: &[&str] = &["bronze", "silver", "gold"];
const TAGS: &[&str] = &["prospect", "crm-vip", "newsletter", "b2b", "lapsed"];

/// The endpoint for a daemon base URL (a trailing `/` is tolerated).
pub fn customers_url(api_url: &str) -> String {
    format!("{}/api/v1/customers", api_url.trim_end_matches('/'))
}

/// Posts batches until the task is aborted. A failed post (the daemon not up yet, a refusal)
/// is logged and the next one is tried on schedule.
pub async fn run(shop: ShopHandle, spec: CrmSpec) {
    let client = match xconnector_actors::http_client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "simulated CRM: no HTTP client; not sending customer updates");
            return;
        }
    };
    let url = customers_url(&spec.api_url);
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ 0xc0ff_ee00);
    info!(url = %url, every = ?spec.every, "simulated CRM sending customer updates");
    loop {
        tokio::time::sleep(spec.every).await;
        let body = shop.with(|shop| batch(shop, &mut rng, spec.batch));
        let Some(body) = body else { continue };
        let customers = body["customers"].as_array().map_or(0, Vec::len);
        match client
            .post(&url)
            .bearer_auth(&spec.token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                debug!(customers, "simulated CRM: update accepted")
            }
            Ok(r) => warn!(status = %r.status(), "simulated CRM: update refused"),
            Err(e) => warn!(error = %e.without_url(), "simulated CRM: update not delivered"),
        }
    }
}

/// One post: up to `size` distinct customers that have an email. `None` when there are none.
pub fn batch(shop: &Shop, rng: &mut fastrand::Rng, size: usize) -> Option<Value> {
    let known: Vec<(u64, String, bool)> = shop
        .customers
        .values()
        .filter_map(|c| {
            let mapped = c.metafield("xconnector", "crm").is_some();
            c.email.clone().map(|e| (c.id, e, mapped))
        })
        .collect();
    if known.is_empty() || size == 0 {
        return None;
    }
    let mut picked: Vec<&(u64, String, bool)> = Vec::new();
    for _ in 0..size.min(known.len()) * 2 {
        let candidate = &known[rng.usize(..known.len())];
        if !picked.iter().any(|p| p.0 == candidate.0) {
            picked.push(candidate);
        }
        if picked.len() == size.min(known.len()) {
            break;
        }
    }
    let customers: Vec<Value> = picked
        .into_iter()
        .map(|(id, email, mapped)| entry(rng, *id, email, *mapped))
        .collect();
    Some(json!({"source": "crm", "customers": customers}))
}

fn entry(rng: &mut fastrand::Rng, id: u64, email: &str, mapped: bool) -> Value {
    let external_id = format!("C-{id}");
    // Mostly by email, as a CRM keyed on people would; sometimes by the ids it learnt (only
    // once its id is known in Shopify: a CRM does not name customers by ids it never sent).
    let reference = match rng.u8(0..10) {
        0..=5 => json!({"email": email}),
        6 | 7 if mapped => json!({"external": {"system": "crm", "id": external_id}}),
        6 | 7 => json!({"email": email}),
        _ => json!({"shopify_id": gid("Customer", id)}),
    };
    let mut e = serde_json::Map::new();
    e.insert("ref".into(), reference);
    let add = TAGS[rng.usize(..TAGS.len())];
    let remove = TAGS[rng.usize(..TAGS.len())];
    e.insert("tags_add".into(), json!([add]));
    if remove != add {
        e.insert("tags_remove".into(), json!([remove]));
    }
    e.insert(
        "account_status".into(),
        json!(ACCOUNT_STATUSES[rng.usize(..ACCOUNT_STATUSES.len())]),
    );
    e.insert(
        "segment".into(),
        json!(SEGMENTS[rng.usize(..SEGMENTS.len())]),
    );
    if rng.u8(0..10) == 0 {
        e.insert("tax_exempt".into(), json!(true));
        e.insert("tax_exemptions".into(), json!(["CA_STATUS_CARD_EXEMPTION"]));
    }
    if rng.u8(0..4) == 0 {
        e.insert(
            "note".into(),
            json!(format!(
                "Account reviewed by CRM (score {})",
                rng.u8(1..=100)
            )),
        );
    }
    if rng.u8(0..3) == 0 {
        e.insert(
            "metafields".into(),
            json!([{
                "namespace": "crm",
                "key": "tier",
                "type": "single_line_text_field",
                "value": TIERS[rng.usize(..TIERS.len())],
            }]),
        );
    }
    e.insert("external_id".into(), json!(external_id));
    e.insert("create_if_missing".into(), json!(false));
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_name_existing_customers_in_the_fixed_shape() {
        let mut shop = Shop::seed(2, &crate::SeedSize::small());
        // Half the customers have been sent with their CRM id before.
        let ids: Vec<u64> = shop.customers.keys().copied().collect();
        for id in ids.iter().step_by(2) {
            let spec = crate::shop::MetafieldSpec::new(
                "xconnector",
                "crm",
                "single_line_text_field",
                &format!("C-{id}"),
            );
            shop.set_customer_metafields(*id, &[spec]).unwrap();
        }
        let mut rng = fastrand::Rng::with_seed(9);
        let allowed = [
            "ref",
            "tags_add",
            "tags_remove",
            "account_status",
            "segment",
            "tax_exempt",
            "tax_exemptions",
            "note",
            "metafields",
            "external_id",
            "create_if_missing",
        ];
        let (mut by_email, mut by_external, mut by_id, mut tiers) = (0, 0, 0, 0);
        for _ in 0..30 {
            let body = batch(&shop, &mut rng, 4).unwrap();
            assert_eq!(body["source"], "crm");
            let customers = body["customers"].as_array().unwrap();
            assert!(!customers.is_empty() && customers.len() <= 4);
            for c in customers {
                let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
                assert!(keys.iter().all(|k| allowed.contains(&k.as_str())), "{c}");
                let external = c["external_id"].as_str().unwrap();
                let id: u64 = external.strip_prefix("C-").unwrap().parse().unwrap();
                let customer = &shop.customers[&id];
                let r = &c["ref"];
                assert_eq!(r.as_object().unwrap().len(), 1, "{r}");
                if let Some(email) = r.get("email") {
                    assert_eq!(email.as_str(), customer.email.as_deref());
                    by_email += 1;
                } else if let Some(ext) = r.get("external") {
                    assert_eq!(*ext, json!({"system": "crm", "id": external}));
                    assert!(
                        customer.metafield("xconnector", "crm").is_some(),
                        "named by an id never sent: {c}"
                    );
                    by_external += 1;
                } else {
                    assert_eq!(r["shopify_id"], json!(gid("Customer", id)));
                    by_id += 1;
                }
                assert!(ACCOUNT_STATUSES.contains(&c["account_status"].as_str().unwrap()));
                assert!(SEGMENTS.contains(&c["segment"].as_str().unwrap()));
                assert_eq!(c["create_if_missing"], false);
                if let Some(m) = c.get("metafields") {
                    assert_eq!(m[0]["namespace"], "crm");
                    assert_eq!(m[0]["key"], "tier");
                    tiers += 1;
                }
            }
        }
        assert!(by_email > 0 && by_external > 0 && by_id > 0 && tiers > 0);
        assert_eq!(
            customers_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/api/v1/customers"
        );
        assert!(batch(&Shop::new("x", "x", "USD"), &mut rng, 3).is_none());
    }
}
