//! `[flows.reporting]`: whether the flows count what they see into report rollups. The orders
//! flow counts sales while this section is enabled; reports read what was counted.

use serde::Deserialize;

use crate::flows::FlowSpec;
use crate::flows::module::{BuildCx, FlowModule, Section};

pub struct ReportingModule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingConfig {}

impl FlowModule for ReportingModule {
    const NAME: &'static str = "reporting";
    const ABOUT: &'static str =
        "counts sales into rollups as orders are processed; reports read them";
    type Config = ReportingConfig;

    /// Nothing runs on its own: the counting is done by the flows that see the facts.
    fn build(_section: &Section<ReportingConfig>, _cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        None
    }
}
