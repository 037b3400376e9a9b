//! The chaos run shared by `tests/tests/chaos.rs` and `daa bench chaos`: a private NATS
//! (JetStream file storage) and Redis (append-only file, `appendfsync always`), one or
//! two coordinators and several structured and quality workers; mixed jobs (CSV, JSON,
//! XML, text, and invalid inputs that must end failed with a reason) submitted at a
//! steady rate while a random worker is killed with SIGKILL (and started again) every
//! few seconds (one holding tasks, when any does), nats-server is killed and restarted once and redis-server once. Then it
//! waits until every job has ended and proves, from Redis and from the job events kept
//! in the `DAA_EVENTS` stream: every submitted job ended, each exactly once (one terminal
//! event, no second completion), with the outcome its input calls for; none was lost.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use daa_shared::codec::Encoding;
use daa_shared::model::{AgentKind, JobStatus};
use daa_shared::subjects::MSG_ID_HEADER;

use crate::{fixture, Client, DaaProcess, Env, Role};

/// How big a chaos run is.
#[derive(Debug, Clone)]
pub struct ChaosSpec {
    /// Jobs to submit.
    pub jobs: usize,
    /// Submission rate (jobs per second): the run lasts about `jobs / rate` seconds.
    pub rate_per_s: f64,
    /// A random worker is killed (and started again) this often.
    pub kill_every: Duration,
    /// Coordinators.
    pub coordinators: usize,
    /// Structured workers.
    pub structured: usize,
    /// Quality workers.
    pub quality: usize,
    /// Slow structured workers (`daa-test-worker`: the real structured agent, 400 ms per
    /// task), so that a kill always finds tasks in flight.
    pub slow_structured: usize,
    /// Seed of the random choices (printed, so a run can be repeated).
    pub seed: u64,
    /// How long to wait for the jobs to end once the last one was submitted.
    pub settle_timeout: Duration,
}

impl ChaosSpec {
    /// `jobs` jobs at 10 per second, a kill every 2.5 s, 2 coordinators, 2 structured,
    /// 1 slow structured and 2 quality workers.
    pub fn new(jobs: usize) -> ChaosSpec {
        ChaosSpec {
            jobs,
            rate_per_s: 10.0,
            kill_every: Duration::from_millis(2500),
            coordinators: 2,
            structured: 2,
            quality: 2,
            slow_structured: 1,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
            settle_timeout: Duration::from_secs(120),
        }
    }
}

/// What a chaos run measured.
#[derive(Debug, Clone, Default)]
pub struct ChaosReport {
    /// Seed used.
    pub seed: u64,
    /// Jobs JetStream acknowledged.
    pub submitted: usize,
    /// Jobs that ended completed.
    pub completed: usize,
    /// Jobs that ended partial.
    pub partial: usize,
    /// Jobs that ended failed.
    pub failed: usize,
    /// Of the failed jobs, those whose input is invalid (failing is right).
    pub failed_expected: usize,
    /// Jobs whose outcome is not the one their input calls for: (job, input, status,
    /// error).
    pub unexpected: Vec<(String, String, String, String)>,
    /// Jobs with more than one terminal event, or more than one completion.
    pub duplicates: Vec<String>,
    /// Jobs that never ended (no terminal state in Redis, or no terminal event).
    pub lost: Vec<String>,
    /// Tasks in the dead-letter queue at the end.
    pub dead_lettered: u64,
    /// Workers killed with SIGKILL.
    pub kills: usize,
    /// Tasks the killed workers held, by their last heartbeats before the kill.
    pub killed_in_flight: u64,
    /// nats-server restarts.
    pub nats_restarts: usize,
    /// redis-server restarts.
    pub redis_restarts: usize,
    /// From the first submission until every job had ended.
    pub wall: Duration,
}

