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

/// How a CloudWatch alarm for one catalog metric is built.
#[derive(Debug, Clone, Copy)]
pub struct CloudWatchEntry {
    pub metric: &'static str,
    pub kind: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub namespace: &'static str,
    /// One metric; several are added up with metric math (e.g. `NetworkIn + NetworkOut`).
    pub metric_names: &'static [&'static str],
    /// `Average`, `Maximum`, `Sum`, ... or a percentile such as `p99` (an extended statistic).
    pub statistic: &'static str,
    /// Divide the (summed) value by the period: turns a per-period `Sum` into a per-second rate.
    pub per_second: bool,
    /// Dimension names read from the component's `identifier`, in order. The first is required;
    /// the rest are used when the identifier has them (e.g. the CloudWatch agent's `path`).
    pub dimensions: &'static [&'static str],
    pub above: bool,
    pub critical: f64,
    pub for_duration: &'static str,
    pub severity: &'static str,
    /// `TreatMissingData`: `breaching` where silence itself is the incident (status checks).
    pub treat_missing: &'static str,
}

// One catalog row per call: the arguments are the table columns.
#[allow(clippy::too_many_arguments)]
const fn cw(
    kind: &'static str,
    metric: &'static str,
    title: &'static str,
    unit: &'static str,
    namespace: &'static str,
    metric_names: &'static [&'static str],
    statistic: &'static str,
    dimensions: &'static [&'static str],
    above: bool,
    critical: f64,
    for_duration: &'static str,
) -> CloudWatchEntry {
    CloudWatchEntry {
        metric,
        kind,
        title,
        unit,
        namespace,
        metric_names,
        statistic,
        per_second: false,
        dimensions,
        above,
        critical,
        for_duration,
        severity: "high",
        treat_missing: "missing",
    }
}

const EC2: &[&str] = &["InstanceId"];
const CWAGENT_DISK: &[&str] = &["InstanceId", "path", "device", "fstype"];
const RDS: &[&str] = &["DBInstanceIdentifier"];
const ECS: &[&str] = &["ClusterName", "ServiceName"];
const ALB: &[&str] = &["LoadBalancer"];

/// CloudWatch rows. Servers are EC2 instances (memory and disk come from the CloudWatch agent,
/// namespace `CWAgent`), databases RDS instances, containers ECS services, cloud services
/// Application Load Balancers. Every row is part of a `baseline` for its kind.
#[rustfmt::skip]
pub const CLOUDWATCH: &[CloudWatchEntry] = &[
    //  kind            metric         title                       unit       namespace                metric(s)                                                    statistic  dimensions    above  critical          for
    cw("server",        "cpu",         "CPU usage",                "%",       "AWS/EC2",               &["CPUUtilization"],                                         "Average", EC2,          true,  85.0,             "5m"),
    cw("server",        "memory",      "Memory usage",             "%",       "CWAgent",               &["mem_used_percent"],                                       "Average", EC2,          true,  90.0,             "5m"),
    cw("server",        "disk",        "Disk usage",               "%",       "CWAgent",               &["disk_used_percent"],                                      "Maximum", CWAGENT_DISK, true,  90.0,             "10m"),
    CloudWatchEntry { per_second: true,
    ..cw("server",      "network",     "Network throughput",       " B/s",    "AWS/EC2",               &["NetworkIn", "NetworkOut"],                                "Sum",     EC2,          true,  125_000_000.0,    "10m") },
    CloudWatchEntry { severity: "critical", treat_missing: "breaching",
    ..cw("server",      "uptime",      "Status check failed",      "",        "AWS/EC2",               &["StatusCheckFailed"],                                      "Maximum", EC2,          true,  0.0,              "2m") },
    cw("database",      "cpu",         "CPU usage",                "%",       "AWS/RDS",               &["CPUUtilization"],                                         "Average", RDS,          true,  85.0,             "5m"),
    cw("database",      "memory",      "Freeable memory",          " bytes",  "AWS/RDS",               &["FreeableMemory"],                                         "Average", RDS,          false, 268_435_456.0,    "10m"),
    cw("database",      "disk",        "Free storage",             " bytes",  "AWS/RDS",               &["FreeStorageSpace"],                                       "Minimum", RDS,          false, 10_737_418_240.0, "10m"),
    cw("database",      "network",     "Network throughput",       " B/s",    "AWS/RDS",               &["NetworkReceiveThroughput", "NetworkTransmitThroughput"],  "Average", RDS,          true,  125_000_000.0,    "10m"),
    cw("database",      "connections", "Connections",              "",        "AWS/RDS",               &["DatabaseConnections"],                                    "Maximum", RDS,          true,  500.0,            "5m"),
    cw("container",     "cpu",         "CPU usage",                "%",       "AWS/ECS",               &["CPUUtilization"],                                         "Average", ECS,          true,  85.0,             "5m"),
    cw("container",     "memory",      "Memory usage",             "%",       "AWS/ECS",               &["MemoryUtilization"],                                      "Average", ECS,          true,  90.0,             "5m"),
    CloudWatchEntry { severity: "critical", treat_missing: "breaching",
    ..cw("container",   "uptime",      "Running tasks",            "",        "ECS/ContainerInsights", &["RunningTaskCount"],                                       "Minimum", ECS,          false, 1.0,              "2m") },
    CloudWatchEntry { treat_missing: "notBreaching",
    ..cw("cloud_service", "errors",    "5xx responses",            "",        "AWS/ApplicationELB",    &["HTTPCode_ELB_5XX_Count"],                                 "Sum",     ALB,          true,  10.0,             "5m") },
    cw("cloud_service", "latency",     "p99 target response time", " s",      "AWS/ApplicationELB",    &["TargetResponseTime"],                                     "p99",     ALB,          true,  2.0,              "5m"),
];

