//! The planner: which stage comes next, with which tasks. A pure function of the job
//! and the stages completed so far, shared by the coordinator service and `daa process`.
//!
//! Sequence: validation → extraction (agent chosen by the kind validation sniffed from
//! the bytes) → text processing (if embeddings) → analysis (if classification or
//! entities) → [synthesis] → QA. Validation and extraction are required: their failure
//! fails the job. The others are optional: their failure makes the job partial.

use std::sync::Arc;

use daa_shared::model::{
    AgentKind, DocKind, Outcome, Part, ResultDocument, Stage, StageResult, StageTask, TaskInput,
};
use daa_shared::store::JobSpec;

/// A stage that has every task's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedStage {
    /// Position in the job's pipeline.
    pub index: u32,
    /// Which stage.
    pub stage: Stage,
    /// One result per task, ordered by part (shared: the coordinator keeps decoded
    /// results between a job's stages).
    pub results: Vec<Arc<StageResult>>,
}

impl CompletedStage {
    /// Whether any task of the stage failed.
    pub fn failed(&self) -> bool {
        self.results
            .iter()
            .any(|r| matches!(r.outcome, Outcome::Err(_)))
    }

    /// Whether any task of the stage reported content it could not read
    /// ([`StageOutput::losses`](daa_shared::model::StageOutput::losses)).
    pub fn lost_content(&self) -> bool {
        self.results
            .iter()
            .any(|r| matches!(&r.outcome, Outcome::Ok(o) if !o.losses.is_empty()))
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Publish these tasks as stage `index`.
    Stage(StagePlan),
    /// Every stage has run (or a required one failed): synthesize and end the job.
    Finish,
}

/// The tasks of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePlan {
    /// Position in the job's pipeline.
    pub index: u32,
    /// Which stage.
    pub stage: Stage,
    /// Its tasks.
    pub tasks: Vec<StageTask>,
}

/// What the planner may know about the fleet when it splits work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanHints {
    /// Task slots of the live pdf workers (sum of their concurrency).
    pub pdf_slots: usize,
    /// A PDF is split only into parts of at least this many pages.
    pub pdf_min_pages_per_part: u32,
}

impl Default for PlanHints {
    fn default() -> Self {
        Self {
            pdf_slots: 1,
            pdf_min_pages_per_part: 32,
        }
    }
}

/// Page ranges (1-based, inclusive) of the parts a PDF of `pages` pages is split into:
/// as many parts as there are pdf task slots, but none under the minimum size.
pub fn pdf_parts(pages: u32, hints: &PlanHints) -> Vec<(u32, u32)> {
    let min = hints.pdf_min_pages_per_part.max(1);
    let by_size = (pages / min).max(1) as usize;
    let n = hints.pdf_slots.clamp(1, by_size) as u32;
    if n <= 1 || pages == 0 {
        return Vec::new();
    }
    let (base, extra) = (pages / n, pages % n);
    let mut first = 1;
    (0..n)
        .map(|i| {
            let len = base + u32::from(i < extra);
            let range = (first, first + len - 1);
            first += len;
            range
        })
        .collect()
}

/// The page count validation found, if any.
pub fn validated_page_count(done: &[CompletedStage]) -> Option<u32> {
    done.iter()
        .filter(|s| s.stage == Stage::Validation)
        .flat_map(|s| s.results.iter())
        .find_map(|r| match &r.outcome {
            Outcome::Ok(o) => o.metadata.get("page_count").and_then(|v| v.as_u64()),
            Outcome::Err(_) => None,
        })
        .and_then(|n| u32::try_from(n).ok())
}

/// Whether a stage's failure fails the whole job.
pub fn is_required(stage: Stage) -> bool {
    matches!(stage, Stage::Validation | Stage::Extraction)
}

/// Whether a required stage failed. Extraction rounds after the first (OCR of a PDF's
/// scanned pages) are optional: the text layer of the other pages still stands.
pub fn required_failed(done: &[CompletedStage]) -> bool {
    let mut extraction_seen = false;
    done.iter().any(|s| {
        let required = match s.stage {
            Stage::Extraction => !std::mem::replace(&mut extraction_seen, true),
            other => is_required(other),
        };
        required && s.failed()
    })
}

