//! Web pages through the fleet: a URL fetched by the web worker from a local server
//! (allowed by configuration), and the SSRF guard refusing what is not allowed.

use std::time::Duration;

use daa_shared::model::{FailureKind, JobStatus, Source};
use daa_tests::{Client, Env, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serve `body` as text/html to every connection on a free loopback port.
async fn serve(body: Vec<u8>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_is_fetched_extracted_and_private_addresses_are_refused() {
    let env = Env::start();
    let page = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../workers/web/tests/fixtures/debian-policy-ch-controlfields.html"),
    )
    .unwrap();
    let port = serve(page).await;
    // The web worker allows loopback only through its configuration.
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "[agents.web]\nallow_networks = [\"127.0.0.0/8\"]\n",
    )
    .unwrap();
    let conf_path = conf.path().to_string_lossy().into_owned();
    let _coordinator = env.spawn(Role::Coordinator);
    let _quality = env.spawn(Role::Quality);
    let _web = env.spawn_with(Role::Web, &[("DAA_CONFIG", &conf_path)]);
    let client = env.client().await;

    let mut job = Client::job("unused", Vec::new());
    job.source = Source::Url(format!("http://127.0.0.1:{port}/ch-controlfields.html"));
    let mut ok = client.submit(job).await;
    let doc = ok.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Completed, "{:?}", doc.errors);
    assert_eq!(doc.kind, "html");
    let title = doc.metadata["title"].as_str().unwrap_or_default();
    assert!(title.contains("Control files and their fields"), "{title}");
    assert!(
        doc.text.contains("Syntax of control files"),
        "main content missing"
    );

    // The metadata service address is refused before any connection, with the reason.
    let mut job = Client::job("unused", Vec::new());
    job.source = Source::Url("http://169.254.169.254/latest/meta-data/".into());
    let mut refused = client.submit(job).await;
    let doc = refused.result(Duration::from_secs(30)).await;
    assert_eq!(doc.status, JobStatus::Failed);
    assert_eq!(doc.errors[0].kind, FailureKind::Permanent);
    assert!(
        doc.errors[0].message.contains("SSRF"),
        "{}",
        doc.errors[0].message
    );
}
