# New Relic: the same SOC 2 baseline as the quickstart, for a fleet monitored by New Relic.
#
# Each baseline/alert block becomes an alert policy with one NRQL condition per core metric and
# component; each route becomes notification destinations and channels plus one workflow that
# selects the policies it serves. Run it against the bundled sandbox with
# `./examples/quickstart/run.sh newrelic`.

watchkeep {
  state "local" {
    path = ".watchkeep/state.json"
  }
}

variable "newrelic_api_url" {
  type        = string
  description = "NerdGraph endpoint. Leave unset for New Relic's US endpoint; the run script points it at watchkeep-sandbox."
  default     = "https://api.newrelic.com/graphql"
}

variable "pagerduty_routing_key" {
  type        = string
  description = "PagerDuty routing key of the on-call service (sent to New Relic, never shown)."
  sensitive   = true
  default     = "example-routing-key"
}

variable "pagerduty_events_url" {
  type        = string
  description = "PagerDuty Events API v2 endpoint for route tests; the quickstart script points it at the sandbox's receiver."
  default     = "https://events.pagerduty.com/v2/enqueue"
}

variable "slack_webhook_url" {
  type        = string
  description = "Slack incoming webhook for #ops-alerts (sent to New Relic, never shown)."
  sensitive   = true
  default     = "https://hooks.slack.com/services/T0000/B0000/example"
}

# The account comes from NEW_RELIC_ACCOUNT_ID and the user key from NEW_RELIC_API_KEY.
provider "newrelic" {
  api_url = var.newrelic_api_url
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
    events_url  = var.pagerduty_events_url
  }
  slack {
    channel     = "#ops-alerts"
    webhook_url = var.slack_webhook_url
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

dashboard "infrastructure" {
  scope = inventory.production
  title = "Production infrastructure (SOC 2 scope)"
}
