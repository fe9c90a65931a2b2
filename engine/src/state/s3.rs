//! `state "s3"`: the state and everything beside it as objects in an S3 bucket (or an S3-compatible
//! store through `endpoint_url`), behind the same [`Store`] seam as the local directory.
//!
//! - Credentials come from the standard AWS chain (`aws-config`: environment, profile, SSO, web
//!   identity, instance/container roles). They never appear in output, state or errors.
//! - The lock is created with `PutObject` + `If-None-Match: *`. S3 answers `412 Precondition
//!   Failed` when the key exists, and `409 ConditionalRequestConflict` when a concurrent conditional
//!   write to the same key wins the race: both mean "held"
//!   (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>; moto 5.2.5's
//!   server answers 412, checked against it in `tests::conditional_writes_against_moto`).
//! - The lock is removed with `DeleteObject` + `If-Match: <ETag we got>`: `412` when the object
//!   changed (someone force-unlocked and re-locked), `409` on a concurrent write, `404` when it is
//!   gone (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html>).
//! - Every other write is one `PutObject` of the whole object (atomic in S3: readers see the old or
//!   the new object, never a mix).
//!
//! The blocking/async seam: the engine calls the state layer both from plain threads and from
//! inside a tokio runtime (`StateLock::save` in apply), where `Runtime::block_on` would panic. So
//! the store owns one thread with its own current-thread runtime and the SDK client; each call sends
//! it a job and waits on a std channel. Waiting on a std channel is allowed anywhere (it blocks the
//! calling thread only, and the work runs on the store's thread, so even a current-thread runtime
//! calling in cannot deadlock).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;

use super::store::{Created, Deleted, Object, Store};

/// `state "s3" { … }` as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// The state object's key, e.g. `team/watchkeep.json`.
    pub key: String,
    /// The bucket's region; when absent, the AWS chain's (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// An S3-compatible endpoint (MinIO, moto, LocalStack), e.g. `http://127.0.0.1:9000`.
    pub endpoint_url: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub force_path_style: bool,
    /// Whether `endpoint_url` was written in the configuration (which a pull request can change)
    /// rather than given by the operator (`state migrate --from-endpoint-url`): then it must be
    /// AWS's own or allowed in `WATCHKEEP_ALLOW_ENDPOINTS`, as a provider's is (issue 15).
    pub endpoint_in_configuration: bool,
}

impl S3Settings {
    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Parses `s3://bucket/key` (for `state migrate --from`); region and endpoint come from the
    /// caller.
    pub fn parse_url(url: &str) -> Option<S3Settings> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/')?;
        if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
            return None;
        }
        Some(S3Settings { bucket: bucket.to_string(), key: key.to_string(), ..S3Settings::default() })
    }
}

type Job = Box<dyn FnOnce(Client) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One bucket, through a client owned by a thread of its own (see the module docs).
#[derive(Debug)]
pub struct S3Store {
    settings: S3Settings,
    jobs: mpsc::Sender<Job>,
    /// Why the endpoint may not receive the AWS credentials: every call fails with it, and no
    /// client exists.
    refused: Option<String>,
}

/// Whether the configuration's `endpoint_url` may receive requests signed with the AWS
/// credentials: AWS's own hosts over https, or what the operator allows (see
/// [`watchkeep_provider::endpoint`]).
fn endpoint_refusal(settings: &S3Settings) -> Option<String> {
    let url = settings.endpoint_url.as_deref().filter(|_| settings.endpoint_in_configuration)?;
    let env = |k: &str| std::env::var(k).ok();
    match watchkeep_provider::endpoint::check(
        "AWS",
        "the `endpoint_url` attribute of `state \"s3\"`",
        url,
        &watchkeep_provider::endpoint::aws_host,
        &env,
    ) {
        Ok(()) => None,
        Err(watchkeep_provider::ProviderError::InvalidConfig { message }) => Some(message),
        Err(e) => Some(e.to_string()),
    }
}

/// The versioning warning is printed once per process (one command).
static VERSIONING_CHECKED: AtomicBool = AtomicBool::new(false);

