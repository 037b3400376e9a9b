//! The daa web agent: HTML given inline or fetched from a URL → main content, metadata and
//! tables.
//!
//! [`WebAgent`] implements [`daa_worker::Agent`] for the extraction stage of HTML
//! documents (`AgentKind::Web`, kinds `[Html]`):
//!
//! - `Source::Url` tasks are fetched (module `fetch`): reqwest with rustls,
//!   gzip and brotli, connect/read/total timeouts, a body limit enforced while
//!   streaming, redirects followed by hand so that every hop passes the SSRF guard
//!   ([`guard`]), a per-host token bucket shared through Redis and a per-host circuit
//!   breaker (`daa_shared::breaker`, dependency `web:<host>`; open and half-open ones
//!   show in the worker's heartbeat).
//! - Any other source arrives as bytes in `ctx.document` (inline, Object Store or shared
//!   path, resolved by the worker runtime) and is extracted directly.
//! - Extraction ([`extract()`]) decodes the charset, parses with html5ever within node and
//!   time limits, and picks the main content readability-style.
//!
//! The output ([`StageOutput`]): `text` is the main content (paragraphs separated by a
//! blank line, list items as `- item` lines, table rows as `a | b` lines); `tables`
//! holds the page's data tables (`page` is `None`); `language` is the primary language
//! subtag; `metadata` holds `title`, `description`, `author`, `published`,
//! `canonical_url`, `language`, `site_name` (each only when the page states it),
//! `headings` (`[{level, text}]`), `links` (`[{url, text}]`, up to `max_links`),
//! `links_count`, `charset`, `charset_source`, `dom_nodes`, and for fetched pages
//! `final_url`, `status`, `content_type`, `redirects`. For fetched pages `kind` (html)
//! and `source` (URL, media type, size, sha256 of the body) are filled too, since the
//! validation stage had no bytes to look at. `pages` stays empty: a web page has no
//! pages, and a single invented "page 1" would only duplicate `text`.
//!
//! Failures: SSRF refusals, 4xx, non-HTML content types, bodies over the limit, too
//! many redirects and hostile markup that passes the parser limits are permanent; DNS
//! failures, connection errors, timeouts and 5xx are temporary; an open breaker is
//! temporary with `retry_after_ms` and names the host as its dependency; an exhausted politeness wait (or HTTP 429) is an
//! overload with `retry_after_ms`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use daa_shared::config::{Config, RedisConfig};
use daa_shared::model::{
    AgentKind, DocKind, Source, SourceInfo, Stage, StageOutput, StageTask, TaskError,
};
use daa_shared::store::Store;
use daa_worker::{Agent, Capabilities, TaskContext};
use serde_json::{json, Map, Value};
use sha2::Digest as _;

pub mod bench_support;
mod config;
pub mod extract;
mod fetch;
pub mod guard;
mod io;
mod politeness;

pub use config::WebConfig;
pub use extract::{extract, Extracted, PageContext};
pub use fetch::Fetched;

use fetch::Fetcher;
use io::IoRuntime;
use politeness::Backend;

/// The web agent.
#[derive(Clone)]
pub struct WebAgent {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: WebConfig,
    fetcher: Arc<Fetcher>,
    io: OnceLock<Result<IoRuntime, String>>,
    pages: AtomicU64,
    failures: AtomicU64,
}

