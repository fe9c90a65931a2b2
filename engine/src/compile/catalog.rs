//! The built-in core-metric catalog: for each component kind and vendor, how CPU, memory, disk,
//! network and uptime are watched, with default thresholds. Data, not code: adding a kind or a
//! vendor is adding rows — one row type, [`CatalogEntry`], whose [`VendorCheck`] says how that
//! vendor watches the metric.

/// The five core metrics a SOC 2 baseline covers, in the order plans list them.
pub const CORE_METRICS: &[&str] = &["cpu", "memory", "disk", "network", "uptime"];

/// A catalog row's default thresholds (what a block that writes none gets).
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Default comparison: `true` alerts above the threshold, `false` below.
    pub above: bool,
    pub critical: f64,
    pub warning: Option<f64>,
    pub for_duration: &'static str,
    pub severity: &'static str,
}

/// One catalog row: a metric of a component kind on one vendor.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub metric: &'static str,
    pub kind: &'static str,
    /// Human title used in names and messages: "CPU usage".
    pub title: &'static str,
    /// Unit suffix shown after thresholds in names and messages.
    pub unit: &'static str,
    pub defaults: Defaults,
    /// How the vendor watches it; also names the vendor ([`CatalogEntry::vendor`]).
    pub check: VendorCheck,
}

/// How one vendor watches a catalog metric.
#[derive(Debug, Clone, Copy)]
pub enum VendorCheck {
    Datadog(DatadogCheck),
    CloudWatch(CloudWatchCheck),
    NewRelic(NewRelicCheck),
}

/// How a Datadog monitor for one catalog metric is built.
#[derive(Debug, Clone, Copy)]
pub enum DatadogCheck {
    /// A metric monitor: `{aggregation}(last_{window}):{expr} {op} {threshold}`; `{scope}` in
    /// `expr` becomes the component's tag scope, e.g. `host:web-1`. `notify_no_data`: whether
    /// "no data" itself should alert.
    Metric { aggregation: &'static str, expr: &'static str, notify_no_data: bool },
    /// A service check monitor counting `check` over the last N runs (N from the duration, one
    /// run per minute). It always alerts on no data (the host stopped reporting).
    ServiceCheck { check: &'static str, group_by: &'static str },
}

/// How a CloudWatch alarm for one catalog metric is built.
#[derive(Debug, Clone, Copy)]
pub struct CloudWatchCheck {
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
    /// `TreatMissingData`: `breaching` where silence itself is the incident (status checks).
    pub treat_missing: &'static str,
}

/// How a New Relic NRQL condition for one catalog metric is built. `$scope` in `nrql` becomes
/// the component's `WHERE` clause (its identifier, e.g. `hostname = 'web-1'`).
#[derive(Debug, Clone, Copy)]
pub struct NewRelicCheck {
    pub nrql: &'static str,
    /// The condition is "stopped reporting": the signal expiring opens an incident.
    pub loss_of_signal: bool,
}

impl CatalogEntry {
    /// The vendor this row is for (the provider name components use).
    pub const fn vendor(&self) -> &'static str {
        match self.check {
            VendorCheck::Datadog(_) => "datadog",
            VendorCheck::CloudWatch(_) => "cloudwatch",
            VendorCheck::NewRelic(_) => "newrelic",
        }
    }

    /// The row with another default severity.
    const fn severity(mut self, severity: &'static str) -> Self {
        self.defaults.severity = severity;
        self
    }

    /// A CloudWatch row whose summed value is divided by the period (a per-second rate).
    const fn per_second(mut self) -> Self {
        match &mut self.check {
            VendorCheck::CloudWatch(c) => c.per_second = true,
            _ => panic!("per_second is for CloudWatch rows"),
        }
        self
    }

    /// A CloudWatch row with another `TreatMissingData`.
    const fn treat_missing(mut self, treat_missing: &'static str) -> Self {
        match &mut self.check {
            VendorCheck::CloudWatch(c) => c.treat_missing = treat_missing,
            _ => panic!("treat_missing is for CloudWatch rows"),
        }
        self
    }

    /// A New Relic row that is a loss-of-signal ("not reporting") condition.
    const fn loss_of_signal(mut self) -> Self {
        match &mut self.check {
            VendorCheck::NewRelic(c) => c.loss_of_signal = true,
            _ => panic!("loss_of_signal is for New Relic rows"),
        }
        self
    }
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
        title,
        unit,
        defaults: Defaults { above: true, critical, warning: Some(warning), for_duration, severity: "high" },
        check: VendorCheck::Datadog(DatadogCheck::Metric { aggregation, expr, notify_no_data: false }),
    }
}

