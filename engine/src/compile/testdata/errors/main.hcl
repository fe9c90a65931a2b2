# Located errors of every vendor compiler, for the pinned-output test (compile/pinned.rs).

provider "datadog" {}
provider "cloudwatch" { region = "us-east-1" }
provider "newrelic" { account_id = 1234567 }

component "dd-web" {
  kind     = "server"
  provider = "datadog"
}
component "cw-db" {
  kind     = "database"
  provider = "cloudwatch"
}
component "nr-web" {
  kind     = "server"
  provider = "newrelic"
}

route "bare" {
  pagerduty { service = "payments" }
  slack { channel = "#ops" }
  webhook { name = "x" }
}

metric "only_dd" {
  datadog { query = "avg:x{$scope}" }
}
metric "only_cw" {
  cloudwatch { namespace = "AWS/SQS" }
}

baseline "soc2" {
  route = route.bare
  override "bogus" { above = 1 }
}
alert "odd_for" {
  metric = "cpu"
  above  = 90
  for    = "90s"
}
alert "long_for" {
  metric = "cpu"
  above  = 90
  for    = "2d"
}
alert "unmapped_dd" {
  metric = metric.only_cw
  above  = 1
}
alert "unmapped_nr" {
  metric = metric.only_dd
  above  = 1
}
alert "unknown_metric" {
  kinds  = ["server", "database"]
  metric = "latency"
  above  = 1
}
alert "typo" {
  metric = "memroy"
  above  = 1
}
