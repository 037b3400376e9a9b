use serde::{Deserialize, Serialize};

use super::{schema_version, JobStatus, ResultDocument, Stage};

/// Request on `daa.api.job.get`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobQuery {
    /// The job asked about.
    pub job_id: String,
}

/// Answer on `daa.api.job.get`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobInfo {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub v: u32,
    /// The job.
    pub job_id: String,
    /// Its status; `None` when no such job is known (or its result expired).
    pub status: Option<JobStatus>,
    /// Current stage while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// The result document once the job has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultDocument>,
    /// Why, when the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