/// Pages the pdf agent reported as scanned (`metadata.ocr_pending[].page`).
pub fn ocr_pending_pages(stage: &CompletedStage) -> Vec<u32> {
    let mut pages: Vec<u32> = stage
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ok(o) => o.metadata.get("ocr_pending").and_then(|v| v.as_array()),
            Outcome::Err(_) => None,
        })
        .flatten()
        .filter_map(|p| p.get("page").and_then(|n| n.as_u64()))
        .filter_map(|n| u32::try_from(n).ok())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    pages
}

/// The extraction agent for a kind of document.
pub fn extraction_agent(kind: DocKind) -> Option<AgentKind> {
    match kind {
        DocKind::Pdf => Some(AgentKind::Pdf),
        DocKind::Image => Some(AgentKind::Image),
        DocKind::Html => Some(AgentKind::Web),
        DocKind::Json | DocKind::Xml | DocKind::Csv | DocKind::Text => Some(AgentKind::Structured),
        DocKind::Unknown => None,
    }
}

/// The kind validation sniffed, if it ran and succeeded.
pub fn validated_kind(done: &[CompletedStage]) -> Option<DocKind> {
    done.iter()
        .filter(|s| s.stage == Stage::Validation)
        .flat_map(|s| s.results.iter())
        .find_map(|r| match &r.outcome {
            Outcome::Ok(o) => o.kind,
            Outcome::Err(_) => None,
        })
}

/// The stages this job will run, in order (synthesis is not a task stage).
pub fn stages_for(spec: &JobSpec) -> Vec<Stage> {
    let r = spec.requirements;
    let mut v = vec![Stage::Validation, Stage::Extraction];
    if r.embeddings {
        v.push(Stage::TextProcessing);
    }
    if r.classify_content || r.extract_entities {
        v.push(Stage::Analysis);
    }
    v.push(Stage::Qa);
    v
}

