//! `ShopTime`: the shop's time zone, for the shop's "today" in reports.

use serde::{Deserialize, Serialize};

use super::Operation;

pub enum ShopTime {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopTimeVariables {}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShopTimeResponse {
    pub shop: ShopTimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopTimeZone {
    pub iana_timezone: String,
    /// The offset from UTC now (it moves with daylight saving time).
    pub timezone_offset_minutes: i32,
}

impl Operation for ShopTime {
    const NAME: &'static str = "ShopTime";
    const DOCUMENT: &'static str = include_str!("shop_time.graphql");
    type Variables = ShopTimeVariables;
    type Response = ShopTimeResponse;

    fn estimate(_: &ShopTimeVariables) -> f64 {
        1.0
    }
}
