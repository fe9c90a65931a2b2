//! LocalStack's community runtime on the host, started by `shared/tools/localstack-host`
//! (no Docker, loopback only, CloudWatch and SNS). Unlike moto it evaluates alarms against
//! PutMetricData, records DescribeAlarmHistory and delivers SNS notifications to HTTP
//! subscribers.
//!
//! The runtime needs CPython >= 3.13; the script finds one or exits 3. The first start installs
//! `localstack-core` into `$WATCHKEEP_LOCALSTACK_DIR` (default `<workspace>/target/py/localstack`),
//! which takes a minute or two; later starts reuse it. [`LocalStack::start`] returns the reason as
//! `Err` when it cannot start: callers must fail with it, never pass silently.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::moto::free_port;
use super::{kill_pid, pid_alive, workspace_root};

/// Environment variable naming LocalStack's work directory (venv and per-port state).
pub const LOCALSTACK_DIR_ENV: &str = "WATCHKEEP_LOCALSTACK_DIR";

/// A running LocalStack; dropping it stops the runtime (SIGTERM, then SIGKILL after 5 s: it does
/// not always stop on SIGTERM) and its child processes.
pub struct LocalStack {
    port: u16,
    pid: u32,
    workdir: PathBuf,
    watchdog: Option<std::process::Child>,
}

impl std::fmt::Debug for LocalStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStack").field("port", &self.port).field("pid", &self.pid).finish_non_exhaustive()
    }
}

/// `<workspace>/../shared/tools/localstack-host`.
pub fn localstack_host_script() -> PathBuf {
    workspace_root().join("../shared/tools/localstack-host")
}

impl LocalStack {
    /// Starts LocalStack on a free loopback port and waits until CloudWatch is healthy.
    pub fn start() -> Result<LocalStack, String> {
        let script = localstack_host_script();
        if !script.is_file() {
            return Err(format!(
                "LocalStack cannot start: {} not found (shared/ must sit beside the workspace)",
                script.display()
            ));
        }
        let workdir = std::env::var_os(LOCALSTACK_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/py/localstack"));
        let port = free_port();
        let out = Command::new("bash")
            .arg(&script)
            .arg(&workdir)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("LocalStack cannot start: running {} failed: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr_tail: Vec<&str> =
            stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        match out.status.code() {
            Some(0) => {}
            Some(3) => {
                return Err(format!(
                    "LocalStack cannot start: no CPython >= 3.13 on this machine (exit 3): {}",
                    stderr.trim()
                ))
            }
            code => {
                return Err(format!(
                    "LocalStack cannot start: {} exited with {code:?}; its log is under {}/fs-{port}/localstack.log\n{}",
                    script.display(),
                    workdir.display(),
                    stderr_tail.join("\n")
                ))
            }
        }
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
            format!(
                "LocalStack started but the script printed no PID: {:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        // Stops the runtime should this process die without dropping the handle.
        let watchdog = Command::new("bash")
            .arg("-c")
            .arg(
                r#"trap 'exit 0' TERM INT
                   while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
                   if kill -0 "$2" 2>/dev/null; then kill "$2"; sleep 5; kill -9 "$2" 2>/dev/null; fi"#,
            )
            .arg("localstack-watchdog")
            .arg(std::process::id().to_string())
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        Ok(LocalStack { port, pid, workdir, watchdog })
    }

    /// `http://127.0.0.1:PORT` (CloudWatch and SNS).
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The runtime's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The runtime's log file.
    pub fn log_path(&self) -> PathBuf {
        self.workdir.join(format!("fs-{}/localstack.log", self.port))
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if pid_alive(self.pid) {
            kill_pid(self.pid, Duration::from_secs(5));
        }
        // Keep the log of a failed test.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.workdir.join(format!("fs-{}", self.port)));
        }
    }
}
