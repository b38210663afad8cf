//! Addresses: the one reader of target URLs, what kind of address a host
//! is, and how a URL may be shown.
//!
//! Everything that reads a target — the collector before it connects, the
//! redirect check, the checklist judging a manifest — reads it with
//! [`TargetUrl::parse`], so they cannot disagree about which host a URL
//! names. Hosts are read as browsers read them (the WHATWG URL rules):
//! `0x7f.1`, `2130706433`, `0177.0.0.1` and `127.1` are all 127.0.0.1.
//! Host names are plain ASCII (`[a-z0-9._-]`); anything a DNS name cannot
//! hold (percent escapes, non-ASCII, spaces, `\`) is refused rather than
//! guessed at.
//!
//! [`classify`] sorts an IP address into an [`AddressClass`], and an
//! [`AddressPolicy`] says which classes a fetch may reach: loopback and
//! private always; public, link-local and cloud-metadata addresses each
//! only when allowed explicitly, and allowing one never allows another.
//!
//! A [`TargetUrl`] never shows its secrets: its `Display`, `Debug` and
//! serde form replace the user info (`user:password@`) and the value of
//! every query parameter heapframe does not send itself with `***`, so a
//! URL can be put into an error message, `manifest.json` or `gaps.jsonl`
//! without thought.
//!
//! ```
//! use heapframe::address::{AddressClass, Host, TargetUrl, classify};
//! let t = TargetUrl::parse("http://ops:hunter2@0x7f.1:6060/debug/pprof/heap?token=abc&gc=1")?;
//! assert_eq!(t.host(), &Host::Ip("127.0.0.1".parse().unwrap()));
//! assert_eq!(t.to_string(), "http://***@127.0.0.1:6060/debug/pprof/heap?token=***&gc=1");
//! assert_eq!(classify("169.254.169.254".parse().unwrap()), AddressClass::Metadata);
//! # Ok::<(), heapframe::FetchError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::FetchError;

/// What kind of network an IP address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// This machine: 127.0.0.0/8, `::1`.
    Loopback,
    /// An organisation's own network: 10.0.0.0/8, 172.16.0.0/12,
    /// 192.168.0.0/16, IPv6 unique-local `fc00::/7`.
    Private,
    /// The local network segment, never routed: 169.254.0.0/16,
    /// `fe80::/10`. Cloud metadata services live here.
    LinkLocal,
    /// A cloud provider's instance metadata service, which hands out the
    /// machine's credentials: 169.254.169.254 (AWS, GCP, Azure, OpenStack,
    /// DigitalOcean, Oracle), 169.254.170.2 and 169.254.170.23 (AWS ECS and
    /// EKS credentials), `fd00:ec2::254` and `fd00:ec2::23` (AWS over IPv6),
    /// 100.100.100.200 (Alibaba Cloud), 168.63.129.16 (Azure's host agent).
    Metadata,
    /// Anything else: the internet, and addresses with no business being a
    /// target (0.0.0.0, multicast, broadcast).
    Public,
}

impl AddressClass {
    /// How the class reads in a sentence: "a loopback address", ...
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Metadata => "a cloud metadata service address",
            AddressClass::Public => "a public address",
        }
    }
}

const METADATA_V4: [Ipv4Addr; 5] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];

const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
];

/// Host names of metadata services, refused by name before any lookup.
const METADATA_NAMES: [&str; 3] = [
    "metadata.google.internal",
    "metadata.goog",
    "instance-data.ec2.internal",
];

/// The class of an IP address. An IPv6 address that carries an IPv4
/// address (`::ffff:a.b.c.d`, the NAT64 prefix `64:ff9b::/96`, the old
/// `::a.b.c.d`) is judged by that IPv4 address.
///
/// ```
/// use heapframe::address::{AddressClass, classify};
/// let c = |s: &str| classify(s.parse().unwrap());
/// assert_eq!(c("10.0.3.7"), AddressClass::Private);
/// assert_eq!(c("::1"), AddressClass::Loopback);
/// assert_eq!(c("169.254.10.20"), AddressClass::LinkLocal);
/// assert_eq!(c("::ffff:169.254.169.254"), AddressClass::Metadata);
/// assert_eq!(c("8.8.8.8"), AddressClass::Public);
/// ```
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v) => classify_v4(v),
        IpAddr::V6(v) => {
            if let Some(v4) = embedded_v4(v) {
                return classify_v4(v4);
            }
            let first = v.segments()[0];
            if METADATA_V6.contains(&v) {
                AddressClass::Metadata
            } else if v.is_loopback() {
                AddressClass::Loopback
            } else if first & 0xffc0 == 0xfe80 {
                AddressClass::LinkLocal
            } else if first & 0xfe00 == 0xfc00 {
                AddressClass::Private
            } else {
                AddressClass::Public
            }
        }
    }
}

