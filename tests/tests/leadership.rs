//! Coordinator leadership: one coordinator holds the fenced leader lease and runs the
//! singleton duties; when it dies another takes over with a larger fence.

use std::time::{Duration, Instant};

use daa_shared::model::{FailureKind, JobStatus, Stage};
use daa_shared::store::{LeaseHolder, COORDINATOR_LEADER};
use daa_tests::{eventually, Client, DaaProcess, Env, Role};

async fn leader(client: &Client) -> Option<LeaseHolder> {
    client
        .store
        .lease_holder(COORDINATOR_LEADER)
        .await
        .expect("Redis answers")
}

/// Waits until the leader lease's record satisfies `ok`, and returns it.
async fn leader_when(
    client: &Client,
    within: Duration,
    what: &str,
    ok: impl Fn(&LeaseHolder) -> bool,
) -> LeaseHolder {
    let store = client.store.clone();
    let ok = &ok;
    eventually(within, what, || {
        let store = store.clone();
        async move {
            store
                .lease_holder(COORDINATOR_LEADER)
                .await
                .ok()
                .flatten()
                .is_some_and(|l| ok(&l))
        }
    })
    .await;
    leader(client).await.expect("a leader")
}

/// Waits until a coordinator holds the leader lease; its record.
async fn first_leader(client: &Client) -> LeaseHolder {
    leader_when(
        client,
        Duration::from_secs(20),
        "a coordinator leads",
        |_| true,
    )
    .await
}

/// The coordinator's instance name ends with its process id.
fn holds(p: &DaaProcess, l: &LeaseHolder) -> bool {
    l.holder.ends_with(&format!("-{}", p.pid()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_with_a_larger_fence_and_the_sweeper_still_runs() {
    let mut env = Env::start();
    env.set("DAA_COORDINATOR_LEADER_LEASE_MS", "1500");
    let c1 = env.spawn(Role::Coordinator);
    let c2 = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    let first = first_leader(&client).await;
    assert!(first.fence >= 1);
    let (mut dead, survivor) = if holds(&c1, &first) {
        (c1, c2)
    } else {
        assert!(holds(&c2, &first), "{first:?} is neither coordinator");
        (c2, c1)
    };
    // The leader renews: its term goes on, fence unchanged, past several lease periods.
    let renewed = leader_when(&client, Duration::from_secs(10), "the leader renews", |l| {
        l.renewed_ms > first.renewed_ms
    })
    .await;
    assert_eq!(
        (renewed.holder.as_str(), renewed.fence),
        (first.holder.as_str(), first.fence)
    );

    dead.kill9();
    let killed = Instant::now();
    let second = leader_when(
        &client,
        Duration::from_secs(20),
        "the other coordinator takes over",
        |l| l.holder != first.holder && l.fence > first.fence,
    )
    .await;
    assert!(holds(&survivor, &second), "{second:?}");
    assert!(second.fence > first.fence);
    eprintln!(
        "takeover after {} ms (lease 1500 ms); fence {} -> {}",
        killed.elapsed().as_millis(),
        first.fence,
        second.fence
    );
    // The dead leader's fence is stale: a write fenced with it is refused.
    assert!(!client
        .store
        .fence_current(COORDINATOR_LEADER, &first.holder, first.fence)
        .await
        .unwrap());
    assert!(client
        .store
        .fence_current(COORDINATOR_LEADER, &second.holder, second.fence)
        .await
        .unwrap());

    // The sweeper runs on the new leader: a PDF with no pdf worker fails at its deadline.
    let mut pdf = Client::job(
        "report.pdf",
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
    );
    pdf.deadline_ms = Some(1_000);
    let mut pdf = client.submit(pdf).await;
    let doc = pdf.result(Duration::from_secs(20)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    assert_eq!(doc.errors[0].kind, FailureKind::Deadline);
    assert_eq!(doc.errors[0].stage, Stage::Extraction);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_stops_cleanly_releases_the_lease_for_the_next() {
    let mut env = Env::start();
    // A long lease: only the release can hand it over quickly.
    env.set("DAA_COORDINATOR_LEADER_LEASE_MS", "60000");
    let mut c1 = env.spawn(Role::Coordinator);
    let client = env.client().await;
    let first = first_leader(&client).await;
    assert!(holds(&c1, &first));
    let c2 = env.spawn(Role::Coordinator);
    assert!(c1.terminate(Duration::from_secs(20)).is_some(), "c1 exits");
    // c1 released the lease before it exited, well before its 60 s period: c2 takes it.
    let second = leader_when(
        &client,
        Duration::from_secs(15),
        "the second coordinator leads",
        |l| l.fence > first.fence,
    )
    .await;
    assert!(holds(&c2, &second), "{second:?}");
    // `daa inspect leader` reads the same record.
    let vars = env.vars(Role::Cli);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(daa_tests::bin_path("daa"))
            .env_remove("DAA_CONFIG")
            .envs(vars)
            .args(["inspect", "leader", "--json"])
            .output()
            .expect("daa runs")
    })
    .await
    .expect("daa finished");
    assert!(out.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["leader"]["holder"], second.holder.as_str());
    assert_eq!(shown["leader"]["fence"], second.fence);
    assert_eq!(shown["last_fence"], second.fence);
    assert_eq!(
        client
            .store
            .lease_fence_counter(COORDINATOR_LEADER)
            .await
            .unwrap(),
        second.fence
    );
}
