//! The fetcher: reqwest (rustls, gzip, brotli) behind the SSRF guard, with politeness and
//! a circuit breaker per host.
//!
//! Redirects are followed here, not by reqwest (its policy is `none`), so that every hop
//! goes through [`AddrPolicy::check_url`], the guarded resolver, the host's breaker and
//! its politeness bucket. Proxies from the environment are ignored (a proxy would connect
//! to addresses the guard never saw).
//!
//! Failure classes: DNS failure, refused or reset connections, timeouts, 5xx, 408 and 429
//! are temporary (429 and 503 honour `Retry-After`); other 4xx, SSRF refusals, TLS
//! certificate errors, unsupported content types, bodies over `max_body_bytes`, corrupt
//! compressed bodies and too many redirects are permanent.

use std::error::Error as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use daa_shared::model::{DocKind, FailureKind, TaskError};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};

use daa_shared::breaker::{BreakerConfig, Call, Registry};

use crate::config::WebConfig;
use crate::guard::{AddrPolicy, DnsFailure, GuardedResolver, Refusal};
use crate::politeness::{Backend, Politeness};

/// A fetched page.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// URL after redirects.
    pub final_url: Url,
    /// HTTP status of the final response.
    pub status: u16,
    /// `Content-Type` header of the final response, as sent.
    pub content_type: Option<String>,
    /// `charset` parameter of that header, if any.
    pub charset: Option<String>,
    /// `Content-Language` header, if any.
    pub content_language: Option<String>,
    /// Every URL fetched before the final one.
    pub redirects: Vec<String>,
    /// The body, decoded from gzip or brotli.
    pub body: Vec<u8>,
}

/// Counters for the agent's metrics.
#[derive(Debug, Default)]
pub(crate) struct FetchStats {
    pub(crate) requests: AtomicU64,
    pub(crate) pages: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) refusals: AtomicU64,
    pub(crate) breaker_rejections: AtomicU64,
    pub(crate) bytes: AtomicU64,
}

pub(crate) struct Fetcher {
    client: reqwest::Client,
    policy: Arc<AddrPolicy>,
    /// One breaker per host (`web:<host>`), opening after `breaker_failures`
    /// consecutive failures.
    pub(crate) breakers: Registry,
    pub(crate) politeness: Politeness,
    pub(crate) stats: FetchStats,
    timeout: Duration,
    max_body: u64,
    max_redirects: u32,
    accept: Vec<String>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Hosts whose breakers are kept at most; beyond it closed ones are forgotten.
const MAX_HOSTS: usize = 10_000;

/// The dependency name of a host's breaker.
pub(crate) fn dependency(host: &str) -> String {
    format!("web:{host}")
}

/// One hop's outcome.
enum Hop {
    Redirect(Url),
    Done(Fetched),
}

impl Fetcher {
    pub(crate) fn new(cfg: &WebConfig, backend: Backend) -> Result<Self, String> {
        let policy = Arc::new(AddrPolicy::new(crate::guard::parse_networks(
            &cfg.allow_networks,
        )?));
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .read_timeout(Duration::from_millis(cfg.read_timeout_ms))
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .https_only(false)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            policy,
            breakers: Registry::new(BreakerConfig::consecutive(
                cfg.breaker_failures,
                cfg.breaker_open_ms,
            ))
            .with_limit(MAX_HOSTS),
            politeness: Politeness::new(
                cfg.host_rate_per_s,
                cfg.host_burst,
                Duration::from_millis(cfg.politeness_max_wait_ms),
                backend,
            ),
            stats: FetchStats::default(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            max_body: cfg.max_body_bytes,
            max_redirects: cfg.max_redirects,
            accept: cfg
                .accept_content_types
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
        })
    }

