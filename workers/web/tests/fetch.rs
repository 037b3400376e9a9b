//! The fetcher through the agent: failure classes, limits, decoding, the per-host
//! circuit breaker and the per-host politeness bucket (in process and shared in Redis).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::{closed_port, local_config, run_url, Reply, Server};
use daa_shared::model::{FailureKind, StageOutput, TaskError};
use daa_web::{WebAgent, WebConfig};

fn err(r: Result<StageOutput, TaskError>) -> TaskError {
    r.expect_err("should fail")
}

fn agent(cfg: WebConfig) -> WebAgent {
    WebAgent::new(cfg, None).unwrap()
}

#[test]
fn failures_are_classified() {
    let server = Server::start(|path| match path {
        "/404" => Reply::status(404),
        "/410" => Reply::status(410),
        "/500" => Reply::status(500),
        "/503" => Reply::status(503).header("Retry-After", "7"),
        "/429" => Reply::status(429).header("Retry-After", "3"),
        "/pdf" => Reply::html(b"%PDF-1.7 ...".to_vec()).header("Content-Type", "application/pdf"),
        "/loop" => Reply::redirect("/loop"),
        "/no-location" => Reply::status(301),
        "/big" => Reply::html(vec![b'a'; 2048]),
        "/big-stream" => {
            let mut r = Reply::html(vec![b'a'; 4096]);
            r.no_length = true;
            r
        }
        "/no-type" => {
            let mut r = Reply::html(
                b"<!DOCTYPE html><html><title>untyped</title><p>no content type</p></html>"
                    .to_vec(),
            );
            r.headers.clear();
            r
        }
        "/binary" => {
            let mut r = Reply::html(vec![0u8, 1, 2, 3, 0, 0, 0xff]);
            r.headers.clear();
            r
        }
        _ => Reply::status(404),
    });
    let cfg = WebConfig {
        max_body_bytes: 1024,
        max_redirects: 3,
        breaker_failures: 100,
        ..local_config()
    };
    let a = agent(cfg);
    let e = err(run_url(&a, &server.url("/404")));
    assert_eq!(e.kind, FailureKind::Permanent, "{e}");
    assert!(e.message.contains("404"), "{e}");
    assert_eq!(
        err(run_url(&a, &server.url("/410"))).kind,
        FailureKind::Permanent
    );
    assert_eq!(
        err(run_url(&a, &server.url("/500"))).kind,
        FailureKind::Temporary
    );
    let e = err(run_url(&a, &server.url("/503")));
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (FailureKind::Temporary, Some(7000)),
        "{e}"
    );
    let e = err(run_url(&a, &server.url("/429")));
    assert_eq!(
        (e.kind, e.retry_after_ms),
        (FailureKind::Overload, Some(3000)),
        "{e}"
    );
    let e = err(run_url(&a, &server.url("/pdf")));
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("application/pdf"), "{e}");
    let e = err(run_url(&a, &server.url("/loop")));
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("more than 3 redirects"), "{e}");
    assert_eq!(
        err(run_url(&a, &server.url("/no-location"))).kind,
        FailureKind::Permanent
    );
    let e = err(run_url(&a, &server.url("/big")));
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("max_body_bytes"), "{e}");
    let e = err(run_url(&a, &server.url("/big-stream")));
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("download stopped"), "{e}");
    let out = run_url(&a, &server.url("/no-type")).unwrap();
    assert_eq!(out.metadata["title"], "untyped");
    assert_eq!(
        err(run_url(&a, &server.url("/binary"))).kind,
        FailureKind::Permanent
    );
    assert_eq!(err(run_url(&a, "not a url")).kind, FailureKind::Permanent);

    // Nothing listening: connection refused is temporary.
    let e = err(run_url(&a, &format!("http://127.0.0.1:{}/", closed_port())));
    assert_eq!(e.kind, FailureKind::Temporary, "{e}");
}