impl S3Store {
    /// Starts the store's thread. Makes no request: credentials and the bucket are checked by the
    /// first call, whose error says what is wrong. (If the thread cannot start, its queue is
    /// dropped and every call answers that the S3 client stopped.)
    pub fn new(settings: S3Settings) -> S3Store {
        let (jobs, queue) = mpsc::channel::<Job>();
        if let Some(why) = endpoint_refusal(&settings) {
            // No thread, no client: nothing can be sent.
            return S3Store { settings, jobs, refused: Some(why) };
        }
        let config = settings.clone();
        let _ = std::thread::Builder::new().name("watchkeep-s3".to_string()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                // Every job's answer channel is dropped with the queue: callers get "stopped".
                Err(_) => return,
            };
            let client = runtime.block_on(client(&config));
            while let Ok(job) = queue.recv() {
                runtime.block_on(job(client.clone()));
            }
        });
        S3Store { settings, jobs, refused: None }
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    /// Runs `f` on the store's thread and waits for its answer.
    fn run<T, F, Fut>(&self, f: F) -> std::io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = std::io::Result<T>> + Send + 'static,
    {
        if let Some(why) = &self.refused {
            return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why.clone()));
        }
        let (answer, wait) = mpsc::channel();
        let job: Job = Box::new(move |c| {
            Box::pin(async move {
                let _ = answer.send(f(c).await);
            })
        });
        let stopped = || {
            std::io::Error::other("the S3 client thread stopped (it could not start a thread or a runtime)")
        };
        self.jobs.send(job).map_err(|_| stopped())?;
        wait.recv().map_err(|_| stopped())?
    }

    /// The bucket's versioning status (`Enabled`, `Suspended`, or `None` when never enabled).
    pub fn versioning(&self) -> std::io::Result<Option<String>> {
        let (bucket, ctx) = (self.settings.bucket.clone(), self.context(""));
        self.run(move |c| async move {
            match c.get_bucket_versioning().bucket(&bucket).send().await {
                Ok(out) => Ok(out.status().map(|s| s.as_str().to_string())),
                // moto 5.2.5 answers a never-versioned bucket with 200 and an empty
                // `<GetBucketVersioningResponse/>` root, where S3 sends an empty
                // `<VersioningConfiguration/>`; the SDK cannot parse it. Read the status from the
                // body ourselves when the answer was a 200.
                Err(e) if status(&e) == Some(200) => {
                    let body = e.raw_response().and_then(|r| r.body().bytes()).unwrap_or_default();
                    let text = String::from_utf8_lossy(body);
                    Ok(["Enabled", "Suspended"]
                        .into_iter()
                        .find(|s| text.contains(&format!("<Status>{s}</Status>")))
                        .map(str::to_string))
                }
                Err(e) => Err(ctx.error(e)),
            }
        })
    }

    fn context(&self, key: &str) -> Ctx {
        Ctx {
            bucket: self.settings.bucket.clone(),
            key: key.to_string(),
            endpoint: self.settings.endpoint_url.clone(),
            region: self.settings.region.clone(),
        }
    }
}

impl Store for S3Store {
    fn locate(&self, key: &str) -> PathBuf {
        PathBuf::from(format!("s3://{}/{key}", self.settings.bucket))
    }

    fn read(&self, key: &str) -> std::io::Result<Option<Object>> {
        let (bucket, k, ctx) = (self.settings.bucket.clone(), key.to_string(), self.context(key));
        self.run(move |c| async move {
            match c.get_object().bucket(&bucket).key(&k).send().await {
                Ok(out) => {
                    let etag = out.e_tag().map(str::to_string);
                    let body = out.body.collect().await.map_err(|e| {
                        std::io::Error::other(format!("reading s3://{bucket}/{k} stopped part-way: {e}"))
                    })?;
                    Ok(Some(Object { bytes: body.into_bytes().to_vec(), etag }))
                }
                Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
                // A GET of a missing key without s3:ListBucket permission answers 403, not 404; a
                // plain 404 without a code (HEAD-like answers of some S3-compatible stores) is a
                // missing key unless the code names the bucket.
                Err(e) if status(&e) == Some(404) && e.code() != Some("NoSuchBucket") => Ok(None),
                Err(e) => Err(ctx.error(e)),
            }
        })
    }

    fn write(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let (bucket, k, ctx, body) =
            (self.settings.bucket.clone(), key.to_string(), self.context(key), bytes.to_vec());
        self.run(move |c| async move {
            c.put_object()
                .bucket(&bucket)
                .key(&k)
                .content_type("application/json")
                .body(body.into())
                .send()
                .await
                .map_err(|e| ctx.error(e))?;
            Ok(())
        })
    }

