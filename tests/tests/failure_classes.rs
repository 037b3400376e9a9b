//! Failure classes end to end: what an agent (or the runtime) says about a failure
//! decides what happens to the task, and the job's `errors[]` and attempt history tell
//! the classes apart.

use std::time::Duration;

use daa_shared::model::{AgentKind, ErrorReport, FailureKind, JobStatus, Stage};
use daa_tests::{Client, Env, Role};

const CSV: &[u8] = b"k,v\na,1\n";

/// The attempts the workers recorded for a job (kind, message, dependency, at_ms).
async fn attempts(client: &Client, job_id: &str) -> Vec<serde_json::Value> {
    client
        .store
        .attempts(job_id)
        .await
        .expect("attempts")
        .iter()
        .map(|a| serde_json::from_str(a).expect("JSON attempt"))
        .collect()
}

/// Run one job through a test worker started with `faults`; stop the worker after.
async fn one_job(
    env: &Env,
    client: &Client,
    faults: &[(&str, &str)],
) -> (ErrorReport, Vec<serde_json::Value>) {
    let mut worker = env.spawn_with(Role::TestWorker, faults);
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    worker.kill9();
    assert_eq!(
        doc.status,
        JobStatus::Failed,
        "{faults:?}: {:?}",
        doc.errors
    );
    assert_eq!(doc.errors.len(), 1, "{faults:?}: {:?}", doc.errors);
    let err = doc.errors[0].clone();
    assert_eq!(err.stage, Stage::Extraction, "{faults:?}");
    assert_eq!(err.agent, Some(AgentKind::Structured), "{faults:?}");
    (err, attempts(client, &job.job_id).await)
}

fn kinds(attempts: &[serde_json::Value]) -> Vec<&str> {
    attempts
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_class_reaches_the_job_errors_distinctly() {
    let mut env = Env::start();
    env.set("DAA_TASKS_MAX_DELIVER", "3");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    // Permanent: bad input, failed at once, never retried.
    let (permanent, history) = one_job(&env, &client, &[("TESTWORKER_FAIL", "permanent")]).await;
    assert_eq!(permanent.kind, FailureKind::Permanent);
    assert_eq!(permanent.message, "injected permanent failure");
    assert!(history.is_empty(), "{history:?}");

    // Timeout: the runtime abandons the task at its hard deadline, not retried.
    let (timeout, history) = one_job(
        &env,
        &client,
        &[
            ("TESTWORKER_DELAY_MS", "10000"),
            ("DAA_WORKER_TASK_TIMEOUT_MS", "300"),
        ],
    )
    .await;
    assert_eq!(timeout.kind, FailureKind::Timeout);
    assert!(timeout.message.contains("hard deadline"), "{timeout:?}");
    assert!(history.is_empty(), "{history:?}");

    // Temporary: retried with backoff until max_deliver, then dead-lettered.
    let (temporary, history) = one_job(&env, &client, &[("TESTWORKER_FAIL", "temporary")]).await;
    assert_eq!(temporary.kind, FailureKind::Exhausted);
    assert!(
        temporary.message.contains("gave up after 3 deliveries")
            && temporary
                .message
                .contains("(temporary) injected temporary failure"),
        "{temporary:?}"
    );
    assert_eq!(kinds(&history), ["temporary"; 3], "{history:?}");

    // Overload: retried no sooner than the agent asked, then dead-lettered.
    let (overload, history) = one_job(
        &env,
        &client,
        &[
            ("TESTWORKER_FAIL", "overload"),
            ("TESTWORKER_RETRY_AFTER_MS", "400"),
        ],
    )
    .await;
    assert_eq!(overload.kind, FailureKind::Exhausted);
    assert!(
        overload
            .message
            .contains("(overload) injected overload failure"),
        "{overload:?}"
    );
    assert_eq!(kinds(&history), ["overload"; 3], "{history:?}");
    let at: Vec<u64> = history
        .iter()
        .map(|a| a["at_ms"].as_u64().expect("at_ms"))
        .collect();
    for w in at.windows(2) {
        // A lower bound the NAK delay guarantees, not a timing measurement.
        assert!(w[1] >= w[0] + 400, "redelivered before retry_after: {at:?}");
    }

    // Dependency down: a failure blamed on the engine is handed back, never failed,
    // and the history names the dependency.
    let dir = tempfile::tempdir().expect("temp dir");
    let down = dir.path().join("down");
    std::fs::write(&down, b"").expect("write");
    let (dependency, history) = one_job(
        &env,
        &client,
        &[(
            "TESTWORKER_DEPENDENCY_DOWN_FILE",
            down.to_str().expect("UTF-8"),
        )],
    )
    .await;
    assert_eq!(dependency.kind, FailureKind::Exhausted);
    assert!(
        dependency
            .message
            .contains("the engine (dependency) is down"),
        "{dependency:?}"
    );
    assert_eq!(kinds(&history), ["overload"; 3], "{history:?}");
    assert!(
        history.iter().all(|a| a["dependency"] == "engine"),
        "{history:?}"
    );

    // Four classes, four distinct reports.
    let messages = [
        &permanent.message,
        &timeout.message,
        &temporary.message,
        &overload.message,
    ];
    for (i, a) in messages.iter().enumerate() {
        for b in &messages[i + 1..] {
            assert_ne!(a, b);
        }
    }
}
