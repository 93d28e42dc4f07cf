//! `[flows.log]`: the placeholder flow's section.

use std::time::Duration;

use serde::Deserialize;

use super::LogFlow;
use crate::config::duration;
use crate::flows::FlowSpec;
use crate::flows::module::{BuildCx, FlowModule, Section};

pub struct LogModule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Simulated per-item processing time (demos, shutdown tests).
    #[serde(deserialize_with = "duration::deserialize")]
    pub work_time: Duration,
}

impl FlowModule for LogModule {
    const NAME: &'static str = "log";
    const ABOUT: &'static str = "logs each item and marks it done";
    type Config = LogConfig;

    fn build(section: &Section<LogConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        Some(FlowSpec::new(
            Self::NAME,
            cx.settings(&section.common),
            LogFlow {
                work_time: section.config.work_time,
            },
        ))
    }
}
