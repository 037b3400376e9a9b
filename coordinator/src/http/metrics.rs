//! `GET /metrics`: Prometheus (OpenMetrics) text, all names under `daa_`.
//!
//! Two kinds of series:
//!
//! - **the fleet** (`daa_tasks_*`, `daa_workers_*`, `daa_worker_*`, `daa_agent_*`,
//!   `daa_dead_letters`), read from NATS and Redis at each scrape: every coordinator
//!   replica reports the same values, so scrape one (or take `max` across replicas);
//! - **this coordinator** (`daa_coordinator_*`): what this replica handled since it
//!   started; sum them across replicas.
//!
//! Counter names end in `_total`, units are in the name (`_seconds`, `_bytes`), as
//! Prometheus's naming guide asks.

use std::sync::atomic::{AtomicU64, Ordering};

use daa_shared::metrics::{Registry, WorkerSample};
use daa_shared::model::{JobStatus, Outcome, ResultDocument, StageResult};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Unit;

use super::dashboard::JobTotals;
use super::fleet::Snapshot;

pub(crate) use daa_shared::metrics::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
    agent: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LaneLabels {
    agent: String,
    priority: String,
}

/// What this coordinator counts as it works. Cheap to update (atomics); shared by
/// every loop through the service context.
#[derive(Debug)]
pub(crate) struct CoordinatorMetrics {
    jobs_accepted: Counter,
    jobs_ended: Family<StatusLabel, Counter>,
    job_duration: Histogram,
    job_queue: Histogram,
    coordination: Histogram,
    stage_results: Family<StageLabels, Counter>,
    /// Sums for the dashboard's means (the histograms keep theirs private).
    total_ms: AtomicU64,
    coordination_ms: AtomicU64,
}

impl Default for CoordinatorMetrics {
    fn default() -> Self {
        // 5 ms .. ~82 s: a CSV's job to a long scanned PDF's.
        let seconds = || Histogram::new(exponential_buckets(0.005, 2.0, 15));
        Self {
            jobs_accepted: Counter::default(),
            jobs_ended: Family::default(),
            job_duration: seconds(),
            job_queue: seconds(),
            coordination: seconds(),
            stage_results: Family::default(),
            total_ms: AtomicU64::new(0),
            coordination_ms: AtomicU64::new(0),
        }
    }
}

impl CoordinatorMetrics {
    /// A new job was created (not a resubmission of a known one).
    pub(crate) fn job_accepted(&self) {
        self.jobs_accepted.inc();
    }

    /// A job ended with `doc` (counted once, by the coordinator that ended it).
    pub(crate) fn job_ended(&self, doc: &ResultDocument) {
        self.jobs_ended
            .get_or_create(&StatusLabel {
                status: doc.status.as_str().to_owned(),
            })
            .inc();
        let secs = |ms: u64| ms as f64 / 1e3;
        self.job_duration.observe(secs(doc.timings.total_ms));
        self.job_queue.observe(secs(doc.timings.queue_ms));
        self.coordination.observe(secs(doc.timings.coordination_ms));
        self.total_ms
            .fetch_add(doc.timings.total_ms, Ordering::Relaxed);
        self.coordination_ms
            .fetch_add(doc.timings.coordination_ms, Ordering::Relaxed);
    }

    /// This coordinator's job counts and time sums, for the dashboard.
    pub(crate) fn totals(&self) -> JobTotals {
        let ended = |status: JobStatus| {
            self.jobs_ended
                .get_or_create(&StatusLabel {
                    status: status.as_str().to_owned(),
                })
                .get()
        };
        let (completed, partial, failed) = (
            ended(JobStatus::Completed),
            ended(JobStatus::Partial),
            ended(JobStatus::Failed),
        );
        JobTotals {
            accepted: self.jobs_accepted.get(),
            completed,
            partial,
            failed,
            ended: completed + partial + failed,
            total_ms: self.total_ms.load(Ordering::Relaxed),
            coordination_ms: self.coordination_ms.load(Ordering::Relaxed),
        }
    }

    /// A task's result was committed (the first of its kind for that task).
    pub(crate) fn stage_result(&self, r: &StageResult) {
        let outcome = match &r.outcome {
            Outcome::Ok(_) => "succeeded".to_owned(),
            Outcome::Err(e) => format!("failed_{}", e.kind.as_str()),
        };
        self.stage_results
            .get_or_create(&StageLabels {
                stage: r.stage.as_str().to_owned(),
                agent: r.agent.as_str().to_owned(),
                outcome,
            })
            .inc();
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "coordinator_jobs_accepted",
            "Jobs this coordinator created",
            self.jobs_accepted.clone(),
        );
        r.register(
            "coordinator_jobs_ended",
            "Jobs this coordinator ended, by final status",
            self.jobs_ended.clone(),
        );
        r.register_with_unit(
            "coordinator_job_duration",
            "Jobs' time from acceptance to end",
            Unit::Seconds,
            self.job_duration.clone(),
        );
        r.register_with_unit(
            "coordinator_job_queue",
            "Jobs' time their tasks waited in lanes before a worker took them",
            Unit::Seconds,
            self.job_queue.clone(),
        );
        r.register_with_unit(
            "coordinator_coordination",
            "Jobs' time outside queues and agents: planning, commits, synthesis, transit",
            Unit::Seconds,
            self.coordination.clone(),
        );
        r.register(
            "coordinator_stage_results",
            "Task results this coordinator committed, by stage, agent and outcome",
            self.stage_results.clone(),
        );
    }
}

