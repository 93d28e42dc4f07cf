//! `[flows.reporting]`: whether the flows count what they see into report rollups. The orders
//! flow counts sales and fulfilment while this section is enabled; reports read what was
//! counted.

use std::time::Duration;

use serde::Deserialize;

use crate::config::{KeyPath, Problems, duration};
use crate::flows::FlowSpec;
use crate::flows::module::{BuildCx, CheckCx, FlowModule, Section};

pub struct ReportingModule;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingConfig {
    /// The service level of the fulfilment report: orders shipped within this long of being
    /// placed, in whole hours.
    #[serde(deserialize_with = "duration::deserialize")]
    pub ship_within: Duration,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        ReportingConfig {
            ship_within: Duration::from_secs(48 * 3600),
        }
    }
}

impl ReportingConfig {
    /// `ship_within` in whole hours, as the fulfilment report reads it.
    pub fn ship_within_hours(&self) -> i64 {
        i64::try_from(self.ship_within.as_secs() / 3600).unwrap_or(i64::MAX)
    }
}

impl FlowModule for ReportingModule {
    const NAME: &'static str = "reporting";
    const ABOUT: &'static str =
        "counts sales and fulfilment into rollups as orders are processed; reports read them";
    type Config = ReportingConfig;

    fn check(section: &Section<ReportingConfig>, _cx: &CheckCx<'_>, problems: &mut Problems) {
        let d = section.config.ship_within;
        if d.is_zero() || !d.as_secs().is_multiple_of(3600) {
            problems.push(
                KeyPath::root().key("ship_within"),
                "must be a whole number of hours, at least 1h (\"48h\", \"3d\")",
            );
        }
    }

    /// Nothing runs on its own: the counting is done by the flows that see the facts.
    fn build(_section: &Section<ReportingConfig>, _cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        None
    }
}
