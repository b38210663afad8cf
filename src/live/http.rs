//! Fetching evidence from a running service: pprof profiles, Prometheus
//! `/metrics` scrapes and `expvar` pages, over HTTP (reqwest's blocking API,
//! so a notebook cell or a plain loop can call it).
//!
//! A `Service` (`live::service`) is one Go service's base address (`http://10.0.3.7:6060`).
//! Before anything is sent, its address must be allowed by the
//! [`AddressPolicy`] of [`FetchOptions::addresses`]: loopback and private
//! addresses always; public, link-local (169.254.0.0/16, `fe80::/10`) and
//! cloud-metadata addresses each only when allowed explicitly, because a
//! pprof endpoint should never face the internet and a redirect to
//! `169.254.169.254` would fetch the machine's credentials. Redirects are
//! checked the same way before they are followed.
//!
//! A host name is checked when the connection is made, by the client's own
//! resolver: it looks the name up once, refuses the answer if any address
//! is not allowed, and the connection goes to exactly the addresses it
//! checked (no second lookup that a DNS server could answer differently),
//! for the target and for every redirect. [`check_target`] does the same
//! check up front, so a refused target fails before anything is sent.
//!
//! Credentials never show: user info in a URL is sent as basic
//! authentication and shown as `***`, [`Auth`] and the extra headers print
//! without their values, and an error quotes at most a short excerpt of an
//! answer, with anything shaped like a key or token hidden.
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
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::{Client, Response};

use crate::address::{AddressPolicy, Host, TargetUrl};
use crate::error::{Error, FetchError, Result};

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
#[derive(Clone)]
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
    /// Extra request headers, e.g. `("X-Scope-OrgID", "ops")`. Their
    /// values are never printed.
    pub headers: Vec<(String, String)>,
    /// Credentials, if the endpoint is behind an authenticating proxy.
    pub auth: Option<Auth>,
    /// Which addresses may be reached (default: loopback and private only).
    pub addresses: AddressPolicy,
}

impl std::fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: names only.
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(k, _)| format!("{k}: ***"))
            .collect();
        f.debug_struct("FetchOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_bytes", &self.max_bytes)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("headers", &headers)
            .field("auth", &self.auth)
            .field("addresses", &self.addresses)
            .finish()
    }
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: crate::defaults::HTTP_TIMEOUT,
            connect_timeout: Duration::from_secs(5),
            max_bytes: crate::defaults::HTTP_MAX_BYTES,
            retries: crate::defaults::HTTP_RETRIES,
            backoff: Duration::from_millis(500),
            headers: Vec::new(),
            auth: None,
            addresses: AddressPolicy::default(),
        }
    }
}

