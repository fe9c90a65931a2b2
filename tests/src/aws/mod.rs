//! AWS stand-ins: moto_server and LocalStack processes, and a paging DescribeAlarms stand-in.
//!
//! * [`MotoServer`] — moto (PyPI `moto[server]`): CloudWatch alarms and dashboards, SNS topics and
//!   subscriptions. It lacks DescribeAlarmHistory, GetMetricWidgetImage and PutCompositeAlarm,
//!   and ignores DescribeAlarms' `MaxRecords`.
//! * [`QueryStandIn`] — a small awsQuery server for exactly those gaps: paged DescribeAlarms
//!   over generated alarms, composite alarms, DescribeAlarmHistory with paging, and a recorded
//!   GetMetricWidgetImage answer.
//! * [`LocalStack`] — LocalStack's community runtime on the host (`shared/tools/localstack-host`):
//!   it evaluates alarms against PutMetricData and delivers SNS notifications over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub mod localstack;
pub mod moto;
pub mod query;

pub use localstack::LocalStack;
pub use moto::MotoServer;
pub use query::{QueryStandIn, PUBLISHED_QUOTAS, WIDGET_PNG};

/// The cargo workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Whether process `pid` exists (`kill -0`).
pub(crate) fn pid_alive(pid: u32) -> bool {
    Command::new("kill")
        .arg("-0")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The direct children of `pid` (`ps --ppid`).
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(out) = Command::new("ps").args(["-o", "pid=", "--ppid", &pid.to_string()]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops `pid` and its children: SIGTERM, then SIGKILL for whatever is left after `grace`.
pub(crate) fn kill_pid(pid: u32, grace: Duration) {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        for kid in children_of(all[i]) {
            if !all.contains(&kid) {
                all.push(kid);
            }
        }
        i += 1;
    }
    for p in &all {
        signal(*p, "TERM");
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && all.iter().any(|p| pid_alive(*p)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for p in all.iter().filter(|p| pid_alive(**p)) {
        signal(*p, "KILL");
    }
}

/// The last `lines` lines of a log file (or why it cannot be read).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
