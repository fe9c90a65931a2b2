# AWS CloudWatch: the same SOC 2 baseline as the quickstart, for EC2 hosts and an RDS database.
#
# Each baseline/alert block becomes one CloudWatch metric alarm per core metric and component
# (EC2 CPU, status checks and network from AWS/EC2; memory and disk from the CloudWatch agent's
# CWAgent namespace; RDS from AWS/RDS); each route becomes an SNS topic `watchkeep-<route>` with
# a subscription per target, used as the alarms' alarm and OK actions; the dashboard block becomes
# one CloudWatch dashboard. Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, an instance role), never from this file.
#
# Try it without an AWS account, against moto (PyPI `moto[server]`, as the tests use it):
#   python3 -m venv /tmp/moto && /tmp/moto/bin/pip install 'moto[server]==5.2.5'
#   /tmp/moto/bin/moto_server -p 5000 &
#   export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
#   export WATCHKEEP_VAR_aws_endpoint_url=http://127.0.0.1:5000
#   export WATCHKEEP_ALLOW_ENDPOINTS=http://127.0.0.1   # the operator allows the loopback endpoint
#   watchkeep plan && watchkeep apply -auto-approve && watchkeep plan -detailed-exitcode
# (LocalStack works the same way: point aws_endpoint_url at http://127.0.0.1:4566.)

watchkeep {
  state "local" {
    path = ".watchkeep/state.json"
  }
}

variable "aws_region" {
  type        = string
  description = "The AWS region of the alarms, topics and dashboard."
  default     = "us-east-1"
}

variable "aws_endpoint_url" {
  type        = string
  description = "CloudWatch and SNS endpoint override (moto, LocalStack). Leave unset for AWS itself."
  default     = null
}

variable "pagerduty_routing_key" {
  type        = string
  description = "PagerDuty integration key of the on-call service's CloudWatch integration (part of the SNS subscription's URL, never shown)."
  sensitive   = true
  default     = "example-routing-key"
}

provider "cloudwatch" {
  region       = var.aws_region
  endpoint_url = var.aws_endpoint_url
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
  email {
    to = ["oncall@example.com"]
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
}

# Hosts' disks (CWAgent disk_used_percent) alert earlier than the catalog's default; the
# database's disk is its free storage, watched below the catalog's threshold by the baseline.
alert "disk_filling" {
  scope    = inventory.production
  kinds    = ["server"]
  metric   = "disk"
  above    = 90
  warning  = 85
  for      = "10m"
  severity = "high"
  route    = route.oncall
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
