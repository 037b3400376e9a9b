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
        // Agents with a heavy start-up (a model, OCR engines) are built on first use, so
        // processing a CSV needs neither; if one cannot be built, its documents fail
        // with the reason.
        let neural_cfg = cfg.clone();
        agents.insert(
            AgentKind::Neural,
            Arc::new(LazyAgent::new(AgentKind::Neural, move || {
                daa_neural::NeuralAgent::from_config(&neural_cfg)
                    .map(|a| Arc::new(a) as Arc<dyn Agent>)
            })),
        );
        let image_cfg: daa_image::ImageConfig = cfg.agent("image")?;
        agents.insert(
            AgentKind::Image,
            Arc::new(LazyAgent::new(AgentKind::Image, move || {
                daa_image::ImageAgent::new(image_cfg.clone()).map(|a| Arc::new(a) as Arc<dyn Agent>)
            })),
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
            Source::Inline { name, data } => Some(Document::new(
                name.clone(),
                bytes::Bytes::copy_from_slice(&data.0),
            )),
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
                .map(std::sync::Arc::new)
                .collect();
            done.push(CompletedStage {
                index: plan.index,
                stage: plan.stage,
                results,
            });
        }
    }
}

type MakeAgent = Box<dyn Fn() -> Result<Arc<dyn Agent>, String> + Send + Sync>;

/// An agent built the first time it is needed.
struct LazyAgent {
    kind: AgentKind,
    make: MakeAgent,
    built: std::sync::OnceLock<Result<Arc<dyn Agent>, String>>,
}

impl LazyAgent {
    fn new(
        kind: AgentKind,
        make: impl Fn() -> Result<Arc<dyn Agent>, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            make: Box::new(make),
            built: std::sync::OnceLock::new(),
        }
    }
}

impl Agent for LazyAgent {
    fn kind(&self) -> AgentKind {
        self.kind
    }

    fn capabilities(&self) -> daa_worker::Capabilities {
        daa_worker::Capabilities::default()
    }

    fn execute(
        &self,
        task: &daa_shared::model::StageTask,
        ctx: &TaskContext,
    ) -> Result<daa_shared::model::StageOutput, TaskError> {
        match self.built.get_or_init(|| (self.make)()) {
            Ok(agent) => agent.execute(task, ctx),
            Err(e) => Err(TaskError::new(
                FailureKind::Unavailable,
                format!("the {} agent could not start: {e}", self.kind),
            )),
        }
    }
}
