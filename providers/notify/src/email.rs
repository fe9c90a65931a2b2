//! Email over SMTP (lettre): one test mail per target, then one "resolved" mail in the same
//! thread (`In-Reply-To` and `References` name the test mail's `Message-ID`).

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{scrub, Options, Outcome, Secret, Status, TestMessage};

/// How the connection is secured (RFC 3207 STARTTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    /// Refuse to send unless the server offers STARTTLS and the upgrade succeeds.
    Required,
    /// Upgrade when the server offers STARTTLS, else send in clear text.
    Opportunistic,
    /// Never upgrade (a relay on loopback or a private network only).
    None,
}

/// Where and how mail is sent.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub starttls: StartTls,
    pub username: Option<String>,
    /// From a sensitive variable; never printed.
    pub password: Option<Secret>,
    /// The sender, `watchkeep@example.com` or `Watchkeep <watchkeep@example.com>`.
    pub from: String,
    /// Extra trusted root certificate(s), PEM (a private relay's CA); the usual web roots apply too.
    pub ca_pem: Option<Vec<u8>>,
}

/// One `email { to = [...] }` target.
#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub to: Vec<String>,
}

fn transport(s: &SmtpSettings, opts: &Options) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
        .port(s.port)
        .timeout(Some(opts.timeout));
    let params = || -> Result<TlsParameters, String> {
        let mut p = TlsParameters::builder(s.host.clone());
        if let Some(pem) = &s.ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| format!("the SMTP CA certificate is not valid PEM: {e}"))?;
            p = p.add_root_certificate(cert);
        }
        p.build_rustls().map_err(|e| format!("could not set up TLS for SMTP: {e}"))
    };
    b = match s.starttls {
        StartTls::Required => b.tls(Tls::Required(params()?)),
        StartTls::Opportunistic => b.tls(Tls::Opportunistic(params()?)),
        StartTls::None => b.tls(Tls::None),
    };
    if let (Some(user), Some(pw)) = (&s.username, &s.password) {
        b = b.credentials(Credentials::new(user.clone(), pw.expose().to_string()));
    }
    Ok(b.build())
}

fn message(
    s: &SmtpSettings,
    t: &EmailTarget,
    subject: String,
    body: String,
    id: &str,
    reply_to: Option<&str>,
) -> Result<Message, String> {
    let from: Mailbox = s.from.parse().map_err(|e| format!("from address `{}` is not valid: {e}", s.from))?;
    let mut m = Message::builder().from(from).subject(subject).message_id(Some(id.to_string()));
    for to in &t.to {
        let mb: Mailbox = to.parse().map_err(|e| format!("recipient `{to}` is not valid: {e}"))?;
        m = m.to(mb);
    }
    if let Some(parent) = reply_to {
        m = m.in_reply_to(parent.to_string()).references(parent.to_string());
    }
    m.header(ContentType::TEXT_PLAIN).body(body).map_err(|e| format!("could not build the test mail: {e}"))
}

/// Sends one test mail to every recipient of `target`, then one "resolved" mail in its thread.
/// Transient SMTP answers (4xx) and connection failures are retried with back-off; permanent
/// answers (5xx) are refusals.
pub async fn email(s: &SmtpSettings, target: &EmailTarget, msg: &TestMessage, opts: &Options) -> Outcome {
    let pw = s.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default();
    let secrets = [pw.as_str()];
    let id = format!("<{}@watchkeep.invalid>", msg.dedup_key);
    let fail = |status, answer: String, attempts| Outcome {
        status,
        answer: scrub(&answer, &secrets),
        dedup_key: Some(id.clone()),
        attempts,
        resolved: None,
    };
    let transport = match transport(s, opts) {
        Ok(t) => t,
        Err(e) => return fail(Status::Failed, e, 0),
    };
    let recipients = target.to.join(", ");
    let test = match message(
        s,
        target,
        msg.summary(),
        format!(
            "This is a test notification sent by `watchkeep routes test` for route `{}`.\n\
             Target: {}\nDedup key: {}\n\nNo action is needed; a \"resolved\" mail follows in this thread.\n",
            msg.route, msg.target, msg.dedup_key
        ),
        &id,
        None,
    ) {
        Ok(m) => m,
        Err(e) => return fail(Status::Rejected, e, 0),
    };
    let (status, answer, mut attempts) = send(&transport, &test, opts).await;
    if status != Status::Delivered {
        return fail(status, answer, attempts);
    }
    let resolve_id = format!("<{}-resolved@watchkeep.invalid>", msg.dedup_key);
    let resolve = match message(
        s,
        target,
        msg.resolved_summary(),
        format!("Resolved: the test notification for route `{}` ({}) is closed.\n", msg.route, msg.dedup_key),
        &resolve_id,
        Some(&id),
    ) {
        Ok(m) => m,
        Err(e) => return fail(Status::Failed, e, attempts),
    };
    let (rstatus, ranswer, rattempts) = send(&transport, &resolve, opts).await;
    attempts += rattempts;
    let delivered = rstatus == Status::Delivered;
    Outcome {
        status: if delivered { Status::Delivered } else { Status::Failed },
        answer: scrub(
            &if delivered {
                format!("{answer} to {recipients}; resolve: {ranswer}")
            } else {
                format!("{answer} to {recipients}; resolve refused: {ranswer}")
            },
            &secrets,
        ),
        dedup_key: Some(id.clone()),
        attempts,
        resolved: Some(delivered),
    }
}

async fn send(t: &AsyncSmtpTransport<Tokio1Executor>, m: &Message, opts: &Options) -> (Status, String, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match t.send(m.clone()).await {
            Ok(resp) => {
                let text = resp.message().collect::<Vec<_>>().join(" ");
                return (Status::Delivered, format!("{} {text}", resp.code()).trim().to_string(), attempts);
            }
            Err(e) if e.is_permanent() => return (Status::Rejected, format!("SMTP refused: {e}"), attempts),
            Err(e) if e.is_tls() => return (Status::Failed, format!("SMTP TLS failed: {e}"), attempts),
            Err(e) => {
                if attempts >= opts.max_attempts {
                    let answer = format!("SMTP failed: {e} (after {attempts} attempts)");
                    return (Status::Failed, answer, attempts);
                }
                tokio::time::sleep(opts.wait(attempts, None)).await;
            }
        }
    }
}
