//! A deterministic starting shop: the same seed and size give the same shop, byte for byte, so
//! tests can name SKUs and order numbers and benchmarks are comparable.
//!
//! The data is deliberately imperfect where the daemon must cope: a few orders lack a zip code
//! or a street, some carry medium or high fraud risk, some are unpaid, voided or refunded, a few
//! items are out of stock. All timestamps lie in the 30 days before [`SEED_EPOCH`]; changes made
//! after seeding use the wall clock (or a pinned test clock), which is later.
//!
//! Every seeded shop also has the custom collections of [`COLLECTIONS`] and two publications,
//! the Online Store and the Point of Sale, on which its products are published.

use super::shop::{
    Address, CancelReason, CustomerSpec, FinancialStatus, FulfillmentSpec, LineSpec, Money,
    ONLINE_STORE, OrderRisk, OrderSpec, POINT_OF_SALE, ProductSpec, RefundLineSpec, RefundSpec,
    RefundTransactionSpec, RestockType, ReturnLineSpec, ReturnReason, ReturnSpec, RiskAssessment,
    RiskFact, RiskLevel, RiskRecommendation, Sentiment, Shop, TrackingInfo, TransactionKind,
    VariantSpec, line_money, units_money,
};
use super::time::Timestamp;

/// The seeded history ends here: 2026-10-01T00:00:00Z (the 2026-10 API version's release).
pub const SEED_EPOCH: Timestamp = Timestamp(1_790_812_800);

/// How much to seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSize {
    pub locations: usize,
    pub products: usize,
    pub variants_per_product: usize,
    pub customers: usize,
    pub orders: usize,
}

impl SeedSize {
    /// Tests and the demo: a few dozen of everything.
    pub fn small() -> SeedSize {
        SeedSize {
            locations: 2,
            products: 12,
            variants_per_product: 3,
            customers: 25,
            orders: 60,
        }
    }

    /// Benchmarks: thousands of orders, hundreds of SKUs.
    pub fn medium() -> SeedSize {
        SeedSize {
            locations: 3,
            products: 200,
            variants_per_product: 3,
            customers: 1_000,
            orders: 5_000,
        }
    }

    /// Soak tests: a busy store.
    pub fn large() -> SeedSize {
        SeedSize {
            locations: 4,
            products: 2_000,
            variants_per_product: 4,
            customers: 20_000,
            orders: 50_000,
        }
    }
}

impl Default for SeedSize {
    fn default() -> Self {
        SeedSize::small()
    }
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kai", "Lena",
    "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor", "Wen",
    "Yara", "Zoe",
];
const LAST: &[&str] = &[
    "Adeyemi", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito",
    "Jansen", "Kowalski", "Larsen", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Urban", "Vargas", "Wójcik", "Yilmaz", "Zhang",
];
/// (city, province, province code, zip, country, country code).
const PLACES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Ottawa", "Ontario", "ON", "K2P 1L4", "Canada", "CA"),
    ("Toronto", "Ontario", "ON", "M5V 2T6", "Canada", "CA"),
    ("Montréal", "Quebec", "QC", "H2X 1Y4", "Canada", "CA"),
    (
        "Vancouver",
        "British Columbia",
        "BC",
        "V6B 1A1",
        "Canada",
        "CA",
    ),
    ("New York", "New York", "NY", "10001", "United States", "US"),
    ("Austin", "Texas", "TX", "78701", "United States", "US"),
    ("Portland", "Oregon", "OR", "97205", "United States", "US"),
    (
        "Louisville",
        "Kentucky",
        "KY",
        "40202",
        "United States",
        "US",
    ),
    (
        "London",
        "England",
        "ENG",
        "EC1A 1BB",
        "United Kingdom",
        "GB",
    ),
    ("Berlin", "Berlin", "BE", "10115", "Germany", "DE"),
];
const STREETS: &[&str] = &[
    "Elm Street",
    "Bank Street",
    "Queen Street West",
    "Maple Avenue",
    "Rue Sainte-Catherine",
    "Market Street",
    "Main Street",
    "High Street",
    "Oak Lane",
    "Harbour Road",
];
const ADJECTIVES: &[&str] = &[
    "Classic", "Alpine", "Urban", "Coastal", "Vintage", "Nordic", "Everyday", "Trail", "Studio",
    "Heritage",
];
const NOUNS: &[(&str, &str)] = &[
    ("Tee", "Shirts"),
    ("Hoodie", "Sweaters"),
    ("Cap", "Hats"),
    ("Backpack", "Bags"),
    ("Mug", "Kitchen"),
    ("Water Bottle", "Kitchen"),
    ("Sneaker", "Shoes"),
    ("Scarf", "Accessories"),
    ("Notebook", "Stationery"),
    ("Lamp", "Home"),
];
const VENDORS: &[&str] = &["Acme Goods", "Northwind", "Maple & Co", "Blue Harbor"];
const VARIANT_TITLES: &[&[&str]] = &[
    &["S", "M", "L", "XL"],
    &["Black", "White", "Navy", "Olive"],
    &["Small", "Large", "Family", "Travel"],
];
const CARRIERS: &[(&str, &str)] = &[
    ("UPS", "https://www.ups.com/track?tracknum="),
    (
        "Canada Post",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/details/",
    ),
    (
        "DHL Express",
        "https://www.dhl.com/en/express/tracking.html?AWB=",
    ),
];
const LOCATION_NAMES: &[&str] = &[
    "Main Warehouse",
    "East Fulfilment Centre",
    "Downtown Store",
    "West Coast 3PL",
    "Returns Depot",
];

