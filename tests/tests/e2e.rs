//! End to end through real nats-server, redis-server, coordinator and worker processes.

use std::time::Duration;

use daa_shared::codec::Encoding;
use daa_shared::model::{FailureKind, JobStatus, Stage};
use daa_tests::{fixture, Client, Env, Role};

const WAIT: Duration = Duration::from_secs(30);

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_job_flows_through_every_stage_of_the_fleet() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;

    let mut job = client
        .submit(Client::job(
            "distro-info-debian.csv",
            read("corpus/csv/distro-info-debian.csv"),
        ))
        .await;
    let doc = job.result(WAIT).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.job_id, job.job_id);
    assert_eq!(doc.kind, "csv");
    assert_eq!(doc.source.media_type, "text/csv");
    assert_eq!(doc.source.bytes, 1220);
    let table = &doc.tables[0];
    assert_eq!(table.rows[0][0], "version");
    assert_eq!(table.rows[0][1], "codename");
    assert!(table
        .rows
        .iter()
        .any(|r| r.get(1).map(String::as_str) == Some("Bookworm")));
    assert!(doc.text.contains("Buzz"));
    let stages: Vec<Stage> = doc.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        vec![Stage::Validation, Stage::Extraction, Stage::Qa]
    );
    assert!(doc.quality.is_some());

    // The same result is in Redis for `daa result`, and the API answers with it.
    let info = client
        .nats
        .request(
            client.subjects.api_job_get(),
            serde_json::to_vec(&serde_json::json!({"job_id": job.job_id}))
                .unwrap()
                .into(),
        )
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    assert_eq!(info["status"], "completed");
    assert_eq!(info["result"]["tables"][0]["rows"][0][0], "version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_and_bad_inputs_end_with_a_status_and_a_reason() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let mut structured = env.spawn(Role::Structured);
    let mut quality = env.spawn(Role::Quality);
    let client = env.client().await;

    // (fixture, expected status, words the reason must contain)
    let cases: Vec<(&str, JobStatus, &str)> = vec![
        (
            "corpus/csv/distro-info-ubuntu.csv",
            JobStatus::Completed,
            "",
        ),
        (
            "corpus/csv/sklearn-breast_cancer.csv",
            JobStatus::Completed,
            "",
        ),
        ("corpus/json/iso_3166-1.json", JobStatus::Completed, ""),
        ("corpus/json/iso_4217.json", JobStatus::Completed, ""),
        ("corpus/json/iso_639-3.json", JobStatus::Completed, ""),
        ("corpus/json/schema-3166-1.json", JobStatus::Completed, ""),
        ("corpus/xml/serviceproviders.xml", JobStatus::Completed, ""),
        ("corpus/xml/xkb-rules-base.xml", JobStatus::Completed, ""),
        ("corpus/xml/freedesktop.org.xml", JobStatus::Completed, ""),
        ("corpus/bad/deep.json", JobStatus::Failed, "nesting"),
        ("corpus/bad/billion-laughs.xml", JobStatus::Failed, "entity"),
        ("corpus/bad/empty.pdf", JobStatus::Failed, "empty"),
    ];
    let mut jobs = Vec::new();
    for (rel, _, _) in &cases {
        let name = rel.rsplit('/').next().unwrap();
        jobs.push(client.submit(Client::job(name, read(rel))).await);
    }
    // A file whose content is not what its name says, and malformed inputs made here.
    let mut extra = [
        (
            client
                .submit(Client::job(
                    "notes.txt",
                    b"Plain words.\nSecond line, with a comma.\n".to_vec(),
                ))
                .await,
            JobStatus::Completed,
            "",
        ),
        (
            client
                .submit(Client::job("broken.json", b"{\"a\": [1, 2,, 3]}".to_vec()))
                .await,
            JobStatus::Failed,
            "json",
        ),
        (
            client
                .submit(Client::job(
                    "broken.xml",
                    b"<?xml version=\"1.0\"?><a><b></a>".to_vec(),
                ))
                .await,
            JobStatus::Failed,
            "xml",
        ),
        (
            client
                .submit(Client::job(
                    "data.csv",
                    b"\x00\x01\x02\x03binary\xff\xfe".to_vec(),
                ))
                .await,
            JobStatus::Failed,
            "unsupported",
        ),
    ];
    for ((rel, status, words), job) in cases.iter().zip(jobs.iter_mut()) {
        let doc = job.result(Duration::from_secs(60)).await;
        assert_eq!(doc.status, *status, "{rel}: {:?}", doc.errors);
        if !words.is_empty() {
            let reasons = format!("{:?}", doc.errors).to_lowercase();
            assert!(
                reasons.contains(words),
                "{rel}: reason {reasons} lacks {words}"
            );
            assert!(
                doc.errors.iter().all(|e| e.kind == FailureKind::Permanent),
                "{rel}"
            );
        }
    }
    for (job, status, words) in extra.iter_mut() {
        let doc = job.result(WAIT).await;
        assert_eq!(doc.status, *status, "{:?}", doc.errors);
        let reasons = format!("{:?}", doc.errors).to_lowercase();
        assert!(reasons.contains(*words), "reason {reasons} lacks {words}");
    }
    assert!(structured.is_running(), "structured worker died");
    assert!(quality.is_running(), "quality worker died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_job_gets_a_json_reply() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    let inbox = client.nats.new_inbox();
    let mut sub = client.nats.subscribe(inbox.clone()).await.unwrap();
    // Hand-written JSON with only the documented fields, no Content-Type header.
    let job = serde_json::json!({
        "source": {"inline": {"name": "t.csv", "data": "YSxiCjEsMgozLDQK"}},
        "reply_to": inbox,
    });
    client
        .js
        .publish(
            client.subjects.jobs_submit(),
            serde_json::to_vec(&job).unwrap().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let msg = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut sub))
        .await
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&msg.payload).expect("reply is JSON");
    assert_eq!(doc["status"], "completed");
    assert_eq!(
        doc["tables"][0]["rows"],
        serde_json::json!([["a", "b"], ["1", "2"], ["3", "4"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_traceparent_follows_the_job_into_the_workers() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let structured = env.spawn_with(Role::Structured, &[("RUST_LOG", "daa_worker=debug,info")]);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let inbox = client.nats.new_inbox();
    let mut sub = client.nats.subscribe(inbox.clone()).await.unwrap();
    let mut job = Client::job("t.csv", b"a,b\n1,2\n".to_vec());
    job.reply_to = Some(inbox);
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    client
        .publish_with(&job, Encoding::MsgPack, &[("traceparent", &traceparent)])
        .await;
    tokio::time::timeout(WAIT, futures::StreamExt::next(&mut sub))
        .await
        .unwrap()
        .unwrap();
    let log = structured.log();
    assert!(
        log.lines()
            .any(|l| l.contains(trace_id) && l.contains("task finished")),
        "worker log lacks the trace id:\n{log}"
    );
}
