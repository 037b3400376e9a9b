//! `daa fleet up`: a local fleet that starts workers while tasks wait, from zero, stops
//! them when idle, and stops everything it started on SIGTERM.

use std::time::Duration;

use daa_shared::model::{AgentKind, JobStatus};
use daa_tests::{eventually, Client, DaaProcess, Env, Role};

const CSV: &[u8] = b"k,v\na,1\n";

async fn live(client: &Client, agent: AgentKind) -> usize {
    client
        .store
        .live_agents(agent, 2_000)
        .await
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_start_from_zero_for_waiting_tasks_and_stop_when_idle() {
    let env = Env::start();
    let mut vars = env.vars(Role::Cli);
    // The supervisor's processes inherit its credentials: the admin users (NATS and
    // Redis) may act as every role.
    vars.push(("DAA_NATS_USER".into(), "admin".into()));
    vars.push(("DAA_NATS_PASSWORD".into(), "daa-admin".into()));
    vars.push(("DAA_REDIS_URL".into(), env.config(Role::Cli).redis.url));
    let mut fleet = DaaProcess::spawn_group(
        Role::Cli,
        &vars,
        &[],
        &[
            "fleet",
            "up",
            "--workers",
            "quality=1",
            "--workers",
            "structured=0..1",
            "--interval-ms",
            "100",
            "--cooldown-ms",
            "300",
            "--idle-ms",
            "1500",
            "--drain-ms",
            "10000",
        ],
    );
    let client = env.client().await;
    eventually(Duration::from_secs(30), "the minimum runs", || {
        let client = &client;
        async move { live(client, AgentKind::Quality).await == 1 }
    })
    .await;
    assert_eq!(
        live(&client, AgentKind::Structured).await,
        0,
        "{}",
        fleet.log()
    );

    // A CSV's extraction waits in the structured lanes: a worker is started for it.
    let mut job = client.submit(Client::job("a.csv", CSV.to_vec())).await;
    let doc = job.result(Duration::from_secs(60)).await;
    assert_eq!(
        doc.status,
        JobStatus::Completed,
        "{:?}\n{}",
        doc.errors,
        fleet.log()
    );
    assert!(
        fleet
            .log()
            .contains("fleet: structured 0 -> 1 (1 task(s) waiting)"),
        "{}",
        fleet.log()
    );

    // Idle for --idle-ms: back to zero (the worker drains and removes its heartbeat).
    eventually(Duration::from_secs(30), "the idle worker stops", || {
        let client = &client;
        async move { live(client, AgentKind::Structured).await == 0 }
    })
    .await;
    assert!(
        fleet.log().contains("fleet: structured 1 -> 0 (idle for"),
        "{}",
        fleet.log()
    );

    // SIGTERM: every process it started drains and exits, then it does.
    let status = fleet.terminate(Duration::from_secs(30));
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", fleet.log());
    assert_eq!(
        live(&client, AgentKind::Quality).await,
        0,
        "{}",
        fleet.log()
    );
    assert!(
        !fleet.log().contains("exited on its own"),
        "{}",
        fleet.log()
    );
}
