//! The job state machine's Redis operations against a real redis-server: a result is
//! committed once, a job ends once with the result of the call that ended it, its
//! outputs go with it, and the staging keys that carry large values past the Lua
//! scripts do not outlive the call.

use daa_shared::codec::Encoding;
use daa_shared::model::{JobStatus, Priority, Requirements, Source, Stage};
use daa_shared::store::{BeginOutcome, CommitOutcome, CreateOutcome, JobSpec, Store};
use daa_shared::time::now_ms;
use daa_tests::{Env, Role};
use redis::AsyncCommands;

async fn store(env: &Env) -> Store {
    Store::connect(&env.config(Role::Cli).redis)
        .await
        .expect("redis")
}

fn spec(job_id: &str) -> JobSpec {
    JobSpec {
        job_id: job_id.to_owned(),
        source: Source::Url("https://example.org/".to_owned()),
        requirements: Requirements::default(),
        priority: Priority::default(),
        reply_to: None,
        encoding: Encoding::MsgPack,
        created_ms: now_ms(),
        deadline_at_ms: now_ms() + 60_000,
        trace_id: String::new(),
    }
}

/// Every key under the store's prefix whose name says it is staged.
async fn staged_keys(store: &Store) -> Vec<String> {
    let mut c = store.conn().await.expect("conn");
    let pattern = format!("{}*:staged:*", store.keys().prefix());
    let mut keys: Vec<String> = Vec::new();
    let mut it: redis::AsyncIter<String> = c.scan_match(pattern).await.expect("scan");
    while let Some(k) = it.next_item().await {
        keys.push(k.expect("key"));
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_ends_once_with_the_result_of_the_call_that_ended_it() {
    let env = Env::start();
    let store = store(&env).await;
    let job = "job-ends-once";
    assert_eq!(
        store.create_job(&spec(job)).await.expect("create"),
        CreateOutcome::Created
    );
    let tasks = vec![format!("{job}.0.validation.0")];
    assert_eq!(
        store
            .begin_stage(job, 0, Stage::Validation, &tasks)
            .await
            .expect("begin"),
        BeginOutcome::Begun
    );
    assert_eq!(
        store
            .commit_result(job, &tasks[0], 0, b"stage result")
            .await
            .expect("commit"),
        CommitOutcome::Committed { stage_done: true }
    );
    // A redelivered result and a result of no open task change nothing.
    assert_eq!(
        store
            .commit_result(job, &tasks[0], 0, b"redelivered")
            .await
            .expect("commit again"),
        CommitOutcome::Duplicate { stage_done: true }
    );
    assert_eq!(
        store
            .commit_result(job, &format!("{job}.0.validation.7"), 0, b"stray")
            .await
            .expect("commit stray"),
        CommitOutcome::NotOpen
    );
    let snap = store
        .job_snapshot(job)
        .await
        .expect("snapshot")
        .expect("known");
    assert_eq!(snap.open, 0);
    assert_eq!(snap.outputs.len(), 1, "{:?}", snap.outputs.keys());
    assert_eq!(snap.outputs[&tasks[0]], b"stage result");
    assert_eq!(staged_keys(&store).await, Vec::<String>::new());

    // A result of several megabytes, as a large PDF's is.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    assert!(store
        .finish_job(job, JobStatus::Completed, &big, 60_000, None)
        .await
        .expect("finish"));
    assert_eq!(store.result(job).await.expect("result"), Some(big.clone()));
    let state = store.job_state(job).await.expect("state").expect("known");
    assert_eq!(state.status, JobStatus::Completed);

    // A second ending (a deadline sweep racing the last result) changes nothing.
    assert!(!store
        .finish_job(job, JobStatus::Failed, b"other", 60_000, Some("late"))
        .await
        .expect("finish again"));
    assert_eq!(store.result(job).await.expect("result"), Some(big));
    let state = store.job_state(job).await.expect("state").expect("known");
    assert_eq!(state.status, JobStatus::Completed);

    // Nor does ending a job Redis does not know; neither call leaves a staged value.
    assert!(!store
        .finish_job("no-such-job", JobStatus::Failed, b"x", 60_000, None)
        .await
        .expect("finish unknown"));
    assert_eq!(store.result("no-such-job").await.expect("result"), None);
    assert_eq!(staged_keys(&store).await, Vec::<String>::new());

    // The job's outputs went with its end; the result carries the TTL asked for.
    let mut c = store.conn().await.expect("conn");
    let output: bool = c
        .exists(store.keys().job_output(job, &tasks[0]))
        .await
        .expect("exists");
    assert!(!output, "the task's output outlived the job");
    let ttl: i64 = c.pttl(store.keys().job_result(job)).await.expect("pttl");
    assert!((1..=60_000).contains(&ttl), "result TTL {ttl} ms");
}
