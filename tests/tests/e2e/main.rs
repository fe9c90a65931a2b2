//! End-to-end tests: the real `watchkeep` binary against the Datadog stand-in, checked the way a
//! user would see the results (exit codes, output, state and history files, vendor contents).
//!
//! One stand-in serves the whole test binary; each test works in its own Datadog "org" (its own
//! API key), so tests run in parallel without seeing each other's monitors.

mod support;

mod bombs;
mod catalog;
mod ci_recipes;
mod cli;
mod cloudwatch;
mod core_loop;
mod coverage;
mod datadog_alerts;
mod drift;
mod endpoints;
mod errors;
mod evidence;
mod example_cloudwatch;
mod faults;
mod hostile_files;
mod hostile_plan;
mod hostile_pr;
mod import;
mod maintenance;
mod newrelic;
mod ownership;
mod replay;
mod routes;
mod s3_state;
mod secrets;
mod snapshots;
