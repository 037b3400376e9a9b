//! Coordination memory against real redis-server and nats-server: addressing, search by
//! pattern, TTL expiry, the NATS notification on store, and `daa memory`.

use std::time::Duration;

use daa_shared::memory::{Memory, MemoryErrorKind, MemoryKey, MemoryNotice};
use daa_shared::store::Store;
use daa_tests::{eventually, Env, Role};
use futures::StreamExt;
use redis::AsyncCommands;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn memory(env: &Env) -> Memory {
    Memory::new(
        Store::connect(&env.config(Role::Cli).redis)
            .await
            .expect("redis"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_stored_found_by_pattern_and_deleted() {
    let env = Env::start();
    let m = memory(&env).await;
    let a = MemoryKey::new("notes", "pdf", "pages", 1_000).expect("key");
    let b = MemoryKey::new("notes", "pdf", "pages", 2_000).expect("key");
    let c = MemoryKey::new("notes", "pdf", "fonts", 3_000).expect("key");
    let d = MemoryKey::new("notes", "image", "pages", 4_000).expect("key");
    let other = MemoryKey::new("elsewhere", "pdf", "pages", 5_000).expect("key");
    for (k, v) in [(&a, 1), (&b, 2), (&c, 3), (&d, 4), (&other, 5)] {
        m.store_at(k, &json!({"n": v}), None).await.expect("store");
    }

    let got = m.get(&b).await.expect("get").expect("stored");
    assert_eq!(got.value, json!({"n": 2}));
    assert_eq!(got.expires_at_ms, None);
    assert!(m
        .get(&MemoryKey::new("notes", "pdf", "pages", 1_500).expect("key"))
        .await
        .expect("get")
        .is_none());

    // Newest first, only the namespace's entries that match.
    let keys = |v: Vec<daa_shared::memory::MemoryEntry>| {
        v.into_iter().map(|e| e.key.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(m.search("notes", "pdf/*", 10).await.expect("search")),
        [
            "notes/pdf/fonts/3000",
            "notes/pdf/pages/2000",
            "notes/pdf/pages/1000"
        ]
    );
    assert_eq!(
        keys(m.search("notes", "*/pages/*", 10).await.expect("search")),
        [
            "notes/image/pages/4000",
            "notes/pdf/pages/2000",
            "notes/pdf/pages/1000"
        ]
    );
    assert_eq!(
        keys(m.search("notes", "*", 2).await.expect("search")),
        ["notes/image/pages/4000", "notes/pdf/fonts/3000"]
    );
    assert_eq!(
        m.latest("notes", "pdf", "pages")
            .await
            .expect("latest")
            .expect("some")
            .key,
        b
    );
    assert_eq!(
        m.namespaces().await.expect("namespaces"),
        ["elsewhere", "notes"]
    );

    assert!(m.delete(&b).await.expect("delete"));
    assert!(!m.delete(&b).await.expect("delete again"));
    assert_eq!(
        m.latest("notes", "pdf", "pages")
            .await
            .expect("latest")
            .expect("some")
            .key,
        a
    );
    // Glob characters cannot hide in an address.
    assert_eq!(
        m.store("notes", "p*", "t", &json!(1), None)
            .await
            .expect_err("invalid")
            .kind(),
        MemoryErrorKind::Invalid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_and_leave_the_index() {
    let env = Env::start();
    let m = memory(&env).await;
    let store = Store::connect(&env.config(Role::Cli).redis)
        .await
        .expect("redis");
    let keep = m
        .store("jobs", "coordinator", "seen", &json!("keep"), None)
        .await
        .expect("store");
    let brief = m
        .store(
            "jobs",
            "coordinator",
            "brief",
            &json!("brief"),
            Some(Duration::from_millis(300)),
        )
        .await
        .expect("store");
    let entry = m.get(&brief).await.expect("get").expect("stored");
    assert!(entry.expires_at_ms.is_some());
    eventually(WAIT, "the entry expired", || {
        let (m, brief) = (m.clone(), brief.clone());
        async move { m.get(&brief).await.expect("get").is_none() }
    })
    .await;
    let found = m.search("jobs", "*", 10).await.expect("search");
    assert_eq!(
        found.iter().map(|e| &e.key).collect::<Vec<_>>(),
        [&keep],
        "expired entries are not found"
    );
    // The search dropped it from the index too.
    let mut c = store.conn().await.expect("conn");
    let score: Option<f64> = c
        .zscore(store.keys().memory_index("jobs"), brief.path())
        .await
        .expect("zscore");
    assert_eq!(score, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storing_an_entry_is_announced_on_nats() {
    let env = Env::start();
    let cfg = env.config(Role::Cli);
    let nats = daa_shared::nats::connect(&cfg.nats, "memory-test")
        .await
        .expect("nats");
    let subjects = cfg.subjects();
    let mut sub = nats
        .subscribe(subjects.memory("estimates"))
        .await
        .expect("subscribe");
    let mut everything = nats
        .subscribe(subjects.memory_all())
        .await
        .expect("subscribe");
    nats.flush().await.expect("flush");
    let m = memory(&env)
        .await
        .with_notifications(nats.clone(), subjects.clone());
    let key = m
        .store(
            "estimates",
            "pdf",
            "task_ms",
            &json!({"ewma_ms": 120.0}),
            Some(Duration::from_secs(60)),
        )
        .await
        .expect("store");
    let msg = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("notified in time")
        .expect("subscription open");
    let notice: MemoryNotice = serde_json::from_slice(&msg.payload).expect("notice JSON");
    assert_eq!(notice.key, key.to_string());
    assert_eq!(notice.agent, "pdf");
    assert_eq!(notice.task, "task_ms");
    assert!(notice.expires_at_ms.is_some());
    let all = tokio::time::timeout(WAIT, everything.next())
        .await
        .expect("notified in time")
        .expect("subscription open");
    assert_eq!(all.subject.as_str(), "daa.memory.estimates");
    // The notified entry is there to read.
    assert_eq!(
        m.get(&key).await.expect("get").expect("stored").value["ewma_ms"],
        120.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_puts_gets_searches_and_deletes() {
    let env = Env::start();
    let m = memory(&env).await;
    let out = env.daa(&["memory", "put", "ops/cli/note", r#"{"hello": "world"}"#]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key: MemoryKey = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .parse()
        .expect("prints the address");
    assert_eq!(
        m.get(&key).await.expect("get").expect("stored").value,
        json!({"hello": "world"})
    );
    for args in [
        vec!["memory", "get", "ops/cli/note"],
        vec!["memory", "search", "ops", "cli/*"],
    ] {
        let out = env.daa(&args);
        assert!(out.status.success(), "{args:?}");
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON line");
        assert_eq!(line["key"], key.to_string());
        assert_eq!(line["value"]["hello"], "world");
    }
    let out = env.daa(&["memory", "delete", &key.to_string()]);
    assert!(out.status.success());
    assert!(m.get(&key).await.expect("get").is_none());
    let out = env.daa(&["memory", "get", &key.to_string()]);
    assert_eq!(out.status.code(), Some(1), "a missing entry is an error");
}
