//! Circuit breakers end to end: a worker whose dependency is down opens its breaker and
//! stops fetching, a healthy replica takes the work, and once the dependency heals a
//! half-open probe closes the breaker and the worker processes tasks again.

use std::time::Duration;

use daa_shared::breaker::State;
use daa_shared::model::{AgentKind, JobStatus};
use daa_shared::store::{Heartbeat, Store};
use daa_tests::{bin_path, eventually, Client, Env, Role};

const CSV: &[u8] = b"k,v\na,1\n";

async fn heartbeat(store: &Store, instance: &str) -> Option<Heartbeat> {
    store
        .live_agents(AgentKind::Structured, 5_000)
        .await
        .ok()?
        .into_iter()
        .find(|a| a.instance == instance)?
        .heartbeat
}

async fn engine_state(store: &Store, instance: &str) -> Option<State> {
    heartbeat(store, instance)
        .await?
        .breakers
        .into_iter()
        .find(|b| b.dependency == daa_worker::ENGINE)
        .map(|b| b.state)
}

async fn wait_engine(store: &Store, instance: &str, want: State, what: &str) {
    eventually(Duration::from_secs(20), what, || async {
        engine_state(store, instance).await == Some(want)
    })
    .await;
}

async fn inspect_agents(env: &Env) -> String {
    let vars = env.vars(Role::Cli);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin_path("daa"))
            .env_remove("DAA_CONFIG")
            .envs(vars)
            .args(["inspect", "agents"])
            .output()
            .expect("daa runs")
    })
    .await
    .expect("daa finished");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `daa inspect agents` about `instance`.
fn row<'a>(listing: &'a str, instance: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(instance))
        .unwrap_or_else(|| panic!("no row for {instance}:\n{listing}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_dependency_opens_the_breaker_a_healthy_replica_takes_the_work_and_a_probe_closes_it(
) {
    let mut env = Env::start();
    // Dependency-down failures are handed back; give them room before the DLQ.
    env.set("DAA_TASKS_MAX_DELIVER", "30");
    let dir = tempfile::tempdir().expect("temp dir");
    let down = dir.path().join("engine-down");
    std::fs::write(&down, b"down").expect("write");
    let down_path = down.to_str().expect("UTF-8 path").to_owned();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _faulty = env.spawn_with(
        Role::TestWorker,
        &[
            ("DAA_WORKER_INSTANCE", "faulty"),
            ("DAA_WORKER_CONCURRENCY", "1"),
            ("TESTWORKER_DEPENDENCY_DOWN_FILE", &down_path),
            ("DAA_BREAKER_MIN_CALLS", "2"),
            ("DAA_BREAKER_COOLDOWN_MS", "1500"),
        ],
    );
    let client = env.client().await;
    let store = client.store.clone();

    // 1. Work arrives while the engine is down and no other replica runs: two failures
    //    open the breaker, and the heartbeat says so.
    let mut jobs = Vec::new();
    for i in 0..4 {
        jobs.push(
            client
                .submit(Client::job(&format!("{i}.csv"), CSV.to_vec()))
                .await,
        );
    }
    wait_engine(
        &store,
        "faulty",
        State::Open,
        "the faulty worker's breaker opens",
    )
    .await;
    let hb = heartbeat(&store, "faulty").await.expect("heartbeat");
    assert!(
        hb.metrics["daa_breaker_open_total"] >= 1.0,
        "{:?}",
        hb.metrics
    );
    let engine = hb.breakers.iter().find(|b| b.dependency == "engine");
    assert!(
        engine.is_some_and(|b| b
            .last_failure
            .as_deref()
            .is_some_and(|f| f.contains("down"))),
        "{:?}",
        hb.breakers
    );
    // (Retried while a failed probe may briefly show it half-open.)
    eventually(
        Duration::from_secs(10),
        "daa inspect agents shows the open breaker",
        || async { row(&inspect_agents(&env).await, "faulty").contains("engine=open") },
    )
    .await;

    // 2. A healthy replica takes every job while the faulty one stays out of the way.
    let mut healthy = env.spawn_with(Role::Structured, &[("DAA_WORKER_INSTANCE", "healthy")]);
    for job in &mut jobs {
        let doc = job.result(Duration::from_secs(30)).await;
        assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    }
    let hb = heartbeat(&store, "faulty").await.expect("heartbeat");
    let engine = hb
        .breakers
        .iter()
        .find(|b| b.dependency == "engine")
        .expect("engine breaker");
    assert_ne!(engine.state, State::Closed, "{engine:?}");
    // With one slot, the faulty worker ran two tasks while closed and, after that, only
    // one probe per time it opened: it did not fetch while open.
    assert!(
        hb.failed <= engine.opened_total + 1,
        "failed {} times but opened {} times: it fetched while open",
        hb.failed,
        engine.opened_total
    );
    assert_eq!(
        hb.processed, hb.failed,
        "the engine was down: nothing succeeded"
    );
    eventually(
        Duration::from_secs(10),
        "the healthy worker's heartbeat counts the four tasks",
        || async {
            heartbeat(&store, "healthy")
                .await
                .is_some_and(|hb| hb.processed >= 4)
        },
    )
    .await;
    let stopped = tokio::task::spawn_blocking(move || healthy.terminate(Duration::from_secs(20)))
        .await
        .expect("terminate");
    assert!(stopped.is_some(), "the healthy worker did not drain");

    // 3. The engine heals. After the cooldown the breaker is half-open; the next task is
    //    its probe, whose success closes it, and the worker works again.
    std::fs::remove_file(&down).expect("heal");
    wait_engine(
        &store,
        "faulty",
        State::HalfOpen,
        "the breaker turns half-open",
    )
    .await;
    let before = heartbeat(&store, "faulty")
        .await
        .expect("heartbeat")
        .processed;
    let mut after = Vec::new();
    for i in 0..2 {
        after.push(
            client
                .submit(Client::job(&format!("healed-{i}.csv"), CSV.to_vec()))
                .await,
        );
    }
    for job in &mut after {
        let doc = job.result(Duration::from_secs(30)).await;
        assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    }
    wait_engine(
        &store,
        "faulty",
        State::Closed,
        "the probe closes the breaker",
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the faulty worker's heartbeat counts the two tasks",
        || async {
            heartbeat(&store, "faulty")
                .await
                .is_some_and(|hb| hb.processed >= before + 2)
        },
    )
    .await;
    let listing = inspect_agents(&env).await;
    assert!(
        row(&listing, "faulty").trim_end().ends_with("closed"),
        "{listing}"
    );
}
