//! Prometheus (OpenMetrics) text of workers' heartbeats, with names under `daa_`:
//! the coordinator's `/metrics` renders every live worker with it, a worker's own
//! `/metrics` (`worker.metrics_addr`) renders itself, so both give the same series.
//! Counter names end in `_total`, units are in the name (`_seconds`, `_bytes`).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::registry::Registry;
use prometheus_client::registry::Unit;

use crate::model::AgentKind;
use crate::store::Heartbeat;

/// The content type of [`encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

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

/// One worker as its last heartbeat shows it.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSample<'a> {
    /// Its agent type.
    pub agent: AgentKind,
    /// Its instance name.
    pub instance: &'a str,
    /// Its heartbeat; `None` once the record expired (the worker still counts as live).
    pub heartbeat: Option<&'a Heartbeat>,
}

/// A registry whose series are all named `daa_...`.
pub fn registry() -> Registry {
    Registry::with_prefix("daa")
}

/// The text of `r` (OpenMetrics, ending in `# EOF`).
pub fn encode(r: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, r).is_err() {
        // Writing into a String does not fail; an empty page would be the only outcome.
        out.clear();
    }
    out
}

/// Register the series of `workers`: per type `daa_workers_live`, `daa_worker_slots`,
/// `daa_worker_busy_slots`; per worker its tasks, latency, memory and state; and each
/// agent's own metrics as `daa_agent_<name>`.
pub fn register_workers<'a>(r: &mut Registry, workers: impl IntoIterator<Item = WorkerSample<'a>>) {
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
    for w in workers {
        let agent = w.agent.as_str().to_owned();
        let labels = WorkerLabels {
            agent: agent.clone(),
            instance: w.instance.to_owned(),
        };
        let a = AgentLabel {
            agent: agent.clone(),
        };
        live.get_or_create(&a).inc();
        let Some(hb) = w.heartbeat else {
            continue;
        };
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let fetching = hb.fetching_slots();
        if fetching > 0 {
            slots.get_or_create(&a).inc_by(n(fetching));
        }
        busy.get_or_create(&a).inc_by(n(hb.in_flight));
        in_flight.get_or_create(&labels).set(n(hb.in_flight));
        processed.get_or_create(&labels).inc_by(hb.processed);
        failed.get_or_create(&labels).inc_by(hb.failed);
        rss.get_or_create(&labels).set(n(hb.rss_bytes));
        state
            .get_or_create(&WorkerStateLabels {
                agent: agent.clone(),
                instance: w.instance.to_owned(),
                state: hb.state.clone(),
            })
            .set(1);
        for (q, ms) in [("0.5", hb.p50_ms), ("0.99", hb.p99_ms)] {
            latency
                .get_or_create(&QuantileLabels {
                    agent: agent.clone(),
                    instance: w.instance.to_owned(),
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