const fn dd_service_check(
    metric: &'static str,
    title: &'static str,
    check: &'static str,
    group_by: &'static str,
    critical: f64,
    for_duration: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        metric,
        kind: "server",
        title,
        unit: "",
        defaults: Defaults { above: true, critical, warning: None, for_duration, severity: "high" },
        check: VendorCheck::Datadog(DatadogCheck::ServiceCheck { check, group_by }),
    }
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
) -> CatalogEntry {
    CatalogEntry {
        metric,
        kind,
        title,
        unit,
        defaults: Defaults { above, critical, warning: None, for_duration, severity: "high" },
        check: VendorCheck::CloudWatch(CloudWatchCheck {
            namespace,
            metric_names,
            statistic,
            per_second: false,
            dimensions,
            treat_missing: "missing",
        }),
    }
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
) -> CatalogEntry {
    CatalogEntry {
        metric,
        kind,
        title,
        unit,
        defaults: Defaults { above, critical, warning: None, for_duration, severity: "high" },
        check: VendorCheck::NewRelic(NewRelicCheck { nrql, loss_of_signal: false }),
    }
}

const EC2: &[&str] = &["InstanceId"];
const CWAGENT_DISK: &[&str] = &["InstanceId", "path", "device", "fstype"];
const RDS: &[&str] = &["DBInstanceIdentifier"];
const ECS: &[&str] = &["ClusterName", "ServiceName"];
const ALB: &[&str] = &["LoadBalancer"];