    /// Fetch `url`, following redirects, within the configured limits.
    pub(crate) async fn fetch(&self, url: &str) -> Result<Fetched, TaskError> {
        let mut url = Url::parse(url.trim())
            .map_err(|e| TaskError::permanent(format!("{url:?} is not a valid URL: {e}")))?;
        let mut redirects: Vec<String> = Vec::new();
        let mut budget = self.timeout;
        loop {
            let hop = self.hop(&url, &mut budget).await;
            match hop {
                Ok(Hop::Done(mut f)) => {
                    f.redirects = redirects;
                    self.stats.pages.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .bytes
                        .fetch_add(f.body.len() as u64, Ordering::Relaxed);
                    return Ok(f);
                }
                Ok(Hop::Redirect(next)) => {
                    redirects.push(url.to_string());
                    if redirects.len() > self.max_redirects as usize {
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(TaskError::permanent(format!(
                            "more than {} redirects (max_redirects) starting at {}",
                            self.max_redirects, redirects[0]
                        )));
                    }
                    url = next;
                }
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }

    /// One request: guard, breaker, politeness, send, then either a redirect target or
    /// the body. `budget` is the time left for the whole fetch.
    async fn hop(&self, url: &Url, budget: &mut Duration) -> Result<Hop, TaskError> {
        if let Err(Refusal(msg)) = self.policy.check_url(url) {
            self.stats.refusals.fetch_add(1, Ordering::Relaxed);
            return Err(TaskError::permanent(msg));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let call = match self.breakers.get(&dependency(&host)).try_call() {
            Ok(c) => c,
            Err(remaining) => {
                self.stats
                    .breaker_rejections
                    .fetch_add(1, Ordering::Relaxed);
                return Err(TaskError::temporary(format!(
                    "circuit breaker open for {host} after repeated failures; not fetching {url} \
                     for another {} ms",
                    remaining.as_millis()
                ))
                .with_retry_after(remaining.as_millis() as u64)
                .with_dependency(dependency(&host)));
            }
        };
        self.politeness.acquire(&host).await?;
        let started = Instant::now();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let sent = tokio::time::timeout(
            *budget,
            self.client
                .get(url.clone())
                .header(
                    header::ACCEPT,
                    "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
                )
                .send(),
        )
        .await;
        let resp = match sent {
            Err(_) => {
                let e = TaskError::temporary(format!(
                    "fetching {url} timed out after {} ms (timeout_ms)",
                    self.timeout.as_millis()
                ));
                call.failure(&e.message);
                return Err(e);
            }
            Ok(Err(e)) => {
                let (err, host_failed) = classify(&e, url);
                if host_failed {
                    call.failure(&err.message);
                }
                if err.message.starts_with("refused") {
                    self.stats.refusals.fetch_add(1, Ordering::Relaxed);
                }
                return Err(err);
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        *budget = budget.saturating_sub(started.elapsed());

        if status.is_redirection() {
            call.success();
            let loc = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    TaskError::permanent(format!(
                        "{url} answered {status} without a usable Location header"
                    ))
                })?;
            let next = url.join(loc.trim()).map_err(|e| {
                TaskError::permanent(format!("{url} redirects to an invalid URL {loc:?}: {e}"))
            })?;
            return Ok(Hop::Redirect(next));
        }
        if !status.is_success() {
            return Err(status_error(call, url, status, resp.headers()));
        }
        call.success();
        if status == StatusCode::NO_CONTENT {
            return Err(TaskError::permanent(format!(
                "{url} answered 204 No Content"
            )));
        }

        let headers = resp.headers();
        let content_type = header_str(headers, header::CONTENT_TYPE);
        let (mime, charset) = match &content_type {
            Some(ct) => split_content_type(ct),
            None => (None, None),
        };
        if let Some(m) = &mime {
            if !self.accept.iter().any(|a| a == m) {
                return Err(TaskError::permanent(format!(
                    "{url} is {m}, not HTML (accepted: {})",
                    self.accept.join(", ")
                )));
            }
        }
        if let Some(len) = resp.content_length() {
            if len > self.max_body {
                return Err(TaskError::permanent(format!(
                    "{url} is {len} bytes, more than max_body_bytes ({})",
                    self.max_body
                )));
            }
        }
        let content_language = header_str(headers, header::CONTENT_LANGUAGE);
        let final_url = resp.url().clone();
        let body = self.read_body(resp, url, budget).await?;
        if mime.is_none() && daa_shared::sniff::sniff(&body).kind != DocKind::Html {
            return Err(TaskError::permanent(format!(
                "{url} sent no Content-Type and its bytes do not look like HTML"
            )));
        }
        Ok(Hop::Done(Fetched {
            final_url,
            status: status.as_u16(),
            content_type,
            charset,
            content_language,
            redirects: Vec::new(),
            body,
        }))
    }

    /// Stream the body, refusing it as soon as it passes `max_body_bytes`.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        url: &Url,
        budget: &mut Duration,
    ) -> Result<Vec<u8>, TaskError> {
        let started = Instant::now();
        let mut body: Vec<u8> = Vec::new();
        loop {
            let left = budget.saturating_sub(started.elapsed());
            let chunk = match tokio::time::timeout(left, resp.chunk()).await {
                Err(_) => {
                    return Err(TaskError::temporary(format!(
                        "reading {url} timed out after {} ms (timeout_ms)",
                        self.timeout.as_millis()
                    )))
                }
                Ok(Err(e)) => return Err(classify(&e, url).0),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(TaskError::permanent(format!(
                    "{url} is larger than max_body_bytes ({} bytes); download stopped",
                    self.max_body
                )));
            }
            body.extend_from_slice(&chunk);
        }
        *budget = budget.saturating_sub(started.elapsed());
        Ok(body)
    }
}

/// The error of a non-2xx, non-3xx answer, counted in the host's breaker: 408, 429 and
/// 5xx are failures of the host, other statuses mean it answered.
fn status_error(call: Call, url: &Url, status: StatusCode, headers: &HeaderMap) -> TaskError {
    let retry_after = header_str(headers, header::RETRY_AFTER)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.min(3600) * 1000);
    let what = format!("{url} answered HTTP {status}");
    match status.as_u16() {
        429 => {
            let mut e = TaskError::new(
                FailureKind::Overload,
                format!("{what}: the site asks us to slow down"),
            );
            e.retry_after_ms = retry_after.or(Some(10_000));
            call.failure(&e.message);
            e
        }
        408 | 500..=599 => {
            let mut e = TaskError::temporary(what);
            e.retry_after_ms = retry_after;
            call.failure(&e.message);
            e
        }
        _ => {
            call.success();
            TaskError::permanent(what)
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `text/html; charset=UTF-8` → (`text/html`, `UTF-8`).
pub(crate) fn split_content_type(ct: &str) -> (Option<String>, Option<String>) {
    let mut parts = ct.split(';');
    let mime = parts
        .next()
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
    });
    (mime, charset.filter(|c| !c.is_empty()))
}

/// Map a reqwest error to a task error; the flag says whether it counts against the
/// host's breaker.
fn classify(e: &reqwest::Error, url: &Url) -> (TaskError, bool) {
    let mut chain: Vec<String> = Vec::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return (TaskError::permanent(r.0.clone()), false);
        }
        if let Some(d) = s.downcast_ref::<DnsFailure>() {
            return (TaskError::temporary(d.to_string()), true);
        }
        let text = s.to_string();
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        src = s.source();
    }
    let detail = if chain.is_empty() {
        e.to_string()
    } else {
        chain.join(": ")
    };
    if e.is_timeout() {
        return (
            TaskError::temporary(format!("fetching {url} timed out: {detail}")),
            true,
        );
    }
    if e.is_decode() {
        return (
            TaskError::permanent(format!("{url} sent a corrupt body: {detail}")),
            false,
        );
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") {
        return (
            TaskError::permanent(format!("TLS certificate of {url} rejected: {detail}")),
            false,
        );
    }
    if e.is_builder() {
        return (
            TaskError::permanent(format!("cannot request {url}: {detail}")),
            false,
        );
    }
    let what = if e.is_connect() {
        "cannot connect to"
    } else {
        "error fetching"
    };
    (
        TaskError::temporary(format!("{what} {url}: {detail}")),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_is_split() {
        assert_eq!(
            split_content_type("Text/HTML; Charset=\"ISO-8859-1\""),
            (Some("text/html".into()), Some("ISO-8859-1".into()))
        );
        assert_eq!(
            split_content_type("text/html"),
            (Some("text/html".into()), None)
        );
    }
}
