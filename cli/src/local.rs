//! The in-process pipeline behind `daa process`: the coordinator's planner and
//! synthesis driving the agent libraries directly, with no NATS and no Redis.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use daa_coordinator::plan::{next_stage, CompletedStage, Next, PlanHints};
use daa_coordinator::synthesis::synthesize;
use daa_shared::codec::Encoding;
use daa_shared::config::Config;
use daa_shared::model::{
    AgentKind, FailureKind, JobStatus, Outcome, Requirements, ResultDocument, Source, Stage,
    StageResult, TaskError,
};
use daa_shared::store::JobSpec;
use daa_shared::time::now_ms;
use daa_worker::{Agent, Document, TaskContext};

/// The agents compiled into this `daa` binary.
pub(crate) struct LocalPipeline {
    agents: HashMap<AgentKind, Arc<dyn Agent>>,
}

impl LocalPipeline {
    pub(crate) fn new(cfg: &Config) -> anyhow::Result<Self> {
        let mut agents: HashMap<AgentKind, Arc<dyn Agent>> = HashMap::new();
        agents.insert(
            AgentKind::Structured,
            Arc::new(daa_structured::StructuredAgent::new(
                cfg.agent("structured")?,
            )),
        );
        agents.insert(
            AgentKind::Quality,
            Arc::new(daa_quality::QualityAgent::new(cfg.agent("quality")?)),
        );
        agents.insert(
            AgentKind::Pdf,
            Arc::new(daa_pdf::PdfAgent::new(cfg.agent("pdf")?)),
        );
        agents.insert(
            AgentKind::Web,
            Arc::new(
                daa_web::WebAgent::new(cfg.agent("web")?, None)
                    .map_err(|e| anyhow::anyhow!("web agent: {e}"))?,
            ),
        );
        Ok(Self { agents })
    }

    /// Process one document to its result document.
    pub(crate) fn process(&self, source: Source, requirements: Requirements) -> ResultDocument {
        let created_ms = now_ms();
        let spec = JobSpec {
            job_id: uuid::Uuid::now_v7().to_string(),
            source,
            requirements,
            priority: Default::default(),
            reply_to: None,
            encoding: Encoding::Json,
            created_ms,
            deadline_at_ms: u64::MAX,
            trace_id: daa_shared::trace::TraceContext::new_root().trace_id,
        };
        let document = match &spec.source {
            Source::Inline { name, data } => Some(Document {
                name: name.clone(),
                bytes: bytes::Bytes::copy_from_slice(&data.0),
            }),
            _ => None,
        };
        let mut done: Vec<CompletedStage> = Vec::new();
        loop {
            let plan = next_stage(&spec, &done, &PlanHints::default(), || {
                let mut d = synthesize(&spec, &done, &[], now_ms());
                d.status = JobStatus::Running;
                d
            });
            let plan = match plan {
                Next::Stage(p) => p,
                Next::Finish => return synthesize(&spec, &done, &[], now_ms()),
            };
            let results = plan
                .tasks
                .iter()
                .map(|task| {
                    let started = Instant::now();
                    let ctx = TaskContext {
                        instance: "local".into(),
                        attempt: 1,
                        document: matches!(task.stage, Stage::Validation | Stage::Extraction)
                            .then(|| document.clone())
                            .flatten(),
                        cancel: Default::default(),
                    };
                    let outcome = match self.agents.get(&task.agent) {
                        Some(agent) => match agent.execute(task, &ctx) {
                            Ok(o) => Outcome::Ok(o),
                            Err(e) => Outcome::Err(e),
                        },
                        None => Outcome::Err(TaskError::new(
                            FailureKind::Unavailable,
                            format!(
                                "this daa build has no {} agent; run the fleet with daa-{}-worker to process such documents",
                                task.agent, task.agent
                            ),
                        )),
                    };
                    StageResult {
                        v: daa_shared::model::SCHEMA_VERSION,
                        task_id: task.task_id.clone(),
                        job_id: task.job_id.clone(),
                        stage_index: task.stage_index,
                        stage: task.stage,
                        agent: task.agent,
                        instance: "local".into(),
                        duration_ms: started.elapsed().as_millis() as u64,
                        queue_ms: 0,
                        outcome,
                    }
                })
                .collect();
            done.push(CompletedStage {
                index: plan.index,
                stage: plan.stage,
                results,
            });
        }
    }
}
