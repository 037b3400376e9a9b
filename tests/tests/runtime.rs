//! Worker runtime behaviour seen from outside: drain, wedged threads, control messages,
//! priority lanes, heartbeats.

use std::time::Duration;

use daa_shared::codec::decode_message;
use daa_shared::model::{AgentKind, FailureKind, JobStatus, Priority, Stage, TaskEvent};
use daa_tests::{eventually, Client, Env, Role};
use futures::StreamExt;

const CSV: &[u8] = b"k,v\na,1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_task_in_hand_then_exits_cleanly() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let mut slow = env.spawn_with(Role::TestWorker, &[("TESTWORKER_DELAY_MS", "1500")]);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    client
        .wait_in_flight(
            daa_shared::model::AgentKind::Structured,
            Duration::from_secs(20),
        )
        .await;
    let status = tokio::task::spawn_blocking(move || {
        let s = slow.terminate(Duration::from_secs(20));
        (s, slow)
    })
    .await
    .unwrap();
    assert_eq!(
        status.0.and_then(|s| s.code()),
        Some(0),
        "worker did not drain cleanly"
    );
    // It finished the task before leaving: the job completes with no other worker.
    let doc = job.result(Duration::from_secs(20)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    // And it removed its heartbeat.
    let live = client
        .store
        .live_agents(AgentKind::Structured, 60_000)
        .await
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_never_returns_times_out_and_the_worker_exits_to_be_restarted() {
    let mut env = Env::start();
    env.set("DAA_WORKER_TASK_TIMEOUT_MS", "1000");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let mut hung = env.spawn_with(Role::TestWorker, &[("TESTWORKER_HANG", "1")]);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    assert_eq!(doc.errors[0].kind, FailureKind::Timeout);
    assert!(
        doc.errors[0].message.contains("hard deadline"),
        "{}",
        doc.errors[0].message
    );
    // The wedged worker drains and exits with 75 so that its supervisor restarts it.
    let code = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !hung.is_running() {
                return hung
                    .terminate(Duration::from_secs(1))
                    .and_then(|s| s.code());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(code, Some(75));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_worker_resumes_and_serves_high_priority_first() {
    let mut env = Env::start();
    env.set("DAA_WORKER_CONCURRENCY", "1");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn(Role::Structured);
    let client = env.client().await;
    eventually(Duration::from_secs(10), "structured worker is live", || {
        let store = client.store.clone();
        async move {
            !store
                .live_agents(AgentKind::Structured, 5_000)
                .await
                .unwrap_or_default()
                .is_empty()
        }
    })
    .await;
    assert_eq!(
        client.control(AgentKind::Structured, "all", "pause").await,
        "paused"
    );

    let mut low = Vec::new();
    for i in 0..5 {
        let mut j = Client::job(&format!("low{i}.csv"), CSV.to_vec());
        j.priority = Priority::Low;
        low.push(client.submit(j).await);
    }
    let mut high = Client::job("high.csv", CSV.to_vec());
    high.priority = Priority::High;
    let mut high = client.submit(high).await;
    // Wait until every extraction task is queued behind the paused worker.
    // Wait until every extraction task is in its lane behind the paused worker (the job
    // state says "extraction" a moment before the task is published).
    let js = client.js.clone();
    let subjects = client.subjects.clone();
    eventually(
        Duration::from_secs(20),
        "all tasks wait in their lanes",
        || {
            let (js, subjects) = (js.clone(), subjects.clone());
            async move {
                let pending = |prio: Priority| {
                    let (js, subjects) = (js.clone(), subjects.clone());
                    async move {
                        let Ok(stream) = js.get_stream(subjects.tasks_stream()).await else {
                            return 0;
                        };
                        let name = subjects.task_consumer(AgentKind::Structured, prio);
                        match stream
                            .get_consumer::<async_nats::jetstream::consumer::pull::Config>(&name)
                            .await
                        {
                            Ok(mut c) => c.info().await.map(|i| i.num_pending).unwrap_or(0),
                            Err(_) => 0,
                        }
                    }
                };
                pending(Priority::High).await == 1 && pending(Priority::Low).await == 5
            }
        },
    )
    .await;
    // What the paused worker decides is the order in which it *starts* the extraction
    // tasks; the order in which whole jobs complete also depends on the QA lanes and
    // the coordinator, so it is not what this test asserts.
    let mut started = client
        .nats
        .subscribe(client.subjects.task_event("started"))
        .await
        .unwrap();
    client.nats.flush().await.unwrap();
    assert_eq!(
        client.control(AgentKind::Structured, "all", "resume").await,
        "running"
    );

    let high_doc = high.result(Duration::from_secs(20)).await;
    assert_eq!(high_doc.status, JobStatus::Completed);
    for j in &mut low {
        assert_eq!(
            j.result(Duration::from_secs(20)).await.status,
            JobStatus::Completed
        );
    }
    // Submitted last, served first: with one task at a time, the resumed worker started
    // the high-priority extraction before every low-priority one waiting with it.
    let mut order: Vec<String> = Vec::new();
    while order.len() < 6 {
        let msg = tokio::time::timeout(Duration::from_secs(10), started.next())
            .await
            .expect("task events arrive")
            .expect("subscription open");
        let (ev, _): (TaskEvent, _) =
            decode_message(msg.headers.as_ref(), &msg.payload).expect("a task event");
        if ev.stage == Stage::Extraction {
            order.push(ev.job_id);
        }
    }
    assert_eq!(order[0], high.job_id, "extraction start order {order:?}");
    let lows: Vec<&String> = low.iter().map(|j| &j.job_id).collect();
    assert!(
        order[1..].iter().all(|id| lows.contains(&id)),
        "extraction start order {order:?}"
    );
}
