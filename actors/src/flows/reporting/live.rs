//! The live side of reporting: the shop's "today" (reports count in the shop's days, so the
//! daemon learns the shop's time zone from Shopify and keeps it current through daylight saving
//! time), and the figures `/metrics` shows: orders and net sales today, the p90 hours to ship
//! over the last week, and the orders waiting to ship.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Offset, Utc};
use tracing::{debug, warn};

use super::module::ReportingConfig;
use super::{By, fulfilment, read_days, report};
use crate::rate_limiter::Lane;
use crate::shopify::client::ShopifyHandle;
use crate::store::{StoreError, StoreHandle};
use crate::telemetry::prometheus::{Exposition, Kind};

/// `[flows.reporting]` of a running daemon and the shop's clock.
#[derive(Debug, Default)]
pub struct Reporting {
    pub config: ReportingConfig,
    offset_minutes: AtomicI32,
    known: AtomicBool,
}

/// How often the shop's offset is read again (daylight saving time moves it twice a year).
const REFRESH: Duration = Duration::from_secs(3600);
/// How soon after a failed read it is tried again.
const RETRY: Duration = Duration::from_secs(60);

impl Reporting {
    pub fn new(config: ReportingConfig) -> Reporting {
        Reporting {
            config,
            ..Reporting::default()
        }
    }

    /// The shop's offset from UTC, once Shopify has told it.
    pub fn set_offset(&self, minutes: i32) {
        self.offset_minutes.store(minutes, Ordering::Relaxed);
        self.known.store(true, Ordering::Relaxed);
    }

    /// The shop's offset from UTC in minutes, once Shopify has told it.
    pub fn offset_minutes(&self) -> Option<i32> {
        self.known
            .load(Ordering::Relaxed)
            .then(|| self.offset_minutes.load(Ordering::Relaxed))
    }

    /// The shop's day now; UTC's until Shopify has told the shop's time zone.
    pub fn today(&self) -> NaiveDate {
        self.day_at(Utc::now())
    }

    fn day_at(&self, now: DateTime<Utc>) -> NaiveDate {
        let minutes = self.offset_minutes().unwrap_or(0);
        let offset = FixedOffset::east_opt(minutes * 60).unwrap_or(Utc.fix());
        now.with_timezone(&offset).date_naive()
    }

    /// Keeps the shop's offset current, for as long as the daemon runs.
    pub async fn keep_time(self: Arc<Self>, shopify: ShopifyHandle) {
        loop {
            let wait = match shopify.shop_time(Lane::Reporting).await {
                Ok(zone) => {
                    debug!(zone = %zone.iana_timezone, offset_minutes = zone.timezone_offset_minutes, "shop time zone");
                    self.set_offset(zone.timezone_offset_minutes);
                    REFRESH
                }
                Err(e) => {
                    warn!(error = %e, "cannot read the shop's time zone; reports use UTC days until it is known");
                    RETRY
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The live figures for `/metrics`.
    pub async fn render_metrics(
        &self,
        store: &StoreHandle,
        m: &mut Exposition,
    ) -> Result<(), StoreError> {
        let today = self.today();
        let sales = report::sales(store, today, today, By::Day).await?;
        let mut f = m.family(
            "xconnector_report_orders_today",
            Kind::Gauge,
            "Orders placed today (the shop's day), by currency; test orders excluded.",
        );
        for t in &sales.totals {
            f.sample(&[("currency", &t.currency)], t.orders);
        }
        let mut f = m.family(
            "xconnector_report_net_sales_today",
            Kind::Gauge,
            "Net sales today (gross less discounts and returns), by currency.",
        );
        for t in &sales.totals {
            f.sample(&[("currency", &t.currency)], &t.net);
        }
        // One scan of the month's buckets serves both figures: the last week is its tail.
        let month = today.checked_sub_days(Days::new(29)).unwrap_or(today);
        let week = today.checked_sub_days(Days::new(6)).unwrap_or(today);
        let buckets = read_days(store, fulfilment::REPORT, month, today).await?;
        let week_from = format!("{}/day/{week}", fulfilment::REPORT);
        let last_week = &buckets[buckets.partition_point(|(name, _)| *name < week_from)..];
        let sla = self.config.ship_within_hours();
        let shipping = fulfilment::report_from(last_week, week, today, By::Day, sla);
        if let Some(p90) = shipping.total.ship_p90_h {
            m.family(
                "xconnector_report_ship_p90_hours",
                Kind::Gauge,
                "Hours from order to first fulfilment, 90th percentile, orders of the last 7 days.",
            )
            .sample(&[], p90);
        }
        let waiting = fulfilment::report_from(&buckets, month, today, By::Day, sla);
        m.family(
            "xconnector_report_orders_waiting",
            Kind::Gauge,
            "Orders of the last 30 days neither shipped nor cancelled.",
        )
        .sample(&[], waiting.total.waiting);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shops_day_follows_its_offset_once_known() {
        let r = Reporting::new(ReportingConfig::default());
        // 03:30 UTC on Dec 7 is still Dec 6 in New York.
        let now = DateTime::parse_from_rfc3339("2026-12-07T03:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(r.day_at(now).to_string(), "2026-12-07", "UTC until known");
        r.set_offset(-300);
        assert_eq!(r.day_at(now).to_string(), "2026-12-06");
        r.set_offset(13 * 60);
        assert_eq!(r.day_at(now).to_string(), "2026-12-07");
        // An offset no zone has stays UTC rather than failing.
        r.set_offset(100 * 60);
        assert_eq!(r.day_at(now).to_string(), "2026-12-07");
    }
}
