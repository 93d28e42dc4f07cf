//! `[flows.reporting]`: whether the flows count what they see into report rollups. The orders
//! flow counts sales and fulfilment while this section is enabled; reports read what was
//! counted. With a `schedule`, the reports are also delivered to `deliver_to` once per period
//! (see [`super::deliver`]).

use std::time::Duration;

use serde::Deserialize;

use std::sync::Arc;

use super::costs::UnitCosts;
use super::deliver::{ReportingFlow, Scheduled, Settings};
use super::live::Reporting;
use super::schedule::Schedule;
use crate::config::{KeyPath, Problems, duration};
use crate::endpoints::DELIVERY_BACKOFF;
use crate::flows::module::{BuildCx, CheckCx, FlowModule, Section};
use crate::flows::{FlowSettings, FlowSpec};
use crate::inbound::{Inbound, Served};

/// Costs per `POST /api/v1/costs`: a catalogue's worth.
const MAX_COSTS: usize = 100_000;

pub struct ReportingModule;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingConfig {
    /// The service level of the fulfilment report: orders shipped within this long of being
    /// placed, in whole hours.
    #[serde(deserialize_with = "duration::deserialize")]
    pub ship_within: Duration,
    /// The inventory report calls a SKU's stock feed stale when its newest level is older
    /// than this.
    #[serde(deserialize_with = "duration::deserialize")]
    pub stale_after: Duration,
    /// When the reports are delivered, in the shop's time: `daily 06:00`, `weekly mon 06:00`.
    /// None: reports are only read on demand.
    pub schedule: Option<String>,
    /// The `[endpoints.NAME]` the scheduled reports go to.
    pub deliver_to: Vec<String>,
    /// Which reports are delivered: `sales`, `fulfilment`, `health`.
    pub reports: Vec<String>,
    /// At go-live (the first start with reporting on, no backfill ever recorded), the rollups
    /// are filled from Shopify's orders of this many days back (`90d`), or since a day
    /// (`2026-09-01`); `0` or `off`: none.
    pub backfill: String,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        ReportingConfig {
            ship_within: Duration::from_secs(48 * 3600),
            stale_after: Duration::from_secs(24 * 3600),
            schedule: None,
            deliver_to: Vec::new(),
            reports: Scheduled::ALL
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            backfill: "90d".into(),
        }
    }
}

impl ReportingConfig {
    /// `stale_after` in milliseconds, as the inventory report reads it.
    pub fn stale_after_ms(&self) -> i64 {
        i64::try_from(self.stale_after.as_millis()).unwrap_or(i64::MAX)
    }

    /// The day the go-live backfill starts from, `today` being the shop's; `None`: off.
    pub fn go_live_since(
        &self,
        today: chrono::NaiveDate,
    ) -> Result<Option<chrono::NaiveDate>, String> {
        super::backfill::parse_since(&self.backfill, today)
    }

    /// `ship_within` in whole hours, as the fulfilment report reads it.
    pub fn ship_within_hours(&self) -> i64 {
        i64::try_from(self.ship_within.as_secs() / 3600).unwrap_or(i64::MAX)
    }
}

impl FlowModule for ReportingModule {
    const NAME: &'static str = "reporting";
    const ABOUT: &'static str = "counts sales, fulfilment, customers and stock into rollups as the flows \
         work; records unit costs; reports read them, and a schedule delivers them";
    type Config = ReportingConfig;

    fn check(section: &Section<ReportingConfig>, cx: &CheckCx<'_>, problems: &mut Problems) {
        let c = &section.config;
        let root = KeyPath::root();
        if let Err(e) = c.go_live_since(chrono::Utc::now().date_naive()) {
            problems.push(root.key("backfill"), e);
        }
        let d = c.ship_within;
        if d.is_zero() || !d.as_secs().is_multiple_of(3600) {
            problems.push(
                root.key("ship_within"),
                "must be a whole number of hours, at least 1h (\"48h\", \"3d\")",
            );
        }
        if c.stale_after.is_zero() {
            problems.push(
                root.key("stale_after"),
                "must be longer than 0 (\"24h\", \"3d\")",
            );
        }
        check_delivery(c, cx, problems);
    }

    /// `POST /api/v1/costs`: the unit costs of the gross margin.
    fn inbound(_section: &Section<ReportingConfig>) -> Vec<Arc<dyn Inbound>> {
        vec![Arc::new(Served::<UnitCosts>::new(MAX_COSTS, None))]
    }

    /// The counting is done by the flows that see the facts; what runs here records the unit
    /// costs the ERP sends and, with a schedule, delivers the reports.
    fn build(section: &Section<ReportingConfig>, cx: &mut BuildCx<'_>) -> Option<FlowSpec> {
        let c = &section.config;
        // Checked before building: a schedule that does not parse never gets here.
        let schedule: Option<Schedule> = c.schedule.as_deref().and_then(|s| s.parse().ok());
        let settings = Settings {
            schedule,
            targets: c.deliver_to.clone(),
            reports: c
                .reports
                .iter()
                .filter_map(|r| Scheduled::parse(r))
                .collect(),
            sla_hours: c.ship_within_hours(),
            stale_after_ms: c.stale_after_ms(),
        };
        let flow_settings = FlowSettings {
            backoff: DELIVERY_BACKOFF,
            ..cx.settings(&section.common)
        };
        // The daemon's clock, which learns the shop's time zone, when it shares one.
        let clock = cx.shared::<Reporting>();
        Some(FlowSpec::new(
            Self::NAME,
            flow_settings,
            ReportingFlow::new(settings, clock),
        ))
    }
}

/// `schedule`, `deliver_to` and `reports`: each names what is wrong with it.
fn check_delivery(c: &ReportingConfig, cx: &CheckCx<'_>, problems: &mut Problems) {
    let root = KeyPath::root();
    for (i, r) in c.reports.iter().enumerate() {
        if Scheduled::parse(r).is_none() {
            let names: Vec<&str> = Scheduled::ALL.iter().map(|r| r.as_str()).collect();
            problems.push(
                root.key("reports").index(i),
                format!("{r:?} is not a report ({})", names.join(", ")),
            );
        }
    }
    problems.targets(&root.key("deliver_to"), &c.deliver_to, cx.endpoints);
    let Some(schedule) = &c.schedule else {
        if !c.deliver_to.is_empty() {
            problems.push(
                root.key("deliver_to"),
                "reports are delivered on a schedule: set schedule too (\"daily 06:00\")",
            );
        }
        return;
    };
    if let Err(e) = schedule.parse::<Schedule>() {
        problems.push(root.key("schedule"), e.to_string());
    }
    if c.deliver_to.is_empty() {
        problems.push(
            root.key("deliver_to"),
            "a schedule needs somewhere to deliver to: the names of [endpoints.NAME]",
        );
    }
    if c.reports.is_empty() {
        problems.push(root.key("reports"), "a schedule needs at least one report");
    }
}
