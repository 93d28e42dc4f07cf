//! `Locations`: where stock is kept.

use serde::{Deserialize, Serialize};

use super::{Connection, Operation};
use crate::shopify::gid::LocationId;

pub enum Locations {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationsVariables {
    pub first: u32,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LocationsResponse {
    pub locations: Connection<Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: LocationId,
    pub name: String,
    pub is_active: bool,
    pub fulfills_online_orders: bool,
}

impl Operation for Locations {
    const NAME: &'static str = "Locations";
    const DOCUMENT: &'static str = include_str!("locations.graphql");
    type Variables = LocationsVariables;
    type Response = LocationsResponse;

    fn estimate(v: &LocationsVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &LocationsVariables) -> String {
        format!("Locations/{}", v.first)
    }
}