fn classify_v4(v: Ipv4Addr) -> AddressClass {
    if METADATA_V4.contains(&v) {
        AddressClass::Metadata
    } else if v.is_loopback() {
        AddressClass::Loopback
    } else if v.is_private() {
        AddressClass::Private
    } else if v.is_link_local() {
        AddressClass::LinkLocal
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address inside an IPv4-mapped, NAT64 or IPv4-compatible IPv6
/// address.
fn embedded_v4(v: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    // ::a.b.c.d, but not :: and ::1 themselves.
    let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
    (nat64 || compatible).then_some(tail)
}

/// The class of a host name, when the name alone tells: the metadata
/// services' names, and `localhost`. Other names need a lookup.
pub fn classify_name(name: &str) -> Option<AddressClass> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_NAMES.contains(&name.as_str()) {
        Some(AddressClass::Metadata)
    } else if name == "localhost" {
        Some(AddressClass::Loopback)
    } else {
        None
    }
}

/// Which addresses a fetch may reach. Loopback and private addresses are
/// always allowed; each other class only by its own switch (default: all
/// off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow public addresses (`--allow-public`). A pprof endpoint should
    /// never face the internet, so this is for the rare proxy in front of
    /// one. Does not allow link-local or metadata addresses.
    pub allow_public: bool,
    /// Allow link-local addresses, 169.254.0.0/16 and `fe80::/10`
    /// (`--allow-link-local`), for a service that really listens there.
    /// Does not allow the metadata services among them.
    pub allow_link_local: bool,
    /// Allow the cloud metadata services of [`AddressClass::Metadata`]
    /// (`--allow-metadata`). They hand out the machine's credentials; a
    /// target or redirect pointing there is almost always an attack.
    pub allow_metadata: bool,
}

impl AddressPolicy {
    /// Whether addresses of `class` may be reached.
    pub fn allows(&self, class: AddressClass) -> bool {
        match class {
            AddressClass::Loopback | AddressClass::Private => true,
            AddressClass::LinkLocal => self.allow_link_local,
            AddressClass::Metadata => self.allow_metadata,
            AddressClass::Public => self.allow_public,
        }
    }

    /// Checks one IP address; the error says why it is refused and which
    /// switch would allow it.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let class = classify(ip);
        if self.allows(class) {
            Ok(())
        } else {
            Err(format!(
                "{ip} is {}{}",
                class.describe(),
                refusal_hint(class)
            ))
        }
    }

    /// Checks what a host name alone tells (a metadata service's name);
    /// the addresses it resolves to are checked with
    /// [`AddressPolicy::check_ip`].
    pub fn check_name(&self, name: &str) -> Result<(), String> {
        match classify_name(name) {
            Some(class) if !self.allows(class) => Err(format!(
                "{name} is the name of {}{}",
                class.describe(),
                refusal_hint(class)
            )),
            _ => Ok(()),
        }
    }
}

fn refusal_hint(class: AddressClass) -> &'static str {
    match class {
        AddressClass::Public => {
            ": a pprof endpoint should be internal-only (loopback or private); pass \
             --allow-public (AddressPolicy::allow_public) if you really mean to reach it"
        }
        AddressClass::LinkLocal => {
            ", where cloud metadata services live; pass --allow-link-local \
             (AddressPolicy::allow_link_local) if the service really listens there"
        }
        AddressClass::Metadata => {
            ", which hands out the machine's credentials; pass --allow-metadata \
             (AddressPolicy::allow_metadata) only if you mean to fetch from it"
        }
        AddressClass::Loopback | AddressClass::Private => "",
    }
}

/// The host of a URL: an IP address, or a host name (lower-case ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP address, however it was written.
    Ip(IpAddr),
    /// A host name, resolved when connecting.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(v)) => write!(f, "[{v}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// Query parameters whose values are shown: the ones heapframe sends
