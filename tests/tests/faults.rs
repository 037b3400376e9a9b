//! Delivery semantics under duplicates, crashes, missing workers and failing agents.

use std::time::Duration;

use daa_shared::codec::Encoding;
use daa_shared::model::{FailureKind, JobStatus, Stage};
use daa_tests::{eventually, Client, Env, Role};

const CSV: &[u8] = b"name,qty\napple,3\npear,5\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_job_id_twice_is_one_job_with_one_completion_event() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    let job = Client::job("a.csv", CSV.to_vec());
    let mut first = client.submit(job.clone()).await;
    // The same submission again: JetStream recognises the Nats-Msg-Id.
    let id = job.job_id.clone().unwrap();
    let ack = client
        .publish_with(&job, Encoding::MsgPack, &[("Nats-Msg-Id", &id)])
        .await;
    assert!(ack.duplicate, "the resubmission was not de-duplicated");
    let doc = first.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed);
    // And once the dedup window is irrelevant (a resubmission after completion with a
    // fresh message id), Redis still knows the job: no second run either.
    let mut again = job.clone();
    again.reply_to = None;
    client
        .publish_with(
            &again,
            Encoding::Json,
            &[("Nats-Msg-Id", "another-message-id")],
        )
        .await;
    // A later resubmission with a reply_to (a client that lost its first reply) is
    // answered from the stored result without running the job again.
    let mut late = job.clone();
    late.job_id = job.job_id.clone();
    let mut resubmitted = {
        let reply = client.nats.new_inbox();
        let sub = client.nats.subscribe(reply.clone()).await.unwrap();
        late.reply_to = Some(reply);
        client
            .publish_with(
                &late,
                Encoding::MsgPack,
                &[("Nats-Msg-Id", "yet-another-message-id")],
            )
            .await;
        sub
    };
    let again_msg = tokio::time::timeout(
        Duration::from_secs(10),
        futures::StreamExt::next(&mut resubmitted),
    )
    .await
    .expect("the resubmission is answered")
    .unwrap();
    let (again_doc, _): (daa_shared::model::ResultDocument, _) =
        daa_shared::codec::decode_message(again_msg.headers.as_ref(), &again_msg.payload).unwrap();
    assert_eq!(again_doc, doc);

    let events = client.job_events(&job.job_id.clone().unwrap()).await;
    let completed = events
        .iter()
        .filter(|e| e.status == JobStatus::Completed)
        .count();
    let accepted = events
        .iter()
        .filter(|e| e.status == JobStatus::Accepted)
        .count();
    assert_eq!(completed, 1, "{events:?}");
    assert_eq!(accepted, 1, "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_task_is_redelivered_and_the_job_completes() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    // A slow structured worker that will hold the task when it dies.
    let mut slow = env.spawn_with(Role::TestWorker, &[("TESTWORKER_DELAY_MS", "60000")]);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;

    // Wait until the slow worker holds the extraction task.
    client
        .wait_in_flight(
            daa_shared::model::AgentKind::Structured,
            Duration::from_secs(20),
        )
        .await;
    slow.kill9();
    let _healthy = env.spawn(Role::Structured);
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.tables[0].rows[1], vec!["apple", "3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_restarted_mid_job_loses_nothing() {
    let env = Env::start();
    let mut coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let slow = env.spawn_with(Role::TestWorker, &[("TESTWORKER_DELAY_MS", "1500")]);
    let client = env.client().await;
    let mut jobs = Vec::new();
    for i in 0..5 {
        jobs.push(
            client
                .submit(Client::job(&format!("{i}.csv"), CSV.to_vec()))
                .await,
        );
    }
    // Let the jobs get into extraction, then kill the coordinator while workers hold
    // tasks and results are being published with nobody to take them.
    let store = client.store.clone();
    let first = jobs[0].job_id.clone();
    eventually(Duration::from_secs(20), "jobs reach extraction", || {
        let store = store.clone();
        let first = first.clone();
        async move {
            store
                .job_state(&first)
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.stage == Some(Stage::Extraction))
        }
    })
    .await;
    coordinator.kill9();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let coordinator2 = env.spawn(Role::Coordinator);
    for job in &mut jobs {
        let doc = job.result(Duration::from_secs(40)).await;
        assert_eq!(
            doc.status,
            JobStatus::Completed,
            "{:?}\n--- killed coordinator:\n{}\n--- second coordinator:\n{}\n--- worker:\n{}",
            doc.errors,
            coordinator.log(),
            coordinator2.log(),
            slow.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_coordinators_complete_every_job_exactly_once() {
    let env = Env::start();
    let _c1 = env.spawn(Role::Coordinator);
    let _c2 = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    let mut jobs = Vec::new();
    for i in 0..40 {
        jobs.push(
            client
                .submit(Client::job(&format!("{i}.csv"), CSV.to_vec()))
                .await,
        );
    }
    for job in &mut jobs {
        let doc = job.result(Duration::from_secs(30)).await;
        assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    }
    for job in &jobs {
        let events = client.job_events(&job.job_id).await;
        let completed = events
            .iter()
            .filter(|e| e.status == JobStatus::Completed)
            .count();
        assert_eq!(completed, 1, "{}: {events:?}", job.job_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_live_worker_fails_at_the_deadline_saying_so_and_workers_scale_from_zero() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    // A PDF while no pdf agent exists: waits until its deadline, then fails saying why.
    let mut pdf = Client::job(
        "report.pdf",
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
    );
    pdf.deadline_ms = Some(2_000);
    let mut pdf = client.submit(pdf).await;
    let doc = pdf.result(Duration::from_secs(20)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    let err = &doc.errors[0];
    assert_eq!(err.kind, FailureKind::Deadline);
    assert_eq!(err.stage, Stage::Extraction);
    assert!(
        err.message.contains("no live pdf worker"),
        "{}",
        err.message
    );

    // A CSV while no structured worker runs waits; starting one from zero finishes it.
    let mut csv = client.submit(Client::job("late.csv", CSV.to_vec())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let state = client.store.job_state(&csv.job_id).await.unwrap().unwrap();
    assert_eq!(state.status, JobStatus::Running);
    assert_eq!(state.stage, Some(Stage::Extraction));
    let _structured = env.spawn(Role::Structured);
    let doc = csv.result(Duration::from_secs(20)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_keeps_failing_goes_to_the_dlq_and_fails_its_job_with_history() {
    let mut env = Env::start();
    env.set("DAA_TASKS_MAX_DELIVER", "3");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let mut flaky = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "temporary")]);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    let err = &doc.errors[0];
    assert_eq!(err.kind, FailureKind::Exhausted);
    assert!(
        err.message.contains("gave up after 3 deliveries"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("injected temporary failure"),
        "{}",
        err.message
    );
    assert!(flaky.is_running());

    // The DLQ holds the task with every attempt's error.
    let stream = client
        .js
        .get_stream(client.subjects.dlq_stream())
        .await
        .unwrap();
    let msg = stream
        .get_last_raw_message_by_subject(
            &client
                .subjects
                .dlq(daa_shared::model::AgentKind::Structured),
        )
        .await
        .unwrap();
    let entry: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(entry["task"]["job_id"], job.job_id.as_str());
    assert_eq!(entry["deliveries"], 3);
    let history = entry["history"].as_array().unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history.iter().all(|h| h["kind"] == "temporary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_not_retried() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _bad = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "permanent")]);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    assert_eq!(doc.errors[0].kind, FailureKind::Permanent);
    assert!(client.store.attempts(&job.job_id).await.unwrap().is_empty());
}
