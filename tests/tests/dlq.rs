//! `daa dlq` as an operator runs it, against a fleet whose structured worker fails every
//! task temporarily (so its tasks are dead-lettered), then against a healthy one.

use std::process::Command;
use std::time::Duration;

use daa_shared::model::JobStatus;
use daa_tests::{bin_path, eventually, Client, Env, Role};

const CSV: &[u8] = b"name,qty\napple,3\npear,5\n";

/// Run `daa` with the environment's client settings; its exit code and standard output.
async fn daa(env: &Env, args: &[&str]) -> (i32, String) {
    let vars = env.vars(Role::Cli);
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin_path("daa"))
            .env_remove("DAA_CONFIG")
            .envs(vars)
            .args(&args)
            .output()
            .expect("daa runs")
    })
    .await
    .expect("daa finished");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

async fn daa_ok(env: &Env, args: &[&str]) -> String {
    let (code, out) = daa(env, args).await;
    assert_eq!(code, 0, "daa {args:?}: {out}");
    out
}

/// `daa dlq list --json`, parsed.
async fn entries(env: &Env) -> Vec<serde_json::Value> {
    daa_ok(env, &["dlq", "list", "--json"])
        .await
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

async fn wait_status(client: &Client, job_id: &str, want: JobStatus) {
    let store = client.store.clone();
    eventually(
        Duration::from_secs(30),
        &format!("job {job_id} {want}"),
        || {
            let store = store.clone();
            let job_id = job_id.to_owned();
            async move {
                store
                    .job_state(&job_id)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|s| s.status == want)
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_shown_replayed_as_new_jobs_and_purged() {
    let mut env = Env::start();
    env.set("DAA_TASKS_MAX_DELIVER", "3");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let mut flaky = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "temporary")]);
    let client = env.client().await;

    let mut jobs = Vec::new();
    for name in ["a.csv", "b.csv", "c.csv"] {
        jobs.push(client.submit(Client::job(name, CSV.to_vec())).await);
    }
    for job in &mut jobs {
        let doc = job.result(Duration::from_secs(30)).await;
        assert_eq!(doc.status, JobStatus::Failed, "{:?}", doc.errors);
    }
    let ids: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();

    // list: one entry per job (in the order they were dead-lettered), with agent, job,
    // task and the last error.
    let mut listed = entries(&env).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let position = |e: &serde_json::Value| ids.iter().position(|id| e["job_id"] == id.as_str());
    listed.sort_by_key(|e| position(e));
    for (e, id) in listed.iter().zip(&ids) {
        assert_eq!(e["agent"], "structured");
        assert_eq!(e["job_id"], id.as_str(), "{listed:?}");
        assert_eq!(e["task_id"], format!("{id}.1.extraction.0"));
        assert_eq!(e["deliveries"], 3);
        assert!(e["last_error"]
            .as_str()
            .unwrap()
            .contains("injected temporary failure"));
    }
    let text = daa_ok(&env, &["dlq", "list"]).await;
    assert!(
        text.contains(&ids[0]) && text.contains("1.extraction.0"),
        "{text}"
    );

    // show, by sequence: the task decoded (the document's text) and every attempt.
    let seq_a = listed[0]["seq"].as_u64().unwrap().to_string();
    let shown = daa_ok(&env, &["dlq", "show", &seq_a]).await;
    assert!(
        shown.contains(&format!("{}.1.extraction.0", ids[0])),
        "{shown}"
    );
    assert!(shown.contains("| apple,3"), "{shown}");
    assert_eq!(
        shown.matches("injected temporary failure").count(),
        3,
        "{shown}"
    );
    for attempt in ["#1 ", "#2 ", "#3 "] {
        assert!(shown.contains(attempt), "{shown}");
    }
    // ... and by task id, as JSON: each attempt names its agent, instance and time.
    let task_b = listed[1]["task_id"].as_str().unwrap();
    let shown: serde_json::Value =
        serde_json::from_str(&daa_ok(&env, &["dlq", "show", task_b, "--json"]).await).unwrap();
    assert_eq!(shown["seq"], listed[1]["seq"]);
    let history = shown["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    for h in history {
        assert_eq!(h["agent"], "structured");
        assert!(h["instance"].as_str().is_some_and(|i| !i.is_empty()), "{h}");
        assert!(h["at_ms"].as_u64().is_some_and(|t| t > 0), "{h}");
    }
    let (code, out) = daa(&env, &["dlq", "show", "999999"]).await;
    assert_eq!(code, 1, "{out}");

    // The worker is fixed: replay A by sequence. It runs as a new job and completes; the
    // original job stays failed (it ended once); the entry leaves the queue.
    flaky.kill9();
    let _healthy = env.spawn(Role::Structured);
    let out = daa_ok(&env, &["dlq", "replay", &seq_a]).await;
    let replay_a = format!("{}.replay.{seq_a}", ids[0]);
    assert!(out.contains(&format!("as job {replay_a}")), "{out}");
    wait_status(&client, &replay_a, JobStatus::Completed).await;
    let doc = client.store.result(&replay_a).await.unwrap().unwrap();
    let doc: daa_shared::model::ResultDocument =
        daa_shared::codec::Encoding::MsgPack.decode(&doc).unwrap();
    assert_eq!(doc.tables[0].rows[1], vec!["apple", "3"]);
    let original = client.store.job_state(&ids[0]).await.unwrap().unwrap();
    assert_eq!(original.status, JobStatus::Failed);
    let left = entries(&env).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|e| e["job_id"] != ids[0].as_str()));

    // replay --all filtered by another agent type touches nothing; for structured, both.
    let out = daa_ok(&env, &["dlq", "replay", "--all", "--agent", "quality"]).await;
    assert!(out.contains("0 replayed"), "{out}");
    assert_eq!(entries(&env).await.len(), 2);
    let out = daa_ok(&env, &["dlq", "replay", "--all", "--agent", "structured"]).await;
    assert!(out.contains("2 replayed, 0 failed"), "{out}");
    for e in &left {
        let id = format!(
            "{}.replay.{}",
            e["job_id"].as_str().unwrap(),
            e["seq"].as_u64().unwrap()
        );
        wait_status(&client, &id, JobStatus::Completed).await;
    }
    assert!(entries(&env).await.is_empty());
    // Each original job published exactly one terminal event: replay did not reopen it.
    for id in &ids {
        let terminal: Vec<_> = client
            .job_events(id)
            .await
            .into_iter()
            .filter(|e| e.status.is_terminal())
            .collect();
        assert_eq!(terminal.len(), 1, "{id}: {terminal:?}");
    }

    // purge, by agent type and then all.
    let _flaky = env.spawn_with(Role::TestWorker, &[("TESTWORKER_FAIL", "temporary")]);
    drop(_healthy);
    let mut d = client.submit(Client::job("d.csv", CSV.to_vec())).await;
    assert_eq!(
        d.result(Duration::from_secs(30)).await.status,
        JobStatus::Failed
    );
    assert_eq!(entries(&env).await.len(), 1);
    let out = daa_ok(&env, &["dlq", "purge", "--agent", "quality"]).await;
    assert!(out.contains("0 dead letter(s) purged"), "{out}");
    assert_eq!(entries(&env).await.len(), 1);
    let out = daa_ok(&env, &["dlq", "purge"]).await;
    assert!(out.contains("1 dead letter(s) purged"), "{out}");
    assert!(entries(&env).await.is_empty());
    let out = daa_ok(&env, &["dlq", "list"]).await;
    assert!(out.contains("empty"), "{out}");
}