impl Shop {
    /// The deterministic starting shop for `seed` and `size` (see the module docs).
    pub fn seed(seed: u64, size: &SeedSize) -> Shop {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut shop = Shop::new("Demo Store", "demo.myshopify.com", "USD");
        let start = SEED_EPOCH.plus_secs(-30 * 86_400);
        shop.set_clock(Some(start.plus_secs(-86_400)));

        for i in 0..size.locations.max(1) {
            let name = LOCATION_NAMES
                .get(i)
                .map_or_else(|| format!("Location {}", i + 1), |n| n.to_string());
            shop.add_location(&name);
        }

        for p in 0..size.products {
            let (noun, product_type) = NOUNS[p % NOUNS.len()];
            let adjective = ADJECTIVES[(p / NOUNS.len()) % ADJECTIVES.len()];
            let series = p / (NOUNS.len() * ADJECTIVES.len());
            let title = if series == 0 {
                format!("{adjective} {noun}")
            } else {
                format!("{adjective} {noun} {}", series + 1)
            };
            let titles = VARIANT_TITLES[p % VARIANT_TITLES.len()];
            let base_price = Money(rng.i64(5..200) * 100 - 1);
            let variants = (0..size.variants_per_product.max(1))
                .map(|v| {
                    let (vt, suffix) = match titles.get(v) {
                        Some(t) => (t.to_string(), sku_suffix(t)),
                        None => (format!("Option {}", v + 1), format!("V{}", v + 1)),
                    };
                    VariantSpec {
                        sku: format!("SKU-{:04}-{suffix}", p + 1),
                        title: vt,
                        price: Money(base_price.0 + 100 * v as i64),
                        grams: rng.u32(50..2_000),
                    }
                })
                .collect();
            let tags = if rng.u8(0..4) == 0 {
                vec!["bestseller".to_string()]
            } else {
                Vec::new()
            };
            let id = shop.add_product(ProductSpec {
                title,
                vendor: VENDORS[rng.usize(0..VENDORS.len())].to_string(),
                product_type: product_type.to_string(),
                tags,
                variants,
                stock_per_location: 0,
            });
            // Stock varies per level; about one level in twelve is empty.
            let items: Vec<u64> = shop.products[&id]
                .variant_ids
                .iter()
                .filter_map(|v| shop.variants.get(v).map(|v| v.inventory_item_id))
                .collect();
            for item in items {
                for level in shop
                    .inventory_levels
                    .range_mut((item, 0)..=(item, u64::MAX))
                    .map(|(_, l)| l)
                {
                    level.available = if rng.u8(0..12) == 0 {
                        0
                    } else {
                        rng.i64(1..120)
                    };
                }
            }
        }

        let mut customer_ids = Vec::new();
        for c in 0..size.customers {
            let first = FIRST[rng.usize(0..FIRST.len())];
            let last = LAST[rng.usize(0..LAST.len())];
            let address = address(&mut rng, first, last);
            let canadian = address.country_code.as_deref() == Some("CA");
            let exempt = rng.u8(0..20) == 0;
            let tags: Vec<String> = ["vip", "wholesale", "newsletter"]
                .into_iter()
                .filter(|_| rng.u8(0..5) == 0)
                .map(str::to_string)
                .collect();
            let id = shop.insert_customer(CustomerSpec {
                email: Some(format!(
                    "{}.{}{}@example.com",
                    ascii(first),
                    ascii(last),
                    c + 1
                )),
                first_name: Some(first.to_string()),
                last_name: Some(last.to_string()),
                phone: Some(format!("+1613555{:04}", c % 10_000)),
                tags,
                tax_exempt: exempt,
                tax_exemptions: if exempt && canadian {
                    vec!["CA_STATUS_CARD_EXEMPTION".to_string()]
                } else if exempt {
                    vec!["US_CA_RESELLER_EXEMPTION".to_string()]
                } else {
                    Vec::new()
                },
                note: None,
                default_address: Some(address),
                ..CustomerSpec::default()
            });
            customer_ids.push(id);
        }

        let variant_ids: Vec<u64> = shop.variants.keys().copied().collect();
        let span = 30 * 86_400 / size.orders.max(1) as i64;
        for o in 0..size.orders {
            let placed = start.plus_secs(o as i64 * span + rng.i64(0..span.max(1)));
            shop.set_clock(Some(placed));
            let customer_id = if customer_ids.is_empty() || rng.u8(0..10) == 0 {
                None
            } else {
                Some(customer_ids[rng.usize(0..customer_ids.len())])
            };
            let mut line_items = Vec::new();
            if !variant_ids.is_empty() {
                for _ in 0..rng.usize(1..=4) {
                    let v = variant_ids[rng.usize(0..variant_ids.len())];
                    if !line_items
                        .iter()
                        .any(|l: &LineSpec| l.variant_id == Some(v))
                    {
                        line_items.push(LineSpec::variant(v, rng.u32(1..=3)));
                    }
                }
            }
            let roll = rng.u8(0..100);
            let financial_status = match roll {
                0..=74 => FinancialStatus::Paid,
                75..=84 => FinancialStatus::Authorized,
                85..=92 => FinancialStatus::Pending,
                93..=95 => FinancialStatus::Voided,
                96..=97 => FinancialStatus::Expired,
                _ => FinancialStatus::Paid,
            };
            let refund_later = roll >= 98;
            let mut shipping_address = match customer_id.and_then(|c| shop.customers.get(&c)) {
                Some(c) => c.default_address.clone(),
                None => {
                    let first = FIRST[rng.usize(0..FIRST.len())];
                    let last = LAST[rng.usize(0..LAST.len())];
                    Some(address(&mut rng, first, last))
                }
            };
            // Address defects for the exceptions flow: no zip, or no street.
            let defect = rng.u8(0..50);
            if let Some(a) = shipping_address.as_mut() {
                if defect < 2 {
                    a.zip = None;
                } else if defect == 2 {
                    a.address1 = None;
                }
            }
            let id = shop.insert_order(OrderSpec {
                customer_id,
                email: if customer_id.is_none() {
                    Some(format!("guest{}@example.net", o + 1))
                } else {
                    None
                },
                line_items,
                shipping_address,
                shipping: Money([0, 599, 999, 1499][rng.usize(0..4)]),
                discount: if rng.u8(0..8) == 0 {
                    Money(1000)
                } else {
                    Money::ZERO
                },
                tax_rate_bps: [0, 500, 825, 1300][rng.usize(0..4)],
                financial_status,
                tags: if rng.u8(0..6) == 0 {
                    vec!["gift".to_string()]
                } else {
                    Vec::new()
                },
                note: if rng.u8(0..10) == 0 {
                    Some("Please leave at the door".to_string())
                } else {
                    None
                },
                risk: risk(&mut rng),
                ..OrderSpec::default()
            });

            // What happened to the order afterwards, a few hours to days later.
            let later = placed.plus_secs(rng.i64(3_600..4 * 86_400)).min(SEED_EPOCH);
            shop.set_clock(Some(later));
            let age_share = o as f64 / size.orders.max(1) as f64;
            match financial_status {
                FinancialStatus::Voided => {
                    let _ = shop.cancel_order(id, CancelReason::Customer);
                }
                FinancialStatus::Paid if age_share < 0.7 => {
                    let (company, url) = CARRIERS[rng.usize(0..CARRIERS.len())];
                    let number = format!("1Z{:016}", rng.u64(0..10_000_000_000_000_000));
                    let fulfilled = shop.create_fulfillment(
                        id,
                        FulfillmentSpec {
                            line_items: Vec::new(),
                            tracking: Some(TrackingInfo {
                                company: Some(company.to_string()),
                                url: Some(format!("{url}{number}")),
                                number: Some(number),
                            }),
                        },
                    );
                    if let Ok(fulfillment) = fulfilled
                        && rng.u8(0..25) == 0
                    {
                        shop.set_clock(Some(later.plus_secs(86_400).min(SEED_EPOCH)));
                        let line = shop
                            .fulfillments
                            .get(&fulfillment)
                            .and_then(|f| f.line_items.first())
                            .map(|l| l.id);
                        let reason = [
                            ReturnReason::SizeTooSmall,
                            ReturnReason::Defective,
                            ReturnReason::WrongItem,
                            ReturnReason::Unwanted,
                        ][rng.usize(0..4)];
                        if let Some(line) = line {
                            let _ = shop.request_return(ReturnSpec {
                                order_id: id,
                                lines: vec![ReturnLineSpec::new(line, 1, reason)],
                                shipping_fee: None,
                            });
                        }
                    }
                }
                _ => {}
            }
            if refund_later {
                let line = shop
                    .orders
                    .get(&id)
                    .and_then(|o| o.line_items.first())
                    .map(|l| l.id);
                if let Some(line) = line {
                    shop.set_clock(Some(later.plus_secs(3_600).min(SEED_EPOCH)));
                    // One unit's worth, through the order's payment.
                    let amount = shop.orders.get(&id).map_or(Money::ZERO, |o| {
                        let worth = units_money(&line_money(o)[0], 0, 1);
                        worth.subtotal + worth.tax
                    });
                    let _ = shop.create_refund(RefundSpec {
                        order_id: id,
                        lines: vec![RefundLineSpec::new(line, 1, RestockType::NoRestock)],
                        transactions: vec![RefundTransactionSpec {
                            order_id: id,
                            parent_id: None,
                            gateway: String::new(),
                            kind: TransactionKind::Refund,
                            amount,
                        }],
                        note: Some("Damaged in transit".into()),
                        ..RefundSpec::default()
                    });
                }
            }
        }
        // Last, so the ids of everything above do not depend on them.
        for (handle, title) in COLLECTIONS {
            shop.add_collection(handle, title);
        }
        let publications = [
            shop.add_publication(ONLINE_STORE),
            shop.add_publication(POINT_OF_SALE),
        ];
        for product in shop.products.values_mut() {
            product.publication_ids = publications.to_vec();
        }
        shop.set_clock(None);
        shop
    }
}

