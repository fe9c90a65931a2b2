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
    /// "Stopped reporting": a metric monitor on `expr` that alerts only on no data (the query's
    /// comparison, `< 0`, never holds for the metrics used), for integrations that have no
    /// service check (e.g. RDS through the AWS integration). The `for` duration is the no-data
    /// timeframe; thresholds are not used.
    NoData { expr: &'static str },
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
    /// How many of `dimensions` (from the first) the identifier must have: the metric is not
    /// published without them (e.g. `HealthyHostCount` exists per `TargetGroup` only). A
    /// component lacking one gets a warning and no alarm for this row.
    pub required: usize,
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

    /// A CloudWatch row whose first `n` dimensions must all be in the identifier.
    const fn requires(mut self, n: usize) -> Self {
        match &mut self.check {
            VendorCheck::CloudWatch(c) => c.required = n,
            _ => panic!("requires is for CloudWatch rows"),
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
const fn dd(
    kind: &'static str,
    metric: &'static str,
    title: &'static str,
    unit: &'static str,
    aggregation: &'static str,
    expr: &'static str,
    above: bool,
    critical: f64,
    warning: Option<f64>,
    for_duration: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        metric,
        kind,
        title,
        unit,
        defaults: Defaults { above, critical, warning, for_duration, severity: "high" },
        check: VendorCheck::Datadog(DatadogCheck::Metric { aggregation, expr, notify_no_data: false }),
    }
}

/// A Datadog "stopped reporting" row ([`DatadogCheck::NoData`]).
const fn dd_no_data(
    kind: &'static str,
    title: &'static str,
    expr: &'static str,
    for_duration: &'static str,
) -> CatalogEntry {
    CatalogEntry {
        metric: "uptime",
        kind,
        title,
        unit: "",
        defaults: Defaults { above: false, critical: 0.0, warning: None, for_duration, severity: "critical" },
        check: VendorCheck::Datadog(DatadogCheck::NoData { expr }),
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
            required: 1,
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
const ALB_TARGETS: &[&str] = &["LoadBalancer", "TargetGroup"];

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
    // Databases: Amazon RDS through Datadog's AWS integration, tagged `dbinstanceidentifier`
    // (identifier = { dbinstanceidentifier = "orders-prod" }). Metric names from Datadog's
    // "Amazon RDS" integration page, Metrics section (https://docs.datadoghq.com/integrations/amazon_rds/):
    // aws.rds.cpuutilization, aws.rds.freeable_memory, aws.rds.free_storage_space,
    // aws.rds.network_receive_throughput, aws.rds.network_transmit_throughput. The integration
    // has no service check for an instance being up: uptime is "stopped reporting" on
    // aws.rds.cpuutilization (a proxy; 30 minutes because the AWS integration crawls CloudWatch
    // with a delay of about 10 minutes).
    //  kind             metric     title                 unit      agg    query                                                                                                                 above  critical          warning                  for
    dd("database",      "cpu",     "CPU usage",          "%",      "avg", "avg:aws.rds.cpuutilization{{scope}}",                                                                                true,  85.0,             Some(70.0),              "5m"),
    dd("database",      "memory",  "Freeable memory",    " bytes", "avg", "avg:aws.rds.freeable_memory{{scope}}",                                                                               false, 268_435_456.0,    None,                    "10m"),
    dd("database",      "disk",    "Free storage",       " bytes", "min", "min:aws.rds.free_storage_space{{scope}}",                                                                            false, 10_737_418_240.0, None,                    "10m"),
    dd("database",      "network", "Network throughput", " B/s",   "avg", "avg:aws.rds.network_receive_throughput{{scope}} + avg:aws.rds.network_transmit_throughput{{scope}}",                 true,  125_000_000.0,    Some(100_000_000.0),     "10m"),
    dd_no_data("database", "RDS metrics", "avg:aws.rds.cpuutilization{{scope}}", "30m"),
    // Containers: the Agent's `container` check (any runtime), tagged e.g. `container_name`,
    // `kube_deployment`, `ecs_container_name`. Names and units from the check's metadata
    // (DataDog/integrations-core, container/metadata.csv; docs.datadoghq.com/integrations/container):
    // container.cpu.usage and container.cpu.limit in nanocores, container.memory.usage and
    // container.memory.limit in bytes, container.net.rcvd / container.net.sent in bytes per
    // second, container.uptime in seconds (reported while the container runs).
    dd("container",     "cpu",     "CPU usage",          "%",      "avg", "100 * avg:container.cpu.usage{{scope}} / avg:container.cpu.limit{{scope}}",                                         true,  85.0,             Some(70.0),              "5m"),
    dd("container",     "memory",  "Memory usage",       "%",      "avg", "100 * avg:container.memory.usage{{scope}} / avg:container.memory.limit{{scope}}",                                   true,  90.0,             Some(80.0),              "5m"),
    dd("container",     "network", "Network throughput", " B/s",   "avg", "avg:container.net.rcvd{{scope}} + avg:container.net.sent{{scope}}",                                                 true,  125_000_000.0,    Some(100_000_000.0),     "10m"),
    dd_no_data("container", "Container metrics", "avg:container.uptime{{scope}}", "5m"),
    // Cloud services: AWS Application Load Balancers through Datadog's AWS integration, tagged
    // `loadbalancer` (and `targetgroup`). Names from Datadog's "Amazon Elastic Load Balancing"
    // integration page, Metrics section (https://docs.datadoghq.com/integrations/amazon_elb/):
    // aws.applicationelb.processed_bytes (a count per CloudWatch period: `.as_rate()` makes it
    // bytes per second) and aws.applicationelb.healthy_host_count (summed over the balancer's
    // target groups and zones: below 1 means no target can serve).
    dd("cloud_service", "network", "Processed bytes",    " B/s",   "avg", "sum:aws.applicationelb.processed_bytes{{scope}}.as_rate()",                                                         true,  125_000_000.0,    Some(100_000_000.0),     "10m"),
    dd("cloud_service", "uptime",  "Healthy targets",    "",       "min", "sum:aws.applicationelb.healthy_host_count{{scope}}",                                                                 false, 1.0,              None,                    "5m").severity("critical"),

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
    // Added for the full catalog (names from the AWS docs pages cited):
    // * RDS has no "instance up" metric ("Amazon CloudWatch metrics for Amazon RDS",
    //   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html): uptime is a
    //   proxy, CPUUtilization datapoints stopping (SampleCount below 1, missing data breaching).
    // * Containers: Container Insights for ECS, dimensions ClusterName and ServiceName
    //   ("Amazon ECS Container Insights metrics", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html):
    //   EphemeralStorageUtilized (GB, Fargate platform 1.4+; 18 GB of the default 20 GiB) and
    //   NetworkRxBytes + NetworkTxBytes (bytes per second).
    // * Load balancers: "CloudWatch metrics for your Application Load Balancer"
    //   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
    //   ProcessedBytes (Sum per period, per LoadBalancer) and HealthyHostCount, published per
    //   TargetGroup and LoadBalancer only, so that row needs both in the identifier.
    cw("database",      "uptime",      "CPUUtilization datapoints", "",       "AWS/RDS",               &["CPUUtilization"],                                         "SampleCount", RDS,       false, 1.0,              "5m").severity("critical").treat_missing("breaching"),
    cw("container",     "disk",        "Ephemeral storage used",   " GB",     "ECS/ContainerInsights", &["EphemeralStorageUtilized"],                               "Maximum", ECS,          true,  18.0,             "10m"),
    cw("container",     "network",     "Network throughput",       " B/s",    "ECS/ContainerInsights", &["NetworkRxBytes", "NetworkTxBytes"],                       "Average", ECS,          true,  125_000_000.0,    "10m"),
    cw("cloud_service", "network",     "Processed bytes",          " B/s",    "AWS/ApplicationELB",    &["ProcessedBytes"],                                         "Sum",     ALB,          true,  125_000_000.0,    "10m").per_second(),
    cw("cloud_service", "uptime",      "Healthy targets",          "",        "AWS/ApplicationELB",    &["HealthyHostCount"],                                       "Minimum", ALB_TARGETS,  false, 1.0,              "2m").severity("critical").treat_missing("breaching").requires(2),

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
    // Added for the full catalog:
    // * Databases: the AWS RDS integration's DatastoreSample ("Amazon RDS monitoring
    //   integration", https://docs.newrelic.com/docs/infrastructure/amazon-integrations/aws-integrations-list/aws-rds-monitoring-integration/):
    //   provider.networkReceiveThroughput / provider.networkTransmitThroughput (bytes per
    //   second); uptime is the samples stopping (a proxy: the integration polls every 5 minutes,
    //   hence 15 minutes).
    // * Containers: ContainerSample of the Docker integration ("Docker container monitoring
    //   integration", https://docs.newrelic.com/docs/infrastructure/host-integrations/host-integrations-list/docker-container-monitoring-integration):
    //   networkRxBytesPerSecond + networkTxBytesPerSecond.
    // * Cloud services: the AWS ALB/NLB integration's LoadBalancerSample ("AWS ALB/NLB monitoring
    //   integration", https://docs.newrelic.com/docs/infrastructure/amazon-integrations/aws-integrations-list/aws-albnlb-monitoring-integration/):
    //   load balancers have `provider = 'Alb'`, target groups `provider = 'AlbTargetGroup'`.
    //   ProcessedBytes is CloudWatch's Sum per 1-minute datapoint, so / 60 is bytes per second;
    //   healthyHostCount is reported for target groups, so the component's identifier must name
    //   attributes those samples carry (a guess from the docs' attribute list, not recorded).
    nr("database",  "network",     "Network throughput", " B/s",   "SELECT average(provider.networkReceiveThroughput.Average) + average(provider.networkTransmitThroughput.Average) FROM DatastoreSample WHERE $scope", true, 125_000_000.0, "10m"),
    nr("database",  "uptime",      "Database not reporting", "",   "SELECT count(*) FROM DatastoreSample WHERE $scope",                                                                false, 1.0,              "15m").severity("critical").loss_of_signal(),
    nr("container", "network",     "Network throughput", " B/s",   "SELECT average(networkRxBytesPerSecond) + average(networkTxBytesPerSecond) FROM ContainerSample WHERE $scope",    true,  125_000_000.0,    "10m"),
    nr("cloud_service", "network", "Processed bytes",    " B/s",   "SELECT average(provider.processedBytes.Sum) / 60 FROM LoadBalancerSample WHERE provider = 'Alb' AND $scope",      true,  125_000_000.0,    "10m"),
    nr("cloud_service", "uptime",  "Healthy targets",    "",       "SELECT min(provider.healthyHostCount.Minimum) FROM LoadBalancerSample WHERE provider = 'AlbTargetGroup' AND $scope", false, 1.0,          "10m").severity("critical"),
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

const fn na(
    vendor: &'static str,
    kind: &'static str,
    metric: &'static str,
    reason: &'static str,
) -> NotApplicable {
    NotApplicable { vendor, kind, metric, reason }
}

/// Why a managed load balancer has no CPU, memory or disk metric on any vendor: AWS runs and
/// scales it (the ALB metric lists cited at the rows have none; capacity shows as consumed LCUs).
const MANAGED_LB: &str =
    "a managed load balancer has none: AWS runs and scales it (capacity shows as consumed LCUs)";

/// Cells (vendor × kind × core metric) with no row, each with its reason. Every core cell is a
/// row or here, never both and never neither (tested below).
#[rustfmt::skip]
pub const NOT_APPLICABLE: &[NotApplicable] = &[
    // The Agent's container check reports disk I/O (container.io.read/write, bytes per second),
    // not space used (DataDog/integrations-core container/metadata.csv).
    na("datadog", "container", "disk", "the Agent's container check reports disk I/O (container.io.*), not space used: watch the host's or the volume's disk"),
    na("datadog", "cloud_service", "cpu", MANAGED_LB),
    na("datadog", "cloud_service", "memory", MANAGED_LB),
    na("datadog", "cloud_service", "disk", MANAGED_LB),
    na("cloudwatch", "cloud_service", "cpu", MANAGED_LB),
    na("cloudwatch", "cloud_service", "memory", MANAGED_LB),
    na("cloudwatch", "cloud_service", "disk", MANAGED_LB),
    // ContainerSample's storage attributes (storageDataUsagePercent …) exist only under Docker's
    // deprecated devicemapper storage driver (New Relic's attribute dictionary, ContainerSample).
    na("newrelic", "container", "disk", "ContainerSample reports storage space only under Docker's deprecated devicemapper driver: watch the host's disk (SystemSample)"),
    na("newrelic", "cloud_service", "cpu", MANAGED_LB),
    na("newrelic", "cloud_service", "memory", MANAGED_LB),
    na("newrelic", "cloud_service", "disk", MANAGED_LB),
];

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

/// The component kinds the catalog covers (every kind but `custom`, which has only user metrics).
pub const CATALOG_KINDS: &[&str] = &["server", "database", "container", "cloud_service"];

/// What a row watches, in the vendor's words, for the README table: Datadog metric names (or
/// the service check), CloudWatch namespace and metric names, New Relic event type and
/// aggregate.
pub fn source(e: &CatalogEntry) -> String {
    let dd_names = |expr: &str| -> String {
        expr.split_whitespace()
            .filter_map(|t| {
                let (_, rest) = t.split_once(':')?;
                Some(rest.split('{').next()?.to_string())
            })
            .collect::<Vec<_>>()
            .join(" / ")
    };
    match &e.check {
        VendorCheck::Datadog(DatadogCheck::Metric { expr, .. }) => format!("`{}`", dd_names(expr)),
        VendorCheck::Datadog(DatadogCheck::ServiceCheck { check, .. }) => {
            format!("`{check}` (service check)")
        }
        VendorCheck::Datadog(DatadogCheck::NoData { expr }) => {
            format!("`{}` stops (no data)", dd_names(expr))
        }
        VendorCheck::CloudWatch(c) => {
            let mut out = format!("`{} {}`", c.namespace, c.metric_names.join(" + "));
            if c.treat_missing == "breaching" {
                out.push_str(" (missing = breaching)");
            }
            out
        }
        VendorCheck::NewRelic(c) => {
            let select = c.nrql.split(" FROM ").next().unwrap_or("").trim_start_matches("SELECT ");
            let from = c.nrql.split(" FROM ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("");
            let mut out = format!("`{from}` `{select}`");
            if c.loss_of_signal {
                out.push_str(" (loss of signal)");
            }
            out
        }
    }
}

/// The README's catalog table (between `<!-- catalog-table:start -->` and `<!-- catalog-table:end -->`):
/// a row per kind, a column per vendor, each cell the five core metrics as `✓ source` or
/// `n/a: reason`, then the kind's further catalog metrics. Generated from [`CATALOG`] and
/// [`NOT_APPLICABLE`]; a test keeps README.md equal to it.
pub fn markdown_table() -> String {
    let vendors = ["datadog", "cloudwatch", "newrelic"];
    let mut out = String::from("| kind | Datadog | CloudWatch | New Relic |\n|---|---|---|---|\n");
    for kind in CATALOG_KINDS {
        let mut cells = vec![format!("`{kind}`")];
        for vendor in vendors {
            let mut lines: Vec<String> = CORE_METRICS
                .iter()
                .map(|m| match applicability(m, kind, vendor) {
                    Applicability::Row(e) => format!("**{m}** ✓ {}", source(e)),
                    Applicability::NotApplicable(why) => format!("**{m}** n/a: {why}"),
                    Applicability::Unknown => format!("**{m}** missing"),
                })
                .collect();
            for e in rows(vendor).filter(|e| e.kind == *kind && !CORE_METRICS.contains(&e.metric)) {
                lines.push(format!("+ **{}** {}", e.metric, source(e)));
            }
            cells.push(lines.join("<br>"));
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
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

    /// Every cell (vendor × catalog kind × core metric) is exactly one of: a row, or a
    /// not-applicable entry with a reason.
    #[test]
    fn every_core_cell_is_a_row_or_not_applicable() {
        let mut cells = 0;
        for vendor in crate::vendors::names() {
            for kind in CATALOG_KINDS {
                for metric in CORE_METRICS {
                    let row = lookup(metric, kind, vendor).is_some();
                    let na: Vec<&NotApplicable> = NOT_APPLICABLE
                        .iter()
                        .filter(|n| n.vendor == *vendor && n.kind == *kind && n.metric == *metric)
                        .collect();
                    assert!(na.len() <= 1, "{vendor} {kind} {metric}: not applicable twice");
                    assert!(
                        row != (na.len() == 1),
                        "{vendor} {kind} {metric}: {}",
                        if row {
                            "both a row and not applicable"
                        } else {
                            "neither a row nor not applicable"
                        }
                    );
                    assert!(
                        na.iter().all(|n| !n.reason.trim().is_empty()),
                        "{vendor} {kind} {metric}: no reason"
                    );
                    cells += 1;
                }
            }
        }
        assert_eq!(cells, 3 * 4 * 5);
        for n in NOT_APPLICABLE {
            assert!(crate::vendors::names().contains(&n.vendor), "{}", n.vendor);
            assert!(
                CATALOG_KINDS.contains(&n.kind) && CORE_METRICS.contains(&n.metric),
                "{} {}",
                n.kind,
                n.metric
            );
        }
        assert!(matches!(
            applicability("disk", "cloud_service", "cloudwatch"),
            Applicability::NotApplicable(_)
        ));
        assert!(matches!(applicability("uptime", "database", "datadog"), Applicability::Row(_)));
        assert!(matches!(applicability("uptime", "custom", "datadog"), Applicability::Unknown));
    }

    /// README.md holds [`markdown_table`] between its markers. With `WATCHKEEP_WRITE_README=1`
    /// the test writes the table there instead (the regeneration its failure message names).
    #[test]
    fn readme_catalog_table_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).expect("README.md");
        let (start, end) = ("<!-- catalog-table:start -->\n", "<!-- catalog-table:end -->");
        let from =
            readme.find(start).map(|i| i + start.len()).expect("README.md has no catalog-table:start marker");
        let to =
            readme[from..].find(end).map(|i| from + i).expect("README.md has no catalog-table:end marker");
        let table = markdown_table();
        if std::env::var_os("WATCHKEEP_WRITE_README").is_some() {
            let updated = format!("{}{table}{}", &readme[..from], &readme[to..]);
            std::fs::write(&path, updated).expect("write README.md");
            return;
        }
        assert!(
            readme[from..to] == table,
            "README.md's catalog table differs from compile::catalog::markdown_table(): regenerate it with\n  \
             WATCHKEEP_WRITE_README=1 cargo test -p watchkeep --lib readme_catalog_table_is_current\n\
             expected:\n{table}"
        );
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
