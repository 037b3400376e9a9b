//! Every NATS subject and stream name, built from the configurable prefix (default `daa`).
//! No other module writes a subject as a string literal.

use crate::model::{AgentKind, JobStatus, Priority};

/// Object Store bucket for documents above the inline limit (claim check).
pub const DOCUMENTS_BUCKET: &str = "daa-documents";
/// Object Store bucket for result documents above the payload limit.
pub const RESULTS_BUCKET: &str = "daa-results";
/// Header carrying the JetStream message id used for de-duplication.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";

/// Subject and stream names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self::new("daa")
    }
}

impl Subjects {
    /// Names under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn stream(&self, name: &str) -> String {
        format!(
            "{}_{}",
            self.prefix.to_ascii_uppercase().replace('.', "_"),
            name
        )
    }

    /// Stream of submitted jobs (work queue).
    pub fn jobs_stream(&self) -> String {
        self.stream("JOBS")
    }
    /// Stream of stage tasks (work queue).
    pub fn tasks_stream(&self) -> String {
        self.stream("TASKS")
    }
    /// Stream of stage results (work queue).
    pub fn results_stream(&self) -> String {
        self.stream("RESULTS")
    }
    /// Dead-letter stream (limits).
    pub fn dlq_stream(&self) -> String {
        self.stream("DLQ")
    }
    /// Event stream (limits).
    pub fn events_stream(&self) -> String {
        self.stream("EVENTS")
    }
    /// Stream capturing the task consumers' MAX_DELIVERIES advisories (work queue).
    pub fn advisories_stream(&self) -> String {
        self.stream("ADVISORIES")
    }

    /// `daa.jobs.submit`
    pub fn jobs_submit(&self) -> String {
        format!("{}.jobs.submit", self.prefix)
    }
    /// `daa.tasks.<agent>.<priority>`
    pub fn tasks(&self, agent: AgentKind, priority: Priority) -> String {
        format!("{}.tasks.{}.{}", self.prefix, agent, priority)
    }
    /// `daa.tasks.>`
    pub fn tasks_all(&self) -> String {
        format!("{}.tasks.>", self.prefix)
    }
    /// `daa.results.<agent>`
    pub fn results(&self, agent: AgentKind) -> String {
        format!("{}.results.{}", self.prefix, agent)
    }
    /// `daa.results.>`
    pub fn results_all(&self) -> String {
        format!("{}.results.>", self.prefix)
    }
    /// `daa.dlq.<agent>`
    pub fn dlq(&self, agent: AgentKind) -> String {
        format!("{}.dlq.{}", self.prefix, agent)
    }
    /// `daa.dlq.>`
    pub fn dlq_all(&self) -> String {
        format!("{}.dlq.>", self.prefix)
    }
    /// `daa.events.job.<status>`
    pub fn job_event(&self, status: JobStatus) -> String {
        format!("{}.events.job.{}", self.prefix, status)
    }
    /// `daa.events.job.*`
    pub fn job_events_all(&self) -> String {
        format!("{}.events.job.*", self.prefix)
    }
    /// `daa.events.task.<state>`
    pub fn task_event(&self, state: &str) -> String {
        format!("{}.events.task.{}", self.prefix, state)
    }
    /// `daa.events.task.>`: every task event.
    pub fn task_events_all(&self) -> String {
        format!("{}.events.task.>", self.prefix)
    }
    /// `daa.events.>`
    pub fn events_all(&self) -> String {
        format!("{}.events.>", self.prefix)
    }
    /// `daa.control.<agent>.<instance>`; instance `all` reaches every worker of the type.
    pub fn control(&self, agent: AgentKind, instance: &str) -> String {
        format!("{}.control.{}.{}", self.prefix, agent, instance)
    }
    /// `daa.wake.<agent>.<priority>`: a payload-free doorbell the coordinator rings
    /// after publishing tasks on that lane, so workers fetch that lane at once instead
    /// of polling every lane.
    pub fn wake(&self, agent: AgentKind, priority: Priority) -> String {
        format!("{}.wake.{}.{}", self.prefix, agent, priority)
    }
    /// `daa.wake.<agent>.*`: every lane's doorbell of an agent type.
    pub fn wake_all(&self, agent: AgentKind) -> String {
        format!("{}.wake.{}.*", self.prefix, agent)
    }
    /// `daa.api.job.get`
    pub fn api_job_get(&self) -> String {
        format!("{}.api.job.get", self.prefix)
    }
    /// Advisory subject filter of the task consumers' MAX_DELIVERIES events.
    pub fn max_deliveries_advisories(&self) -> String {
        format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.*",
            self.tasks_stream()
        )
    }
    /// `daa.memory.<namespace>` (core NATS): a coordination memory entry was stored.
    pub fn memory(&self, namespace: &str) -> String {
        format!("{}.memory.{}", self.prefix, namespace)
    }
    /// `daa.memory.>`: every namespace's store notifications.
    pub fn memory_all(&self) -> String {
        format!("{}.memory.>", self.prefix)
    }
    /// Durable consumer name of an agent type's priority lane.
    pub fn task_consumer(&self, agent: AgentKind, priority: Priority) -> String {
        format!("tasks-{agent}-{priority}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_match_the_design() {
        let s = Subjects::default();
        assert_eq!(s.jobs_submit(), "daa.jobs.submit");
        assert_eq!(
            s.tasks(AgentKind::Structured, Priority::High),
            "daa.tasks.structured.high"
        );
        assert_eq!(s.results(AgentKind::Pdf), "daa.results.pdf");
        assert_eq!(
            s.job_event(JobStatus::Completed),
            "daa.events.job.completed"
        );
        assert_eq!(s.tasks_stream(), "DAA_TASKS");
        assert_eq!(s.control(AgentKind::Image, "w1"), "daa.control.image.w1");
    }
}