/// itself (pprof's and Prometheus's). Any other value may be a secret.
const SHOWN_PARAMS: [&str; 7] = ["gc", "seconds", "debug", "query", "start", "end", "step"];

/// An `http` or `https` URL of a service or a Prometheus server, parsed
/// once. Its `Display`, `Debug` and serde form never show the user info or
/// the value of a query parameter heapframe does not send itself (both
/// become `***`); the fragment is dropped. The default port is not shown.
#[derive(Clone, PartialEq, Eq)]
pub struct TargetUrl {
    https: bool,
    user_info: Option<String>,
    host: Host,
    port: Option<u16>,
    path: String,
    query: Option<String>,
}

impl TargetUrl {
    /// Reads a URL; without a scheme (`127.0.0.1:6060`), http is meant.
    /// Errors say what is wrong without repeating the URL's secrets.
    ///
    /// ```
    /// use heapframe::address::TargetUrl;
    /// assert_eq!(TargetUrl::parse("127.1:6060")?.to_string(), "http://127.0.0.1:6060");
    /// assert_eq!(TargetUrl::parse("HTTPS://Pprof.Internal/")?.to_string(), "https://pprof.internal/");
    /// assert!(TargetUrl::parse("file:///etc/passwd").is_err());
    /// let e = TargetUrl::parse("http://ops:pw@[::1/").unwrap_err();
    /// assert!(!e.to_string().contains("pw"));
    /// # Ok::<(), heapframe::FetchError>(())
    /// ```
    pub fn parse(text: &str) -> Result<TargetUrl, FetchError> {
        let bad = |why: String| FetchError::BadUrl(format!("\"{}\": {why}", redact_text(text)));
        let text = text.trim();
        if let Some(c) = text.chars().find(|c| c.is_control() || *c == ' ') {
            return Err(bad(format!("contains {c:?}, which a URL cannot hold")));
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => match scheme_without_slashes(text) {
                Some(s) => {
                    return Err(bad(format!(
                        "{s}: URLs are not supported, only http and https"
                    )));
                }
                None => ("http".to_string(), text),
            },
        };
        let https = match scheme.as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(bad(format!(
                    "{other}: URLs are not supported, only http and https"
                )));
            }
        };
        let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user_info, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host_text, port_text) = split_port(host_port).map_err(&bad)?;
        let host = parse_host(host_text).map_err(&bad)?;
        let port = match port_text {
            None | Some("") => None,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => return Err(bad(format!("port {p} is larger than 65535"))),
            },
            Some(p) => return Err(bad(format!("port {p:?} is not a number"))),
        };
        let tail = tail.split('#').next().unwrap_or("");
        if tail.contains('\\') {
            return Err(bad("contains a backslash: write paths with /".into()));
        }
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (tail.to_string(), None),
        };
        let default = if https { 443 } else { 80 };
        Ok(TargetUrl {
            https,
            user_info,
            host,
            port: port.filter(|&p| p != default),
            path,
            query,
        })
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port, the scheme's default when none is written.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// The path (`""` when none).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// True for https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The same scheme, host, port and path: the same endpoint, whatever
    /// the credentials and query.
    pub fn same_endpoint(&self, other: &TargetUrl) -> bool {
        self.https == other.https
            && self.host == other.host
            && self.port() == other.port()
            && self.path.trim_end_matches('/') == other.path.trim_end_matches('/')
    }

    /// Removes the user info and returns it decoded as `(user, password)`,
    /// for sending as HTTP basic authentication instead.
    pub fn take_credentials(&mut self) -> Option<(String, Option<String>)> {
        let info = self.user_info.take()?;
        Some(match info.split_once(':') {
            Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
            None => (percent_decode(&info), None),
        })
    }

    /// The same URL with another path and no query.
    pub fn with_path(&self, path: &str) -> TargetUrl {
        let path = if path.is_empty() || path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        TargetUrl {
            path,
            query: None,
            ..self.clone()
        }
    }

    /// The same URL with the query `pairs`, form-encoded
    /// (`application/x-www-form-urlencoded`).
    pub fn with_query(&self, pairs: &[(&str, &str)]) -> TargetUrl {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        TargetUrl {
            query: (!query.is_empty()).then_some(query),
            ..self.clone()
        }
    }

    /// The URL as it is sent: the query in full, never the user info
    /// (credentials go into a header). Not for messages: use `Display`.
    pub fn to_request_string(&self) -> String {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        let mut s = format!("{}{}", self.origin(), path);
        if let Some(q) = &self.query {
            s.push('?');
            s.push_str(q);
        }
        s
    }

    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(p) => format!("{scheme}://{}:{p}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        let credentials = if self.user_info.is_some() { "***@" } else { "" };
        write!(f, "{scheme}://{credentials}{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            f.write_str("?")?;
            for (i, param) in q.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match param.split_once('=') {
                    Some((k, v)) if SHOWN_PARAMS.contains(&k) => write!(f, "{k}={v}")?,
                    Some((k, _)) => write!(f, "{}=***", redact_param_name(k))?,
                    None if SHOWN_PARAMS.contains(&param) => f.write_str(param)?,
                    None => f.write_str("***")?,
                }
            }
        }
        Ok(())
    }
}

