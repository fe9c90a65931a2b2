use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;
use watchkeep_tests::{DatadogStandIn, StandInOptions};

pub const APP_KEY: &str = "e2e-app-key";

/// The stand-in shared by every test in this binary.
pub fn standin() -> &'static DatadogStandIn {
    static S: OnceLock<DatadogStandIn> = OnceLock::new();
    S.get_or_init(|| DatadogStandIn::start(StandInOptions::default()).expect("start the Datadog stand-in"))
}

/// `target/<profile>/watchkeep`, built by `cargo test --workspace` / `cargo build --workspace`.
pub fn watchkeep_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join(format!("watchkeep{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (.ci/run does)",
        bin.display()
    );
    bin
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

static ORG: AtomicU32 = AtomicU32::new(0);

/// A configuration directory in a temp dir, bound to its own org in a stand-in.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub api_key: String,
    pub base_url: String,
    pub extra_env: Vec<(String, String)>,
}

/// The variables the e2e workspaces pass from outside that are not secrets.
pub const PUBLIC_VARS: &str =
    "datadog_api_url,newrelic_url,newrelic_api_url,endpoint,aws_endpoint_url,aws_region,\
pagerduty_events_url,smtp_host,smtp_port,smtp_starttls,threshold";

impl Workspace {
    pub fn new(name: &str) -> Workspace {
        Workspace::on(standin(), name)
    }

    pub fn on(s: &DatadogStandIn, name: &str) -> Workspace {
        let n = ORG.fetch_add(1, Ordering::SeqCst);
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
            api_key: format!("e2e-{name}-{n}-{}", std::process::id()),
            base_url: s.base_url(),
            extra_env: Vec::new(),
        }
    }

    /// A copy of `examples/<name>`.
    pub fn example(name: &str) -> Workspace {
        let ws = Workspace::new(name);
        let src = repo_root().join("examples").join(name);
        for e in std::fs::read_dir(&src).expect("example dir").flatten() {
            let p = e.path();
            if p.is_file() {
                std::fs::copy(&p, ws.path().join(e.file_name())).expect("copy example file");
            }
        }
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.path().join(name), text).expect("write file");
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.extra_env.push((k.into(), v.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(watchkeep_bin());
        c.args(args).current_dir(self.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("DD_")
                || k.starts_with("WATCHKEEP_")
                || k.starts_with("GITHUB_")
                || k.starts_with("AWS_")
                || k.starts_with("NEW_RELIC_")
            {
                c.env_remove(k);
            }
        }
        // Dummy AWS credentials for moto/LocalStack (they check none); never the developer's own.
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        // The stand-ins listen on loopback: the operator's allow list, outside the configuration
        // (issue 15: keys go only to the vendor's hosts or to endpoints allowed here).
        c.env("WATCHKEEP_ALLOW_ENDPOINTS", "http://127.0.0.1,http://localhost,http://[::1]");
        c.env("DD_API_KEY", &self.api_key)
            .env("DD_APP_KEY", APP_KEY)
            .env("WATCHKEEP_VAR_datadog_api_url", &self.base_url)
            .env("WATCHKEEP_VAR_pagerduty_routing_key", "e2e-routing-key-not-secret")
            .env(
                "WATCHKEEP_VAR_slack_webhook_url",
                "https://hooks.slack.com/services/T000/B000/e2e-not-secret",
            )
            // Issue 15: values from the environment are sensitive unless the operator lists them
            // public; these are endpoints and settings the tests expect to see in plans.
            .env("WATCHKEEP_PUBLIC_VARS", PUBLIC_VARS)
            .env("WATCHKEEP_ACTOR", "e2e@example.com")
            .env("NO_COLOR", "1");
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run watchkeep");
        Run { out, args: args.iter().map(|s| s.to_string()).collect() }
    }

    pub fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.path().join(".watchkeep/state.json")).expect("state file");
        serde_json::from_str(&text).expect("state JSON")
    }

    pub fn state_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.state()["resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["id"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    pub fn monitors_on(&self, s: &DatadogStandIn) -> Vec<Value> {
        s.monitors(&self.api_key)
    }

    pub fn monitors(&self) -> Vec<Value> {
        standin().monitors(&self.api_key)
    }

    pub fn monitor_ids_on(&self, s: &DatadogStandIn) -> Vec<String> {
        let mut ids: Vec<String> = self.monitors_on(s).iter().map(|m| m["id"].to_string()).collect();
        ids.sort();
        ids
    }

    /// A Datadog API call made "behind watchkeep's back", as a person in the UI would.
    pub fn vendor(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let client = reqwest::blocking::Client::new();
        let mut req = client
            .request(method, format!("{}{path}", self.base_url))
            .header("DD-API-KEY", &self.api_key)
            .header("DD-APPLICATION-KEY", APP_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("vendor request");
        let status = resp.status().as_u16();
        let v = resp.json().unwrap_or(Value::Null);
        (status, v)
    }

    /// Every file watchkeep wrote under the workspace, concatenated (state, history, plans…).
    pub fn all_written_text(&self) -> String {
        let mut out = String::new();
        fn walk(p: &Path, out: &mut String) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else if let Ok(t) = std::fs::read_to_string(&p) {
                        out.push_str(&t);
                    }
                }
            }
        }
        walk(self.path(), &mut out);
        out
    }
}

