//! The built-in core-metric catalog: for each component kind and vendor, how CPU, memory, disk,
//! network and uptime are watched, with default thresholds. Data, not code: adding a kind or a
//! vendor is adding rows.

/// The five core metrics a SOC 2 baseline covers, in the order plans list them.
pub const CORE_METRICS: &[&str] = &["cpu", "memory", "disk", "network", "uptime"];

/// How a Datadog monitor for one catalog metric is built.
#[derive(Debug, Clone, Copy)]
pub enum DatadogCheck {
    /// A metric monitor: `{aggregation}(last_{window}):{expr} {op} {threshold}`; `{scope}` in
    /// `expr` becomes the component's tag scope, e.g. `host:web-1`.
    Metric { aggregation: &'static str, expr: &'static str },
    /// A service check monitor counting `check` over the last N runs (N from the duration, one
    /// run per minute).
    ServiceCheck { check: &'static str, group_by: &'static str },
}

/// One catalog row.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub metric: &'static str,
    pub kind: &'static str,
    pub vendor: &'static str,
    /// Human title used in monitor names: "CPU usage".
    pub title: &'static str,
    /// Unit suffix shown after thresholds in names and messages.
    pub unit: &'static str,
    pub datadog: DatadogCheck,
    /// Default comparison: `true` alerts above the threshold, `false` below.
    pub above: bool,
    pub critical: f64,
    pub warning: Option<f64>,
    pub for_duration: &'static str,
    pub severity: &'static str,
    /// Whether "no data" itself should alert (host stopped reporting).
    pub notify_no_data: bool,
}

// One catalog row per call: the arguments are the table columns.
#[allow(clippy::too_many_arguments)]
const fn dd_metric(
    metric: &'static str,
    title: &'static str,
    unit: &'static str,
    aggregation: &'static str,
    expr: &'static str,
    critical: f64,
    warning: f64,
    for_duration: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        metric,
        kind: "server",
        vendor: "datadog",
        title,
        unit,
        datadog: DatadogCheck::Metric { aggregation, expr },
        above: true,
        critical,
        warning: Some(warning),
        for_duration,
        severity: "high",
        notify_no_data: false,
    }
}

/// Datadog Agent metrics for hosts (`system.*` from the Agent's system checks).
pub const CATALOG: &[CatalogEntry] = &[
    dd_metric("cpu", "CPU usage", "%", "avg", "100 - avg:system.cpu.idle{{scope}}", 85.0, 70.0, "5m"),
    dd_metric(
        "memory",
        "Memory usage",
        "%",
        "avg",
        "100 - 100 * avg:system.mem.pct_usable{{scope}}",
        90.0,
        80.0,
        "5m",
    ),
    dd_metric(
        "disk",
        "Disk usage",
        "%",
        "max",
        "100 * max:system.disk.in_use{{scope}} by {device}",
        90.0,
        80.0,
        "10m",
    ),
    dd_metric(
        "network",
        "Network throughput",
        " B/s",
        "avg",
        "avg:system.net.bytes_rcvd{{scope}} + avg:system.net.bytes_sent{{scope}}",
        125_000_000.0,
        100_000_000.0,
        "10m",
    ),
    CatalogEntry {
        metric: "uptime",
        kind: "server",
        vendor: "datadog",
        title: "Host up",
        unit: "",
        datadog: DatadogCheck::ServiceCheck { check: "datadog.agent.up", group_by: "host" },
        above: true,
        critical: 2.0,
        warning: None,
        for_duration: "2m",
        severity: "critical",
        notify_no_data: true,
    },
];

/// Finds the catalog row for a metric, component kind and vendor.
pub fn lookup(metric: &str, kind: &str, vendor: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.metric == metric && e.kind == kind && e.vendor == vendor)
}

/// Metrics the catalog knows for a kind on a vendor (for hints).
pub fn metrics_for(kind: &str, vendor: &str) -> Vec<&'static str> {
    CATALOG.iter().filter(|e| e.kind == kind && e.vendor == vendor).map(|e| e.metric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_on_datadog_has_the_full_core_set() {
        for m in CORE_METRICS {
            assert!(lookup(m, "server", "datadog").is_some(), "missing {m}");
        }
    }
}