    /// `PutObject` with `If-Match: <ETag>` (or `If-None-Match: *` when nothing is expected):
    /// 412 or 409 means the object changed meanwhile (AWS conditional-writes guide, cited in the
    /// module docs).
    fn write_if(&self, key: &str, bytes: &[u8], expected: Option<&Object>) -> std::io::Result<bool> {
        let etag = match expected {
            Some(o) => match &o.etag {
                Some(e) => Some(e.clone()),
                None => return Ok(false), // read without an ETag: cannot be checked
            },
            None => None,
        };
        let (bucket, k, ctx, body) =
            (self.settings.bucket.clone(), key.to_string(), self.context(key), bytes.to_vec());
        self.run(move |c| async move {
            let put =
                c.put_object().bucket(&bucket).key(&k).content_type("application/json").body(body.into());
            let put = match etag {
                Some(e) => put.if_match(e),
                None => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(_) => Ok(true),
                Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(false),
                // If-Match on a key that is gone: S3 answers 404.
                Err(e) if status(&e) == Some(404) && e.code() != Some("NoSuchBucket") => Ok(false),
                Err(e) => Err(ctx.error(e)),
            }
        })
    }

    /// `PutObject` with `If-None-Match: *`: 412 (exists) or 409 (a concurrent conditional write
    /// won) means something is there (AWS conditional-writes guide, cited in the module docs).
    fn create_new(&self, key: &str, bytes: &[u8]) -> std::io::Result<Created> {
        let (bucket, k, ctx, body) =
            (self.settings.bucket.clone(), key.to_string(), self.context(key), bytes.to_vec());
        self.run(move |c| async move {
            match c
                .put_object()
                .bucket(&bucket)
                .key(&k)
                .if_none_match("*")
                .content_type("application/json")
                .body(body.into())
                .send()
                .await
            {
                Ok(out) => Ok(Created::Created { etag: out.e_tag().map(str::to_string) }),
                Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Created::Exists),
                Err(e) => Err(ctx.error(e)),
            }
        })
    }

    fn list(&self, dir: &str) -> std::io::Result<Vec<String>> {
        let (bucket, ctx) = (self.settings.bucket.clone(), self.context(dir));
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.run(move |c| async move {
            let mut names = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = c
                    .list_objects_v2()
                    .bucket(&bucket)
                    .prefix(&prefix)
                    .delimiter("/")
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| ctx.error(e))?;
                for o in out.contents() {
                    if let Some(name) = o.key().and_then(|k| k.strip_prefix(prefix.as_str())) {
                        if !name.is_empty() {
                            names.push(name.to_string());
                        }
                    }
                }
                match out.next_continuation_token() {
                    Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            names.sort();
            Ok(names)
        })
    }

    /// `DeleteObject` with `If-Match: <ETag>`: 412 when the object changed, 409 on a concurrent
    /// write, 404 when it is gone (AWS conditional-deletes guide, cited in the module docs).
    fn delete_if(&self, key: &str, expected: &Object) -> std::io::Result<Deleted> {
        let Some(etag) = expected.etag.clone() else {
            // Without the ETag there is no safe conditional delete: leave it.
            return Ok(Deleted::Changed);
        };
        let (bucket, k, ctx) = (self.settings.bucket.clone(), key.to_string(), self.context(key));
        self.run(move |c| async move {
            match c.delete_object().bucket(&bucket).key(&k).if_match(etag).send().await {
                Ok(_) => Ok(Deleted::Deleted),
                Err(e) if matches!(status(&e), Some(412 | 409)) => Ok(Deleted::Changed),
                Err(e) if status(&e) == Some(404) && e.code() != Some("NoSuchBucket") => Ok(Deleted::Missing),
                Err(e) => Err(ctx.error(e)),
            }
        })
    }

    fn kind(&self) -> &'static str {
        "s3"
    }

    /// Once per process: a warning when the bucket does not keep versions (a bad write or a
    /// deleted state could then not be restored from S3 itself). An error here is not reported:
    /// the request that follows reports it with its context.
    fn versioning_warning(&self) -> Option<String> {
        if VERSIONING_CHECKED.swap(true, Ordering::SeqCst) {
            return None;
        }
        match self.versioning() {
            Ok(Some(s)) if s == "Enabled" => None,
            Ok(status) => Some(format!(
                "versioning is {} on bucket `{}`: earlier versions of the state cannot be restored from S3 \
                 (only the last one, `{}.backup`, is kept)\nhint: enable it with `aws s3api put-bucket-versioning \
                 --bucket {} --versioning-configuration Status=Enabled`",
                match status.as_deref() {
                    Some("Suspended") => "suspended",
                    _ => "not enabled",
                },
                self.settings.bucket,
                self.settings.key,
                self.settings.bucket
            )),
            Err(_) => {
                VERSIONING_CHECKED.store(false, Ordering::SeqCst);
                None
            }
        }
    }
}