/// How a New Relic NRQL condition for one catalog metric is built. `$scope` in `nrql` becomes
/// the component's `WHERE` clause (its identifier, e.g. `hostname = 'web-1'`).
#[derive(Debug, Clone, Copy)]
pub struct NewRelicEntry {
    pub metric: &'static str,
    pub kind: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub nrql: &'static str,
    pub above: bool,
    pub critical: f64,
    pub for_duration: &'static str,
    pub severity: &'static str,
    /// The condition is "stopped reporting": the signal expiring opens an incident.
    pub loss_of_signal: bool,
}

// One catalog row per call: the arguments are the table columns.
#[allow(clippy::too_many_arguments)]
const fn nr(
    kind: &'static str,
    metric: &'static str,
    title: &'static str,
    unit: &'static str,
    nrql: &'static str,
    above: bool,
    critical: f64,
    for_duration: &'static str,
) -> NewRelicEntry {
    NewRelicEntry {
        metric,
        kind,
        title,
        unit,
        nrql,
        above,
        critical,
        for_duration,
        severity: "high",
        loss_of_signal: false,
    }
}

/// New Relic rows: hosts from the infrastructure agent (`SystemSample`, `NetworkSample`),
/// databases from the AWS RDS integration (`DatastoreSample`), containers from `ContainerSample`.
#[rustfmt::skip]
pub const NEWRELIC: &[NewRelicEntry] = &[
    nr("server",    "cpu",         "CPU usage",          "%",      "SELECT average(cpuPercent) FROM SystemSample WHERE $scope",                                                        true,  85.0,             "5m"),
    nr("server",    "memory",      "Memory usage",       "%",      "SELECT average(memoryUsedPercent) FROM SystemSample WHERE $scope",                                                 true,  90.0,             "5m"),
    nr("server",    "disk",        "Disk usage",         "%",      "SELECT max(diskUsedPercent) FROM SystemSample WHERE $scope",                                                       true,  90.0,             "10m"),
    nr("server",    "network",     "Network throughput", " B/s",   "SELECT average(receiveBytesPerSecond) + average(transmitBytesPerSecond) FROM NetworkSample WHERE $scope",          true,  125_000_000.0,    "10m"),
    NewRelicEntry { severity: "critical", loss_of_signal: true,
    ..nr("server",  "uptime",      "Host not reporting", "",       "SELECT count(*) FROM SystemSample WHERE $scope",                                                                   false, 1.0,              "2m") },
    nr("database",  "cpu",         "CPU usage",          "%",      "SELECT average(provider.cpuUtilization.Average) FROM DatastoreSample WHERE $scope",                                true,  85.0,             "5m"),
    nr("database",  "memory",      "Freeable memory",    " bytes", "SELECT average(provider.freeableMemory.Average) FROM DatastoreSample WHERE $scope",                                 false, 268_435_456.0,    "10m"),
    nr("database",  "disk",        "Free storage",       " bytes", "SELECT min(provider.freeStorageSpace.Minimum) FROM DatastoreSample WHERE $scope",                                  false, 10_737_418_240.0, "10m"),
    nr("database",  "connections", "Connections",        "",       "SELECT max(provider.databaseConnections.Maximum) FROM DatastoreSample WHERE $scope",                               true,  500.0,            "5m"),
    nr("container", "cpu",         "CPU usage",          "%",      "SELECT average(cpuPercent) FROM ContainerSample WHERE $scope",                                                     true,  85.0,             "5m"),
    nr("container", "memory",      "Memory usage",       "%",      "SELECT average(memoryUsageLimitPercent) FROM ContainerSample WHERE $scope",                                        true,  90.0,             "5m"),
    NewRelicEntry { severity: "critical", loss_of_signal: true,
    ..nr("container", "uptime",    "Container not reporting", "",  "SELECT count(*) FROM ContainerSample WHERE $scope",                                                                false, 1.0,              "2m") },
];

