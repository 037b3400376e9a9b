//! The wire model: what travels on NATS subjects and what is stored in Redis.
//!
//! Every top-level message carries `v`, the schema version ([`SCHEMA_VERSION`]). All
//! fields have documented defaults so that a client in any language can publish a job
//! from the schema alone (see `docs/wire-protocol.md`).

mod api;
mod bytes;
mod document;
mod event;
mod job;
mod output;
mod task;

pub use api::{JobInfo, JobQuery};
pub use bytes::Bytes;
pub use document::{
    Check, Chunk, Classification, DocKind, Entity, ErrorReport, JobStatus, Page, Quality,
    ResultDocument, SourceInfo, StageReport, StageStatus, Table, Timings,
};
pub use event::{JobEvent, TaskEvent, TaskState};
pub use job::{Job, Priority, Requirements, Source};
pub use output::{FailureKind, Outcome, StageOutput, StageResult, TaskError};
pub use task::{AgentKind, Part, Stage, StageTask, TaskInput};

/// Version of the wire schema carried in every message's `v` field.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) fn schema_version() -> u32 {
    SCHEMA_VERSION
}