impl ChaosReport {
    /// Every job ended once, with the outcome its input calls for, and none was lost.
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty() && self.duplicates.is_empty() && self.lost.is_empty()
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "submitted {}  completed {}  partial {}  failed {} ({} invalid inputs)  unexpected {}",
            self.submitted,
            self.completed,
            self.partial,
            self.failed,
            self.failed_expected,
            self.unexpected.len()
        )?;
        writeln!(
            f,
            "duplicates {}  lost {}  dead-lettered {}",
            self.duplicates.len(),
            self.lost.len(),
            self.dead_lettered
        )?;
        write!(
            f,
            "kills {} (holding {} tasks)  nats restarts {}  redis restarts {}  wall {:.1} s  (seed {})",
            self.kills,
            self.killed_in_flight,
            self.nats_restarts,
            self.redis_restarts,
            self.wall.as_secs_f64(),
            self.seed
        )?;
        for (job, input, status, error) in self.unexpected.iter().take(10) {
            write!(f, "\n  unexpected: {job} ({input}) {status}: {error}")?;
        }
        for job in self.duplicates.iter().take(10) {
            write!(f, "\n  duplicate: {job}")?;
        }
        for job in self.lost.iter().take(10) {
            write!(f, "\n  lost: {job}")?;
        }
        Ok(())
    }
}

/// One kind of input: its name, bytes, and the outcome it calls for.
struct Input {
    name: String,
    data: Vec<u8>,
    expect: JobStatus,
}

fn inputs() -> Vec<Input> {
    let file = |rel: &str, expect| Input {
        name: rel.rsplit('/').next().unwrap_or(rel).to_owned(),
        data: std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")),
        expect,
    };
    let text = |name: &str, data: &[u8], expect| Input {
        name: name.to_owned(),
        data: data.to_vec(),
        expect,
    };
    vec![
        file("corpus/csv/distro-info-debian.csv", JobStatus::Completed),
        file("corpus/csv/distro-info-ubuntu.csv", JobStatus::Completed),
        file("corpus/json/iso_4217.json", JobStatus::Completed),
        file("corpus/json/schema-3166-1.json", JobStatus::Completed),
        file("corpus/xml/xkb-rules-base.xml", JobStatus::Completed),
        text(
            "notes.txt",
            b"Chaos run notes.\nEvery job must end exactly once.\n",
            JobStatus::Completed,
        ),
        text(
            "small.csv",
            b"id,name\n1,alpha\n2,beta\n",
            JobStatus::Completed,
        ),
        text(
            "small.json",
            br#"{"items": [{"id": 1}, {"id": 2}]}"#,
            JobStatus::Completed,
        ),
        // Invalid inputs: they end failed with a reason, chaos or not.
        file("corpus/bad/deep.json", JobStatus::Failed),
        file("corpus/bad/billion-laughs.xml", JobStatus::Failed),
        text("empty.txt", b"", JobStatus::Failed),
    ]
}

/// A small deterministic generator (xorshift64*), so a seed repeats a run's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A worker slot: its role, extra variables and the process filling it.
struct Slot {
    role: Role,
    extra: &'static [(&'static str, &'static str)],
    process: DaaProcess,
}

const SLOW: &[(&str, &str)] = &[("TESTWORKER_DELAY_MS", "400")];

/// Tasks in flight at worker `pid` by its last heartbeat (instance `<host>-<pid>`).
async fn in_flight(client: &Client, role: Role, pid: u32) -> u64 {
    let agent = match role {
        Role::Quality => AgentKind::Quality,
        _ => AgentKind::Structured,
    };
    let suffix = format!("-{pid}");
    client
        .store
        .live_agents(agent, 5_000)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.instance.ends_with(&suffix))
        .and_then(|a| a.heartbeat)
        .map_or(0, |h| h.in_flight)
}