/// Every row, vendor by vendor.
///
/// * Datadog: Agent metrics for hosts (`system.*` from the Agent's system checks).
/// * CloudWatch: servers are EC2 instances (memory and disk come from the CloudWatch agent,
///   namespace `CWAgent`), databases RDS instances, containers ECS services, cloud services
///   Application Load Balancers. Every row is part of a `baseline` for its kind.
/// * New Relic: hosts from the infrastructure agent (`SystemSample`, `NetworkSample`), databases
///   from the AWS RDS integration (`DatastoreSample`), containers from `ContainerSample`.
#[rustfmt::skip]
pub const CATALOG: &[CatalogEntry] = &[
    // Datadog
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
    dd_service_check("uptime", "Host up", "datadog.agent.up", "host", 2.0, "2m").severity("critical"),

    // CloudWatch
    //  kind            metric         title                       unit       namespace                metric(s)                                                    statistic  dimensions    above  critical          for
    cw("server",        "cpu",         "CPU usage",                "%",       "AWS/EC2",               &["CPUUtilization"],                                         "Average", EC2,          true,  85.0,             "5m"),
    cw("server",        "memory",      "Memory usage",             "%",       "CWAgent",               &["mem_used_percent"],                                       "Average", EC2,          true,  90.0,             "5m"),
    cw("server",        "disk",        "Disk usage",               "%",       "CWAgent",               &["disk_used_percent"],                                      "Maximum", CWAGENT_DISK, true,  90.0,             "10m"),
    cw("server",        "network",     "Network throughput",       " B/s",    "AWS/EC2",               &["NetworkIn", "NetworkOut"],                                "Sum",     EC2,          true,  125_000_000.0,    "10m").per_second(),
    cw("server",        "uptime",      "Status check failed",      "",        "AWS/EC2",               &["StatusCheckFailed"],                                      "Maximum", EC2,          true,  0.0,              "2m").severity("critical").treat_missing("breaching"),
    cw("database",      "cpu",         "CPU usage",                "%",       "AWS/RDS",               &["CPUUtilization"],                                         "Average", RDS,          true,  85.0,             "5m"),
    cw("database",      "memory",      "Freeable memory",          " bytes",  "AWS/RDS",               &["FreeableMemory"],                                         "Average", RDS,          false, 268_435_456.0,    "10m"),
    cw("database",      "disk",        "Free storage",             " bytes",  "AWS/RDS",               &["FreeStorageSpace"],                                       "Minimum", RDS,          false, 10_737_418_240.0, "10m"),
    cw("database",      "network",     "Network throughput",       " B/s",    "AWS/RDS",               &["NetworkReceiveThroughput", "NetworkTransmitThroughput"],  "Average", RDS,          true,  125_000_000.0,    "10m"),
    cw("database",      "connections", "Connections",              "",        "AWS/RDS",               &["DatabaseConnections"],                                    "Maximum", RDS,          true,  500.0,            "5m"),
    cw("container",     "cpu",         "CPU usage",                "%",       "AWS/ECS",               &["CPUUtilization"],                                         "Average", ECS,          true,  85.0,             "5m"),
    cw("container",     "memory",      "Memory usage",             "%",       "AWS/ECS",               &["MemoryUtilization"],                                      "Average", ECS,          true,  90.0,             "5m"),
    cw("container",     "uptime",      "Running tasks",            "",        "ECS/ContainerInsights", &["RunningTaskCount"],                                       "Minimum", ECS,          false, 1.0,              "2m").severity("critical").treat_missing("breaching"),
    cw("cloud_service", "errors",      "5xx responses",            "",        "AWS/ApplicationELB",    &["HTTPCode_ELB_5XX_Count"],                                 "Sum",     ALB,          true,  10.0,             "5m").treat_missing("notBreaching"),
    cw("cloud_service", "latency",     "p99 target response time", " s",      "AWS/ApplicationELB",    &["TargetResponseTime"],                                     "p99",     ALB,          true,  2.0,              "5m"),

    // New Relic
    //  kind        metric         title                 unit      nrql                                                                                                                above  critical          for
    nr("server",    "cpu",         "CPU usage",          "%",      "SELECT average(cpuPercent) FROM SystemSample WHERE $scope",                                                        true,  85.0,             "5m"),
    nr("server",    "memory",      "Memory usage",       "%",      "SELECT average(memoryUsedPercent) FROM SystemSample WHERE $scope",                                                 true,  90.0,             "5m"),
    nr("server",    "disk",        "Disk usage",         "%",      "SELECT max(diskUsedPercent) FROM SystemSample WHERE $scope",                                                       true,  90.0,             "10m"),
    nr("server",    "network",     "Network throughput", " B/s",   "SELECT average(receiveBytesPerSecond) + average(transmitBytesPerSecond) FROM NetworkSample WHERE $scope",          true,  125_000_000.0,    "10m"),
    nr("server",    "uptime",      "Host not reporting", "",       "SELECT count(*) FROM SystemSample WHERE $scope",                                                                   false, 1.0,              "2m").severity("critical").loss_of_signal(),
    nr("database",  "cpu",         "CPU usage",          "%",      "SELECT average(provider.cpuUtilization.Average) FROM DatastoreSample WHERE $scope",                                true,  85.0,             "5m"),
    nr("database",  "memory",      "Freeable memory",    " bytes", "SELECT average(provider.freeableMemory.Average) FROM DatastoreSample WHERE $scope",                                 false, 268_435_456.0,    "10m"),
    nr("database",  "disk",        "Free storage",       " bytes", "SELECT min(provider.freeStorageSpace.Minimum) FROM DatastoreSample WHERE $scope",                                  false, 10_737_418_240.0, "10m"),
    nr("database",  "connections", "Connections",        "",       "SELECT max(provider.databaseConnections.Maximum) FROM DatastoreSample WHERE $scope",                               true,  500.0,            "5m"),
    nr("container", "cpu",         "CPU usage",          "%",      "SELECT average(cpuPercent) FROM ContainerSample WHERE $scope",                                                     true,  85.0,             "5m"),
    nr("container", "memory",      "Memory usage",       "%",      "SELECT average(memoryUsageLimitPercent) FROM ContainerSample WHERE $scope",                                        true,  90.0,             "5m"),
    nr("container", "uptime",      "Container not reporting", "", "SELECT count(*) FROM ContainerSample WHERE $scope",                                                                false, 1.0,              "2m").severity("critical").loss_of_signal(),
];

