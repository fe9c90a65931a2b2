//! The two SDK clients (CloudWatch, SNS), built lazily on first use, and the single place where
//! the SDK's errors become typed [`ProviderError`]s. Every HTTP request is counted by an
//! interceptor. Nothing here retries: the SDK's own retries are disabled and the engine retries
//! with `watchkeep_provider::with_retries`.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_cloudwatch::config::{ConfigBag, HttpClient, Intercept, RuntimeComponents, SharedHttpClient};
use aws_sdk_cloudwatch::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::result::ConnectorError;
use tokio::sync::OnceCell;
use watchkeep_provider::{shorten, BudgetStats, CallCounter, ProviderError, RateBudget};

use crate::config::{CloudWatchConfig, Credentials, ENV_ACCESS_KEY_ID, ENV_PROFILE, ENV_SECRET_ACCESS_KEY};

/// Which AWS service answered; SNS messages get URLs redacted (subscription endpoints carry
/// secrets such as webhook tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    CloudWatch,
    Sns,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::CloudWatch => "CloudWatch",
            Service::Sns => "SNS",
        }
    }

    /// The prefix of this service's rate-budget families (`cloudwatch:PutMetricAlarm`).
    fn family_prefix(self) -> &'static str {
        match self {
            Service::CloudWatch => "cloudwatch",
            Service::Sns => "sns",
        }
    }
}

pub(crate) struct Clients {
    pub(crate) cw: aws_sdk_cloudwatch::Client,
    pub(crate) sns: aws_sdk_sns::Client,
}

/// Lazily built SDK clients plus the request counter.
pub(crate) struct Aws {
    config: CloudWatchConfig,
    clients: OnceCell<Clients>,
    calls: Arc<CallCounter>,
    budget: Arc<RateBudget>,
}

/// Counts every HTTP request the SDK sends (retries are off, so one per operation, but requests
/// that never reach the wire, e.g. for want of credentials, are not counted).
#[derive(Debug)]
struct CountRequests(Arc<CallCounter>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "watchkeep::CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.incr();
        Ok(())
    }
}

impl Aws {
    pub(crate) fn new(config: CloudWatchConfig) -> Self {
        let budget = Arc::new(RateBudget::default());
        for (operation, rate) in config.quotas().iter() {
            budget.set_fixed_rate(&format!("cloudwatch:{operation}"), rate);
        }
        // SNS calls of `routes test` (see `quota`).
        budget.set_fixed_rate("sns:Publish", crate::quota::sns_publish_rate(config.region()));
        for (operation, rate) in crate::quota::SNS_QUOTAS {
            budget.set_fixed_rate(&format!("sns:{operation}"), *rate);
        }
        Aws { config, clients: OnceCell::new(), calls: Arc::new(CallCounter::default()), budget }
    }

    pub(crate) fn budget_stats(&self) -> BudgetStats {
        self.budget.stats()
    }

    pub(crate) fn config(&self) -> &CloudWatchConfig {
        &self.config
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.get()
    }

    pub(crate) async fn cw(&self) -> &aws_sdk_cloudwatch::Client {
        &self.clients().await.cw
    }

    pub(crate) async fn sns(&self) -> &aws_sdk_sns::Client {
        &self.clients().await.sns
    }

    async fn clients(&self) -> &Clients {
        self.clients.get_or_init(|| build_clients(&self.config, &self.calls, &self.budget)).await
    }
}

/// The rate-budget family of one request (`cloudwatch:PutMetricAlarm`), put on the request by
/// [`Pace`] and read by [`PacedConnector`].
#[derive(Debug, Clone)]
struct Family(Arc<str>);

/// Names each request's family from the operation's metadata, gives CloudWatch operations the
/// quota table does not know AWS's unpublished-default rate, and reports throttling answers to
/// the budget so the whole family waits instead of every in-flight request finding out alone.
#[derive(Debug)]
struct Pace {
    service: Service,
    budget: Arc<RateBudget>,
}

impl Pace {
    fn family(&self, cfg: &ConfigBag) -> String {
        let operation = cfg.load::<Metadata>().map_or("Unknown", |m| m.name());
        format!("{}:{operation}", self.service.family_prefix())
    }
}