fn status<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// What a failed request was about, for its message.
struct Ctx {
    bucket: String,
    key: String,
    endpoint: Option<String>,
    region: Option<String>,
}

impl Ctx {
    /// A message that names the bucket and key and says what to do; never credentials.
    fn error<E>(&self, e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> std::io::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        use std::io::ErrorKind;
        let what = if self.key.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.key)
        };
        let endpoint = self.endpoint.clone().unwrap_or_else(|| match &self.region {
            Some(r) => format!("S3 in {r}"),
            None => "S3".to_string(),
        });
        let code = e.code().map(str::to_string);
        let status = status(&e);
        let (kind, msg) = match (&e, code.as_deref(), status) {
            (SdkError::DispatchFailure(d), ..) if d.is_timeout() => (
                ErrorKind::TimedOut,
                format!("{what}: {endpoint} did not answer in time\nhint: check the network and `endpoint_url`, then run the command again"),
            ),
            (SdkError::TimeoutError(_), ..) => (
                ErrorKind::TimedOut,
                format!("{what}: {endpoint} did not answer in time\nhint: check the network and `endpoint_url`, then run the command again"),
            ),
            (SdkError::DispatchFailure(d), ..) if d.is_io() => (
                ErrorKind::ConnectionRefused,
                format!("{what}: cannot reach {endpoint} ({})\nhint: check `endpoint_url` / `region` and the network", detail(&e)),
            ),
            (SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_), ..) => (
                ErrorKind::Other,
                format!("{what}: the request could not be sent ({})\nhint: check that AWS credentials are available (environment, profile or role) and `region` is set", detail(&e)),
            ),
            (_, Some("NoSuchBucket"), _) => (
                ErrorKind::NotFound,
                format!("{what}: the bucket `{}` does not exist at {endpoint}\nhint: create it (with versioning enabled) or fix `bucket` in `state \"s3\"`", self.bucket),
            ),
            (_, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken"), _) | (_, _, Some(403)) => (
                ErrorKind::PermissionDenied,
                format!(
                    "{what}: access denied ({})\nhint: check the AWS credentials (environment, profile or role) and that they allow \
                     s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket and s3:GetBucketVersioning on `{}`",
                    code.as_deref().unwrap_or("403"),
                    self.bucket
                ),
            ),
            (_, Some("PermanentRedirect" | "AuthorizationHeaderMalformed"), _) | (_, _, Some(301)) => (
                ErrorKind::Other,
                format!("{what}: the bucket is in another region than the one used ({})\nhint: set `region` in `state \"s3\"` to the bucket's region", code.as_deref().unwrap_or("301")),
            ),
            _ => (ErrorKind::Other, format!("{what}: {}", detail(&e))),
        };
        std::io::Error::new(kind, msg)
    }
}

/// The error's own words: its code and message, or the chain of sources.
fn detail<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    }
}

