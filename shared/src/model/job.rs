use serde::{Deserialize, Serialize};

use super::{schema_version, Bytes};

/// A job as a client publishes it on `daa.jobs.submit`.
///
/// Only `source` is required; `job_id` defaults to a coordinator-assigned UUIDv7.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// Client-chosen id (also the idempotency key); assigned when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Where the document is.
    pub source: Source,
    /// Which outputs are wanted; switches pipeline stages on and off.
    #[serde(default)]
    pub requirements: Requirements,
    /// Scheduling priority of the job's tasks.
    #[serde(default)]
    pub priority: Priority,
    /// Time budget for the whole job in milliseconds (default: `jobs.default_deadline_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Subject the result document is published to when the job ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Where a document comes from: exactly one of the variants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The bytes travel in the message.
    Inline {
        /// File name as the client knows it (a hint only: content is sniffed from bytes).
        #[serde(default)]
        name: String,
        /// The document.
        data: Bytes,
    },
    /// The bytes are in a JetStream Object Store bucket (claim check).
    Object {
        /// Bucket, normally `daa-documents`.
        bucket: String,
        /// Object key, normally the document's sha256.
        key: String,
        /// File name hint.
        #[serde(default)]
        name: String,
    },
    /// A web page to fetch (http or https).
    Url(String),
    /// A file on a file system every worker shares.
    Path(String),
}

impl Source {
    /// The document's name as given by the client (file name, URL or object key).
    pub fn name(&self) -> &str {
        match self {
            Source::Inline { name, .. } => name,
            Source::Object { name, key, .. } => {
                if name.is_empty() {
                    key
                } else {
                    name
                }
            }
            Source::Url(u) => u,
            Source::Path(p) => p,
        }
    }
}

/// What the client wants out of the document.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Requirements {
    /// Text by page (default true).
    pub extract_text: bool,
    /// Tables (default true).
    pub extract_tables: bool,
    /// Zero-shot classification (default false).
    pub classify_content: bool,
    /// Named entities (default false).
    pub extract_entities: bool,
    /// Chunks with embeddings (default false).
    pub embeddings: bool,
}

impl Default for Requirements {
    fn default() -> Self {
        Self {
            extract_text: true,
            extract_tables: true,
            classify_content: false,
            extract_entities: false,
            embeddings: false,
        }
    }
}

/// Task priority; each has its own subject and consumer per agent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Served before normal and low.
    High,
    /// The default.
    #[default]
    Normal,
    /// Served when nothing else waits.
    Low,
}

impl Priority {
    /// All priorities, highest first (the order workers fetch in).
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    /// Name used in subjects and consumer names.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "high" => Ok(Priority::High),
            "normal" => Ok(Priority::Normal),
            "low" => Ok(Priority::Low),
            other => Err(format!("unknown priority {other:?} (high, normal, low)")),
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
