//! `xconnector report sales|fulfilment|inventory|customers|health`: a report from the running daemon, printed as an
//! aligned table, CSV or the API's JSON.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use serde::de::DeserializeOwned;

use xconnector_actors::flows::reporting::customers::{CustomersReport, CustomersRow};
use xconnector_actors::flows::reporting::fulfilment::{FulfilmentReport, FulfilmentRow};
use xconnector_actors::flows::reporting::health::{HealthReport, HealthRow};
use xconnector_actors::flows::reporting::inventory::{InventoryReport, InventoryRow};
use xconnector_actors::flows::reporting::percent;
use xconnector_actors::flows::reporting::report::{SalesReport, SalesRow};

use super::commands::{pretty, run};
use crate::cli::{ReportArgs, ReportBy, ReportCommand, ReportFormat};

pub async fn report(socket: &Path, cmd: ReportCommand) -> ExitCode {
    match cmd {
        ReportCommand::Sales(args) => print(socket, "sales", args, sales).await,
        ReportCommand::Fulfilment(args) => print(socket, "fulfilment", args, fulfilment).await,
        ReportCommand::Inventory(args) => print(socket, "inventory", args, inventory).await,
        ReportCommand::Customers(args) => print(socket, "customers", args, customers).await,
        ReportCommand::Health(args) => print(socket, "health", args, health).await,
        ReportCommand::Backfill(args) => super::backfill::backfill(socket, args).await,
    }
}

/// Reads report `name` from the daemon and prints it as `args.format` asks: the API's JSON
/// as is, else its cells (from `table`) as CSV or aligned text.
async fn print<R: DeserializeOwned + Serialize>(
    socket: &Path,
    name: &str,
    args: ReportArgs,
    table: fn(&R) -> Table,
) -> ExitCode {
    let path = format!("/v1/reports/{name}?{}", query(&args));
    run(socket, |c| async move {
        let report: R = c.get(&path).await?;
        Ok(match args.format {
            ReportFormat::Json => pretty(&report),
            ReportFormat::Csv => table(&report).csv(),
            ReportFormat::Table => table(&report).text(),
        })
    })
    .await
}

fn query(args: &ReportArgs) -> String {
    let by = args.by.map(|by| match by {
        ReportBy::Day => "day",
        ReportBy::Week => "week",
        ReportBy::Channel => "channel",
        ReportBy::Location => "location",
        ReportBy::Carrier => "carrier",
        ReportBy::Flow => "flow",
        ReportBy::Sku => "sku",
        ReportBy::Kind => "kind",
    });
    let mut q: Vec<String> = by.map(|by| format!("by={by}")).into_iter().collect();
    q.extend(args.from.map(|d| format!("from={d}")));
    q.extend(args.to.map(|d| format!("to={d}")));
    q.join("&")
}

/// A report as cells: what the table and the CSV print.
struct Table {
    title: String,
    /// Column names as the CSV writes them (the table upper-cases them).
    columns: Vec<String>,
    /// Columns read from the left (names); the rest are figures, right-aligned.
    text_columns: usize,
    rows: Vec<Vec<String>>,
    /// Rows from here on are totals, under a rule.
    totals_from: usize,
    /// A line after the table, if any.
    footer: Option<String>,
}

impl Table {
    fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let written = std::iter::once(&self.columns)
            .chain(&self.rows)
            .try_for_each(|r| w.write_record(r));
        // Writing into memory fails only on a bug; say so rather than print half a file.
        match (written, w.into_inner()) {
            (Ok(()), Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => "error: the CSV could not be written\n".into(),
        }
    }

