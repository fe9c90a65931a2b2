# Every vendor compiler, every catalog row and every route target, for the pinned-output test
# (compile/pinned.rs). Changing this file changes the snapshots: re-bless them on purpose.

variable "pd_key" {
  sensitive = true
  default   = "pd-secret-key-0001"
}
variable "hook" {
  sensitive = true
  default   = "https://hooks.example.com/T0/B0/secret"
}

provider "datadog" {}
provider "cloudwatch" { region = "us-east-1" }
provider "newrelic" { account_id = 1234567 }

inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}
inventory "stage" {}

# Datadog
component "dd-web" {
  inventory   = inventory.prod
  kind        = "server"
  provider    = "datadog"
  environment = "production"
  owner       = "web@example.com"
  identifier  = { host = "dd-web", env = "prod" }
  tags        = { team = "Web Team" }
}
component "dd-bare" {
  inventory = inventory.stage
  kind      = "server"
  provider  = "datadog"
}
component "dd-db" {
  inventory = inventory.prod
  kind      = "database"
  provider  = "datadog"
}
component "dd-queue" {
  inventory  = inventory.stage
  kind       = "custom"
  provider   = "datadog"
  identifier = { queue = "orders" }
}

# CloudWatch
component "cw-web" {
  inventory   = inventory.prod
  kind        = "server"
  provider    = "cloudwatch"
  environment = "production"
  identifier  = { InstanceId = "i-0abc", path = "/", device = "xvda1" }
  tags        = { team = "web" }
}
component "cw-db" {
  inventory  = inventory.prod
  kind       = "database"
  provider   = "cloudwatch"
  identifier = { DBInstanceIdentifier = "orders-prod" }
}
component "cw-api" {
  inventory  = inventory.prod
  kind       = "container"
  provider   = "cloudwatch"
  identifier = { ClusterName = "prod", ServiceName = "api" }
}
component "cw-edge" {
  inventory  = inventory.prod
  kind       = "cloud_service"
  provider   = "cloudwatch"
  identifier = { LoadBalancer = "app/edge/123" }
}
component "cw-queue" {
  inventory  = inventory.stage
  kind       = "custom"
  provider   = "cloudwatch"
  identifier = { QueueName = "orders" }
}

# New Relic
component "nr-web" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  owner      = "web@example.com"
  identifier = { hostname = "nr-web" }
}
component "nr-bare" {
  inventory = inventory.stage
  kind      = "server"
  provider  = "newrelic"
}
component "nr-db" {
  inventory  = inventory.prod
  kind       = "database"
  provider   = "newrelic"
  identifier = { displayName = "orders-prod" }
}
component "nr-api" {
  inventory  = inventory.prod
  kind       = "container"
  provider   = "newrelic"
  identifier = { containerName = "api" }
}
component "nr-edge" {
  inventory = inventory.prod
  kind      = "cloud_service"
  provider  = "newrelic"
}

route "oncall" {
  pagerduty {
    service     = "platform"
    routing_key = var.pd_key
  }
  email { to = ["oncall@example.com", "lead@example.com"] }
}
route "chat" {
  slack {
    channel     = "#alerts"
    account     = "acme"
    webhook_url = var.hook
  }
  webhook {
    name = "relay"
    url  = "http://127.0.0.1:9/hook"
  }
}

metric "depth" {
  unit = "messages"
  datadog { query = "max:queue.depth{$scope}" }
  cloudwatch {
    namespace          = "AWS/SQS"
    metric_name        = "ApproximateNumberOfMessagesVisible"
    statistic          = "Maximum"
    treat_missing_data = "notBreaching"
  }
  newrelic { nrql = "SELECT max(depth) FROM QueueSample WHERE $scope" }
}

baseline "soc2" {
  scope   = inventory.prod
  routes  = [route.oncall, route.chat]
  runbook = "https://wiki.example.com/runbooks/infra"
  override "disk" {
    above   = 80
    warning = 70
  }
  override "network" { enabled = false }
  override "memory" { for = "15m" }
}
baseline "stage" {
  scope = inventory.stage
  kinds = ["server"]
  route = route.chat
}

alert "cpu_hot" {
  scope    = inventory.prod
  kinds    = ["server"]
  metric   = "cpu"
  above    = 95
  warning  = 90
  for      = "1h"
  severity = "critical"
  message  = "Check the top processes."
  routes   = [route.oncall, route.chat]
}
alert "free_low" {
  components = [component.cw-db, component.nr-db]
  metric = "memory"
  below  = 100000000
  for    = "120s"
  route  = route.oncall
}
alert "deep" {
  kinds   = ["custom"]
  metric  = metric.depth
  above   = 50
  warning = 25.5
  for     = "10m"
  runbook = "https://wiki.example.com/runbooks/queue"
  route   = route.chat
}
alert "nothing" {
  scope  = inventory.stage
  kinds  = ["cloud_service"]
  metric = "cpu"
  above  = 1
}

dashboard "infra" {
  scope = inventory.prod
  title = "Production"
}
dashboard "servers" { kinds = ["server"] }
dashboard "empty" {
  scope = inventory.prod
  kinds = ["custom"]
}

maintenance "patch" {
  scope      = inventory.prod
  start      = "2026-12-05T02:00"
  duration   = "2h"
  recurrence = "FREQ=WEEKLY;BYDAY=SA"
  timezone   = "Europe/Berlin"
  message    = "Weekly patching"
}
maintenance "cpu_quiet" {
  kinds    = ["server"]
  alerts   = [alert.cpu_hot]
  start    = "2026-12-24T00:00Z"
  duration = "1d"
}