pub struct Run {
    pub out: Output,
    pub args: Vec<String>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("{:?}: stdout is not JSON ({e}):\n{}", self.args, self.stdout()))
    }
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "watchkeep {:?} exited {} (want {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// A minimal configuration with `n` raw monitors; `bad` makes one of them invalid for Datadog
/// (its critical threshold does not match its query).
pub fn raw_monitors_config(n: usize, bad: Option<usize>) -> String {
    raw_monitors_config_with(n, bad, "")
}

/// Like [`raw_monitors_config`], with extra `provider "datadog"` attributes.
pub fn raw_monitors_config_with(n: usize, bad: Option<usize>, provider_extra: &str) -> String {
    let mut s = format!(
        "variable \"datadog_api_url\" {{ type = string }}\nprovider \"datadog\" {{\n  api_url = var.datadog_api_url\n  {provider_extra}\n}}\n"
    );
    for i in 0..n {
        let crit = if Some(i) == bad { 99 } else { 90 };
        s.push_str(&format!(
            r#"
resource "datadog_monitor" "m{i:03}" {{
  name    = "raw monitor {i}"
  type    = "metric alert"
  query   = "avg(last_5m):avg:system.load.1{{host:h{i}}} > 90"
  message = "load is high on h{i} @ops@example.com"
  tags    = ["team:ops"]
  options {{
    thresholds {{
      critical = {crit}
    }}
  }}
}}
"#
        ));
    }
    s
}

/// Validates `instance` against a checked-in schema under `schema/`.
pub fn assert_matches_schema(schema_file: &str, instance: &Value) {
    let path = repo_root().join("schema").join(schema_file);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "output does not match {schema_file}: {errors:#?}");
}

/// The moto server shared by every CloudWatch test in this binary. Tests keep apart by using
/// their own region (moto keeps state per region).
pub fn moto() -> &'static watchkeep_tests::aws::moto::MotoServer {
    static M: OnceLock<watchkeep_tests::aws::moto::MotoServer> = OnceLock::new();
    M.get_or_init(watchkeep_tests::aws::moto::MotoServer::start)
}

/// An AWS Query API call made "behind watchkeep's back" (moto and LocalStack check no
/// signature; the region is read from the credential scope). `params` are flattened the AWS way
/// (`Dimensions.member.1.Name`). Returns the status and the XML body.
pub fn aws_query(endpoint: &str, region: &str, service: &str, action: &str, params: &Value) -> (u16, String) {
    let version = if service == "sns" { "2010-03-31" } else { "2010-08-01" };
    let mut form: Vec<(String, String)> =
        vec![("Action".into(), action.into()), ("Version".into(), version.into())];
    flatten_query("", params, &mut form);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20261124/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let resp = reqwest::blocking::Client::new()
        .post(endpoint)
        .header("Authorization", auth)
        .form(&form)
        .send()
        .expect("AWS query request");
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}

