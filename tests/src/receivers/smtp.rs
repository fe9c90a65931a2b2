//! A real SMTP receiver on loopback (RFC 5321): EHLO/HELO, STARTTLS (RFC 3207, with a
//! self-signed certificate from rcgen), AUTH PLAIN and LOGIN (RFC 4954 / 4616), MAIL, RCPT,
//! DATA (dot-unstuffed), RSET, NOOP, QUIT. It keeps every accepted mail for tests to read.
//!
//! Written here rather than taken from `mailin-embedded`: that crate pulls rustls with its
//! default aws-lc-rs provider (a C build the workspace avoids by keeping to ring) and serves on a
//! thread pool that cannot be stopped.
//!
//! As real submission servers do, AUTH is only advertised and accepted once the session is
//! encrypted when STARTTLS is offered, and MAIL is refused until the client authenticated when
//! authentication is configured (530).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::rustls;

use crate::server::BackgroundServer;

/// How the receiver behaves.
#[derive(Debug, Clone, Default)]
pub struct SmtpReceiverOptions {
    /// Offer STARTTLS with a fresh self-signed certificate for `localhost` and `127.0.0.1`.
    pub starttls: bool,
    /// Require AUTH with this user name and password.
    pub auth: Option<(String, String)>,
    /// Print each accepted mail's envelope and subject on stderr (the sandbox).
    pub echo: bool,
}

/// One accepted mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as received (headers and body, CRLF line ends, dots unstuffed).
    pub data: String,
    /// The user that authenticated, if any.
    pub authenticated_as: Option<String>,
    /// Whether the session was upgraded with STARTTLS.
    pub tls: bool,
}

impl Mail {
    /// The first header of that name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Option<String> = None;
        let mut in_it = false;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if in_it {
                    if let Some(v) = out.as_mut() {
                        v.push(' ');
                        v.push_str(line.trim());
                    }
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            in_it = false;
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case(name) {
                    out = Some(v.trim().to_string());
                    in_it = true;
                }
            }
        }
        out
    }
}

#[derive(Default)]
struct Shared {
    mails: Vec<Mail>,
    /// Failed AUTH attempts (wrong credentials).
    auth_failures: u32,
}

struct Ctx {
    opts: SmtpReceiverOptions,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Mutex<Shared>>,
}

/// The running receiver; dropping it stops it.
pub struct SmtpReceiver {
    server: BackgroundServer,
    shared: Arc<Mutex<Shared>>,
    cert_pem: Option<String>,
}

impl SmtpReceiver {
    /// Starts on `127.0.0.1:0`.
    pub fn start(opts: SmtpReceiverOptions) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), opts)
    }

    pub fn start_on(addr: SocketAddr, opts: SmtpReceiverOptions) -> std::io::Result<Self> {
        let (tls, cert_pem) = if opts.starttls {
            let (acceptor, pem) = self_signed().map_err(std::io::Error::other)?;
            (Some(acceptor), Some(pem))
        } else {
            (None, None)
        };
        let shared = Arc::new(Mutex::new(Shared::default()));
        let ctx = Arc::new(Ctx { opts, tls, shared: shared.clone() });
        let server =
            BackgroundServer::start(addr, "smtp-receiver", 0, move |listener, mut shutdown| async move {
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        accepted = listener.accept() => {
                            if let Ok((stream, _peer)) = accepted {
                                let ctx = ctx.clone();
                                tokio::spawn(async move { connection(stream, ctx).await });
                            }
                        }
                    }
                }
            })?;
        Ok(SmtpReceiver { server, shared, cert_pem })
    }

    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// The certificate offered with STARTTLS (PEM), for the client's `ca_file`.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// Every mail accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.lock().mails.clone()
    }

    pub fn auth_failures(&self) -> u32 {
        self.lock().auth_failures
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn self_signed() -> Result<(tokio_rustls::TlsAcceptor, String), String> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    let pem = ck.cert.pem();
    let cert = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        ck.signing_key.serialize_der(),
    ));
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|e| e.to_string())?;
    Ok((tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem))
}

async fn connection(stream: tokio::net::TcpStream, ctx: Arc<Ctx>) {
    let mut stream = stream;
    if stream.write_all(b"220 localhost ESMTP watchkeep-sandbox\r\n").await.is_err() {
        return;
    }
    if let Ok(Some(plain)) = session(stream, &ctx, false).await {
        if let Some(acceptor) = &ctx.tls {
            if let Ok(tls) = acceptor.accept(plain).await {
                let _ = session(tls, &ctx, true).await;
            }
        }
    }
}