/// Run a chaos round as `spec` says; `progress` gets one line per event (kill, restart,
/// phase) so a long run can be followed.
pub async fn run(spec: &ChaosSpec, progress: &(dyn Fn(&str) + Sync)) -> ChaosReport {
    let mut env = Env::start_durable();
    // Killed workers' tasks come back after the ack wait (2 s). A task is dead-lettered
    // only after 10 deliveries: kills and restarts cost deliveries, and the run proves
    // they do not cost jobs.
    env.set("DAA_TASKS_MAX_DELIVER", "10");
    env.set("DAA_COORDINATOR_LEADER_LEASE_MS", "2000");
    let mut rng = Rng(spec.seed);
    let all_inputs = inputs();

    let _coordinators: Vec<DaaProcess> = (0..spec.coordinators)
        .map(|_| env.spawn(Role::Coordinator))
        .collect();
    let none: &'static [(&'static str, &'static str)] = &[];
    let mut slots: Vec<Slot> = (0..spec.structured)
        .map(|_| (Role::Structured, none))
        .chain((0..spec.slow_structured).map(|_| (Role::TestWorker, SLOW)))
        .chain((0..spec.quality).map(|_| (Role::Quality, none)))
        .map(|(role, extra)| Slot {
            role,
            extra,
            process: env.spawn_with(role, extra),
        })
        .collect();
    let client = env.client().await;
    wait_for_workers(&client, spec).await;
    progress(&format!(
        "chaos: {} jobs at {}/s, {} coordinator(s), {} structured + {} slow structured + {} quality workers, seed {}",
        spec.jobs,
        spec.rate_per_s,
        spec.coordinators,
        spec.structured,
        spec.slow_structured,
        spec.quality,
        spec.seed
    ));

    // The plan: which input each job gets.
    let plan: Vec<usize> = (0..spec.jobs)
        .map(|_| rng.below(all_inputs.len()))
        .collect();
    let started = Instant::now();
    let submitter = {
        let js = client.js.clone();
        let subject = client.subjects.jobs_submit();
        let jobs: Vec<(String, Vec<u8>)> = plan
            .iter()
            .map(|&i| (all_inputs[i].name.clone(), all_inputs[i].data.clone()))
            .collect();
        let interval = Duration::from_secs_f64(1.0 / spec.rate_per_s.max(0.1));
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut ids = Vec::with_capacity(jobs.len());
            for (n, (name, data)) in jobs.into_iter().enumerate() {
                tokio::time::sleep_until(start + interval.mul_f64(n as f64)).await;
                let mut job = Client::job(&name, data);
                job.deadline_ms = Some(300_000);
                let id = job.job_id.clone().unwrap_or_default();
                submit_until_stored(&js, &subject, &job).await;
                ids.push(id);
            }
            ids
        })
    };

    // The chaos: kills all along, one NATS and one Redis restart on the way.
    let mut report = ChaosReport {
        seed: spec.seed,
        ..Default::default()
    };
    let submit_for = Duration::from_secs_f64(spec.jobs as f64 / spec.rate_per_s.max(0.1));
    let (nats_at, redis_at) = (submit_for / 3, submit_for * 2 / 3);
    let mut next_kill = spec.kill_every;
    while !submitter.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = started.elapsed();
        if report.nats_restarts == 0 && t >= nats_at {
            progress(&format!(
                "{:>6.1} s  restarting nats-server",
                t.as_secs_f64()
            ));
            tokio::task::block_in_place(|| env.nats.restart());
            report.nats_restarts += 1;
        }
        if report.redis_restarts == 0 && t >= redis_at {
            progress(&format!(
                "{:>6.1} s  restarting redis-server",
                t.as_secs_f64()
            ));
            tokio::task::block_in_place(|| env.redis.restart());
            report.redis_restarts += 1;
        }
        if t >= next_kill && !slots.is_empty() {
            // Jitter: the next kill comes after 0.5 to 1.5 times the period.
            let jitter = 0.5 + (rng.below(1000) as f64) / 1000.0;
            next_kill = t + spec.kill_every.mul_f64(jitter);
            // A random worker among those holding tasks (by their heartbeats), else any.
            let mut held_by = Vec::with_capacity(slots.len());
            for slot in &slots {
                held_by.push(in_flight(&client, slot.role, slot.process.pid()).await);
            }
            let busy: Vec<usize> = (0..slots.len()).filter(|&i| held_by[i] > 0).collect();
            let i = if busy.is_empty() {
                rng.below(slots.len())
            } else {
                busy[rng.below(busy.len())]
            };
            let held = held_by[i];
            let slot = &mut slots[i];
            let pid = slot.process.pid();
            slot.process.kill9();
            slot.process = env.spawn_with(slot.role, slot.extra);
            report.kills += 1;
            report.killed_in_flight += held;
            progress(&format!(
                "{:>6.1} s  killed {} (pid {pid}, {held} tasks in flight) with SIGKILL, started pid {}",
                t.as_secs_f64(),
                slot.role.binary(),
                slot.process.pid()
            ));
        }
    }
    let ids = submitter.await.unwrap_or_else(|e| panic!("submitter: {e}"));
    report.submitted = ids.len();
    progress(&format!(
        "{:>6.1} s  all {} jobs submitted; waiting for them to end",
        started.elapsed().as_secs_f64(),
        ids.len()
    ));

    // Wait until every job has a terminal state in Redis.
    let deadline = Instant::now() + spec.settle_timeout;
    let mut ended: HashMap<String, (JobStatus, String)> = HashMap::new();
    while ended.len() < ids.len() && Instant::now() < deadline {
        for id in &ids {
            if ended.contains_key(id) {
                continue;
            }
            if let Ok(Some(state)) = client.store.job_state(id).await {
                if state.status.is_terminal() {
                    ended.insert(id.clone(), (state.status, state.error.unwrap_or_default()));
                }
            }
        }
        if ended.len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    report.wall = started.elapsed();

    // The terminal events each job published, from the events stream.
    let mut terminal: HashMap<String, Vec<JobStatus>> = HashMap::new();
    for ev in client.all_job_events().await {
        if ev.status.is_terminal() {
            terminal.entry(ev.job_id).or_default().push(ev.status);
        }
    }
    for (n, id) in ids.iter().enumerate() {
        let input = &all_inputs[plan[n]];
        let events = terminal.get(id).map(Vec::as_slice).unwrap_or_default();
        let Some((status, error)) = ended.get(id) else {
            report.lost.push(id.clone());
            continue;
        };
        if events.is_empty() {
            report.lost.push(id.clone());
            continue;
        }
        let completions = events
            .iter()
            .filter(|s| **s == JobStatus::Completed)
            .count();
        if events.len() > 1 || completions > 1 || events[0] != *status {
            report
                .duplicates
                .push(format!("{id}: events {events:?}, state {status}"));
        }
        match status {
            JobStatus::Completed => report.completed += 1,
            JobStatus::Partial => report.partial += 1,
            _ => report.failed += 1,
        }
        if *status == input.expect {
            if *status == JobStatus::Failed {
                report.failed_expected += 1;
            }
        } else {
            report.unexpected.push((
                id.clone(),
                input.name.clone(),
                status.to_string(),
                error.clone(),
            ));
        }
    }
    report.dead_lettered = match client.js.get_stream(client.subjects.dlq_stream()).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    };
    report
}

