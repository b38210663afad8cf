//! Fetching evidence from a running service: pprof profiles, Prometheus
//! `/metrics` scrapes and `expvar` pages, over HTTP (reqwest's blocking API,
//! so a notebook cell or a plain loop can call it).
//!
//! A [`Service`] is one Go service's base address (`http://10.0.3.7:6060`).
//! Before anything is sent, its address must be internal — loopback,
//! private, link-local or unique-local — because a pprof endpoint should
//! never be reachable from the internet; [`FetchOptions::allow_public`]
//! lifts that. Redirects are followed only to addresses that pass the same
//! check.
//!
//! Every answer is checked before it is returned: a profile must decode as
//! a profile (Go serves `/debug/pprof/*` gzipped *without* a
//! `Content-Encoding` header, so gzip is recognised by its magic bytes), a
//! scrape must parse as Prometheus text. An HTML login page, a 404 or a
//! body cut short gives a [`FetchError`] naming the URL, the status, the
//! content type and the first bytes of the answer. Transient failures
//! (connection refused, timeouts, 5xx, truncated bodies) are retried with
//! exponential back-off.
//!
//! ```no_run
//! use heapframe::evidence::bundle::SnapshotKind;
//! use heapframe::live::{FetchOptions, ProfileQuery, Service};
//! let svc = Service::new("http://127.0.0.1:6060", FetchOptions::default())?;
//! let heap = svc.profile(SnapshotKind::Heap, &ProfileQuery { gc: true, seconds: None })?;
//! println!("{} samples", heap.profile.samples.len());
//! let scrape = svc.metrics()?;
//! println!("{} metric samples", scrape.samples.len());
//! # Ok::<(), heapframe::Error>(())
//! ```

use std::io::Read;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::{Client, Response};

use crate::error::{Error, FetchError, Result};
use crate::evidence::checklist::is_internal_ip;

/// Credentials sent with every request (for endpoints behind a proxy).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password, if any.
        password: Option<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}:***)"),
        }
    }
}

/// How to talk to a service or a Prometheus server.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Time allowed for one request, answer included (default 30 s). A
    /// `seconds=N` profile gets N seconds more.
    pub timeout: Duration,
    /// Time allowed to connect (default 5 s).
    pub connect_timeout: Duration,
    /// Largest answer accepted, in bytes (default 256 MiB).
    pub max_bytes: u64,
    /// Further attempts after a transient failure (default 2).
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one
    /// (default 500 ms).
    pub backoff: Duration,
    /// Extra request headers, e.g. `("X-Scope-OrgID", "ops")`.
    pub headers: Vec<(String, String)>,
    /// Credentials, if the endpoint is behind an authenticating proxy.
    pub auth: Option<Auth>,
    /// Allow addresses that are not loopback or private (default false).
    pub allow_public: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_bytes: 256 << 20,
            retries: 2,
            backoff: Duration::from_millis(500),
            headers: Vec::new(),
            auth: None,
            allow_public: false,
        }
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Parses a duration as people write it: `500ms`, `15s`, `5m`, `6h`,
/// `2d`, or combinations such as `1h30m`. A bare number is seconds.
///
/// ```
/// use std::time::Duration;
/// use heapframe::live::http::parse_duration;
/// assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::Option(format!(
            "invalid duration {text:?}: expected e.g. 500ms, 15s, 5m, 6h, 2d or 1h30m"
        ))
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Checks that `url`'s host is internal (see the module docs), resolving
/// a host name (a DNS lookup, no connection) when it is one: every address
/// it resolves to must be internal. Returns the reason for refusing.
///
/// ```
/// use heapframe::live::http::check_internal;
/// assert!(check_internal("http://127.0.0.1:6060").is_ok());
/// assert!(check_internal("http://10.1.2.3:6060/debug/pprof/heap").is_ok());
/// assert!(check_internal("http://8.8.8.8:6060").is_err());
/// ```
pub fn check_internal(url: &str) -> std::result::Result<(), FetchError> {
    let parsed = parse_url(url)?;
    let host = parsed
        .host_str()
        .ok_or_else(|| FetchError::BadUrl(format!("{url:?} names no host")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) if host.eq_ignore_ascii_case("localhost") => return Ok(()),
        Err(_) => {
            let port = parsed.port_or_known_default().unwrap_or(80);
            let addrs = (host, port)
                .to_socket_addrs()
                .map_err(|e| FetchError::Connect(format!("cannot resolve host {host:?}: {e}")))?;
            addrs.map(|a| a.ip()).collect()
        }
    };
    let literal = host.parse::<IpAddr>().is_ok();
    match ips.iter().find(|ip| !is_internal_ip(**ip)) {
        None if ips.is_empty() => Err(FetchError::Connect(format!(
            "host {host:?} resolves to no address"
        ))),
        None => Ok(()),
        Some(ip) if literal => Err(FetchError::NotInternal(format!(
            "{ip} is not a loopback or private address"
        ))),
        Some(ip) => Err(FetchError::NotInternal(format!(
            "host {host:?} resolves to {ip}, which is not a loopback or private address"
        ))),
    }
}

