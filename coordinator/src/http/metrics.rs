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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use daa_shared::model::{JobStatus, Outcome, ResultDocument, StageResult};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::dashboard::JobTotals;
use super::fleet::Snapshot;

/// The content type of [`render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgentLabel {
    agent: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    agent: String,
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerStateLabels {
    agent: String,
    instance: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuantileLabels {
    agent: String,
    instance: String,
    quantile: String,
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
    let mut r = Registry::with_prefix("daa");
    own.register(&mut r);
    let leader = Gauge::<i64>::default();
    leader.set(i64::from(leading));
    r.register(
        "coordinator_leader",
        "1 while this coordinator holds the leader lease",
        leader,
    );
    register_fleet(&mut r, fleet);
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
        // Writing into a String does not fail; an empty page would be the only outcome.
        out.clear();
    }
    out
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

    let live = Family::<AgentLabel, Gauge>::default();
    let slots = Family::<AgentLabel, Gauge>::default();
    let busy = Family::<AgentLabel, Gauge>::default();
    let in_flight = Family::<WorkerLabels, Gauge>::default();
    let processed = Family::<WorkerLabels, Counter>::default();
    let failed = Family::<WorkerLabels, Counter>::default();
    let latency = Family::<QuantileLabels, FloatGauge>::default();
    let rss = Family::<WorkerLabels, Gauge>::default();
    let state = Family::<WorkerStateLabels, Gauge>::default();
    let mut own: BTreeMap<String, AgentSeries> = BTreeMap::new();
    for w in &fleet.workers {
        let agent = w.agent.as_str().to_owned();
        let labels = WorkerLabels {
            agent: agent.clone(),
            instance: w.instance.clone(),
        };
        let a = AgentLabel {
            agent: agent.clone(),
        };
        live.get_or_create(&a).inc();
        let Some(hb) = &w.heartbeat else {
            continue;
        };
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        if hb.state == daa_shared::store::worker_state::RUNNING {
            slots.get_or_create(&a).inc_by(n(hb.concurrency.max(1)));
        }
        busy.get_or_create(&a).inc_by(n(hb.in_flight));
        in_flight.get_or_create(&labels).set(n(hb.in_flight));
        processed.get_or_create(&labels).inc_by(hb.processed);
        failed.get_or_create(&labels).inc_by(hb.failed);
        rss.get_or_create(&labels).set(n(hb.rss_bytes));
        state
            .get_or_create(&WorkerStateLabels {
                agent: agent.clone(),
                instance: w.instance.clone(),
                state: hb.state.clone(),
            })
            .set(1);
        for (q, ms) in [("0.5", hb.p50_ms), ("0.99", hb.p99_ms)] {
            latency
                .get_or_create(&QuantileLabels {
                    agent: agent.clone(),
                    instance: w.instance.clone(),
                    quantile: q.to_owned(),
                })
                .set(ms as f64 / 1e3);
        }
        for (name, value) in &hb.metrics {
            let Some(series) = AgentSeries::for_name(&mut own, name) else {
                continue;
            };
            series.set(&labels, *value);
        }
    }
    r.register(
        "workers_live",
        "Workers that beat within the liveness window",
        live,
    );
    r.register(
        "worker_slots",
        "Task slots of running (not paused, not draining) workers",
        slots,
    );
    r.register("worker_busy_slots", "Tasks running on the workers", busy);
    r.register(
        "worker_tasks_in_flight",
        "Tasks running on this worker",
        in_flight,
    );
    r.register(
        "worker_tasks_processed",
        "Tasks this worker finished, any outcome (since it started)",
        processed,
    );
    r.register(
        "worker_tasks_failed",
        "Tasks that failed on this worker (since it started)",
        failed,
    );
    r.register_with_unit(
        "worker_task_latency",
        "Task run time percentiles on this worker (recent tasks)",
        Unit::Seconds,
        latency,
    );
    r.register_with_unit(
        "worker_resident_memory",
        "Resident memory of this worker",
        Unit::Bytes,
        rss,
    );
    r.register(
        "worker_state",
        "1 for the worker's state (running, paused, draining)",
        state,
    );
    for (name, series) in own {
        series.register(r, &name);
    }
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

/// An agent's own metric (from its heartbeat), as `daa_agent_<name>` per worker.
enum AgentSeries {
    Counter(Family<WorkerLabels, FloatCounter>),
    Gauge(Family<WorkerLabels, FloatGauge>),
}

impl AgentSeries {
    /// The series for the agent metric `name`, created on first sight; `None` for a name
    /// that is not a valid metric name. A name ending in `_total` is a counter.
    fn for_name<'a>(all: &'a mut BTreeMap<String, AgentSeries>, name: &str) -> Option<&'a Self> {
        // Runtime metrics carry the namespace already (`daa_breaker_open_total`).
        let name = name.strip_prefix("daa_").unwrap_or(name);
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        let (base, counter) = match name.strip_suffix("_total") {
            Some(b) if !b.is_empty() => (b, true),
            _ => (name, false),
        };
        let key = format!("agent_{base}");
        Some(all.entry(key).or_insert_with(|| {
            if counter {
                AgentSeries::Counter(Family::default())
            } else {
                AgentSeries::Gauge(Family::default())
            }
        }))
    }

    fn set(&self, labels: &WorkerLabels, value: f64) {
        if !value.is_finite() {
            return;
        }
        match self {
            AgentSeries::Counter(f) => {
                f.get_or_create(labels).inc_by(value.max(0.0));
            }
            AgentSeries::Gauge(f) => {
                f.get_or_create(labels).set(value);
            }
        }
    }

    fn register(self, r: &mut Registry, name: &str) {
        let help = "The agent's own metric, from its heartbeat";
        match self {
            AgentSeries::Counter(f) => r.register(name, help, f),
            AgentSeries::Gauge(f) => r.register(name, help, f),
        }
    }
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
