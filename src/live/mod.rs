//! Live evidence (feature `live`): the HTTP client and its address guard, a running service's endpoints, the incident collector and
//! Prometheus range queries.

pub mod collect;
pub mod http;
pub mod prometheus;
pub mod service;

pub use http::{Auth, FetchOptions, check_target, now_ms, parse_duration};
pub use service::{FetchedProfile, ProfileQuery, Scrape, Service};
