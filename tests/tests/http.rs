//! The coordinator's HTTP side: `/metrics` (queue depth, workers, its own job counts),
//! the job API, the dashboard and `/healthz`, read from a real fleet.

use std::time::Duration;

use daa_shared::model::{AgentKind, JobStatus, Priority};
use daa_tests::{eventually, free_port, Client, Env, Role};

const CSV: &[u8] = b"k,v\na,1\n";

async fn get(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => {
            let code = r.status().as_u16();
            (code, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// The value of `series` (name and labels, as printed) in a metrics text.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_dashboard_and_job_api_show_the_fleet() {
    let mut env = Env::start();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    env.set("DAA_COORDINATOR_HTTP_ADDR", &format!("127.0.0.1:{port}"));
    env.set("DAA_WORKER_CONCURRENCY", "1");
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn_with(Role::Structured, &[("DAA_WORKER_INSTANCE", "s1")]);
    let client = env.client().await;
    let health = format!("{base}/healthz");
    eventually(Duration::from_secs(20), "healthz answers 200", || {
        let health = health.clone();
        async move { get(&health).await.0 == 200 }
    })
    .await;

    let metrics = format!("{base}/metrics");
    eventually(Duration::from_secs(20), "the worker shows as live", || {
        let metrics = metrics.clone();
        async move {
            value(
                &get(&metrics).await.1,
                "daa_workers_live{agent=\"structured\"}",
            ) == Some(1.0)
        }
    })
    .await;

    // Tasks held back by a paused worker show as queue depth: the scaling signal.
    assert_eq!(
        client.control(AgentKind::Structured, "all", "pause").await,
        "paused"
    );
    let mut jobs = Vec::new();
    for i in 0..3 {
        let mut j = Client::job(&format!("low{i}.csv"), CSV.to_vec());
        j.priority = Priority::Low;
        jobs.push(client.submit(j).await);
    }
    let lane = "daa_tasks_pending{agent=\"structured\",priority=\"low\"}";
    eventually(Duration::from_secs(20), "three tasks pending", || {
        let metrics = metrics.clone();
        async move { value(&get(&metrics).await.1, lane) == Some(3.0) }
    })
    .await;
    let (code, text) = get(&metrics).await;
    assert_eq!(code, 200);
    assert_eq!(
        value(
            &text,
            "daa_worker_state{agent=\"structured\",instance=\"s1\",state=\"paused\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value(&text, "daa_worker_slots{agent=\"structured\"}"), None);
    let (code, fleet) = get(&format!("{base}/api/v1/fleet")).await;
    assert_eq!(code, 200);
    let fleet: serde_json::Value = serde_json::from_str(&fleet).unwrap();
    let pending = fleet["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["agent"] == "structured" && l["priority"] == "low")
        .map(|l| l["pending"].clone());
    assert_eq!(pending, Some(serde_json::json!(3)), "{fleet}");

    assert_eq!(
        client.control(AgentKind::Structured, "all", "resume").await,
        "running"
    );
    for j in &mut jobs {
        let doc = j.result(Duration::from_secs(30)).await;
        assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    }

    // Drained lanes, the coordinator's own counts, the worker's from its heartbeat.
    eventually(Duration::from_secs(20), "counts settle", || {
        let metrics = metrics.clone();
        async move {
            let t = get(&metrics).await.1;
            value(&t, lane) == Some(0.0)
                && value(
                    &t,
                    "daa_worker_tasks_processed_total{agent=\"structured\",instance=\"s1\"}",
                ) == Some(3.0)
        }
    })
    .await;
    let text = get(&metrics).await.1;
    for (series, want) in [
        ("daa_coordinator_jobs_accepted_total", 3.0),
        ("daa_coordinator_jobs_ended_total{status=\"completed\"}", 3.0),
        ("daa_coordinator_job_duration_seconds_count", 3.0),
        (
            "daa_coordinator_stage_results_total{stage=\"extraction\",agent=\"structured\",outcome=\"succeeded\"}",
            3.0,
        ),
        ("daa_workers_live{agent=\"structured\"}", 1.0),
        ("daa_worker_slots{agent=\"structured\"}", 1.0),
        ("daa_dead_letters", 0.0),
        ("daa_fleet_read_errors", 0.0),
    ] {
        assert_eq!(value(&text, series), Some(want), "{series} in\n{text}");
    }

    // The job API answers what daa.api.job.get answers, as JSON.
    let (code, body) = get(&format!("{base}/api/v1/jobs/{}", jobs[0].job_id)).await;
    assert_eq!(code, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["status"], "completed", "{info}");
    assert_eq!(info["result"]["job_id"], jobs[0].job_id.as_str(), "{info}");
    assert!(
        info["result"]["text"].as_str().unwrap().contains('a'),
        "{info}"
    );
    let (code, _) = get(&format!("{base}/api/v1/jobs/no-such-job")).await;
    assert_eq!(code, 404);

    // The dashboard lists the worker and the jobs.
    let (code, page) = get(&base).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("<td>s1</td><td>structured</td><td>running</td>"),
        "{page}"
    );
    assert!(page.contains(&jobs[2].job_id), "{page}");
    assert!(page.contains("3 accepted, 3 ended (3 completed"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_http_address_leaves_the_coordinator_working() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut env = Env::start();
    env.set("DAA_COORDINATOR_HTTP_ADDR", &addr);
    let coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _structured = env.spawn(Role::Structured);
    let client = env.client().await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    // It said why it runs without HTTP.
    assert!(
        coordinator
            .log()
            .contains("cannot listen for the dashboard"),
        "{}",
        coordinator.log()
    );
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_its_own_metrics_when_asked() {
    let env = Env::start();
    let port = free_port();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let addr = format!("127.0.0.1:{port}");
    let _structured = env.spawn_with(
        Role::Structured,
        &[
            ("DAA_WORKER_INSTANCE", "w1"),
            ("DAA_WORKER_METRICS_ADDR", &addr),
        ],
    );
    let client = env.client().await;
    let metrics = format!("http://{addr}/metrics");
    let processed = "daa_worker_tasks_processed_total{agent=\"structured\",instance=\"w1\"}";
    eventually(
        Duration::from_secs(20),
        "the worker's /metrics answers",
        || {
            let metrics = metrics.clone();
            async move { value(&get(&metrics).await.1, processed) == Some(0.0) }
        },
    )
    .await;
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    assert_eq!(
        job.result(Duration::from_secs(30)).await.status,
        JobStatus::Completed
    );
    // The worker counts the task once it has acknowledged it, a moment after its
    // result went out.
    eventually(Duration::from_secs(10), "the task is counted", || {
        let metrics = metrics.clone();
        async move { value(&get(&metrics).await.1, processed) == Some(1.0) }
    })
    .await;
    let text = get(&metrics).await.1;
    assert_eq!(
        value(
            &text,
            "daa_worker_state{agent=\"structured\",instance=\"w1\",state=\"running\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "daa_workers_live{agent=\"structured\"}"),
        Some(1.0)
    );
}
