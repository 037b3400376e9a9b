//! W3C trace context (`traceparent`) carried in NATS headers, so that every log line of
//! one job, in every process, carries the same `trace_id`. A client may start the trace
//! by sending `traceparent` with its job; otherwise the coordinator starts one.

use async_nats::HeaderMap;

/// Header name.
pub const TRACEPARENT: &str = "traceparent";

/// A trace id and the id of the current span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex characters.
    pub trace_id: String,
    /// 16 lowercase hex characters.
    pub span_id: String,
}

fn hex_id(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl TraceContext {
    /// A new trace.
    pub fn new_root() -> Self {
        Self {
            trace_id: hex_id(16),
            span_id: hex_id(8),
        }
    }

    /// The same trace, a new span.
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id.clone(),
            span_id: hex_id(8),
        }
    }

    /// A context continuing `trace_id` (e.g. one stored with the job).
    pub fn continuing(trace_id: &str) -> Self {
        if trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self {
                trace_id: trace_id.to_ascii_lowercase(),
                span_id: hex_id(8),
            }
        } else {
            Self::new_root()
        }
    }

    /// Parse a `traceparent` value (`00-<trace>-<span>-<flags>`).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span) = (parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if version != "00" || !hex(trace, 32) || !hex(span, 16) || trace.bytes().all(|b| b == b'0')
        {
            return None;
        }
        Some(Self {
            trace_id: trace.to_ascii_lowercase(),
            span_id: span.to_ascii_lowercase(),
        })
    }

    /// From a message's headers, if it carries one.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Option<Self> {
        headers
            .and_then(|h| h.get(TRACEPARENT))
            .and_then(|v| Self::parse(v.as_str()))
    }

    /// The `traceparent` header value (sampled flag set).
    pub fn header_value(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    /// Add the header to `headers`.
    pub fn inject(&self, headers: &mut HeaderMap) {
        headers.insert(TRACEPARENT, self.header_value().as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = TraceContext::new_root();
        let parsed = TraceContext::parse(&t.header_value()).unwrap();
        assert_eq!(parsed, t);
        assert_eq!(t.child().trace_id, t.trace_id);
        assert_ne!(t.child().span_id, t.span_id);
        assert!(TraceContext::parse("00-xyz-1-01").is_none());
        assert!(
            TraceContext::parse(&format!("00-{}-{}-01", "0".repeat(32), "1".repeat(16))).is_none()
        );
        assert_eq!(TraceContext::continuing("not-an-id").trace_id.len(), 32);
    }
}