/// The custom collections every seeded shop has: (handle, title).
pub const COLLECTIONS: &[(&str, &str)] = &[
    ("summer", "Summer"),
    ("sale", "Sale"),
    ("new-arrivals", "New Arrivals"),
];

fn address(rng: &mut fastrand::Rng, first: &str, last: &str) -> Address {
    let (city, province, province_code, zip, country, country_code) =
        PLACES[rng.usize(0..PLACES.len())];
    Address {
        first_name: Some(first.to_string()),
        last_name: Some(last.to_string()),
        company: if rng.u8(0..6) == 0 {
            Some(format!("{last} Trading"))
        } else {
            None
        },
        address1: Some(format!(
            "{} {}",
            rng.u32(1..999),
            STREETS[rng.usize(0..STREETS.len())]
        )),
        address2: if rng.u8(0..5) == 0 {
            Some(format!("Unit {}", rng.u32(1..40)))
        } else {
            None
        },
        city: Some(city.to_string()),
        province: Some(province.to_string()),
        province_code: Some(province_code.to_string()),
        zip: Some(zip.to_string()),
        country: Some(country.to_string()),
        country_code: Some(country_code.to_string()),
        phone: Some(format!("+1 613 555 {:04}", rng.u32(0..10_000))),
        latitude: None,
        longitude: None,
    }
}

