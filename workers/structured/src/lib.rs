//! The daa structured agent: content extraction for JSON, XML, CSV (and other delimited
//! tables) and plain text.
//!
//! [`StructuredAgent`] implements [`daa_worker::Agent`] for the extraction stage. The
//! document kind is the one the validation stage put on the task (`task.input.kind`),
//! else it is sniffed from the bytes with [`daa_shared::sniff::sniff`]. Each format has
//! its own module; every one produces:
//!
//! - `text`, always (capped at [`Limits::max_text_bytes`], with a warning);
//! - `tables`, when the job asks for them (`requirements.extract_tables`), each named
//!   after where it came from (a JSON pointer, an XML element path; a CSV table is the
//!   whole document and has no name);
//! - `metadata`, format-specific facts (see each module), always with `encoding`;
//! - `warnings`, for everything that was recovered from (bad bytes, ragged rows);
//! - `losses`, for what a limit cut off (text past `max_text_bytes`, rows and cells
//!   past the table limits): the job ends `partial`.
//!
//! `pages` stays empty: structured documents have no pages, and inventing a single
//! "page 1" would only duplicate `text` in the result document (DESIGN §8: fields that do
//! not apply are empty).
//!
//! Bad input (malformed syntax, nesting or entity expansion beyond the [`Limits`], a
//! document larger than [`Limits::max_bytes`], a kind this agent does not handle) is a
//! permanent [`TaskError`] whose message says what is wrong and where.

use daa_shared::model::{AgentKind, DocKind, Stage, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, CancelFlag, Capabilities, TaskContext};

mod csv;
mod json;
mod limits;
mod output;
mod text;
mod xml;

pub use limits::Limits;

use output::Extracted;

/// The structured agent (JSON, XML, CSV, plain text).
#[derive(Debug, Clone, Default)]
pub struct StructuredAgent {
    limits: Limits,
}

impl StructuredAgent {
    /// An agent enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits this agent enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// What the format modules need besides the bytes.
pub(crate) struct Options<'a> {
    /// Input limits.
    pub(crate) limits: &'a Limits,
    /// Whether tables are wanted at all.
    pub(crate) tables: bool,
    /// Set when the runtime gives up on the task.
    pub(crate) cancel: &'a CancelFlag,
}

impl Options<'_> {
    /// An error when the runtime has given up on the task (checked in long loops).
    pub(crate) fn check_cancel(&self) -> Result<(), TaskError> {
        if self.cancel.is_cancelled() {
            Err(TaskError::temporary(
                "extraction cancelled by the worker runtime (deadline passed or worker draining)",
            ))
        } else {
            Ok(())
        }
    }
}

impl Agent for StructuredAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Structured
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::Extraction],
            kinds: vec![DocKind::Json, DocKind::Xml, DocKind::Csv, DocKind::Text],
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        let doc = ctx.document.as_ref().ok_or_else(|| {
            TaskError::permanent(format!(
                "task {}: no document bytes were given to the structured agent \
                 (the task's source could not be resolved to bytes)",
                task.task_id
            ))
        })?;
        let bytes: &[u8] = &doc.bytes;
        if bytes.len() > self.limits.max_bytes {
            return Err(TaskError::permanent(format!(
                "document is {} bytes, more than the structured agent's limit of {} bytes \
                 (max_bytes)",
                bytes.len(),
                self.limits.max_bytes
            )));
        }
        let kind = match task.input.kind {
            Some(kind) if kind != DocKind::Unknown => kind,
            _ => daa_shared::sniff::sniff(bytes).kind,
        };
        let opts = Options {
            limits: &self.limits,
            tables: task.requirements.extract_tables,
            cancel: &ctx.cancel,
        };
        let extracted = match kind {
            DocKind::Json => json::extract(bytes, &opts)?,
            DocKind::Xml => xml::extract(bytes, &opts)?,
            DocKind::Csv => csv::extract(bytes, &opts)?,
            DocKind::Text => text::extract(bytes, &opts)?,
            other => {
                return Err(TaskError::permanent(format!(
                    "the structured agent extracts json, xml, csv and text documents, \
                     not {other} ({:?})",
                    doc.name
                )))
            }
        };
        tracing::debug!(
            task_id = %task.task_id,
            %kind,
            text_bytes = extracted.text.len(),
            tables = extracted.tables.len(),
            warnings = extracted.warnings.len(),
            "structured extraction done"
        );
        Ok(into_output(extracted, opts.tables))
    }
}

fn into_output(extracted: Extracted, tables: bool) -> StageOutput {
    let Extracted {
        text,
        tables: found,
        metadata,
        warnings,
        losses,
    } = extracted;
    StageOutput {
        text: Some(text),
        tables: if tables { found } else { Vec::new() },
        metadata,
        warnings,
        losses,
        ..StageOutput::default()
    }
}
