//! `[agents.web]`: every setting of the web agent, with its default.

use serde::{Deserialize, Serialize};

/// Settings of the web agent, read from the `[agents.web]` section of the configuration
/// (`Config::agent::<WebConfig>("web")`). Unknown keys are errors; missing keys take the
/// defaults documented on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Time allowed to open a TCP (and TLS) connection to a host (default 5 000 ms).
    /// Exceeding it is a temporary failure.
    pub connect_timeout_ms: u64,
    /// Longest pause allowed between two reads of a response (default 15 000 ms).
    pub read_timeout_ms: u64,
    /// Time allowed for a whole fetch: every redirect hop, headers and body, but not the
    /// politeness wait (default 30 000 ms). Exceeding it is a temporary failure.
    pub timeout_ms: u64,
    /// Largest HTML document accepted, fetched (counted while streaming, after gzip or
    /// brotli decoding) or inline (default 10 MiB). Larger is a permanent failure.
    pub max_body_bytes: u64,
    /// Redirects followed before giving up permanently (default 5). Each hop is checked
    /// by the SSRF guard again.
    pub max_redirects: u32,
    /// `User-Agent` sent with every request; it names daa so that site operators know
    /// who is fetching.
    pub user_agent: String,
    /// Media types accepted from servers (default `text/html`, `application/xhtml+xml`).
    /// A response without a `Content-Type` is accepted when its bytes look like HTML.
    pub accept_content_types: Vec<String>,
    /// Networks (CIDR like `127.0.0.0/8`, `fd12::/16`, or single addresses) that the SSRF
    /// guard lets through although they are loopback, private, link-local... (default
    /// none). Everything else that is not a public unicast address is refused.
    pub allow_networks: Vec<String>,
    /// Requests per second granted to one host, shared by every web worker through Redis
    /// (per process when there is no Redis) (default 2.0).
    pub host_rate_per_s: f64,
    /// Requests a host can receive in a burst before `host_rate_per_s` applies
    /// (default 4).
    pub host_burst: u32,
    /// Longest time a task waits for its host's token before it is handed back as an
    /// overload failure with a retry delay (default 5 000 ms).
    pub politeness_max_wait_ms: u64,
    /// Consecutive failures (connection errors, timeouts, 5xx, 429) that open a host's
    /// circuit breaker (default 5).
    pub breaker_failures: u32,
    /// How long an open breaker fails tasks for that host fast, before one probe request
    /// is let through (default 30 000 ms).
    pub breaker_open_ms: u64,
    /// Most DOM nodes the parser may build; more is a permanent failure (default
    /// 2 000 000). Bounds memory on hostile markup.
    pub max_nodes: usize,
    /// Longest time HTML parsing may take; more is a permanent failure (default
    /// 5 000 ms; a 10 MiB page parses in well under a second). Bounds time on hostile
    /// markup.
    pub max_parse_ms: u64,
    /// Links kept in `metadata.links` (all are counted in `links_count`) (default 1 000).
    pub max_links: usize,
    /// Headings kept in `metadata.headings` (default 1 000).
    pub max_headings: usize,
    /// Tables kept (default 500); more are dropped and reported as a loss (the job ends
    /// `partial`).
    pub max_tables: usize,
    /// Table cells kept over all tables of a page, after `rowspan`/`colspan` expansion
    /// (default 500 000). Tables beyond it are dropped and reported as a loss.
    pub max_table_cells: usize,
    /// Longest main-content text produced, in bytes; longer is truncated at a character
    /// boundary and reported as a loss (default 8 MiB).
    pub max_text_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 5_000,
            read_timeout_ms: 15_000,
            timeout_ms: 30_000,
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            user_agent: format!(
                "Mozilla/5.0 (compatible; daa-web/{}; document-processing agent; +https://example.invalid/daa)",
                env!("CARGO_PKG_VERSION")
            ),
            accept_content_types: vec!["text/html".into(), "application/xhtml+xml".into()],
            allow_networks: Vec::new(),
            host_rate_per_s: 2.0,
            host_burst: 4,
            politeness_max_wait_ms: 5_000,
            breaker_failures: 5,
            breaker_open_ms: 30_000,
            max_nodes: 2_000_000,
            max_parse_ms: 5_000,
            max_links: 1_000,
            max_headings: 1_000,
            max_tables: 500,
            max_table_cells: 500_000,
            max_text_bytes: 8 * 1024 * 1024,
        }
    }
}

impl WebConfig {
    /// Check values that serde cannot (ranges, CIDR syntax).
    pub fn validate(&self) -> Result<(), String> {
        if !(self.host_rate_per_s.is_finite() && self.host_rate_per_s > 0.0) {
            return Err(format!(
                "[agents.web] host_rate_per_s must be a positive number, not {}",
                self.host_rate_per_s
            ));
        }
        if self.host_burst == 0 {
            return Err("[agents.web] host_burst must be at least 1".into());
        }
        if self.timeout_ms == 0 || self.connect_timeout_ms == 0 || self.read_timeout_ms == 0 {
            return Err("[agents.web] timeouts must be positive".into());
        }
        if self.user_agent.trim().is_empty() {
            return Err("[agents.web] user_agent must not be empty".into());
        }
        crate::guard::parse_networks(&self.allow_networks)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_keys_and_unknown_keys_fail() {
        let c: WebConfig =
            serde_json::from_str(r#"{"max_redirects": 2, "allow_networks": ["127.0.0.0/8"]}"#)
                .unwrap();
        assert_eq!(c.max_redirects, 2);
        assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
        assert!(c.user_agent.contains("daa"));
        c.validate().unwrap();
        let err = serde_json::from_str::<WebConfig>(r#"{"max_redirect": 2}"#).unwrap_err();
        assert!(err.to_string().contains("max_redirect"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let c = WebConfig {
            allow_networks: vec!["10.0.0.0/33".into()],
            ..WebConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("10.0.0.0/33"));
        let c = WebConfig {
            host_rate_per_s: 0.0,
            ..WebConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
