//! `POST /api/v1/costs`: unit costs from the ERP, for the gross margin of the inventory report.
//!
//! ```json
//! {"source": "erp", "costs": [{"sku": "RS-S", "unit_cost": "7.50", "currency": "USD",
//!   "from": "2026-12-01"}]}
//! ```
//!
//! A cost holds from its day (UTC, like the inventory report) until the SKU's next cost in the
//! same currency; `from` defaults to the day of receipt. Each entry is one item of the
//! reporting flow, which records it in the rollups (bucket `costs/sku/SKU`, counter
//! `FROM/CURRENCY` → the unit cost), as the entry's own entity: the same entry sent again
//! changes nothing, a corrected cost for the same day and currency replaces the first. A CSV
//! drop has rows of `sku,unit_cost,currency[,from]`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flows::returns::rules::Amount;
use crate::inbound::{Accepted, Decode, Fields, NoHead, Resource};
use crate::item::NewItem;
use crate::store::{Contribution, Counters, RollupWrite};

/// The flow whose items the costs are.
pub const FLOW: &str = "reporting";
pub const KIND_COST: &str = "reporting/cost";
pub const REPORT: &str = "costs";

const MAX_SKU: usize = 255;

/// One unit cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub sku: String,
    /// Ten-thousandths of the currency unit.
    pub unit_cost: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub from: NaiveDate,
}

impl Cost {
    pub fn decode_payload(payload: &[u8]) -> Result<Cost, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not a unit cost: {e}"))
    }

    /// What recording it writes.
    pub fn write(&self) -> RollupWrite {
        let mut c = Contribution::default();
        c.add(
            &bucket(&self.sku),
            &format!("{}/{}", self.from, self.currency),
            self.unit_cost,
        );
        RollupWrite::Count {
            entity: format!("cost:{}:{}:{}", self.sku, self.currency, self.from),
            contribution: c,
        }
    }
}

/// The bucket of `sku`'s costs.
pub fn bucket(sku: &str) -> String {
    format!("{REPORT}/sku/{}", sku.replace('/', "-"))
}

/// A SKU's costs as stored: currency → (from, unit cost), in day order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Costs(BTreeMap<String, Vec<(NaiveDate, i64)>>);

impl Costs {
    pub fn from_counters(c: &Counters) -> Costs {
        let mut out: BTreeMap<String, Vec<(NaiveDate, i64)>> = BTreeMap::new();
        for (name, cost) in c {
            let Some((day, currency)) = name.split_once('/') else {
                continue;
            };
            if let Ok(day) = day.parse() {
                out.entry(currency.to_string())
                    .or_default()
                    .push((day, *cost));
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        Costs(out)
    }

    /// The unit cost on `day` in `currency`: the newest that started on or before it.
    pub fn on(&self, day: NaiveDate, currency: &str) -> Option<i64> {
        let v = self.0.get(currency)?;
        let at = v.partition_point(|(from, _)| *from <= day);
        at.checked_sub(1).map(|i| v[i].1)
    }
}

/// The costs API's resource.
pub struct UnitCosts;

impl Decode for Cost {
    const FIELDS: &'static [&'static str] = &["sku", "unit_cost", "currency", "from"];

    fn decode(f: &mut Fields<'_>) -> Option<Cost> {
        let sku = f.text("sku", MAX_SKU);
        let unit_cost = match f.take("unit_cost") {
            Some(v) => {
                let text = match &v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                match text.as_deref().and_then(Amount::parse) {
                    Some(a) if a.0 >= 0 => Some(a.0),
                    _ => {
                        f.problem(
                            "unit_cost",
                            format_args!(
                                "expected an amount of at least 0 such as \"7.50\", found {}",
                                crate::inbound::describe(&v)
                            ),
                        );
                        None
                    }
                }
            }
            None => {
                f.problem(
                    "unit_cost",
                    "missing: the cost of one unit, such as \"7.50\"",
                );
                None
            }
        };
        let currency = f.text("currency", 3).and_then(|c| {
            if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                Some(c.to_ascii_uppercase())
            } else {
                f.problem(
                    "currency",
                    format_args!("{c:?} is not a currency code such as \"USD\""),
                );
                None
            }
        });
        let from = match f.opt_text("from", 10) {
            Some(s) => match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    f.problem(
                        "from",
                        format_args!("{s:?} is not a day; write it as YYYY-MM-DD"),
                    );
                    None
                }
            },
            None => {
                chrono::DateTime::from_timestamp_millis(f.received_at()).map(|t| t.date_naive())
            }
        };
        f.ok()?;
        Some(Cost {
            sku: sku?,
            unit_cost: unit_cost?,
            currency: currency?,
            from: from?,
        })
    }
}

impl Resource for UnitCosts {
    const PATH: &'static str = "costs";
    const LIST: &'static str = "costs";
    const CSV_REQUIRED: usize = 3;
    type Head = NoHead;
    type Entry = Cost;

    fn items(request: Accepted<UnitCosts>, _id: &str) -> Vec<NewItem> {
        request
            .entries
            .into_iter()
            .map(|cost| {
                let key = format!("{} {} from {}", cost.sku, cost.currency, cost.from);
                // Serializing plain strings and integers cannot fail.
                let payload = serde_json::to_vec(&cost).unwrap_or_default();
                NewItem::new(FLOW, KIND_COST, key, payload)
            })
            .collect()
    }

    fn answer(request: &Accepted<UnitCosts>, answer: &mut Map<String, Value>) {
        answer.insert("costs".into(), request.entries.len().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cost_holds_from_its_day_until_the_next_in_its_currency() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let c = Costs::from_counters(&Counters::from([
            ("2026-12-01/USD".into(), 7_5000),
            ("2026-12-10/USD".into(), 8_0000),
            ("2026-12-05/EUR".into(), 6_0000),
            ("not a cost".into(), 1),
        ]));
        assert_eq!(c.on(d("2026-11-30"), "USD"), None);
        assert_eq!(c.on(d("2026-12-01"), "USD"), Some(7_5000));
        assert_eq!(c.on(d("2026-12-09"), "USD"), Some(7_5000));
        assert_eq!(c.on(d("2026-12-10"), "USD"), Some(8_0000));
        assert_eq!(c.on(d("2026-12-06"), "EUR"), Some(6_0000));
        assert_eq!(c.on(d("2026-12-06"), "GBP"), None);
    }
}
