# Quickstart: SOC 2 baseline monitoring for a small fleet of servers on Datadog.
#
# The inventory is the approved system inventory (with its review date); the baseline gives every
# in-scope server the five core monitors (CPU, memory, disk, network, uptime); two routes say where
# alerts go. Run it against the bundled sandbox with `./examples/quickstart/run.sh`.

watchkeep {
  state "local" {
    path = ".watchkeep/state.json"
  }
}

variable "datadog_api_url" {
  type        = string
  description = "Datadog API base URL. Leave unset for the real Datadog site; the quickstart script points it at watchkeep-sandbox."
  default     = "https://api.datadoghq.com"
}

variable "pagerduty_routing_key" {
  type        = string
  description = "PagerDuty Events API v2 routing key for the on-call service (used by route tests)."
  sensitive   = true
}

provider "datadog" {
  site    = "datadoghq.com"
  api_url = var.datadog_api_url
}

inventory "production" {
  source      = "inventory.csv"
  reviewed_on = "2026-11-01"
  reviewed_by = "platform-lead@example.com"
}

route "oncall" {
  owner = "platform-lead@example.com"
  pagerduty {
    service     = "platform-oncall"
    routing_key = var.pagerduty_routing_key
  }
  slack {
    channel = "#ops-alerts"
  }

  # The contact list, in order: who is reached, and when (read by `watchkeep coverage`).
  escalation {
    after    = "0m"
    rotation = "platform-primary"
  }
  escalation {
    after  = "15m"
    people = ["alice@example.com", "bob@example.com"]
  }
}

route "platform_team" {
  owner = "platform-lead@example.com"
  email {
    to = ["platform-team@example.com"]
  }
  escalation {
    after  = "0m"
    people = ["platform-team@example.com"]
  }
}

baseline "soc2" {
  scope   = inventory.production
  routes  = [route.oncall, route.platform_team]
  runbook = "https://wiki.example.com/runbooks/infrastructure"

  override "disk" {
    above   = 90
    warning = 85
  }
}

alert "cpu_saturated" {
  scope    = inventory.production
  kinds    = ["server"]
  metric   = "cpu"
  above    = 95
  for      = "15m"
  severity = "critical"
  route    = route.oncall
  runbook  = "https://wiki.example.com/runbooks/cpu"
}

# The infrastructure dashboard auditors ask to see: one group per in-scope server.
dashboard "infrastructure" {
  scope = inventory.production
  title = "Production infrastructure (SOC 2 scope)"
}