/// A parameter name is shown when it looks like a name, not like a value.
fn redact_param_name(name: &str) -> &str {
    let plain = name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if plain { name } else { "***" }
}

impl fmt::Debug for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TargetUrl({self})")
    }
}

impl serde::Serialize for TargetUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// URL text from anywhere (a manifest, a message), as it may be shown:
/// when it parses, as [`TargetUrl`] shows it; otherwise with whatever
/// precedes an `@` in its authority and any query replaced by `***`,
/// control characters escaped, cut at 200 characters.
///
/// ```
/// use heapframe::address::redact_url;
/// assert_eq!(redact_url("http://ops:pw@10.0.0.1:6060"), "http://***@10.0.0.1:6060");
/// assert_eq!(redact_url("gopher://ops:pw@h/x?k=v"), "gopher://***@h/x?***");
/// ```
pub fn redact_url(text: &str) -> String {
    match TargetUrl::parse(text) {
        Ok(t) => t.to_string(),
        Err(_) => redact_text(text),
    }
}

fn redact_text(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), text),
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?***"),
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
        .chars()
        .take(200)
        .flat_map(char::escape_default)
        .collect()
}

/// `mailto:x`, `file:/etc/passwd`, `javascript:...`: a scheme followed by
/// something that is not a port number.
fn scheme_without_slashes(text: &str) -> Option<&str> {
    let (scheme, rest) = text.split_once(':')?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let first = rest.split(['/', '?', '#']).next().unwrap_or("");
    // `host:6060` names a port; `user:password@host` is user info.
    let port_like = !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit());
    (valid && !port_like && !first.contains('@')).then_some(scheme)
}

/// Splits `host:port` (`[v6]:port`).
fn split_port(host_port: &str) -> Result<(&str, Option<&str>), String> {
    if host_port.starts_with('[') {
        let close = host_port
            .find(']')
            .ok_or("an IPv6 address opened with [ is not closed with ]")?;
        let rest = &host_port[close + 1..];
        match rest.strip_prefix(':') {
            Some(p) => Ok((&host_port[..=close], Some(p))),
            None if rest.is_empty() => Ok((host_port, None)),
            None => Err(format!("unexpected {rest:?} after the IPv6 address")),
        }
    } else {
        Ok(match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        })
    }
}

