//! A running Go service: its pprof, metrics and expvar endpoints.

use std::time::Duration;

use super::http::*;
use crate::address::TargetUrl;
use crate::error::{Error, FetchError, ProfileError, Result};
use crate::evidence::bundle::SnapshotKind;
use crate::evidence::metrics::{self, MetricSample};
use crate::profile::Profile;

/// Query parameters of a profile request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileQuery {
    /// `gc=1`: run a garbage collection before taking a heap profile, so
    /// in-use numbers are exact as of now.
    pub gc: bool,
    /// `seconds=N`: a delta profile over the next N seconds (what was
    /// allocated during them), instead of totals since the start.
    pub seconds: Option<u32>,
}

/// A profile as fetched: the bytes to store (always gzip, as Go serves
/// them) and the decoded profile.
#[derive(Debug, Clone)]
pub struct FetchedProfile {
    /// The URL asked (as [`TargetUrl`] shows it).
    pub url: String,
    /// Gzip-compressed profile.proto bytes.
    pub gzip: Vec<u8>,
    /// The decoded, validated profile.
    pub profile: Profile,
}

/// One scrape of a metrics endpoint.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The URL asked (as [`TargetUrl`] shows it).
    pub url: String,
    /// When the scrape was taken, Unix milliseconds.
    pub time_ms: i64,
    /// The page as served (Prometheus text or expvar JSON).
    pub text: String,
    /// The samples read from it.
    pub samples: Vec<MetricSample>,
}
/// Checks that `body` is a profile; returns it gzipped, and decoded.
fn profile_from_body(
    url: &TargetUrl,
    body: Body,
) -> std::result::Result<FetchedProfile, FetchError> {
    const WHAT: &str = "a pprof profile";
    if body.bytes.is_empty() {
        return Err(unexpected(WHAT, &body, "truncated: the body is empty"));
    }
    let gzipped = crate::pprof::is_gzip(&body.bytes);
    if !gzipped && looks_like_html(&body.content_type, &body.bytes) {
        return Err(unexpected(
            WHAT,
            &body,
            "an HTML page (a proxy's login or error page? give credentials with --bearer, \
             --basic or --header)",
        ));
    }
    let profile = match Profile::from_bytes(&body.bytes, url.to_string()) {
        Ok(p) => p,
        Err(Error::Profile { error, .. }) => {
            let reason = match &error {
                ProfileError::Gzip(_) => format!(
                    "truncated or corrupt gzip ({} bytes received): {error}",
                    body.bytes.len()
                ),
                ProfileError::Decode(_) if gzipped => format!(
                    "truncated or corrupt profile ({} bytes received): {error}",
                    body.bytes.len()
                ),
                _ => format!("does not decode as a profile: {error}"),
            };
            return Err(unexpected(WHAT, &body, reason));
        }
        Err(other) => return Err(unexpected(WHAT, &body, other.to_string())),
    };
    let gzip = if gzipped {
        body.bytes
    } else {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body.bytes)
            .and_then(|_| enc.finish())
            .map_err(|e| FetchError::Transport(format!("compressing the profile: {e}")))?
    };
    Ok(FetchedProfile {
        url: url.to_string(),
        gzip,
        profile,
    })
}
/// A running Go service, by its base address.
#[derive(Debug, Clone)]
pub struct Service {
    base: TargetUrl,
    http: Http,
}

impl Service {
    /// A service at `base` (`http://10.0.3.7:6060`; a scheme-less
    /// `127.0.0.1:6060` means http, and a trailing `/debug/pprof/...` is
    /// dropped). Fails, without sending anything, when the address is not
    /// allowed by [`FetchOptions::addresses`]. Credentials in the URL
    /// (`http://user:password@host`) are sent as basic authentication and
    /// never shown; giving them there and in [`FetchOptions::auth`] too is
    /// an error.
    ///
    /// ```
    /// use heapframe::live::{FetchOptions, Service};
    /// let svc = Service::new("127.0.0.1:6060/debug/pprof/", FetchOptions::default())?;
    /// assert_eq!(svc.base().to_string(), "http://127.0.0.1:6060");
    /// let err = Service::new("http://93.184.216.34:6060", FetchOptions::default()).unwrap_err();
    /// assert!(err.to_string().contains("refused"));
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn new(base: &str, opts: FetchOptions) -> Result<Service> {
        let url = TargetUrl::parse(base).map_err(|e| Error::Option(e.to_string()))?;
        let (url, opts) = credentials_into_options(url, opts)?;
        let path = url.path();
        let keep = path.find("/debug/").map_or(path, |i| &path[..i]);
        let base = url.with_path(keep.trim_end_matches('/'));
        let http = Http::new(&base, opts)?;
        Ok(Service { base, http })
    }

    /// The normalised base address (no trailing slash, no credentials).
    pub fn base(&self) -> &TargetUrl {
        &self.base
    }

    /// The options in force.
    pub fn options(&self) -> &FetchOptions {
        self.http.options()
    }

