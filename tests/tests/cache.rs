//! The content-addressed result cache through real coordinator and worker processes.

use std::time::Duration;

use daa_shared::memory::{Memory, ESTIMATES_NAMESPACE, ESTIMATE_TASK_MS};
use daa_shared::model::{AgentKind, JobStatus, Requirements};
use daa_shared::time::now_ms;
use daa_tests::{eventually, fixture, Client, Env, Role};

const WAIT: Duration = Duration::from_secs(60);

fn csv() -> Vec<u8> {
    std::fs::read(fixture("corpus/csv/distro-info-debian.csv")).expect("fixture")
}

/// `processed` of the one live worker of `agent`, from a heartbeat written after
/// `after_ms` (so it counts every task done before then).
async fn processed_since(client: &Client, agent: AgentKind, after_ms: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let live = client
            .store
            .live_agents(agent, 5_000)
            .await
            .expect("agents");
        if let [a] = live.as_slice() {
            if a.last_beat_ms > after_ms {
                return a.heartbeat.as_ref().map_or(0, |h| h.processed);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no fresh heartbeat of {agent}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_jobs_for_one_document_are_extracted_once() {
    let mut env = Env::start();
    env.set("DAA_CACHE_ENABLED", "true");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn(Role::Structured);
    let client = env.client().await;
    let data = csv();

    let mut jobs = futures::future::join_all(
        (0..50).map(|_| client.submit(Client::job("distro-info-debian.csv", data.clone()))),
    )
    .await;
    let mut docs = Vec::new();
    for j in &mut jobs {
        let doc = j.result(WAIT).await;
        assert_eq!(doc.job_id, j.job_id);
        docs.push(doc);
    }
    let done_ms = now_ms();
    for d in &docs {
        assert_eq!(d.status, JobStatus::Completed, "{:?}", d.errors);
        assert_eq!(d.tables, docs[0].tables);
        assert_eq!(d.text, docs[0].text);
        assert_eq!(d.source.sha256, docs[0].source.sha256);
        assert_eq!(d.tables[0].rows[0][1], "codename");
    }
    // One job ran; every other one says which job's result it got.
    let leaders: Vec<_> = docs
        .iter()
        .filter(|d| !d.metadata.contains_key("cached_from"))
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one job computed the result");
    let leader = &leaders[0].job_id;
    assert!(docs
        .iter()
        .filter(|d| &d.job_id != leader)
        .all(|d| d.metadata["cached_from"] == leader.as_str()));
    assert_eq!(
        processed_since(&client, AgentKind::Structured, done_ms).await,
        1,
        "the document was extracted once"
    );

    // A later job for the same bytes is answered from the cache; other requirements are
    // another address and run.
    let mut again = client
        .submit(Client::job("same-bytes-other-name.csv", data.clone()))
        .await;
    let doc = again.result(WAIT).await;
    assert_eq!(doc.status, JobStatus::Completed);
    assert_eq!(doc.metadata["cached_from"], leader.as_str());
    assert_eq!(doc.tables, docs[0].tables);
    let mut other = Client::job("distro-info-debian.csv", data);
    other.requirements = Requirements {
        extract_tables: false,
        ..Requirements::default()
    };
    let doc = client.submit(other).await.result(WAIT).await;
    assert_eq!(doc.status, JobStatus::Completed);
    assert!(!doc.metadata.contains_key("cached_from"));
    assert_eq!(
        processed_since(&client, AgentKind::Structured, now_ms()).await,
        2,
        "only the job with other requirements was extracted"
    );

    // The worker shared its processing-time estimate through coordination memory.
    let memory = Memory::new(client.store.clone());
    eventually(WAIT, "a structured task-time estimate", || {
        let memory = memory.clone();
        async move {
            memory
                .latest(ESTIMATES_NAMESPACE, "structured", ESTIMATE_TASK_MS)
                .await
                .expect("memory")
                .is_some_and(|e| e.value["samples"].as_u64() >= Some(1))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_of_a_failed_job_run_and_nothing_is_cached() {
    let mut env = Env::start();
    env.set("DAA_CACHE_ENABLED", "true");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _worker = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "permanent")]);
    let client = env.client().await;
    let data = csv();

    let mut jobs = futures::future::join_all(
        (0..5).map(|_| client.submit(Client::job("distro-info-debian.csv", data.clone()))),
    )
    .await;
    for j in &mut jobs {
        // None is stranded behind the failed leader: each ends with its own failure.
        let doc = j.result(WAIT).await;
        assert_eq!(doc.status, JobStatus::Failed);
        assert!(!doc.metadata.contains_key("cached_from"));
        assert!(
            doc.errors
                .iter()
                .any(|e| e.message.contains("injected permanent failure")),
            "{:?}",
            doc.errors
        );
    }
    // No lock is left behind.
    let report = client
        .store
        .locks()
        .report(Duration::ZERO)
        .await
        .expect("report");
    assert!(report.held.is_empty(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_are_answered_after_the_coordinator_is_restarted() {
    let mut env = Env::start();
    env.set("DAA_CACHE_ENABLED", "true");
    let mut coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _slow = env.spawn_with(Role::TestWorker, &[("TESTWORKER_DELAY_MS", "1500")]);
    let client = env.client().await;
    let data = csv();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(
            client
                .submit(Client::job("distro-info-debian.csv", data.clone()))
                .await,
        );
    }
    // Kill the coordinator while the leader is in extraction and the others follow it.
    let ids: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    eventually(WAIT, "the leader reaches extraction", || {
        let (store, ids) = (client.store.clone(), ids.clone());
        async move {
            for id in &ids {
                let s = store.job_state(id).await.expect("state");
                if s.is_some_and(|s| s.stage == Some(daa_shared::model::Stage::Extraction)) {
                    return true;
                }
            }
            false
        }
    })
    .await;
    coordinator.kill9();
    let _coordinator2 = env.spawn(Role::Coordinator);
    for j in &mut jobs {
        let doc = j.result(WAIT).await;
        assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    }
    assert_eq!(
        processed_since(&client, AgentKind::Structured, now_ms()).await,
        1,
        "the document was extracted once"
    );
}