impl Intercept for Pace {
    fn name(&self) -> &'static str {
        "watchkeep::Pace"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let family = self.family(cfg);
        if self.service == Service::CloudWatch {
            let operation = family.split_once(':').map_or("", |(_, op)| op);
            if !crate::quota::QUOTAS.iter().any(|(op, _, _)| *op == operation) {
                // No published quota: the conservative default (see `quota`).
                self.budget.set_fixed_rate(&family, crate::quota::UNPUBLISHED_DEFAULT);
            }
        }
        context.request_mut().add_extension(Family(family.into()));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        if status < 400 {
            return Ok(());
        }
        // awsQuery errors: `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>…`
        // (the body is buffered by the time the response is deserialized).
        let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
        let throttled = status == 429
            || THROTTLING_CODES.iter().any(|code| body.contains(&format!("<Code>{code}</Code>")));
        if throttled {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            self.budget.throttled(&self.family(cfg), retry_after);
        }
        Ok(())
    }
}

/// The HTTP client every request goes through: waits for a slot of the request's family in the
/// provider's [`RateBudget`] before sending it. This is the one place every operation passes
/// (the interceptor hooks cannot wait).
#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    budget: Arc<RateBudget>,
    /// `timeout_seconds`: bounds each request once it has its slot. The SDK's operation timeout
    /// would count the wait for the slot too, and at high `-parallelism` a request can queue
    /// for longer than that (64 PutMetricAlarm at 2.85/s: 22 s) without anything being wrong.
    timeout: Duration,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            budget: Arc::clone(&self.budget),
            timeout: self.timeout,
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    budget: Arc<RateBudget>,
    timeout: Duration,
}

/// Tells the budget a request is answered (or abandoned: an operation timeout drops the future).
struct Answered {
    budget: Arc<RateBudget>,
    family: Arc<str>,
}

impl Drop for Answered {
    fn drop(&mut self) {
        self.budget.observe(&self.family, None);
    }
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let budget = Arc::clone(&self.budget);
        let family = request.extension::<Family>().map(|f| Arc::clone(&f.0));
        let timeout = self.timeout;
        HttpConnectorFuture::new(async move {
            let _answered = match family {
                Some(family) => {
                    budget.acquire(&family).await;
                    Some(Answered { budget, family })
                }
                None => None,
            };
            match tokio::time::timeout(timeout, inner.call(request)).await {
                Ok(answer) => answer,
                Err(_) => Err(ConnectorError::timeout(
                    format!("no answer within {} s (`timeout_seconds`)", timeout.as_secs()).into(),
                )),
            }
        })
    }
}

/// Loads the shared AWS configuration (region, credentials chain, timeouts, no retries, one
/// rustls HTTPS client) and builds both service clients from it. Loading makes no request:
/// credentials are resolved on the first call.
async fn build_clients(
    cfg: &CloudWatchConfig,
    calls: &Arc<CallCounter>,
    budget: &Arc<RateBudget>,
) -> Clients {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let http_client = SharedHttpClient::new(PacedClient {
        inner: https,
        budget: Arc::clone(budget),
        timeout: cfg.timeout(),
    });
    // No SDK operation timeout: it would include the wait for a paced slot; `PacedClient` bounds
    // each request from the moment it is sent until the answer's headers, and the SDK's
    // stalled-stream protection (on by default with this behavior version) ends a body that
    // stops arriving.
    let timeouts =
        TimeoutConfig::builder().connect_timeout(cfg.timeout().min(Duration::from_secs(10))).build();
    // Upload stall protection off: it measures a request body's throughput from when the body
    // is made, so a request waiting more than its grace period (5 s) for a paced slot fails as
    // "minimum throughput ... 0 B/s" without being sent (and is retried into the same queue).
    // Request bodies here are small in-memory forms; download protection stays on.
    let stall = aws_sdk_cloudwatch::config::StalledStreamProtectionConfig::enabled()
        .upload_enabled(false)
        .download_enabled(true)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .stalled_stream_protection(stall)
        .region(Region::new(cfg.region().to_string()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .http_client(http_client);
    if let Some(url) = cfg.endpoint_url() {
        loader = loader.endpoint_url(url);
    }
    loader = match cfg.credentials() {
        Credentials::Static { access_key_id, secret_access_key, session_token } => loader
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                access_key_id.expose(),
                secret_access_key.expose(),
                session_token.as_ref().map(|t| t.expose().to_string()),
                None,
                "watchkeep-environment",
            )),
        Credentials::Profile(name) => loader.profile_name(name),
        Credentials::DefaultChain => loader,
    };
    let shared = loader.load().await;
    let cw = aws_sdk_cloudwatch::config::Builder::from(&shared)
        .interceptor(CountRequests(Arc::clone(calls)))
        .interceptor(Pace { service: Service::CloudWatch, budget: Arc::clone(budget) })
        .build();
    let sns = aws_sdk_sns::config::Builder::from(&shared)
        .interceptor(CountRequests(Arc::clone(calls)))
        .interceptor(Pace { service: Service::Sns, budget: Arc::clone(budget) })
        .build();
    Clients { cw: aws_sdk_cloudwatch::Client::from_conf(cw), sns: aws_sdk_sns::Client::from_conf(sns) }
}