/// Finds the CloudWatch row for a metric and component kind.
pub fn lookup_cloudwatch(metric: &str, kind: &str) -> Option<&'static CloudWatchEntry> {
    CLOUDWATCH.iter().find(|e| e.metric == metric && e.kind == kind)
}

/// Every metric name any catalog row knows (core metrics first).
pub fn all_metric_names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = CORE_METRICS.to_vec();
    for m in CATALOG
        .iter()
        .map(|e| e.metric)
        .chain(CLOUDWATCH.iter().map(|e| e.metric))
        .chain(NEWRELIC.iter().map(|e| e.metric))
    {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Finds the catalog row for a metric, component kind and vendor.
pub fn lookup(metric: &str, kind: &str, vendor: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.metric == metric && e.kind == kind && e.vendor == vendor)
}

/// Metrics the catalog knows for a kind on a vendor (for hints).
pub fn metrics_for(kind: &str, vendor: &str) -> Vec<&'static str> {
    if vendor == "cloudwatch" {
        return CLOUDWATCH.iter().filter(|e| e.kind == kind).map(|e| e.metric).collect();
    }
    if vendor == "newrelic" {
        return NEWRELIC.iter().filter(|e| e.kind == kind).map(|e| e.metric).collect();
    }
    CATALOG.iter().filter(|e| e.kind == kind && e.vendor == vendor).map(|e| e.metric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_on_datadog_has_the_full_core_set() {
        for m in CORE_METRICS {
            assert!(lookup(m, "server", "datadog").is_some(), "missing {m}");
            assert!(lookup_cloudwatch(m, "server").is_some(), "missing {m}");
        }
    }

    #[test]
    fn cloudwatch_rows_are_unique_and_complete() {
        for (i, a) in CLOUDWATCH.iter().enumerate() {
            assert!(!a.metric_names.is_empty() && !a.dimensions.is_empty(), "{}", a.metric);
            assert!(a.metric_names.len() == 1 || a.statistic != "p99", "{}", a.metric);
            for b in &CLOUDWATCH[i + 1..] {
                assert!(!(a.metric == b.metric && a.kind == b.kind), "duplicate {} {}", a.kind, a.metric);
            }
        }
        for kind in ["database", "container", "cloud_service"] {
            assert!(!metrics_for(kind, "cloudwatch").is_empty(), "{kind}");
        }
    }
}