    /// The URL of a profile endpoint with its query.
    ///
    /// ```
    /// use heapframe::evidence::bundle::SnapshotKind;
    /// use heapframe::live::{FetchOptions, ProfileQuery, Service};
    /// let svc = Service::new("http://127.0.0.1:6060", FetchOptions::default())?;
    /// let q = ProfileQuery { gc: true, seconds: Some(30) };
    /// assert_eq!(svc.profile_url(SnapshotKind::Allocs, &q).to_string(),
    ///            "http://127.0.0.1:6060/debug/pprof/allocs?gc=1&seconds=30");
    /// # Ok::<(), heapframe::Error>(())
    /// ```
    pub fn profile_url(&self, kind: SnapshotKind, q: &ProfileQuery) -> TargetUrl {
        let seconds = q.seconds.map(|s| s.to_string());
        let mut params = Vec::new();
        if q.gc {
            params.push(("gc", "1"));
        }
        if let Some(s) = &seconds {
            params.push(("seconds", s.as_str()));
        }
        self.endpoint(&format!("/debug/pprof/{}", kind.dir()))
            .with_query(&params)
    }

    /// An endpoint below the base: `/metrics`, `/debug/vars`...
    fn endpoint(&self, path: &str) -> TargetUrl {
        self.base.with_path(&format!("{}{path}", self.base.path()))
    }

    /// Fetches `/debug/pprof/heap`, `allocs`, `goroutine` or
    /// `goroutineleak` (Go 1.27) and checks that it is a profile.
    pub fn profile(&self, kind: SnapshotKind, q: &ProfileQuery) -> Result<FetchedProfile> {
        let url = self.profile_url(kind, q);
        let extra = Duration::from_secs(q.seconds.unwrap_or(0) as u64);
        self.http
            .get(&url, extra, |body| profile_from_body(&url, body))
    }

    /// Scrapes `/metrics` (Prometheus text format) and parses it with
    /// [`metrics::parse_prometheus`]; the scrape time is when the request
    /// was sent.
    pub fn metrics(&self) -> Result<Scrape> {
        let url = self.endpoint("/metrics");
        let shown = url.to_string();
        self.http.get(&url, Duration::ZERO, |body| {
            let time_ms = now_ms();
            const WHAT: &str = "Prometheus text";
            let text = text_from_body(&body, WHAT)?;
            let samples = metrics::parse_prometheus(&text, time_ms, &shown)
                .map_err(|e| unexpected(WHAT, &body, e.to_string()))?;
            if samples.is_empty() {
                return Err(unexpected(WHAT, &body, "no samples in the page"));
            }
            Ok(Scrape {
                url: shown.clone(),
                time_ms,
                text,
                samples,
            })
        })
    }