/// Error codes AWS uses for throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
];

/// Error codes that mean the credentials are missing, wrong, expired or not allowed.
const AUTH_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "InvalidSecurity",
];

/// Error codes that mean the object does not exist.
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFound",
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "DashboardNotFoundError",
];

/// The hint attached to every authentication error.
fn auth_hint() -> String {
    format!(
        "hint: set `{ENV_ACCESS_KEY_ID}` and `{ENV_SECRET_ACCESS_KEY}` (and `AWS_SESSION_TOKEN` for \
         temporary credentials), or `profile` in the provider block / `{ENV_PROFILE}`; check that \
         the credentials are valid for this account and region and allow the CloudWatch and SNS \
         actions"
    )
}

/// Maps an SDK error of operation `what` (e.g. `CloudWatch DescribeAlarms`) to a
/// [`ProviderError`]. `secrets` are strings that must never appear in the message (a
/// subscription's endpoint); for SNS every URL in a vendor message is redacted as well.
pub(crate) fn map_error<E>(
    service: Service,
    operation: &str,
    err: SdkError<E, HttpResponse>,
    secrets: &[&str],
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = format!("{} {operation}", service.name());
    let clean = |s: &str| scrub(service, s, secrets);
    match &err {
        SdkError::TimeoutError(_) => ProviderError::Transient { message: format!("{what} timed out") },
        SdkError::ResponseError(_) => {
            ProviderError::Decode { message: format!("{what}: {}", clean(&error_chain(&err))) }
        }
        SdkError::ServiceError(service_err) => {
            let status = service_err.raw().status().as_u16();
            let retry_after = service_err
                .raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            classify(&what, status, err.code(), err.message().map(&clean).as_deref(), retry_after)
        }
        // Dispatch and construction failures: connection problems, or no usable credentials
        // (the SDK resolves them just before sending).
        _ => {
            let chain = error_chain(&err);
            if mentions_credentials(&chain) {
                ProviderError::Auth {
                    message: format!(
                        "{what}: no usable AWS credentials ({})\n{}",
                        clean(&chain),
                        auth_hint()
                    ),
                }
            } else {
                ProviderError::Transient { message: format!("{what} failed: {}", clean(&chain)) }
            }
        }
    }
}