pub(crate) fn parse_url(url: &str) -> std::result::Result<Url, FetchError> {
    let with_scheme = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let u = Url::parse(&with_scheme).map_err(|e| FetchError::BadUrl(format!("{url:?}: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(FetchError::BadUrl(format!(
            "{url:?}: only http and https are supported"
        )));
    }
    Ok(u)
}

/// The HTTP side shared by the service client and the Prometheus client:
/// a client with the options applied, the internal-address policy, bounded
/// reads and retries.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: Client,
    opts: FetchOptions,
}

/// An answer with status 200, read in full.
pub(crate) struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Http {
    pub(crate) fn new(base: &str, opts: FetchOptions) -> Result<Http> {
        if !opts.allow_public {
            check_internal(base).map_err(|e| Error::fetch(base, e))?;
        }
        let allow_public = opts.allow_public;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("more than 5 redirects");
            }
            if !allow_public && let Err(e) = check_internal(attempt.url().as_str()) {
                let msg = match e {
                    FetchError::NotInternal(why) => {
                        format!("{REDIRECT_REFUSED} {} ({why})", attempt.url())
                    }
                    other => format!("redirect to {}: {other}", attempt.url()),
                };
                return attempt.error(msg);
            }
            attempt.follow()
        });
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &opts.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|e| Error::Option(format!("invalid header name {k:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(v.trim())
                .map_err(|e| Error::Option(format!("invalid value for header {k:?}: {e}")))?;
            headers.append(name, value);
        }
        // Straight to the target: a forward proxy from the environment
        // (HTTP_PROXY...) would carry internal traffic elsewhere.
        let client = Client::builder()
            .no_proxy()
            .connect_timeout(opts.connect_timeout)
            .timeout(None)
            .redirect(redirect)
            .default_headers(headers)
            .user_agent(concat!("heapframe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::fetch(base, FetchError::Transport(e.to_string())))?;
        Ok(Http { client, opts })
    }

    pub(crate) fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// GETs `url` and hands a 200 answer to `check`, retrying transient
    /// failures (of the request or of `check`) with back-off.
    pub(crate) fn get<T>(
        &self,
        url: &str,
        extra_time: Duration,
        check: impl Fn(Body) -> std::result::Result<T, FetchError>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let result = self.get_once(url, extra_time).and_then(&check);
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && attempt < self.opts.retries => {
                    let wait = self.opts.backoff.saturating_mul(1 << attempt.min(16));
                    std::thread::sleep(wait.min(Duration::from_secs(30)));
                    attempt += 1;
                }
                Err(e) => return Err(Error::fetch(url, e)),
            }
        }
    }

    fn get_once(&self, url: &str, extra_time: Duration) -> std::result::Result<Body, FetchError> {
        let timeout = self.opts.timeout + extra_time;
        let mut req = self.client.get(url).timeout(timeout);
        match &self.opts.auth {
            Some(Auth::Bearer(t)) => req = req.bearer_auth(t),
            Some(Auth::Basic { user, password }) => req = req.basic_auth(user, password.as_ref()),
            None => {}
        }
        let resp = req.send().map_err(|e| transport_error(&e, timeout))?;
        let status = resp.status();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let encoding = header(reqwest::header::CONTENT_ENCODING);
        let limit = self.opts.max_bytes;
        if let Some(n) = resp.content_length()
            && n > limit
        {
            return Err(FetchError::TooLarge { limit });
        }
        if status != reqwest::StatusCode::OK {
            // Read a little of the body for the message, no more.
            let mut start = Vec::new();
            let _ = resp.take(512).read_to_end(&mut start);
            return Err(FetchError::Status {
                status: status.as_u16(),
                content_type,
                body: printable_start(&start, 120),
                hint: status_hint(status.as_u16()).to_string(),
            });
        }
        let mut bytes = read_limited(resp, limit, timeout)?;
        // A proxy may compress what Go already compressed, and say so.
        if encoding.eq_ignore_ascii_case("gzip") && crate::pprof::is_gzip(&bytes) {
            let opts = crate::pprof::ReadOptions {
                max_decompressed_bytes: limit,
            };
            bytes = crate::pprof::uncompressed(&bytes, &opts)
                .map_err(|e| FetchError::Transport(format!("Content-Encoding gzip: {e}")))?
                .into_owned();
        }
        Ok(Body {
            content_type,
            bytes,
        })
    }
}

