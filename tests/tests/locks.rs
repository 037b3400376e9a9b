//! Distributed locks against a real redis-server: mutual exclusion across tasks and
//! processes, fencing of a holder whose lock expired, deadlock-free multi-locking, and
//! the waiter report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use daa_shared::lock::{LockErrorKind, LockOptions, Locks};
use daa_shared::store::Store;
use daa_tests::{bin_path, eventually, Env, Role};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use redis::AsyncCommands;

const WAIT: Duration = Duration::from_secs(30);

async fn store(env: &Env) -> Store {
    Store::connect(&env.config(Role::Cli).redis)
        .await
        .expect("redis")
}

fn fast(store: &Store, holder: &str) -> Locks {
    Locks::with_options(
        store.clone(),
        LockOptions {
            ttl: Duration::from_secs(5),
            retry_min: Duration::from_millis(2),
            retry_max: Duration::from_millis(20),
            holder: holder.to_owned(),
            ..LockOptions::default()
        },
    )
}

async fn get_u64(store: &Store, key: &str) -> u64 {
    let mut c = store.conn().await.expect("conn");
    let v: Option<u64> = c.get(key).await.expect("get");
    v.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_contending_for_one_lock_take_turns() {
    let env = Env::start();
    let store = store(&env).await;
    let counter = store.keys().lock_data("shared-counter", "n");
    let inside = Arc::new(AtomicU32::new(0));
    let overlaps = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (locks, store, counter) = (
            fast(&store, &format!("task-{t}")),
            store.clone(),
            counter.clone(),
        );
        let (inside, overlaps) = (inside.clone(), overlaps.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let g = locks
                    .acquire("shared-counter", WAIT)
                    .await
                    .expect("acquired");
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                // Read-modify-write across a Redis round trip: two holders at once would
                // lose an increment.
                let n = get_u64(&store, &counter).await;
                tokio::task::yield_now().await;
                g.fenced_write(&counter, (n + 1).to_string().as_bytes(), None)
                    .await
                    .expect("the holder's fenced write is accepted");
                inside.fetch_sub(1, Ordering::SeqCst);
                assert!(g.release().await.expect("release"), "still held at release");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two holders at once");
    assert_eq!(get_u64(&store, &counter).await, 160);
    // Every acquisition got a new fence.
    assert_eq!(
        get_u64(&store, &store.keys().lock_fence("shared-counter")).await,
        160
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_contending_for_one_lock_take_turns() {
    let env = Env::start();
    let store = store(&env).await;
    // Locks are the fleet processes' (redis-users.conf: coordinator and workers; the
    // CLI's user may only read them).
    let vars = env.vars(Role::Structured);
    let children: Vec<std::process::Child> = (0..4)
        .map(|_| {
            std::process::Command::new(bin_path("daa-lock-holder"))
                .env_remove("DAA_CONFIG")
                .envs(vars.clone())
                .args(["proc-counter", "25"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("daa-lock-holder starts")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("daa-lock-holder ends"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("joined");
    for out in &outputs {
        assert!(
            out.status.success(),
            "a holder failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let counter = store.keys().lock_data("proc-counter", "counter");
    assert_eq!(
        get_u64(&store, &counter).await,
        100,
        "an increment was lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_lock_expired_has_its_fenced_write_refused() {
    let env = Env::start();
    let store = store(&env).await;
    let paused = Locks::with_options(
        store.clone(),
        LockOptions {
            ttl: Duration::from_millis(300),
            watchdog: false,
            holder: "paused".into(),
            ..LockOptions::default()
        },
    );
    let data = store.keys().lock_data("report.pdf", "value");
    let first = paused
        .try_acquire("report.pdf")
        .await
        .expect("redis")
        .expect("free lock taken");
    first
        .fenced_write(&data, b"first", None)
        .await
        .expect("a holder's write");
    // The holder "pauses" (no watchdog): wait for its lock to expire in Redis.
    let lock_key = store.keys().lock("report.pdf");
    eventually(WAIT, "the lock expired", || {
        let (store, lock_key) = (store.clone(), lock_key.clone());
        async move {
            let mut c = store.conn().await.expect("conn");
            !c.exists::<_, bool>(&lock_key).await.expect("exists")
        }
    })
    .await;
    let second = fast(&store, "second")
        .acquire("report.pdf", WAIT)
        .await
        .expect("expired lock taken over");
    assert!(second.fence() > first.fence());
    second
        .fenced_write(&data, b"second", None)
        .await
        .expect("the new holder's write");

    // The first holder wakes up and writes: refused, and the data is the new holder's.
    let err = first
        .fenced_write(&data, b"late", None)
        .await
        .expect_err("a stale fence must be refused");
    assert_eq!(err.kind(), LockErrorKind::StaleFence);
    let mut c = store.conn().await.expect("conn");
    let v: String = c.get(&data).await.expect("get");
    assert_eq!(v, "second");
    // Even before the new holder writes, an old fence is refused.
    let third = {
        second.release().await.expect("release");
        fast(&store, "third")
            .acquire("report.pdf", WAIT)
            .await
            .expect("third")
    };
    assert_eq!(
        first
            .fenced_write(&data, b"late again", None)
            .await
            .expect_err("stale")
            .kind(),
        LockErrorKind::StaleFence
    );
    // The first holder can neither extend nor release what it no longer holds.
    assert!(!first.extend().await.expect("extend"));
    assert!(first.is_lost());
    assert!(!first.release().await.expect("release"));
    assert!(third
        .release()
        .await
        .expect("the third holder still holds it"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_keeps_a_held_lock_past_its_ttl() {
    let env = Env::start();
    let store = store(&env).await;
    // Extended every ttl/3: a stall of up to 2/3 of it on a busy machine is tolerated.
    let ttl = Duration::from_millis(900);
    let holder = Locks::with_options(
        store.clone(),
        LockOptions {
            ttl,
            holder: "long-job".into(),
            ..LockOptions::default()
        },
    );
    let other = fast(&store, "other");
    let g = holder
        .try_acquire("long")
        .await
        .expect("redis")
        .expect("taken");
    // For three TTLs, nobody else gets the lock.
    let start = tokio::time::Instant::now();
    while start.elapsed() < ttl * 3 {
        assert!(
            other.try_acquire("long").await.expect("redis").is_none(),
            "lock taken from a live holder after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!g.is_lost());
    drop(g);
    // Dropping the guard releases the lock.
    let got = other.acquire("long", WAIT).await.expect("released on drop");
    assert!(got.release().await.expect("release"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_multi_locks_under_contention_finish_without_deadlock() {
    let env = Env::start();
    let store = store(&env).await;
    let names: Vec<String> = (0..6).map(|i| format!("account-{i}")).collect();
    let inside: Arc<HashMap<String, AtomicU32>> = Arc::new(
        names
            .iter()
            .map(|n| (n.clone(), AtomicU32::new(0)))
            .collect(),
    );
    let overlaps = Arc::new(AtomicU32::new(0));
    let rounds = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for t in 0..8 {
        let locks = fast(&store, &format!("mover-{t}"));
        let (names, inside, overlaps, rounds) = (
            names.clone(),
            inside.clone(),
            overlaps.clone(),
            rounds.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                // A random overlapping subset, asked for in a random order.
                let (want, order): (Vec<String>, Vec<String>) = {
                    let mut rng = rand::rng();
                    let k = rng.random_range(2..=4);
                    let mut want: Vec<String> =
                        names.choose_multiple(&mut rng, k).cloned().collect();
                    want.shuffle(&mut rng);
                    (want.clone(), want)
                };
                let refs: Vec<&str> = order.iter().map(String::as_str).collect();
                let all = locks
                    .acquire_all(&refs, WAIT)
                    .await
                    .expect("all locks within the timeout");
                for n in &want {
                    assert!(all.get(n).is_some());
                    if inside[n].fetch_add(1, Ordering::SeqCst) != 0 {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::task::yield_now().await;
                for n in &want {
                    inside[n].fetch_sub(1, Ordering::SeqCst);
                }
                assert!(all.release().await.expect("release"));
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let all = futures::future::join_all(tasks);
    let joined = tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("deadlock: the multi-lock rounds did not finish");
    for j in joined {
        j.expect("task");
    }
    assert_eq!(rounds.load(Ordering::SeqCst), 80);
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two holders at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_lock_that_times_out_releases_what_it_took() {
    let env = Env::start();
    let store = store(&env).await;
    let blocker = fast(&store, "blocker");
    let held = blocker
        .try_acquire("b")
        .await
        .expect("redis")
        .expect("taken");
    let err = fast(&store, "mover")
        .acquire_all(&["c", "a", "b"], Duration::from_millis(300))
        .await
        .expect_err("b is held");
    assert_eq!(err.kind(), LockErrorKind::Timeout);
    // "a" (taken before "b" in the global order) was released.
    let a = blocker
        .try_acquire("a")
        .await
        .expect("redis")
        .expect("a was released on failure");
    a.release().await.expect("release");
    held.release().await.expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_waiters_are_reported_with_the_holder() {
    let env = Env::start();
    let store = store(&env).await;
    let holder = fast(&store, "holder-1");
    let g = holder
        .try_acquire("busy")
        .await
        .expect("redis")
        .expect("taken");
    let waiter = fast(&store, "waiter-1");
    let waiting = tokio::spawn(async move { waiter.acquire("busy", WAIT).await });
    eventually(WAIT, "the waiter is reported", || {
        let locks = holder.clone();
        async move {
            let r = locks
                .report(Duration::from_millis(200))
                .await
                .expect("report");
            r.waiters
                .iter()
                .any(|w| w.resource == "busy" && w.holder == "waiter-1" && w.waited_ms >= 200)
        }
    })
    .await;
    let report = holder.report(Duration::ZERO).await.expect("report");
    let busy = report
        .held
        .iter()
        .find(|l| l.resource == "busy")
        .expect("held lock listed");
    assert_eq!(busy.holder, "holder-1");
    assert_eq!(busy.fence, g.fence());
    assert!(busy.ttl_ms > 0);

    // The CLI shows the same.
    let vars = env.vars(Role::Cli);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin_path("daa"))
            .env_remove("DAA_CONFIG")
            .envs(vars)
            .args(["inspect", "locks", "--older-than-ms", "0", "--json"])
            .output()
            .expect("daa runs")
    })
    .await
    .expect("joined");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["held"]
        .as_array()
        .expect("held")
        .iter()
        .any(|l| l["resource"] == "busy" && l["holder"] == "holder-1"));
    assert!(v["waiters"]
        .as_array()
        .expect("waiters")
        .iter()
        .any(|w| w["resource"] == "busy" && w["holder"] == "waiter-1"));

    g.release().await.expect("release");
    let got = waiting.await.expect("joined").expect("the waiter gets it");
    let after = fast(&store, "reader")
        .report(Duration::ZERO)
        .await
        .expect("report");
    assert!(after.waiters.iter().all(|w| w.resource != "busy"));
    got.release().await.expect("release");
}
