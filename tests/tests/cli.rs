//! The `daa` command as a user runs it.

use std::process::Command;
use std::time::Duration;

use daa_shared::model::JobStatus;
use daa_tests::{bin_path, fixture, Env, Role};

fn daa() -> Command {
    let mut c = Command::new(bin_path("daa"));
    c.env_remove("DAA_CONFIG");
    c
}

/// Run `daa` with the environment's client settings and `args` (off the async
/// runtime); assert it succeeded and return its standard output.
async fn daa_ok(env: &Env, args: Vec<std::ffi::OsString>) -> String {
    let vars = env.vars(Role::Cli);
    let out = tokio::task::spawn_blocking(move || {
        daa().envs(vars).args(args).output().expect("daa runs")
    })
    .await
    .expect("daa finished");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn args(items: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    items.iter().map(|a| a.as_ref().to_owned()).collect()
}

#[test]
fn process_prints_one_json_document_per_input_in_order_with_no_services() {
    // Point at ports where nothing listens: `process` must not need them.
    let out = daa()
        .env("DAA_NATS_URL", "nats://127.0.0.1:1")
        .env("DAA_REDIS_URL", "redis://127.0.0.1:1")
        .arg("process")
        .arg(fixture("corpus/csv/distro-info-debian.csv"))
        .arg(fixture("corpus/bad/deep.json"))
        .arg(fixture("corpus/json/iso_4217.json"))
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{stdout}");
    assert_eq!(docs[0]["source"]["name"], "distro-info-debian.csv");
    assert_eq!(docs[0]["status"], "completed");
    assert_eq!(docs[0]["tables"][0]["rows"][0][1], "codename");
    assert_eq!(docs[1]["status"], "failed");
    assert!(docs[1]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("nesting"));
    assert_eq!(docs[2]["kind"], "json");
    // Some input failed: the exit code says so.
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn requirements_are_validated_and_unreachable_services_are_clear_errors() {
    let out = daa()
        .args(["process", "--require", "text,colour"])
        .arg(fixture("corpus/csv/distro-info-debian.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown requirement \"colour\""));

    let out = daa()
        .env("DAA_REDIS_URL", "redis://127.0.0.1:1")
        .args(["status", "some-job"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("Redis is unavailable") && err.contains("127.0.0.1:1"),
        "{err}"
    );

    let out = daa()
        .env("DAA_NATS_URL", "nats://127.0.0.1:1")
        .env("DAA_NATS_CONNECT_TIMEOUT_MS", "500")
        .arg("submit")
        .arg(fixture("corpus/csv/distro-info-debian.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("NATS is unreachable"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_status_result_and_the_object_store_claim_check() {
    let mut env = Env::start();
    // Anything above 512 bytes travels through the Object Store.
    env.set("DAA_NATS_INLINE_LIMIT_BYTES", "512");
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    // The coordinator creates the Object Store bucket at start.
    daa_tests::eventually(Duration::from_secs(10), "documents bucket", || {
        let js = client.js.clone();
        async move { js.get_object_store("daa-documents").await.is_ok() }
    })
    .await;

    let big = fixture("corpus/csv/sklearn-breast_cancer.csv"); // 120 KB
    let small = fixture("corpus/csv/distro-info-debian.csv"); // 1.2 KB, also above 512 B
    let stdout = daa_ok(
        &env,
        args(&[
            &"submit",
            &"--wait",
            &"--json",
            &"--priority",
            &"high",
            &big,
            &small,
        ]),
    )
    .await;
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["source"]["name"], "sklearn-breast_cancer.csv");
    assert_eq!(docs[0]["source"]["bytes"], 119913);
    assert_eq!(docs[0]["tables"][0]["rows"].as_array().unwrap().len(), 570);
    assert_eq!(docs[1]["source"]["name"], "distro-info-debian.csv");

    // status and result read the same job back from Redis.
    let job_id = docs[1]["job_id"].as_str().unwrap().to_owned();
    let status = daa_ok(&env, args(&[&"status", &job_id, &"--json"])).await;
    let result = daa_ok(&env, args(&[&"result", &job_id, &"--json"])).await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["status"], serde_json::json!(JobStatus::Completed));
    let result: serde_json::Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["tables"], docs[1]["tables"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_above_the_servers_max_payload_travel_by_claim_check() {
    // A server that takes 64 KiB per message: the 874 KB document, the extraction
    // result, the QA task carrying the synthesized text and the reply all exceed it.
    let env = Env::start_with_max_payload(64 * 1024);
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    let client = env.client().await;
    daa_tests::eventually(Duration::from_secs(10), "buckets", || {
        let js = client.js.clone();
        async move { js.get_object_store("daa-payloads").await.is_ok() }
    })
    .await;
    let doc_path = fixture("corpus/json/iso_639-3.json");
    let stdout = daa_ok(&env, args(&[&"submit", &"--wait", &"--json", &doc_path])).await;
    let doc: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(doc["status"], "completed", "{:?}", doc["errors"]);
    assert_eq!(doc["source"]["bytes"], 874782);
    assert!(doc["text"].as_str().unwrap().len() > 64 * 1024);
    assert!(doc["quality"]["score"].as_f64().unwrap() > 0.0);
}
