//! A `moto_server` process (the AWS emulator from PyPI `moto[server]`) on a free loopback port.
//!
//! Found at `$WATCHKEEP_MOTO_SERVER`, else `<workspace>/target/py/moto/bin/moto_server`, else
//! `moto_server` on `PATH`. Moto keeps state per account and region for as long as it runs; tests
//! isolate themselves with unique names and/or regions, never by resetting the server.
//!
//! The server runs under a small shell watchdog that stops it when the test process is gone, so
//! a server held in a `static` (never dropped) does not outlive its test binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{kill_pid, log_tail, pid_alive, workspace_root};

/// Environment variable naming the `moto_server` executable.
pub const MOTO_SERVER_ENV: &str = "WATCHKEEP_MOTO_SERVER";

/// How long to wait for moto to answer HTTP.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running moto server; dropping it stops the process.
pub struct MotoServer {
    port: u16,
    watchdog: Child,
    moto_pid: Option<u32>,
    log: PathBuf,
}

impl std::fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotoServer").field("port", &self.port).field("log", &self.log).finish_non_exhaustive()
    }
}

/// Where `moto_server` is, or `None`.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(MOTO_SERVER_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let local = workspace_root().join("target/py/moto/bin/moto_server");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join("moto_server"))
        .find(|p| p.is_file())
}

impl MotoServer {
    /// Starts moto on a free port and waits until it answers HTTP.
    ///
    /// # Panics
    /// When `moto_server` cannot be found or does not come up, with what to do about it.
    pub fn start() -> MotoServer {
        let Some(exe) = find_moto_server() else {
            panic!(
                "moto_server not found: run .ci/run, or `python3 -m venv target/py/moto && \
                 target/py/moto/bin/pip install 'moto[server]'`, or set {MOTO_SERVER_ENV}"
            );
        };
        if let Some(s) = std::env::var_os(MOTO_SERVER_ENV) {
            assert!(
                PathBuf::from(&s).is_file(),
                "{MOTO_SERVER_ENV}={} is not a file: point it at moto's `moto_server` executable",
                PathBuf::from(&s).display()
            );
        }
        let port = free_port();
        let log = std::env::temp_dir().join(format!("watchkeep-moto-{}-{port}.log", std::process::id()));
        let log_file =
            std::fs::File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        // The watchdog prints moto's PID, then stops moto when this process (or moto) is gone, or
        // when it is itself told to stop.
        let script = r#"
            "$1" -H 127.0.0.1 -p "$2" >>"$4" 2>&1 &
            m=$!
            echo "$m"
            trap 'kill "$m" 2>/dev/null; exit 0' TERM INT
            while kill -0 "$3" 2>/dev/null && kill -0 "$m" 2>/dev/null; do sleep 1; done
            kill "$m" 2>/dev/null
        "#;
        let mut watchdog = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("moto-watchdog")
            .arg(&exe)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start bash to run {}: {e}", exe.display()));
        let moto_pid = watchdog.stdout.take().and_then(|mut out| {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while out.read(&mut byte).ok()? == 1 && byte[0] != b'\n' {
                line.push(byte[0]);
            }
            String::from_utf8(line).ok()?.trim().parse::<u32>().ok()
        });
        let mut server = MotoServer { port, watchdog, moto_pid, log };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if answers_http(port) {
                return server;
            }
            let exited = server.moto_pid.is_none_or(|pid| !pid_alive(pid));
            if exited || Instant::now() > deadline {
                let why = if exited { "exited" } else { "did not answer HTTP within 20 s" };
                let tail = log_tail(&server.log, 30);
                server.stop();
                panic!(
                    "moto_server ({}) {why} on 127.0.0.1:{port}; its output ends with:\n{tail}\n\
                     hint: check that `{} -H 127.0.0.1 -p {port}` runs by hand (moto[server] installed?)",
                    exe.display(),
                    exe.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn stop(&mut self) {
        if let Some(pid) = self.moto_pid.take() {
            kill_pid(pid, Duration::from_secs(3));
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port nothing listens on right now (bound, read, released).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"))
}

/// Whether something on `port` answers an HTTP request with an HTTP status line.
pub(crate) fn answers_http(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    let mut got = 0;
    while got < 8 {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    buf[..got].starts_with(b"HTTP/1.")
}