fn read_limited(
    resp: Response,
    limit: u64,
    timeout: Duration,
) -> std::result::Result<Vec<u8>, FetchError> {
    let mut bytes = Vec::new();
    match resp.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > limit => Err(FetchError::TooLarge { limit }),
        Ok(_) => Ok(bytes),
        Err(e) => {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.to_string().contains("timed out")
                || std::error::Error::source(&e)
                    .and_then(|s| s.downcast_ref::<reqwest::Error>())
                    .is_some_and(|r| r.is_timeout());
            if timed_out {
                Err(FetchError::Timeout {
                    secs: timeout.as_secs_f64(),
                })
            } else {
                Err(FetchError::Transport(format!(
                    "the answer broke off after {} bytes: {e}",
                    bytes.len()
                )))
            }
        }
    }
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            secs: timeout.as_secs_f64(),
        };
    }
    // The innermost cause says most ("Connection refused", a TLS problem).
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if e.is_redirect() {
        let why = cause.to_string();
        return if why.starts_with(REDIRECT_REFUSED) {
            FetchError::NotInternal(why)
        } else {
            FetchError::Transport(why)
        };
    }
    if e.is_connect() {
        FetchError::Connect(cause.to_string())
    } else {
        FetchError::Transport(format!("{e}: {cause}"))
    }
}

/// How a redirect refused by the address check starts its message.
const REDIRECT_REFUSED: &str = "redirect refused:";

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            ", access denied (give credentials: --bearer TOKEN, --basic USER:PASS or --header)"
        }
        404 => ", no such endpoint (is net/http/pprof imported and served on this address?)",
        429 | 503 => ", the server is overloaded or restarting",
        _ => "",
    }
}

/// The first `n` bytes of `bytes` as text a person can read (other bytes
/// as `\xNN`).
fn printable_start(bytes: &[u8], n: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(n) {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(b as char);
        } else if b == b'\n' || b == b'\r' || b == b'\t' {
            s.push(' ');
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > n {
        s.push_str("...");
    }
    s
}

pub(crate) fn looks_like_html(content_type: &str, bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &bytes[i..]);
    content_type.contains("html") || start.starts_with(b"<")
}

pub(crate) fn unexpected(
    expected: &'static str,
    body: &Body,
    reason: impl Into<String>,
) -> FetchError {
    FetchError::Unexpected {
        expected,
        content_type: body.content_type.clone(),
        reason: reason.into(),
        start: printable_start(&body.bytes, 80),
    }
}

pub(crate) fn text_from_body(
    body: &Body,
    expected: &'static str,
) -> std::result::Result<String, FetchError> {
    if body.bytes.is_empty() {
        return Err(unexpected(expected, body, "truncated: the body is empty"));
    }
    if crate::pprof::is_gzip(&body.bytes) {
        return Err(unexpected(expected, body, "gzip data, not text"));
    }
    if looks_like_html(&body.content_type, &body.bytes) {
        return Err(unexpected(
            expected,
            body,
            "an HTML page (a proxy's login or error page? give credentials with --bearer, \
             --basic or --header)",
        ));
    }
    String::from_utf8(body.bytes.clone())
        .map_err(|e| unexpected(expected, body, format!("not UTF-8 text: {e}")))
}