    /// Reads `/debug/vars` (Go's expvar) as metric samples with
    /// [`metrics::parse_expvar`]: heap in use, heap objects, GC cycles...
    /// under their Prometheus names, for services without `/metrics`.
    pub fn expvar(&self) -> Result<Scrape> {
        let url = self.endpoint("/debug/vars");
        let shown = url.to_string();
        self.http.get(&url, Duration::ZERO, |body| {
            let time_ms = now_ms();
            const WHAT: &str = "an expvar JSON page";
            let text = text_from_body(&body, WHAT)?;
            let samples = metrics::parse_expvar(&text, time_ms, &shown)
                .map_err(|e| unexpected(WHAT, &body, e.to_string()))?;
            Ok(Scrape {
                url: shown.clone(),
                time_ms,
                text,
                samples,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AddressPolicy;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        for bad in ["", "m", "5x", "-1s", "1s2"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_addresses_are_refused_before_any_request() {
        for url in [
            "http://8.8.8.8:6060",
            "https://93.184.216.34/debug/pprof/heap",
            "http://[2001:4860:4860::8888]:6060",
            "http://[::ffff:8.8.4.4]:80",
        ] {
            let err = Service::new(url, FetchOptions::default()).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Fetch {
                        error: FetchError::NotInternal(_),
                        ..
                    }
                ),
                "{url}: {err}"
            );
            assert!(err.to_string().contains("--allow-public"), "{err}");
        }
        for url in [
            "http://127.0.0.1:1",
            "http://10.0.0.1:6060",
            "http://172.16.5.4",
            "http://192.168.1.1",
            "http://[::1]:6060",
            "http://[fd00::1]:6060",
            "localhost:6060",
        ] {
            assert!(Service::new(url, FetchOptions::default()).is_ok(), "{url}");
        }
        // Allowed explicitly: the client is built, still nothing is sent.
        let opts = FetchOptions {
            addresses: AddressPolicy {
                allow_public: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(Service::new("http://8.8.8.8:6060", opts).is_ok());
    }

    #[test]
    fn link_local_and_metadata_need_their_own_switch() {
        let with = |addresses| FetchOptions {
            addresses,
            ..Default::default()
        };
        let public = AddressPolicy {
            allow_public: true,
            ..Default::default()
        };
        let link_local = AddressPolicy {
            allow_link_local: true,
            ..Default::default()
        };
        let metadata = AddressPolicy {
            allow_metadata: true,
            ..Default::default()
        };
        for url in [
            "http://169.254.10.20:6060",
            "http://[fe80::1]:6060",
            "http://[::ffff:169.254.1.1]:6060",
        ] {
            for policy in [AddressPolicy::default(), public, metadata] {
                let e = Service::new(url, with(policy)).unwrap_err().to_string();
                assert!(
                    e.contains("link-local") && e.contains("--allow-link-local"),
                    "{e}"
                );
            }
            assert!(Service::new(url, with(link_local)).is_ok(), "{url}");
        }
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]",
            "http://100.100.100.200",
            "http://metadata.google.internal/computeMetadata/v1/",
        ] {
            for policy in [AddressPolicy::default(), public, link_local] {
                let e = Service::new(url, with(policy)).unwrap_err().to_string();
                assert!(
                    e.contains("metadata") && e.contains("--allow-metadata"),
                    "{e}"
                );
            }
        }
        // An IP literal needs no lookup: the client is built, nothing is sent.
        assert!(Service::new("http://169.254.169.254", with(metadata)).is_ok());
    }

    #[test]
    fn credentials_in_the_url_become_basic_authentication() {
        let svc =
            Service::new("http://ops:p%40ss@127.0.0.1:6060", FetchOptions::default()).unwrap();
        assert_eq!(svc.base().to_string(), "http://127.0.0.1:6060");
        assert_eq!(
            svc.options().auth,
            Some(Auth::Basic {
                user: "ops".into(),
                password: Some("p@ss".into())
            })
        );
        assert!(!format!("{svc:?}").contains("p@ss"));
        let twice = FetchOptions {
            auth: Some(Auth::Bearer("t".into())),
            ..Default::default()
        };
        let e = Service::new("http://ops:pw@127.0.0.1:6060", twice).unwrap_err();
        assert!(e.to_string().contains("both in the URL"), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }

    #[test]
    fn header_values_are_not_printed() {
        let opts = FetchOptions {
            headers: vec![("X-Api-Key".into(), "k3y-s3cret".into())],
            ..Default::default()
        };
        let svc = Service::new("http://127.0.0.1:6060", opts).unwrap();
        let shown = format!("{svc:?}");
        assert!(
            shown.contains("X-Api-Key") && !shown.contains("k3y-s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn base_addresses_are_normalised() {
        let base = |u: &str| {
            Service::new(u, FetchOptions::default())
                .unwrap()
                .base
                .to_string()
        };
        assert_eq!(base("127.0.0.1:6060"), "http://127.0.0.1:6060");
        assert_eq!(
            base("http://127.0.0.1:6060/debug/pprof/heap?gc=1"),
            "http://127.0.0.1:6060"
        );
        assert_eq!(
            base("http://127.0.0.1:6060/svc/"),
            "http://127.0.0.1:6060/svc"
        );
        assert!(Service::new("ftp://127.0.0.1/", FetchOptions::default()).is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let a = Auth::Basic {
            user: "ops".into(),
            password: Some("hunter2".into()),
        };
        assert_eq!(format!("{a:?}"), "Basic(ops:***)");
        assert_eq!(format!("{:?}", Auth::Bearer("t0k".into())), "Bearer(***)");
    }

    #[test]
    fn answers_that_are_not_profiles_are_named() {
        let u = TargetUrl::parse("http://127.0.0.1:6060/debug/pprof/heap").unwrap();
        let u = &u;
        let body = |ct: &str, b: &[u8]| Body {
            content_type: ct.into(),
            bytes: b.to_vec(),
        };
        let html = profile_from_body(
            u,
            body("text/html", b"<!DOCTYPE html><title>Sign in</title>"),
        )
        .unwrap_err();
        assert!(html.to_string().contains("HTML page"), "{html}");
        assert!(html.to_string().contains("Sign in"), "{html}");
        assert!(!html.is_transient());
        let good = std::fs::read("tests/data/conformance/profiles/svc.heap.2.pb.gz").unwrap();
        let cut = profile_from_body(u, body("", &good[..good.len() / 2])).unwrap_err();
        assert!(cut.to_string().contains("truncated"), "{cut}");
        assert!(cut.is_transient());
        let ok = profile_from_body(u, body("application/octet-stream", &good)).unwrap();
        assert_eq!(ok.gzip, good);
        // Raw protobuf is stored gzipped.
        let raw = crate::pprof::uncompressed(&good, &Default::default())
            .unwrap()
            .into_owned();
        let ok = profile_from_body(u, body("", &raw)).unwrap();
        assert!(crate::pprof::is_gzip(&ok.gzip));
        assert_eq!(
            Profile::from_bytes(&ok.gzip, "x").unwrap().samples.len(),
            ok.profile.samples.len()
        );
    }
}