/// The client: the standard credentials chain, the configured region and endpoint, rustls on ring
/// (the same HTTPS client as the CloudWatch provider), bounded connect and operation times, and the
/// SDK's standard retries (3 attempts) for throttling and transient errors.
async fn client(s: &S3Settings) -> Client {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(90))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(region) = &s.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &s.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    // Unit tests talk to moto only: dummy credentials, never a developer's own.
    #[cfg(test)]
    {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "watchkeep-unit-tests",
        ));
    }
    let shared = loader.load().await;
    // Checksums only where S3 requires them: S3-compatible stores (and older moto/MinIO) reject or
    // ignore the newer flexible-checksum headers; S3 itself accepts either.
    let conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(s.force_path_style)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: an `endpoint_url` written in the configuration gets no request unless it is AWS's
    /// own or the operator allows it; one the operator gives on the command line is theirs.
    #[test]
    fn a_configured_endpoint_elsewhere_gets_nothing() {
        let evil = S3Settings {
            bucket: "b".into(),
            key: "k/state.json".into(),
            endpoint_url: Some("https://collector.evil.example".into()),
            endpoint_in_configuration: true,
            ..S3Settings::default()
        };
        let store = S3Store::new(evil.clone());
        let e = store.versioning().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(
            e.to_string().contains("`https://collector.evil.example`")
                && e.to_string().contains("WATCHKEEP_ALLOW_ENDPOINTS"),
            "{e}"
        );
        for ok in ["https://s3.eu-west-1.amazonaws.com", "https://bucket.s3.amazonaws.com.cn"] {
            let s = S3Settings { endpoint_url: Some(ok.into()), ..evil.clone() };
            assert!(endpoint_refusal(&s).is_none(), "{ok}");
        }
        let operator = S3Settings { endpoint_in_configuration: false, ..evil };
        assert!(endpoint_refusal(&operator).is_none());
    }
    use crate::state::store::Layout;
    use crate::state::{Backend, ChangeCounts, HistoryEntry, State, StateError};
    use std::io::{BufRead, BufReader};
    use std::sync::Arc;

    #[test]
    fn s3_urls() {
        let s = S3Settings::parse_url("s3://acme/team/w.json").expect("url");
        assert_eq!((s.bucket.as_str(), s.key.as_str()), ("acme", "team/w.json"));
        assert_eq!(s.url(), "s3://acme/team/w.json");
        for bad in ["s3://acme", "s3://acme/", "s3:///k", "s3://a/dir/", "/tmp/x"] {
            assert!(S3Settings::parse_url(bad).is_none(), "{bad}");
        }
    }

    /// moto's S3 server on a free port (`-p 0`), stopped on drop. The same executable the e2e
    /// tests use: `WATCHKEEP_MOTO_SERVER`, or `target/py/moto` as `.ci/run` installs it.
    struct Moto(std::process::Child, String);

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn moto() -> Moto {
        let exe = std::env::var_os("WATCHKEEP_MOTO_SERVER").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py/moto/bin/moto_server")
        });
        assert!(
            exe.is_file(),
            "moto_server not found at {}: run .ci/run once (it installs moto under target/py) or set WATCHKEEP_MOTO_SERVER",
            exe.display()
        );
        let mut child = std::process::Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let stderr = child.stderr.take().expect("stderr");
        let mut url = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("http://127.0.0.1:") {
                url = Some(line[i..].split_whitespace().next().unwrap_or_default().to_string());
                break;
            }
        }
        let url = url.expect("moto_server printed no address");
        Moto(child, url)
    }

    fn store(m: &Moto, bucket: &str) -> S3Store {
        let settings = S3Settings {
            bucket: bucket.to_string(),
            key: "team/watchkeep.json".to_string(),
            region: Some("us-east-1".to_string()),
            endpoint_url: Some(m.1.clone()),
            force_path_style: true,
            // As `state migrate --from-endpoint-url` gives it: the operator's own.
            endpoint_in_configuration: false,
        };
        let store = S3Store::new(settings);
        let b = bucket.to_string();
        store
            .run(move |c| async move {
                c.create_bucket().bucket(&b).send().await.map_err(std::io::Error::other)?;
                Ok(())
            })
            .expect("create bucket");
        store
    }

    #[test]
    fn conditional_writes_against_moto() {
        let m = moto();
        let s = store(&m, "wk-unit-store");
        assert_eq!(s.versioning().expect("versioning"), None, "a new bucket is unversioned");
        assert_eq!(s.read("a/lock").expect("read"), None);

        let first = match s.create_new("a/lock", b"one").expect("create") {
            Created::Created { etag: Some(etag) } => etag,
            other => panic!("expected an ETag, got {other:?}"),
        };
        // A second `If-None-Match: *` write is refused (412), and the object is untouched.
        assert_eq!(s.create_new("a/lock", b"two").expect("create again"), Created::Exists);
        let held = s.read("a/lock").expect("read").expect("object");
        assert_eq!((held.bytes.as_slice(), held.etag.as_deref()), (&b"one"[..], Some(first.as_str())));

        // A delete with another ETag is refused (412); with ours it goes.
        let wrong =
            Object { bytes: b"one".to_vec(), etag: Some("\"0123456789abcdef0123456789abcdef\"".into()) };
        assert_eq!(s.delete_if("a/lock", &wrong).expect("delete"), Deleted::Changed);
        assert!(s.read("a/lock").expect("read").is_some());
        assert_eq!(s.delete_if("a/lock", &held).expect("delete"), Deleted::Deleted);
        assert_eq!(s.read("a/lock").expect("read"), None);

        // A conditional replace with a stale ETag is refused (412); with the current one it goes.
        s.write("c.json", b"1").expect("write");
        let c1 = s.read("c.json").expect("read").expect("c");
        assert!(s.write_if("c.json", b"2", Some(&c1)).expect("write_if"));
        assert!(!s.write_if("c.json", b"3", Some(&c1)).expect("stale write_if"));
        assert!(!s.write_if("c.json", b"3", None).expect("exists"));
        assert_eq!(s.read("c.json").expect("read").expect("c").bytes, b"2");

        s.write("d/x.json", b"1").expect("write");
        s.write("d/y.json", b"2").expect("write");
        s.write("d/sub/z.json", b"3").expect("write");
        assert_eq!(s.list("d").expect("list"), ["x.json", "y.json"], "only what is directly in the folder");

        let missing = S3Store::new(S3Settings { bucket: "wk-no-such-bucket".into(), ..s.settings().clone() });
        let e = missing.read("k").expect_err("no bucket");
        assert!(
            e.to_string().contains("s3://wk-no-such-bucket/k") && e.to_string().contains("does not exist"),
            "{e}"
        );

        // Nothing listens on the endpoint: a clear error naming the object and what to check.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let unreachable = S3Store::new(S3Settings {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            ..s.settings().clone()
        });
        let e = unreachable.write("k", b"x").expect_err("unreachable");
        let m = e.to_string();
        assert!(m.contains("s3://wk-unit-store/k") && m.contains("cannot reach"), "{m}");
        assert!(m.contains("endpoint_url"), "{m}");
        assert!(!m.contains("testing"), "no credentials in errors: {m}");
    }

    #[test]
    fn state_lock_and_history_round_trip_on_moto_also_from_async_code() {
        let m = moto();
        let s = store(&m, "wk-unit-backend");
        let b = Backend::with_store(Arc::new(s), Layout::s3("team/watchkeep.json"));
        assert_eq!(b.state_path(), PathBuf::from("s3://wk-unit-backend/team/watchkeep.json"));
        assert!(b.load().expect("load").is_none());

        // Called from inside a current-thread runtime, where a nested block_on would panic.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (state, lock_id) = rt.block_on(async {
            let lock = b.lock("apply").expect("lock");
            let mut state = State::new();
            for _ in 0..3 {
                lock.save(&mut state).expect("save");
                let entry = HistoryEntry {
                    version: 0,
                    serial: state.serial,
                    lineage: state.lineage.clone(),
                    timestamp: String::new(),
                    operation: "apply".into(),
                    actor: "unit@example.com".into(),
                    source_revision: None,
                    outcome: "complete".into(),
                    counts: ChangeCounts::default(),
                    changes: Vec::new(),
                    previous_sha256: None,
                };
                lock.append_history(entry).expect("append");
            }
            match b.lock("destroy") {
                Err(StateError::Locked { info, stale: false, .. }) => assert_eq!(&info, lock.info()),
                other => panic!("expected Locked, got {other:?}"),
            }
            let id = lock.info().id.clone();
            lock.release().expect("release");
            (state, id)
        });
        assert!(!lock_id.is_empty());
        assert_eq!(b.read_lock().expect("read lock"), None);
        assert_eq!(b.load().expect("load").expect("state"), state);
        assert_eq!(state.serial, 3);
        let chain = b.history_chain().expect("chain");
        assert!(chain.intact(), "{:?}", chain.problems);
        assert_eq!(b.history().expect("history").iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2, 3]);

        // A forced unlock makes the old holder's next save LockLost, and its drop leaves the new lock.
        let old = b.lock("apply").expect("lock");
        b.force_unlock(&old.info().id).expect("force unlock");
        let newer = b.lock("apply").expect("new lock");
        let mut s2 = state.clone();
        assert!(matches!(old.save(&mut s2), Err(StateError::LockLost { found: Some(_), .. })));
        drop(old);
        assert_eq!(b.read_lock().expect("read").as_ref(), Some(newer.info()));
        assert!(matches!(b.force_unlock("wrong"), Err(StateError::WrongLockId { .. })));
        drop(newer);
        assert_eq!(b.read_lock().expect("read"), None);
    }
}