fn risk(rng: &mut fastrand::Rng) -> OrderRisk {
    match rng.u8(0..100) {
        0..=84 => OrderRisk::default(),
        85..=94 => OrderRisk {
            recommendation: RiskRecommendation::Investigate,
            assessments: vec![RiskAssessment {
                level: RiskLevel::Medium,
                facts: vec![
                    RiskFact {
                        description: "Shipping address is far from the IP location".into(),
                        sentiment: Sentiment::Negative,
                    },
                    RiskFact {
                        description: "Card verification (CVV) passed".into(),
                        sentiment: Sentiment::Positive,
                    },
                ],
            }],
        },
        _ => OrderRisk {
            recommendation: RiskRecommendation::Cancel,
            assessments: vec![RiskAssessment {
                level: RiskLevel::High,
                facts: vec![
                    RiskFact {
                        description: "Several cards were tried before this payment succeeded"
                            .into(),
                        sentiment: Sentiment::Negative,
                    },
                    RiskFact {
                        description: "The order came through an anonymous proxy".into(),
                        sentiment: Sentiment::Negative,
                    },
                ],
            }],
        },
    }
}

fn sku_suffix(variant_title: &str) -> String {
    variant_title
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Lower-case ASCII for email local parts ("Chloé" → "chlo", "O'Brien" → "obrien").
fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_shop() {
        let a = Shop::seed(7, &SeedSize::small());
        let b = Shop::seed(7, &SeedSize::small());
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.variants, b.variants);
        assert_eq!(a.inventory_levels, b.inventory_levels);
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.fulfillments, b.fulfillments);
        let c = Shop::seed(8, &SeedSize::small());
        assert_ne!(a.orders, c.orders);
    }

    #[test]
    fn the_small_shop_has_what_the_flows_need() {
        let shop = Shop::seed(1, &SeedSize::small());
        let size = SeedSize::small();
        assert_eq!(shop.orders.len(), size.orders);
        assert_eq!(shop.locations.len(), size.locations);
        assert_eq!(
            shop.variants.len(),
            size.products * size.variants_per_product
        );
        assert_eq!(
            shop.inventory_levels.len(),
            shop.variants.len() * size.locations
        );
        assert!(shop.orders.values().all(|o| o.updated_at <= SEED_EPOCH));
        assert!(shop.orders.values().all(|o| o.created_at <= o.updated_at));
        assert!(shop.orders.values().any(|o| !o.fulfillment_ids.is_empty()));
        assert!(
            shop.orders
                .values()
                .any(|o| o.risk.recommendation != RiskRecommendation::Accept)
        );
        assert!(shop.order_by_name("#1001").is_some());
        assert!(shop.variant_by_sku("SKU-0001-S").is_some());
        assert_eq!(shop.collections.len(), COLLECTIONS.len());
        assert!(shop.collection_by_handle("new-arrivals").is_some());
        let channels = [
            shop.publication_by_name(ONLINE_STORE).unwrap(),
            shop.publication_by_name(POINT_OF_SALE).unwrap(),
        ];
        assert!(
            shop.products
                .values()
                .all(|p| p.publication_ids == channels)
        );
        let skus: std::collections::HashSet<&str> =
            shop.variants.values().map(|v| v.sku.as_str()).collect();
        assert_eq!(skus.len(), shop.variants.len(), "SKUs are unique");
    }
}