async fn wait_for_workers(client: &Client, spec: &ChaosSpec) {
    let store = client.store.clone();
    let (s, q) = (spec.structured + spec.slow_structured, spec.quality);
    crate::eventually(Duration::from_secs(60), "every worker beats", || {
        let store = store.clone();
        async move {
            let live = |a| {
                let store = store.clone();
                async move {
                    store
                        .live_agents(a, 5_000)
                        .await
                        .map(|v| v.len())
                        .unwrap_or(0)
                }
            };
            live(AgentKind::Structured).await >= s && live(AgentKind::Quality).await >= q
        }
    })
    .await;
}

/// Publish `job` until JetStream acknowledges it (NATS may be restarting); the job id is
/// the `Nats-Msg-Id`, so a retry of a publish that was stored is the same job.
async fn submit_until_stored(
    js: &async_nats::jetstream::Context,
    subject: &str,
    job: &daa_shared::model::Job,
) {
    let payload = Encoding::MsgPack
        .encode(job)
        .unwrap_or_else(|e| panic!("encode: {e}"));
    let id = job.job_id.clone().unwrap_or_default();
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let mut headers = Encoding::MsgPack.headers();
        headers.insert(MSG_ID_HEADER, id.as_str());
        let stored = match js
            .publish_with_headers(subject.to_owned(), headers, payload.clone().into())
            .await
        {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        if stored {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "job {id} could not be submitted for 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