/// A core metric that does not exist for a component kind on a vendor, and why (e.g. a load
/// balancer has no disk). Coverage reports these cells as "not applicable", not as missing.
#[derive(Debug, Clone, Copy)]
pub struct NotApplicable {
    pub vendor: &'static str,
    pub kind: &'static str,
    pub metric: &'static str,
    pub reason: &'static str,
}

/// Cells (vendor × kind × metric) with no row, each with its reason.
pub const NOT_APPLICABLE: &[NotApplicable] = &[];

/// What the catalog says about a metric of a kind on a vendor.
#[derive(Debug, Clone, Copy)]
pub enum Applicability {
    /// A row: how the vendor watches it.
    Row(&'static CatalogEntry),
    /// The metric does not exist there, for this reason.
    NotApplicable(&'static str),
    /// The catalog has nothing for it (a gap in the catalog, or a metric it does not know).
    Unknown,
}

/// The catalog's answer for one cell.
pub fn applicability(metric: &str, kind: &str, vendor: &str) -> Applicability {
    if let Some(row) = lookup(metric, kind, vendor) {
        return Applicability::Row(row);
    }
    match NOT_APPLICABLE.iter().find(|n| n.vendor == vendor && n.kind == kind && n.metric == metric) {
        Some(n) => Applicability::NotApplicable(n.reason),
        None => Applicability::Unknown,
    }
}

/// The rows of one vendor, in table order.
pub fn rows(vendor: &str) -> impl Iterator<Item = &'static CatalogEntry> + '_ {
    CATALOG.iter().filter(move |e| e.vendor() == vendor)
}

/// Every metric name any catalog row knows (core metrics first).
pub fn all_metric_names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = CORE_METRICS.to_vec();
    for m in CATALOG.iter().map(|e| e.metric) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Finds the catalog row for a metric, component kind and vendor.
pub fn lookup(metric: &str, kind: &str, vendor: &str) -> Option<&'static CatalogEntry> {
    rows(vendor).find(|e| e.metric == metric && e.kind == kind)
}

/// Metrics the catalog knows for a kind on a vendor (for hints).
pub fn metrics_for(kind: &str, vendor: &str) -> Vec<&'static str> {
    rows(vendor).filter(|e| e.kind == kind).map(|e| e.metric).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_on_datadog_has_the_full_core_set() {
        for m in CORE_METRICS {
            assert!(lookup(m, "server", "datadog").is_some(), "missing {m}");
            assert!(lookup(m, "server", "cloudwatch").is_some(), "missing {m}");
        }
    }

    #[test]
    fn cloudwatch_rows_are_unique_and_complete() {
        let cloudwatch: Vec<&CatalogEntry> = rows("cloudwatch").collect();
        for (i, a) in cloudwatch.iter().enumerate() {
            let VendorCheck::CloudWatch(c) = a.check else { unreachable!() };
            assert!(!c.metric_names.is_empty() && !c.dimensions.is_empty(), "{}", a.metric);
            assert!(c.metric_names.len() == 1 || c.statistic != "p99", "{}", a.metric);
            for b in &cloudwatch[i + 1..] {
                assert!(!(a.metric == b.metric && a.kind == b.kind), "duplicate {} {}", a.kind, a.metric);
            }
        }
        for kind in ["database", "container", "cloud_service"] {
            assert!(!metrics_for(kind, "cloudwatch").is_empty(), "{kind}");
        }
    }

    #[test]
    fn rows_are_unique_per_vendor_and_kind() {
        for (i, a) in CATALOG.iter().enumerate() {
            for b in &CATALOG[i + 1..] {
                assert!(
                    !(a.vendor() == b.vendor() && a.metric == b.metric && a.kind == b.kind),
                    "duplicate {} {} {}",
                    a.vendor(),
                    a.kind,
                    a.metric
                );
            }
        }
        assert_eq!(
            rows("datadog").count() + rows("cloudwatch").count() + rows("newrelic").count(),
            CATALOG.len()
        );
    }
}