/// The SMTP conversation on `stream`; returns the stream when the client asked for STARTTLS.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    ctx: &Ctx,
    secured: bool,
) -> std::io::Result<Option<S>> {
    let mut rd = BufReader::new(stream);
    let auth_offered = ctx.opts.auth.is_some() && (secured || ctx.tls.is_none());
    let mut authed: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut rd).await? else { return Ok(None) };
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("").to_string();
        let reply: String = match verb.as_str() {
            "EHLO" => {
                let mut ext =
                    vec!["localhost greets you".to_string(), "8BITMIME".into(), "SIZE 10485760".into()];
                if ctx.tls.is_some() && !secured {
                    ext.push("STARTTLS".into());
                }
                if auth_offered {
                    ext.push("AUTH PLAIN LOGIN".into());
                }
                let n = ext.len();
                ext.iter()
                    .enumerate()
                    .map(|(i, e)| format!("250{}{e}\r\n", if i + 1 == n { ' ' } else { '-' }))
                    .collect()
            }
            "HELO" => "250 localhost\r\n".into(),
            "STARTTLS" if ctx.tls.is_some() && !secured => {
                rd.get_mut().write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                rd.get_mut().flush().await?;
                return Ok(Some(rd.into_inner()));
            }
            "AUTH" if !auth_offered => {
                if ctx.opts.auth.is_some() {
                    "538 5.7.11 Encryption required for requested authentication mechanism\r\n".into()
                } else {
                    "503 5.5.1 AUTH not available\r\n".into()
                }
            }
            "AUTH" => {
                let parts: Vec<&str> = line.split_whitespace().collect();
                let mech = parts.get(1).map(|m| m.to_ascii_uppercase()).unwrap_or_default();
                let creds = match mech.as_str() {
                    "PLAIN" => {
                        let initial = match parts.get(2) {
                            Some(i) => Some(i.to_string()),
                            None => {
                                rd.get_mut().write_all(b"334 \r\n").await?;
                                read_line(&mut rd).await?
                            }
                        };
                        initial.and_then(|i| b64(&i)).and_then(|d| {
                            let mut f = d.split('\0');
                            let _authz = f.next()?;
                            Some((f.next()?.to_string(), f.next()?.to_string()))
                        })
                    }
                    "LOGIN" => {
                        rd.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                        let user = read_line(&mut rd).await?.and_then(|u| b64(&u));
                        rd.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                        let pass = read_line(&mut rd).await?.and_then(|p| b64(&p));
                        user.zip(pass)
                    }
                    _ => None,
                };
                match (creds, &ctx.opts.auth) {
                    (Some((u, p)), Some((eu, ep))) if &u == eu && &p == ep => {
                        authed = Some(u);
                        "235 2.7.0 Authentication successful\r\n".into()
                    }
                    (None, _) if !["PLAIN", "LOGIN"].contains(&mech.as_str()) => {
                        "504 5.5.4 Unrecognized authentication type\r\n".into()
                    }
                    _ => {
                        ctx.shared.lock().unwrap_or_else(|e| e.into_inner()).auth_failures += 1;
                        "535 5.7.8 Authentication credentials invalid\r\n".into()
                    }
                }
            }
            "MAIL" if ctx.opts.auth.is_some() && authed.is_none() => {
                "530 5.7.0 Authentication required\r\n".into()
            }
            "MAIL" => match address(&line, "FROM:") {
                Some(a) => {
                    from = Some(a);
                    to.clear();
                    "250 2.1.0 Ok\r\n".into()
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" if from.is_none() => "503 5.5.1 Need MAIL before RCPT\r\n".into(),
            "RCPT" => match address(&line, "TO:") {
                Some(a) if a.contains('@') => {
                    to.push(a);
                    "250 2.1.5 Ok\r\n".into()
                }
                _ => "501 5.1.3 Bad recipient address syntax\r\n".into(),
            },
            "DATA" if to.is_empty() => "503 5.5.1 Need RCPT before DATA\r\n".into(),
            "DATA" => {
                rd.get_mut().write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    let Some(l) = read_line(&mut rd).await? else { return Ok(None) };
                    if l == "." {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.push_str(l);
                    data.push_str("\r\n");
                }
                let mail = Mail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                    authenticated_as: authed.clone(),
                    tls: secured,
                };
                let mut s = ctx.shared.lock().unwrap_or_else(|e| e.into_inner());
                if ctx.opts.echo {
                    eprintln!(
                        "[receiver smtp] mail from {} to {}: {}",
                        mail.from,
                        mail.to.join(", "),
                        mail.header("Subject").unwrap_or_default()
                    );
                }
                s.mails.push(mail);
                format!("250 2.0.0 Ok: queued as {}\r\n", s.mails.len())
            }
            "RSET" => {
                from = None;
                to.clear();
                "250 2.0.0 Ok\r\n".into()
            }
            "NOOP" => "250 2.0.0 Ok\r\n".into(),
            "QUIT" => {
                rd.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(None);
            }
            _ => "502 5.5.2 Command not recognized\r\n".into(),
        };
        rd.get_mut().write_all(reply.as_bytes()).await?;
        rd.get_mut().flush().await?;
    }
}

/// One line without its CRLF; `None` at end of stream. A client silent for a minute is dropped.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(rd: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(60), rd.read_until(b'\n', &mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client silent"))??;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn b64(s: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// `MAIL FROM:<a@b> SIZE=1` → `a@b`.
fn address(line: &str, tag: &str) -> Option<String> {
    let upper = line.to_ascii_uppercase();
    let at = upper.find(tag)? + tag.len();
    let rest = line[at..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_string())
}