/// Reads a host as the WHATWG URL standard does for http(s), refusing
/// what it would have to decode (percent escapes, non-ASCII names).
fn parse_host(text: &str) -> Result<Host, String> {
    if text.is_empty() {
        return Err("names no host".into());
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return inner
            .parse::<Ipv6Addr>()
            .map(|v| Host::Ip(IpAddr::V6(v)))
            .map_err(|_| format!("[{inner}] is not an IPv6 address"));
    }
    if !text.is_ascii() {
        return Err(format!(
            "host {text:?} is not ASCII: write it in its xn-- (punycode) form"
        ));
    }
    let name = text.to_ascii_lowercase();
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(format!(
            "host {text:?} holds {c:?}, which a host name cannot"
        ));
    }
    if ends_in_number(&name) {
        return parse_ipv4(&name)
            .map(|v| Host::Ip(IpAddr::V4(v)))
            .ok_or_else(|| format!("host {text:?} ends in a number but is not an IPv4 address"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels[..labels.len() - 1].iter().any(|l| l.is_empty()) {
        return Err(format!("host {text:?} has an empty label"));
    }
    Ok(Host::Name(name))
}

/// The WHATWG "ends in a number" test: the last label (a trailing dot
/// aside) is decimal digits or `0x` hex, so the host must be IPv4.
fn ends_in_number(host: &str) -> bool {
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.last() == Some(&"") && labels.len() > 1 {
        labels.pop();
    }
    let last = labels.last().copied().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// WHATWG IPv4: one to four parts, each decimal, octal (leading 0) or hex
/// (`0x`); the last part fills the remaining bytes.
fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") && parts.len() > 1 {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| ipv4_number(p))
        .collect::<Option<_>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) || *last >= 1u64 << (8 * (5 - numbers.len())) {
        return None;
    }
    let mut v = *last;
    for (i, n) in init.iter().enumerate() {
        v += n << (8 * (3 - i));
    }
    Some(Ipv4Addr::from(u32::try_from(v).ok()?))
}

fn ipv4_number(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = part.strip_prefix("0x") {
        (h, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if part.is_empty() {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|&n| n <= u32::MAX as u64)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(url: &str) -> Host {
        TargetUrl::parse(url).unwrap().host().clone()
    }

    fn v4(s: &str) -> Host {
        Host::Ip(s.parse().unwrap())
    }

    #[test]
    fn ipv4_is_read_as_browsers_read_it() {
        for (url, ip) in [
            ("http://127.0.0.1", "127.0.0.1"),
            ("http://0x7f.1", "127.0.0.1"),
            ("http://2130706433", "127.0.0.1"),
            ("http://0177.0.0.1", "127.0.0.1"),
            ("http://127.1", "127.0.0.1"),
            ("http://0x7F000001/", "127.0.0.1"),
            ("http://0251.0376.0251.0376", "169.254.169.254"),
            ("http://0xa9fea9fe", "169.254.169.254"),
            ("http://10.0.3.7.", "10.0.3.7"),
            ("http://0x", "0.0.0.0"),
        ] {
            assert_eq!(host(url), v4(ip), "{url}");
        }
        for bad in [
            "http://256.0.0.1",
            "http://1.2.3.4.5",
            "http://1.2.3.09",
            "http://4294967296",
            "http://example.123",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            host("http://foo.0x1g.com"),
            Host::Name("foo.0x1g.com".into())
        );
    }

    #[test]
    fn hosts_that_would_need_decoding_are_refused() {
        for bad in [
            "http://%31%32%37.0.0.1/",
            "http://exämple.com/",
            "http://a b/",
            "http://a\tb/",
            "http://a..b/",
            "http:///path",
            "http://",
            "http://[::1",
            "http://[fe80::1%25eth0]/",
            "http://evil.com\\@127.0.0.1/",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:x/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "file:/etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(TargetUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_last_at_sign_ends_the_user_info() {
        let mut t = TargetUrl::parse("http://a@b:p@ss@10.0.0.1:6060/x").unwrap();
        assert_eq!(t.host(), &v4("10.0.0.1"));
        assert_eq!(t.to_string(), "http://***@10.0.0.1:6060/x");
        assert_eq!(
            t.take_credentials(),
            Some(("a@b".into(), Some("p@ss".into())))
        );
        assert_eq!(t.to_string(), "http://10.0.0.1:6060/x");
        let mut t = TargetUrl::parse("http://ops:p%40ss%3A@h").unwrap();
        assert_eq!(
            t.take_credentials(),
            Some(("ops".into(), Some("p@ss:".into())))
        );
    }

    #[test]
    fn secrets_never_show() {
        let t = TargetUrl::parse(
            "https://u:hunter2@h:8443/p?gc=1&token=abc&api_key=xyz&flag&sec%72et=q#frag",
        )
        .unwrap();
        let shown = t.to_string();
        assert_eq!(
            shown,
            "https://***@h:8443/p?gc=1&token=***&api_key=***&***&***=***"
        );
        assert_eq!(format!("{t:?}"), format!("TargetUrl({shown})"));
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("{shown:?}"));
        // The request keeps the query but never the user info.
        assert_eq!(
            t.to_request_string(),
            "https://h:8443/p?gc=1&token=abc&api_key=xyz&flag&sec%72et=q"
        );
        assert_eq!(redact_url("http://u:hunter2@[::1/x"), "http://***@[::1/x");
        assert_eq!(
            redact_url("ftp://u:hunter2@h/\n?token=abc"),
            "ftp://***@h/\\n?***"
        );
        for bad in ["http://u:hunter2@[::1/", "http://u:hunter2@h:x/?token=abc"] {
            let e = TargetUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2") && !e.contains("abc"), "{e}");
        }
    }

    #[test]
    fn urls_are_shown_in_one_canonical_form() {
        let s = |u: &str| TargetUrl::parse(u).unwrap().to_string();
        assert_eq!(s("127.0.0.1:6060"), "http://127.0.0.1:6060");
        assert_eq!(s("http://127.0.0.1:80/"), "http://127.0.0.1/");
        assert_eq!(s("https://h:443"), "https://h");
        assert_eq!(s("http://[0:0::1]:6060"), "http://[::1]:6060");
        assert_eq!(s("HTTP://LocalHost:6060"), "http://localhost:6060");
        let a = TargetUrl::parse("http://u:p@127.1:6060/svc/").unwrap();
        let b = TargetUrl::parse("http://127.0.0.1:6060/svc").unwrap();
        assert!(a.same_endpoint(&b));
        assert!(!a.same_endpoint(&TargetUrl::parse("http://127.0.0.1:6061/svc").unwrap()));
        let q = b
            .with_path("/api/v1/query_range")
            .with_query(&[("query", "up{job=\"a b\"}")]);
        assert_eq!(
            q.to_request_string(),
            "http://127.0.0.1:6060/api/v1/query_range?query=up%7Bjob%3D%22a+b%22%7D"
        );
    }

    #[test]
    fn classes_and_policy() {
        let c = |s: &str| classify(s.parse().unwrap());
        for (ip, class) in [
            ("127.0.0.1", AddressClass::Loopback),
            ("127.255.0.9", AddressClass::Loopback),
            ("::1", AddressClass::Loopback),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.31.0.1", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("fd12::1", AddressClass::Private),
            ("169.254.1.1", AddressClass::LinkLocal),
            ("fe80::1", AddressClass::LinkLocal),
            ("febf::1", AddressClass::LinkLocal),
            ("169.254.169.254", AddressClass::Metadata),
            ("169.254.170.2", AddressClass::Metadata),
            ("fd00:ec2::254", AddressClass::Metadata),
            ("::ffff:169.254.169.254", AddressClass::Metadata),
            ("64:ff9b::a9fe:a9fe", AddressClass::Metadata),
            ("::a9fe:a9fe", AddressClass::Metadata),
            ("100.100.100.200", AddressClass::Metadata),
            ("168.63.129.16", AddressClass::Metadata),
            ("8.8.8.8", AddressClass::Public),
            ("100.64.0.1", AddressClass::Public),
            ("0.0.0.0", AddressClass::Public),
            ("::", AddressClass::Public),
            ("2001:4860::8888", AddressClass::Public),
            ("fec0::1", AddressClass::Public),
        ] {
            assert_eq!(c(ip), class, "{ip}");
        }
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let default = AddressPolicy::default();
        assert!(default.check_ip(ip("10.0.0.1")).is_ok());
        assert!(
            default
                .check_ip(ip("8.8.8.8"))
                .unwrap_err()
                .contains("--allow-public")
        );
        let public = AddressPolicy {
            allow_public: true,
            ..Default::default()
        };
        assert!(public.check_ip(ip("8.8.8.8")).is_ok());
        let e = public.check_ip(ip("169.254.1.1")).unwrap_err();
        assert!(
            e.contains("link-local") && e.contains("--allow-link-local"),
            "{e}"
        );
        let e = public.check_ip(ip("169.254.169.254")).unwrap_err();
        assert!(
            e.contains("metadata") && e.contains("--allow-metadata"),
            "{e}"
        );
        let link_local = AddressPolicy {
            allow_link_local: true,
            ..Default::default()
        };
        assert!(link_local.check_ip(ip("169.254.1.1")).is_ok());
        assert!(link_local.check_ip(ip("169.254.169.254")).is_err());
        assert!(link_local.check_ip(ip("8.8.8.8")).is_err());
        assert!(public.check_name("Metadata.Google.Internal.").is_err());
        assert!(public.check_name("pprof.internal").is_ok());
        let metadata = AddressPolicy {
            allow_metadata: true,
            ..Default::default()
        };
        assert!(metadata.check_name("metadata.google.internal").is_ok());
        assert!(metadata.check_ip(ip("169.254.169.254")).is_ok());
        assert!(metadata.check_ip(ip("169.254.1.1")).is_err());
    }
}
