//! Helpers shared by the integration tests (included with `mod common`).
#![allow(dead_code, unreachable_pub, missing_docs)]

use daa_shared::model::{
    AgentKind, Priority, Requirements, ResultDocument, Source, Stage, StageTask, TaskInput,
};
use daa_worker::{Document, TaskContext};

pub fn task(stage: Stage, input: TaskInput, requirements: Requirements) -> StageTask {
    StageTask {
        v: 1,
        task_id: StageTask::make_id("job-1", 0, stage, 0),
        job_id: "job-1".into(),
        stage_index: 0,
        stage,
        agent: AgentKind::Quality,
        part: None,
        priority: Priority::Normal,
        requirements,
        input,
        deadline_at_ms: u64::MAX,
    }
}

pub fn validation_task(name: &str) -> StageTask {
    task(
        Stage::Validation,
        TaskInput {
            source: Some(Source::Path(name.into())),
            ..TaskInput::default()
        },
        Requirements::default(),
    )
}

pub fn ctx(name: &str, bytes: impl Into<bytes::Bytes>) -> TaskContext {
    TaskContext {
        instance: "test".into(),
        attempt: 1,
        document: Some(Document::new(name, bytes)),
        ..TaskContext::default()
    }
}

pub fn qa_task(document: ResultDocument, requirements: Requirements) -> StageTask {
    task(
        Stage::Qa,
        TaskInput {
            document: Some(Box::new(document)),
            ..TaskInput::default()
        },
        requirements,
    )
}

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../tests/fixtures/corpus/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}