/// Decide the next stage. `synthesized` builds the document so far for stages that read
/// it (text processing, analysis, QA); it is only called when needed.
pub fn next_stage(
    spec: &JobSpec,
    done: &[CompletedStage],
    hints: &PlanHints,
    synthesized: impl FnOnce() -> ResultDocument,
) -> Next {
    if required_failed(done) {
        return Next::Finish;
    }
    let index = done.len() as u32;
    // A PDF's scanned pages go to the image agent as a second extraction round, one task
    // per page, before the rest of the pipeline.
    let rounds = done.iter().filter(|s| s.stage == Stage::Extraction).count();
    if let Some(last) = done.last() {
        if last.stage == Stage::Extraction
            && rounds == 1
            && validated_kind(done) == Some(DocKind::Pdf)
        {
            let pages = ocr_pending_pages(last);
            if !pages.is_empty() {
                let count = pages.len() as u32;
                let tasks = pages
                    .into_iter()
                    .enumerate()
                    .map(|(i, page)| StageTask {
                        v: daa_shared::model::SCHEMA_VERSION,
                        task_id: StageTask::make_id(
                            &spec.job_id,
                            index,
                            Stage::Extraction,
                            i as u32,
                        ),
                        job_id: spec.job_id.clone(),
                        stage_index: index,
                        stage: Stage::Extraction,
                        agent: AgentKind::Image,
                        part: Some(Part {
                            index: i as u32,
                            count,
                            first_page: Some(page),
                            last_page: Some(page),
                        }),
                        priority: spec.priority,
                        requirements: spec.requirements,
                        input: TaskInput {
                            source: Some(spec.source.clone()),
                            kind: Some(DocKind::Pdf),
                            ..TaskInput::default()
                        },
                        deadline_at_ms: spec.deadline_at_ms,
                    })
                    .collect();
                return Next::Stage(StagePlan {
                    index,
                    stage: Stage::Extraction,
                    tasks,
                });
            }
        }
    }
    let sequence = stages_for(spec);
    let Some(&stage) = sequence.get(done.len() - rounds.saturating_sub(1)) else {
        return Next::Finish;
    };
    let task = |agent: AgentKind, input: TaskInput| StageTask {
        v: daa_shared::model::SCHEMA_VERSION,
        task_id: StageTask::make_id(&spec.job_id, index, stage, 0),
        job_id: spec.job_id.clone(),
        stage_index: index,
        stage,
        agent,
        part: None,
        priority: spec.priority,
        requirements: spec.requirements,
        input,
        deadline_at_ms: spec.deadline_at_ms,
    };
    let tasks = match stage {
        Stage::Validation => vec![task(
            AgentKind::Quality,
            TaskInput {
                source: Some(spec.source.clone()),
                ..Default::default()
            },
        )],
        Stage::Extraction => {
            let kind = validated_kind(done).unwrap_or_default();
            let Some(agent) = extraction_agent(kind) else {
                return Next::Finish;
            };
            let whole = task(
                agent,
                TaskInput {
                    source: Some(spec.source.clone()),
                    kind: Some(kind),
                    ..TaskInput::default()
                },
            );
            let parts = match (kind, validated_page_count(done)) {
                (DocKind::Pdf, Some(pages)) => pdf_parts(pages, hints),
                _ => Vec::new(),
            };
            if parts.is_empty() {
                vec![whole]
            } else {
                let count = parts.len() as u32;
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, (first, last))| StageTask {
                        task_id: StageTask::make_id(&spec.job_id, index, stage, i as u32),
                        part: Some(Part {
                            index: i as u32,
                            count,
                            first_page: Some(first),
                            last_page: Some(last),
                        }),
                        ..whole.clone()
                    })
                    .collect()
            }
        }
        Stage::TextProcessing | Stage::Analysis | Stage::Qa | Stage::Synthesis => {
            let agent = if stage == Stage::Qa {
                AgentKind::Quality
            } else {
                AgentKind::Neural
            };
            vec![task(
                agent,
                TaskInput {
                    kind: validated_kind(done),
                    document: Some(Box::new(synthesized())),
                    ..TaskInput::default()
                },
            )]
        }
    };
    Next::Stage(StagePlan {
        index,
        stage,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daa_shared::codec::Encoding;
    use daa_shared::model::{Bytes, Priority, Requirements, Source, StageOutput, TaskError};

    pub(crate) fn spec(requirements: Requirements) -> JobSpec {
        JobSpec {
            job_id: "j1".into(),
            source: Source::Inline {
                name: "a.csv".into(),
                data: Bytes(b"a,b\n1,2\n".to_vec()),
            },
            requirements,
            priority: Priority::Normal,
            reply_to: None,
            encoding: Encoding::Json,
            created_ms: 0,
            deadline_at_ms: u64::MAX,
            trace_id: String::new(),
        }
    }

    fn done(index: u32, stage: Stage, agent: AgentKind, outcome: Outcome) -> CompletedStage {
        CompletedStage {
            index,
            stage,
            results: vec![Arc::new(StageResult {
                v: 1,
                task_id: StageTask::make_id("j1", index, stage, 0),
                job_id: "j1".into(),
                stage_index: index,
                stage,
                agent,
                instance: "t".into(),
                duration_ms: 1,
                queue_ms: 0,
                outcome,
            })],
        }
    }

    fn validated(kind: DocKind) -> CompletedStage {
        done(
            0,
            Stage::Validation,
            AgentKind::Quality,
            Outcome::Ok(StageOutput {
                kind: Some(kind),
                ..Default::default()
            }),
        )
    }

    #[test]
    fn first_stage_is_validation_by_the_quality_agent() {
        let s = spec(Requirements::default());
        match next_stage(&s, &[], &PlanHints::default(), ResultDocument::default) {
            Next::Stage(p) => {
                assert_eq!(p.stage, Stage::Validation);
                assert_eq!(p.tasks[0].agent, AgentKind::Quality);
                assert_eq!(p.tasks[0].task_id, "j1.0.validation.0");
            }
            Next::Finish => panic!("expected a stage"),
        }
    }

    #[test]
    fn extraction_agent_follows_the_sniffed_kind() {
        let s = spec(Requirements::default());
        for (kind, agent) in [
            (DocKind::Pdf, AgentKind::Pdf),
            (DocKind::Image, AgentKind::Image),
            (DocKind::Html, AgentKind::Web),
            (DocKind::Csv, AgentKind::Structured),
            (DocKind::Text, AgentKind::Structured),
        ] {
            match next_stage(
                &s,
                &[validated(kind)],
                &PlanHints::default(),
                ResultDocument::default,
            ) {
                Next::Stage(p) => assert_eq!(p.tasks[0].agent, agent, "{kind}"),
                Next::Finish => panic!("expected extraction"),
            }
        }
    }

    #[test]
    fn large_pdfs_split_by_live_slots_and_minimum_part_size() {
        let hints = |slots| PlanHints {
            pdf_slots: slots,
            pdf_min_pages_per_part: 32,
        };
        assert!(pdf_parts(300, &hints(1)).is_empty());
        assert!(pdf_parts(40, &hints(4)).is_empty(), "parts under 32 pages");
        assert_eq!(pdf_parts(100, &hints(2)), vec![(1, 50), (51, 100)]);
        assert_eq!(pdf_parts(65, &hints(8)), vec![(1, 33), (34, 65)]);
        let parts = pdf_parts(336, &hints(4));
        assert_eq!(parts.len(), 4);
        assert_eq!(parts.first().unwrap().0, 1);
        assert_eq!(parts.last().unwrap().1, 336);
        assert!(parts.windows(2).all(|w| w[0].1 + 1 == w[1].0));

        let s = spec(Requirements::default());
        let mut v = validated(DocKind::Pdf);
        if let Outcome::Ok(o) = &mut Arc::make_mut(&mut v.results[0]).outcome {
            o.metadata.insert("page_count".into(), 100.into());
        }
        match next_stage(&s, &[v], &hints(2), ResultDocument::default) {
            Next::Stage(p) => {
                assert_eq!(p.tasks.len(), 2);
                assert_eq!(p.tasks[1].task_id, "j1.1.extraction.1");
                assert_eq!(p.tasks[1].part.unwrap().first_page, Some(51));
            }
            Next::Finish => panic!("expected extraction"),
        }
    }

    #[test]
    fn failed_validation_finishes_the_job() {
        let s = spec(Requirements::default());
        let failed = done(
            0,
            Stage::Validation,
            AgentKind::Quality,
            Outcome::Err(TaskError::permanent("empty document")),
        );
        assert_eq!(
            next_stage(
                &s,
                &[failed],
                &PlanHints::default(),
                ResultDocument::default
            ),
            Next::Finish
        );
    }

    #[test]
    fn requirements_switch_neural_stages_on() {
        let plain = spec(Requirements::default());
        assert_eq!(
            stages_for(&plain),
            vec![Stage::Validation, Stage::Extraction, Stage::Qa]
        );
        let all = spec(Requirements {
            embeddings: true,
            classify_content: true,
            ..Default::default()
        });
        assert_eq!(
            stages_for(&all),
            vec![
                Stage::Validation,
                Stage::Extraction,
                Stage::TextProcessing,
                Stage::Analysis,
                Stage::Qa
            ]
        );
    }

    #[test]
    fn qa_reads_the_synthesized_document_and_then_the_job_finishes() {
        let s = spec(Requirements::default());
        let ex = done(
            1,
            Stage::Extraction,
            AgentKind::Structured,
            Outcome::Ok(StageOutput::default()),
        );
        let stages = [validated(DocKind::Csv), ex];
        match next_stage(&s, &stages, &PlanHints::default(), || ResultDocument {
            text: "hello".into(),
            ..Default::default()
        }) {
            Next::Stage(p) => {
                assert_eq!(p.stage, Stage::Qa);
                let doc = p.tasks[0].input.document.as_ref().unwrap();
                assert_eq!(doc.text, "hello");
            }
            Next::Finish => panic!("expected QA"),
        }
        let qa = done(
            2,
            Stage::Qa,
            AgentKind::Quality,
            Outcome::Ok(StageOutput::default()),
        );
        let all = [stages[0].clone(), stages[1].clone(), qa];
        assert_eq!(
            next_stage(&s, &all, &PlanHints::default(), ResultDocument::default),
            Next::Finish
        );
    }
}