/// The decision table for an error response, separate from the SDK types so it can be tested.
pub(crate) fn classify(
    what: &str,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    retry_after: Option<Duration>,
) -> ProviderError {
    let detail = match (code, message) {
        (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {}", shorten(m.trim())),
        (Some(c), _) => c.to_string(),
        (None, Some(m)) if !m.is_empty() => shorten(m.trim()),
        _ => format!("HTTP {status} without an error code"),
    };
    let code_is = |list: &[&str]| code.is_some_and(|c| list.contains(&c));
    // A success status whose body could not be read as the operation's answer.
    if (200..300).contains(&status) {
        return ProviderError::Decode { message: format!("{what} answered HTTP {status} with {detail}") };
    }
    if code_is(THROTTLING_CODES) || status == 429 {
        // A `Retry-After` beyond the cap is not waited for nor retried (issue 15).
        if let Some(d) = retry_after.filter(|d| *d > watchkeep_provider::MAX_VENDOR_WAIT) {
            return watchkeep_provider::too_long("cloudwatch:CloudWatch", d.as_secs());
        }
        return ProviderError::RateLimited { retry_after };
    }
    if code_is(AUTH_CODES) || (code.is_none() && matches!(status, 401 | 403)) {
        return ProviderError::Auth { message: format!("{what}: {detail}\n{}", auth_hint()) };
    }
    // A 404 without an AWS error code is not "the object is gone" but most likely a wrong
    // `endpoint_url` (or an endpoint that does not speak the awsQuery protocol).
    if code_is(NOT_FOUND_CODES) {
        return ProviderError::NotFound { what: format!("{what} ({detail})") };
    }
    if code == Some("NotImplemented") {
        return ProviderError::Api { status, body: detail };
    }
    if status >= 500
        || code_is(&["ServiceUnavailable", "InternalFailure", "InternalServiceError", "InternalError"])
    {
        return ProviderError::Transient { message: format!("{what} answered HTTP {status}: {detail}") };
    }
    ProviderError::Api { status, body: detail }
}

fn mentions_credentials(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("credential") || t.contains("no auth scheme") || t.contains("profile")
}

/// The error and its sources, `: `-joined, without repeats (the SDK nests the same text).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Removes secrets from a vendor message: the given strings, and for SNS every URL.
pub(crate) fn scrub(service: Service, text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<redacted>");
    }
    if service == Service::Sns {
        out = redact_urls(&out);
    }
    out
}

/// Replaces every `http://…` / `https://…` run (up to whitespace or a quote) with `<redacted URL>`.
pub(crate) fn redact_urls(text: &str) -> String {
    watchkeep_provider::replace_urls(text, |_| "<redacted URL>".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let c = |status, code: Option<&str>| classify("CloudWatch X", status, code, Some("m"), None);
        for code in ["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"]
        {
            assert!(matches!(c(400, Some(code)), ProviderError::RateLimited { .. }), "{code}");
        }
        assert!(matches!(c(429, None), ProviderError::RateLimited { .. }));
        assert!(matches!(
            classify("x", 400, Some("Throttling"), None, Some(Duration::from_secs(3))),
            ProviderError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3)
        ));
        // Issue 15: a `Retry-After` beyond the cap is neither waited for nor retried.
        for secs in [301, 3600, u64::MAX] {
            let e = classify("x", 429, None, None, Some(Duration::from_secs(secs)));
            assert!(!e.is_retryable(), "{e:?}");
            assert!(e.to_string().contains(&format!("AWS asked to wait {secs} s")), "{e}");
        }
        for code in [
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "AccessDenied",
            "AccessDeniedException",
            "ExpiredToken",
            "SignatureDoesNotMatch",
        ] {
            match c(403, Some(code)) {
                ProviderError::Auth { message } => {
                    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}")
                }
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(c(404, Some("ResourceNotFound")), ProviderError::NotFound { .. }));
        assert!(matches!(c(404, Some("NotFound")), ProviderError::NotFound { .. }));
        // A bare 404 is a wrong endpoint, not a missing object.
        assert!(matches!(c(404, None), ProviderError::Api { status: 404, .. }));
        assert!(matches!(c(500, None), ProviderError::Transient { .. }));
        assert!(matches!(c(200, None), ProviderError::Decode { .. }));
        assert!(matches!(c(503, Some("ServiceUnavailable")), ProviderError::Transient { .. }));
        assert!(matches!(c(501, Some("NotImplemented")), ProviderError::Api { status: 501, .. }));
        match classify("x", 400, Some("ValidationError"), Some("Period must be 60"), None) {
            ProviderError::Api { status, body } => {
                assert_eq!(status, 400);
                assert_eq!(body, "ValidationError: Period must be 60");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_and_secrets_are_redacted() {
        assert_eq!(
            redact_urls("Invalid parameter: Endpoint https://hooks.example.com/T0/B1/secret?x=1 is bad"),
            "Invalid parameter: Endpoint <redacted URL> is bad"
        );
        assert_eq!(redact_urls("a HTTP://x b http://y"), "a <redacted URL> b <redacted URL>");
        assert_eq!(redact_urls("no urls"), "no urls");
        assert_eq!(
            scrub(Service::CloudWatch, "ops@example.com is invalid", &["ops@example.com"]),
            "<redacted> is invalid"
        );
        assert_eq!(scrub(Service::CloudWatch, "see http://x", &[]), "see http://x");
    }
}