/// The metrics text for `fleet` and this coordinator's `own` counters.
pub(crate) fn render(own: &CoordinatorMetrics, fleet: &Snapshot, leading: bool) -> String {
    let mut r = daa_shared::metrics::registry();
    own.register(&mut r);
    let leader = Gauge::<i64>::default();
    leader.set(i64::from(leading));
    r.register(
        "coordinator_leader",
        "1 while this coordinator holds the leader lease",
        leader,
    );
    register_fleet(&mut r, fleet);
    daa_shared::metrics::encode(&r)
}

fn register_fleet(r: &mut Registry, fleet: &Snapshot) {
    let pending = Family::<LaneLabels, Gauge>::default();
    let unacked = Family::<LaneLabels, Gauge>::default();
    for l in &fleet.lanes {
        let labels = LaneLabels {
            agent: l.agent.as_str().to_owned(),
            priority: l.priority.as_str().to_owned(),
        };
        pending
            .get_or_create(&labels)
            .set(i64::try_from(l.pending).unwrap_or(i64::MAX));
        unacked
            .get_or_create(&labels)
            .set(i64::try_from(l.unacknowledged).unwrap_or(i64::MAX));
    }
    r.register(
        "tasks_pending",
        "Tasks waiting in a lane for a worker (the scaling signal)",
        pending,
    );
    r.register(
        "tasks_unacknowledged",
        "Tasks delivered to a worker and not yet acknowledged",
        unacked,
    );

    daa_shared::metrics::register_workers(
        r,
        fleet.workers.iter().map(|w| WorkerSample {
            agent: w.agent,
            instance: &w.instance,
            heartbeat: w.heartbeat.as_ref(),
        }),
    );
    if let Some(n) = fleet.dead_letters {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(n).unwrap_or(i64::MAX));
        r.register(
            "dead_letters",
            "Tasks in the dead-letter stream (daa dlq list)",
            g,
        );
    }
    let errors = Gauge::<i64>::default();
    errors.set(i64::try_from(fleet.errors.len()).unwrap_or(i64::MAX));
    r.register(
        "fleet_read_errors",
        "Parts of this scrape that could not be read from NATS or Redis",
        errors,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fleet::{Lane, Worker};
    use daa_shared::model::{AgentKind, Priority};
    use daa_shared::store::Heartbeat;

    fn fleet() -> Snapshot {
        let hb = Heartbeat {
            instance: "pdf-1".into(),
            state: "running".into(),
            in_flight: 1,
            processed: 7,
            failed: 2,
            p50_ms: 120,
            p99_ms: 900,
            rss_bytes: 1 << 20,
            concurrency: 2,
            metrics: [
                ("pdf_pages_total".to_owned(), 42.0),
                ("cache_entries".to_owned(), 3.0),
                ("daa_breaker_open_total".to_owned(), 1.0),
                ("bad name!".to_owned(), 1.0),
            ]
            .into_iter()
            .collect(),
            ..Heartbeat::default()
        };
        Snapshot {
            lanes: vec![Lane {
                agent: AgentKind::Pdf,
                priority: Priority::Low,
                pending: 5,
                unacknowledged: 1,
            }],
            workers: vec![Worker {
                agent: AgentKind::Pdf,
                instance: "pdf-1".into(),
                beat_age_ms: 10,
                heartbeat: Some(hb),
            }],
            dead_letters: Some(3),
            errors: Vec::new(),
        }
    }

    #[test]
    fn fleet_and_own_series_are_named_and_labelled() {
        let own = CoordinatorMetrics::default();
        own.job_accepted();
        let mut doc = ResultDocument {
            status: JobStatus::Partial,
            ..ResultDocument::default()
        };
        doc.timings.total_ms = 250;
        own.job_ended(&doc);
        let text = render(&own, &fleet(), true);
        for line in [
            "daa_tasks_pending{agent=\"pdf\",priority=\"low\"} 5",
            "daa_tasks_unacknowledged{agent=\"pdf\",priority=\"low\"} 1",
            "daa_workers_live{agent=\"pdf\"} 1",
            "daa_worker_slots{agent=\"pdf\"} 2",
            "daa_worker_busy_slots{agent=\"pdf\"} 1",
            "daa_worker_tasks_processed_total{agent=\"pdf\",instance=\"pdf-1\"} 7",
            "daa_worker_tasks_failed_total{agent=\"pdf\",instance=\"pdf-1\"} 2",
            "daa_worker_task_latency_seconds{agent=\"pdf\",instance=\"pdf-1\",quantile=\"0.99\"} 0.9",
            "daa_worker_resident_memory_bytes{agent=\"pdf\",instance=\"pdf-1\"} 1048576",
            "daa_worker_state{agent=\"pdf\",instance=\"pdf-1\",state=\"running\"} 1",
            "daa_agent_pdf_pages_total{agent=\"pdf\",instance=\"pdf-1\"} 42.0",
            "daa_agent_cache_entries{agent=\"pdf\",instance=\"pdf-1\"} 3.0",
            "daa_agent_breaker_open_total{agent=\"pdf\",instance=\"pdf-1\"} 1.0",
            "daa_dead_letters 3",
            "daa_coordinator_leader 1",
            "daa_coordinator_jobs_accepted_total 1",
            "daa_coordinator_jobs_ended_total{status=\"partial\"} 1",
            "daa_coordinator_job_duration_seconds_count 1",
            "daa_fleet_read_errors 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("bad name"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