fn flatten_query(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten_query(&join(k), v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten_query(&join(&format!("member.{}", i + 1)), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_string(), b.to_string())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::Null => {}
    }
}

impl Workspace {
    /// A state resource by address.
    pub fn state_resource(&self, address: &str) -> Value {
        self.state()["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["address"] == address).cloned())
            .unwrap_or_else(|| panic!("{address} not in state"))
    }
}

/// The NerdGraph stand-in shared by every New Relic test in this binary. Tests keep apart by
/// using their own API key (each key is its own account).
pub fn newrelic() -> &'static watchkeep_tests::NewRelicStandIn {
    static N: OnceLock<watchkeep_tests::NewRelicStandIn> = OnceLock::new();
    N.get_or_init(|| {
        watchkeep_tests::NewRelicStandIn::start(watchkeep_tests::NewRelicOptions::default())
            .expect("start the NerdGraph stand-in")
    })
}

impl Workspace {
    /// A workspace whose `provider "newrelic"` talks to [`newrelic`] with its own user key and
    /// account: `NEW_RELIC_API_KEY`, `NEW_RELIC_ACCOUNT_ID` and `var.newrelic_url` are set.
    pub fn on_newrelic(name: &str) -> (Workspace, String) {
        Workspace::on_newrelic_at(newrelic(), name)
    }

    /// [`Workspace::on_newrelic`] on a stand-in of the test's own (faults are per stand-in).
    pub fn on_newrelic_at(nr: &watchkeep_tests::NewRelicStandIn, name: &str) -> (Workspace, String) {
        let n = ORG.fetch_add(1, Ordering::SeqCst);
        let clean: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        let key = format!("NRAK-E2E{clean}{n}X{}", std::process::id());
        let account = nr.account_id(&key).to_string();
        let ws = Workspace::new(name)
            .env("NEW_RELIC_API_KEY", &key)
            .env("NEW_RELIC_ACCOUNT_ID", &account)
            .env("WATCHKEEP_VAR_newrelic_url", &nr.base_url());
        (ws, key)
    }
}

/// Runs each command in turn, each expected to succeed (exit 0, or 2 for changes), and returns
/// everything they printed (stdout and stderr), for tests that look for what must not be there.
pub fn outputs_of(ws: &Workspace, commands: &[&[&str]]) -> String {
    let mut logs = String::new();
    for args in commands {
        let run = ws.run(args);
        assert!(run.code() == 0 || run.code() == 2, "{args:?}: {}", run.stderr());
        logs.push_str(&run.stdout());
        logs.push_str(&run.stderr());
    }
    logs
}

/// Runs watchkeep in `cwd`, killing it if it has not finished in 60 s (a FIFO or a hostile
/// configuration must not hang the suite): (exit code, stdout, stderr).
pub fn run_bounded(ws: &Workspace, cwd: &Path, args: &[&str]) -> (i32, String, String) {
    use std::time::{Duration, Instant};
    let mut cmd = ws.command(args);
    cmd.current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("run watchkeep");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("watchkeep {args:?} hung (killed after 60 s)");
        }
        // Polling the child's own exit, not waiting for a result.
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The text of every regular file under `dir` except those in `skip`. Symlinks, FIFOs and the
/// like are skipped: they are a hostile test's own inputs, never something watchkeep wrote.
pub fn written_text(dir: &Path, skip: &[PathBuf]) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        if meta.is_dir() {
            out.push_str(&written_text(&p, skip));
        } else if meta.is_file() && !skip.contains(&p) {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()));
        }
    }
    out
}
