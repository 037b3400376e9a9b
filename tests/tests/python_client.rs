//! A client in another language (Python, nats-py) publishes a job with only the
//! documented schema and receives the result document on its reply_to.

use daa_tests::{Env, Role};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_gets_tables_back() {
    let env = Env::start();
    let _coordinator = env.spawn(Role::Coordinator);
    let _structured = env.spawn(Role::Structured);
    let _quality = env.spawn(Role::Quality);
    // The coordinator creates the streams; wait until the submit stream exists.
    let client = env.client().await;
    drop(client);

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/submit_csv.py");
    let out = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(env.nats.url())
        .arg(Role::Cli.user())
        .arg(Role::Cli.password())
        .output()
        .await
        .expect("python3 runs (make deps installs nats-py)");
    assert!(
        out.status.success(),
        "python client failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result document");
    assert_eq!(doc["status"], "completed", "{doc}");
    assert_eq!(doc["kind"], "csv");
    assert_eq!(
        doc["tables"][0]["rows"],
        serde_json::json!([
            ["city", "country", "population"],
            ["Lyon", "France", "522250"],
            ["Porto", "Portugal", "231800"]
        ])
    );
}