    fn text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        if self.totals_from == 0 {
            let _ = writeln!(out, "nothing counted in this range");
            return out;
        }
        let head: Vec<String> = self.columns.iter().map(|c| heading(c)).collect();
        let widths: Vec<usize> = (0..head.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([head[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String], out: &mut String| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i < self.text_columns {
                    let _ = write!(text, "{cell:<width$}  ");
                } else {
                    let _ = write!(text, "{cell:>width$}  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&head, &mut out);
        for (i, row) in self.rows.iter().enumerate() {
            if i == self.totals_from {
                let rule = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                let _ = writeln!(out, "{}", "-".repeat(rule));
            }
            line(row, &mut out);
        }
        if let Some(footer) = &self.footer {
            let _ = writeln!(out, "{footer}");
        }
        out
    }
}

/// A CSV column's name as a table heading: short where the name is long.
fn heading(column: &str) -> String {
    match column {
        "units_returned" => "RETURNED".into(),
        "average_order_value" => "AOV".into(),
        "ship_p50_h" => "SHIP P50".into(),
        "deliver_p50_h" => "DELIV P50".into(),
        "ship_p90_h" | "deliver_p90_h" => "P90".into(),
        "ship_max_h" | "deliver_max_h" | "close_max_h" => "MAX".into(),
        "close_p50_h" => "OPEN P50".into(),
        "close_p90_h" => "P90".into(),
        "within_sla" => "IN SLA".into(),
        "new_customers" => "NEW".into(),
        "returning_customers" => "RETURNING".into(),
        "guest_orders" => "GUESTS".into(),
        "orders_per_customer" => "ORD/CUST".into(),
        "revenue_per_customer" => "REV/CUST".into(),
        "repeat_rate" => "REPEAT".into(),
        "avg_on_hand" => "AVG HAND".into(),
        "days_of_cover" => "COVER D".into(),
        "stockout_days" => "OUT D".into(),
        "oversold_days" => "OVERSOLD D".into(),
        other => other.replace('_', " ").to_uppercase(),
    }
}

fn sales(r: &SalesReport) -> Table {
    let columns = [
        r.by.as_str(),
        "currency",
        "orders",
        "units",
        "units_returned",
        "gross",
        "discounts",
        "returns",
        "net",
        "shipping",
        "tax",
        "total",
        "average_order_value",
    ];
    let cells = |s: &SalesRow| {
        vec![
            s.key.clone(),
            s.currency.clone(),
            s.orders.to_string(),
            s.units.to_string(),
            s.units_returned.to_string(),
            s.gross.clone(),
            s.discounts.clone(),
            s.returns.clone(),
            s.net.clone(),
            s.shipping.clone(),
            s.tax.clone(),
            s.total.clone(),
            s.average_order_value.clone(),
        ]
    };
    Table {
        title: format!("sales from {} to {} by {}", r.from, r.to, r.by.as_str()),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        text_columns: 2,
        rows: r.rows.iter().chain(&r.totals).map(cells).collect(),
        totals_from: if r.rows.is_empty() { 0 } else { r.rows.len() },
        footer: None,
    }
}

fn customers(r: &CustomersReport) -> Table {
    let columns = [
        r.by.as_str(),
        "currency",
        "customers",
        "new_customers",
        "returning_customers",
        "orders",
        "guest_orders",
        "revenue",
        "orders_per_customer",
        "revenue_per_customer",
        "repeat_rate",
    ];
    let cells = |c: &CustomersRow| {
        vec![
            c.key.clone(),
            c.currency.clone(),
            c.customers.to_string(),
            c.new_customers.to_string(),
            c.returning_customers.to_string(),
            c.orders.to_string(),
            c.guest_orders.to_string(),
            c.revenue.clone(),
            c.orders_per_customer
                .map(|x| format!("{x:.2}"))
                .unwrap_or_default(),
            c.revenue_per_customer.clone(),
            c.repeat_rate
                .map(|x| format!("{:.1}%", 100.0 * x))
                .unwrap_or_default(),
        ]
    };
    let top: Vec<String> = r
        .top
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "{:>2}. {}  {} {}  {} order{}  first {}",
                i + 1,
                t.customer,
                t.revenue,
                t.currency,
                t.orders,
                if t.orders == 1 { "" } else { "s" },
                t.first_order.map(|d| d.to_string()).unwrap_or_default()
            )
        })
        .collect();
    Table {
        title: format!("customers from {} to {} by {}", r.from, r.to, r.by.as_str()),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        text_columns: 2,
        rows: r.rows.iter().chain(&r.totals).map(cells).collect(),
        totals_from: if r.rows.is_empty() { 0 } else { r.rows.len() },
        footer: (!top.is_empty()).then(|| format!("top customers by revenue\n{}", top.join("\n"))),
    }
}

fn inventory(r: &InventoryReport) -> Table {
    let columns = [
        r.by.as_str(),
        "sold",
        "avg_on_hand",
        "on_hand",
        "turnover",
        "days_of_cover",
        "stockout_days",
        "oversold_days",
        "stale",
    ];
    let figure = |x: Option<f64>| x.map(|x| format!("{x:.2}")).unwrap_or_default();
    let cells = |i: &InventoryRow| {
        vec![
            i.key.clone(),
            i.sold.to_string(),
            figure(i.avg_on_hand),
            i.on_hand.map(|n| n.to_string()).unwrap_or_default(),
            figure(i.turnover),
            figure(i.days_of_cover),
            i.stockout_days.to_string(),
            i.oversold_days.to_string(),
            i.stale.to_string(),
        ]
    };
    Table {
        title: format!(
            "inventory from {} to {} (UTC days) by {}",
            r.from,
            r.to,
            r.by.as_str()
        ),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        text_columns: 1,
        rows: r.rows.iter().chain([&r.total]).map(cells).collect(),
        totals_from: r.rows.len(),
        footer: margin_footer(r),
    }
}

/// The gross margins under the inventory table (the JSON has them too).
fn margin_footer(r: &InventoryReport) -> Option<String> {
    if r.margins.is_empty() {
        return None;
    }
    let mut lines = vec!["gross margin (units sold on a day with a unit cost)".to_string()];
    for m in r.margins.iter().chain(&r.margin_totals) {
        let share = m.margin_permille.map(percent).unwrap_or_else(|| "-".into());
        lines.push(format!(
            "{} {}: sold {} for {}; {} costed at {}: margin {} ({share})",
            m.key, m.currency, m.units, m.revenue, m.costed_units, m.cost_of_goods, m.gross_margin
        ));
    }
    Some(lines.join("\n"))
}

/// Whole hours as a cell; empty when there are none to tell.
fn hours(h: Option<i64>) -> String {
    h.map(|h| h.to_string()).unwrap_or_default()
}

fn fulfilment(r: &FulfilmentReport) -> Table {
    let columns = [
        r.by.as_str(),
        "orders",
        "shipped",
        "waiting",
        "cancelled",
        "ship_p50_h",
        "ship_p90_h",
        "ship_max_h",
        "within_sla",
        "delivered",
        "deliver_p50_h",
        "deliver_p90_h",
        "deliver_max_h",
    ];
    let cells = |f: &FulfilmentRow| {
        vec![
            f.key.clone(),
            f.orders.to_string(),
            f.shipped.to_string(),
            f.waiting.to_string(),
            f.cancelled.to_string(),
            hours(f.ship_p50_h),
            hours(f.ship_p90_h),
            hours(f.ship_max_h),
            f.within_sla.clone(),
            f.delivered.to_string(),
            hours(f.deliver_p50_h),
            hours(f.deliver_p90_h),
            hours(f.deliver_max_h),
        ]
    };
    Table {
        title: format!(
            "fulfilment of orders placed from {} to {} by {} (hours from the order; service level {} h)",
            r.from,
            r.to,
            r.by.as_str(),
            r.sla_hours
        ),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        text_columns: 1,
        rows: r
            .rows
            .iter()
            .chain(std::iter::once(&r.total))
            .map(cells)
            .collect(),
        totals_from: if r.rows.is_empty() { 0 } else { r.rows.len() },
        footer: r
            .oldest_waiting
            .map(|d| format!("oldest order waiting to ship: placed {d}")),
    }
}

fn health(r: &HealthReport) -> Table {
    let columns = [
        r.by.as_str(),
        "received",
        "done",
        "exceptions",
        "closed",
        "resolved",
        "close_p50_h",
        "close_p90_h",
        "close_max_h",
    ];
    let cells = |h: &HealthRow| {
        vec![
            h.key.clone(),
            h.received.to_string(),
            h.done.to_string(),
            h.exceptions.to_string(),
            h.closed.to_string(),
            h.resolved.to_string(),
            hours(h.close_p50_h),
            hours(h.close_p90_h),
            hours(h.close_max_h),
        ]
    };
    Table {
        title: format!(
            "integration health from {} to {} (UTC days) by {} (hours an exception stayed open)",
            r.from,
            r.to,
            r.by.as_str()
        ),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        text_columns: 1,
        rows: r
            .rows
            .iter()
            .chain(std::iter::once(&r.total))
            .map(cells)
            .collect(),
        totals_from: if r.rows.is_empty() { 0 } else { r.rows.len() },
        footer: health_footer(r),
    }
}

/// Endpoint availability and Shopify points, under the health table (the JSON has them too).
fn health_footer(r: &HealthReport) -> Option<String> {
    let mut lines = Vec::new();
    for e in &r.endpoints {
        let share = e
            .availability_permille
            .map(percent)
            .unwrap_or_else(|| "-".into());
        lines.push(format!(
            "endpoint {}: {share} available ({} delivered, {} failed, {} rejected)",
            e.endpoint, e.delivered, e.failed, e.rejected
        ));
    }
    for p in &r.shopify {
        lines.push(format!("shopify points, lane {}: {}", p.lane, p.points));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}
