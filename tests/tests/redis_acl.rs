//! The fleet under the project's Redis ACL users (redis-users.conf): every process
//! connects as its role's user and does its work; a client may read the fleet's state
//! but not change a job's.

use std::time::Duration;

use daa_shared::model::JobStatus;
use daa_tests::{Client, Env, Role};

const CSV: &[u8] = b"k,v\na,1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_works_with_its_own_redis_user_and_no_more() {
    // Every Env runs Redis with the project's users (tests/src/servers.rs); this test
    // checks what they allow and refuse.
    let mut env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn(Role::Structured);
    let _pdf = env.spawn(Role::Pdf);
    let client = env.client().await;

    // Jobs run end to end: job state (coordinator), heartbeats, task-time estimates in
    // coordination memory and attempt history (workers).
    let mut csv = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = csv.result(Duration::from_secs(60)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../workers/pdf/tests/fixtures/pdfminer-simple1.pdf"),
    )
    .expect("fixture");
    let mut pdf_job = client.submit(Client::job("simple1.pdf", pdf)).await;
    let doc = pdf_job.result(Duration::from_secs(60)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert!(!doc.pages.is_empty());

    // The CLI, as the client user, reads the fleet and writes coordination memory.
    for args in [
        vec!["inspect", "agents"],
        vec!["inspect", "locks"],
        vec!["status", &csv.job_id],
        vec![
            "memory",
            "put",
            "ops/cli/note",
            "{\"a\": 1}",
            "--ttl-s",
            "60",
        ],
    ] {
        let out = env.daa(&args);
        assert!(
            out.status.success(),
            "daa {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // It cannot change a job's state.
    let url = env
        .vars(Role::Cli)
        .into_iter()
        .find(|(k, _)| k == "DAA_REDIS_URL")
        .map(|(_, v)| v)
        .expect("a Redis URL");
    assert!(url.contains("client:"), "{url}");
    let mut c = redis::Client::open(url)
        .expect("URL")
        .get_multiplexed_async_connection()
        .await
        .expect("the client user connects");
    let key = format!("daa:job:{{{}}}", csv.job_id);
    let denied: redis::RedisResult<()> = redis::cmd("HSET")
        .arg(&key)
        .arg("status")
        .arg("failed")
        .query_async(&mut c)
        .await;
    let e = denied.expect_err("the client user may not write a job");
    assert!(
        e.to_string().contains("NOPERM") || e.to_string().contains("NoPerm"),
        "{e}"
    );
    let status: Option<String> = redis::cmd("HGET")
        .arg(&key)
        .arg("status")
        .query_async(&mut c)
        .await
        .expect("the client user may read a job");
    assert_eq!(status.as_deref(), Some("completed"));

    // A restart replays the append-only file: the jobs' state, written by Lua scripts
    // (logged as MULTI/EXEC), must come back whole.
    tokio::time::sleep(Duration::from_millis(1500)).await; // appendfsync everysec
    tokio::task::block_in_place(|| env.redis.restart());
    let mut back = None;
    for _ in 0..50 {
        if let Ok(Some(s)) = client.store.job_state(&csv.job_id).await {
            back = Some(s.status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(back, Some(JobStatus::Completed));
}
