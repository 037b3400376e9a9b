use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{schema_version, AgentKind, FailureKind, Stage};

/// What kind of document this is, sniffed from its bytes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// PDF.
    Pdf,
    /// Raster image (PNG, JPEG, TIFF, BMP, WebP, GIF).
    Image,
    /// HTML page.
    Html,
    /// JSON.
    Json,
    /// XML.
    Xml,
    /// CSV or another delimited table.
    Csv,
    /// Plain text.
    Text,
    /// Not recognised.
    #[default]
    Unknown,
}

impl DocKind {
    /// Name used in the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Pdf => "pdf",
            DocKind::Image => "image",
            DocKind::Html => "html",
            DocKind::Json => "json",
            DocKind::Xml => "xml",
            DocKind::Csv => "csv",
            DocKind::Text => "text",
            DocKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of a job.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted, not yet started.
    #[default]
    Accepted,
    /// Stages are running.
    Running,
    /// Every stage succeeded.
    Completed,
    /// Required stages succeeded, an optional one failed (see `errors`).
    Partial,
    /// A required stage failed or the deadline passed (see `errors`).
    Failed,
}

impl JobStatus {
    /// Name used in events and Redis.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Accepted => "accepted",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Partial => "partial",
            JobStatus::Failed => "failed",
        }
    }

    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Partial | JobStatus::Failed
        )
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "accepted" => JobStatus::Accepted,
            "running" => JobStatus::Running,
            "completed" => JobStatus::Completed,
            "partial" => JobStatus::Partial,
            "failed" => JobStatus::Failed,
            other => return Err(format!("unknown job status {other:?}")),
        })
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Facts about the input document.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SourceInfo {
    /// Name given by the client.
    pub name: String,
    /// Media type sniffed from the bytes.
    pub media_type: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex sha256 of the bytes.
    pub sha256: String,
}

/// One page of text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    /// Text of the page.
    pub text: String,
    /// Whether the text came from OCR.
    pub ocr: bool,
    /// OCR mean confidence in 0..=1, when OCR was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

impl Page {
    /// The text of a paged document: its pages' texts joined by form feeds (U+000C), as
    /// pdftotext writes them. Agents and the synthesis build it the same way, so a part
    /// may send its pages alone and the document's text still comes out whole.
    pub fn joined_text(pages: &[Page]) -> String {
        pages
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\u{c}")
    }

    /// Whether `text` is exactly `pieces` joined by form feeds, as
    /// [`Page::joined_text`] would build it (compared slice by slice, without building
    /// the joined text).
    pub fn is_joined<'a>(pieces: impl IntoIterator<Item = &'a str>, text: &str) -> bool {
        let mut rest = text.as_bytes();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                match rest.split_first() {
                    Some((b'\x0c', tail)) => rest = tail,
                    _ => return false,
                }
            }
            match rest.strip_prefix(piece.as_bytes()) {
                Some(tail) => rest = tail,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

/// A table: rows of cells.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Table {
    /// Page the table is on, when the document has pages.
    pub page: Option<u32>,
    /// Rows of cell texts; the first row is the header when the source has one.
    pub rows: Vec<Vec<String>>,
    /// Where the table came from in the source (JSON pointer, XML path...), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Zero-shot classification.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Classification {
    /// Best label.
    pub label: String,
    /// Its score.
    pub score: f32,
    /// Score of every label; they sum to 1.
    pub scores: BTreeMap<String, f32>,
}

/// A recognised entity; `start`/`end` are character offsets into `text` of the document.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Entity {
    /// Entity type (email, url, date, money, PER, ORG...).
    pub kind: String,
    /// The entity's text.
    pub text: String,
    /// Start offset (characters).
    pub start: usize,
    /// End offset (characters, exclusive).
    pub end: usize,
}

/// A chunk of the document text, with its embedding when asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Chunk {
    /// Chunk text.
    pub text: String,
    /// Start offset (characters).
    pub start: usize,
    /// End offset (characters, exclusive).
    pub end: usize,
    /// Embedding vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

/// One QA check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Check {
    /// Check name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// Quality report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Quality {
    /// Score in 0..=1.
    pub score: f32,
    /// Individual checks.
    pub checks: Vec<Check>,
}

/// How a stage went.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    /// Every task succeeded.
    #[default]
    Completed,
    /// A task failed.
    Failed,
}

/// One stage of the pipeline as it ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageReport {
    /// Which stage.
    pub stage: Stage,
    /// Agent types that ran its tasks.
    pub agents: Vec<AgentKind>,
    /// Longest task duration in the stage.
    pub duration_ms: u64,
    /// Outcome.
    pub status: StageStatus,
}

/// A failure, as the result document lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    /// Stage it happened in.
    pub stage: Stage,
    /// Agent type, when an agent failed.
    pub agent: Option<AgentKind>,
    /// Failure class.
    pub kind: FailureKind,
    /// Reason.
    pub message: String,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Timings {
    /// Submission to end.
    pub total_ms: u64,
    /// Sum over stages of the time tasks waited for a worker.
    pub queue_ms: u64,
    /// Total minus time inside agents and queues: the fleet's own overhead.
    pub coordination_ms: u64,
}

/// The result of a job (DESIGN §8). Fields that do not apply are empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ResultDocument {
    /// Schema version.
    pub v: u32,
    /// Job id.
    pub job_id: String,
    /// Final (or current) status.
    pub status: JobStatus,
    /// Facts about the input.
    pub source: SourceInfo,
    /// Document kind (empty when unknown).
    pub kind: String,
    /// Whole text.
    pub text: String,
    /// Text by page.
    pub pages: Vec<Page>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Metadata.
    pub metadata: Map<String, Value>,
    /// Language.
    pub language: Option<String>,
    /// Classification.
    pub classification: Option<Classification>,
    /// Entities.
    pub entities: Vec<Entity>,
    /// Chunks.
    pub chunks: Vec<Chunk>,
    /// Quality report.
    pub quality: Option<Quality>,
    /// Stages as they ran.
    pub stages: Vec<StageReport>,
    /// Failures.
    pub errors: Vec<ErrorReport>,
    /// Timings.
    pub timings: Timings,
}

impl Default for ResultDocument {
    fn default() -> Self {
        Self {
            v: schema_version(),
            job_id: String::new(),
            status: JobStatus::Accepted,
            source: SourceInfo::default(),
            kind: String::new(),
            text: String::new(),
            pages: Vec::new(),
            tables: Vec::new(),
            metadata: Map::new(),
            language: None,
            classification: None,
            entities: Vec::new(),
            chunks: Vec::new(),
            quality: None,
            stages: Vec::new(),
            errors: Vec::new(),
            timings: Timings::default(),
        }
    }
}
