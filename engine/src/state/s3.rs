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
}

/// The versioning warning is printed once per process (one command).
static VERSIONING_CHECKED: AtomicBool = AtomicBool::new(false);

impl S3Store {
    /// Starts the store's thread. Makes no request: credentials and the bucket are checked by the
    /// first call, whose error says what is wrong. (If the thread cannot start, its queue is
    /// dropped and every call answers that the S3 client stopped.)
    pub fn new(settings: S3Settings) -> S3Store {
        let (jobs, queue) = mpsc::channel::<Job>();
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
        S3Store { settings, jobs }
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
            let out = c.get_bucket_versioning().bucket(&bucket).send().await.map_err(|e| ctx.error(e))?;
            Ok(out.status().map(|s| s.as_str().to_string()))
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