impl std::fmt::Debug for WebAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAgent")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl WebAgent {
    /// An agent with `cfg`. With a `store`, the per-host politeness buckets are shared
    /// by every web worker through Redis; with `None` (as in `daa process`) they are per
    /// process. Fails on invalid settings.
    pub fn new(cfg: WebConfig, store: Option<Store>) -> Result<WebAgent, String> {
        let backend = match store {
            Some(s) => Backend::Store(s),
            None => Backend::Local,
        };
        Self::build(cfg, backend)
    }

    /// An agent that connects to Redis on its first fetch (and again later if Redis was
    /// unreachable; meanwhile politeness is per process). For worker binaries, whose
    /// agent is built before any async runtime exists.
    pub fn with_redis(cfg: WebConfig, redis: RedisConfig) -> Result<WebAgent, String> {
        Self::build(
            cfg,
            Backend::Lazy {
                cfg: redis,
                cell: tokio::sync::OnceCell::new(),
                last_failure: std::sync::Mutex::new(None),
            },
        )
    }

    /// The agent a worker process runs: `[agents.web]` of `cfg`, Redis from `[redis]`.
    pub fn from_config(cfg: &Config) -> Result<WebAgent, String> {
        let web: WebConfig = cfg.agent("web").map_err(|e| e.to_string())?;
        Self::with_redis(web, cfg.redis.clone())
    }

    fn build(cfg: WebConfig, backend: Backend) -> Result<WebAgent, String> {
        cfg.validate()?;
        let fetcher = Fetcher::new(&cfg, backend)?;
        Ok(WebAgent {
            inner: Arc::new(Inner {
                cfg,
                fetcher: Arc::new(fetcher),
                io: OnceLock::new(),
                pages: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &WebConfig {
        &self.inner.cfg
    }

    /// Fetch `url` (blocking the calling thread), with every check the agent applies.
    pub fn fetch(&self, url: &str, cancel: &daa_worker::CancelFlag) -> Result<Fetched, TaskError> {
        let io = self
            .inner
            .io
            .get_or_init(IoRuntime::new)
            .as_ref()
            .map_err(|e| TaskError::temporary(e.clone()))?;
        let fetcher = self.inner.fetcher.clone();
        let url = url.to_owned();
        io.run(async move { fetcher.fetch(&url).await }, cancel)
    }

    fn run(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let cfg = &self.inner.cfg;
        let fetched = match &task.input.source {
            Some(Source::Url(url)) => Some(self.fetch(url, &ctx.cancel)?),
            _ => None,
        };
        let bytes: &[u8] = match (&fetched, &ctx.document) {
            (Some(f), _) => &f.body,
            (None, Some(d)) => &d.bytes,
            (None, None) => {
                return Err(TaskError::permanent(format!(
                    "task {}: no HTML was given to the web agent (no document bytes and no URL)",
                    task.task_id
                )))
            }
        };
        let page = PageContext {
            url: fetched.as_ref().map(|f| &f.final_url),
            charset: fetched.as_ref().and_then(|f| f.charset.as_deref()),
            content_language: fetched.as_ref().and_then(|f| f.content_language.as_deref()),
        };
        let ex = extract::extract(bytes, &page, cfg, Some(&ctx.cancel))?;
        tracing::debug!(
            task_id = %task.task_id,
            text_bytes = ex.text.len(),
            tables = ex.tables.len(),
            nodes = ex.nodes,
            "web extraction done"
        );
        Ok(output(
            ex,
            fetched.as_ref(),
            task.requirements.extract_tables,
        ))
    }
}

/// The stage output of an extracted page.
fn output(ex: Extracted, fetched: Option<&Fetched>, tables: bool) -> StageOutput {
    let mut md = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            md.insert(k.into(), Value::String(v));
        }
    };
    put("title", ex.title);
    put("description", ex.description);
    put("author", ex.author);
    put("published", ex.published);
    put("canonical_url", ex.canonical_url);
    put("language", ex.language);
    put("site_name", ex.site_name);
    md.insert("headings".into(), json!(ex.headings));
    md.insert("links".into(), json!(ex.links));
    md.insert("links_count".into(), json!(ex.links_count));
    md.insert("charset".into(), json!(ex.charset));
    md.insert("charset_source".into(), json!(ex.charset_source));
    md.insert("dom_nodes".into(), json!(ex.nodes));
    let mut out = StageOutput {
        text: Some(ex.text),
        tables: if tables { ex.tables } else { Vec::new() },
        language: ex.language_code,
        warnings: ex.warnings,
        losses: ex.losses,
        ..StageOutput::default()
    };
    if let Some(f) = fetched {
        md.insert("final_url".into(), json!(f.final_url.as_str()));
        md.insert("status".into(), json!(f.status));
        if let Some(ct) = &f.content_type {
            md.insert("content_type".into(), json!(ct));
        }
        if !f.redirects.is_empty() {
            md.insert("redirects".into(), json!(f.redirects));
        }
        let media_type = f
            .content_type
            .as_deref()
            .and_then(|ct| fetch::split_content_type(ct).0)
            .unwrap_or_else(|| "text/html".into());
        out.kind = Some(DocKind::Html);
        out.source = Some(SourceInfo {
            name: f
                .redirects
                .first()
                .cloned()
                .unwrap_or_else(|| f.final_url.to_string()),
            media_type,
            bytes: f.body.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(&f.body)),
        });
    }
    out.metadata = md;
    out
}

impl Agent for WebAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Web
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::Extraction],
            kinds: vec![DocKind::Html],
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let r = self.run(task, ctx);
        match &r {
            Ok(_) => self.inner.pages.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.inner.failures.fetch_add(1, Ordering::Relaxed),
        };
        r
    }

    fn metrics(&self) -> Vec<(String, f64)> {
        let f = &self.inner.fetcher;
        let s = &f.stats;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        vec![
            ("web_pages_extracted".into(), g(&self.inner.pages)),
            ("web_tasks_failed".into(), g(&self.inner.failures)),
            ("web_http_requests".into(), g(&s.requests)),
            ("web_pages_fetched".into(), g(&s.pages)),
            ("web_fetch_failures".into(), g(&s.failures)),
            ("web_ssrf_refusals".into(), g(&s.refusals)),
            ("web_breaker_rejections".into(), g(&s.breaker_rejections)),
            ("web_bytes_fetched".into(), g(&s.bytes)),
            (
                "web_hosts_breaker_open".into(),
                f.breakers.open_count() as f64,
            ),
            (
                "web_politeness_wait_ms".into(),
                f.politeness.waited_ms() as f64,
            ),
            (
                "web_politeness_redis_errors".into(),
                f.politeness.redis_errors() as f64,
            ),
        ]
    }

    fn breakers(&self) -> Vec<daa_shared::breaker::BreakerState> {
        // Hosts are open-ended: heartbeats carry the hosts that are not closed, a few.
        let mut open = self.inner.fetcher.breakers.not_closed();
        open.truncate(MAX_REPORTED_HOSTS);
        open
    }
}

/// Open or half-open host breakers reported in a heartbeat at most.
const MAX_REPORTED_HOSTS: usize = 32;
