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

variable "pagerduty_events_url" {
  type        = string
  description = "PagerDuty Events API v2 endpoint; the quickstart script points it at the sandbox's receiver."
  default     = "https://events.pagerduty.com/v2/enqueue"
}

variable "slack_webhook_url" {
  type        = string
  description = "Slack incoming-webhook URL of #ops-alerts (used by route tests; Datadog posts through its Slack integration)."
  sensitive   = true
}

variable "smtp_host" {
  type        = string
  description = "SMTP relay for route tests of email targets."
  default     = "smtp.example.com"
}

variable "smtp_port" {
  type        = number
  description = "SMTP port (587: submission with STARTTLS)."
  default     = 587
}

variable "smtp_starttls" {
  type        = string
  description = "required | opportunistic | none (the sandbox's receiver speaks plain SMTP on loopback)."
  default     = "required"
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
    smtp {
      host     = var.smtp_host
      port     = var.smtp_port
      starttls = var.smtp_starttls
      from     = "watchkeep@example.com"
    }
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