#[test]
fn slow_servers_time_out_temporarily() {
    let server = Server::start(|_| {
        let mut r = Reply::html("<p>late</p>");
        r.delay = Duration::from_secs(5);
        r
    });
    let a = agent(WebConfig {
        timeout_ms: 300,
        read_timeout_ms: 300,
        ..local_config()
    });
    let started = Instant::now();
    let e = err(run_url(&a, &server.url("/")));
    assert_eq!(e.kind, FailureKind::Temporary, "{e}");
    assert!(e.message.contains("timed out"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn gzip_bodies_and_header_charsets_are_decoded() {
    let page = "<html lang=de><title>Grüße</title><body><p>Schöne Grüße aus München, \
                wo die Straßen breit sind und die Bäume hoch wachsen.</p></body></html>";
    let latin1: Vec<u8> = page.chars().map(|c| c as u32 as u8).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(page.as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    let server = Server::start(move |path| match path {
        "/latin1" => {
            Reply::html(latin1.clone()).header("Content-Type", "text/html; charset=ISO-8859-1")
        }
        "/gzip" => Reply::html(gzipped.clone()).header("Content-Encoding", "gzip"),
        _ => Reply::status(404),
    });
    let a = agent(local_config());
    let out = run_url(&a, &server.url("/latin1")).unwrap();
    assert_eq!(out.metadata["title"], "Grüße");
    assert_eq!(out.metadata["charset"], "windows-1252");
    assert_eq!(out.metadata["charset_source"], "header");
    assert_eq!(out.language.as_deref(), Some("de"));
    assert!(out.text.unwrap().contains("Schöne Grüße aus München"));
    let out = run_url(&a, &server.url("/gzip")).unwrap();
    assert_eq!(out.metadata["title"], "Grüße");
}

#[test]
fn breaker_fails_a_dead_host_fast() {
    let server = Server::start(|_| Reply::status(503));
    let a = agent(WebConfig {
        breaker_failures: 2,
        breaker_open_ms: 60_000,
        ..local_config()
    });
    for _ in 0..2 {
        assert_eq!(
            err(run_url(&a, &server.url("/"))).kind,
            FailureKind::Temporary
        );
    }
    assert_eq!(server.hits(), 2);
    let e = err(run_url(&a, &server.url("/other")));
    assert_eq!(e.kind, FailureKind::Temporary);
    assert!(e.message.contains("circuit breaker open"), "{e}");
    assert!(e.retry_after_ms.unwrap() > 50_000, "{e:?}");
    assert_eq!(server.hits(), 2, "an open breaker sends nothing");
    use daa_worker::Agent as _;
    let open = a
        .metrics()
        .into_iter()
        .find(|(n, _)| n == "web_hosts_breaker_open")
        .unwrap()
        .1;
    assert_eq!(open, 1.0);
}

#[test]
fn politeness_limits_requests_per_host() {
    let server = Server::start(|_| Reply::html("<p>polite enough for everyone</p>"));
    let a = agent(WebConfig {
        host_rate_per_s: 0.5,
        host_burst: 1,
        politeness_max_wait_ms: 0,
        ..local_config()
    });
    run_url(&a, &server.url("/")).unwrap();
    let e = err(run_url(&a, &server.url("/")));
    assert_eq!(e.kind, FailureKind::Overload, "{e}");
    assert!(e.retry_after_ms.unwrap() > 1000, "{e:?}");
    assert_eq!(server.hits(), 1);

    // Within the wait budget the task waits for its token instead.
    let b = agent(WebConfig {
        host_rate_per_s: 5.0,
        host_burst: 1,
        politeness_max_wait_ms: 2_000,
        ..local_config()
    });
    let started = Instant::now();
    run_url(&b, &server.url("/")).unwrap();
    run_url(&b, &server.url("/")).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

/// A throwaway redis-server on a free loopback port.
struct Redis {
    child: std::process::Child,
    url: String,
    _dir: std::path::PathBuf,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = closed_port();
        let dir = std::env::temp_dir().join(format!("daa-web-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            _dir: dir,
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

#[test]
fn politeness_bucket_is_shared_through_redis() {
    let redis = Redis::start().expect("redis-server is installed (make deps)");
    let server = Server::start(|_| Reply::html("<p>shared bucket</p>"));
    let cfg = WebConfig {
        host_rate_per_s: 0.2,
        host_burst: 2,
        politeness_max_wait_ms: 0,
        ..local_config()
    };
    let redis_cfg = daa_shared::config::RedisConfig {
        url: redis.url.clone(),
        prefix: "daa-test:".into(),
        ..Default::default()
    };
    // Two "workers": one connecting lazily (as the worker binary does), one given a store.
    let lazy = WebAgent::with_redis(cfg.clone(), redis_cfg.clone()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt
        .block_on(daa_shared::store::Store::connect(&redis_cfg))
        .unwrap();
    let given = WebAgent::new(cfg, Some(store.clone())).unwrap();

    run_url(&lazy, &server.url("/")).unwrap();
    run_url(&given, &server.url("/")).unwrap();
    let e = err(run_url(&lazy, &server.url("/")));
    assert_eq!(e.kind, FailureKind::Overload, "{e}");
    let e = err(run_url(&given, &server.url("/")));
    assert_eq!(e.kind, FailureKind::Overload, "{e}");
    assert_eq!(server.hits(), 2, "burst of 2 shared by both agents");

    let ttl: i64 = rt.block_on(async {
        let mut c = store.conn().await.unwrap();
        redis::cmd("PTTL")
            .arg("daa-test:web:bucket:127.0.0.1")
            .query_async(&mut c)
            .await
            .unwrap()
    });
    assert!(ttl > 0, "bucket key exists with a TTL ({ttl})");
    use daa_worker::Agent as _;
    let fallbacks = lazy
        .metrics()
        .into_iter()
        .find(|(n, _)| n == "web_politeness_redis_errors")
        .unwrap()
        .1;
    assert_eq!(fallbacks, 0.0);
    drop(rt);
}

#[test]
fn unreachable_redis_degrades_to_per_process_politeness() {
    let server = Server::start(|_| Reply::html("<p>still fetched</p>"));
    let redis_cfg = daa_shared::config::RedisConfig {
        url: format!("redis://127.0.0.1:{}", closed_port()),
        timeout_ms: 500,
        ..Default::default()
    };
    let a = WebAgent::with_redis(local_config(), redis_cfg).unwrap();
    let out = run_url(&a, &server.url("/")).unwrap();
    assert!(out.text.unwrap().contains("still fetched"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_and_drops_inside_an_async_runtime() {
    let server =
        Server::start(|_| Reply::html("<title>async</title><p>called from async code</p>"));
    let a = agent(local_config());
    let url = server.url("/");
    // As `daa process` does: block_in_place around the blocking agent.
    let out = tokio::task::block_in_place(|| run_url(&a, &url)).unwrap();
    assert_eq!(out.metadata["title"], "async");
    // Called straight from a task (blocking it) works too.
    let out = run_url(&a, &url).unwrap();
    assert_eq!(out.metadata["title"], "async");
    drop(a);
}

#[test]
fn cancelled_fetches_give_up() {
    let server = Server::start(|_| {
        let mut r = Reply::html("<p>late</p>");
        r.delay = Duration::from_secs(5);
        r
    });
    let a = agent(local_config());
    let ctx = daa_worker::TaskContext::default();
    let cancel = ctx.cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let started = Instant::now();
    use daa_worker::Agent as _;
    let e = a
        .execute(
            &common::task(daa_shared::model::Source::Url(server.url("/"))),
            &ctx,
        )
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Temporary);
    assert!(e.message.contains("cancelled"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