/// Moves credentials written into a URL (`http://user:password@host`)
/// into the options as basic authentication, so that the URL holds no
/// secret. Credentials given twice are an error.
pub(crate) fn credentials_into_options(
    mut url: TargetUrl,
    mut opts: FetchOptions,
) -> Result<(TargetUrl, FetchOptions)> {
    if let Some((user, password)) = url.take_credentials() {
        if opts.auth.is_some() {
            return Err(Error::Option(format!(
                "{url}: credentials are given both in the URL and as --bearer/--basic \
                 (FetchOptions::auth); give them once, preferably with --bearer-file or \
                 --basic-file"
            )));
        }
        opts.auth = Some(Auth::Basic { user, password });
    }
    Ok((url, opts))
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

/// Checks that `url`'s host may be reached under `policy` (see the
/// module docs), looking a host name up (a DNS query, no connection): every
/// address it resolves to must be allowed. Returns the reason for refusing.
///
/// ```
/// use heapframe::address::{AddressPolicy, TargetUrl};
/// use heapframe::live::http::check_target;
/// let check = |u: &str| check_target(&TargetUrl::parse(u).unwrap(), &AddressPolicy::default());
/// assert!(check("http://127.0.0.1:6060").is_ok());
/// assert!(check("http://10.1.2.3:6060/debug/pprof/heap").is_ok());
/// assert!(check("http://8.8.8.8:6060").is_err());
/// assert!(check("http://169.254.169.254/latest/meta-data/").is_err());
/// ```
pub fn check_target(
    url: &TargetUrl,
    policy: &AddressPolicy,
) -> std::result::Result<(), FetchError> {
    check_with(url, policy, system_lookup)
}

fn check_with(
    url: &TargetUrl,
    policy: &AddressPolicy,
    lookup: Lookup,
) -> std::result::Result<(), FetchError> {
    match url.host() {
        Host::Ip(ip) => policy.check_ip(*ip).map_err(FetchError::NotInternal),
        Host::Name(name) => resolve_checked(name, url.port(), policy, lookup).map(|_| ()),
    }
}

/// Looks a host name up: `(name, port)` to socket addresses.
type Lookup = fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>;

fn system_lookup(name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok((name, port).to_socket_addrs()?.collect())
}

/// Looks `name` up once and returns its addresses if the policy allows
/// every one of them (and the name itself).
fn resolve_checked(
    name: &str,
    port: u16,
    policy: &AddressPolicy,
    lookup: Lookup,
) -> std::result::Result<Vec<SocketAddr>, FetchError> {
    policy.check_name(name).map_err(FetchError::NotInternal)?;
    let addrs = lookup(name, port)
        .map_err(|e| FetchError::Connect(format!("cannot resolve host {name:?}: {e}")))?;
    if addrs.is_empty() {
        return Err(FetchError::Connect(format!(
            "host {name:?} resolves to no address"
        )));
    }
    for a in &addrs {
        policy
            .check_ip(a.ip())
            .map_err(|why| FetchError::NotInternal(format!("host {name:?} resolves to {why}")))?;
    }
    Ok(addrs)
}

/// The client's resolver: the addresses it returns are the ones it checked,
/// so a connection never goes to an address the policy refuses, whatever
/// a DNS server answers to a second question.
struct GuardedResolver {
    policy: AddressPolicy,
    lookup: Lookup,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        let (policy, lookup) = (self.policy, self.lookup);
        Box::pin(async move {
            // Port 0: the connector puts the URL's port in.
            let found =
                tokio::task::spawn_blocking(move || resolve_checked(&name, 0, &policy, lookup))
                    .await
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs =
                found.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Checks a redirect's target before it is followed: read with the one
/// URL reader, the host an IP address the policy allows or a name it does
/// not refuse by itself (the resolver checks the addresses).
fn check_redirect(url: &Url, policy: &AddressPolicy) -> std::result::Result<(), String> {
    let target = TargetUrl::parse(url.as_str()).map_err(|e| e.to_string())?;
    same_host(url, &target)?;
    let refused = match target.host() {
        Host::Ip(ip) => policy.check_ip(*ip),
        Host::Name(name) => policy.check_name(name),
    };
    refused.map_err(|why| format!("{REDIRECT_REFUSED} {target} ({why})"))
}

/// Fails unless reqwest's reading of a URL names the host and port that
/// heapframe's reading checked.
fn same_host(url: &Url, target: &TargetUrl) -> std::result::Result<(), String> {
    let host = url.host_str().unwrap_or("");
    let same = match (target.host(), host.strip_prefix('[')) {
        (Host::Ip(ip), Some(v6)) => v6.trim_end_matches(']').parse() == Ok(*ip),
        (Host::Ip(ip), None) => host.parse() == Ok(*ip),
        (Host::Name(name), None) => host == name,
        (Host::Name(_), Some(_)) => false,
    };
    if same && url.port_or_known_default() == Some(target.port()) {
        Ok(())
    } else {
        Err(format!(
            "{target}: the URL reads differently to the HTTP client; refused"
        ))
    }
}

/// The URL reqwest is given for `target`, checked to name the same host.
fn request_url(target: &TargetUrl) -> std::result::Result<Url, FetchError> {
    let url = Url::parse(&target.to_request_string())
        .map_err(|e| FetchError::BadUrl(format!("{target}: {e}")))?;
    same_host(&url, target).map_err(FetchError::BadUrl)?;
    Ok(url)
}

/// The HTTP side shared by the service client and the Prometheus client:
/// a client with the options applied, the address policy, bounded reads
/// and retries.
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
    /// A client for `base`, refused (before anything is sent) when its
    /// address is not allowed.
    pub(crate) fn new(base: &TargetUrl, opts: FetchOptions) -> Result<Http> {
        Http::with_lookup(base, opts, system_lookup)
    }

    fn with_lookup(base: &TargetUrl, opts: FetchOptions, lookup: Lookup) -> Result<Http> {
        check_with(base, &opts.addresses, lookup).map_err(|e| Error::fetch(base, e))?;
        let policy = opts.addresses;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("more than 5 redirects");
            }
            match check_redirect(attempt.url(), &policy) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &opts.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|e| Error::Option(format!("invalid header name {k:?}: {e}")))?;
            let mut value = reqwest::header::HeaderValue::from_str(v.trim())
                .map_err(|e| Error::Option(format!("invalid value for header {k:?}: {e}")))?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        // Straight to the target: a forward proxy from the environment
        // (HTTP_PROXY...) would carry internal traffic elsewhere. No
        // Referer: the previous URL's query may hold a secret.
        let client = Client::builder()
            .no_proxy()
            .referer(false)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: opts.addresses,
                lookup,
            }))
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
        url: &TargetUrl,
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

    fn get_once(
        &self,
        url: &TargetUrl,
        extra_time: Duration,
    ) -> std::result::Result<Body, FetchError> {
        let timeout = self.opts.timeout + extra_time;
        let mut req = self.client.get(request_url(url)?).timeout(timeout);
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
        let content_type = excerpt(header(reqwest::header::CONTENT_TYPE).as_bytes(), 80);
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
                body: excerpt(&start, 120),
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
    // The innermost cause says most ("Connection refused", a TLS problem);
    // reqwest's own message is left out, as it repeats the URL in full.
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        // The resolver's refusal, as it made it.
        match next.downcast_ref::<FetchError>() {
            Some(FetchError::NotInternal(why)) => return FetchError::NotInternal(why.clone()),
            Some(FetchError::Connect(why)) => return FetchError::Connect(why.clone()),
            _ => {}
        }
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
    } else if e.is_body() || e.is_decode() {
        FetchError::Transport(format!("reading the answer: {cause}"))
    } else {
        FetchError::Transport(format!("sending the request: {cause}"))
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

/// At most `n` bytes from the start of an answer, as text that is safe to
/// show and to store in `gaps.jsonl`: printable ASCII (other bytes as
/// `\xNN`, line breaks as spaces), and every run of 16 or more key-like
/// characters (letters, digits, `+/=_-`) that mixes letters and digits —
/// the shape of keys, tokens and passwords — replaced by
/// `[N chars hidden]`. A run cut by the limit is judged whole.
fn excerpt(bytes: &[u8], n: usize) -> String {
    const MIN_SECRET: usize = 16;
    let keyish = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-');
    let mut s = String::new();
    let mut i = 0;
    while i < bytes.len().min(n) {
        let b = bytes[i];
        if keyish(b) {
            let run = bytes[i..].iter().take_while(|&&c| keyish(c)).count();
            let word = &bytes[i..i + run];
            let secret = run >= MIN_SECRET
                && word.iter().any(u8::is_ascii_digit)
                && word.iter().any(u8::is_ascii_alphabetic);
            if secret {
                s.push_str(&format!("[{run} chars hidden]"));
            } else {
                s.push_str(&String::from_utf8_lossy(&word[..run.min(n - i)]));
            }
            i += run;
        } else {
            if b.is_ascii_graphic() || b == b' ' {
                s.push(b as char);
            } else if b == b'\n' || b == b'\r' || b == b'\t' {
                s.push(' ');
            } else {
                s.push_str(&format!("\\x{b:02x}"));
            }
            i += 1;
        }
    }
    if bytes.len() > i {
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
    // A parser's reason may quote the answer: it is shown as an excerpt too.
    FetchError::Unexpected {
        expected,
        content_type: body.content_type.clone(),
        reason: excerpt(reason.into().as_bytes(), 240),
        start: excerpt(&body.bytes, 80),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static REBIND_LOOKUPS: AtomicUsize = AtomicUsize::new(0);

    /// A DNS answer that changes: loopback to the first question, the
    /// metadata service to every later one.
    fn rebinding_lookup(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let ip = match REBIND_LOOKUPS.fetch_add(1, Ordering::SeqCst) {
            0 => [127, 0, 0, 1],
            _ => [169, 254, 169, 254],
        };
        Ok(vec![SocketAddr::from((ip, port))])
    }

    /// Names that exist in no DNS: `*.loop.test` is loopback,
    /// `*.meta.test` the metadata service.
    fn test_lookup(name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let ip = if name.ends_with(".meta.test") {
            [169, 254, 169, 254]
        } else {
            [127, 0, 0, 1]
        };
        Ok(vec![SocketAddr::from((ip, port))])
    }

    fn opts() -> FetchOptions {
        FetchOptions {
            retries: 0,
            connect_timeout: Duration::from_millis(300),
            timeout: Duration::from_secs(5),
            ..Default::default()
        }
    }

    /// Answers each connection with `answer(path)`, then closes it (and
    /// says so: a client that kept it for its next request would race the
    /// close and read a reset); counts connections.
    fn serve(answer: fn(&str) -> String) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let reply = answer(&path).replacen("\r\n", "\r\nConnection: close\r\n", 1);
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (port, hits)
    }

    #[test]
    fn a_second_lookup_cannot_move_the_connection() {
        let (port, hits) = serve(|_| "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".into());
        let base = TargetUrl::parse(&format!("http://rebind.test:{port}")).unwrap();
        // The first answer (loopback) passes the check up front...
        let http = Http::with_lookup(&base, opts(), rebinding_lookup).unwrap();
        // ...the connection asks again, gets the metadata service, and is
        // refused with what it was told: it does not connect anywhere.
        let e = http
            .get(&base.with_path("/debug/pprof/heap"), Duration::ZERO, |b| {
                Ok(b.bytes)
            })
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                Error::Fetch {
                    error: FetchError::NotInternal(_),
                    ..
                }
            ),
            "{msg}"
        );
        assert!(
            msg.contains("\"rebind.test\" resolves to 169.254.169.254"),
            "{msg}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn connections_and_redirects_go_to_the_addresses_checked() {
        let (port, hits) = serve(|path| match path {
            "/to-metadata" => "HTTP/1.1 302 Found\r\nLocation: http://creds.meta.test/latest/\r\n\
                               Content-Length: 0\r\n\r\n"
                .into(),
            _ => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".into(),
        });
        // These names exist in no DNS: reaching the loopback server proves
        // the client connects to the addresses the guarded lookup returned.
        let base = TargetUrl::parse(&format!("http://svc.loop.test:{port}")).unwrap();
        let http = Http::with_lookup(&base, opts(), test_lookup).unwrap();
        let ok = http
            .get(&base.with_path("/x"), Duration::ZERO, |b| Ok(b.bytes))
            .unwrap();
        assert_eq!(ok, b"ok");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // A redirect to a name is checked by the same resolver.
        let e = http
            .get(&base.with_path("/to-metadata"), Duration::ZERO, |b| {
                Ok(b.bytes)
            })
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                Error::Fetch {
                    error: FetchError::NotInternal(_),
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains("169.254.169.254"), "{msg}");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // A target whose name resolves to a refused address fails up front.
        let meta = TargetUrl::parse("http://creds.meta.test").unwrap();
        let e = Http::with_lookup(&meta, opts(), test_lookup).unwrap_err();
        assert!(e.to_string().contains("--allow-metadata"), "{e}");
    }

    #[test]
    fn excerpts_are_short_and_hide_what_looks_like_a_secret() {
        let body = br#"{"AccessKeyId":"ASIA5EXAMPLE7KEYID42","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY0"}"#;
        let e = excerpt(body, 80);
        assert!(!e.contains("ASIA5") && !e.contains("wJalr"), "{e}");
        assert!(
            e.contains("AccessKeyId") && e.contains("[20 chars hidden]"),
            "{e}"
        );
        assert!(e.ends_with("..."), "{e}");
        // Words, metric names and a login page's title stay readable.
        let page = b"<!DOCTYPE html>\n<title>Sign in - corp proxy</title> go_memstats_heap_inuse_bytes 12345";
        assert_eq!(
            excerpt(page, 200),
            "<!DOCTYPE html> <title>Sign in - corp proxy</title> go_memstats_heap_inuse_bytes 12345"
        );
        assert_eq!(excerpt(b"a\x00\xffb", 10), "a\\x00\\xffb");
        // A secret cut by the limit is judged whole, not shown in part.
        let cut = excerpt(b"token: abcdef0123456789abcdef0123456789", 12);
        assert_eq!(cut, "token: [32 chars hidden]");
    }
}
