//! The daa quality agent: the first and the last stage of every job.
//!
//! - [`validation`] (stage `validation`): size, emptiness, content type (sniffed from the
//!   bytes, never from the name), name/content contradictions, text encoding, and the
//!   `source` facts (name, media type, size, sha256) of the result document.
//! - [`qa`] (stage `qa`): completeness and consistency checks over the synthesized
//!   [`ResultDocument`](daa_shared::model::ResultDocument), summed up in a weighted score.
//!
//! [`QualityAgent`] implements [`daa_worker::Agent`] for both stages; [`Limits`] holds
//! its thresholds.

pub mod qa;
pub mod validation;

use daa_shared::model::{AgentKind, Stage, StageOutput, StageTask, TaskError};
use daa_worker::{Agent, Capabilities, TaskContext};
use serde::{Deserialize, Serialize};

/// Limits and thresholds of the quality agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest document accepted by validation, in bytes (default 256 MiB). Larger
    /// documents fail permanently.
    pub max_document_bytes: u64,
    /// Text density QA expects: the `text_present` check wants at least this many
    /// non-whitespace characters per page (default 1, i.e. "some text").
    pub min_text_chars_per_page: usize,
    /// OCR confidence (0..=1) under which QA flags a page in `low_confidence_pages`
    /// (default 0.6).
    pub low_confidence: f32,
    /// Limits used when validation loads a PDF to count its pages (the pdf agent's
    /// limits; `[agents.quality.pdf]`).
    pub pdf: daa_pdf::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 256 * 1024 * 1024,
            min_text_chars_per_page: 1,
            low_confidence: 0.6,
            pdf: daa_pdf::Limits::default(),
        }
    }
}

/// The quality agent: runs the `validation` and `qa` stages.
#[derive(Debug, Clone, Default)]
pub struct QualityAgent {
    limits: Limits,
}

impl QualityAgent {
    /// An agent with these limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Agent for QualityAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Quality
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            stages: vec![Stage::Validation, Stage::Qa],
            kinds: Vec::new(),
        }
    }

    fn execute(&self, task: &StageTask, ctx: &TaskContext) -> Result<StageOutput, TaskError> {
        match task.stage {
            Stage::Validation => validation::validate(
                &self.limits,
                task.input.source.as_ref(),
                ctx.document.as_ref(),
            ),
            Stage::Qa => {
                let document =
                    task.input.document.as_deref().ok_or_else(|| {
                        TaskError::permanent("qa task carries no document to check")
                    })?;
                Ok(StageOutput {
                    quality: Some(qa::assess(document, &task.requirements, &self.limits)),
                    ..StageOutput::default()
                })
            }
            other => Err(TaskError::permanent(format!(
                "the quality agent does not run the {other} stage"
            ))),
        }
    }
}
